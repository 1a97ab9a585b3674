/* SPDX-License-Identifier: Apache-2.0 */
/* CBOR <-> the JSON data model (onem2m/cbor.c): RFC 8949 Appendix A's examples that JSON can hold decode to the
 * JSON the appendix gives, our encoder writes the shortest forms of Appendix A, and every refusal cbor.h lists is
 * made, with its message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onem2m/cbor.h"

typedef struct {
    const char *hex;
    const char *json;
} vector;

/* RFC 8949 Appendix A (diagnostic notation as JSON; the ones JSON cannot say are refusals below) */
static const vector DECODES[] = {
    {"00", "0"},
    {"01", "1"},
    {"0a", "10"},
    {"17", "23"},
    {"1818", "24"},
    {"1864", "100"},
    {"1903e8", "1000"},
    {"1a000f4240", "1000000"},
    {"1b000000e8d4a51000", "1000000000000"},
    {"20", "-1"},
    {"29", "-10"},
    {"3863", "-100"},
    {"3903e7", "-1000"},
    {"f90000", "0"},
    {"f93c00", "1"},
    {"fb3ff199999999999a", "1.1"},
    {"f93e00", "1.5"},
    {"f97bff", "65504"},
    {"fa47c35000", "100000"},
    {"fa7f7fffff", "3.4028234663852886e+38"},
    {"fb7e37e43c8800759c", "1.0e+300"},
    {"f90001", "5.960464477539063e-8"},
    {"f90400", "0.00006103515625"},
    {"f9c400", "-4"},
    {"fbc010666666666666", "-4.1"},
    {"f4", "false"},
    {"f5", "true"},
    {"f6", "null"},
    {"60", "\"\""},
    {"6161", "\"a\""},
    {"6449455446", "\"IETF\""},
    {"62225c", "\"\\\"\\\\\""},
    {"62c3bc", "\"\\u00fc\""},
    {"63e6b0b4", "\"\\u6c34\""},
    {"64f0908591", "\"\\ud800\\udd51\""},
    {"80", "[]"},
    {"83010203", "[1,2,3]"},
    {"8301820203820405", "[1,[2,3],[4,5]]"},
    {"98190102030405060708090a0b0c0d0e0f101112131415161718181819", "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,"
                                                                   "19,20,21,22,23,24,25]"},
    {"a0", "{}"},
    {"a26161016162820203", "{\"a\":1,\"b\":[2,3]}"},
    {"826161a161626163", "[\"a\",{\"b\":\"c\"}]"},
    {"a56161614161626142616361436164614461656145", "{\"a\":\"A\",\"b\":\"B\",\"c\":\"C\",\"d\":\"D\",\"e\":\"E\"}"},
    {"1b0020000000000000", "9007199254740992"},   /* 2^53: the largest exact */
    {"3b001fffffffffffff", "-9007199254740992"},  /* -2^53 */
    {"d9d9f7a0", "{}"},                           /* the self-described CBOR mark first */
};

