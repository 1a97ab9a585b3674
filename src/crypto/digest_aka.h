/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP Digest AKA (RFC 3310) on the RFC 2617 computation: algorithm AKAv1-MD5, the password being RES as raw
 * octets. Used by the BSF to check a UE's response and by the UE to make one (TS 24.109 Ub). */
#ifndef M2M_CRYPTO_DIGEST_AKA_H
#define M2M_CRYPTO_DIGEST_AKA_H

#include <stddef.h>

#include "m2mattach/error.h"

#define M2M_DIGEST_HEX_LEN 32

typedef struct m2m_digest_input {
    const char *username;
    const char *realm;
    const unsigned char *password; /* RES octets */
    size_t password_len;
    const char *method;
    const char *uri;
    const char *nonce;
    const char *nc;        /* 8 hex digits */
    const char *cnonce;
    const char *qop;       /* "auth" or "auth-int" */
    const void *body;      /* auth-int: the entity body (may be empty) */
    size_t body_len;
} m2m_digest_input;

/* response = MD5(HA1:nonce:nc:cnonce:qop:HA2) as 32 lowercase hex characters; HA1 = MD5(user:realm:password),
 * HA2 = MD5(method:uri) for auth, MD5(method:uri:MD5(body)) for auth-int. */
int m2m_digest_response(const m2m_digest_input *in, char out[M2M_DIGEST_HEX_LEN + 1], m2m_err *err);

#endif
