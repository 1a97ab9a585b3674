/* SPDX-License-Identifier: Apache-2.0 */
/* The thin adapter between libcoap and the protocol code, the CoAP twin of http_adapter.c: options and payload out
 * of the CoAP request, through the TS-0008 mapping (binding/coap_map.c), through the CSE with the session's bound
 * identity, and back into the CoAP response.
 *
 * The CSE answers at once or once the request's write is durable (group commit, store/writer.c). An answer at once
 * goes into the response libcoap is building. A later one waits with libcoap's coap_async: the request is kept by
 * libcoap, the CSE's answer is rendered when it comes and triggers it, and libcoap calls the handler again with the
 * kept request, which sends the rendered answer -- piggybacked on the request's ACK when the device has not
 * retransmitted the request meanwhile, else as a separate response (RFC 7252 5.2; later() says when). A
 * retransmission of a kept request gets an empty ACK from libcoap; a duplicate of an answered write gets its answer
 * again (coap_replay.c). */
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "onem2m/status.h"
#include "registrar/coap.h"
#include "registrar/limits.h"

#define MAX_OPTIONS 64 /* options per request: far more than any oneM2M request needs */

/* A request whose answer is not given yet. */
struct coap_pending {
    struct m2m_coap *srv;
    coap_conn *c;                  /* NULL once the session's SSL is gone */
    coap_async_t *async;           /* libcoap keeps the request until the answer; NULL while answering at once */
    int in_handler, answered;
    m2m_coap_out out;              /* the answer, rendered */
    int format;                    /* Content-Format the answer is rendered in */
    int close_after;               /* the security context closes after this answer (a refused token) */
    m2m_coap_block1 b1;            /* the request's last Block1, echoed in the answer (RFC 7959 2.3) */
    int con;                       /* a Confirmable request: its Message ID and the session's records at the time */
    coap_mid_t mid;
    unsigned records;
    char method[8], to[200], from[160];
    int has_from, kgn;
    coap_pending *next;            /* c->pending */
    coap_pending *all_prev, *all_next; /* srv->all */
};

static void pending_free(coap_pending *p)
{
    if (p == NULL)
        return;
    if (p->c != NULL) {
        for (coap_pending **pp = &p->c->pending; *pp != NULL; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        p->c->npending--;
    }
    if (p->all_prev)
        p->all_prev->all_next = p->all_next;
    else if (p->srv->all == p)
        p->srv->all = p->all_next;
    if (p->all_next)
        p->all_next->all_prev = p->all_prev;
    m2m_coap_out_clear(&p->out);
    free(p);
}

static coap_pending *pending_new(struct m2m_coap *srv, coap_conn *c)
{
    coap_pending *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->srv = srv;
    p->c = c;
    p->next = c->pending;
    c->pending = p;
    c->npending++;
    p->all_next = srv->all;
    if (srv->all)
        srv->all->all_prev = p;
    srv->all = p;
    return p;
}

void m2m_coap_forget(coap_conn *c)
{
    while (c->pending != NULL) {
        coap_pending *p = c->pending;
        c->pending = p->next;
        p->c = NULL;
        p->next = NULL;
    }
    c->npending = 0;
}

void m2m_coap_pending_free_all(struct m2m_coap *srv)
{
    while (srv->all != NULL) {
        srv->all->c = NULL;
        pending_free(srv->all);
    }
}

/* The rendered answer into libcoap's response PDU: options, then the payload -- block-wise (Block2) when it does
 * not fit one datagram (coap_block2.c). c: the session's state, NULL once its SSL is gone. */
static void put(coap_conn *c, coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp, m2m_coap_out *o,
                const m2m_coap_block1 *b1)
{
    uint8_t buf[4];
    size_t used = 0, n;

    coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(o->code));
    n = coap_encode_var_safe(buf, sizeof buf, o->rsc);
    coap_add_option(resp, M2M_COAP_OPT_RSC, n, buf);
    used += 5 + n;
    if (o->rqi[0] != '\0') {
        coap_add_option(resp, M2M_COAP_OPT_RQI, strlen(o->rqi), (const uint8_t *)o->rqi);
        used += 5 + strlen(o->rqi);
    }
    for (int i = 0; i < o->nloc; i++) {
        coap_add_option(resp, M2M_COAP_OPT_LOCATION_PATH, o->loc_len[i], (const uint8_t *)o->loc[i]);
        used += 5 + o->loc_len[i];
    }
    if (b1->on && o->code < 300) {
        n = coap_encode_var_safe(buf, sizeof buf, (unsigned)b1->num << 4 | (unsigned)b1->szx);
        coap_add_option(resp, COAP_OPTION_BLOCK1, n, buf);
        used += 5 + n;
    }
    if (o->payload_len > 0 &&
        m2m_coap_block2_put(c, s, coap_session_max_pdu_size(s), req, resp, o, used) != 0)
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(500));
}