/* refusals, each with words its message must hold */
static const vector REFUSALS[] = {
    {"", "empty CBOR body"},
    {"1b0020000000000001", "beyond 2^53"},
    {"1bffffffffffffffff", "beyond 2^53"},
    {"3b0020000000000000", "beyond 2^53"},
    {"f97c00", "NaN or infinite"},               /* Infinity */
    {"f97e00", "NaN or infinite"},               /* NaN */
    {"fb7ff0000000000000", "NaN or infinite"},
    {"f7", "simple value 23"},                   /* undefined */
    {"f0", "simple value 16"},
    {"f8ff", "simple value 255"},
    {"4401020304", "byte string (major type 2) at offset 0 has no JSON form"},
    {"c074323031332d30332d32315432303a30343a30305a", "a tag (major type 6)"},
    {"81d9d9f7a0", "a tag (major type 6) at offset 1"}, /* the mark only counts first */
    {"d9d9f7", "truncated CBOR item at offset 3"},
    {"5f42010243030405ff", "indefinite-length item (major type 2)"},
    {"7f657374726561646d696e67ff", "indefinite-length item (major type 3)"},
    {"9fff", "indefinite-length item (major type 4)"},
    {"bf61610161629f0203ffff", "indefinite-length item (major type 5)"},
    {"ff", "a break (0xff) at offset 0"},
    {"1c", "reserved additional information 28"},
    {"18", "truncated CBOR item at offset 0"},
    {"62c3", "truncated CBOR item at offset 0"},
    {"8301", "truncated CBOR item at offset 0"},  /* three items cannot fit in one byte */
    {"82016261", "truncated CBOR item at offset 2"},
    {"9bffffffffffffffff", "truncated CBOR item at offset 0"}, /* a count no body could hold: nothing allocated */
    {"7bffffffffffffffff", "truncated CBOR item at offset 0"},
    {"0000", "trailing data after the CBOR item (offset 1)"},
    {"a10101", "the map key at offset 1 is an unsigned integer, not a text string"},
    {"a1616101616102", "trailing data"},
    {"a2616101616102", "duplicate member \"a\" at the top level"},
    {"a1666d326d3a6165a2636170690163617069f5", "duplicate member \"api\" in m2m:ae"},
    {"6161006162", "trailing data"},
    {"63610062", "the text string at offset 0 holds a NUL character"},
    {"a163610062f6", "the text string at offset 1 holds a NUL character"},
    {"62c0af", "is not UTF-8"},                  /* an overlong "/" */
    {"63eda080", "is not UTF-8"},                /* a surrogate */
    {"64f4908080", "is not UTF-8"},              /* above U+10FFFF */
    {"61ff", "is not UTF-8"},
};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void appendix_a_decodes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof DECODES / sizeof DECODES[0]; i++) {
        uint8_t b[128];
        size_t n = unhex(DECODES[i].hex, b, sizeof b);
        m2m_err err = {0};
        cJSON *got = m2m_cbor_decode_strict(b, n, &err), *want = cJSON_Parse(DECODES[i].json);
        if (got == NULL)
            fail_msg("%s: %s", DECODES[i].hex, err.msg);
        assert_non_null(want);
        if (!cJSON_Compare(got, want, 1))
            fail_msg("%s decoded to %s, not %s", DECODES[i].hex, cJSON_PrintUnformatted(got), DECODES[i].json);
        cJSON_Delete(got);
        cJSON_Delete(want);
    }
}

static void refusals_say_why(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REFUSALS / sizeof REFUSALS[0]; i++) {
        uint8_t b[128];
        size_t n = unhex(REFUSALS[i].hex, b, sizeof b);
        m2m_err err = {0};
        cJSON *got = m2m_cbor_decode_strict(n ? b : NULL, n, &err);
        if (got != NULL)
            fail_msg("%s was taken: %s", REFUSALS[i].hex, cJSON_PrintUnformatted(got));
        assert_int_equal(err.code, M2M_E_PARSE);
        if (strstr(err.msg, REFUSALS[i].json) == NULL)
            fail_msg("%s: \"%s\" does not say \"%s\"", REFUSALS[i].hex, err.msg, REFUSALS[i].json);
    }
}

static void nesting_is_bounded(void **state)
{
    static uint8_t deep[1002];
    m2m_err err = {0};
    cJSON *v;
    (void)state;
    /* 1000 arrays deep, the innermost holding 0: taken; 1001: refused (as json_strict.h) */
    memset(deep, 0x81, 1000);
    deep[1000] = 0x00;
    v = m2m_cbor_decode_strict(deep, 1001, &err);
    assert_non_null(v);
    cJSON_Delete(v);
    memset(deep, 0x81, 1001);
    deep[1001] = 0x00;
    assert_null(m2m_cbor_decode_strict(deep, 1002, &err));
    assert_non_null(strstr(err.msg, "nested deeper than 1000 levels"));
}

