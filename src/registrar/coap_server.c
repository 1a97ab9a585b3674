/* SPDX-License-Identifier: Apache-2.0 */
/* The CoAPS listener: libcoap 3 (4.3.1, its OpenSSL backend) runs CoAP and DTLS 1.2; this file makes that DTLS
 * ours and bounds what an unauthenticated peer can cost.
 *
 * Our DTLS context. libcoap makes its own SSL_CTX and has no API that hands it out. OpenSSL calls the "new"
 * function of every ex_data index when it creates an SSL_CTX, so one index watches, only on this thread and only
 * while coap_new_context runs, for the DTLS context libcoap creates. Before libcoap makes its first SSL from it,
 * that context gets everything the HTTPS one has (secctx/tls_server.c: suites, PSK lookup, client-certificate
 * check, tickets sealed with the store's keys), our cookie callbacks, and our ClientHello callback in place of
 * libcoap's, which attaches the session's m2m_tls_conn. So the binding is decided exactly as for TLS: by
 * m2m_bind_decide when the handshake completes (our info callback, chained with libcoap's own), from what the
 * finished handshake used; libcoap's PSK callback and its view of the peer are never used.
 *
 * The cookie gate in front of libcoap, and the admission of a peer that passed it: coap_intake.c.
 *
 * Limits before authentication: sessions in all (--coaps-max-sessions), per source address (--max-per-address),
 * unauthenticated sessions (--preauth-max: the one waiting longest is closed to admit a new one), a handshake or
 * an unbound context closed after --handshake-timeout, an idle session after --idle-timeout (our clock, so tests
 * move it), bodies of 4 KiB until bound (coap_adapter.c). A session whose enrolment is revoked or replaced is
 * closed within a second.
 *
 * Memory. An attached session idle for 2 s gives the pages of OpenSSL's read and handshake buffers back to the
 * kernel (secctx/buffer_pages.h: ~37 of its ~43 KiB; the next datagram costs a page fault or two). */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "registrar/coap.h"
#include "registrar/limits.h"
#include "secctx/buffer_pages.h"
#include "secctx/psk.h"
#include "util/hash.h"

#define COOKIE_PERIOD 60      /* seconds between cookie-secret rotations */
/* An attached session without a request for this long gives its OpenSSL buffers' pages back (buffer_pages.h). The
 * next datagram costs a page fault or two; a device that talks more often keeps them. */
#define RELEASE_AFTER_MS 2000.0

/* ---- sessions ---- */

uint32_t m2m_coap_peer_hash(const struct sockaddr *sa, socklen_t len)
{
    uint32_t h = m2m_fnv1a(M2M_FNV1A_INIT, &sa->sa_family, sizeof sa->sa_family);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        h = m2m_fnv1a(m2m_fnv1a(h, &in->sin_addr, 4), &in->sin_port, 2);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        h = m2m_fnv1a(m2m_fnv1a(h, &in6->sin6_addr, 16), &in6->sin6_port, 2);
    }
    return h;
}

static unsigned peer_hash(const struct sockaddr *sa, socklen_t len)
{
    return m2m_coap_peer_hash(sa, len) % M2M_COAP_TABLE;
}

static int same_peer(const coap_address_t *a, const struct sockaddr *sa, socklen_t len)
{
    if (a->addr.sa.sa_family != sa->sa_family)
        return 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *x = &a->addr.sin, *y = (const struct sockaddr_in *)sa;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *x = &a->addr.sin6, *y = (const struct sockaddr_in6 *)sa;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
    }
    return 0;
}

coap_conn *m2m_coap_lookup(struct m2m_coap *srv, const struct sockaddr *sa, socklen_t len)
{
    for (coap_conn *c = srv->table[peer_hash(sa, len)]; c != NULL; c = c->hnext)
        if (same_peer(&c->remote, sa, len))
            return c;
    return NULL;
}

