/* SPDX-License-Identifier: Apache-2.0 */
/* The oneM2M CoAP binding (TS-0008 clause 6), both directions on the Registrar: a CoAP request -- already
 * decrypted, parsed and (for Block1) joined by the CoAP layer -- to a request primitive, and a response primitive
 * to a CoAP response code, options and payload. Bytes in, bytes out: no libcoap and no sockets here, so the
 * mapping is tested on its own (tests/unit/test_coap_map.c) and registrar/coap_adapter.c only copies fields. */
#ifndef M2M_BINDING_COAP_MAP_H
#define M2M_BINDING_COAP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "binding/coap_options.h"
#include "onem2m/primitive.h"

/* The option numbers, Content-Formats, method codes and m2m_coap_opt: binding/coap_options.h, shared with the
 * Registree's half. Every oneM2M option, for the adapter to register with libcoap (all are critical): */
extern const uint16_t m2m_coap_onem2m_options[];
extern const size_t m2m_coap_onem2m_noptions;

typedef struct m2m_coap_in {
    int method;                /* request code detail: M2M_COAP_GET ... */
    const m2m_coap_opt *opts;  /* every option of the request, in wire order */
    size_t nopts;
    const uint8_t *payload;    /* the whole body (all Block1 blocks joined) */
    size_t payload_len;
} m2m_coap_in;

/* Fills req and *format, the Content-Format the response is to be rendered in (the Accept option's, or the
 * request's own). On a request the binding refuses returns -1 with rsp holding the oneM2M error (4000, 4001,
 * 4005, 4015, 5207) and rsp->rqi echoing the request's oneM2M-RQI; *format is usable either way. */
int m2m_coap_parse_request(const m2m_coap_in *in, m2m_prim_req *req, int *format, m2m_prim_rsp *rsp);

#define M2M_COAP_MAX_SEGMENTS 32
typedef struct m2m_coap_out {
    int code;                  /* CoAP response code as class * 100 + detail, e.g. 201 for 2.01 */
    unsigned rsc;              /* oneM2M-RSC, sent in every response */
    char rqi[M2M_PRIM_STR];    /* oneM2M-RQI, "" = none */
    int nloc;                  /* Location-Path options (a CREATE's new resource), each seg[i] .. + len[i] */
    const char *loc[M2M_COAP_MAX_SEGMENTS];
    size_t loc_len[M2M_COAP_MAX_SEGMENTS];
    char loc_buf[1024];
    int format;                /* Content-Format of the payload; -1 = no payload */
    char *payload;             /* JSON text (malloc'd) or NULL */
    size_t payload_len;
} m2m_coap_out;

/* Renders rsp in format (from m2m_coap_parse_request). -1 only when out of memory. */
int m2m_coap_render_response(const m2m_prim_rsp *rsp, int format, m2m_coap_out *out);
void m2m_coap_out_clear(m2m_coap_out *out);

/* Splits a To address into the Uri-Path / Location-Path segments TS-0008 6.2.2.3 maps it to: SP-relative
 * "/in-cse/x" -> "~" "in-cse" "x", absolute "//sp/in-cse/x" -> "_" "sp" "in-cse" "x", CSE-relative as it is.
 * Segments point into buf. 0, or -1 when the address does not fit (max segments, cap bytes) or is empty. */
int m2m_coap_path_segments(const char *to, char *buf, size_t cap, const char **seg, size_t *seg_len, int max,
                           int *n);

#endif
