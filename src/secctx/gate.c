/* SPDX-License-Identifier: Apache-2.0 */
/* The gate BIO and the Zn requests it runs on the worker's loop (see gate.h for why). What the gate parses comes
 * from an unauthenticated peer: records and handshake messages are length-checked before use, the bytes it holds
 * are bounded (GATE_BUF), and anything it does not understand ends its looking (OpenSSL then judges the bytes). */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "m2mattach/keyid.h"
#include "secctx/gate.h"
#include "util/log.h"
#include "util/clock.h"

/* Two maximal TLS records: a ClientHello may span records, and a TLS 1.2 client's second flight comes at once. */
#define GATE_BUF (2 * (16384 + 2048 + 5))
/* A ClientHello or ClientKeyExchange larger than this is not looked at (OpenSSL takes what it takes). */
#define HS_MAX 16384

typedef struct gate gate;

struct m2m_gate_pending {
    struct m2m_gate_pending *next;
    m2m_gba_naf *naf;
    char btid[M2M_BTID_MAX];
    uint8_t ua[M2M_GBA_UA_ID_LEN];
    m2m_zn_op *op;
    struct event *ev;
    struct timespec started;
    gate *waiters;
};

struct gate {
    SSL *ssl;                 /* the gate lives inside it */
    m2m_gba_naf *naf;         /* NULL: no GBA on this loop (the gate reads PSK enrolments ahead only) */
    m2m_store_reader *reader; /* NULL: PSK enrolments are read in the callback (SQLite: microseconds) */
    m2m_store_read *read;     /* the PSK enrolment being read for this handshake */
    void (*wake)(void *arg);
    void *wake_arg;
    int sniff;                /* still looking at the plaintext handshake */
    int hold;                 /* waiting for Zn: nothing goes to OpenSSL */
    int eof;
    struct m2m_gate_pending *p;
    gate *next_waiter;
    size_t len, off, parsed;  /* buf[off..len) not yet given to OpenSSL; buf[..parsed) whole records looked at */
    size_t hs_len;
    unsigned char buf[GATE_BUF];
    unsigned char hs[HS_MAX];
};

/* ---- Zn on the loop ---- */

static double ms_since(const struct timespec *t0)
{
    return m2m_ms_since(t0);
}

static void release(struct m2m_gate_pending *p)
{
    m2m_gba_naf *naf = p->naf;
    struct m2m_gate_pending **pp = &naf->pending;
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->next;
    if (*pp == p)
        *pp = p->next;
    naf->npending--;
    for (gate *g = p->waiters, *next; g != NULL; g = next) {
        next = g->next_waiter;
        g->p = NULL;
        g->next_waiter = NULL;
        g->hold = 0;
        g->wake(g->wake_arg); /* OpenSSL reads again: the bytes, then the key from the cache */
    }
    if (p->ev != NULL)
        event_free(p->ev);
    m2m_zn_op_free(p->op);
    OPENSSL_clear_free(p, sizeof *p);
}

static void count(unsigned long long *field)
{
    __atomic_add_fetch(field, 1, __ATOMIC_RELAXED);
}

/* The request ended: its answer (or that there is none) goes into the cache, and the waiting handshakes go on. */
static void finish(struct m2m_gate_pending *p, int rc, const m2m_zn_answer *a, const char *why)
{
    m2m_gba_naf *naf = p->naf;
    int64_t now = m2m_clock_now();
    if (rc == 0 && a->found) {
        m2m_gba_cache_put(naf, p->btid, p->ua, 1, &a->ks_naf, a->impi, a->expires, 0);
    } else {
        m2m_gba_cache_put(naf, p->btid, p->ua, 0, NULL, NULL, now + M2M_GBA_NEGATIVE_TTL, rc != 0);
        if (rc != 0) {
            if (naf->counters != NULL)
                count(&naf->counters->zn_failures);
            m2m_logf(naf->log, "zn btid=%s result=failed reason=%s ms=%.2f", p->btid, why, ms_since(&p->started));
        }
    }
    release(p);
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
    struct m2m_gate_pending *p = arg;
    m2m_zn_answer a;
    m2m_err err;
    double left = m2m_zn_client_timeout_ms(p->naf->zn) - ms_since(&p->started);
    int want;

    if ((what & EV_TIMEOUT) || left <= 0) {
        snprintf(err.msg, sizeof err.msg, "no answer within %d ms", m2m_zn_client_timeout_ms(p->naf->zn));
        finish(p, -1, NULL, err.msg);
        return;
    }
    want = m2m_zn_op_step(p->op, &err);
    if (want == M2M_ZN_WANT_READ || want == M2M_ZN_WANT_WRITE) {
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((long)left % 1000 * 1000)};
        event_assign(p->ev, event_get_base(p->ev), fd, want == M2M_ZN_WANT_READ ? EV_READ : EV_WRITE, step_cb, p);
        event_add(p->ev, &tv);
        return;
    }
    if (want == M2M_ZN_DONE && m2m_zn_op_finish(p->op, &a, &err) == 0) {
        finish(p, 0, &a, NULL);
        m2m_secret_clear(&a.ks_naf);
        return;
    }
    finish(p, -1, NULL, err.msg);
}