void m2m_coap_addr_key(const struct sockaddr *sa, unsigned char key[17])
{
    memset(key, 0, 17);
    /* the high bit keeps these counts apart from the HTTPS connections' in the shared table */
    key[0] = (unsigned char)(0x80 | sa->sa_family);
    if (sa->sa_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static void leave_preauth(coap_conn *c)
{
    struct m2m_coap *srv = c->srv;
    if (!c->preauth)
        return;
    c->preauth = 0;
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else
        srv->preauth_head = c->pnext;
    if (c->pnext)
        c->pnext->pprev = c->pprev;
    else
        srv->preauth_tail = c->pprev;
    c->pprev = c->pnext = NULL;
    __atomic_sub_fetch(&c->srv->w->reg->metrics.coap.preauth_sessions, 1, __ATOMIC_RELAXED);
}

void m2m_coap_bound(coap_conn *c)
{
    leave_preauth(c);
}

/* Runs when OpenSSL frees the session's SSL (libcoap closing the session, or us). */
static void conn_unlink(m2m_tls_conn *tc)
{
    coap_conn *c = (coap_conn *)tc;
    struct m2m_coap *srv = c->srv;
    coap_conn **pp;

    if (srv == NULL)
        return;
    m2m_coap_forget(c);
    m2m_coap_replay_drop(c);
    m2m_coap_block2_drop(c);
    leave_preauth(c);
    m2m_pages_unclaim(m2m_pages_openssl(), c->rbuf_slot, tc->ssl);
    m2m_pages_unclaim(m2m_pages_openssl(), c->hbuf_slot, tc->ssl);
    for (pp = &srv->table[peer_hash(&c->remote.addr.sa, c->remote.size)]; *pp != NULL; pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    if (c->prev)
        c->prev->next = c->next;
    else if (srv->conns == c)
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m2m_limits_addr_add(srv->w->reg, c->addr_key, -1);
    __atomic_sub_fetch(&srv->w->reg->metrics.coap.open_sessions, 1, __ATOMIC_RELAXED);
    m2m_coap_sweep_closed(srv, &c->remote);
    m2m_coap_body_drop(&c->body);
}

static void conn_established(m2m_tls_conn *tc)
{
    if (tc->peer.registree_id[0] != '\0')
        m2m_coap_bound((coap_conn *)tc);
}

void m2m_coap_format_addr(const coap_address_t *a, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->addr.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->addr.sin.sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(a->addr.sin.sin_port));
    } else if (a->addr.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->addr.sin6.sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(a->addr.sin6.sin6_port));
    }
}

static coap_conn *conn_new(struct m2m_coap *srv, SSL *ssl, coap_session_t *s)
{
    coap_conn *c = (coap_conn *)m2m_tls_conn_new(ssl, &srv->w->tls, sizeof *c, conn_unlink);
    const coap_address_t *remote = coap_session_get_addr_remote(s);
    unsigned h;

    if (c == NULL || remote == NULL)
        return NULL; /* a conn made without a remote is freed with the SSL; unlink sees srv NULL */
    c->srv = srv;
    c->session = s;
    c->rbuf_slot = c->hbuf_slot = -1;
    c->remote = *remote;
    m2m_coap_addr_key(&remote->addr.sa, c->addr_key);
    m2m_coap_format_addr(remote, c->tls.addr, sizeof c->tls.addr);
    m2m_clock_mark(&c->last);
    h = peer_hash(&remote->addr.sa, remote->size);
    c->hnext = srv->table[h];
    srv->table[h] = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    c->preauth = 1;
    c->pprev = srv->preauth_tail;
    if (srv->preauth_tail)
        srv->preauth_tail->pnext = c;
    else
        srv->preauth_head = c;
    srv->preauth_tail = c;
    m2m_limits_addr_add(srv->w->reg, c->addr_key, 1);
    __atomic_add_fetch(&srv->w->reg->metrics.coap.open_sessions, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&srv->w->reg->metrics.coap.preauth_sessions, 1, __ATOMIC_RELAXED);
    c->tls.on_established = conn_established;
    c->tls.gated = srv->w->tls.gba != NULL; /* x.y.5: Zn only ahead of OpenSSL (gba_hold), never in its callback */
    return c;
}

/* Ours first (the binding decision, refusal log lines), then libcoap's (it tracks alerts to close sessions). */
static void info_cb(const SSL *ssl, int where, int ret)
{
    void (*coap_cb)(const SSL *, int, int) = SSL_CTX_get_info_callback(SSL_get_SSL_CTX(ssl));
    m2m_tls_info_cb(ssl, where, ret);
    if (coap_cb != NULL)
        coap_cb(ssl, where, ret);
}

/* OpenSSL shows each record it reads (SSL3_RT_HEADER: the header, in its read buffer) and each handshake message
 * (in its handshake buffer): the session claims the slots those buffers lie in, so that it can give their pages back
 * when idle. A read buffer OpenSSL swaps in (DTLS puts a record of the next epoch aside in the buffer it came in,
 * during a handshake) is claimed with the first record read into it, and the one before loses the claim; a buffer
 * freed loses it too (buffer_pages.c). A record in means the session is not idle any more; records are counted
 * (a kept request's answer is piggybacked only if none came in since: coap_adapter.c). */
