/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/sha.h>
#include <string.h>

#include "crypto/gba_id.h"
#include "util/hex.h"

int m2m_gba_impi_ok(const char *impi)
{
    size_t n = impi ? strlen(impi) : 0;
    if (n == 0 || n >= M2M_IMPI_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (impi[i] <= ' ' || impi[i] > '~' || impi[i] == '"' || impi[i] == '\\' || impi[i] == ',')
            return 0;
    return 1;
}

int m2m_gba_impi_id(const char *impi, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (SHA256((const unsigned char *)impi, strlen(impi), md) == NULL)
        return -1;
    m2m_hex_encode(md, sizeof md, out);
    return 0;
}

int m2m_gba_btid_ok(const char *s, size_t len)
{
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char DNS[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
    if (len < 26 || len >= M2M_BTID_MAX || s[24] != '@')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (strchr(B64, s[i]) == NULL || s[i] == '\0')
            return 0;
    if (s[22] != '=' || s[23] != '=')
        return 0;
    for (size_t i = 25; i < len; i++)
        if (s[i] == '\0' || strchr(DNS, s[i]) == NULL)
            return 0;
    return 1;
}

int m2m_gba_identity_btid(const unsigned char *identity, size_t len, char btid[M2M_BTID_MAX])
{
    const size_t plen = sizeof M2M_GBA_IDENTITY_PREFIX - 1;
    const char *p = (const char *)identity;
    if (len > plen && memcmp(p, M2M_GBA_IDENTITY_PREFIX, plen) == 0) {
        p += plen;
        len -= plen;
    }
    if (!m2m_gba_btid_ok(p, len))
        return 0;
    memcpy(btid, p, len);
    btid[len] = '\0';
    return 1;
}

void m2m_gba_btid_key_id(const char *btid, char out[33])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)btid, strlen(btid), md);
    m2m_hex_encode(md, 16, out);
}
