/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree API with the PKI mechanisms against a scripted Registrar in a thread of this process: TLS with the
 * Registrar certificate of pki_fixture.h, asking every client for a certificate (as the real Registrar does on its
 * one port), canned HTTP answers.
 *   cert (x.y.6):  the Registree presents its certificate; Step 5 once, re-attachment is the handshake alone.
 *   token (x.y.7): no client certificate; the CREATE carries "Authorization: Bearer <token>"; the token is
 *                  single-use, so a registered token Registree does not connect again; a refused token is named.
 *   both:          a Registrar whose certificate lacks the CSE-ID, or whose stapled OCSP status is not good, gets
 *                  no request at all; SNI carries the host name.
 *   x.y.4:         the session (TLS 1.3 ticket) is kept and resumed: a cert re-attachment without a certificate
 *                  exchange; a registered token Registree gets back in by resuming (TLS 1.3 only), and without a
 *                  session it is the single-use refusal again. */
#include <openssl/ssl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture_registrar.h"
#include "fixture_tls_server.h"
#include "fixture_tmpdir.h"
#include "m2mattach/registree.h"
#include "pki_fixture.h"
#include "registree/state.h"

#define TOKEN "dG9rZW4tZm9yLUNkZXZpY2UwMQ"

static char pki[64];

enum mode {
    M_NORMAL,       /* 2001 to the registration, 2000 to anything else, keep-alive */
    M_REFUSE_TOKEN  /* 4106 to the registration */
};

struct fake {
    struct fake_server srv;  /* its ctx: made by fake_start */
    enum mode mode;
    unsigned char *staple;   /* OCSP response to staple, or NULL */
    long staple_len;
    int accepts, requests, client_certs, resumed;
    char client_subject[256];
    char sni[256];
    char last[8192];
    char dir[64], ini[128], state[160];
};

static int accept_any_client_cert(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1; /* the real Registrar matches the public-key hash; here only what was sent matters */
}

