/* SPDX-License-Identifier: Apache-2.0 */
/* The stateless DTLS cookie gate (secctx/dtls_gate.c) against a real OpenSSL DTLS client, in memory: a ClientHello
 * without a cookie gets a HelloVerifyRequest no larger than itself; the cookie is good for the address it was
 * issued to only, for one more rotation; anything else from an unknown peer gets nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/un.h>

#include "secctx/dtls_gate.h"
#include "util/clock.h"

typedef struct client {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
} client;

static unsigned int psk_cb(SSL *ssl, const char *hint, char *id, unsigned int max_id, unsigned char *psk,
                           unsigned int max_psk)
{
    (void)ssl, (void)hint, (void)max_id, (void)max_psk;
    snprintf(id, 8, "device");
    memset(psk, 7, 16);
    return 16;
}

static void client_new(client *c)
{
    c->ctx = SSL_CTX_new(DTLS_client_method());
    assert_non_null(c->ctx);
    SSL_CTX_set_psk_client_callback(c->ctx, psk_cb);
    assert_int_equal(SSL_CTX_set_cipher_list(c->ctx, "PSK-AES128-CCM8"), 1);
    c->ssl = SSL_new(c->ctx);
    c->in = BIO_new(BIO_s_mem());
    c->out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c->in, -1);
    SSL_set_bio(c->ssl, c->in, c->out);
    SSL_set_connect_state(c->ssl);
}

static void client_free(client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
}

/* Runs the client until it waits for the network; returns what it sent (one flight). */
static size_t client_step(client *c, unsigned char *out, size_t cap)
{
    int n;
    (void)SSL_do_handshake(c->ssl);
    n = BIO_read(c->out, out, (int)cap);
    ERR_clear_error();
    return n > 0 ? (size_t)n : 0;
}

static struct sockaddr_in peer(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    return a;
}

static m2m_gate_verdict check(m2m_dtls_gate *g, uint16_t port, const unsigned char *d, size_t len,
                              unsigned char *reply, size_t *rlen)
{
    struct sockaddr_in a = peer(port);
    return m2m_dtls_gate_check(g, (struct sockaddr *)&a, sizeof a, d, len, reply, 512, rlen);
}

/* The client's ClientHello carrying the cookie the gate gave it for 127.0.0.1:port (the gate's HelloVerifyRequest
 * in between). */
static size_t hello_with_cookie(m2m_dtls_gate *g, client *c, uint16_t port, unsigned char *hello, size_t cap)
{
    unsigned char reply[512];
    size_t n = client_step(c, hello, cap), rlen;
    assert_int_equal(check(g, port, hello, n, reply, &rlen), M2M_GATE_REPLY);
    BIO_write(c->in, reply, (int)rlen);
    return client_step(c, hello, cap);
}

static m2m_gate_verdict check6(m2m_dtls_gate *g, unsigned char last, uint16_t port, const unsigned char *d,
                               size_t len, unsigned char *reply, size_t *rlen)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr.s6_addr[15] = last;
    return m2m_dtls_gate_check(g, (struct sockaddr *)&a, sizeof a, d, len, reply, 512, rlen);
}

/* Over IPv6 the cookie is bound to the address and port as well; a peer address of a family the gate does not
 * know gets no cookie and never passes. */
static void test_cookie_ipv6_and_unknown_peers(void **state)
{
    m2m_dtls_gate *g = m2m_dtls_gate_new(60, NULL);
    client c;
    unsigned char hello[2048], hello2[2048], reply[512], other[512];
    size_t n, n2, rlen, olen;
    struct sockaddr_un unix_peer;
    (void)state;
    assert_non_null(g);
    client_new(&c);
    n = client_step(&c, hello, sizeof hello);
    assert_int_equal(check6(g, 1, 4000, hello, n, reply, &rlen), M2M_GATE_REPLY);
    BIO_write(c.in, reply, (int)rlen);
    n2 = client_step(&c, hello2, sizeof hello2);
    assert_int_equal(check6(g, 1, 4000, hello2, n2, other, &olen), M2M_GATE_PASS);
    assert_int_equal(check6(g, 2, 4000, hello2, n2, other, &olen), M2M_GATE_REPLY); /* [::2] */
    assert_int_equal(check6(g, 1, 4001, hello2, n2, other, &olen), M2M_GATE_REPLY);

    memset(&unix_peer, 0, sizeof unix_peer);
    unix_peer.sun_family = AF_UNIX;
    assert_int_not_equal(m2m_dtls_gate_check(g, (struct sockaddr *)&unix_peer, sizeof unix_peer, hello2, n2, other,
                                             512, &olen), M2M_GATE_PASS);
    assert_int_not_equal(m2m_dtls_gate_check(g, (struct sockaddr *)&unix_peer, sizeof unix_peer, hello, n, other,
                                             512, &olen), M2M_GATE_PASS);
    client_free(&c);
    m2m_dtls_gate_free(g);
}