/* The request for (btid, ua) under way on naf's loop, or a new one; NULL when none is possible. */
static struct m2m_gate_pending *request_for(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN])
{
    struct m2m_gate_pending *p;
    uint8_t naf_id[M2M_GBA_NAF_ID_MAX];
    size_t len = 0;
    m2m_err err;

    for (p = naf->pending; p != NULL; p = p->next)
        if (strcmp(p->btid, btid) == 0 && memcmp(p->ua, ua, M2M_GBA_UA_ID_LEN) == 0)
            break;
    if (p == NULL) {
        if (naf->npending >= M2M_GATE_MAX_PENDING || naf->zn == NULL) {
            m2m_logf(naf->log, "zn btid=%s result=not asked reason=%d requests under way on this worker already",
                     btid, naf->npending);
            return NULL;
        }
        if ((p = OPENSSL_zalloc(sizeof *p)) == NULL)
            return NULL;
        p->naf = naf;
        snprintf(p->btid, sizeof p->btid, "%s", btid);
        memcpy(p->ua, ua, M2M_GBA_UA_ID_LEN);
        m2m_clock_mark(&p->started);
        m2m_gba_naf_id_of(naf, ua, naf_id, &len);
        p->next = naf->pending;
        naf->pending = p;
        naf->npending++;
        if (naf->counters != NULL)
            count(&naf->counters->zn_fetches);
        if ((p->op = m2m_zn_op_start(naf->zn, btid, naf_id, len, &err)) == NULL ||
            (p->ev = event_new(naf->base, m2m_zn_op_fd(p->op), EV_WRITE, step_cb, p)) == NULL) {
            finish(p, -1, NULL, p->op == NULL ? err.msg : "out of memory");
            return NULL;
        }
        {
            struct timeval tv = {m2m_zn_client_timeout_ms(naf->zn) / 1000,
                                 m2m_zn_client_timeout_ms(naf->zn) % 1000 * 1000};
            event_add(p->ev, &tv);
        }
    }
    return p;
}

int m2m_gate_prefetch(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN])
{
    return naf != NULL && naf->base != NULL && request_for(naf, btid, ua) != NULL ? 0 : -1;
}

/* Starts a request for (btid, ua), or joins the one under way; g waits for it. 0, or -1 (no request possible:
 * g does not wait, and the PSK callback will refuse). */
static int wait_for(gate *g, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN])
{
    struct m2m_gate_pending *p = request_for(g->naf, btid, ua);
    if (p == NULL)
        return -1;
    g->p = p;
    g->next_waiter = p->waiters;
    p->waiters = g;
    g->hold = 1;
    return 0;
}

void m2m_gate_cancel_all(m2m_gba_naf *naf)
{
    while (naf->pending != NULL) {
        struct m2m_gate_pending *p = naf->pending;
        p->waiters = NULL; /* their connections are gone with the loop */
        release(p);
    }
}

/* ---- PSK enrolments read ahead (a store with a reader: PostgreSQL) ---- */

