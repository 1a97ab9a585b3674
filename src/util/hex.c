/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <openssl/crypto.h>
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

/* Decoding handles keys, so nothing below branches on, or indexes a table by, the value of a character: every
 * test is a subtraction whose sign bit becomes an all-ones or all-zeros mask. */

/* All ones when lo <= c <= hi, else 0 (c, lo, hi are octet values). */
static unsigned in_range(unsigned c, unsigned lo, unsigned hi)
{
    /* (c - lo) and (hi - c) are both non-negative exactly when c is in range; as unsigned, a negative
     * difference has its top bit set. */
    unsigned outside = ((c - lo) | (hi - c)) >> (sizeof(unsigned) * CHAR_BIT - 1);
    return outside - 1u;
}

/* The value of hex digit c; *bad gets all ones ORed in when c is not a hex digit. */
static unsigned nibble(unsigned char c, unsigned *bad)
{
    unsigned lower = (unsigned)c | 0x20u; /* 'A'..'F' -> 'a'..'f'; nothing else lands in 'a'..'f' */
    unsigned is_digit = in_range(c, '0', '9'), is_letter = in_range(lower, 'a', 'f');
    *bad |= ~(is_digit | is_letter);
    return ((c - (unsigned)'0') & is_digit) | ((lower - (unsigned)'a' + 10u) & is_letter);
}

int m2m_hex_digit(int c)
{
    unsigned bad = 0, v;
    if (c < 0 || c > 0xff)
        return -1;
    v = nibble((unsigned char)c, &bad);
    return bad != 0 ? -1 : (int)v;
}

/* All ones for ' ', '\t', '\n', '\v', '\f', '\r', else 0. */
static unsigned space_mask(unsigned char c)
{
    return in_range(c, ' ', ' ') | in_range(c, '\t', '\r');
}

int m2m_hex_decode(const char *hex, unsigned char *out, size_t cap, size_t *out_len, const char *what, m2m_err *err)
{
    unsigned bad = 0;
    size_t n, first_bad = 0;

    if (hex == NULL)
        return m2m_fail(err, M2M_E_ARG, "%s: missing hex value", what);
    /* Trimming stops at the first character that is not white space; for a key that is a digit, whatever its
     * value, so the loops run the same for every key of one length. */
    while (*hex != '\0' && space_mask((unsigned char)*hex))
        hex++;
    n = strlen(hex);
    while (n > 0 && space_mask((unsigned char)hex[n - 1]))
        n--;
    if (n == 0)
        return m2m_fail(err, M2M_E_PARSE, "%s: empty hex value", what);
    if (n % 2 != 0)
        return m2m_fail(err, M2M_E_PARSE, "%s: hex value has an odd number of digits (%zu)", what, n);
    if (n / 2 > cap)
        return m2m_fail(err, M2M_E_PARSE, "%s: hex value is %zu octets, at most %zu allowed", what, n / 2, cap);
    for (size_t i = 0; i < n; i += 2) {
        unsigned before = bad, hi, lo;
        /* Where the first bad character is, kept with masks too (bad turns all ones there and stays so). It says
         * where, never what. */
        hi = nibble((unsigned char)hex[i], &bad);
        first_bad |= (i + 1) & ((size_t)0 - (size_t)(bad & ~before & 1u));
        before = bad;
        lo = nibble((unsigned char)hex[i + 1], &bad);
        first_bad |= (i + 2) & ((size_t)0 - (size_t)(bad & ~before & 1u));
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    if (bad != 0) {
        OPENSSL_cleanse(out, n / 2);
        /* Never the characters themselves: a key with one typo is still almost all key. */
        return m2m_fail(err, M2M_E_PARSE, "%s: character %zu is not hex (only 0-9, a-f, A-F)", what, first_bad);
    }
    *out_len = n / 2;
    return 0;
}