static int staple_cb(SSL *ssl, void *arg)
{
    struct fake *f = arg;
    unsigned char *copy;
    if (f->staple == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    copy = OPENSSL_memdup(f->staple, (size_t)f->staple_len);
    if (copy == NULL || SSL_set_tlsext_status_ocsp_resp(ssl, copy, f->staple_len) != 1)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

static void answer(struct fake *f, SSL *ssl, const char *req)
{
    char ri[64];
    fake_request_ri(req, ri, sizeof ri);
    if (fake_is_registration(req) && f->mode == M_REFUSE_TOKEN)
        fake_reply(ssl, "403 Forbidden", "4106", ri, "", "{\"m2m:dbg\":\"identity token already used\"}");
    else
        fake_reply_accept(ssl, req, ri, "");
}

/* One connection to the fake (fake_server_start). */
static void handle(SSL *ssl, void *arg)
{
    struct fake *f = arg;
    X509 *peer;
    const char *sni;
    char req[8192];

    pthread_mutex_lock(&f->srv.mu);
    f->accepts++;
    pthread_mutex_unlock(&f->srv.mu);
    if (SSL_accept(ssl) != 1)
        return;
    peer = SSL_get1_peer_certificate(ssl);
    sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    pthread_mutex_lock(&f->srv.mu);
    f->resumed += SSL_session_reused(ssl); /* no external PSK here: reused means resumed */
    if (peer != NULL) {
        f->client_certs++;
        X509_NAME_oneline(X509_get_subject_name(peer), f->client_subject, sizeof f->client_subject);
    }
    snprintf(f->sni, sizeof f->sni, "%s", sni != NULL ? sni : "");
    pthread_mutex_unlock(&f->srv.mu);
    X509_free(peer);
    while (fake_read_request(ssl, req, sizeof req) > 0) {
        pthread_mutex_lock(&f->srv.mu);
        f->requests++;
        snprintf(f->last, sizeof f->last, "%s", req);
        pthread_mutex_unlock(&f->srv.mu);
        answer(f, ssl, req);
    }
}

/* The fake Registrar presents cert (a file of the fixture) with registrar.key. */
static int fake_start(struct fake *f, const char *cert)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", pki, cert);
    f->srv.ctx = SSL_CTX_new(TLS_server_method());
    if (f->srv.ctx == NULL || SSL_CTX_use_certificate_file(f->srv.ctx, path, SSL_FILETYPE_PEM) != 1)
        return -1;
    snprintf(path, sizeof path, "%s/registrar.key", pki);
    if (SSL_CTX_use_PrivateKey_file(f->srv.ctx, path, SSL_FILETYPE_PEM) != 1)
        return -1;
    SSL_CTX_set_verify(f->srv.ctx, SSL_VERIFY_PEER, accept_any_client_cert);
    /* as the real Registrar: resumption needs a session ID context when client certificates are asked for */
    SSL_CTX_set_session_id_context(f->srv.ctx, (const unsigned char *)"fake", 4);
    SSL_CTX_set_tlsext_status_cb(f->srv.ctx, staple_cb);
    SSL_CTX_set_tlsext_status_arg(f->srv.ctx, f);
    return fake_server_start(&f->srv, handle, f);
}

static void fake_staple(struct fake *f, const char *name)
{
    char path[160];
    FILE *in;
    snprintf(path, sizeof path, "%s/%s", pki, name);
    in = fopen(path, "rb");
    assert_non_null(in);
    f->staple = malloc(8192);
    assert_non_null(f->staple);
    f->staple_len = (long)fread(f->staple, 1, 8192, in);
    fclose(in);
    assert_true(f->staple_len > 0);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);

    if (f == NULL || fake_registrar_open(&f->srv, "regpki", f->dir, f->ini, f->state) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    int rc = fake_registrar_close(&f->srv, f->dir);
    free(f->staple);
    free(f);
    return rc;
}

/* mechanism "cert" or "token"; host: the poa host; extra: more [registrar] lines */
static void write_ini(struct fake *f, const char *mechanism, const char *host, const char *extra)
{
    FILE *out = fopen(f->ini, "w");
    assert_non_null(out);
    fprintf(out,
            "[registrar]\npoa = https://%s:%d\ncse-id = /in-cse\nroot-cert = %s/root.crt\n%s"
            "[registree]\nid = Cdevice01\napp-id = Rdemo\nname = device01\n[credentials]\nmechanism = %s\n",
            host, f->srv.port, pki, extra, mechanism);
    if (strcmp(mechanism, "cert") == 0)
        fprintf(out, "cert-file = %s/device.crt\nkey-file = %s/device.key\n", pki, pki);
    else
        fprintf(out, "token = " TOKEN "\n");
    fclose(out);
    chmod(f->ini, 0600);
}

static int counter(struct fake *f, const int *which)
{
    return fake_server_count(&f->srv, which);
}

static void last_request(struct fake *f, char *out, size_t cap)
{
    fake_server_copy(&f->srv, out, cap, f->last);
}

static void test_cert_register_then_reattach(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    char last[8192];

    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    write_ini(f, "cert", "127.0.0.1", "");
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 1);
    assert_string_equal(info.mechanism, "cert");
    assert_string_equal(info.assigned_id, "Cdevice01");
    assert_string_equal(info.tls_version, "TLSv1.3");
    assert_int_equal(info.ocsp_checked, 0);
    close_session(&s);

    /* the Registree certificate went to the Registrar; the CREATE is the plain one, no token */
    assert_int_equal(counter(f, &f->client_certs), 1);
    pthread_mutex_lock(&f->srv.mu);
    assert_string_equal(f->client_subject, "/CN=Cdevice01");
    assert_string_equal(f->sni, ""); /* an IP address: no SNI */
    pthread_mutex_unlock(&f->srv.mu);
    last_request(f, last, sizeof last);
    assert_true(strncmp(last, "POST /~/in-cse HTTP/1.1\r\n", 25) == 0);
    assert_non_null(strstr(last, "\r\nX-M2M-Origin: Cdevice01\r\n"));
    assert_null(strcasestr(last, "Authorization"));

    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_int_equal(st.registered, 1);
    assert_string_equal(st.registrar_cse_id, "/in-cse");
    assert_string_equal(st.key_id, "");

    assert_true(st.session[M2M_SLOT_DETAILS].der_len > 0); /* the TLS 1.3 ticket that came with the answer */
    assert_non_null(strstr(st.session[M2M_SLOT_DETAILS].binding, "cert Cdevice01 /in-cse "));
    assert_true(st.session[M2M_SLOT_DETAILS].full_ms > 0);

    /* x.y.4: the session is resumed, no CREATE, no certificate exchange */
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 0);
    assert_string_equal(info.mechanism, "cert");
    assert_int_equal(info.session_offered, 1);
    assert_int_equal(info.resumed, 1);
    assert_true(info.full_handshake_ms > 0);
    close_session(&s);
    assert_int_equal(fake_server_wait(&f->srv, &f->resumed, 1), 1);

    /* x.y.6 "subsequent attachments use the same flow": without resumption, the certificate handshake again */
    s = open_session(f->ini);
    m2m_registree_set_resumption(s.r, 0);
    session_attach(&s, &info);
    assert_int_equal(info.created, 0);
    assert_int_equal(info.session_offered, 0);
    assert_int_equal(info.resumed, 0);
    assert_string_equal(info.mechanism, "cert");
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 3);
    assert_int_equal(fake_server_wait(&f->srv, &f->client_certs, 3), 3); /* the resumed session carried the first one */
    assert_int_equal(counter(f, &f->resumed), 1);
    assert_int_equal(counter(f, &f->requests), 1);
}

