/* Connection lifecycle on a worker: creation for evhttp, the pre-authentication budget, and closing the
 * connections of Registrees whose enrolment was revoked or replaced while they were attached. */
#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "registrar/server.h"

struct bufferevent *m2m_conn_new(struct event_base *base, void *arg)
{
    struct worker *w = arg;
    conn *c = OPENSSL_zalloc(sizeof *c);
    SSL *ssl = NULL;
    struct bufferevent *bev = NULL;

    if (c == NULL)
        return NULL;
    ssl = SSL_new(w->reg->ctx);
    if (ssl == NULL || SSL_set_ex_data(ssl, m2m_conn_ex_index(), c) != 1) {
        SSL_free(ssl);
        OPENSSL_free(c);
        return NULL;
    }
    c->w = w;
    c->ssl = ssl;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    snprintf(c->addr, sizeof c->addr, "?");
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
    return bev;
}

void m2m_conn_close(conn *c, const char *why)
{
    evutil_socket_t fd;
    if (c->closing)
        return;
    c->closing = 1;
    if (why != NULL)
        m2m_log(c->w->reg, "close registree=%s peer=%s reason=%s",
                c->peer.registree_id[0] ? c->peer.registree_id : "-", c->addr, why);
    /* Shutting the socket down makes evhttp see EOF and free the connection on its own terms, whatever state
     * it is in; freeing it from here could pull it from under a pending callback. */
    fd = c->bev ? bufferevent_getfd(c->bev) : -1;
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

void m2m_conn_fill_addr(conn *c)
{
    if (c->addr[0] != '?')
        return;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(c->addr, sizeof c->addr, "%s:%u", host, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(c->addr, sizeof c->addr, "[%s]:%u", host, ntohs(in6->sin6_port));
    }
}

/* Once a second: the budget for unauthenticated connections, and the live enrolment check. */
void m2m_worker_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    int64_t v = m2m_store_data_version(w->st), gen = w->enrol_gen;
    int recheck = 0;
    m2m_err err;
    (void)fd, (void)what;

    /* Ticket keys: every worker keeps a fresh copy; worker 0 also rotates them and retires generated-key grace
     * periods (any node on the store may; the store's locking makes one of them do it). */
    w->ticks++;
    m2m_resume_refresh_keys(w, w->index == 0);
    if (w->index == 0 && w->ticks % 60 == 1) {
        int promoted = 0;
        if (m2m_store_expire_pending(w->st, (int64_t)time(NULL) - w->reg->cfg.rekey_grace, &promoted, &err) != 0)
            m2m_log(w->reg, "generated keys: %s", err.msg);
        else if (promoted > 0)
            m2m_log(w->reg, "generated keys: %d grace period(s) over, previous keys retired", promoted);
    }

    if (v != w->data_version) {
        w->data_version = v;
        if (m2m_store_enrol_generation(w->st, &gen, &err) == 0 && gen != w->enrol_gen) {
            w->enrol_gen = gen;
            recheck = 1;
        }
    }
    /* The PSK cache (psk.c) looks at the store's log on every hit; this is its once-a-second backstop. */
    m2m_psk_cache_check(w);
    for (conn *c = w->conns; c != NULL; c = c->next) {
        m2m_conn_fill_addr(c);
        if (c->closing)
            continue;
        if (c->peer.registree_id[0] == '\0' || !c->established) {
            /* Unauthenticated: a handshake, or a server-authenticated context waiting for its token, gets the
             * small pre-authentication budget. */
            if (m2m_ms_since(&c->t0) > 1000.0 * w->reg->cfg.handshake_timeout)
                m2m_conn_close(c, c->established ? "no identity token presented in time" : "handshake timeout");
            continue;
        }
        if (recheck && m2m_store_enrolment_active(w->st, c->peer.registree_id, c->peer.key_id, &err) == 0)
            m2m_conn_close(c, "enrolment revoked or replaced");
    }
}
