/* SPDX-License-Identifier: Apache-2.0 */
/* The client half of the oneM2M CoAP binding (TS-0008) as pure protocol code: a request primitive to a CoAP
 * method, options and payload, and a CoAP response's code, options and payload to a response primitive. No libcoap
 * and no sockets here (registree/dtls_client.c carries the result), so tests check the mapping on its own.
 *
 *   CREATE/RETRIEVE/UPDATE/DELETE -> POST/GET/PUT/DELETE; the path "/~/in-cse/x" (SP-relative) -> Uri-Path "~"
 *   "in-cse" "x", "/_/sp/in-cse" (absolute) -> "_" "sp" "in-cse", "/cse-base/x" (CSE-relative) as it is; From ->
 *   oneM2M-FR (279), the request ID -> oneM2M-RQI (283), the release -> oneM2M-RVI (271), a CREATE's type ->
 *   oneM2M-TY (267, uint), the identity token of x.y.7 -> Uri-Query "tkns=TOKEN" (TS-0008 6.2.2.3 carries Tokens
 *   in the query under its TS-0004 short name), JSON -> Content-Format 50 (or 10001 for
 *   application/vnd.onem2m-res+json). The response's oneM2M-RSC (307) is the status; Location-Path is a CREATE's
 *   new resource, mapped back the same way ("~" first -> "/...", "_" first -> "//..."). */
#ifndef M2M_BINDING_COAP_CLIENT_H
#define M2M_BINDING_COAP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "binding/coap_options.h"
#include "m2mattach/error.h"
#include "m2mattach/registree.h"

#define M2M_COAP_CLIENT_MAX_OPTS 64
/* The option values of one request (path segments, query, identifiers) live in the request itself. */
#define M2M_COAP_CLIENT_OPT_BYTES 4096

typedef struct m2m_coap_request {
    int method;                                 /* M2M_COAP_GET ... */
    m2m_coap_opt opts[M2M_COAP_CLIENT_MAX_OPTS]; /* in ascending option number order */
    size_t nopts;
    const uint8_t *payload;                     /* the request's body (req->body), or NULL */
    size_t payload_len;
    uint8_t buf[M2M_COAP_CLIENT_OPT_BYTES];     /* the option values */
    size_t used;
    uint8_t *cbor;                              /* the payload when in CBOR (m2m_coap_request_cbor), malloc'd */
} m2m_coap_request;

/* Builds out from req (from: NULL or "" omits oneM2M-FR, as the HTTP binding omits X-M2M-Origin), rqi, and token
 * (NULL: none). req->authorization "Bearer TOKEN" is taken as the token; any other Authorization has no CoAP
 * form (M2M_E_ARG). A path that is not "/..." with segments of at most 255 bytes, a value with a control
 * character, or too many options is M2M_E_ARG. The payload points into req. */
int m2m_coap_build_request(const m2m_request *req, const char *rqi, const char *token, m2m_coap_request *out,
                           m2m_err *err);

/* The body of out (JSON text) on the wire in CBOR instead: Content-Format 60 (10010 for 10001), the CBOR of the
 * same tree as payload, and Accept 60 so that the answer comes in CBOR too (m2m_coap_parse_response gives it back
 * as JSON text). A request without a body only gets the Accept. A body that is not JSON is M2M_E_ARG. */
int m2m_coap_request_cbor(m2m_coap_request *out, m2m_err *err);
/* Frees what m2m_coap_request_cbor made (out is built again from scratch for the next request). */
void m2m_coap_request_clear(m2m_coap_request *out);

typedef struct m2m_coap_response {
    int code;                  /* class * 100 + detail, e.g. 201 for 2.01 */
    const m2m_coap_opt *opts;  /* in wire order */
    size_t nopts;
    const uint8_t *payload;    /* the whole body (every Block2 block joined), or NULL */
    size_t payload_len;
} m2m_coap_response;

/* Fills reply: http_status = the CoAP code as class * 100 + detail (2.01 -> 201), rsc = oneM2M-RSC (0 when
 * absent), location = the Location-Path mapped back, body = the payload (malloc'd, NUL-terminated; a CBOR payload,
 * Content-Format 60 or 10010, as the JSON text of the same tree: one that does not decode is M2M_E_PROTO). A response
 * whose oneM2M-RQI is not rqi, that carries an option twice that may be there once, or a Location that does not
 * fit is M2M_E_PROTO; peer names the Registrar in messages. */
int m2m_coap_parse_response(const m2m_coap_response *in, const char *rqi, const char *peer, m2m_reply *reply,
                            m2m_err *err);

/* "2.01" for 201: how messages show a CoAP code (out: 8 bytes). */
void m2m_coap_code_text(int code, char out[8]);

#endif
