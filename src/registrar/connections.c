/* SPDX-License-Identifier: Apache-2.0 */
/* Connection lifecycle on a worker: creation for evhttp, the pre-authentication budget, and closing the
 * connections of Registrees whose enrolment was revoked or replaced while they were attached. */
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "registrar/coap.h"
#include "registrar/limits.h"
#include "registrar/server.h"
#include "secctx/gba.h"
#include "util/clock.h"

/* Runs on the worker thread that frees the SSL: unlink from that worker's list. */
static void conn_unlink(m2m_tls_conn *tc)
{
    conn *c = (conn *)tc;
    m2m_limits_release(c);
    m2m_http_forget(c);
    if (c->prev)
        c->prev->next = c->next;
    else if (c->w && c->w->conns == c)
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->w != NULL)
        __atomic_sub_fetch(&c->w->reg->metrics.open_connections, 1, __ATOMIC_RELAXED);
}

/* The handshake completed: a bound connection leaves the pre-authentication budget and may send full-size
 * requests; an unbound one keeps the small limits until a token binds it.
 *
 * If an enrolment changed while the handshake ran, the credential it was looked up with may have been revoked
 * after the lookup and before m2m_worker_recheck looked at the open connections -- which skipped this one, not yet
 * established. So it is checked once more here (one read; only when the generation moved, which is rare). */
static void conn_established(m2m_tls_conn *tc)
{
    conn *c = (conn *)tc;
    int64_t gen;
    m2m_err err;
    if (tc->peer.registree_id[0] == '\0')
        return;
    m2m_limits_bound(c);
    if (m2m_store_enrol_generation(c->w->st, &gen, &err) == 0 && gen == c->gen0)
        return;
    if (m2m_store_enrolment_active(c->w->st, tc->peer.registree_id, m2m_peer_enrol_id(&tc->peer), &err) != 1)
        m2m_conn_close(c, "enrolment revoked or replaced during the handshake (or the store cannot tell)");
}

/* gate.c: Zn answered; run the handshake again. bufferevent_openssl drives a handshake from its read event, whose
 * callback calls SSL_do_handshake; making that event active is what a readable socket would have done. */
static void conn_wake(void *arg)
{
    struct bufferevent *bev = arg;
    event_active(&bev->ev_read, EV_READ, 1);
}

struct bufferevent *m2m_conn_new(struct event_base *base, void *arg)
{
    struct worker *w = arg;
    SSL *ssl = SSL_new(w->ctx);
    conn *c = ssl ? (conn *)m2m_tls_conn_new(ssl, &w->tls, sizeof *c, conn_unlink) : NULL;
    struct bufferevent *bev = NULL;