static void test_token_register_single_use(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    char last[8192], want[600];

    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    write_ini(f, "token", "127.0.0.1", "[tls]\nresumption = no\n");
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 1);
    assert_string_equal(info.mechanism, "token");
    last_request(f, last, sizeof last);
    assert_true(strncmp(last, "POST /~/in-cse HTTP/1.1\r\n", 25) == 0);
    assert_non_null(strstr(last, "\r\nAuthorization: Bearer " TOKEN "\r\n"));
    assert_non_null(strstr(last, "\r\nX-M2M-Origin: Cdevice01\r\n"));
    assert_int_equal(counter(f, &f->client_certs), 0); /* x.y.7: the Registree is not authenticated in TLS */

    /* the context is bound now: requests go on over the same connection, without the token */
    if (m2m_registree_send(s.r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(reply.rsc, 2000);
    m2m_reply_free(&reply);
    last_request(f, last, sizeof last);
    assert_null(strcasestr(last, "Authorization"));
    assert_int_equal(counter(f, &f->accepts), 1);

    /* once the connection is gone, it cannot be re-established with the used token: nothing is sent */
    m2m_registree_disconnect(s.r);
    assert_int_equal(m2m_registree_send(s.r, &req, &reply), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_EXISTS);
    close_session(&s);

    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_EXISTS);
    snprintf(want, sizeof want, "token attachment is single-use: Cdevice01 is already registered with /in-cse "
             "(state file %s) and resumption is off ([tls] resumption = no); re-attach with a key generated in the "
             "registering attachment (the first attach --rekey) or enrol a new token", f->state);
    assert_string_equal(m2m_registree_error(s.r), want);
    assert_string_equal(info.mechanism, "token");
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 1);
    assert_int_equal(counter(f, &f->requests), 2);
}

/* x.y.4 for a token Registree: the TLS 1.3 session of its registration brings it back in (the fake resumes any
 * session; the real Registrar resumes only a ticket that carries the binding, see cli_resume_rekey.sh). */
static void test_token_resumes_tls13_only(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    m2m_reg_state st;
    m2m_err err = {0};

    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    write_ini(f, "token", "127.0.0.1", "");
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 1);
    close_session(&s);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_true(st.session[M2M_SLOT_DETAILS].der_len > 0);
    /* the binding names a hash of the token, never the token */
    assert_non_null(strstr(st.session[M2M_SLOT_DETAILS].binding, "token Cdevice01 /in-cse "));
    assert_null(strstr(st.session[M2M_SLOT_DETAILS].binding, TOKEN));

    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 0);
    assert_int_equal(info.resumed, 1);
    assert_string_equal(info.mechanism, "token");
    if (m2m_registree_send(s.r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(reply.rsc, 2000);
    m2m_reply_free(&reply);
    close_session(&s);
    assert_int_equal(counter(f, &f->requests), 2); /* the CREATE, then the GET: no second CREATE */

    /* --no-resume: the single-use refusal, nothing sent */
    s = open_session(f->ini);
    m2m_registree_set_resumption(s.r, 0);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_EXISTS);
    assert_non_null(strstr(m2m_registree_error(s.r), "resumption is off for this attach (--no-resume)"));
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 2);

    /* TLS 1.2: its tickets are issued before the token binds the connection, so none is kept */
    unlink(f->state);
    write_ini(f, "token", "127.0.0.1", "[tls]\nversion = 1.2\n");
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 1);
    close_session(&s);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_int_equal(st.session[M2M_SLOT_DETAILS].der_len, 0);
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_EXISTS);
    assert_non_null(strstr(m2m_registree_error(s.r), "TLS 1.2 cannot resume a token session"));
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 3);
}