static void test_cookie_exchange(void **state)
{
    m2m_dtls_gate *g = m2m_dtls_gate_new(60, NULL);
    client c;
    unsigned char hello[2048], hello2[2048], reply[512], other[512];
    size_t n, n2, rlen, olen;
    m2m_gate_stats st;
    (void)state;

    assert_non_null(g);
    client_new(&c);
    n = client_step(&c, hello, sizeof hello);
    assert_true(n > 0);
    /* no cookie: a HelloVerifyRequest, no larger than the ClientHello (no amplification) */
    assert_int_equal(check(g, 4000, hello, n, reply, &rlen), M2M_GATE_REPLY);
    assert_true(rlen > 0 && rlen <= n);
    /* the client answers it with its ClientHello again, now carrying the cookie */
    BIO_write(c.in, reply, (int)rlen);
    n2 = client_step(&c, hello2, sizeof hello2);
    assert_true(n2 > n);
    assert_int_equal(check(g, 4000, hello2, n2, reply, &rlen), M2M_GATE_PASS);
    /* the cookie was issued to 127.0.0.1:4000, not to another port or address */
    assert_int_equal(check(g, 4001, hello2, n2, other, &olen), M2M_GATE_REPLY);
    /* replaying the first ClientHello only gets another HelloVerifyRequest */
    assert_int_equal(check(g, 4000, hello, n, other, &olen), M2M_GATE_REPLY);
    m2m_dtls_gate_stats_read(g, &st);
    assert_int_equal(st.hello_verify, 3);
    assert_int_equal(st.passed, 1);

    /* the secret rotates; cookies of the previous period still verify, older ones do not */
    m2m_clock_set_offset(61);
    m2m_dtls_gate_tick(g);
    assert_int_equal(check(g, 4000, hello2, n2, reply, &rlen), M2M_GATE_PASS);
    m2m_clock_set_offset(122);
    m2m_dtls_gate_tick(g);
    assert_int_equal(check(g, 4000, hello2, n2, reply, &rlen), M2M_GATE_REPLY);
    m2m_clock_set_offset(0);
    client_free(&c);
    m2m_dtls_gate_free(g);
}

static void test_drops(void **state)
{
    m2m_dtls_gate *g = m2m_dtls_gate_new(60, NULL);
    client c;
    unsigned char hello[2048], junk[200], reply[512];
    size_t n, rlen;
    m2m_gate_stats st;
    (void)state;

    client_new(&c);
    n = client_step(&c, hello, sizeof hello);
    /* a truncated ClientHello, application data, an alert, noise: no answer at all */
    assert_int_equal(check(g, 5000, hello, 40, reply, &rlen), M2M_GATE_DROP);
    assert_int_equal(rlen, 0);
    memset(junk, 0, sizeof junk);
    junk[0] = 23; /* application data */
    assert_int_equal(check(g, 5000, junk, sizeof junk, reply, &rlen), M2M_GATE_DROP);
    junk[0] = 21; /* alert */
    assert_int_equal(check(g, 5000, junk, sizeof junk, reply, &rlen), M2M_GATE_DROP);
    junk[0] = 22; /* a handshake record that is no ClientHello */
    junk[13] = 2;
    assert_int_equal(check(g, 5000, junk, sizeof junk, reply, &rlen), M2M_GATE_DROP);
    assert_int_equal(check(g, 5000, hello, 5, reply, &rlen), M2M_GATE_DROP);
    /* a flood from ten thousand addresses: each answered on its own, nothing remembered */
    for (uint16_t p = 1; p <= 10000; p++) {
        assert_int_equal(check(g, p, hello, n, reply, &rlen), M2M_GATE_REPLY);
        assert_true(rlen <= n);
    }
    m2m_dtls_gate_stats_read(g, &st);
    assert_int_equal(st.dropped, 5);
    assert_int_equal(st.hello_verify, 10000);
    client_free(&c);
    m2m_dtls_gate_free(g);
}

