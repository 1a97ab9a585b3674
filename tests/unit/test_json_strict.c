/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON (src/onem2m/json_strict.c), the parser of every body that crosses the wire: what cJSON alone takes
 * silently -- duplicate member names at any depth, a NUL inside a string (escaped or raw), nesting past the limit,
 * trailing data -- is refused with the member named; what is well-formed is taken as cJSON takes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onem2m/json_strict.h"

/* Parses text (strlen) and expects a refusal whose message is exactly want. */
static void refused(const char *text, size_t len, const char *want)
{
    m2m_err err = {0};
    cJSON *doc = m2m_json_parse_strict(text, len, &err);
    if (doc != NULL) {
        cJSON_Delete(doc);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(err.code, M2M_E_PARSE);
    assert_string_equal(err.msg, want);
}

static cJSON *accepted(const char *text, size_t len)
{
    m2m_err err = {0};
    cJSON *doc = m2m_json_parse_strict(text, len, &err);
    if (doc == NULL)
        fail_msg("refused (%s): %s", err.msg, text);
    return doc;
}

#define REFUSED(text, want) refused(text, sizeof text - 1, want)
#define ACCEPTED(text) accepted(text, sizeof text - 1)

static void test_well_formed_accepted(void **state)
{
    cJSON *doc;
    (void)state;
    doc = ACCEPTED(" \r\n\t{\"m2m:ae\":{\"rn\":\"a\",\"api\":\"Rx\",\"srv\":[\"3\",\"4\"],\"lbl\":[]},\"n\":null} \n");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "m2m:ae"), "api")
                            ->valuestring, "Rx");
    cJSON_Delete(doc);
    /* the same name in different objects is no duplicate; names differing in case are different names */
    cJSON_Delete(ACCEPTED("{\"a\":{\"x\":1},\"b\":{\"x\":2},\"c\":[{\"x\":1},{\"x\":2}],\"X\":3,\"x\":4}"));
    /* a scalar, an array */
    cJSON_Delete(ACCEPTED("42"));
    cJSON_Delete(ACCEPTED("[1,\"two\",{\"three\":3}]"));
}

static void test_duplicate_members_refused_at_every_depth(void **state)
{
    (void)state;
    REFUSED("{\"a\":1,\"a\":2}", "duplicate member \"a\" at the top level");
    /* the example: a <remoteCSE> claiming the Registrar's own CSE-ID after its own */
    REFUSED("{\"m2m:csr\":{\"cb\":\"/cse2/cb\",\"csi\":\"/cse2\",\"csi\":\"/id-in\",\"rr\":true}}",
            "duplicate member \"csi\" in m2m:csr");
    REFUSED("{\"m2m:ae\":{\"rn\":\"ok\",\"api\":\"Rx\",\"rn\":\"../x/y\"}}", "duplicate member \"rn\" in m2m:ae");
    REFUSED("{\"m2m:ae\":{},\"m2m:ae\":{}}", "duplicate member \"m2m:ae\" at the top level");
    REFUSED("{\"a\":{\"b\":{\"c\":{\"d\":1,\"e\":2,\"d\":3}}}}", "duplicate member \"d\" in a.b.c");
    REFUSED("{\"a\":[{\"k\":1},{\"k\":1,\"k\":2}]}", "duplicate member \"k\" in a[1]");
    REFUSED("[[{\"k\":1}],[{\"j\":1,\"j\":1}]]", "duplicate member \"j\" in [1][0]");
    /* the names as messages show them: non-printable characters as '?' (here an escaped newline) */
    REFUSED("{\"o\":{\"a\\nb\":1,\"a\\nb\":2}}", "duplicate member \"a?b\" in o");
}

static void test_duplicates_in_large_objects(void **state)
{
    char text[4096];
    size_t n = 0;
    cJSON *doc;
    (void)state;
    /* more members than are sorted on the stack: the malloc'd path, with and without a duplicate */
    n += (size_t)snprintf(text + n, sizeof text - n, "{");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"m%03d\":%d", i ? "," : "", i, i);
    snprintf(text + n, sizeof text - n, "}");
    doc = accepted(text, strlen(text));
    assert_int_equal(cJSON_GetArraySize(doc), 200);
    cJSON_Delete(doc);
    snprintf(text + n, sizeof text - n, ",\"m117\":0}");
    refused(text, strlen(text), "duplicate member \"m117\" at the top level");
}

