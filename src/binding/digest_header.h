/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP Digest headers (RFC 2617, RFC 3310) as Ub uses them: parsing an Authorization or WWW-Authenticate value into
 * its parameters, and writing one. Everything is bounded: the whole header, the number of parameters, each value
 * (a value longer than its field is an error, never truncated), so what an unauthenticated peer sends costs a
 * fixed amount. No sockets. */
#ifndef M2M_BINDING_DIGEST_HEADER_H
#define M2M_BINDING_DIGEST_HEADER_H

#include <stddef.h>

#include "m2mattach/error.h"
#include "store/store.h"

#define M2M_DIGEST_HEADER_MAX 4096
#define M2M_DIGEST_PARAMS_MAX 24

typedef struct m2m_digest_params {
    char username[M2M_IMPI_MAX];
    char realm[256];
    char nonce[128];      /* base64 of RAND || AUTN || server data: 64 characters here */
    char uri[256];
    char response[64];
    char qop[64];         /* a challenge may list several ("auth-int,auth") */
    char nc[16];
    char cnonce[128];
    char opaque[128];
    char algorithm[32];
    char auts[64];        /* base64 of the 14-octet AUTS */
    char stale[8];
    unsigned seen;        /* one bit per field above, in order: which were present */
} m2m_digest_params;

enum {
    M2M_DP_USERNAME = 1u << 0, M2M_DP_REALM = 1u << 1, M2M_DP_NONCE = 1u << 2, M2M_DP_URI = 1u << 3,
    M2M_DP_RESPONSE = 1u << 4, M2M_DP_QOP = 1u << 5, M2M_DP_NC = 1u << 6, M2M_DP_CNONCE = 1u << 7,
    M2M_DP_OPAQUE = 1u << 8, M2M_DP_ALGORITHM = 1u << 9, M2M_DP_AUTS = 1u << 10, M2M_DP_STALE = 1u << 11
};

/* Parses "Digest name=value, name="quoted", ..." (the scheme is case-insensitive). Unknown parameters are skipped;
 * a repeated known one, an over-long value, a control character or a malformed list is an error (M2M_E_PARSE)
 * whose message never quotes the input. */
int m2m_digest_parse(const char *header, m2m_digest_params *out, m2m_err *err);

/* 1 when s may be written inside a quoted-string without escaping (printable ASCII except '"' and '\'). */
int m2m_digest_value_ok(const char *s);

#endif
