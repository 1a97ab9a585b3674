#include <ctype.h>
#include <string.h>

#include "util/hex.h"

void m2m_hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int m2m_hex_decode(const char *hex, unsigned char *out, size_t cap, size_t *out_len, const char *what, m2m_err *err)
{
    if (hex == NULL)
        return m2m_fail(err, M2M_E_ARG, "%s: missing hex value", what);
    while (isspace((unsigned char)*hex))
        hex++;
    size_t n = strlen(hex);
    while (n > 0 && isspace((unsigned char)hex[n - 1]))
        n--;
    if (n == 0)
        return m2m_fail(err, M2M_E_PARSE, "%s: empty hex value", what);
    if (n % 2 != 0)
        return m2m_fail(err, M2M_E_PARSE, "%s: hex value has an odd number of digits (%zu)", what, n);
    if (n / 2 > cap)
        return m2m_fail(err, M2M_E_PARSE, "%s: hex value is %zu octets, at most %zu allowed", what, n / 2, cap);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble((unsigned char)hex[2 * i]), lo = nibble((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return m2m_fail(err, M2M_E_PARSE, "%s: '%c%c' at offset %zu is not hex", what, hex[2 * i],
                            hex[2 * i + 1], 2 * i);
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *out_len = n / 2;
    return 0;
}
