/* SPDX-License-Identifier: Apache-2.0 */
/* The oneM2M CoAP binding (TS-0008 clause 6), both directions on the Registrar: a CoAP request -- already
 * decrypted, parsed and (for Block1) joined by the CoAP layer -- to a request primitive, and a response primitive
 * to a CoAP response code, options and payload. Bytes in, bytes out: no libcoap and no sockets here, so the
 * mapping is tested on its own (tests/unit/test_coap_map.c) and registrar/coap_adapter.c only copies fields. */
#ifndef M2M_BINDING_COAP_MAP_H
#define M2M_BINDING_COAP_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "onem2m/primitive.h"

/* CoAP options (RFC 7252 5.10) the mapping reads or writes. */
enum {
    M2M_COAP_OPT_LOCATION_PATH = 8,
    M2M_COAP_OPT_URI_PATH = 11,
    M2M_COAP_OPT_CONTENT_FORMAT = 12,
    M2M_COAP_OPT_MAX_AGE = 14,
    M2M_COAP_OPT_URI_QUERY = 15,
    M2M_COAP_OPT_ACCEPT = 17
};

/* The oneM2M options (TS-0008 table 6.2.2.4.0-1). All are critical and unsafe: a CoAP layer that does not know
 * them must refuse the request (4.02), so the adapter registers every one of them with libcoap. */
enum {
    M2M_COAP_OPT_OT = 259,    /* Originating Timestamp */
    M2M_COAP_OPT_RTURI = 263, /* notificationURI of Response Type */
    M2M_COAP_OPT_TY = 267,    /* Resource Type, uint */
    M2M_COAP_OPT_RVI = 271,   /* Release Version Indicator */
    M2M_COAP_OPT_ASRI = 275,  /* Authorization Signature Request Information */
    M2M_COAP_OPT_FR = 279,    /* From */
    M2M_COAP_OPT_RQI = 283,   /* Request Identifier */
    M2M_COAP_OPT_RQET = 291,  /* Request Expiration Timestamp */
    M2M_COAP_OPT_RSET = 295,  /* Result Expiration Timestamp */
    M2M_COAP_OPT_OET = 299,   /* Operation Execution Time */
    M2M_COAP_OPT_EC = 303,    /* Event Category, uint */
    M2M_COAP_OPT_RSC = 307,   /* Response Status Code, uint (responses) */
    M2M_COAP_OPT_GID = 311,   /* Group Request Identifier */
    M2M_COAP_OPT_CTO = 319,   /* Content Offset, uint */
    M2M_COAP_OPT_CTS = 323,   /* Content Status, uint */
    M2M_COAP_OPT_ATI = 327,   /* Assigned Token Identifiers */
    M2M_COAP_OPT_VSI = 331,   /* Vendor Information */
    M2M_COAP_OPT_GTM = 335,   /* Group Request Target Members */
    M2M_COAP_OPT_AUS = 339    /* Authorization Signatures */
};
extern const uint16_t m2m_coap_onem2m_options[];
extern const size_t m2m_coap_onem2m_noptions;

/* Content-Formats (TS-0008 6.2.2.2). JSON only: the CSE core serialises JSON. */
enum { M2M_COAP_FMT_JSON = 50, M2M_COAP_FMT_CBOR = 60, M2M_COAP_FMT_RES_JSON = 10001 };
/* Request method codes (RFC 7252 12.1.1). */
enum { M2M_COAP_GET = 1, M2M_COAP_POST = 2, M2M_COAP_PUT = 3, M2M_COAP_DELETE = 4 };

/* One option as it came off the wire (value not NUL-terminated). */
typedef struct m2m_coap_opt {
    uint16_t num;
    const uint8_t *val;
    size_t len;
} m2m_coap_opt;

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
