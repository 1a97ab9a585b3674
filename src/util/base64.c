/* SPDX-License-Identifier: Apache-2.0 */
/* On OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock, which neither check padding nor say how many octets the padding
 * stood for: both are done here. */
#include <openssl/evp.h>
#include <string.h>

#include "util/base64.h"

void m2m_b64_encode(const unsigned char *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int m2m_b64_decode(const char *in, unsigned char *out, size_t cap, size_t *len)
{
    static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), pad = 0;
    unsigned char tmp[3];
    int got;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap + 2)
        return -1;
    if (in[n - 1] == '=')
        pad = in[n - 2] == '=' ? 2 : 1;
    if (strspn(in, ALPHABET) != n - pad || n / 4 * 3 - pad > cap)
        return -1;
    /* decode all whole groups but the last straight into out, the last through tmp (it may hold padding) */
    if (n > 4 && EVP_DecodeBlock(out, (const unsigned char *)in, (int)(n - 4)) != (int)((n - 4) / 4 * 3))
        return -1;
    got = EVP_DecodeBlock(tmp, (const unsigned char *)in + n - 4, 4);
    if (got != 3)
        return -1;
    memcpy(out + (n - 4) / 4 * 3, tmp, 3 - pad);
    *len = n / 4 * 3 - pad;
    return 0;
}
