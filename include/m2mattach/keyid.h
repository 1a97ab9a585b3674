/* SPDX-License-Identifier: Apache-2.0 */
/* Key identifiers of seed clause a.b: Kcc_ID / Kca_ID = SHA-256(label || key) truncated to 128 bits. */
#ifndef M2MATTACH_KEYID_H
#define M2MATTACH_KEYID_H

#include <stddef.h>
#include "m2mattach/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the library is built with hidden visibility: only this API leaves it */

typedef enum m2m_key_kind {
    M2M_KEY_KCC = 1, /* CSE <-> CSE (Mcc) */
    M2M_KEY_KCA = 2  /* AE <-> CSE (Mca) */
} m2m_key_kind;

#define M2M_KEYID_HEX_LEN 32
#define M2M_KEY_MIN_LEN 16
#define M2M_KEY_MAX_LEN 64

/* Writes the ID as 32 lowercase hex characters plus NUL into out. */
int m2m_keyid(m2m_key_kind kind, const unsigned char *key, size_t key_len, char out[M2M_KEYID_HEX_LEN + 1],
              m2m_err *err);

/* The kind of key a Registree ID uses: an ID starting with '/' is a CSE-ID (Kcc), anything else an AE-ID (Kca). */
m2m_key_kind m2m_key_kind_for_id(const char *registree_id);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
