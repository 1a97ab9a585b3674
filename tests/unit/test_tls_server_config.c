/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar's TLS context refuses a configuration it cannot serve securely (secctx/cert.c, tls_server.c):
 * a certificate without its key, a key of another certificate, files that are not PEM certificates, a chain file
 * that holds none. It fails at start-up with a message naming the file, instead of serving without the
 * certificate (PSK only) or with a broken chain. Files from the throw-away PKI (pki_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/ssl.h>

#include "pki_fixture.h"
#include "secctx/tls_conn.h"

static char dir[128];

static const char *in_dir(const char *name)
{
    static char paths[4][300];
    static int n;
    char *p = paths[n++ % 4];
    snprintf(p, 300, "%s/%s", dir, name);
    return p;
}

static void refused(const char *cert, const char *key, const char *chain, const char *why_part)
{
    m2m_tls_server_config cfg = {0};
    m2m_err err;
    cfg.cert = cert;
    cfg.key = key;
    cfg.chain = chain;
    cfg.ticket_period = 3600;
    assert_null(m2m_tls_server_ctx(&cfg, &err));
    if (strstr(err.msg, why_part) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, why_part);
}

static void test_broken_configurations_refused(void **state)
{
    m2m_tls_server_config cfg = {0};
    m2m_err err;
    SSL_CTX *ctx;
    (void)state;
    assert_int_equal(pki_make_tmp(dir, sizeof dir, "srvcfg"), 0);
    refused(in_dir("registrar.crt"), NULL, NULL, "--cert needs --key");
    refused(in_dir("missing.crt"), in_dir("registrar.key"), NULL, "Registrar certificate");
    refused(in_dir("registrar.key"), in_dir("registrar.key"), NULL, "Registrar certificate"); /* a key, not a cert */
    refused(in_dir("registrar.crt"), in_dir("missing.key"), NULL, "Registrar key");
    refused(in_dir("registrar.crt"), in_dir("evil-root.key"), NULL, "evil-root.key"); /* another certificate's key */
    refused(in_dir("registrar-inter.crt"), in_dir("registrar.key"), in_dir("missing.crt"), "Registrar chain");
    refused(in_dir("registrar-inter.crt"), in_dir("registrar.key"), in_dir("registrar.key"), "holds no PEM certificate");

    /* TLS 1.3 suites it does not know: refused, not served with OpenSSL's defaults */
    cfg.cert = in_dir("registrar.crt");
    cfg.key = in_dir("registrar.key");
    cfg.tls13_suites = "TLS_NOT_A_SUITE";
    cfg.ticket_period = 3600;
    assert_null(m2m_tls_server_ctx(&cfg, &err));
    assert_non_null(strstr(err.msg, "cipher suites"));
    cfg.tls13_suites = NULL;

    /* the same files, put together right, make a context */
    cfg.cert = in_dir("registrar-inter.crt");
    cfg.key = in_dir("registrar.key");
    cfg.chain = in_dir("inter.crt");
    cfg.ticket_period = 3600;
    assert_non_null(ctx = m2m_tls_server_ctx(&cfg, &err));
    SSL_CTX_free(ctx);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_configurations_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
