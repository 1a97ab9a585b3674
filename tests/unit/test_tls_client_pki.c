/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS client in certificate mode (x.y.6 / x.y.7 Step 4) against a real peer, `openssl s_server` with
 * certificates and OCSP responses made by the openssl CLI (pki_fixture.h). Every check of the Registrar has a
 * positive and a negative case: the chain must verify to the configured root (an untrusted root, a missing
 * intermediate and an expired certificate fail), the leaf must carry the CSE-ID as a subjectAltName URI (exactly),
 * and a configured OCSP responder requires a stapled status that is successful, signed by that responder, about
 * the Registrar's certificate, good and fresh. The client presents its certificate when it has one, never offers
 * PSK, and refuses a Registrar that does not ask for the certificate. Every server is killed in teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture_s_server.h"
#include "fixture_tmpdir.h"
#include "pki_fixture.h"
#include "registree/tls_client.h"

static char dir[64];
static char root_path[128], ocsp_path[128];
static X509 *root, *ocsp_cert, *device_cert;
static EVP_PKEY *device_key;

/* 1: s_server's standard error goes into the same pipe as its standard output (to see what it logged) */
static int server_stderr_to_pipe;

static int group_setup(void **state)
{
    (void)state;
    if (pki_make_tmp(dir, sizeof dir, "tlspki") != 0)
        return -1;
    snprintf(root_path, sizeof root_path, "%s/root.crt", dir);
    snprintf(ocsp_path, sizeof ocsp_path, "%s/ocsp.crt", dir);
    root = pki_read_cert(dir, "root.crt");
    ocsp_cert = pki_read_cert(dir, "ocsp.crt");
    device_cert = pki_read_cert(dir, "device.crt");
    device_key = pki_read_key(dir, "device.key");
    return root != NULL && ocsp_cert != NULL && device_cert != NULL && device_key != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    X509_free(root);
    X509_free(ocsp_cert);
    X509_free(device_cert);
    EVP_PKEY_free(device_key);
    return fixture_rmdir(dir);
}

static int setup(void **state)
{
    struct s_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -1;
    s_server_init(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct s_server *s = *state;
    s_server_stop(s);
    free(s);
    return 0;
}

/* Starts `openssl s_server -accept 127.0.0.1:0 -naccept 1 -www -cert DIR/cert -key DIR/registrar.key EXTRA...`
 * (EXTRA: NULL-terminated; a "@name" argument becomes DIR/name) and reads the port from its ACCEPT line
 * (fixture_s_server.h). */
static void start_server(struct s_server *s, const char *cert, ...)
{
    char *argv[40], paths[20][160];
    int argc = 0, np = 0;
    va_list ap;
    const char *a;

    argv[argc++] = "openssl";
    argv[argc++] = "s_server";
    argv[argc++] = "-accept";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "-naccept";
    argv[argc++] = "1";
    argv[argc++] = "-www";
    snprintf(paths[np], sizeof paths[np], "%s/%s", dir, cert);
    argv[argc++] = "-cert";
    argv[argc++] = paths[np++];
    snprintf(paths[np], sizeof paths[np], "%s/registrar.key", dir);
    argv[argc++] = "-key";
    argv[argc++] = paths[np++];
    va_start(ap, cert);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 38) {
        if (a[0] == '@') {
            snprintf(paths[np], sizeof paths[np], "%s/%s", dir, a + 1);
            argv[argc++] = paths[np++];
        } else {
            argv[argc++] = (char *)a;
        }
    }
    va_end(ap);
    argv[argc] = NULL;
    s_server_start(s, argv, server_stderr_to_pipe);
}

/* x.y.7 by default: server authentication only, no OCSP. */
static m2m_tls_client_config cert_config(const struct s_server *s, m2m_tls_range range)
{
    m2m_tls_client_config c = {
        .host = "127.0.0.1",
        .port = s->port,
        .range = range,
        .auth = M2M_TLS_AUTH_CERT,
        .timeout_ms = 5000,
        .root = root,
        .root_name = root_path,
        .cse_id = "/in-cse",
    };
    return c;
}

/* Connect must fail with M2M_E_AUTH and exactly "Registrar 127.0.0.1:PORT: " + want (want_prefix: a prefix). */
static void expect_refused(const struct s_server *s, const m2m_tls_client_config *cfg, const char *want, int prefix)
{
    m2m_err err = {0};
    char full[600];
    assert_null(m2m_tls_client_connect(cfg, &err));
    snprintf(full, sizeof full, "Registrar %s: %s", s->peer, want);
    if (prefix ? strncmp(err.msg, full, strlen(full)) != 0 : strcmp(err.msg, full) != 0)
        fail_msg("want %s\"%s\"\n got \"%s\"", prefix ? "a message starting " : "", full, err.msg);
    assert_int_equal(err.code, M2M_E_AUTH);
    print_message("expected refusal: %s\n", err.msg);
}

