/* SPDX-License-Identifier: Apache-2.0 */
/* Same-equipment AEs (seed note on Step 5): an AE on the Registrar's own host may register without a security
 * context. The HTTP binding is served on a Unix socket (never TCP), mode 0660, by worker 0. Who is speaking is
 * still decided in one place, secctx/binding.c: for these connections it asks the kernel which uid connected
 * (SO_PEERCRED) and binds the AE-ID --local-ae gives that uid, or nobody (every request then gets 4107).
 *
 * libevent 2.1's evhttp tells nothing about a connection before its first request, so that is where the connection
 * is bound (its socket known) and its close callback set to free it; later requests find their connection by
 * bufferevent among the few local ones. A connection that never completes a request holds nothing of ours. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "registrar/limits.h"
#include "registrar/server.h"
#include "secctx/binding.h"

/* Same-equipment AEs are few; this bounds what local users can make the Registrar hold. */
#define LOCAL_MAX_CONNS 256

static void unlink_conn(m2m_tls_conn *tc)
{
    conn *c = (conn *)tc;
    struct worker *w = c->w;
    m2m_http_forget(c);
    if (c->prev)
        c->prev->next = c->next;
    else if (w->local_conns == c)
        w->local_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nlocal_conns--;
}

static conn *conn_of_bev(struct worker *w, struct bufferevent *bev)
{
    for (conn *c = w->local_conns; c != NULL; c = c->next)
        if (c->bev == bev)
            return c;
    return NULL;
}

static void closed(struct evhttp_connection *evcon, void *arg)
{
    conn *c = arg;
    (void)evcon;
    m2m_tls_conn_free_local(&c->tls);
}

/* The first request of a connection: bind it. NULL when it cannot be served (the request is answered 4107). */
static conn *new_conn(struct worker *w, struct evhttp_connection *evcon, struct bufferevent *bev)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    conn *c;

    if (w->nlocal_conns >= LOCAL_MAX_CONNS) {
        m2m_log(w->reg, "local connection refused: %d same-equipment connections open already", LOCAL_MAX_CONNS);
        return NULL;
    }
    c = fd >= 0 ? (conn *)m2m_tls_conn_new_local(fd, &w->tls, sizeof *c, unlink_conn) : NULL;
    if (c == NULL)
        return NULL;
    c->w = w;
    c->bev = bev;
    c->next = w->local_conns;
    if (w->local_conns)
        w->local_conns->prev = c;
    w->local_conns = c;
    w->nlocal_conns++;
    evhttp_connection_set_closecb(evcon, closed, c);
    /* the one decision, from what the kernel says */
    if (m2m_bind_decide(&c->tls, NULL) == 1) {
        evhttp_connection_set_max_headers_size(evcon, M2M_BOUND_MAX_HEADERS);
        evhttp_connection_set_max_body_size(evcon, M2M_BOUND_MAX_BODY);
        m2m_log(w->reg, "attach mechanism=local registree=%s key_id=%s peer=local result=ok handshake=none "
                        "(same equipment: Unix socket, no security context)",
                c->tls.peer.registree_id, c->tls.peer.key_id);
    } else {
        m2m_log(w->reg, "attach mechanism=local peer=local result=refused reason=%s", c->tls.hs->failure);
    }
    m2m_tls_conn_handshake_over(&c->tls);
    return c;
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    conn *c = bev ? conn_of_bev(w, bev) : NULL;
    if (c == NULL && bev != NULL)
        c = new_conn(w, evcon, bev);
    m2m_http_serve(w, c, req);
}

/* A socket file left by an earlier run is replaced; one another process still serves is not. */
static int make_socket(const char *path, m2m_err *err)
{
    struct sockaddr_un sa;
    struct stat sb;
    mode_t old;
    int fd = -1, probe;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return m2m_fail(err, M2M_E_ARG, "--local-socket %s: path too long", path);
    memcpy(sa.sun_path, path, strlen(path));
    if (lstat(path, &sb) == 0) {
        if (!S_ISSOCK(sb.st_mode))
            return m2m_fail(err, M2M_E_EXISTS, "--local-socket %s: exists and is not a socket", path);
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(probe);
            return m2m_fail(err, M2M_E_EXISTS, "--local-socket %s: another process serves it", path);
        }
        if (probe >= 0)
            close(probe);
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return m2m_fail(err, M2M_E_IO, "--local-socket %s: %s", path, strerror(errno));
    /* created 0660 from the start: no moment in which others could connect */
    old = umask(0117);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        umask(old);
        m2m_fail(err, M2M_E_IO, "--local-socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    umask(old);
    if (chmod(path, 0660) != 0 || listen(fd, 64) != 0) {
        m2m_fail(err, M2M_E_IO, "--local-socket %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

int m2m_local_socket_start(struct worker *w, m2m_err *err)
{
    const m2m_registrar_config *cfg = &w->reg->cfg;
    int fd;

    w->tls.local_aes = cfg->local_aes;
    w->tls.nlocal_aes = cfg->nlocal_aes;
    if (cfg->local_socket[0] == '\0' || w->index != 0)
        return 0;
    if ((fd = make_socket(cfg->local_socket, err)) < 0)
        return -1;
    w->local_http = evhttp_new(w->base);
    if (w->local_http == NULL || evhttp_accept_socket(w->local_http, fd) != 0) {
        close(fd);
        unlink(cfg->local_socket);
        return m2m_fail(err, M2M_E_NOMEM, "--local-socket %s: cannot serve HTTP on it", cfg->local_socket);
    }
    evhttp_set_gencb(w->local_http, handle, w);
    evhttp_set_max_headers_size(w->local_http, M2M_PREAUTH_MAX_HEADERS);
    evhttp_set_max_body_size(w->local_http, M2M_PREAUTH_MAX_BODY);
    evhttp_set_timeout(w->local_http, cfg->idle_timeout);
    evhttp_set_allowed_methods(w->local_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    m2m_log(w->reg, "listening on unix:%s (same-equipment AEs: %d uid(s), mode 0660, no TLS)", cfg->local_socket,
            cfg->nlocal_aes);
    return 0;
}

void m2m_local_socket_stop(struct worker *w)
{
    if (w->local_http == NULL)
        return;
    evhttp_free(w->local_http); /* closes every local connection: each frees its conn */
    w->local_http = NULL;
    unlink(w->reg->cfg.local_socket);
}