/* Renders an error the binding decides itself (before the CSE sees the request). */
static void refuse_now(coap_pending *p, int rsc, const char *why)
{
    m2m_prim_rsp rsp;
    memset(&rsp, 0, sizeof rsp);
    m2m_prim_error(&rsp, rsc, "%s", why);
    if (m2m_coap_render_response(&rsp, p->format, &p->out) != 0)
        p->out.code = 500;
    p->answered = 1;
}

/* The CSE's answer: now (inside m2m_cse_handle) or once the request's write is durable. */
static void answer(void *arg, m2m_prim_rsp *rsp, const m2m_peer *bind)
{
    coap_pending *p = arg;
    coap_conn *c = p->c;
    struct m2m_registrar *reg = p->srv->w->reg;
    const int in_handler = p->in_handler; /* who frees p, decided on entry (and visibly so to clang's analyzer) */

    if (c != NULL && bind != NULL) {
        /* x.y.7 Step 5 is committed: the context gets its binding through the one decision */
        m2m_secctx sec;
        m2m_tls_conn_secctx(&c->tls, &sec);
        if (sec.bind_token(sec.arg, bind) != 0) {
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "the security context could not be bound");
            rsp->close_connection = 1;
        } else {
            __atomic_add_fetch(&reg->metrics.coap.tls.full[M2M_MECH_TOKEN], 1, __ATOMIC_RELAXED);
            m2m_coap_bound(c);
            m2m_log(reg, "attach mechanism=%s registree=%s key_id=%.16s... peer=%s result=ok handshake=%s "
                    "version=%s cipher=%s ms=%.2f binding=coap", c->tls.peer.mechanism, c->tls.peer.registree_id,
                    c->tls.peer.key_id, c->tls.addr, c->tls.reused ? "resumed" : "full",
                    SSL_get_version(c->tls.ssl), SSL_get_cipher_name(c->tls.ssl), m2m_ms_since(&c->tls.t0));
        }
    }
    if (c != NULL && p->kgn && rsp->rsc == M2M_RSC_CREATED) {
        __atomic_add_fetch(&reg->metrics.keys_generated, 1, __ATOMIC_RELAXED);
        m2m_log(reg, "keygen registree=%s peer=%s result=ok pending_key_id=%s (previous key valid until the new "
                     "one is used) binding=coap", c->tls.peer.registree_id, c->tls.addr,
                cJSON_GetObjectItem(cJSON_GetObjectItem(rsp->pc, "m2m:kgn"), "kid")->valuestring);
    }
    if (rsp->rsc >= 4000) {
        /* every refusal, as on HTTPS; To, From and the reason are the peer's words: quoted */
        char to[200], from[160], why[300];
        m2m_log(reg, "refused registree=%s peer=%s op=%s to=%s from=%s rsc=%d reason=%s binding=coap",
                c && c->tls.peer.registree_id[0] ? c->tls.peer.registree_id : "-", c ? c->tls.addr : "-", p->method,
                m2m_log_quote(p->to, to, sizeof to), p->has_from ? m2m_log_quote(p->from, from, sizeof from) : "-",
                rsp->rsc, m2m_log_quote(rsp->dbg, why, sizeof why));
    }
    p->close_after = rsp->close_connection;
    if (m2m_coap_render_response(rsp, p->format, &p->out) != 0)
        p->out.code = 500;
    p->answered = 1;
    if (in_handler)
        return; /* the handler puts it into its response */
    if (p->async != NULL)
        coap_async_trigger(p->async); /* libcoap calls the handler again with the kept request */
    else
        pending_free(p);              /* nobody to answer: the request could not be kept */
}