static void msg_cb(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    m2m_pages *pages = m2m_pages_openssl();
    coap_conn *c;
    int *slot;
    int now;
    (void)version, (void)len, (void)arg;
    if (write_p || (type != SSL3_RT_HEADER && type != SSL3_RT_HANDSHAKE) ||
        (c = (coap_conn *)m2m_tls_conn_of(ssl)) == NULL)
        return;
    if (type == SSL3_RT_HEADER)
        c->records_in++;
    if (pages == NULL)
        return;
    c->released = 0;
    slot = type == SSL3_RT_HEADER ? &c->rbuf_slot : &c->hbuf_slot;
    now = m2m_pages_claim(pages, buf, ssl);
    if (now != *slot) {
        m2m_pages_unclaim(pages, *slot, ssl);
        *slot = now;
    }
}

/* An idle attached session's read and handshake buffers hold nothing any more -- the handshake is over
 * (SSL_in_init), every record read has been consumed (SSL_has_pending, which also looks at records DTLS put aside)
 * -- and the next datagram is written into them before anything is read: their pages go back to the kernel. */
static void release_buffers(coap_conn *c)
{
    m2m_pages *pages = m2m_pages_openssl();
    SSL *ssl = c->tls.ssl;
    c->released = 1; /* tried; again only after the next record */
    if (pages == NULL || ssl == NULL || SSL_in_init(ssl) || SSL_has_pending(ssl))
        return;
    if (m2m_pages_release(pages, c->rbuf_slot, ssl) + m2m_pages_release(pages, c->hbuf_slot, ssl) > 0)
        __atomic_add_fetch(&c->srv->w->reg->metrics.coap.buffers_released, 1, __ATOMIC_RELAXED);
}

/* In place of libcoap's ClientHello callback: runs once the cookie is verified, before cipher selection and before
 * any session or ticket is looked at, on the SSL libcoap made for the session. */
static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
    struct m2m_coap *srv = arg;
    coap_session_t *s = SSL_get_app_data(ssl); /* libcoap's: set before it starts the handshake */

    /* the connection's state: made on the first ClientHello (a HelloRetryRequest repeats it) */
    if (m2m_tls_conn_of(ssl) == NULL && (s == NULL || conn_new(srv, ssl, s) == NULL)) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    /* libcoap's first SSL was copied from the context before coap_context_set_psk2 gave it libcoap's PSK callback
     * back (see m2m_coap_start): ours, on every SSL */
    m2m_psk_install_ssl(ssl);
    /* libcoap made this SSL from the context when the last session started: before a reload, perhaps */
    if (m2m_coap_take_certificate(srv, ssl) != 0) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_info_callback(ssl, info_cb);
    SSL_set_msg_callback(ssl, msg_cb);
    return SSL_CLIENT_HELLO_SUCCESS;
}

void m2m_coap_close(coap_conn *c, const char *why)
{
    coap_session_t *s = c->session;
    if (c->closing)
        return;
    c->closing = 1;
    if (why != NULL)
        m2m_log(c->srv->w->reg, "close registree=%s peer=%s reason=%s binding=coap",
                c->tls.peer.registree_id[0] ? c->tls.peer.registree_id : "-", c->tls.addr, why);
    /* Frees the SSL now (a close_notify goes out if the handshake had completed), and with it c; libcoap frees the
     * session itself once nothing refers to it. */
    coap_session_disconnected(s, COAP_NACK_TLS_FAILED);
}

void m2m_coap_close_marked(struct m2m_coap *srv)
{
    coap_conn *c = srv->conns, *next;
    if (!srv->close_marked)
        return; /* the usual case: no walk over every session */
    srv->close_marked = 0;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->close_now && !c->closing)
            m2m_coap_close(c, "its last answer closes the security context");
    }
}

/* libcoap's timer fired (watched on its own): what it fired for, and the timer cleared (the walk reads it). */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    m2m_coap_sweep(arg);
    ERR_clear_error();
}

/* ---- start and stop ---- */

/* libcoap's PSK lookup is never used (our callback is on every SSL); if it ever were, it refuses. */
static const coap_bin_const_t *no_psk(coap_bin_const_t *identity, coap_session_t *s, void *arg)
{
    (void)identity, (void)s, (void)arg;
    return NULL;
}

