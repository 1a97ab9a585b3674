/* SPDX-License-Identifier: Apache-2.0 */
/* The NAF's Zn client (secctx/zn_client.c) against a BSF that lies or breaks: a scripted HTTPS server in a thread
 * of this process (fixture_tls_server.h) with a certificate for 127.0.0.1 made by the openssl CLI. Ks_NAF is the
 * key a GBA device is then bound by, so every answer that is not a whole, well-formed 200 from the configured BSF
 * must be refused: a BSF whose certificate does not chain to --bsf-root, another status, a body cut short, a key
 * of the wrong size, a missing field. 404 is "unknown B-TID" (found = 0), not an error. Also the --bsf URL and the
 * NAF credentials, which are checked when the client is made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_fake_bsf.h"
#include "fixture_tmpdir.h"
#include "secctx/zn_client.h"

#define BTID "dGVzdA==@bsf.example.org"
#define NAF_ID "cse.example.org"
/* 32 octets of 0x01, base64 */
#define KS32 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define IMPI "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"

static char dir[64], url[64];
static const char *bsf_crt, *bsf_key, *naf_crt, *naf_key;
static struct fake_bsf bsf;

static int setup(void **state)
{
    (void)state;
    if (fixture_mkdtemp(dir, sizeof dir, "zn") != 0 || fake_bsf_start(&bsf, dir) != 0)
        return -1;
    bsf_crt = bsf.crt;
    bsf_key = bsf.key;
    naf_crt = bsf.naf_crt;
    naf_key = bsf.naf_key;
    snprintf(url, sizeof url, "%s", bsf.url);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_bsf_stop(&bsf);
    fixture_rmdir(dir);
    return 0;
}

/* One Zn request answered with body under status; returns m2m_zn_fetch's result, out and err filled. */
static int ask(const char *root, const char *status, const char *body, m2m_zn_answer *out, m2m_err *err)
{
    m2m_zn_client *zc = m2m_zn_client_new(url, root, naf_crt, naf_key, 3000, err);
    int rc;
    assert_non_null(zc);
    fake_bsf_answer(&bsf, status, body);
    rc = m2m_zn_fetch(zc, BTID, (const uint8_t *)NAF_ID, strlen(NAF_ID), out, err);
    m2m_zn_client_free(zc);
    return rc;
}

static void test_key_from_the_bsf(void **state)
{
    m2m_zn_answer a;
    m2m_err err;
    (void)state;
    assert_int_equal(ask(bsf_crt, "200 OK", "{\"btid\":\"" BTID "\",\"impi\":\"" IMPI "\",\"ksNaf\":\"" KS32
                         "\",\"keyExpiryTime\":\"2030-01-01T00:00:00Z\"}", &a, &err), 0);
    assert_int_equal(a.found, 1);
    assert_string_equal(a.impi, IMPI);
    assert_int_equal(a.ks_naf.len, 32);
    assert_int_equal(a.ks_naf.bytes[0], 1);
    assert_int_equal(a.expires, 1893456000);
    m2m_secret_clear(&a.ks_naf);

    assert_int_equal(ask(bsf_crt, "404 Not Found", "{}", &a, &err), 0);
    assert_int_equal(a.found, 0);
    assert_int_equal(a.ks_naf.len, 0);
}

/* A server that does not chain to --bsf-root is not the BSF, whatever it answers. */
static void test_bsf_not_trusted(void **state)
{
    m2m_zn_answer a;
    m2m_err err;
    (void)state;
    assert_int_equal(ask(naf_crt, "200 OK", "{\"impi\":\"" IMPI "\",\"ksNaf\":\"" KS32
                         "\",\"keyExpiryTime\":\"2030-01-01T00:00:00Z\"}", &a, &err), -1);
    assert_int_equal(err.code, M2M_E_AUTH);
    assert_int_equal(a.found, 0);
    assert_int_equal(a.ks_naf.len, 0);
}

static void refused(const char *status, const char *body, const char *why)
{
    m2m_zn_answer a;
    m2m_err err;
    assert_int_equal(ask(bsf_crt, status, body, &a, &err), -1);
    assert_int_equal(err.code, M2M_E_PROTO);
    if (strstr(err.msg, why) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, why);
    assert_int_equal(a.found, 0);
    assert_int_equal(a.ks_naf.len, 0); /* no key is handed on from a refused answer */
}

static void test_bad_answers_refused(void **state)
{
    (void)state;
    refused("500 Internal Server Error", "{}", "answered 500");
    refused("403 Forbidden", "{}", "answered 403");
    /* a 16-octet key, a key that is no base64, a missing IMPI, an expiry that is no time, no JSON */
    refused("200 OK", "{\"impi\":\"" IMPI "\",\"ksNaf\":\"AQEBAQEBAQEBAQEBAQEBAQ==\",\"keyExpiryTime\":"
            "\"2030-01-01T00:00:00Z\"}", "lacks ksNaf");
    refused("200 OK", "{\"impi\":\"" IMPI "\",\"ksNaf\":\"!!!\",\"keyExpiryTime\":\"2030-01-01T00:00:00Z\"}",
            "lacks ksNaf");
    refused("200 OK", "{\"ksNaf\":\"" KS32 "\",\"keyExpiryTime\":\"2030-01-01T00:00:00Z\"}", "lacks ksNaf");
    refused("200 OK", "{\"impi\":\"" IMPI "\",\"ksNaf\":\"" KS32 "\",\"keyExpiryTime\":\"soon\"}", "lacks ksNaf");
    refused("200 OK", "ksNaf=" KS32, "lacks ksNaf");
}

