/* SPDX-License-Identifier: Apache-2.0 */
/* The stateless DTLS cookie gate (dtls_gate.h). */
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "secctx/dtls_gate.h"
#include "util/clock.h"

#define COOKIE_LEN 32 /* HMAC-SHA256, untruncated: the HelloVerifyRequest is still far smaller than a ClientHello */
/* DTLS record header (13) + handshake header (12) + a byte of ClientHello: anything shorter is not one. */
#define MIN_HELLO 26

struct m2m_dtls_gate {
    unsigned char secret[2][32]; /* [0] issues and verifies, [1] (the previous one) only verifies */
    EVP_MAC_CTX *mac[2];         /* HMAC-SHA256 keyed with each secret: a cookie copies one (no fetch, no key set-up) */
    int have_prev;
    int64_t period, rotated_at;
    SSL_CTX *ctx;                /* the gate's own, used only to parse ClientHellos and build HelloVerifyRequests */
    SSL *ssl;
    BIO *in, *out;
    BIO_ADDR *addr;
    m2m_gate_stats stats;
};

/* The peer whose datagram this thread is handling, for the cookie callbacks (OpenSSL gives them only the SSL). */
static _Thread_local const m2m_dtls_gate *cur_gate;
static _Thread_local struct sockaddr_storage cur_peer;
static _Thread_local socklen_t cur_peer_len;
/* The cookie m2m_dtls_gate_check has just verified for that peer: libcoap's own DTLSv1_listen verifies the same
 * ClientHello again before m2m_dtls_gate_leave, and gets its answer without a second HMAC. */
static _Thread_local int in_check, memo_valid;
static _Thread_local unsigned char memo_cookie[32], memo_peer[19];
static _Thread_local size_t memo_peer_len;

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_sha256; /* fetched once: every gate's keyed contexts come from it */

static void fetch_mac(void)
{
    hmac_sha256 = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* *ctx := HMAC-SHA256 keyed with key (the old one freed); -1 leaves *ctx as it was. */
static int mac_keyed(EVP_MAC_CTX **ctx, const unsigned char key[32])
{
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_END};
    EVP_MAC_CTX *c;
    pthread_once(&mac_once, fetch_mac);
    if (hmac_sha256 == NULL || (c = EVP_MAC_CTX_new(hmac_sha256)) == NULL)
        return -1;
    if (EVP_MAC_init(c, key, 32, params) != 1) {
        EVP_MAC_CTX_free(c);
        return -1;
    }
    EVP_MAC_CTX_free(*ctx);
    *ctx = c;
    return 0;
}

/* The bytes a cookie binds: family, address and port of the peer (not the whole sockaddr: padding would count). */
static size_t peer_bytes(const struct sockaddr_storage *ss, socklen_t len, unsigned char out[19])
{
    if (ss->ss_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        out[0] = 4;
        memcpy(out + 1, &in->sin_addr, 4);
        memcpy(out + 5, &in->sin_port, 2);
        return 7;
    }
    if (ss->ss_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        out[0] = 6;
        memcpy(out + 1, &in6->sin6_addr, 16);
        memcpy(out + 17, &in6->sin6_port, 2);
        return 19;
    }
    return 0;
}

static int cookie_for(const m2m_dtls_gate *g, int which, unsigned char out[COOKIE_LEN])
{
    unsigned char peer[19];
    unsigned int len = COOKIE_LEN;
    size_t n = peer_bytes(&cur_peer, cur_peer_len, peer), outl = 0;
    EVP_MAC_CTX *c = n > 0 && g->mac[which] != NULL ? EVP_MAC_CTX_dup(g->mac[which]) : NULL;
    int ok = c != NULL && EVP_MAC_update(c, peer, n) == 1 && EVP_MAC_final(c, out, &outl, len) == 1 &&
             outl == COOKIE_LEN;
    EVP_MAC_CTX_free(c);
    return ok ? 0 : -1;
}

static int generate_cb(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    (void)ssl;
    if (cur_gate == NULL || cookie_for(cur_gate, 0, cookie) != 0)
        return 0;
    *len = COOKIE_LEN;
    return 1;
}