/* The handshake code's own context verifies the same cookies, for the peer the gate names. */
/* DTLSv1_listen on a fresh SSL of sctx over one ClientHello, with the gate naming who (NULL: nobody) as the
 * sender: 1 when the cookie is accepted. */
static int listen_as(m2m_dtls_gate *g, SSL_CTX *sctx, const unsigned char *hello, size_t n,
                     const struct sockaddr_in *who)
{
    SSL *s = SSL_new(sctx);
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    BIO_ADDR *addr = BIO_ADDR_new();
    int rc;
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(s, in, out);
    SSL_set_options(s, SSL_OP_COOKIE_EXCHANGE);
    BIO_write(in, hello, (int)n);
    if (who != NULL)
        m2m_dtls_gate_enter(g, (const struct sockaddr *)who, sizeof *who);
    rc = DTLSv1_listen(s, addr);
    m2m_dtls_gate_leave();
    ERR_clear_error();
    SSL_free(s);
    BIO_ADDR_free(addr);
    return rc;
}

static void test_installed_context(void **state)
{
    m2m_dtls_gate *g = m2m_dtls_gate_new(60, NULL);
    SSL_CTX *sctx = SSL_CTX_new(DTLS_server_method());
    client c;
    unsigned char hello[2048], reply[512];
    size_t n, rlen;
    struct sockaddr_in a = peer(6000), b = peer(6001);
    (void)state;

    m2m_dtls_gate_install(g, sctx);
    client_new(&c);
    n = hello_with_cookie(g, &c, 6000, hello, sizeof hello);
    /* the right peer; another peer; nobody named (outside the gate's hand-over) */
    assert_int_equal(listen_as(g, sctx, hello, n, &a), 1);
    assert_int_not_equal(listen_as(g, sctx, hello, n, &b), 1);
    assert_int_not_equal(listen_as(g, sctx, hello, n, NULL), 1);
    /* the gate's own check remembers the cookie it verified for libcoap's second look at the same ClientHello:
     * for that peer only (another one is verified in full, and refused), and only until leave */
    assert_int_equal(check(g, 6000, hello, n, reply, &rlen), M2M_GATE_PASS);
    assert_int_not_equal(listen_as(g, sctx, hello, n, &b), 1);
    assert_int_equal(check(g, 6000, hello, n, reply, &rlen), M2M_GATE_PASS);
    assert_int_equal(listen_as(g, sctx, hello, n, &a), 1);
    client_free(&c);
    SSL_CTX_free(sctx);
    m2m_dtls_gate_free(g);
}

/* The gate reads the cookie of a ClientHello itself (sparing valid ones a pass through DTLSv1_listen): it must
 * never let through what DTLSv1_listen would not. Every byte of a valid second ClientHello changed in four ways,
 * and every truncation: the gate passes exactly when DTLSv1_listen (the reference, on the installed context)
 * accepts. */
