/* SPDX-License-Identifier: Apache-2.0 */
/* Hex decoding of key material (src/util/hex.c): every digit and case, the length checks, and errors that say
 * where a bad character is but never show it or any other character of the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "util/hex.h"

static void test_every_digit_both_cases(void **state)
{
    unsigned char out[32];
    size_t n = 0;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_hex_decode("00112233445566778899aabbccddeeff", out, sizeof out, &n, "k", &err), 0);
    assert_int_equal(n, 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(out[i], i * 0x11);
    assert_int_equal(m2m_hex_decode("AABBCCDDEEFF", out, sizeof out, &n, "k", &err), 0);
    assert_int_equal(n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(out[i], 0xaa + i * 0x11);
    assert_int_equal(m2m_hex_decode("aB0f9C", out, sizeof out, &n, "k", &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0x0f);
    assert_int_equal(out[2], 0x9c);
    /* every octet value round-trips through the encoder */
    for (int v = 0; v < 256; v++) {
        unsigned char in = (unsigned char)v, back = 0;
        char hex[3], upper[3];
        m2m_hex_encode(&in, 1, hex);
        assert_int_equal(m2m_hex_decode(hex, &back, 1, &n, "k", &err), 0);
        assert_int_equal(back, v);
        snprintf(upper, sizeof upper, "%02X", v);
        assert_int_equal(m2m_hex_decode(upper, &back, 1, &n, "k", &err), 0);
        assert_int_equal(back, v);
    }
}

static void test_whitespace_around(void **state)
{
    unsigned char out[4];
    size_t n = 0;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_hex_decode(" \t0a0B\r\n", out, sizeof out, &n, "k", &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0x0a);
    assert_int_equal(out[1], 0x0b);
    /* inside the value white space is an error */
    assert_int_equal(m2m_hex_decode("0a 0b", out, sizeof out, &n, "k", &err), -1);
    assert_int_equal(m2m_hex_decode(" \n ", out, sizeof out, &n, "k", &err), -1);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(m2m_hex_decode("", out, sizeof out, &n, "k", &err), -1);
    assert_int_equal(m2m_hex_decode(NULL, out, sizeof out, &n, "k", &err), -1);
}

static void test_odd_length(void **state)
{
    unsigned char out[8];
    size_t n = 0;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_hex_decode("a1b2c", out, sizeof out, &n, "--key-file k.hex", &err), -1);
    assert_int_equal(err.code, M2M_E_PARSE);
    /* the field and the count, nothing of the value */
    assert_string_equal(err.msg, "--key-file k.hex: hex value has an odd number of digits (5)");
}

static void test_bad_digit_never_shown(void **state)
{
    /* Every possible non-hex octet at every position of a 16-octet key: the error names the field and the
     * position, never the bad character nor any of the key's others; the output is wiped. */
    const char key[] = "7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d7d";
    unsigned char out[16];
    size_t n = 0;
    m2m_err err = {0};
    (void)state;
    for (int c = 1; c < 256; c++) {
        int hexdigit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        int space = c == ' ' || (c >= '\t' && c <= '\r');
        if (hexdigit || space)
            continue;
        for (size_t pos = 0; pos < sizeof key - 1; pos++) {
            char bad[sizeof key], want[80];
            memcpy(bad, key, sizeof key);
            bad[pos] = (char)c;
            memset(out, 0xee, sizeof out);
            assert_int_equal(m2m_hex_decode(bad, out, sizeof out, &n, "KEYFIELD", &err), -1);
            assert_int_equal(err.code, M2M_E_PARSE);
            /* the whole message is the field and the position: no room for any character of the key */
            snprintf(want, sizeof want, "KEYFIELD: character %zu is not hex (only 0-9, a-f, A-F)", pos + 1);
            assert_string_equal(err.msg, want);
            for (size_t i = 0; i < sizeof out; i++)
                assert_int_equal(out[i], 0);
        }
    }
}

static void test_first_bad_is_reported(void **state)
{
    unsigned char out[8];
    size_t n = 0;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_hex_decode("00gg00zz", out, sizeof out, &n, "k", &err), -1);
    assert_string_equal(err.msg, "k: character 3 is not hex (only 0-9, a-f, A-F)");
    assert_int_equal(m2m_hex_decode("000x", out, sizeof out, &n, "k", &err), -1);
    assert_string_equal(err.msg, "k: character 4 is not hex (only 0-9, a-f, A-F)");
    /* "0x" prefixes are not hex digits either */
    assert_int_equal(m2m_hex_decode("0x0011", out, sizeof out, &n, "k", &err), -1);
    assert_string_equal(err.msg, "k: character 2 is not hex (only 0-9, a-f, A-F)");
}

static void test_too_long(void **state)
{
    unsigned char out[4 + 1];
    size_t n = 0;
    m2m_err err = {0};
    (void)state;
    out[4] = 0x5a; /* a guard octet past the capacity given */
    assert_int_equal(m2m_hex_decode("0011223344", out, 4, &n, "k", &err), -1);
    assert_non_null(strstr(err.msg, "5 octets, at most 4"));
    assert_int_equal(out[4], 0x5a);
    assert_int_equal(m2m_hex_decode("00112233", out, 4, &n, "k", &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(out[4], 0x5a);
}

/* The single digit, for percent-decoding in the bindings: every octet value, the same answer as the table. */
static void test_hex_digit(void **state)
{
    (void)state;
    for (int c = -1; c <= 256; c++) {
        int want = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        assert_int_equal(m2m_hex_digit(c), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_digit),
        cmocka_unit_test(test_every_digit_both_cases), cmocka_unit_test(test_whitespace_around),
        cmocka_unit_test(test_odd_length),             cmocka_unit_test(test_bad_digit_never_shown),
        cmocka_unit_test(test_first_bad_is_reported),  cmocka_unit_test(test_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