static int verify_cb(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    unsigned char want[COOKIE_LEN];
    int ok = 0;
    (void)ssl;
    if (cur_gate == NULL || len != COOKIE_LEN)
        return 0;
    if (!in_check && memo_valid) { /* the ClientHello the gate let through, for the same peer (not left since) */
        unsigned char peer[19];
        size_t n = peer_bytes(&cur_peer, cur_peer_len, peer);
        if (n > 0 && n == memo_peer_len && memcmp(peer, memo_peer, n) == 0 &&
            CRYPTO_memcmp(memo_cookie, cookie, COOKIE_LEN) == 0)
            return 1;
        /* anything else is verified in full */
    }
    for (int i = 0; i < 1 + cur_gate->have_prev && !ok; i++)
        ok = cookie_for(cur_gate, i, want) == 0 && CRYPTO_memcmp(want, cookie, COOKIE_LEN) == 0;
    OPENSSL_cleanse(want, sizeof want);
    if (ok && in_check) {
        memcpy(memo_cookie, cookie, COOKIE_LEN);
        memo_peer_len = peer_bytes(&cur_peer, cur_peer_len, memo_peer);
        memo_valid = memo_peer_len > 0;
    }
    return ok;
}

m2m_dtls_gate *m2m_dtls_gate_new(int64_t period, m2m_err *err)
{
    m2m_dtls_gate *g = OPENSSL_zalloc(sizeof *g);
    if (g == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    g->period = period > 0 ? period : 60;
    g->rotated_at = m2m_clock_now();
    g->ctx = SSL_CTX_new(DTLS_server_method());
    g->in = BIO_new(BIO_s_mem());
    g->out = BIO_new(BIO_s_mem());
    g->addr = BIO_ADDR_new();
    if (g->ctx == NULL || g->in == NULL || g->out == NULL || g->addr == NULL ||
        RAND_bytes(g->secret[0], sizeof g->secret[0]) != 1 || mac_keyed(&g->mac[0], g->secret[0]) != 0 ||
        (g->ssl = SSL_new(g->ctx)) == NULL) {
        m2m_fail(err, M2M_E_TLS, "cannot set up the DTLS cookie gate");
        goto fail;
    }
    m2m_dtls_gate_install(g, g->ctx);
    BIO_set_mem_eof_return(g->in, -1); /* an empty input is "no datagram yet", not an end of stream */
    SSL_set_bio(g->ssl, g->in, g->out);
    g->in = g->out = NULL; /* the SSL owns them */
    SSL_set_options(g->ssl, SSL_OP_COOKIE_EXCHANGE);
    return g;
fail:
    BIO_free(g->in);
    BIO_free(g->out);
    m2m_dtls_gate_free(g);
    return NULL;
}

void m2m_dtls_gate_free(m2m_dtls_gate *g)
{
    if (g == NULL)
        return;
    SSL_free(g->ssl);
    SSL_CTX_free(g->ctx);
    BIO_ADDR_free(g->addr);
    EVP_MAC_CTX_free(g->mac[0]);
    EVP_MAC_CTX_free(g->mac[1]);
    OPENSSL_clear_free(g, sizeof *g);
}

void m2m_dtls_gate_install(m2m_dtls_gate *g, SSL_CTX *ctx)
{
    (void)g;
    SSL_CTX_set_cookie_generate_cb(ctx, generate_cb);
    SSL_CTX_set_cookie_verify_cb(ctx, verify_cb);
}

void m2m_dtls_gate_tick(m2m_dtls_gate *g)
{
    int64_t now = m2m_clock_now();
    if (now - g->rotated_at < g->period && now >= g->rotated_at)
        return;
    unsigned char fresh[32];
    EVP_MAC_CTX *keyed = NULL;
    /* keep the old secret rather than issue cookies nobody can check */
    if (RAND_bytes(fresh, sizeof fresh) != 1 || mac_keyed(&keyed, fresh) != 0) {
        OPENSSL_cleanse(fresh, sizeof fresh);
        return;
    }
    memcpy(g->secret[1], g->secret[0], sizeof g->secret[0]);
    memcpy(g->secret[0], fresh, sizeof fresh);
    OPENSSL_cleanse(fresh, sizeof fresh);
    EVP_MAC_CTX_free(g->mac[1]);
    g->mac[1] = g->mac[0];
    g->mac[0] = keyed;
    g->have_prev = 1;
    g->rotated_at = now;
}

void m2m_dtls_gate_enter(m2m_dtls_gate *g, const struct sockaddr *peer, socklen_t peer_len)
{
    cur_gate = g;
    cur_peer_len = 0;
    if (peer != NULL && peer_len <= (socklen_t)sizeof cur_peer) {
        memcpy(&cur_peer, peer, peer_len);
        cur_peer_len = peer_len;
    }
}

void m2m_dtls_gate_leave(void)
{
    cur_gate = NULL;
    cur_peer_len = 0;
    memo_valid = 0;
    OPENSSL_cleanse(memo_cookie, sizeof memo_cookie);
}

static void count(unsigned long long *c)
{
    __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* The cookie of the ClientHello in the datagram's first record, checked as DTLSv1_listen checks everything up to it
 * (d1_lib.c, OpenSSL 3.0: a handshake record of major version 0xfe in epoch 0, one unfragmented-at-0 ClientHello
 * filling it, message sequence 0 or 1, then version, random, session_id and cookie): 1 with the cookie, 0 when
 * there is none or anything is off -- DTLSv1_listen then decides, as before. A cookie found here verifies (or not)
 * exactly as in DTLSv1_listen, so this spares the valid ones a pass through OpenSSL's listener and changes no
 * verdict. */
static int hello_cookie(const unsigned char *d, size_t len, const unsigned char **cookie, size_t *n)
{
    const unsigned char *m = d + 13, *b;
    size_t reclen, msglen, fragoff, fraglen, off;
    if (len < 13 || d[0] != 22 || d[1] != 0xfe || d[3] != 0 || d[4] != 0)
        return 0;
    reclen = (size_t)d[11] << 8 | d[12];
    if (reclen > len - 13 || reclen < 12)
        return 0;
    msglen = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
    fragoff = (size_t)m[6] << 16 | (size_t)m[7] << 8 | m[8];
    fraglen = (size_t)m[9] << 16 | (size_t)m[10] << 8 | m[11];
    if (m[0] != 1 || (m[4] << 8 | m[5]) > 1 || fragoff != 0 || fraglen > msglen || fraglen != reclen - 12)
        return 0;
    b = m + 12;
    off = 2 + 32; /* client_version, random */
    if (fraglen < off + 1 || b[off] > fraglen - off - 1)
        return 0;
    off += 1 + b[off]; /* session_id */
    if (fraglen < off + 1 || b[off] > fraglen - off - 1 || b[off] == 0)
        return 0;
    *n = b[off];
    *cookie = b + off + 1;
    return 1;
}

m2m_gate_verdict m2m_dtls_gate_check(m2m_dtls_gate *g, const struct sockaddr *peer, socklen_t peer_len,
                                     const unsigned char *dgram, size_t len, unsigned char *out, size_t cap,
                                     size_t *out_len)
{
    BIO *in = SSL_get_rbio(g->ssl), *wr = SSL_get_wbio(g->ssl);
    m2m_gate_verdict v = M2M_GATE_DROP;
    char *reply = NULL;
    const unsigned char *cookie;
    size_t cookie_len;
    long reply_len;
    int rc;

    *out_len = 0;
    /* Only a handshake record (22) holding a ClientHello (1) is worth parsing; everything else from an unknown
     * peer -- application data of a session that is gone, alerts, noise -- is dropped unanswered. */
    if (len < MIN_HELLO || len > 16384 || dgram[0] != 22 || dgram[13] != 1) {
        count(&g->stats.dropped);
        return M2M_GATE_DROP;
    }
    if (hello_cookie(dgram, len, &cookie, &cookie_len)) {
        /* the usual second ClientHello: its cookie checked here, as DTLSv1_listen would (the callback, which
         * remembers it for libcoap's own check of this ClientHello) */
        m2m_dtls_gate_enter(g, peer, peer_len);
        memo_valid = 0;
        in_check = 1;
        rc = verify_cb(g->ssl, cookie, (unsigned int)cookie_len);
        in_check = 0;
        cur_gate = NULL; /* as below: the memo stays for this peer until the caller's own enter/leave */
        if (rc == 1) {
            count(&g->stats.passed);
            return M2M_GATE_PASS;
        }
        memo_valid = 0; /* not valid: DTLSv1_listen answers with a HelloVerifyRequest */
    }
    (void)BIO_reset(in);
    (void)BIO_reset(wr);
    if (BIO_write(in, dgram, (int)len) != (int)len) {
        count(&g->stats.dropped);
        return M2M_GATE_DROP;
    }
    m2m_dtls_gate_enter(g, peer, peer_len);
    memo_valid = 0;
    in_check = 1;
    rc = DTLSv1_listen(g->ssl, g->addr);
    in_check = 0;
    /* not m2m_dtls_gate_leave: the cookie verified stays for this peer until the caller's own enter/leave */
    cur_gate = NULL;
    if (rc != 1)
        memo_valid = 0;
    ERR_clear_error();
    reply_len = BIO_get_mem_data(wr, &reply);
    if (rc == 1) {
        v = M2M_GATE_PASS;
        count(&g->stats.passed);
    } else if (rc == 0 && reply_len > 0 && (size_t)reply_len <= len && (size_t)reply_len <= cap) {
        /* never answer with more bytes than came in: a spoofed source cannot use us to amplify */
        memcpy(out, reply, (size_t)reply_len);
        *out_len = (size_t)reply_len;
        v = M2M_GATE_REPLY;
        count(&g->stats.hello_verify);
    } else {
        count(&g->stats.dropped);
    }
    (void)BIO_reset(in);
    (void)BIO_reset(wr);
    return v;
}

void m2m_dtls_gate_stats_read(const m2m_dtls_gate *g, m2m_gate_stats *out)
{
    out->hello_verify = __atomic_load_n(&g->stats.hello_verify, __ATOMIC_RELAXED);
    out->passed = __atomic_load_n(&g->stats.passed, __ATOMIC_RELAXED);
    out->dropped = __atomic_load_n(&g->stats.dropped, __ATOMIC_RELAXED);
}

/* ---- the psk_identity of a ClientKeyExchange (x.y.5 over DTLS: registrar/coap_server.c) ---- */

#define DTLS_RECORD_HEADER 13
#define DTLS_HS_HEADER 12

int m2m_dtls_cke_identity(const unsigned char *d, size_t len, const unsigned char **id, size_t *id_len)
{
    size_t off = 0;
    while (len - off >= DTLS_RECORD_HEADER) {
        const unsigned char *r = d + off + DTLS_RECORD_HEADER;
        size_t rlen = (size_t)d[off + 11] << 8 | d[off + 12];
        if (rlen > len - off - DTLS_RECORD_HEADER)
            return 0; /* a record cut short: nothing after it can be trusted either */
        /* handshake (22), epoch 0, a ClientKeyExchange (16) */
        if (d[off] == 22 && d[off + 3] == 0 && d[off + 4] == 0 && rlen >= DTLS_HS_HEADER + 2 && r[0] == 16) {
            size_t msg_len = (size_t)r[1] << 16 | (size_t)r[2] << 8 | r[3];
            size_t frag_off = (size_t)r[6] << 16 | (size_t)r[7] << 8 | r[8];
            size_t frag_len = (size_t)r[9] << 16 | (size_t)r[10] << 8 | r[11];
            size_t n = (size_t)r[12] << 8 | r[13];
            if (frag_off == 0 && frag_len <= msg_len && frag_len <= rlen - DTLS_HS_HEADER && frag_len >= 2 &&
                n <= frag_len - 2) {
                *id = r + DTLS_HS_HEADER + 2;
                *id_len = n;
                return 1;
            }
        }
        off += DTLS_RECORD_HEADER + rlen;
    }
    return 0;
}