static void test_cookie_read_agrees_with_openssl(void **state)
{
    m2m_dtls_gate *g = m2m_dtls_gate_new(60, NULL);
    SSL_CTX *sctx = SSL_CTX_new(DTLS_server_method());
    client c;
    unsigned char hello[2048], m[2048], reply[512];
    size_t n, rlen;
    struct sockaddr_in a = peer(6100);
    int passed = 0, refused = 0;
    (void)state;

    m2m_dtls_gate_install(g, sctx);
    client_new(&c);
    n = hello_with_cookie(g, &c, 6100, hello, sizeof hello);
    assert_int_equal(check(g, 6100, hello, n, reply, &rlen), M2M_GATE_PASS);
    m2m_dtls_gate_leave();
    for (size_t i = 0; i < n; i++) {
        const unsigned char how[4] = {(unsigned char)(hello[i] ^ 1), (unsigned char)(hello[i] ^ 0x80), 0, 0xff};
        for (int k = 0; k < 4; k++) {
            int gate, ref;
            if (how[k] == hello[i])
                continue;
            memcpy(m, hello, n);
            m[i] = how[k];
            gate = check(g, 6100, m, n, reply, &rlen) == M2M_GATE_PASS;
            m2m_dtls_gate_leave(); /* no memo: the reference verifies in full */
            ref = listen_as(g, sctx, m, n, &a) == 1;
            if (gate != ref)
                fail_msg("byte %zu set to 0x%02x: the gate %s, DTLSv1_listen %s", i, how[k], gate ? "passes" : "does not",
                         ref ? "accepts" : "does not");
            passed += gate;
            refused += !gate;
        }
    }
    for (size_t len = 0; len < n; len++) {
        int gate = check(g, 6100, hello, len, reply, &rlen) == M2M_GATE_PASS;
        m2m_dtls_gate_leave();
        assert_int_equal(gate, listen_as(g, sctx, hello, len, &a) == 1);
        assert_false(gate);
    }
    /* both kinds occurred: bytes the cookie does not cover (the random, the suites) and ones that break it */
    assert_true(passed > 0);
    assert_true(refused > 0);
    client_free(&c);
    SSL_CTX_free(sctx);
    m2m_dtls_gate_free(g);
}

/* The psk_identity of a ClientKeyExchange, as the CoAPS listener reads it for x.y.5: found in a flight after other
 * records, not in epoch 1, not in a later fragment, never past the datagram. */
static size_t record(unsigned char *out, int type, int epoch, const unsigned char *body, size_t n)
{
    out[0] = (unsigned char)type, out[1] = 0xfe, out[2] = 0xfd, out[3] = 0, out[4] = (unsigned char)epoch;
    memset(out + 5, 0, 6);
    out[11] = (unsigned char)(n >> 8), out[12] = (unsigned char)n;
    memcpy(out + 13, body, n);
    return 13 + n;
}

static size_t cke(unsigned char *out, const char *identity, unsigned frag_off, int id_len_delta)
{
    size_t n = strlen(identity), body = 2 + n;
    out[0] = 16;
    out[1] = 0, out[2] = (unsigned char)(body >> 8), out[3] = (unsigned char)body;
    out[4] = 0, out[5] = 2;
    out[6] = 0, out[7] = 0, out[8] = (unsigned char)frag_off;
    out[9] = 0, out[10] = (unsigned char)(body >> 8), out[11] = (unsigned char)body;
    out[12] = (unsigned char)((n + (size_t)id_len_delta) >> 8), out[13] = (unsigned char)(n + (size_t)id_len_delta);
    memcpy(out + 14, identity, n);
    return 12 + body;
}

static void test_cke_identity(void **state)
{
    const char *btid = "R2wPBNuL4OsZ7nHD6aXwQg==@bsf.m2m.localhost";
    unsigned char hs[128], d[512], ccs = 1;
    const unsigned char *id = NULL;
    size_t n = 0, h, len;
    (void)state;

    h = cke(hs, btid, 0, 0);
    len = record(d, 20, 0, &ccs, 1);           /* a ChangeCipherSpec first: the walk goes on */
    len += record(d + len, 22, 0, hs, h);
    assert_int_equal(m2m_dtls_cke_identity(d, len, &id, &n), 1);
    assert_int_equal(n, strlen(btid));
    assert_memory_equal(id, btid, n);
    assert_int_equal(m2m_dtls_cke_identity(d, len - 1, &id, &n), 0); /* the record cut short */
    len = record(d, 22, 1, hs, h);                                   /* encrypted (epoch 1): not read */
    assert_int_equal(m2m_dtls_cke_identity(d, len, &id, &n), 0);
    h = cke(hs, btid, 7, 0);                                         /* not the first fragment */
    len = record(d, 22, 0, hs, h);
    assert_int_equal(m2m_dtls_cke_identity(d, len, &id, &n), 0);
    h = cke(hs, btid, 0, 1);                                         /* an identity longer than its message */
    len = record(d, 22, 0, hs, h);
    assert_int_equal(m2m_dtls_cke_identity(d, len, &id, &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_exchange),
        cmocka_unit_test(test_cookie_ipv6_and_unknown_peers),
        cmocka_unit_test(test_drops),
        cmocka_unit_test(test_installed_context),
        cmocka_unit_test(test_cookie_read_agrees_with_openssl),
        cmocka_unit_test(test_cke_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