/* On the loop: the store answered; the handshake goes on and the PSK callback finds the answer. */
static void read_done(void *arg, int rc, const m2m_enrolment *e, const m2m_err *err)
{
    gate *g = arg;
    m2m_tls_conn *tc = m2m_tls_conn_of(g->ssl);
    g->read = NULL;
    g->hold = 0;
    if (tc != NULL && tc->hs != NULL) {
        m2m_psk_prefetch *pf = &tc->hs->prefetch;
        char asked[M2M_CRED_ID_MAX];
        snprintf(asked, sizeof asked, "%s", pf->e.key_id);
        OPENSSL_cleanse(pf, sizeof *pf);
        snprintf(pf->e.key_id, sizeof pf->e.key_id, "%s", asked);
        pf->have = 1;
        pf->rc = rc;
        pf->code = rc == 0 ? M2M_OK : err->code;
        snprintf(pf->msg, sizeof pf->msg, "%.*s", (int)sizeof pf->msg - 1, rc == 0 ? "" : err->msg);
        if (rc == 0) {
            snprintf(pf->e.registree_id, sizeof pf->e.registree_id, "%s", e->registree_id);
            pf->e.key = e->key;
            pf->e.pending = e->pending;
        }
    }
    g->wake(g->wake_arg); /* OpenSSL reads again: the held bytes, then the key from the answer */
}

/* A psk_identity that may be a key ID: read its enrolment now, holding the bytes until the answer. */
static void read_ahead(gate *g, const unsigned char *identity, size_t len)
{
    m2m_tls_conn *tc = m2m_tls_conn_of(g->ssl);
    char id[M2M_CRED_ID_MAX];
    if (tc == NULL || tc->hs == NULL || len == 0 || len > M2M_KEYID_HEX_LEN || memchr(identity, '\0', len) != NULL)
        return; /* not a key ID: the callbacks judge it (tickets are longer) */
    memcpy(id, identity, len);
    id[len] = '\0';
    if (tc->hs->prefetch.have && strcmp(tc->hs->prefetch.e.key_id, id) == 0)
        return; /* read already (a HelloRetryRequest repeats the ClientHello) */
    if ((g->read = m2m_store_read_psk(g->reader, id, read_done, g)) == NULL)
        return; /* the reader cannot take it now: the callback reads it (and fails at once if the store is away) */
    OPENSSL_cleanse(&tc->hs->prefetch, sizeof tc->hs->prefetch);
    snprintf(tc->hs->prefetch.e.key_id, sizeof tc->hs->prefetch.e.key_id, "%s", id);
    g->hold = 1;
}

/* ---- what the client sends ---- */

static void want(gate *g, const unsigned char *identity, size_t len, int version, uint16_t suite)
{
    char btid[M2M_BTID_MAX];
    uint8_t ua[M2M_GBA_UA_ID_LEN];
    if (g->hold)
        return;
    if (!m2m_gba_identity_btid(identity, len, btid)) {
        if (g->reader != NULL)
            read_ahead(g, identity, len);
        return;
    }
    if (g->naf == NULL)
        return; /* GBA, and Zn is asked in the callback (--zn-blocking) */
    m2m_gba_ua_id(version, suite, ua);
    if (m2m_gba_cache_get(g->naf, btid, ua, m2m_clock_now()) != NULL)
        return; /* known (or known to be unknown): nothing to wait for */
    wait_for(g, btid, ua);
}

/* A 2-octet big-endian length at p, checked against the end. */
static int len16(const unsigned char **p, const unsigned char *end, size_t *n)
{
    if (end - *p < 2)
        return -1;
    *n = (size_t)(*p)[0] << 8 | (*p)[1];
    *p += 2;
    return (size_t)(end - *p) < *n ? -1 : 0;
}

