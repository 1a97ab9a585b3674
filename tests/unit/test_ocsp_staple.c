/* SPDX-License-Identifier: Apache-2.0 */
/* OCSP stapling on the Registrar (secctx/ocsp_staple.c): what it refuses to staple. A Registree that asks for the
 * status of the Registrar certificate (x.y.6 Step 4) must get a successful, current response about that very
 * certificate or none at all -- never a tryLater, a response about another certificate, a stale one or junk --
 * and a good response, once held, is not dropped because the next file or fetch is bad. Real responses from the
 * throw-away PKI (pki_fixture.h), real handshakes over BIO pairs to see what a client receives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include "fixture_tls_server.h"
#include "pki_fixture.h"
#include "secctx/ocsp_staple.h"

static char dir[128], staple[300];
static X509 *leaf, *issuer;
static SSL_CTX *srv;

static int setup(void **state)
{
    char crt[300], key[300];
    (void)state;
    if (pki_make_tmp(dir, sizeof dir, "ocsp") != 0)
        return -1;
    snprintf(crt, sizeof crt, "%s/registrar.crt", dir);
    snprintf(key, sizeof key, "%s/registrar.key", dir);
    snprintf(staple, sizeof staple, "%s/staple.der", dir);
    leaf = pki_read_cert(dir, "registrar.crt");
    issuer = pki_read_cert(dir, "root.crt");
    srv = SSL_CTX_new(TLS_server_method());
    if (leaf == NULL || issuer == NULL || srv == NULL ||
        SSL_CTX_use_certificate_file(srv, crt, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv, key, SSL_FILETYPE_PEM) != 1)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    SSL_CTX_free(srv);
    X509_free(leaf);
    X509_free(issuer);
    fixture_rmdir(dir);
    return 0;
}

/* staple.der becomes a copy of the PKI's response name (or of raw bytes), with a new mtime each time, as an
 * operator's cron job replacing the file would leave it. */
static void put_staple(const char *name, const char *raw, size_t raw_len)
{
    static long tick;
    char src[300], buf[8192];
    size_t n = raw_len;
    FILE *f;
    struct timespec ts[2] = {{.tv_sec = 1700000000 + ++tick}, {.tv_sec = 1700000000 + tick}};
    if (name != NULL) {
        snprintf(src, sizeof src, "%s/%s", dir, name);
        assert_non_null(f = fopen(src, "rb"));
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        raw = buf;
    }
    assert_non_null(f = fopen(staple, "wb"));
    assert_int_equal(fwrite(raw, 1, n, f), n);
    fclose(f);
    assert_int_equal(utimensat(AT_FDCWD, staple, ts, 0), 0);
}

/* A TLS 1.3 handshake with a client that asks for the certificate status; the number of response octets it got. */
static long stapled(m2m_stapler *s)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL *c, *sv;
    BIO *bc = NULL, *bs = NULL;
    const unsigned char *resp = NULL;
    long len;
    int cdone = 0, sdone = 0;
    assert_non_null(cctx);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    m2m_stapler_install(srv, s);
    c = SSL_new(cctx);
    sv = SSL_new(srv);
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(sv, bs, bs);
    SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
    SSL_set_connect_state(c);
    SSL_set_accept_state(sv);
    for (int i = 0; i < 20 && !(cdone && sdone); i++) {
        if (!cdone)
            cdone = SSL_do_handshake(c) == 1;
        if (!sdone)
            sdone = SSL_do_handshake(sv) == 1;
    }
    assert_true(cdone && sdone);
    len = SSL_get_tlsext_status_ocsp_resp(c, &resp);
    SSL_free(c);
    SSL_free(sv);
    SSL_CTX_free(cctx);
    ERR_clear_error();
    return resp != NULL ? len : 0;
}