/* Framing: a body shorter than its Content-Length (the connection closed early), and no HTTP at all. */
static void test_broken_framing_refused(void **state)
{
    m2m_zn_client *zc;
    m2m_zn_answer a;
    m2m_err err;
    (void)state;
    zc = m2m_zn_client_new(url, bsf_crt, naf_crt, naf_key, 3000, &err);
    assert_non_null(zc);
    bsf.script = "HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"impi\":\"" IMPI "\"";
    assert_int_equal(m2m_zn_fetch(zc, BTID, (const uint8_t *)NAF_ID, strlen(NAF_ID), &a, &err), -1);
    assert_non_null(strstr(err.msg, "cut short"));
    bsf.script = "SSH-2.0-OpenSSH_9.2\r\n";
    assert_int_equal(m2m_zn_fetch(zc, BTID, (const uint8_t *)NAF_ID, strlen(NAF_ID), &a, &err), -1);
    assert_non_null(strstr(err.msg, "not an HTTP answer"));
    m2m_zn_client_free(zc);
}

/* No BSF at the URL (a port that was just listening, closed now: refused at once), and a request that would not
 * fit: an error, no answer, no key. */
static void test_no_request_possible(void **state)
{
    char closed[64], long_btid[300];
    int port = 0, fd = fixture_listen_loopback(&port);
    m2m_zn_client *zc;
    m2m_zn_answer a;
    m2m_err err;
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    snprintf(closed, sizeof closed, "https://127.0.0.1:%d", port);
    assert_non_null(zc = m2m_zn_client_new(closed, bsf_crt, naf_crt, naf_key, 3000, &err));
    assert_int_equal(m2m_zn_fetch(zc, BTID, (const uint8_t *)NAF_ID, strlen(NAF_ID), &a, &err), -1);
    assert_int_equal(err.code, M2M_E_IO);
    assert_int_equal(a.ks_naf.len, 0);
    m2m_zn_client_free(zc);

    memset(long_btid, 'A', sizeof long_btid - 1);
    long_btid[sizeof long_btid - 1] = '\0';
    assert_non_null(zc = m2m_zn_client_new(url, bsf_crt, naf_crt, naf_key, 3000, &err));
    assert_int_equal(m2m_zn_fetch(zc, long_btid, (const uint8_t *)NAF_ID, strlen(NAF_ID), &a, &err), -1);
    assert_int_equal(err.code, M2M_E_ARG);
    m2m_zn_client_free(zc);
}

/* A BSF that will not take this NAF's certificate: the TLS handshake fails (TLS 1.2, so it fails in the handshake
 * and not at the first read), an error with no key. */
static void test_bsf_refuses_naf(void **state)
{
    m2m_zn_answer a;
    m2m_err err;
    (void)state;
    SSL_CTX_set_max_proto_version(bsf.srv.ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(bsf.srv.ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    assert_int_equal(SSL_CTX_load_verify_locations(bsf.srv.ctx, bsf.crt, NULL), 1); /* trusts itself only */
    assert_int_equal(ask(bsf_crt, "200 OK", "{}", &a, &err), -1);
    SSL_CTX_set_verify(bsf.srv.ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_max_proto_version(bsf.srv.ctx, 0);
    assert_int_equal(err.code, M2M_E_TLS);
    assert_int_equal(a.ks_naf.len, 0);
}

/* The client is made only from a usable configuration. */
static void test_configuration_checked(void **state)
{
    static const char *const bad_urls[] = {"http://127.0.0.1:8443", "https://127.0.0.1", "https://:8443",
                                           "https://127.0.0.1:", "https://127.0.0.1:123456", "https://[::1]8443",
                                           "https://[::1", "https://127.0.0.1:8443/zn", NULL};
    m2m_zn_client *zc;
    m2m_err err;
    (void)state;
    for (int i = 0; bad_urls[i] != NULL; i++) {
        assert_null(m2m_zn_client_new(bad_urls[i], bsf_crt, naf_crt, naf_key, 0, &err));
        assert_int_equal(err.code, M2M_E_ARG);
    }
    assert_null(m2m_zn_client_new(NULL, bsf_crt, naf_crt, naf_key, 0, &err));
    assert_null(m2m_zn_client_new(url, NULL, naf_crt, naf_key, 0, &err));
    assert_non_null(strstr(err.msg, "--bsf-root"));
    assert_null(m2m_zn_client_new(url, naf_key, naf_crt, naf_key, 0, &err)); /* a key is no root certificate */
    assert_non_null(strstr(err.msg, "--bsf-root"));
    assert_null(m2m_zn_client_new(url, bsf_crt, naf_key, naf_key, 0, &err));
    assert_non_null(strstr(err.msg, "--naf-cert"));
    assert_null(m2m_zn_client_new(url, bsf_crt, naf_crt, bsf_key, 0, &err)); /* another certificate's key */
    assert_non_null(strstr(err.msg, "--naf-key"));

    /* an IPv6 literal is taken; a copy keeps the configuration (and the default timeout) */
    zc = m2m_zn_client_new("https://[::1]:8443/", bsf_crt, naf_crt, naf_key, 0, &err);
    assert_non_null(zc);
    m2m_zn_client *dup = m2m_zn_client_dup(zc, &err);
    assert_non_null(dup);
    assert_int_equal(m2m_zn_client_timeout_ms(dup), 2000);
    m2m_zn_client_free(dup);
    m2m_zn_client_free(zc);
    m2m_zn_client_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_from_the_bsf),
        cmocka_unit_test(test_bsf_not_trusted),
        cmocka_unit_test(test_bad_answers_refused),
        cmocka_unit_test(test_broken_framing_refused),
        cmocka_unit_test(test_no_request_possible),
        cmocka_unit_test(test_bsf_refuses_naf),
        cmocka_unit_test(test_configuration_checked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