/* RFC 8446 4.1.2 and 4.2.11: the identities of a ClientHello's pre_shared_key extension. */
static void client_hello(gate *g, const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n, *ext_end;
    size_t l;

    if (n < 2 + 32 + 1)
        return;
    p += 2 + 32;
    l = *p++; /* legacy_session_id */
    if ((size_t)(end - p) < l)
        return;
    p += l;
    if (len16(&p, end, &l) != 0) /* cipher_suites */
        return;
    p += l;
    if (p >= end || (size_t)(end - p - 1) < *p) /* legacy_compression_methods */
        return;
    p += 1 + *p;
    if (len16(&p, end, &l) != 0) /* extensions */
        return;
    ext_end = p + l;
    while (ext_end - p >= 4) {
        unsigned type = (unsigned)p[0] << 8 | p[1];
        const unsigned char *e, *e_end, *ids_end;
        p += 2;
        if (len16(&p, ext_end, &l) != 0)
            return;
        e = p;
        e_end = p + l;
        p += l;
        if (type != 41) /* pre_shared_key */
            continue;
        if (len16(&e, e_end, &l) != 0)
            return;
        for (ids_end = e + l; e < ids_end && !g->hold;) {
            size_t il;
            if (len16(&e, ids_end, &il) != 0 || (size_t)(ids_end - e) < il + 4)
                return;
            want(g, e, il, TLS1_3_VERSION, 0);
            e += il + 4; /* identity, obfuscated_ticket_age */
        }
    }
}

/* RFC 4279 2 and RFC 5489 2: a PSK suite's ClientKeyExchange starts with the psk_identity. */
static void client_key_exchange(gate *g, const unsigned char *p, size_t n)
{
    const unsigned char *end = p + n;
    const SSL_CIPHER *c = SSL_get_pending_cipher(g->ssl);
    size_t l;
    if (c == NULL || SSL_version(g->ssl) == TLS1_3_VERSION || SSL_CIPHER_get_auth_nid(c) != NID_auth_psk ||
        len16(&p, end, &l) != 0)
        return;
    want(g, p, l, SSL_version(g->ssl), (uint16_t)SSL_CIPHER_get_protocol_id(c));
}

/* Whole handshake messages gathered from the records so far. */
static void messages(gate *g)
{
    while (g->sniff && !g->hold && g->hs_len >= 4) {
        size_t n = (size_t)g->hs[1] << 16 | (size_t)g->hs[2] << 8 | g->hs[3];
        if (4 + n > HS_MAX) {
            g->sniff = 0;
            return;
        }
        if (g->hs_len < 4 + n)
            return;
        if (g->hs[0] == 1)
            client_hello(g, g->hs + 4, n);
        else if (g->hs[0] == 16) {
            client_key_exchange(g, g->hs + 4, n);
            g->sniff = 0; /* the last plaintext message that can name a key */
        }
        memmove(g->hs, g->hs + 4 + n, g->hs_len - 4 - n);
        g->hs_len -= 4 + n;
    }
}

/* Looks at the whole records that arrived; parsed ends at the last one looked at. */
static void records(gate *g)
{
    while (g->sniff && !g->hold && g->len - g->parsed >= 5) {
        const unsigned char *r = g->buf + g->parsed;
        size_t n = (size_t)r[3] << 8 | r[4];
        if (n > 16384 + 2048) {
            g->sniff = 0;
            return;
        }
        if (g->len - g->parsed < 5 + n)
            return;
        if (r[0] != 22) {
            g->sniff = 0; /* ChangeCipherSpec, an alert, encrypted data: nothing more in clear */
        } else if (g->hs_len + n > HS_MAX) {
            g->sniff = 0;
        } else {
            memcpy(g->hs + g->hs_len, r + 5, n);
            g->hs_len += n;
        }
        g->parsed += 5 + n;
        messages(g);
    }
}

/* ---- the BIO ---- */

static BIO_METHOD *gate_method;