static void test_configuration_checked(void **state)
{
    m2m_err err;
    (void)state;
    assert_null(m2m_stapler_new(staple, "http://127.0.0.1/ocsp", leaf, issuer, NULL, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    assert_null(m2m_stapler_new(NULL, "", leaf, issuer, NULL, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    assert_null(m2m_stapler_new(staple, NULL, leaf, NULL, NULL, &err));
    assert_non_null(strstr(err.msg, "issuer"));
}

/* Each kind of response that must not be stapled: refused when loaded, and a client gets no status at all. */
static void test_junk_never_stapled(void **state)
{
    static const struct {
        const char *name, *raw, *why;
        int code;
    } bad[] = {
        {"resp-trylater.der", NULL, "status is", M2M_E_PROTO},
        {"resp-other.der", NULL, "not about the Registrar certificate", M2M_E_PROTO},
        {"resp-stale.der", NULL, "expired", M2M_E_PROTO},
        {NULL, "not DER at all", "not a DER OCSP response", M2M_E_PARSE},
        {NULL, "", "empty file", M2M_E_PARSE},
    };
    m2m_err err;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m2m_stapler *s;
        put_staple(bad[i].name, bad[i].raw, bad[i].raw ? strlen(bad[i].raw) : 0);
        assert_non_null(s = m2m_stapler_new(staple, NULL, leaf, issuer, NULL, &err));
        assert_int_equal(m2m_stapler_refresh(s, 1, &err), -1);
        assert_int_equal(err.code, bad[i].code);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("%s: '%s' does not say '%s'", bad[i].name ? bad[i].name : bad[i].raw, err.msg, bad[i].why);
        /* not forced and nothing changed: still nothing to staple */
        assert_int_equal(m2m_stapler_refresh(s, 0, &err), -1);
        assert_int_equal(err.code, M2M_E_NOTFOUND);
        assert_int_equal(stapled(s), 0);
        m2m_stapler_free(s);
    }
    /* no file at all */
    {
        m2m_stapler *s;
        char missing[320];
        snprintf(missing, sizeof missing, "%s/missing.der", dir);
        assert_non_null(s = m2m_stapler_new(missing, NULL, leaf, issuer, NULL, &err));
        assert_int_equal(m2m_stapler_refresh(s, 1, &err), -1);
        assert_int_equal(err.code, M2M_E_IO);
        m2m_stapler_free(s);
    }
}

/* A good response is stapled as it is; a bad replacement does not displace it. */
static void test_good_response_kept(void **state)
{
    m2m_stapler *s;
    m2m_err err;
    struct stat sb;
    (void)state;
    put_staple("resp-good.der", NULL, 0);
    assert_int_equal(stat(staple, &sb), 0);
    assert_non_null(s = m2m_stapler_new(staple, NULL, leaf, issuer, NULL, &err));
    assert_int_equal(m2m_stapler_refresh(s, 1, &err), 0);
    assert_int_equal(stapled(s), sb.st_size);
    assert_int_equal(m2m_stapler_refresh(s, 0, &err), 0); /* not due, unchanged: nothing to do */

    put_staple("resp-trylater.der", NULL, 0);
    assert_int_equal(m2m_stapler_refresh(s, 0, &err), -1); /* the file changed: read at once, and refused */
    assert_int_equal(stapled(s), sb.st_size);
    put_staple("resp-other.der", NULL, 0);
    assert_int_equal(m2m_stapler_refresh(s, 1, &err), -1);
    assert_int_equal(stapled(s), sb.st_size);
    m2m_stapler_free(s);
}

/* Started, the refresher works on its own thread and says in the log why it staples nothing: the operator's only
 * sign that devices asking for the status get none. */
static void test_refresher_logs_refusal(void **state)
{
    m2m_stapler *s;
    m2m_err err;
    int p[2];
    FILE *log;
    char line[512] = "";
    struct pollfd pfd;
    ssize_t n;
    (void)state;
    put_staple("resp-trylater.der", NULL, 0);
    assert_int_equal(pipe(p), 0);
    assert_non_null(log = fdopen(p[1], "w"));
    setvbuf(log, NULL, _IOLBF, 0);
    assert_non_null(s = m2m_stapler_new(staple, NULL, leaf, issuer, log, &err));
    assert_int_equal(m2m_stapler_start(s, &err), 0);
    pfd.fd = p[0];
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 10000), 1); /* the first refresh runs at once; the deadline is for a stuck run */
    n = read(p[0], line, sizeof line - 1);
    assert_true(n > 0);
    line[n] = '\0';
    assert_non_null(strstr(line, "ocsp: OCSP response status is"));
    m2m_stapler_stop(s);
    assert_int_equal(stapled(s), 0);
    m2m_stapler_free(s);
    fclose(log);
    close(p[0]);
}

/* A responder URL that is not plain http, or that nobody answers: refused, nothing stapled. */
static void test_responder_url(void **state)
{
    m2m_stapler *s;
    m2m_err err;
    int port = 0, fd = fixture_listen_loopback(&port);
    char url[64];
    (void)state;
    assert_non_null(s = m2m_stapler_new(NULL, "ftp://127.0.0.1/ocsp", leaf, issuer, NULL, &err));
    assert_int_equal(m2m_stapler_refresh(s, 1, &err), -1);
    assert_int_equal(err.code, M2M_E_ARG);
    m2m_stapler_free(s);

    /* a port that was just listening and is closed now: the connection is refused at once */
    assert_true(fd >= 0);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ocsp", port);
    assert_non_null(s = m2m_stapler_new(NULL, url, leaf, issuer, NULL, &err));
    assert_int_equal(m2m_stapler_refresh(s, 1, &err), -1);
    assert_int_equal(err.code, M2M_E_IO);
    assert_int_equal(stapled(s), 0);
    m2m_stapler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configuration_checked),
        cmocka_unit_test(test_junk_never_stapled),
        cmocka_unit_test(test_good_response_kept),
        cmocka_unit_test(test_responder_url),
        cmocka_unit_test(test_refresher_logs_refusal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
