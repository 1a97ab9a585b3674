/* SPDX-License-Identifier: Apache-2.0 */
/* The thin adapter between libevent's evhttp and the protocol code: headers and body out of the evhttp request,
 * into the HTTP binding, through the CSE with the connection's bound identity, and back. */
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/keyvalq_struct.h>
#include <string.h>

#include "binding/http_server.h"
#include "onem2m/status.h"
#include "registrar/limits.h"
#include "registrar/server.h"

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

/* Sends the response as one TLS record, written at once. Left to itself, evhttp queues the headers and then the
 * body as separate buffer chains (bufferevent_openssl makes one SSL_write, so one record, MAC and write(2), per
 * chain) and the bufferevent writes only once the loop has asked epoll whether the socket is writable (two
 * epoll_ctl and an epoll_wait more per response). evhttp_send_reply only queues: the output is linearised, and the
 * bufferevent's write event (struct bufferevent is public in event2/bufferevent_struct.h) is made active, so the
 * write runs in this loop iteration; a socket that is not writable just leaves the event pending as before. */
static void reply(struct evhttp_request *req, const m2m_prim_rsp *rsp, m2m_http_format format, int close_after)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    /* Date, formatted once a second per worker (evhttp would format it for every response). */
    static _Thread_local time_t date_at;
    static _Thread_local char date[40];
    time_t now = time(NULL);
    m2m_http_out h;

    if (m2m_http_render_response(rsp, format, &h) != 0) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    if (now != date_at) {
        static const char DAY[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char MON[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        struct tm tm;
        date_at = now;
        if (gmtime_r(&now, &tm) == NULL)
            date[0] = '\0', date_at = 0;
        else /* RFC 7231 IMF-fixdate, independent of the locale */
            snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d GMT", DAY[tm.tm_wday % 7], tm.tm_mday,
                     MON[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    if (date[0] != '\0')
        evhttp_add_header(out, "Date", date);
    evhttp_add_header(out, "X-M2M-RSC", h.rsc);
    if (rsp->rqi[0] != '\0')
        evhttp_add_header(out, "X-M2M-RI", rsp->rqi);
    if (rsp->location[0] != '\0')
        evhttp_add_header(out, "Content-Location", rsp->location);
    evhttp_add_header(out, "Content-Type", h.content_type);
    if (close_after)
        evhttp_add_header(out, "Connection", "close");
    evbuffer_add(evhttp_request_get_output_buffer(req), h.body, h.body_len);
    evhttp_send_reply(req, h.status, m2m_http_reason(h.status), NULL);
    if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        evbuffer_pullup(bufferevent_get_output(bev), -1);
        event_active(&bev->ev_write, EV_WRITE, 1);
    }
    m2m_http_out_clear(&h);
}

/* A request whose answer waits for its write (store/writer.c). It lives until the CSE answers; if the connection
 * goes first, conn is set to NULL (m2m_http_forget) and the answer goes nowhere. */
struct m2m_http_pending {
    struct worker *w;
    conn *c;
    struct evhttp_request *req;
    char method[8];
    char to[200];
    char from[160];
    int has_from;
    int kgn;
    m2m_http_format format; /* the answer's body */
};

void m2m_http_forget(conn *c)
{
    if (c->pending != NULL) {
        c->pending->c = NULL;
        c->pending->req = NULL; /* evhttp frees it with the connection */
        c->pending = NULL;
    }
}

/* The CSE's answer: now, or once the request's write is durable. */
static void answer(void *arg, m2m_prim_rsp *rsp, const m2m_peer *bind)
{
    struct m2m_http_pending *p = arg;
    struct worker *w = p->w;
    conn *c = p->c;
    struct evhttp_request *req = p->req;
    m2m_http_format format;

    if (c == NULL) {
        /* the connection went away first: the write stands (it was committed), the answer has nowhere to go */
        free(p);
        return;
    }
    c->pending = NULL;
    if (bind != NULL) {
        /* x.y.7 Step 5 is committed: the context gets its binding through the one decision */
        m2m_secctx sec;
        m2m_tls_conn_secctx(&c->tls, &sec);
        if (sec.bind_token(sec.arg, bind) != 0) {
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "the security context could not be bound");
            rsp->close_connection = 1;
        } else {
            /* The tickets of the handshake carried no binding; TLS 1.3 can send one that does. */
            if (c->tls.ssl != NULL && SSL_version(c->tls.ssl) == TLS1_3_VERSION)
                SSL_new_session_ticket(c->tls.ssl);
            __atomic_add_fetch(&w->reg->metrics.tls.full[M2M_MECH_TOKEN], 1, __ATOMIC_RELAXED);
            m2m_limits_bound(c);
            m2m_log(w->reg, "attach mechanism=%s registree=%s key_id=%.16s... peer=%s result=ok handshake=%s "
                    "version=%s cipher=%s ms=%.2f", c->tls.peer.mechanism, c->tls.peer.registree_id,
                    c->tls.peer.key_id, c->tls.addr, c->tls.reused ? "resumed" : "full",
                    SSL_get_version(c->tls.ssl), SSL_get_cipher_name(c->tls.ssl), m2m_ms_since(&c->tls.t0));
        }
    }
    if (p->kgn && rsp->rsc == M2M_RSC_CREATED) {
        __atomic_add_fetch(&w->reg->metrics.keys_generated, 1, __ATOMIC_RELAXED);
        m2m_log(w->reg, "keygen registree=%s peer=%s result=ok pending_key_id=%s (previous key valid until the new "
                        "one is used)", c->tls.peer.registree_id, c->tls.addr,
                cJSON_GetObjectItem(cJSON_GetObjectItem(rsp->pc, "m2m:kgn"), "kid")->valuestring);
    }
    if (rsp->rsc >= 4000) {
        /* every refusal, so an operator sees why a device or a CSE cannot register or work; To, From and the
         * reason (which may quote them) are the peer's words: quoted */
        char to[200], from[160], why[300];
        m2m_log(w->reg, "refused registree=%s peer=%s op=%s to=%s from=%s rsc=%d reason=%s",
                c->tls.peer.registree_id[0] ? c->tls.peer.registree_id : "-", c->tls.addr, p->method,
                m2m_log_quote(p->to, to, sizeof to), p->has_from ? m2m_log_quote(p->from, from, sizeof from) : "-",
                rsp->rsc, m2m_log_quote(rsp->dbg, why, sizeof why));
    }
    format = p->format;
    free(p);
    /* last: a failed write may free the connection (and c) under us */
    reply(req, rsp, format, rsp->close_connection);
}

void m2m_http_handle(struct evhttp_request *req, void *arg)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    m2m_http_serve(arg, bev ? m2m_conn_of(bufferevent_openssl_get_ssl(bev)) : NULL, req);
}

