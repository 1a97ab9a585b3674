/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP binding of the transport seam (transport.h): oneM2M over HTTP/1.1 (TS-0009) over TLS over TCP, with
 * keep-alive. The request bytes are built and the response bytes parsed by binding/http_client.c; tls_client.c
 * carries them. The identity token of x.y.7 travels as "Authorization: Bearer <token>" (TS-0009 6.4.19). */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding/http_client.h"
#include "crypto/secret.h"
#include "registree/details.h"
#include "registree/transport.h"
#include "util/hex.h"

typedef struct http_transport {
    m2m_transport base;
    m2m_tls_client *tls;
    m2m_http_parser *parser;
    char authority[300];  /* the Host header, and how messages name the Registrar */
    unsigned exchanges;   /* on this connection: a reused one may have been closed while idle */
    int alive;
} http_transport;

/* Reads one response into the parser. *closed_idle is set when the server had closed the connection before
 * answering at all. */
static int read_response(http_transport *h, int *closed_idle, m2m_err *err)
{
    char buf[16384];
    size_t got, used;
    int pr;

    *closed_idle = 0;
    m2m_http_parser_reset(h->parser);
    for (;;) {
        if (m2m_tls_client_read(h->tls, buf, sizeof buf, &got, err) != 0)
            return -1;
        if (got == 0) {
            if (m2m_http_parser_idle(h->parser)) {
                *closed_idle = 1;
                return m2m_fail(err, M2M_E_IO, "%s: the Registrar closed the connection without answering",
                                h->authority);
            }
            pr = m2m_http_parser_eof(h->parser, err);
            /* A body that runs to the end of the connection must end with close_notify, or it may be cut. */
            if (pr == M2M_HTTP_COMPLETE && !m2m_tls_client_closed_cleanly(h->tls))
                return m2m_fail(err, M2M_E_PROTO, "%s: the response ended without TLS close_notify", h->authority);
        } else {
            pr = m2m_http_parser_feed(h->parser, buf, got, &used, err);
        }
        if (pr < 0) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            return m2m_fail(err, M2M_E_PROTO, "%s: %s", h->authority, why);
        }
        if (pr == M2M_HTTP_COMPLETE)
            return 0;
    }
}

static int http_exchange(m2m_transport *t, const m2m_request *req, const char *token, m2m_reply *reply,
                         m2m_outcome *why, m2m_err *err)
{
    http_transport *h = (http_transport *)t;
    unsigned char rnd[8];
    char rqi[2 * sizeof rnd + 1], bearer[M2M_TOKEN_MAX_LEN + 16];
    m2m_request q = *req;
    char *bytes = NULL;
    size_t len = 0;
    const char *ri, *loc;
    int rc = -1, closed_idle = 0, reused = h->exchanges > 0, sent;

    *why = M2M_OUTCOME_BROKEN;
    bearer[0] = '\0';
    memset(reply, 0, sizeof *reply);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        *why = M2M_OUTCOME_LOCAL;
        m2m_fail(err, M2M_E_TLS, "the random generator failed");
        goto done;
    }
    m2m_hex_encode(rnd, sizeof rnd, rqi);
    if (token != NULL) {
        /* x.y.7 Step 5.a: the identity token, in the HTTP binding's Authorization header (TS-0009 6.4.19) */
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        q.authorization = bearer;
    }
    if (m2m_http_build_request(&q, h->authority, rqi, &bytes, &len, err) != 0) {
        *why = M2M_OUTCOME_LOCAL;
        goto done;
    }
    sent = m2m_tls_client_write(h->tls, bytes, len, err) == 0;
    if (!sent || read_response(h, &closed_idle, err) != 0) {
        /* A request on a connection used before that never reached the Registrar (it had closed the connection
         * while idle) may go again on a new one; anything else may have been acted on. */
        if (reused && (!sent || closed_idle))
            *why = M2M_OUTCOME_CLOSED_IDLE;
        else if (err != NULL && err->code == M2M_E_TIMEOUT)
            *why = M2M_OUTCOME_TIMEOUT;
        goto fail;
    }
    h->exchanges++;
    /* The request ID is how a oneM2M originator matches an answer to its question. */
    ri = m2m_http_parser_header(h->parser, "X-M2M-RI");
    if (ri != NULL && strcmp(ri, rqi) != 0) {
        m2m_fail(err, M2M_E_PROTO, "%s: the response carries request ID %.40s, not %s", h->authority, ri, rqi);
        goto fail;
    }
    loc = m2m_http_parser_header(h->parser, "Content-Location");
    if (loc != NULL && strlen(loc) >= sizeof reply->location) {
        m2m_fail(err, M2M_E_PROTO, "%s: Content-Location is longer than %zu characters", h->authority,
                 sizeof reply->location - 1);
        goto fail;
    }
    reply->http_status = m2m_http_parser_status(h->parser);
    reply->rsc = m2m_http_parser_rsc(h->parser);
    snprintf(reply->location, sizeof reply->location, "%s", loc != NULL ? loc : "");
    reply->body = m2m_http_parser_take_body(h->parser, &reply->body_len);
    if (reply->body == NULL) {
        *why = M2M_OUTCOME_LOCAL;
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto fail;
    }
    if (!m2m_http_parser_keep_alive(h->parser))
        h->alive = 0; /* Connection: close: the next request reconnects */
    *why = M2M_OUTCOME_OK;
    rc = 0;
    goto done;