static int setup_dtls(struct m2m_coap *srv, m2m_err *err)
{
    struct m2m_registrar *reg = srv->w->reg;
    m2m_tls_server_config tls = {0};
    coap_dtls_spsk_t spsk;

    tls.cert = reg->cfg.cert;
    tls.key = reg->cfg.key;
    tls.chain = reg->cfg.chain;
    tls.ticket_period = reg->cfg.ticket_period;
    tls.dtls = 1;
    tls.gba = srv->w->tls.gba != NULL; /* a NAF: the GBA identity hint, as over TLS */
    if (m2m_tls_server_setup(srv->ssl_ctx, &tls, err) != 0)
        return -1;
    m2m_dtls_gate_install(srv->gate, srv->ssl_ctx);
    SSL_CTX_set_client_hello_cb(srv->ssl_ctx, client_hello_cb, srv);
    /* Makes libcoap's listening SSL (the first session's) from the context as set up above, and switches its DTLS
     * endpoint on. It also puts libcoap's PSK callback on the context and on that SSL: ours goes back on both. */
    memset(&spsk, 0, sizeof spsk);
    spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
    spsk.validate_id_call_back = no_psk;
    if (coap_context_set_psk2(srv->ctx, &spsk) != 1)
        return m2m_fail(err, M2M_E_TLS, "libcoap refused the DTLS set-up");
    m2m_psk_install(srv->ssl_ctx, tls.gba);
    return 0;
}

int m2m_coap_sockets_per_worker(const struct m2m_registrar *reg)
{
    long share = reg->cfg.coaps_max_sessions / (reg->ncoap > 0 ? reg->ncoap : 1);
    long n = (share + M2M_COAP_SESSIONS_PER_SOCKET - 1) / M2M_COAP_SESSIONS_PER_SOCKET;
    return n < 1 ? 1 : n > M2M_COAP_MAX_SOCKETS ? M2M_COAP_MAX_SOCKETS : (int)n;
}

struct m2m_coap *m2m_coap_start(struct worker *w, const char *host, const char *port, m2m_err *err)
{
    struct m2m_coap *srv = calloc(1, sizeof *srv);
    const m2m_registrar_config *cfg = &w->reg->cfg;
    coap_resource_t *r;

    if (srv == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    srv->w = w;
    srv->epfd = srv->timerfd = -1;
    for (int i = 0; i < M2M_COAP_MAX_SOCKETS; i++)
        srv->socks[i].fd = -1;
    if ((srv->gate = m2m_dtls_gate_new(COOKIE_PERIOD, err)) == NULL || m2m_coap_context_new(srv, err) != 0 ||
        setup_dtls(srv, err) != 0)
        goto fail;
    /* Block-wise answers (Block2) by libcoap; request bodies (Block1) block by block to us (coap.h) */
    coap_context_set_block_mode(srv->ctx, COAP_BLOCK_USE_LIBCOAP);
    /* Backstops behind our own limits: libcoap's own clock, and it must never evict sessions for us */
    coap_context_set_max_handshake_sessions(srv->ctx, (unsigned)cfg->preauth_max + 16);
    coap_context_set_max_idle_sessions(srv->ctx, 0);
    coap_context_set_session_timeout(srv->ctx, (unsigned)cfg->idle_timeout + 60);
    if (m2m_coap_register_options(srv->ctx, err) != 0)
        goto fail;
    /* every request goes through the oneM2M binding, /.well-known/core too */
    for (int i = 0; i < 2; i++) {
        r = i == 0 ? coap_resource_unknown_init2(m2m_coap_handle, 0)
                   : coap_resource_init(coap_new_str_const((const uint8_t *)".well-known/core", 16),
                                        COAP_RESOURCE_FLAGS_RELEASE_URI);
        if (r == NULL) {
            m2m_fail(err, M2M_E_NOMEM, "out of memory");
            goto fail;
        }
        for (int m = COAP_REQUEST_GET; m <= COAP_REQUEST_DELETE; m++)
            coap_register_request_handler(r, (coap_request_t)m, m2m_coap_handle);
        coap_resource_set_userdata(r, srv);
        coap_add_resource(srv->ctx, r);
    }
    if (m2m_coap_endpoint_open(srv, host, port, m2m_coap_sockets_per_worker(w->reg), err) != 0 || m2m_coap_sweep_attach(srv, err) != 0)
        goto fail;
    /* libcoap's sockets and timer, each watched by the worker's loop (coap_endpoint.c found them) */
    for (int i = 0; i < srv->nsocks; i++) {
        coap_sock *sock = &srv->socks[i];
        if ((sock->ev = event_new(w->base, sock->fd, EV_READ | EV_PERSIST, m2m_coap_pump_cb, sock)) == NULL ||
            event_add(sock->ev, NULL) != 0) {
            m2m_fail(err, M2M_E_IO, "cannot watch the CoAPS sockets");
            goto fail;
        }
    }
    srv->timer_ev = event_new(w->base, srv->timerfd, EV_READ | EV_PERSIST, timer_cb, srv);
    if (srv->timer_ev == NULL || event_add(srv->timer_ev, NULL) != 0) {
        m2m_fail(err, M2M_E_IO, "cannot watch libcoap's timer");
        goto fail;
    }
    return srv;
fail:
    m2m_coap_free(srv);
    return NULL;
}

int m2m_coap_port(const struct m2m_coap *srv)
{
    return srv ? srv->port : -1;
}

void m2m_coap_free(struct m2m_coap *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; i < srv->nsocks; i++)
        if (srv->socks[i].ev != NULL)
            event_free(srv->socks[i].ev);
    if (srv->timer_ev != NULL)
        event_free(srv->timer_ev);
    m2m_coap_sweep_detach(srv); /* libcoap's last walks (freeing the context) are its own */
    /* closes every session (their SSLs, and with them the coap_conns) and libcoap's socket */
    if (srv->ctx != NULL)
        coap_free_context(srv->ctx);
    m2m_coap_pending_free_all(srv);
    m2m_dtls_gate_free(srv->gate);
    free(srv);
}