void m2m_coap_body_drop(coap_body *b)
{
    if (b->buf != NULL)
        m2m_wipe(b->buf, b->cap); /* a request body may carry a credential (an identity token) */
    free(b->buf);
    memset(b, 0, sizeof *b);
}

/* A Block1 block (RFC 7959 2.5) joined into c->body. 1: the body is complete (*body, *len; no Block1: this PDU's
 * payload); 0: more blocks to come, or a refusal, in resp. */
static int collect(coap_conn *c, coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp, coap_pending *p,
                   const uint8_t **body, size_t *len)
{
    size_t limit = c->tls.peer.registree_id[0] != '\0' ? M2M_BOUND_MAX_BODY : M2M_PREAUTH_MAX_BODY;
    coap_block_b_t b;
    size_t n = 0, off;
    const uint8_t *data = NULL;
    uint8_t buf[4];

    if (!coap_get_data(req, &n, &data))
        n = 0, data = NULL;
    if (!coap_get_block_b(s, req, COAP_OPTION_BLOCK1, &b)) {
        if (n > limit) {
            coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(413));
            coap_add_option(resp, COAP_OPTION_SIZE1, coap_encode_var_safe(buf, sizeof buf, (unsigned)limit), buf);
            return 0;
        }
        *body = data;
        *len = n;
        return 1;
    }
    off = (size_t)b.num << (b.szx + 4);
    if (b.num == 0)
        c->body.len = 0; /* a new body: the buffer of a transfer left unfinished is reused */
    if (off + n > limit) {
        /* 4.13 with the size this context may send (RFC 7959 2.9.3) */
        m2m_coap_body_drop(&c->body);
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(413));
        coap_add_option(resp, COAP_OPTION_SIZE1, coap_encode_var_safe(buf, sizeof buf, (unsigned)limit), buf);
        return 0;
    }
    if (off != c->body.len && off + n > c->body.len) {
        /* a block out of order: start again (4.08 Request Entity Incomplete) */
        m2m_coap_body_drop(&c->body);
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(408));
        return 0;
    }
    if (off == c->body.len) {
        if (c->body.cap < off + n) {
            size_t cap = c->body.cap ? c->body.cap : 1024;
            unsigned char *nb;
            while (cap < off + n)
                cap *= 2;
            if ((nb = realloc(c->body.buf, cap)) == NULL) {
                coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(500));
                return 0;
            }
            c->body.buf = nb;
            c->body.cap = cap;
        }
        if (n > 0)
            memcpy(c->body.buf + off, data, n);
        c->body.len = off + n;
    } /* else a retransmitted block we have: acknowledged again */
    if (b.m) {
        /* libcoap has put Block1 into resp and turns this 2.04 into 2.31 Continue */
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(204));
        return 0;
    }
    p->b1.on = 1;
    p->b1.num = (int)b.num;
    p->b1.szx = (int)b.szx;
    *body = c->body.buf;
    *len = c->body.len;
    return 1;
}

/* The request's options for the mapping. -1 when there are too many. */
static int options(const coap_pdu_t *req, m2m_coap_opt *opts, size_t *n)
{
    coap_opt_iterator_t it;
    coap_opt_t *o;
    *n = 0;
    coap_option_iterator_init(req, &it, COAP_OPT_ALL);
    while ((o = coap_option_next(&it)) != NULL) {
        if (*n >= MAX_OPTIONS)
            return -1;
        opts[*n].num = it.number;
        opts[*n].val = coap_opt_value(o);
        opts[*n].len = coap_opt_length(o);
        ++*n;
    }
    return 0;
}

/* The answer to a kept request, now durable. libcoap builds it as a separate response (a Confirmable message of its
 * own, retransmitted until acknowledged). It goes piggybacked on the ACK of the request instead (RFC 7252 5.2.1:
 * two datagrams fewer for the device) when nothing came in on the session since the request -- so libcoap has
 * sent no empty ACK for a retransmission of it (it does, for a kept request) -- and its answer is kept for a
 * duplicate of the request (the ACK is not retransmitted: a device that lost it retransmits the request). */
