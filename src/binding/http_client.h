/* SPDX-License-Identifier: Apache-2.0 */
/* The client half of the oneM2M HTTP binding (TS-0009) as pure protocol code: a request primitive to bytes, and
 * response bytes, fed in any split, to a parsed response. No sockets here, so tests drive it byte by byte.
 *
 *   m2m_http_build_request(&req, "127.0.0.1:8443", rqi, &bytes, &len, &err);
 *   m2m_http_parser *p = m2m_http_parser_new();
 *   while ((r = m2m_http_parser_feed(p, buf, n, &used, &err)) == M2M_HTTP_NEED_MORE) { read more }
 *   m2m_http_parser_status(p), m2m_http_parser_rsc(p), m2m_http_parser_header(p, "Content-Location"), ...
 */
#ifndef M2M_BINDING_HTTP_CLIENT_H
#define M2M_BINDING_HTTP_CLIENT_H

#include <stddef.h>

#include "m2mattach/error.h"
#include "m2mattach/registree.h"

#define M2M_HTTP_HEADER_MAX (16 * 1024)       /* status line + headers, and chunked trailers */
#define M2M_HTTP_BODY_MAX (8 * 1024 * 1024)
#define M2M_HTTP_MAX_HEADER_LINES 100
/* Interim (1xx) responses skipped before the final one: a peer that loops "100 Continue" is refused after these. */
#define M2M_HTTP_MAX_INTERIM 4
#define M2M_HTTP_RVI "3"                      /* the Release Version Indicator this project speaks */

/* Builds the request bytes (malloc'd into *out, NUL-terminated; *out_len excludes the NUL). The headers are
 * exactly what req says: req->from NULL or "" omits X-M2M-Origin (callers resolve the default From before), a
 * body gets Content-Type (req->content_type or application/json, plus ";ty=N" when req->ty > 0) and
 * Content-Length. Values that could break the header block (CR, LF, other controls) are refused. */
int m2m_http_build_request(const m2m_request *req, const char *host, const char *rqi, char **out, size_t *out_len,
                           m2m_err *err);

enum {
    M2M_HTTP_NEED_MORE = 0, /* feed more bytes (or call m2m_http_parser_eof when the peer closed) */
    M2M_HTTP_COMPLETE = 1   /* one whole response is parsed; the accessors are valid */
};

typedef struct m2m_http_parser m2m_http_parser;

m2m_http_parser *m2m_http_parser_new(void);
void m2m_http_parser_free(m2m_http_parser *p);
/* Ready for the next response on the same connection. */
void m2m_http_parser_reset(m2m_http_parser *p);

/* Consumes up to len bytes; *used says how many (fewer than len only when the response completed before the end of
 * data). Returns M2M_HTTP_NEED_MORE, M2M_HTTP_COMPLETE, or -1 with err set; after an error the parser stays failed
 * until reset. 1xx interim responses are skipped, at most M2M_HTTP_MAX_INTERIM of them per response. */
int m2m_http_parser_feed(m2m_http_parser *p, const void *data, size_t len, size_t *used, m2m_err *err);

/* The connection ended. Completes a response whose body runs to the end of the connection; anything else cut
 * short is an error. Returns M2M_HTTP_COMPLETE or -1. */
int m2m_http_parser_eof(m2m_http_parser *p, m2m_err *err);

/* 1 when no byte of a response has been fed since new/reset: an idle keep-alive connection closed by the server. */
int m2m_http_parser_idle(const m2m_http_parser *p);

/* Valid after M2M_HTTP_COMPLETE, until reset or free. */
int m2m_http_parser_status(const m2m_http_parser *p);
int m2m_http_parser_rsc(const m2m_http_parser *p);            /* X-M2M-RSC, 0 if absent */
const char *m2m_http_parser_header(const m2m_http_parser *p, const char *name); /* first match, any case; or NULL */
int m2m_http_parser_keep_alive(const m2m_http_parser *p);     /* 0: the server closes; reconnect for the next */
const char *m2m_http_parser_body(const m2m_http_parser *p, size_t *len); /* NUL-terminated, never NULL */
/* Hands the body (malloc'd, NUL-terminated) to the caller; the parser's body is empty afterwards. */
char *m2m_http_parser_take_body(m2m_http_parser *p, size_t *len);

#endif