fail:
    /* After a failed exchange the byte stream may be out of step: never reuse it. */
    h->alive = 0;
done:
    if (bytes != NULL && q.authorization != NULL)
        m2m_wipe(bytes, len); /* it held a credential */
    m2m_wipe(bearer, sizeof bearer);
    free(bytes);
    return rc;
}

static int http_alive(const m2m_transport *t)
{
    return ((const http_transport *)t)->alive;
}

static void http_set_deadline(m2m_transport *t, double deadline)
{
    m2m_tls_client_set_deadline(((http_transport *)t)->tls, deadline);
}

static int http_export(m2m_transport *t, const char *label, unsigned char *out, size_t len, m2m_err *err)
{
    return m2m_tls_client_export(((http_transport *)t)->tls, label, out, len, err);
}

static void http_info(const m2m_transport *t, m2m_link_info *out)
{
    const m2m_tls_client *c = ((const http_transport *)t)->tls;
    out->version = m2m_tls_client_version(c);
    out->cipher = m2m_tls_client_cipher(c);
    out->handshake_ms = m2m_tls_client_handshake_ms(c);
    out->resumed = m2m_tls_client_resumed(c);
    out->ocsp_checked = m2m_tls_client_ocsp_checked(c);
}

static SSL_SESSION *http_get1_session(m2m_transport *t)
{
    return m2m_tls_client_get1_session(((http_transport *)t)->tls);
}

static unsigned http_sessions(const m2m_transport *t)
{
    return m2m_tls_client_sessions(((const http_transport *)t)->tls);
}

static int http_await_session(m2m_transport *t, int max_ms)
{
    return m2m_tls_client_await_session(((http_transport *)t)->tls, max_ms);
}

static void http_close(m2m_transport *t)
{
    http_transport *h = (http_transport *)t;
    m2m_tls_client_close(h->tls);
    m2m_http_parser_free(h->parser);
    free(h);
}

static const m2m_transport_ops HTTP_OPS = {
    .name = "HTTP over TLS",
    .exchange = http_exchange,
    .alive = http_alive,
    .set_deadline = http_set_deadline,
    .export_key = http_export,
    .info = http_info,
    .get1_session = http_get1_session,
    .sessions = http_sessions,
    .await_session = http_await_session,
    .close = http_close,
};

m2m_transport *m2m_transport_http_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err)
{
    http_transport *h = calloc(1, sizeof *h);

    *why = M2M_OUTCOME_LOCAL;
    if (h == NULL || (h->parser = m2m_http_parser_new()) == NULL) {
        if (cfg->bio != NULL)
            BIO_free(cfg->bio); /* the TLS client would have taken it */
        free(h);
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    h->base.ops = &HTTP_OPS;
    h->alive = 1;
    if (cfg->peer_name != NULL)
        snprintf(h->authority, sizeof h->authority, "%s", cfg->peer_name);
    else
        snprintf(h->authority, sizeof h->authority, strchr(cfg->host, ':') ? "[%s]:%s" : "%s:%s", cfg->host,
                 cfg->port);
    h->tls = m2m_tls_client_open(cfg, why, err);
    if (h->tls == NULL) {
        m2m_http_parser_free(h->parser);
        free(h);
        return NULL;
    }
    return &h->base;
}