static void later(coap_pending *p, const coap_pdu_t *req, coap_pdu_t *resp)
{
    coap_conn *c = p->c;
    struct m2m_registrar *reg = p->srv->w->reg;
    int piggyback = 0;

    if (c == NULL)
        return; /* the session's DTLS state is gone: no answer reaches the device, none is counted */
    if (p->con) {
        int kept = m2m_coap_replay_keep(c, p->mid, coap_pdu_get_token(req), &p->out, &p->b1) == 0;
        piggyback = kept && c->records_in == p->records;
    }
    if (piggyback) {
        coap_pdu_set_type(resp, COAP_MESSAGE_ACK);
        coap_pdu_set_mid(resp, p->mid);
    }
    __atomic_add_fetch(&reg->metrics.coap.write_answers[piggyback ? 0 : 1], 1, __ATOMIC_RELAXED);
}

/* A duplicate, answered without the CSE, counts against the Registree's request rate like any request
 * (--max-request-rate). 1 when this one is beyond it: dropped unanswered (a device retransmits a few times, a
 * flood is not answered). */
static int over_rate(coap_conn *c, coap_pdu_t *resp)
{
    m2m_quota *quota = c->srv->w->cse.quota;
    if (quota == NULL || quota->rate == NULL || m2m_rate_take(quota->rate, c->tls.peer.registree_id))
        return 0;
    __atomic_add_fetch(&quota->refused, 1, __ATOMIC_RELAXED);
    coap_pdu_set_type(resp, COAP_MESSAGE_NON); /* an empty NON: libcoap sends nothing */
    return 1;
}

/* A duplicate of the request whose answer the session keeps (coap_replay.c) gets that answer again, piggybacked
 * on its ACK, and is not processed a second time. 1 when req was one. */
static int duplicate(coap_conn *c, coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp)
{
    m2m_coap_out o;
    m2m_coap_block1 b1;
    int found = m2m_coap_replay_find(c, req, &o, &b1);
    const m2m_coap_out *kept;

    if (found == 0)
        return 0;
    __atomic_add_fetch(&c->srv->w->reg->metrics.coap.duplicates, 1, __ATOMIC_RELAXED);
    if (over_rate(c, resp))
        goto done;
    /* a block-wise answer: its first block again, from the answer kept for the next blocks; when that one is gone
     * (pushed out, or never kept for the worker's budget), 5.03 -- not the write run again */
    kept = found == 2 ? m2m_coap_block2_of(c, req) : found == 1 ? &o : NULL;
    if (kept != NULL)
        put(c, s, req, resp, (m2m_coap_out *)kept, &b1);
    else
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(503));
done:
    m2m_coap_out_clear(&o);
    return 1;
}

/* A request for a later block of an answer sent block-wise: from the answer the session kept, or, for a write's
 * answer no longer kept, 4.08 (Request Entity Incomplete: the device starts over) rather than the write run again.
 * 1 when req was one of those; a read whose answer is not kept is made again (0), through the CSE and its rate.
 * A block of a kept answer is not a request of its own for --max-request-rate: the request it continues was
 * counted, and a 1 MiB answer in 1 KiB blocks would otherwise take ten seconds at the default rate. */
static int later_block(coap_conn *c, coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp)
{
    static const m2m_coap_block1 no_block1;
    int refuse;
    const m2m_coap_out *kept = m2m_coap_block2_follow(c, s, req, &refuse);

    if (kept == NULL && !refuse)
        return 0;
    if (refuse)
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(408));
    else
        put(c, s, req, resp, (m2m_coap_out *)kept, &no_block1);
    return 1;
}

