/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS client's part of x.y.4 and x.y.8 against an OpenSSL server in a thread of this process: sessions are
 * kept (TLS 1.3 tickets arrive after the handshake and are awaited without eating application data), offered and
 * resumed, and "resumed" means the offered session was used: in TLS 1.3 OpenSSL reports SSL_session_reused() for
 * an external-PSK full handshake too, which must not count. Both ends export the same keying material. A Registrar
 * that answers a refused PSK with a certificate handshake is named for what it did. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture_tls_server.h"
#include "m2mattach/keyid.h"
#include "registree/tls_client.h"

static const unsigned char KEY[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
#define LABEL "EXPORTER-oneM2M-Connection"

struct server {
    struct fake_server srv;        /* its ctx: PSK, and an ECDSA suite for give_certificate */
    char identity[M2M_KEYID_HEX_LEN + 1];
    int greet;                     /* write "hello" right after the handshake */
    int handshakes, psk_used, reused;
    unsigned char exported[48];
};

static unsigned int psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
    struct server *s = SSL_get_app_data(ssl);
    if (identity == NULL || strcmp(identity, s->identity) != 0 || max < sizeof KEY)
        return 0;
    memcpy(psk, KEY, sizeof KEY);
    s->psk_used = 1;
    return sizeof KEY;
}

static int find_session_cb(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    struct server *s = SSL_get_app_data(ssl);
    SSL_SESSION *ss;
    *sess = NULL;
    if (idlen != strlen(s->identity) || memcmp(id, s->identity, idlen) != 0)
        return 1;
    if ((ss = fake_psk_session(ssl, KEY, sizeof KEY)) == NULL)
        return 0;
    s->psk_used = 1;
    *sess = ss;
    return 1;
}

/* One connection (fake_server_start). */
static void handle(SSL *ssl, void *arg)
{
    struct server *s = arg;
    char buf[64];
    s->psk_used = 0;
    if (SSL_accept(ssl) != 1)
        return;
    pthread_mutex_lock(&s->srv.mu);
    s->handshakes++;
    s->reused += SSL_session_reused(ssl) && !s->psk_used;
    SSL_export_keying_material(ssl, s->exported, sizeof s->exported, LABEL, strlen(LABEL), NULL, 0, 0);
    pthread_mutex_unlock(&s->srv.mu);
    if (s->greet)
        SSL_write(ssl, "hello", 5);
    while (SSL_read(ssl, buf, sizeof buf) > 0)
        ;
}

static int setup(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    m2m_err err = {0};

    if (s == NULL || m2m_keyid(M2M_KEY_KCA, KEY, sizeof KEY, s->identity, &err) != 0)
        return -1;
    if (fake_server_open(&s->srv) != 0)
        return -1;
    s->srv.ctx = SSL_CTX_new(TLS_server_method());
    if (s->srv.ctx == NULL || SSL_CTX_set_cipher_list(s->srv.ctx, "PSK:ECDHE-ECDSA-AES128-GCM-SHA256") != 1)
        return -1;
    SSL_CTX_set_psk_server_callback(s->srv.ctx, psk_cb);
    SSL_CTX_set_psk_find_session_callback(s->srv.ctx, find_session_cb);
    SSL_CTX_set_num_tickets(s->srv.ctx, 1);
    *state = s;
    return 0;
}

static void start(struct server *s)
{
    assert_int_equal(fake_server_start(&s->srv, handle, s), 0);
}

static int teardown(void **state)
{
    struct server *s = *state;
    fake_server_close(&s->srv);
    free(s);
    return 0;
}

static int count(struct server *s, const int *which)
{
    return fake_server_count(&s->srv, which);
}

/* the server finishes its side of a TLS 1.3 handshake after the client's: wait for it */
static int wait_count(struct server *s, const int *which, int want)
{
    return fake_server_wait(&s->srv, which, want);
}

static m2m_tls_client *connect_psk(struct server *s, m2m_tls_range range, SSL_SESSION *sess, const char *identity)
{
    m2m_tls_client_config c = {
        .host = "127.0.0.1",
        .port = s->srv.port_s,
        .range = range,
        .timeout_ms = 3000,
        .psk_identity = identity != NULL ? identity : s->identity,
        .psk = KEY,
        .psk_len = sizeof KEY,
        .session = sess,
        .keep_sessions = 1,
    };
    m2m_err err = {0};
    m2m_tls_client *t = m2m_tls_client_connect(&c, &err);
    if (t == NULL && identity == NULL)
        fail_msg("%s", err.msg);
    return t;
}