void m2m_http_serve(struct worker *w, conn *c, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t body_len = evbuffer_get_length(body);
    struct m2m_http_pending *p = NULL;
    m2m_http_in hin;
    m2m_prim_req preq;
    m2m_prim_rsp rsp;
    m2m_secctx sec;

    memset(&rsp, 0, sizeof rsp);
    memset(&preq, 0, sizeof preq);
    if (c == NULL || !c->tls.established || c->closing || c->pending != NULL ||
        (p = calloc(1, sizeof *p)) == NULL) {
        /* evhttp reads requests only after the handshake, and one at a time; kept as the fail-closed default. */
        m2m_prim_error(&rsp, M2M_RSC_SECURITY_ASSOCIATION_REQUIRED, "connection is not authenticated");
        reply(req, &rsp, M2M_HTTP_JSON, 1);
        goto done;
    }
    if (c->tls.ssl == NULL && c->tls.peer.registree_id[0] == '\0') {
        /* same equipment, and this uid is not a --local-ae: nothing it sends is read */
        free(p);
        m2m_prim_error(&rsp, M2M_RSC_SECURITY_ASSOCIATION_REQUIRED, "this local user is not a same-equipment AE");
        reply(req, &rsp, M2M_HTTP_JSON, 1);
        goto done;
    }
    memset(&hin, 0, sizeof hin);
    hin.method = method_name(evhttp_request_get_command(req));
    hin.uri = evhttp_request_get_uri(req);
    hin.content_type = evhttp_find_header(in, "Content-Type");
    hin.accept = evhttp_find_header(in, "Accept");
    hin.origin = evhttp_find_header(in, "X-M2M-Origin");
    hin.ri = evhttp_find_header(in, "X-M2M-RI");
    hin.rvi = evhttp_find_header(in, "X-M2M-RVI");
    hin.authorization = evhttp_find_header(in, "Authorization");
    hin.body = body_len ? (const char *)evbuffer_pullup(body, -1) : NULL;
    hin.body_len = body_len;
    p->w = w;
    p->c = c;
    p->req = req;
    snprintf(p->method, sizeof p->method, "%s", hin.method);
    __atomic_add_fetch(&w->reg->metrics.requests, 1, __ATOMIC_RELAXED);
    if (m2m_http_parse_request(&hin, &preq, &p->format, &rsp) != 0) {
        snprintf(p->to, sizeof p->to, "%.199s", hin.uri ? hin.uri : "");
        c->pending = p;
        answer(p, &rsp, NULL);
        goto done;
    }
    snprintf(p->to, sizeof p->to, "%.199s", preq.to);
    snprintf(p->from, sizeof p->from, "%.159s", preq.fr);
    p->has_from = preq.has_fr;
    p->kgn = preq.ty == M2M_TY_KGN;
    c->pending = p;
    m2m_tls_conn_secctx(&c->tls, &sec);
    /* answers through answer(): at once, or when its write is durable; a same-equipment AE has no security
     * context (no key to export, no token to bind) */
    m2m_cse_handle(&w->cse, &c->tls.peer, c->tls.ssl != NULL ? &sec : NULL, &preq, answer, p);
done:
    m2m_prim_req_clear(&preq);
    m2m_prim_rsp_clear(&rsp);
}