static void test_nul_in_strings_refused(void **state)
{
    static const char raw_value[] = "{\"m2m:ae\":{\"aei\":\"Csensor1\0evil\"}}";
    static const char raw_name[] = "{\"a\0b\":1}";
    cJSON *doc;
    (void)state;
    /* the example: cJSON would give "Csensor1" */
    REFUSED("{\"m2m:ae\":{\"aei\":\"Csensor1\\u0000evil\"}}",
            "string m2m:ae.aei holds a NUL character (\\u0000)");
    REFUSED("{\"m2m:ae\":{\"srv\":[\"3\",\"\\u0000\"]}}", "string m2m:ae.srv[1] holds a NUL character (\\u0000)");
    REFUSED("\"\\u0000\"", "string (top level) holds a NUL character (\\u0000)");
    REFUSED("{\"m2m:ae\":{\"ae\\u0000i\":\"x\"}}", "a member name in m2m:ae holds a NUL character (\\u0000)");
    REFUSED("{\"k\\u0000\":1}", "a member name at the top level holds a NUL character (\\u0000)");
    /* a raw 0 byte inside a string is cut the same way */
    refused(raw_value, sizeof raw_value - 1, "string m2m:ae.aei holds a NUL character (\\u0000)");
    refused(raw_name, sizeof raw_name - 1, "a member name at the top level holds a NUL character (\\u0000)");
    /* an escaped backslash before "u0000" is text, not a NUL; a backslash then a real \u0000 is a NUL */
    doc = ACCEPTED("{\"a\":\"\\\\u0000\",\"b\":\"x\\\\\"}");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "a")->valuestring, "\\u0000");
    cJSON_Delete(doc);
    REFUSED("{\"a\":\"\\\\\\u0000\"}", "string a holds a NUL character (\\u0000)");
    /* other escapes of low code points are fine */
    cJSON_Delete(ACCEPTED("{\"a\":\"\\u0001\\u0010\\u00e9\"}"));
    /* a NUL is named before a duplicate it would fake: "a\u0000x" and "a" look the same once cut */
    REFUSED("{\"o\":{\"a\\u0000x\":1,\"a\":2}}", "a member name in o holds a NUL character (\\u0000)");
    /* the n-th string token is the one named, whatever strings come before it */
    REFUSED("{\"p\":\"x\",\"q\":[\"y\",{\"r\":\"z\",\"s\":\"\\u0000\"}]}",
            "string q[1].s holds a NUL character (\\u0000)");
}

static void test_depth_limit(void **state)
{
    char *text = malloc(2 * (M2M_JSON_MAX_DEPTH + 1) + 32);
    cJSON *doc;
    size_t n = 0;
    (void)state;
    assert_non_null(text);
    for (int i = 0; i < M2M_JSON_MAX_DEPTH; i++)
        text[n++] = '[';
    for (int i = 0; i < M2M_JSON_MAX_DEPTH; i++)
        text[n++] = ']';
    doc = accepted(text, n);
    cJSON_Delete(doc);
    n = 0;
    for (int i = 0; i < M2M_JSON_MAX_DEPTH + 1; i++)
        text[n++] = '[';
    for (int i = 0; i < M2M_JSON_MAX_DEPTH + 1; i++)
        text[n++] = ']';
    refused(text, n, "JSON nested deeper than 1000 levels");
    /* brackets inside strings do not nest */
    n = 0;
    n += (size_t)snprintf(text, 8, "{\"a\":\"");
    for (int i = 0; i < M2M_JSON_MAX_DEPTH + 1; i++)
        text[n++] = '[';
    memcpy(text + n, "\"}", 2);
    n += 2;
    cJSON_Delete(accepted(text, n));
    free(text);
}

static void test_malformed_and_trailing(void **state)
{
    m2m_err err = {0};
    (void)state;
    REFUSED("{\"a\":}", "malformed JSON near offset 5");
    REFUSED("{\"a\":1} x", "trailing data after the JSON value (offset 8)");
    REFUSED("{\"a\":1}{}", "trailing data after the JSON value (offset 7)");
    refused("{\"a\":1}\0", 8, "trailing data after the JSON value (offset 7)");
    REFUSED("", "empty JSON text");
    /* err may be NULL: the caller only wants the tree */
    assert_null(m2m_json_parse_strict("{\"a\":1,\"a\":1}", 13, NULL));
    assert_null(m2m_json_parse_strict(NULL, 0, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed_accepted),
        cmocka_unit_test(test_duplicate_members_refused_at_every_depth),
        cmocka_unit_test(test_duplicates_in_large_objects),
        cmocka_unit_test(test_nul_in_strings_refused),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_malformed_and_trailing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
