/* SPDX-License-Identifier: Apache-2.0 */
/* The server half of the oneM2M HTTP binding (TS-0009): an HTTP request (already framed by the HTTP layer) to a
 * request primitive, and a response primitive to HTTP status, headers and body. Bytes in, bytes out: no sockets. */
#ifndef M2M_BINDING_HTTP_SERVER_H
#define M2M_BINDING_HTTP_SERVER_H

#include <stddef.h>
#include "onem2m/primitive.h"

typedef struct m2m_http_in {
    const char *method;
    const char *uri;           /* request target: path [? query] */
    const char *content_type;  /* NULL when absent */
    const char *origin;        /* X-M2M-Origin */
    const char *ri;            /* X-M2M-RI */
    const char *rvi;           /* X-M2M-RVI */
    const char *authorization;
    const char *body;
    size_t body_len;
    const char *accept;        /* NULL when absent */
} m2m_http_in;

/* The bodies served (TS-0009 6.4): JSON and CBOR (onem2m/cbor.h: the same tree), each as its plain and its oneM2M
 * media type. */
typedef enum {
    M2M_HTTP_JSON,             /* application/json */
    M2M_HTTP_RES_JSON,         /* application/vnd.onem2m-res+json */
    M2M_HTTP_CBOR,             /* application/cbor */
    M2M_HTTP_RES_CBOR          /* application/vnd.onem2m-res+cbor */
} m2m_http_format;

/* Fills req and *format, the body format of the response (the first served media type Accept names -- any, for
 * a wildcard: the request's --, else the request's Content-Type's, else JSON). On a malformed request returns -1
 * with rsp holding the oneM2M error (4000, 4001, 4005, 4015, 5207) and *format usable. */
int m2m_http_parse_request(const m2m_http_in *in, m2m_prim_req *req, m2m_http_format *format, m2m_prim_rsp *rsp);

typedef struct m2m_http_out {
    int status;
    char rsc[8];
    const char *content_type;  /* the body's media type */
    char *body;                /* JSON text or CBOR (malloc'd), never NULL after success */
    size_t body_len;
} m2m_http_out;

/* Renders rsp in format; errors carry {"m2m:dbg": reason}. Returns -1 only when out of memory. */
int m2m_http_render_response(const m2m_prim_rsp *rsp, m2m_http_format format, m2m_http_out *out);
void m2m_http_out_clear(m2m_http_out *out);

#endif