static int gate_read(BIO *b, char *out, int outl)
{
    gate *g = BIO_get_data(b);
    BIO *next = BIO_next(b);
    size_t ready;
    int n;

    BIO_clear_retry_flags(b);
    if (g == NULL || next == NULL)
        return -1;
    if (!g->sniff && g->off == g->len) {
        n = BIO_read(next, out, outl);
        BIO_copy_next_retry(b);
        return n;
    }
    /* While looking, exactly up to the end of the record under way: bytes after the handshake (the client's first
     * request, sent with its Finished) must stay in the socket, where libevent looks for them. While holding,
     * whatever there is: a readable socket must not make libevent spin, and a peer's EOF must be seen (only
     * handshake records can come then: the client waits for the server's flight). */
    for (int i = 0; i < 3 && !g->eof && g->len < sizeof g->buf; i++) {
        size_t have = g->len - g->parsed, need;
        if (g->hold || !g->sniff)
            need = g->hold ? sizeof g->buf - g->len : 0;
        else if (have < 5)
            need = 5 - have;
        else
            need = 5 + ((size_t)g->buf[g->parsed + 3] << 8 | g->buf[g->parsed + 4]) - have;
        if (need == 0)
            break;
        if (need > sizeof g->buf - g->len)
            need = sizeof g->buf - g->len;
        n = BIO_read(next, g->buf + g->len, (int)need);
        if (n > 0) {
            g->len += (size_t)n;
        } else {
            if (n == 0 || !BIO_should_retry(next))
                g->eof = 1;
            break;
        }
        records(g);
    }
    records(g);
    if (g->sniff && g->len == sizeof g->buf && g->parsed == g->off)
        g->sniff = 0; /* full without a whole record: stop looking */
    if (g->hold) {
        if (g->eof)
            return 0;
        BIO_set_retry_read(b);
        return -1;
    }
    ready = (g->sniff ? g->parsed : g->len) - g->off;
    if (ready > 0) {
        n = ready < (size_t)outl ? (int)ready : outl;
        memcpy(out, g->buf + g->off, (size_t)n);
        g->off += (size_t)n;
        if (g->off == g->len) {
            OPENSSL_cleanse(g->buf, g->len);
            g->off = g->len = g->parsed = 0;
        }
        return n;
    }
    if (g->eof)
        return 0;
    BIO_set_retry_read(b);
    return -1;
}

static int gate_write(BIO *b, const char *in, int inl)
{
    int n = BIO_write(BIO_next(b), in, inl);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    return n;
}

static long gate_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    gate *g = BIO_get_data(b);
    BIO *next = BIO_next(b);
    long r;
    if (next == NULL)
        return 0;
    if (cmd == BIO_CTRL_PENDING) {
        r = BIO_ctrl(next, cmd, num, ptr);
        return g != NULL && !g->hold ? r + (long)(g->len - g->off) : r;
    }
    return BIO_ctrl(next, cmd, num, ptr);
}

static int gate_destroy(BIO *b)
{
    gate *g = BIO_get_data(b);
    if (g == NULL)
        return 1;
    if (g->read != NULL)
        m2m_store_read_cancel(g->read); /* the connection went before the answer came */
    if (g->p != NULL) {
        gate **pp = &g->p->waiters;
        while (*pp != NULL && *pp != g)
            pp = &(*pp)->next_waiter;
        if (*pp == g)
            *pp = g->next_waiter;
    }
    OPENSSL_clear_free(g, sizeof *g);
    BIO_set_data(b, NULL);
    return 1;
}

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "m2m handshake gate");
    if (m != NULL && (BIO_meth_set_read(m, gate_read) != 1 || BIO_meth_set_write(m, gate_write) != 1 ||
                      BIO_meth_set_ctrl(m, gate_ctrl) != 1 || BIO_meth_set_destroy(m, gate_destroy) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    gate_method = m;
}

void m2m_gate_attach(m2m_tls_conn *tc)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    m2m_gba_naf *naf = tc->env->gba;
    BIO *sock = SSL_get_rbio(tc->ssl), *b;
    gate *g;

    if (naf != NULL && (naf->base == NULL || naf->blocking))
        naf = NULL; /* Zn in the callback (--zn-blocking, or no loop): the gate does not ask it */
    if (tc->gate_attached || (naf == NULL && tc->env->reader == NULL) || tc->wake == NULL || sock == NULL)
        return;
    pthread_once(&once, make_method);
    if (gate_method == NULL || (b = BIO_new(gate_method)) == NULL)
        return;
    if ((g = OPENSSL_zalloc(sizeof *g)) == NULL) {
        BIO_free(b);
        return;
    }
    g->ssl = tc->ssl;
    g->naf = naf;
    g->reader = tc->env->reader;
    g->wake = tc->wake;
    g->wake_arg = tc->wake_arg;
    g->sniff = 1;
    BIO_set_data(b, g);
    BIO_set_init(b, 1);
    /* the socket BIO keeps serving writes (wbio); reads go through the gate */
    BIO_up_ref(sock);
    BIO_push(b, sock);
    SSL_set0_rbio(tc->ssl, b);
    tc->gate_attached = 1;
    tc->gated = naf != NULL;
}