    if (c == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    c->w = w;
    c->gen0 = w->enrol_gen;
    __atomic_add_fetch(&w->reg->metrics.open_connections, 1, __ATOMIC_RELAXED);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    /* evhttp assigns the socket later; the SSL (and with it c) is freed with the bufferevent. */
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* A TLS alert is a normal end for an attacker's connection: do not let it look like a clean EOF. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    c->bev = bev;
    c->tls.on_established = conn_established;
    c->tls.wake = conn_wake;
    c->tls.wake_arg = bev;
    m2m_limits_admit_later(c);
    return bev;
}

void m2m_conn_close(conn *c, const char *why)
{
    evutil_socket_t fd;
    if (c->closing)
        return;
    c->closing = 1;
    m2m_limits_release(c);
    if (why != NULL)
        m2m_log(c->w->reg, "close registree=%s peer=%s reason=%s",
                c->tls.peer.registree_id[0] ? c->tls.peer.registree_id : "-", c->tls.addr, why);
    /* Shutting the socket down makes evhttp see EOF and free the connection on its own terms, whatever state
     * it is in; freeing it from here could pull it from under a pending callback. */
    fd = c->bev ? bufferevent_getfd(c->bev) : -1;
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

typedef struct grace_job {
    m2m_store_job job; /* first */
    struct worker *w;
    int64_t older_than;
    int promoted;
} grace_job;

static int grace_run(m2m_store *st, m2m_store_job *job, m2m_err *err)
{
    grace_job *g = (grace_job *)job;
    return m2m_store_expire_pending(st, g->older_than, &g->promoted, err);
}

static void grace_done(m2m_store_job *job, int rc, const m2m_err *err)
{
    grace_job *g = (grace_job *)job;
    if (rc != 0)
        m2m_log(g->w->reg, "generated keys: %s", err->msg);
    else if (g->promoted > 0)
        m2m_log(g->w->reg, "generated keys: %d grace period(s) over, previous keys retired", g->promoted);
    free(g);
}

int m2m_still_enrolled(m2m_store *st, int64_t since, int64_t upto, const m2m_tls_conn *tc)
{
    m2m_err err;
    if (!tc->established || tc->peer.registree_id[0] == '\0' ||
        !m2m_store_enrol_changed(st, since, upto, tc->peer.registree_id))
        return 1;
    return m2m_store_enrolment_active(st, tc->peer.registree_id, m2m_peer_enrol_id(&tc->peer), &err);
}

/* Live enrolment: closes the open connections whose enrolment was revoked or replaced since the worker last
 * looked. Runs at once when the store's notifier reports a change (PostgreSQL: made on any node, or by `enrol`
 * anywhere), and from the once-a-second tick in any case. Only the connections of the Registrees that changed are
 * read again when the store can tell which (PostgreSQL's notifications name them; SQLite records them with each
 * bump). A store that cannot answer leaves the generation where it was, so the next tick tries again. */
void m2m_worker_recheck(struct worker *w)
{
    int64_t since = w->enrol_gen, gen;
    int failed = 0;
    m2m_err err;

    if (m2m_store_enrol_generation(w->st, &gen, &err) != 0 || gen == since)
        return;
    m2m_psk_cache_check(&w->tls);
    for (conn *c = w->conns; c != NULL; c = c->next) {
        int active = c->closing ? 1 : m2m_still_enrolled(w->st, since, gen, &c->tls);
        if (active == 0)
            m2m_conn_close(c, "enrolment revoked or replaced");
        failed |= active < 0;
    }
    /* a CoAPS worker's DTLS sessions (registrar/coap_server.c): the same rule */
    if (w->coap != NULL && m2m_coap_recheck(w->coap, since, gen) != 0)
        failed = 1;
    if (!failed)
        w->enrol_gen = gen;
}

/* The store's side of the tick: fresh ticket keys, the housekeeping writes (ticket-key rotation, generated keys'
 * grace periods, expired resources: handed to the store's writer), and the live enrolment check. */
static void housekeeping(struct worker *w)
{
    m2m_err err;
    /* Ticket keys: every worker keeps a fresh copy; worker 0 also rotates them (any node on the store may; the
     * store's locking makes one of them do it). */
    m2m_tls_env_read_keys(&w->tls);
    if (w->index == 0)
        m2m_tls_env_rotate_keys(&w->tls);
    if (w->index == 0 && w->ticks % 60 == 1) {
        grace_job *g = calloc(1, sizeof *g);
        if (g != NULL) {
            g->job.run = grace_run;
            g->job.done = grace_done;
            g->w = w;
            g->older_than = m2m_clock_now() - w->reg->cfg.rekey_grace;
            m2m_store_submit(w->reg->writer, w->st, w->done, &g->job);
        }
    }
    if (w->index == 0) {
        /* registrations (and any resource) past their expirationTime go, with everything under them (each
         * removal is logged when it is committed) */
        int found = 0;
        if (m2m_cse_expire(&w->cse, 32, &found, &err) != 0)
            m2m_log(w->reg, "expiry: %s", err.msg);
    }
    /* Has any enrolment changed (here, in another process, on another node)? One indexed read a second on SQLite;
     * from memory with PostgreSQL's notifier, which also runs this at once on every change. */
    m2m_worker_recheck(w);
}

/* Once a second: the budget for unauthenticated connections, the store's housekeeping, and the live enrolment
 * check. */
void m2m_worker_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    int64_t now = m2m_clock_now();
    (void)fd, (void)what;

    w->ticks++;
    /* A database that went away (a shared store): the next step of reconnecting, never a wait. While it is away
     * the housekeeping below would only fail, once a second: say so once, and once when it is back. */
    m2m_store_poll(w->st);
    if (!m2m_store_available(w->st)) {
        if (!w->store_down)
            m2m_log(w->reg, "store: worker %d cannot reach the store; new attachments fail and requests are answered "
                    "5000 until it is back", w->index);
        w->store_down = 1;
    } else {
        if (w->store_down)
            m2m_log(w->reg, "store: worker %d reaches the store again", w->index);
        w->store_down = 0;
        housekeeping(w);
    }
    /* The PSK cache (psk.c) checks the generation on every hit; this is its once-a-second backstop. */
    m2m_psk_cache_check(&w->tls);
    if (w->tls.gba != NULL)
        m2m_gba_naf_expire(w->tls.gba, now);
    m2m_limits_tick(w);
    for (conn *c = w->conns; c != NULL; c = c->next) {
        m2m_tls_conn_fill_addr(&c->tls);
        if (c->closing)
            continue;
        if (c->tls.peer.registree_id[0] == '\0' || !c->tls.established) {
            /* Unauthenticated: a handshake, or a server-authenticated context waiting for its token, gets the
             * small pre-authentication budget. */
            if (m2m_ms_since(&c->tls.t0) > 1000.0 * w->reg->cfg.handshake_timeout)
                m2m_conn_close(c, c->tls.established ? "no identity token presented in time" : "handshake timeout");
            continue;
        }
        if (c->tls.peer.not_after != 0 && now >= c->tls.peer.not_after)
            m2m_conn_close(c, "the key's lifetime (GBA bootstrapping) is over");
    }
    /* the CoAPS worker's DTLS sessions: the same checks (their enrolments in m2m_worker_recheck), and libcoap's
     * housekeeping */
    if (w->coap != NULL)
        m2m_coap_tick(w->coap);
}