/* expect_refused with cert_config(s, M2M_TLS_AUTO), its CSE-ID replaced by cse_id unless that is NULL. */
static void expect_refused_auto(const struct s_server *s, const char *cse_id, const char *want, int prefix)
{
    m2m_tls_client_config cfg = cert_config(s, M2M_TLS_AUTO);
    if (cse_id != NULL)
        cfg.cse_id = cse_id;
    expect_refused(s, &cfg, want, prefix);
}

/* Refused because the chain does not verify to the configured root; reason: OpenSSL's, exactly. */
static void expect_chain_refused(const struct s_server *s, const char *reason)
{
    char want[300];
    snprintf(want, sizeof want, "certificate chain does not verify to root-cert %s: %s", root_path, reason);
    expect_refused_auto(s, NULL, want, 0);
}

/* ---- chain and CSE-ID ------------------------------------------------------------------------------------------- */

static void test_tls13_server_auth_only(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;
    char *page;

    start_server(s, "registrar.crt", "-tls1_3", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    c = tls_connect_ok(&cfg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.3");
    assert_string_equal(m2m_tls_client_cipher(c), "TLS_AES_128_GCM_SHA256");
    assert_int_equal(m2m_tls_client_ocsp_checked(c), 0);
    assert_int_equal(m2m_tls_client_sent_certificate(c), 0);
    page = s_server_get_page(c);
    assert_non_null(strstr(page, "no client certificate available")); /* x.y.7: the token comes in Step 5 */
    free(page);
    m2m_tls_client_close(c);
}

static void test_tls12_ecdsa_suites(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;

    start_server(s, "registrar.crt", "-tls1_2", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    c = tls_connect_ok(&cfg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.2");
    assert_string_equal(m2m_tls_client_cipher(c), "ECDHE-ECDSA-AES128-GCM-SHA256");
    m2m_tls_client_close(c);
}

static void test_tls12_mandatory_cbc_suite(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;

    /* the server allows only the oneM2M mandatory suite: the client offers it */
    start_server(s, "registrar.crt", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256", NULL);
    cfg = cert_config(s, M2M_TLS_ONLY_1_2);
    c = tls_connect_ok(&cfg);
    assert_string_equal(m2m_tls_client_cipher(c), "ECDHE-ECDSA-AES128-SHA256");
    m2m_tls_client_close(c);
}

static void test_intermediate_sent_by_server(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;

    start_server(s, "registrar-inter.crt", "-cert_chain", "@inter.crt", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    m2m_tls_client_close(tls_connect_ok(&cfg));
}

static void test_intermediate_missing(void **state)
{
    struct s_server *s = *state;

    start_server(s, "registrar-inter.crt", NULL);
    expect_chain_refused(s, "unable to get local issuer certificate");
}

static void test_untrusted_root(void **state)
{
    struct s_server *s = *state;

    start_server(s, "evil.crt", "-tls1_2", NULL);
    expect_chain_refused(s, "unable to get local issuer certificate");
}

static void test_untrusted_root_sent_along(void **state)
{
    struct s_server *s = *state;

    /* the peer sends its own root too: a root is trusted because it was configured, not because it came along */
    start_server(s, "evil.crt", "-cert_chain", "@evil-root.crt", NULL);
    expect_chain_refused(s, "self-signed certificate in certificate chain");
}

static void test_expired(void **state)
{
    struct s_server *s = *state;

    start_server(s, "expired.crt", NULL);
    expect_chain_refused(s, "certificate has expired (CN=in-cse.m2m.localhost, notAfter Feb  1 00:00:00 2020 GMT)");
}

static void test_wrong_cse_id(void **state)
{
    struct s_server *s = *state;

    start_server(s, "other.crt", NULL);
    expect_refused_auto(s, NULL,
                        "certificate does not carry CSE-ID /in-cse (subjectAltName: URI:/other-cse, "
                        "DNS:other.m2m.localhost)",
                        0);
}

static void test_no_san(void **state)
{
    struct s_server *s = *state;

    start_server(s, "nosan.crt", "-tls1_2", NULL);
    expect_refused_auto(s, NULL, "certificate does not carry CSE-ID /in-cse (subjectAltName: none)", 0);
}

static void test_cse_id_exact_match(void **state)
{
    struct s_server *s = *state;

    /* a prefix of the URI is not the CSE-ID; case matters (-naccept 1: the first refusal ends the server) */
    start_server(s, "registrar.crt", NULL);
    expect_refused_auto(s, "/in-cs",
                        "certificate does not carry CSE-ID /in-cs (subjectAltName: DNS:in-cse.m2m.localhost, "
                        "URI:/in-cse)",
                        0);
}

static void test_cse_id_case(void **state)
{
    struct s_server *s = *state;

    start_server(s, "registrar.crt", NULL);
    expect_refused_auto(s, "/IN-CSE", "certificate does not carry CSE-ID /IN-CSE", 1);
}

/* ---- OCSP ------------------------------------------------------------------------------------------------------- */

static void ocsp_case(struct s_server *s, const char *version, const char *resp, const char *want, int prefix)
{
    m2m_tls_client_config cfg;
    if (resp != NULL)
        start_server(s, "registrar.crt", version, "-status_file", resp, NULL);
    else
        start_server(s, "registrar.crt", version, NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.ocsp_responder = ocsp_cert;
    cfg.ocsp_responder_name = ocsp_path;
    if (want == NULL) {
        m2m_tls_client *c = tls_connect_ok(&cfg);
        assert_int_equal(m2m_tls_client_ocsp_checked(c), 1);
        m2m_tls_client_close(c);
    } else {
        expect_refused(s, &cfg, want, prefix);
    }
}

static void test_ocsp_good_tls13(void **state)
{
    ocsp_case(*state, "-tls1_3", "@resp-good.der", NULL, 0);
}

static void test_ocsp_good_tls12(void **state)
{
    ocsp_case(*state, "-tls1_2", "@resp-good.der", NULL, 0);
}

static void test_ocsp_not_requested_when_not_configured(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;

    /* without ocsp-responder-cert nothing is required, even a revoked status is not looked at */
    start_server(s, "registrar.crt", "-status_file", "@resp-revoked.der", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    c = tls_connect_ok(&cfg);
    assert_int_equal(m2m_tls_client_ocsp_checked(c), 0);
    m2m_tls_client_close(c);
}

static void test_ocsp_revoked(void **state)
{
    ocsp_case(*state, "-tls1_3", "@resp-revoked.der", "OCSP: the Registrar certificate (serial 1001) is revoked "
              "(since ", 1);
}

static void test_ocsp_revoked_tls12_names_reason(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_err err = {0};

    start_server(s, "registrar.crt", "-tls1_2", "-status_file", "@resp-revoked.der", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.ocsp_responder = ocsp_cert;
    cfg.ocsp_responder_name = ocsp_path;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    if (strstr(err.msg, "is revoked (since ") == NULL || strstr(err.msg, "reason keyCompromise)") == NULL)
        fail_msg("unexpected message: %s", err.msg);
}

static void test_ocsp_unknown(void **state)
{
    ocsp_case(*state, "-tls1_3", "@resp-unknown.der",
              "OCSP: the responder does not know the Registrar certificate (serial 1001): status unknown", 0);
}

static void test_ocsp_stale(void **state)
{
    ocsp_case(*state, "-tls1_2", "@resp-stale.der", "the stapled OCSP response is stale: nextUpdate ", 1);
}

static void test_ocsp_absent_tls13(void **state)
{
    char want[300];
    snprintf(want, sizeof want, "no stapled OCSP response (ocsp-responder-cert %s requires a good status of the "
             "Registrar certificate)", ocsp_path);
    ocsp_case(*state, "-tls1_3", NULL, want, 0);
}

static void test_ocsp_absent_tls12(void **state)
{
    ocsp_case(*state, "-tls1_2", NULL, "no stapled OCSP response", 1);
}

static void test_ocsp_wrong_signer(void **state)
{
    char want[300];
    /* signed by the root itself: a valid OCSP signer for the CA in general, but not the configured responder */
    snprintf(want, sizeof want, "the stapled OCSP response is not signed by ocsp-responder-cert %s: signer "
             "certificate not found", ocsp_path);
    ocsp_case(*state, "-tls1_3", "@resp-rootsigned.der", want, 0);
}

static void test_ocsp_try_later(void **state)
{
    ocsp_case(*state, "-tls1_3", "@resp-trylater.der", "the stapled OCSP response says trylater (3), not successful",
              0);
}

static void test_ocsp_about_another_certificate(void **state)
{
    ocsp_case(*state, "-tls1_2", "@resp-other.der",
              "the stapled OCSP response has no status for the Registrar certificate (serial 1001)", 0);
}

/* ---- the client side -------------------------------------------------------------------------------------------- */

static void client_cert_case(struct s_server *s, const char *version)
{
    m2m_tls_client_config cfg;
    m2m_tls_client *c;
    char *page;

    /* -verify 1: ask for a client certificate, accept a self-signed one (the Registrar matches the key hash) */
    start_server(s, "registrar.crt", version, "-verify", "1", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.client_cert = device_cert;
    cfg.client_key = device_key;
    c = tls_connect_ok(&cfg);
    assert_int_equal(m2m_tls_client_sent_certificate(c), 1);
    page = s_server_get_page(c);
    if (strstr(page, "Client certificate") == NULL || strstr(page, "Subject: CN=Cdevice01") == NULL)
        fail_msg("s_server did not see the client certificate:\n%s", page + (strlen(page) > 1500 ? strlen(page) - 1500 : 0));
    free(page);
    m2m_tls_client_close(c);
}

static void test_client_cert_tls13(void **state)
{
    client_cert_case(*state, "-tls1_3");
}

static void test_client_cert_tls12(void **state)
{
    client_cert_case(*state, "-tls1_2");
}

static void test_client_cert_not_requested(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;

    start_server(s, "registrar.crt", NULL);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.client_cert = device_cert;
    cfg.client_key = device_key;
    expect_refused(s, &cfg, "did not ask for the Registree certificate", 1);
}

static void test_client_cert_withheld_from_wrong_registrar(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_err err = {0};
    char out[4096];
    ssize_t n;
    size_t len = 0;

    /* TLS 1.3: the Registrar is checked before the client sends its certificate, so an impostor never gets it.
     * s_server -verify logs every client certificate it gets on standard error ("depth=0 CN = Cdevice01"). */
    server_stderr_to_pipe = 1;
    start_server(s, "other.crt", "-tls1_3", "-verify", "1", NULL);
    server_stderr_to_pipe = 0;
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.client_cert = device_cert;
    cfg.client_key = device_key;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_AUTH);
    /* wait for s_server to finish (-naccept 1), then read all it said */
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
    while (len < sizeof out - 1 && (n = read(s->out, out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    assert_non_null(strstr(s->head, "verify depth is 1")); /* its standard error was captured */
    assert_null(strstr(s->head, "Cdevice01"));
    assert_null(strstr(out, "Cdevice01"));
}

static void test_psk_only_server_refused(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_err err = {0};
    char *argv[] = {"openssl", "s_server", "-nocert", "-psk", "00112233445566778899aabbccddeeff",
                    "-accept", "127.0.0.1:0", "-naccept", "1", "-www", NULL};

    /* a server that can only do PSK: certificate mode offers no PSK, so there is nothing to agree on */
    s_server_start(s, argv, 0);
    cfg = cert_config(s, M2M_TLS_AUTO);
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_TLS);
    print_message("expected failure: %s\n", err.msg);
}

static void test_bad_arguments(void **state)
{
    struct s_server *s = *state;
    m2m_tls_client_config cfg;
    m2m_err err = {0};

    snprintf(s->port, sizeof s->port, "1");
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.root = NULL;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.cse_id = "";
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.client_cert = device_cert;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    cfg = cert_config(s, M2M_TLS_AUTO);
    cfg.ciphers12 = "PSK-AES128-CBC-SHA256"; /* nothing left once PSK is excluded */
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_non_null(strstr(err.msg, "no certificate cipher suite in 'PSK-AES128-CBC-SHA256'"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_tls13_server_auth_only),
        T(test_tls12_ecdsa_suites),
        T(test_tls12_mandatory_cbc_suite),
        T(test_intermediate_sent_by_server),
        T(test_intermediate_missing),
        T(test_untrusted_root),
        T(test_untrusted_root_sent_along),
        T(test_expired),
        T(test_wrong_cse_id),
        T(test_no_san),
        T(test_cse_id_exact_match),
        T(test_cse_id_case),
        T(test_ocsp_good_tls13),
        T(test_ocsp_good_tls12),
        T(test_ocsp_not_requested_when_not_configured),
        T(test_ocsp_revoked),
        T(test_ocsp_revoked_tls12_names_reason),
        T(test_ocsp_unknown),
        T(test_ocsp_stale),
        T(test_ocsp_absent_tls13),
        T(test_ocsp_absent_tls12),
        T(test_ocsp_wrong_signer),
        T(test_ocsp_try_later),
        T(test_ocsp_about_another_certificate),
        T(test_client_cert_tls13),
        T(test_client_cert_tls12),
        T(test_client_cert_not_requested),
        T(test_client_cert_withheld_from_wrong_registrar),
        T(test_psk_only_server_refused),
        T(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
