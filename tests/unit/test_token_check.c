/* SPDX-License-Identifier: Apache-2.0 */
/* The identity-token check of Step 5 (secctx/token.c, x.y.7) on malformed tokens, before the store is asked: no
 * token, one of the wrong length, one with characters outside base64url. Each is refused with a reason, binds
 * nobody and leaves no hash behind; a well-formed token that is not enrolled is refused the same way. A real
 * SQLite store holds one enrolled token, so the last checks show the store is what decides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fixture_tmpdir.h"
#include "secctx/token.h"

static void refused(m2m_store *st, const char *token, const char *why_part)
{
    m2m_prim_req req;
    m2m_peer peer;
    char hash[65], why[200];
    memset(&req, 0, sizeof req);
    memset(&peer, 0, sizeof peer);
    memset(hash, 'x', sizeof hash);
    snprintf(req.token, sizeof req.token, "%s", token);
    assert_int_equal(m2m_token_check(st, &req, &peer, hash, why, sizeof why), -1);
    assert_string_equal(peer.registree_id, "");
    assert_int_equal(hash[0], '\0');
    if (strstr(why, why_part) == NULL)
        fail_msg("token '%s': '%s' does not say '%s'", token, why, why_part);
}

static void test_malformed_tokens_refused(void **state)
{
    char dir[64], db[128], token[M2M_TOKEN_LEN + 1], hash[65], other[M2M_TOKEN_LEN + 1], ohash[65], why[200];
    m2m_store *st;
    m2m_err err;
    m2m_prim_req req;
    m2m_peer peer;
    (void)state;
    assert_int_equal(fixture_mkdtemp(dir, sizeof dir, "token"), 0);
    snprintf(db, sizeof db, "%s/reg.db", dir);
    assert_non_null(st = m2m_store_open(db, 1, &err));
    assert_int_equal(m2m_token_new(token, hash, &err), 0);
    assert_int_equal(m2m_store_enrol_token(st, "Ctok", hash, 0, &err), 0);

    refused(st, "", "no identity token");
    refused(st, "short", "not valid");
    refused(st, "AAAAAAAAAAAAAAAAAAAAAAA", "not valid");         /* 23 characters */
    refused(st, "AAAAAAAAAAAAAAAAAAAA+/", "not valid");          /* base64, not base64url */
    refused(st, "AAAAAAAAAAAAAAAAAAAA\"x", "not valid");
    assert_int_equal(m2m_token_new(other, ohash, &err), 0);     /* well-formed, never enrolled */
    refused(st, other, "not valid");

    /* the enrolled one passes, for the ID it was issued for */
    memset(&req, 0, sizeof req);
    memset(&peer, 0, sizeof peer);
    snprintf(req.token, sizeof req.token, "%s", token);
    assert_int_equal(m2m_token_check(st, &req, &peer, ohash, why, sizeof why), 0);
    assert_string_equal(peer.registree_id, "Ctok");
    assert_string_equal(ohash, hash);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_tokens_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
