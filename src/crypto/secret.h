/* SPDX-License-Identifier: Apache-2.0 */
/* The one buffer type for secrets (keys, tokens): it wipes itself with OPENSSL_cleanse when cleared, and secrets
 * are compared in constant time. Stack copies of secrets must be wiped with m2m_wipe before going out of scope. */
#ifndef M2M_CRYPTO_SECRET_H
#define M2M_CRYPTO_SECRET_H

#include <stddef.h>
#include "m2mattach/error.h"

#define M2M_SECRET_MAX 64

typedef struct m2m_secret {
    unsigned char bytes[M2M_SECRET_MAX];
    size_t len;
} m2m_secret;

int m2m_secret_set(m2m_secret *s, const void *data, size_t len, m2m_err *err);
int m2m_secret_from_hex(m2m_secret *s, const char *hex, const char *what, m2m_err *err);
int m2m_secret_random(m2m_secret *s, size_t len, m2m_err *err);
void m2m_secret_clear(m2m_secret *s);
/* Constant time in the length of the shorter input; different lengths compare unequal. */
int m2m_secret_equal(const void *a, size_t alen, const void *b, size_t blen);
void m2m_wipe(void *p, size_t len);

#endif