void m2m_coap_gate_stats(const struct m2m_coap *srv, m2m_gate_stats *out)
{
    memset(out, 0, sizeof *out);
    if (srv != NULL && srv->gate != NULL)
        m2m_dtls_gate_stats_read(srv->gate, out);
}

int m2m_coap_recheck(struct m2m_coap *srv, int64_t since, int64_t upto)
{
    int failed = 0;
    for (coap_conn *c = srv->conns, *next; c != NULL; c = next) {
        int active = c->closing ? 1 : m2m_still_enrolled(srv->w->st, since, upto, &c->tls);
        next = c->next;
        if (active == 0)
            m2m_coap_close(c, "enrolment revoked or replaced");
        failed |= active < 0; /* asked again at the next tick: the worker keeps the generation it had */
    }
    return failed ? -1 : 0;
}

void m2m_coap_tick(struct m2m_coap *srv)
{
    const m2m_registrar_config *cfg = &srv->w->reg->cfg;
    coap_conn *c, *next;

    m2m_dtls_gate_tick(srv->gate);
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (!c->tls.established || c->tls.peer.registree_id[0] == '\0') {
            /* a handshake that does not finish (a wrong key shows so in DTLS: the Finished that does not verify
             * is dropped silently), or a server-authenticated context waiting for its token */
            if (m2m_ms_since(&c->tls.t0) > 1000.0 * cfg->handshake_timeout) {
                if (!c->tls.established)
                    m2m_tls_conn_refused(&c->tls, "timeout");
                m2m_coap_close(c, c->tls.established ? "no identity token presented in time" : "handshake timeout");
            }
            continue;
        }
        m2m_coap_replay_expire(c);
        m2m_coap_block2_expire(c);
        if (c->tls.peer.not_after != 0 && m2m_clock_now() >= c->tls.peer.not_after)
            m2m_coap_close(c, "the key's lifetime is over");
        else if (c->npending == 0 && m2m_ms_since(&c->last) > 1000.0 * cfg->idle_timeout)
            m2m_coap_close(c, "idle");
        else if (!c->released && c->npending == 0 && m2m_ms_since(&c->last) >= RELEASE_AFTER_MS)
            release_buffers(c);
    }
    /* what closing left for libcoap to clean up (its walk frees closed sessions), and its timers */
    if (srv->sweep.nclosed > 0 || srv->sweep.closed_overflow)
        m2m_coap_sweep(srv);
    for (int i = 0; i < srv->nsocks; i++)
        m2m_coap_pump(&srv->socks[i]);
    m2m_coap_close_marked(srv);
    ERR_clear_error();
}
