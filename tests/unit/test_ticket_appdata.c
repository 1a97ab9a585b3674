/* SPDX-License-Identifier: Apache-2.0 */
/* The binding a session ticket carries (secctx/resume.c, m2m_resume_parse_appdata): the Registrar sealed it, but
 * what it reads back must still have exactly the shape it writes -- nine fields, a known mechanism, numbers in
 * range -- or the ticket binds nobody (a full handshake follows). One well-formed binding, then each field broken
 * in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "secctx/resume.h"

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *s, m2m_candidate *c, char fp[65])
{
    memset(c, 0, sizeof *c);
    return m2m_resume_parse_appdata(s, strlen(s), c, fp);
}

static void test_well_formed(void **state)
{
    m2m_candidate c;
    char fp[65];
    (void)state;
    assert_int_equal(parse("m2m4\npsk\nCae1\n00112233445566778899aabbccddeeff\n" FP "\n771\n174\n-\n0", &c, fp), 0);
    assert_string_equal(c.peer.mechanism, "psk");
    assert_string_equal(c.peer.registree_id, "Cae1");
    assert_string_equal(c.peer.enrol_id, "");
    assert_int_equal(c.version, 771);
    assert_int_equal(c.suite, 174);
    assert_string_equal(fp, FP);
    assert_int_equal(parse("m2m4\ngba\nCg\nkid\n" FP "\n772\n672\nimpi-hash\n1900000000", &c, fp), 0);
    assert_string_equal(c.peer.enrol_id, "impi-hash");
    assert_int_equal(c.peer.not_after, 1900000000);
}

static void test_broken_fields_refused(void **state)
{
    static const char *const bad[] = {
        "",                                                                     /* empty: an unbound context */
        "m2m3\npsk\nCae1\nkid\n" FP "\n771\n174\n-\n0",                         /* an older format */
        "m2m4\nnone\nCae1\nkid\n" FP "\n771\n174\n-\n0",                        /* no such mechanism */
        "m2m4\npsk\nCae1\nkid\n" FP "\n771\n174\n-",                            /* a field short */
        "m2m4\npsk\nCae1\nkid\n" FP "\n771\n174\n-\n0\nextra",                  /* a field over */
        "m2m4\npsk\nCae1\nkid\n" FP "\n77x\n174\n-\n0",                         /* version not a number */
        "m2m4\npsk\nCae1\nkid\n" FP "\n0\n174\n-\n0",                           /* version out of range */
        "m2m4\npsk\nCae1\nkid\n" FP "\n771\n-5\n-\n0",                          /* suite out of range */
        "m2m4\npsk\nCae1\nkid\n" FP "\n771\n16777216\n-\n0",
        "m2m4\npsk\nCae1\nkid\n" FP "\n771\n174\n-\nsoon",                      /* not_after not a number */
        "m2m4\npsk\nCae1\nkid\n" FP "\n771\n174\n-\n-1",
        "m2m4\npsk\nCae1\nkid\n" FP "0\n771\n174\n-\n0",                        /* fingerprint too long */
        NULL};
    m2m_candidate c;
    char fp[65];
    (void)state;
    for (int i = 0; bad[i] != NULL; i++)
        if (parse(bad[i], &c, fp) != -1)
            fail_msg("taken: '%s'", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_broken_fields_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
