/* SPDX-License-Identifier: Apache-2.0 */
/* Known-answer tests for seed clause a.b against ../shared/vectors/key-id.txt, plus hex and secret helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "m2mattach/keyid.h"
#include "util/hex.h"

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* Reads every [section] of the vector file: "Kcc = HEX" / "Kca = HEX" then "Kcc_ID = HEX" / "Kca_ID = HEX". */
static void test_vectors_file(void **state)
{
    char path[1024], line[512], key[256] = "", kind[32] = "";
    const char *dir = getenv("M2M_VECTORS");
    int checked = 0;
    FILE *f;
    (void)state;
    snprintf(path, sizeof path, "%s/key-id.txt", dir ? dir : "../shared/vectors");
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        char name[32], value[256];
        trim(line);
        if (sscanf(line, "%31s = %255s", name, value) != 2)
            continue;
        if (strcmp(name, "Kcc") == 0 || strcmp(name, "Kca") == 0) {
            snprintf(kind, sizeof kind, "%s", name);
            snprintf(key, sizeof key, "%s", value);
        } else if (strcmp(name, "Kcc_ID") == 0 || strcmp(name, "Kca_ID") == 0) {
            m2m_secret k = {0};
            m2m_err err;
            char id[33];
            assert_int_equal(strncmp(name, kind, 3), 0);
            assert_int_equal(m2m_secret_from_hex(&k, key, "key", &err), 0);
            assert_int_equal(m2m_keyid(kind[2] == 'c' ? M2M_KEY_KCC : M2M_KEY_KCA, k.bytes, k.len, id, &err), 0);
            assert_string_equal(id, value);
            m2m_secret_clear(&k);
            checked++;
        }
    }
    fclose(f);
    assert_int_equal(checked, 4);
}

/* The two labels differ, so the same key gives different IDs for Kcc and Kca. */
static void test_kinds_differ(void **state)
{
    static const unsigned char key[16] = {0};
    char a[33], c[33];
    (void)state;
    assert_int_equal(m2m_keyid(M2M_KEY_KCA, key, sizeof key, a, NULL), 0);
    assert_int_equal(m2m_keyid(M2M_KEY_KCC, key, sizeof key, c, NULL), 0);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 32);
}

static void test_kind_for_id(void **state)
{
    (void)state;
    assert_int_equal(m2m_key_kind_for_id("/mn-cse"), M2M_KEY_KCC);
    assert_int_equal(m2m_key_kind_for_id("Cdevice"), M2M_KEY_KCA);
}

static void test_keyid_refuses_empty(void **state)
{
    char id[33];
    m2m_err err;
    (void)state;
    assert_int_equal(m2m_keyid(M2M_KEY_KCA, (const unsigned char *)"", 0, id, &err), -1);
    assert_int_equal(err.code, M2M_E_ARG);
    assert_int_equal(m2m_keyid(0, (const unsigned char *)"x", 1, id, &err), -1);
}

static void test_hex_errors(void **state)
{
    unsigned char buf[4];
    size_t n;
    m2m_err err;
    (void)state;
    assert_int_equal(m2m_hex_decode("abc", buf, sizeof buf, &n, "--key", &err), -1);
    assert_non_null(strstr(err.msg, "--key"));
    assert_non_null(strstr(err.msg, "odd"));
    assert_int_equal(m2m_hex_decode("zz", buf, sizeof buf, &n, "--key", &err), -1);
    assert_non_null(strstr(err.msg, "not hex"));
    assert_int_equal(m2m_hex_decode("0011223344", buf, sizeof buf, &n, "--key", &err), -1);
    assert_non_null(strstr(err.msg, "at most 4"));
    assert_int_equal(m2m_hex_decode(" 0A0b ", buf, sizeof buf, &n, "--key", &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(buf[0], 0x0a);
    assert_int_equal(buf[1], 0x0b);
}

static void test_secret_equal_and_clear(void **state)
{
    m2m_secret s = {0};
    (void)state;
    assert_int_equal(m2m_secret_set(&s, "abcd", 4, NULL), 0);
    assert_true(m2m_secret_equal(s.bytes, s.len, "abcd", 4));
    assert_false(m2m_secret_equal(s.bytes, s.len, "abce", 4));
    assert_false(m2m_secret_equal(s.bytes, s.len, "abc", 3));
    m2m_secret_clear(&s);
    assert_int_equal(s.len, 0);
    for (size_t i = 0; i < sizeof s.bytes; i++)
        assert_int_equal(s.bytes[i], 0);
    assert_int_equal(m2m_secret_set(&s, "x", M2M_SECRET_MAX + 1, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_file),  cmocka_unit_test(test_kinds_differ),
        cmocka_unit_test(test_kind_for_id),   cmocka_unit_test(test_keyid_refuses_empty),
        cmocka_unit_test(test_hex_errors),    cmocka_unit_test(test_secret_equal_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