static void resume_cycle(struct server *s, m2m_tls_range range)
{
    m2m_tls_client *t;
    SSL_SESSION *sess, *next;
    unsigned char keys[80];
    int base = count(s, &s->reused);

    t = connect_psk(s, range, NULL, NULL);
    assert_int_equal(m2m_tls_client_resumed(t), 0);
    if (range == M2M_TLS_ONLY_1_3) {
        /* TLS 1.3: nothing yet; the ticket comes after the handshake */
        assert_int_equal(m2m_tls_client_sessions(t), 0);
        assert_int_equal(m2m_tls_client_await_session(t, 3000), 1);
    }
    assert_true(m2m_tls_client_sessions(t) >= 1);
    sess = m2m_tls_client_get1_session(t);
    assert_non_null(sess);
    assert_int_equal(SSL_SESSION_is_resumable(sess), 1);
    m2m_tls_client_close(t);

    /* offered and resumed: the server ran no PSK callback */
    t = connect_psk(s, range, sess, NULL);
    assert_int_equal(m2m_tls_client_resumed(t), 1);
    m2m_tls_client_close(t);
    assert_int_equal(wait_count(s, &s->reused, base + 1), base + 1);

    /* the server cannot open the ticket any more: a full handshake with the PSK (TLS 1.3: OpenSSL calls that
     * "reused" on both sides; it is not a resumption) */
    assert_int_equal(RAND_bytes(keys, sizeof keys), 1);
    assert_int_equal(SSL_CTX_set_tlsext_ticket_keys(s->srv.ctx, keys, sizeof keys), 1);
    t = connect_psk(s, range, sess, NULL);
    assert_int_equal(m2m_tls_client_resumed(t), 0);
    if (range == M2M_TLS_ONLY_1_3)
        assert_int_equal(m2m_tls_client_await_session(t, 3000), 1);
    next = m2m_tls_client_get1_session(t);
    assert_non_null(next);
    assert_ptr_not_equal(next, sess);
    m2m_tls_client_close(t);
    SSL_SESSION_free(sess);

    /* the new one resumes */
    t = connect_psk(s, range, next, NULL);
    assert_int_equal(m2m_tls_client_resumed(t), 1);
    m2m_tls_client_close(t);
    SSL_SESSION_free(next);
    assert_int_equal(wait_count(s, &s->reused, base + 2), base + 2);
}

static void test_resumption_tls13(void **state)
{
    struct server *s = *state;
    start(s);
    resume_cycle(s, M2M_TLS_ONLY_1_3);
}

static void test_resumption_tls12(void **state)
{
    struct server *s = *state;
    start(s);
    resume_cycle(s, M2M_TLS_ONLY_1_2);
}

/* Waiting for the ticket processes the NewSessionTicket and leaves the application data that follows it. */
static void test_await_keeps_application_data(void **state)
{
    struct server *s = *state;
    m2m_tls_client *t;
    m2m_err err = {0};
    char buf[16] = "";
    size_t got = 0;

    s->greet = 1;
    start(s);
    t = connect_psk(s, M2M_TLS_ONLY_1_3, NULL, NULL);
    assert_int_equal(m2m_tls_client_await_session(t, 3000), 1);
    /* the data is there after the ticket; a second wait sees it and does not take it */
    assert_int_equal(m2m_tls_client_await_session(t, 200), 0);
    assert_int_equal(m2m_tls_client_read(t, buf, sizeof buf - 1, &got, &err), 0);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "hello", 5);
    m2m_tls_client_close(t);

    /* TLS 1.2 has nothing to wait for */
    t = connect_psk(s, M2M_TLS_ONLY_1_2, NULL, NULL);
    assert_int_equal(m2m_tls_client_await_session(t, 3000), 0);
    m2m_tls_client_close(t);
}

static void test_export_matches_server(void **state)
{
    struct server *s = *state;
    unsigned char mine[48], theirs[48];
    m2m_tls_client *t;
    m2m_err err = {0};

    start(s);
    for (int v = 0; v < 2; v++) {
        int before = count(s, &s->handshakes);
        t = connect_psk(s, v == 0 ? M2M_TLS_ONLY_1_2 : M2M_TLS_ONLY_1_3, NULL, NULL);
        assert_int_equal(m2m_tls_client_export(t, LABEL, mine, sizeof mine, &err), 0);
        assert_int_equal(wait_count(s, &s->handshakes, before + 1), before + 1);
        pthread_mutex_lock(&s->srv.mu);
        memcpy(theirs, s->exported, sizeof theirs);
        pthread_mutex_unlock(&s->srv.mu);
        assert_memory_equal(mine, theirs, sizeof mine);
        m2m_tls_client_close(t);
    }
    assert_int_equal(m2m_tls_client_export(NULL, LABEL, mine, sizeof mine, &err), -1);
}

/* A throw-away ECDSA certificate for the server. */
static void give_certificate(SSL_CTX *ctx)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(pkey);
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"in-cse", -1, -1,
                               0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
    X509_free(x);
    EVP_PKEY_free(pkey);
}

static void test_psk_refused_then_certificate_is_named(void **state)
{
    struct server *s = *state;
    static const char other[] = "ffffffffffffffffffffffffffffffff";
    m2m_tls_client_config c = {
        .host = "127.0.0.1",
        .range = M2M_TLS_ONLY_1_3,
        .timeout_ms = 3000,
        .psk_identity = other,
        .psk = KEY,
        .psk_len = sizeof KEY,
    };
    m2m_err err = {0};
    char want[200];

    give_certificate(s->srv.ctx);
    start(s);
    c.port = s->srv.port_s;
    assert_null(m2m_tls_client_connect(&c, &err));
    assert_int_equal(err.code, M2M_E_AUTH);
    snprintf(want, sizeof want, "Registrar 127.0.0.1:%d: did not accept psk_identity %s and answered with a "
             "certificate instead (key not enrolled, revoked or replaced?)", s->srv.port, other);
    assert_string_equal(err.msg, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resumption_tls13, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumption_tls12, setup, teardown),
        cmocka_unit_test_setup_teardown(test_await_keeps_application_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_matches_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_psk_refused_then_certificate_is_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
