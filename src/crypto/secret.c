/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "crypto/secret.h"
#include "util/hex.h"

int m2m_secret_set(m2m_secret *s, const void *data, size_t len, m2m_err *err)
{
    assert(s != NULL); /* m2m_secret_clear takes NULL (a no-op), this does not */
    if (len > sizeof s->bytes)
        return m2m_fail(err, M2M_E_ARG, "secret of %zu octets is longer than %d", len, M2M_SECRET_MAX);
    m2m_secret_clear(s);
    if (len > 0)
        memcpy(s->bytes, data, len);
    s->len = len;
    return 0;
}

int m2m_secret_from_hex(m2m_secret *s, const char *hex, const char *what, m2m_err *err)
{
    m2m_secret_clear(s);
    if (m2m_hex_decode(hex, s->bytes, sizeof s->bytes, &s->len, what, err) != 0) {
        m2m_secret_clear(s);
        return -1;
    }
    return 0;
}

int m2m_secret_random(m2m_secret *s, size_t len, m2m_err *err)
{
    m2m_secret_clear(s);
    if (len > sizeof s->bytes)
        return m2m_fail(err, M2M_E_ARG, "random secret of %zu octets is too long", len);
    if (RAND_bytes(s->bytes, (int)len) != 1)
        return m2m_fail(err, M2M_E_TLS, "the random generator failed");
    s->len = len;
    return 0;
}

void m2m_secret_clear(m2m_secret *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s->bytes, sizeof s->bytes);
        s->len = 0;
    }
}

int m2m_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int same = CRYPTO_memcmp(a, b, n) == 0;
    return same && alen == blen;
}

void m2m_wipe(void *p, size_t len)
{
    if (p != NULL)
        OPENSSL_cleanse(p, len);
}