static void test_token_refused(void **state)
{
    struct fake *f = *state;
    struct session s;
    char want[300];

    f->mode = M_REFUSE_TOKEN;
    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    write_ini(f, "token", "127.0.0.1", "");
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, NULL), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_REFUSED);
    snprintf(want, sizeof want, "registration refused by Registrar 127.0.0.1:%d: 4106 ", f->srv.port);
    if (strstr(m2m_registree_error(s.r), want) == NULL ||
        strstr(m2m_registree_error(s.r), "identity token already used (the identity token was not accepted: wrong, "
                                         "already used or expired)") == NULL)
        fail_msg("unexpected message: %s", m2m_registree_error(s.r));
    assert_null(strstr(m2m_registree_error(s.r), TOKEN));
    close_session(&s);
    assert_int_equal(access(f->state, F_OK), -1);
}

static void test_wrong_cse_id_sends_nothing(void **state)
{
    struct fake *f = *state;
    struct session s;
    char want[300];

    assert_int_equal(fake_start(f, "other.crt"), 0);
    write_ini(f, "token", "127.0.0.1", "");
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, NULL), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_AUTH);
    snprintf(want, sizeof want, "Registrar 127.0.0.1:%d: certificate does not carry CSE-ID /in-cse (subjectAltName: "
             "URI:/other-cse, DNS:other.m2m.localhost)", f->srv.port);
    assert_string_equal(m2m_registree_error(s.r), want);
    close_session(&s);
    assert_int_equal(counter(f, &f->requests), 0); /* the token never left the device */
    assert_int_equal(access(f->state, F_OK), -1);
}

static void test_ocsp_good_and_sni(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    char extra[200];

    fake_staple(f, "resp-good.der");
    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    snprintf(extra, sizeof extra, "ocsp-responder-cert = %s/ocsp.crt\n", pki);
    write_ini(f, "cert", "localhost", extra); /* a name: it goes out as SNI */
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.ocsp_checked, 1);
    assert_int_equal(info.created, 1);
    close_session(&s);
    pthread_mutex_lock(&f->srv.mu);
    assert_string_equal(f->sni, "localhost");
    pthread_mutex_unlock(&f->srv.mu);
}

static void test_ocsp_revoked_sends_nothing(void **state)
{
    struct fake *f = *state;
    struct session s;
    char extra[200];

    fake_staple(f, "resp-revoked.der");
    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    snprintf(extra, sizeof extra, "ocsp-responder-cert = %s/ocsp.crt\n", pki);
    write_ini(f, "cert", "127.0.0.1", extra);
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, NULL), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_AUTH);
    assert_non_null(strstr(m2m_registree_error(s.r), "OCSP: the Registrar certificate (serial 1001) is revoked"));
    close_session(&s);
    assert_int_equal(counter(f, &f->requests), 0);
    assert_int_equal(counter(f, &f->client_certs), 0); /* TLS 1.3: checked before the certificate is sent */
}

static void test_ocsp_missing_sends_nothing(void **state)
{
    struct fake *f = *state;
    struct session s;
    char extra[200];

    assert_int_equal(fake_start(f, "registrar.crt"), 0);
    snprintf(extra, sizeof extra, "ocsp-responder-cert = %s/ocsp.crt\n[tls]\nversion = 1.2\n", pki);
    write_ini(f, "token", "127.0.0.1", extra);
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, NULL), -1);
    assert_non_null(strstr(m2m_registree_error(s.r), ": no stapled OCSP response (ocsp-responder-cert "));
    close_session(&s);
    assert_int_equal(counter(f, &f->requests), 0);
}

static int group_setup(void **state)
{
    (void)state;
    return pki_make_tmp(pki, sizeof pki, "regpkifix");
}

static int group_teardown(void **state)
{
    (void)state;
    return fixture_rmdir(pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cert_register_then_reattach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_register_single_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_resumes_tls13_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_cse_id_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_good_and_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_revoked_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ocsp_missing_sends_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
