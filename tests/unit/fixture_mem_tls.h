/* SPDX-License-Identifier: Apache-2.0 */
/* A Registrar on the other end of a BIO pair, run by the client's own thread (src/registree/wire.h: m2m_pump):
 * no socket, no thread, no wall clock. Whenever the client would wait for the network, the peer runs one step --
 * the handshake, or reading what the client sent and answering each whole HTTP request through the test's
 * handler -- and reports whether it did anything; a peer with nothing to do is a silent network, so the client's
 * wait ends as a timeout at once. Header-only (static inline).
 *
 *   mem_peer_init(p, ctx, handler, arg)   p's server context (the test's) and request handler
 *   mem_peer_dial(p, cfg, err)            an m2m_rtee_dial: a new connection, the client's BIO and pump in cfg
 *   mem_peer_free(p)                      every connection's server side freed (teardown)
 *   mem_reply(k, status, rsc, headers, body)   the handler's answer on connection k, with the request's RI
 *   mem_close(k)                          close_notify after the answer (or instead of one)
 *   mem_silence(k)                        nothing more from this connection: the client's waits run out
 */
#ifndef M2M_TEST_FIXTURE_MEM_TLS_H
#define M2M_TEST_FIXTURE_MEM_TLS_H

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registree/registree_internal.h"

#define MEM_MAX_CONNS 32

struct mem_peer;

struct mem_conn {
    struct mem_peer *peer;
    SSL *ssl;            /* the server side */
    BIO *sbio;           /* its end of the pair (owned by ssl) */
    int failed;          /* the handshake failed here */
    int closed;          /* close_notify sent */
    int silent;          /* mem_silence */
    char req[65536];     /* the request being read */
    size_t len;
    char ri[64];         /* X-M2M-RI of the request being answered */
};

/* Called with each whole request (NUL-terminated, headers and body). */
typedef void (*mem_handler)(struct mem_conn *k, const char *req, size_t len, void *arg);

struct mem_peer {
    SSL_CTX *ctx;
    mem_handler handler;
    void *arg;
    struct mem_conn *conns[MEM_MAX_CONNS];
    int nconns;
    int handshakes;      /* completed on the server side */
    int requests;
};

static inline void mem_peer_init(struct mem_peer *p, SSL_CTX *ctx, mem_handler handler, void *arg)
{
    memset(p, 0, sizeof *p);
    p->ctx = ctx;
    p->handler = handler;
    p->arg = arg;
}

static inline void mem_peer_free(struct mem_peer *p)
{
    for (int i = 0; i < p->nconns; i++) {
        SSL_free(p->conns[i]->ssl);
        free(p->conns[i]);
    }
    p->nconns = 0;
}

static inline void mem_reply(struct mem_conn *k, const char *status, const char *rsc, const char *headers,
                             const char *body)
{
    char resp[4096];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\nX-M2M-RSC: %s\r\nX-M2M-RI: %s\r\n%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     status, rsc, k->ri, headers, strlen(body), body);
    SSL_write(k->ssl, resp, n);
}

static inline void mem_close(struct mem_conn *k)
{
    SSL_shutdown(k->ssl);
    k->closed = 1;
}

static inline void mem_silence(struct mem_conn *k)
{
    k->silent = 1;
}

/* The length of the whole request at the start of k->req, or 0 when more is to come. */
static inline size_t mem_request_len(const struct mem_conn *k)
{
    const char *end = strstr(k->req, "\r\n\r\n"), *cl;
    size_t body = 0;
    if (end == NULL)
        return 0;
    cl = strstr(k->req, "\r\nContent-Length: ");
    if (cl != NULL && cl < end)
        body = (size_t)strtoul(cl + 18, NULL, 10);
    return (size_t)(end + 4 - k->req) + body <= k->len ? (size_t)(end + 4 - k->req) + body : 0;
}

/* One step of connection k: the handshake, or the requests that have come in whole. 0 when the client can go on
 * (it has something to read, or the peer took what it sent), -1 when the peer had nothing to do. */
static inline int mem_conn_run(void *arg)
{
    struct mem_conn *k = arg;
    size_t in_before = BIO_ctrl_pending(k->sbio);

    if (k->closed || k->silent || k->failed)
        return -1;
    if (!SSL_is_init_finished(k->ssl)) {
        int r = SSL_do_handshake(k->ssl);
        if (r == 1)
            k->peer->handshakes++;
        else if (SSL_get_error(k->ssl, r) != SSL_ERROR_WANT_READ)
            k->failed = 1; /* its alert is on the way to the client */
    }
    while (SSL_is_init_finished(k->ssl) && !k->closed && !k->silent) {
        size_t got = 0, whole;
        if (SSL_read_ex(k->ssl, k->req + k->len, sizeof k->req - 1 - k->len, &got) != 1)
            break;
        k->len += got;
        k->req[k->len] = '\0';
        while ((whole = mem_request_len(k)) > 0 && !k->closed && !k->silent) {
            char saved = k->req[whole];
            const char *ri = strstr(k->req, "\r\nX-M2M-RI: ");
            snprintf(k->ri, sizeof k->ri, "none");
            if (ri != NULL)
                sscanf(ri + 12, "%63[^\r]", k->ri);
            k->req[whole] = '\0';
            k->peer->requests++;
            k->peer->handler(k, k->req, whole, k->peer->arg);
            k->req[whole] = saved;
            memmove(k->req, k->req + whole, k->len - whole + 1);
            k->len -= whole;
        }
    }
    return BIO_ctrl_wpending(k->sbio) > 0 || BIO_ctrl_pending(k->sbio) < in_before ? 0 : -1;
}

/* An m2m_rtee_dial (registree_internal.h): each connection of the Registree gets a new server side here. */
static inline int mem_peer_dial(void *arg, m2m_tls_client_config *cfg, m2m_err *err)
{
    struct mem_peer *p = arg;
    struct mem_conn *k;
    BIO *cbio = NULL, *sbio = NULL;

    if (p->nconns == MEM_MAX_CONNS || (k = calloc(1, sizeof *k)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "in-memory peer: too many connections");
    if (BIO_new_bio_pair(&cbio, 0, &sbio, 0) != 1 || (k->ssl = SSL_new(p->ctx)) == NULL) {
        BIO_free(cbio);
        BIO_free(sbio);
        free(k);
        return m2m_fail(err, M2M_E_NOMEM, "in-memory peer: no BIO pair");
    }
    SSL_set_bio(k->ssl, sbio, sbio);
    SSL_set_accept_state(k->ssl);
    SSL_set_app_data(k->ssl, p->arg);
    k->sbio = sbio;
    k->peer = p;
    p->conns[p->nconns++] = k;
    cfg->bio = cbio;
    cfg->pump.run = mem_conn_run;
    cfg->pump.arg = k;
    return 0;
}

#endif