static void encodes_shortest(void **state)
{
    static const vector ENCODES[] = {
        {"00", "0"},
        {"17", "23"},
        {"1818", "24"},
        {"1903e8", "1000"},
        {"1a000f4240", "1000000"},
        {"1b000000e8d4a51000", "1000000000000"},
        {"20", "-1"},
        {"3903e7", "-1000"},
        {"1b0020000000000000", "9007199254740992"},
        {"fa3fc00000", "1.5"},                        /* exact in single precision */
        {"fa80000000", "-0.0"},                       /* -0 keeps its sign: not the integer 0 */
        {"fb3ff199999999999a", "1.1"},                /* not */
        {"fb7e37e43c8800759c", "1e300"},
        {"fbc010666666666666", "-4.1"},
        {"f4", "false"},
        {"f5", "true"},
        {"f6", "null"},
        {"60", "\"\""},
        {"62c3bc", "\"\\u00fc\""},
        {"8301820203820405", "[1,[2,3],[4,5]]"},
        {"a26161016162820203", "{\"a\":1,\"b\":[2,3]}"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof ENCODES / sizeof ENCODES[0]; i++) {
        uint8_t want[64], *got = NULL;
        size_t n = unhex(ENCODES[i].hex, want, sizeof want), len = 0;
        m2m_err err = {0};
        cJSON *v = cJSON_Parse(ENCODES[i].json);
        assert_non_null(v);
        assert_int_equal(m2m_cbor_encode(v, &got, &len, &err), 0);
        if (len != n || memcmp(got, want, n) != 0)
            fail_msg("%s: encoded to %zu bytes, not %s", ENCODES[i].json, len, ENCODES[i].hex);
        free(got);
        cJSON_Delete(v);
    }
}

static void text_goes_out_as_utf8(void **state)
{
    /* "a", a lone 0xff, "b", a cut-off two-byte sequence: each bad byte as U+FFFD, the rest as it was */
    cJSON *v = cJSON_CreateString("a\xff" "b\xc3");
    static const uint8_t want[] = {0x68, 'a', 0xef, 0xbf, 0xbd, 'b', 0xef, 0xbf, 0xbd};
    uint8_t *b = NULL;
    size_t len = 0;
    m2m_err err = {0};
    cJSON *back;
    (void)state;
    assert_int_equal(m2m_cbor_encode(v, &b, &len, &err), 0);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(b, want, sizeof want);
    back = m2m_cbor_decode_strict(b, len, &err);
    assert_non_null(back);
    assert_string_equal(back->valuestring, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    free(b);
    cJSON_Delete(v);
    cJSON_Delete(back);
}

static void a_representation_round_trips(void **state)
{
    const char *json = "{\"m2m:ae\":{\"rn\":\"Cdev\",\"ty\":2,\"ri\":\"Cdev\",\"pi\":\"cse-base\",\"ct\":"
                       "\"20261205T040000\",\"lbl\":[\"a\",\"b\"],\"rr\":false,\"api\":\"Rapp\",\"srv\":[\"3\"],"
                       "\"poa\":[],\"cs\":-12,\"st\":0.25}}";
    cJSON *v = cJSON_Parse(json), *back;
    uint8_t *b = NULL;
    size_t len = 0;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_cbor_encode(v, &b, &len, &err), 0);
    back = m2m_cbor_decode_strict(b, len, &err);
    assert_non_null(back);
    assert_true(cJSON_Compare(v, back, 1));
    free(b);
    cJSON_Delete(v);
    cJSON_Delete(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appendix_a_decodes),     cmocka_unit_test(refusals_say_why),
        cmocka_unit_test(nesting_is_bounded),     cmocka_unit_test(encodes_shortest),
        cmocka_unit_test(a_representation_round_trips), cmocka_unit_test(text_goes_out_as_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