void m2m_coap_handle(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req, const coap_string_t *query,
                     coap_pdu_t *resp)
{
    struct m2m_coap *srv = coap_resource_get_userdata(r);
    coap_async_t *async = coap_find_async(s, coap_pdu_get_token(req));
    coap_tls_library_t lib;
    coap_conn *c = (coap_conn *)m2m_tls_conn_of(coap_session_get_tls(s, &lib));
    coap_pending *p;
    m2m_coap_opt opts[MAX_OPTIONS];
    m2m_coap_in in;
    m2m_prim_req preq;
    m2m_prim_rsp rsp;
    m2m_secctx sec;
    const uint8_t *body = NULL;
    size_t body_len = 0, nopts = 0;

    (void)query; /* read from the options (coap_map.c) */
    memset(&preq, 0, sizeof preq);
    memset(&rsp, 0, sizeof rsp);
    if (async != NULL) {
        /* the delayed answer of a request this handler kept: libcoap frees the async after this call */
        p = coap_async_get_app_data(async);
        coap_async_set_app_data(async, NULL);
        if (p == NULL) {
            coap_pdu_set_type(resp, COAP_MESSAGE_NON); /* nothing to say: dropped, not sent as an empty CON */
            return;
        }
        later(p, req, resp);
        put(p->c, s, req, resp, &p->out, &p->b1);
        if (p->close_after && p->c != NULL)
            p->c->close_now = p->c->srv->close_marked = 1;
        pending_free(p);
        return;
    }
    if (c == NULL || srv == NULL || !c->tls.established || c->closing || lib != COAP_TLS_LIBRARY_OPENSSL) {
        /* CoAP arrives only after the handshake; kept as the fail-closed default */
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(403));
        return;
    }
    m2m_clock_mark(&c->last);
    if (duplicate(c, s, req, resp) || later_block(c, s, req, resp))
        return;
    __atomic_add_fetch(&srv->w->reg->metrics.coap.requests, 1, __ATOMIC_RELAXED);
    if (c->npending >= M2M_COAP_MAX_PENDING || (p = pending_new(srv, c)) == NULL) {
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(503));
        return;
    }
    if (!collect(c, s, req, resp, p, &body, &body_len)) {
        pending_free(p); /* resp says why, or asks for the next block */
        return;
    }
    memset(&in, 0, sizeof in);
    in.method = coap_pdu_get_code(req);
    in.payload = body;
    in.payload_len = body_len;
    snprintf(p->method, sizeof p->method, "%s", in.method == M2M_COAP_GET ? "GET" : in.method == M2M_COAP_POST
                                                  ? "POST" : in.method == M2M_COAP_PUT ? "PUT"
                                                  : in.method == M2M_COAP_DELETE ? "DELETE" : "OTHER");
    if (options(req, opts, &nopts) != 0) {
        refuse_now(p, M2M_RSC_BAD_REQUEST, "too many options");
    } else {
        in.opts = opts;
        in.nopts = nopts;
        if (m2m_coap_parse_request(&in, &preq, &p->format, &rsp) != 0) {
            snprintf(p->to, sizeof p->to, "%.199s", preq.to);
            p->in_handler = 1; /* set right before each call that may answer: answer() then leaves p to us */
            answer(p, &rsp, NULL);
        } else {
            snprintf(p->to, sizeof p->to, "%.199s", preq.to);
            snprintf(p->from, sizeof p->from, "%.159s", preq.fr);
            p->has_from = preq.has_fr;
            p->kgn = preq.ty == M2M_TY_KGN;
            m2m_tls_conn_secctx(&c->tls, &sec);
            /* answers through answer(): at once, or when its write is durable */
            p->in_handler = 1;
            m2m_cse_handle(&srv->w->cse, &c->tls.peer, &sec, &preq, answer, p);
        }
    }
    p->in_handler = 0;
    m2m_coap_body_drop(&c->body); /* parsed into preq; nothing refers to it any more */
    if (p->answered) {
        put(c, s, req, resp, &p->out, &p->b1);
        if (p->close_after)
            c->close_now = c->srv->close_marked = 1;
        pending_free(p);
    } else if ((p->async = coap_register_async(s, req, 0)) != NULL) {
        coap_async_set_app_data(p->async, p);
        if (coap_pdu_get_type(req) == COAP_MESSAGE_CON) {
            /* no empty ACK now: the answer goes on the ACK if it comes before a retransmission (later()); an empty
             * response of type NON is dropped by libcoap */
            p->con = 1;
            p->mid = coap_pdu_get_mid(req);
            p->records = c->records_in;
            coap_pdu_set_type(resp, COAP_MESSAGE_NON);
        }
    } else {
        /* libcoap cannot keep the request: answer() will find no async and free p */
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(500));
    }
    m2m_prim_req_clear(&preq);
    m2m_prim_rsp_clear(&rsp);
}
