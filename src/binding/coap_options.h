/* SPDX-License-Identifier: Apache-2.0 */
/* The numbers of the oneM2M CoAP binding (TS-0008 V3.9 clause 6) that both halves of the binding need: the CoAP
 * options (RFC 7252 5.10) and the oneM2M ones (TS-0008 table 6.2.2.4.0-1; all critical and unsafe, so a CoAP
 * peer that does not know them refuses the request with 4.02), the Content-Formats, the method codes, and an
 * option as it is on the wire. Both halves take them from here: the Registrar's (binding/coap_map.h) and the
 * Registree's (binding/coap_client.h). */
#ifndef M2M_BINDING_COAP_OPTIONS_H
#define M2M_BINDING_COAP_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

enum {
    M2M_COAP_OPT_LOCATION_PATH = 8,
    M2M_COAP_OPT_URI_PATH = 11,
    M2M_COAP_OPT_CONTENT_FORMAT = 12,
    M2M_COAP_OPT_MAX_AGE = 14,
    M2M_COAP_OPT_URI_QUERY = 15,
    M2M_COAP_OPT_ACCEPT = 17
};

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

/* Content-Formats (TS-0008 6.2.2.2). */
enum { M2M_COAP_FMT_JSON = 50, M2M_COAP_FMT_CBOR = 60, M2M_COAP_FMT_RES_JSON = 10001, M2M_COAP_FMT_RES_CBOR = 10010 };
/* Request method codes (RFC 7252 12.1.1). */
enum { M2M_COAP_GET = 1, M2M_COAP_POST = 2, M2M_COAP_PUT = 3, M2M_COAP_DELETE = 4 };

/* One option as it is on the wire (value not NUL-terminated). */
typedef struct m2m_coap_opt {
    uint16_t num;
    const uint8_t *val;
    size_t len;
} m2m_coap_opt;

/* A uint option's value (RFC 7252 3.2: big-endian, leading zeros dropped): 0, or -1 when longer than 4 bytes. */
static inline int m2m_coap_opt_uint(const m2m_coap_opt *o, unsigned long *out)
{
    unsigned long v = 0;
    if (o->len > 4)
        return -1;
    for (size_t i = 0; i < o->len; i++)
        v = v << 8 | o->val[i];
    *out = v;
    return 0;
}

#endif
