/* SPDX-License-Identifier: Apache-2.0 */
/* <briefing> (registrar/briefing.h) in the CSE: only its owner reads it, registered or not; the one-time
 * credential is in the first answer and gone from the store after it; nobody updates, deletes or creates under it;
 * and the Service Provider's add / list / remove. */
#include "fixture_cse.h"

#include "onem2m/status.h"
#include "registrar/briefing.h"

#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void enrol(fixture *f, const char *id, unsigned char fill)
{
    m2m_secret k = {0};
    char kid[33];
    m2m_err err;
    memset(k.bytes, fill, 32);
    k.len = 32;
    snprintf(kid, sizeof kid, "%02x%030d", fill, 0);
    assert_int_equal(m2m_store_enrol_psk(f->st, id, &k, kid, &err), 0);
}

/* A psk briefing for Cdev: attach to /target at https://127.0.0.1:9 as Cdev with KEY_HEX. */
static int add_psk(fixture *f, const char *id, m2m_err *err)
{
    m2m_secret key = {0};
    m2m_briefing_spec s = {.registree_id = id, .target_poa = "https://127.0.0.1:9", .target_cse_id = "/target",
                           .app_id = "Rapp", .mechanism = "psk", .key = &key, .key_id = "0123456789abcdef0123456789abcdef"};
    int rc;
    assert_int_equal(m2m_secret_from_hex(&key, KEY_HEX, "key", err), 0);
    rc = m2m_briefing_add(f->db, &s, err);
    m2m_secret_clear(&key);
    return rc;
}

static const char *auth_member(const m2m_prim_rsp *rsp, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rsp->pc, "m2m:brf"), "authenticationProfile"),
        name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_owner_reads_once(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    m2m_resource r = {0};
    m2m_err err;

    enrol(f, "Cdev", 1);
    assert_int_equal(add_psk(f, "Cdev", &err), 0);
    /* not registered here: the briefing is readable all the same, SP-relative without the CSEBase name */
    assert_int_equal(run(f, "Cdev", M2M_OP_RETRIEVE, "/in-cse/brf-Cdev", "Cdev", 0, NULL, &rsp), M2M_RSC_OK);
    assert_non_null(auth_member(&rsp, "symmKeyValue"));
    assert_string_equal(auth_member(&rsp, "symmKeyValue"), KEY_HEX);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:brf"), "ty")->valueint, M2M_TY_BRF);
    m2m_prim_rsp_clear(&rsp);
    /* gone from the store with that answer */
    assert_int_equal(m2m_store_res_get(f->st, "brf-Cdev", &r, &err), 0);
    assert_null(strstr(r.attrs, KEY_HEX));
    assert_non_null(strstr(r.attrs, "credentialHandedOut"));
    m2m_resource_clear(&r);
    /* a second read (structured address this time) answers without it */
    assert_int_equal(run(f, "Cdev", M2M_OP_RETRIEVE, "cse-base/brf-Cdev", "Cdev", 0, NULL, &rsp), M2M_RSC_OK);
    assert_null(auth_member(&rsp, "symmKeyValue"));
    assert_string_equal(auth_member(&rsp, "symmKeyID"), "0123456789abcdef0123456789abcdef");
    m2m_prim_rsp_clear(&rsp);
}

static void test_others_and_changes_refused(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp a, b;
    m2m_err err;

    enrol(f, "Cdev", 1);
    enrol(f, "Cother", 2);
    assert_int_equal(add_psk(f, "Cdev", &err), 0);
    /* another Registree: exactly what a missing resource answers */
    assert_int_equal(run(f, "Cother", M2M_OP_RETRIEVE, "/in-cse/brf-Cdev", "Cother", 0, NULL, &a), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cother", M2M_OP_RETRIEVE, "/in-cse/brf-Cnone", "Cother", 0, NULL, &b),
                     M2M_RSC_NOT_FOUND);
    assert_null(a.pc);
    assert_null(strstr(a.dbg, "brief"));
    m2m_prim_rsp_clear(&a);
    m2m_prim_rsp_clear(&b);
    /* speaking for the owner on someone else's context: 4106 before anything is looked up */
    assert_int_equal(run(f, "Cother", M2M_OP_RETRIEVE, "/in-cse/brf-Cdev", "Cdev", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cother", M2M_OP_DELETE, "/in-cse/brf-Cdev", "Cother", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    /* the owner cannot change it over the wire */
    assert_int_equal(run(f, "Cdev", M2M_OP_UPDATE, "/in-cse/brf-Cdev", "Cdev", 0, "{\"m2m:brf\":{}}", NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    assert_int_equal(run(f, "Cdev", M2M_OP_DELETE, "/in-cse/brf-Cdev", "Cdev", 0, NULL, NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    assert_int_equal(run(f, "Cdev", M2M_OP_CREATE, "/in-cse/brf-Cdev", "Cdev", M2M_TY_CNT, "{\"m2m:cnt\":{}}", NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    /* none of it took the one-time key */
    assert_int_equal(run(f, "Cdev", M2M_OP_RETRIEVE, "/in-cse/brf-Cdev", "Cdev", 0, NULL, &a), M2M_RSC_OK);
    assert_non_null(auth_member(&a, "symmKeyValue"));
    m2m_prim_rsp_clear(&a);
}

struct seen {
    int n;
    char cred[64];
};
static void keep_listed(const char *id, const char *cse, const char *poa, const char *mech, const char *cred,
                        void *ctx)
{
    struct seen *s = ctx;
    (void)cse, (void)poa, (void)mech;
    if (strcmp(id, "Cdev") == 0)
        snprintf(s->cred, sizeof s->cred, "%s", cred);
    s->n++;
}

static void test_add_list_remove(void **state)
{
    fixture *f = *state;
    struct seen s = {0};
    m2m_resource r = {0};
    int handed = -1;
    m2m_err err;

    assert_int_equal(add_psk(f, "Cdev", &err), -1); /* not enrolled at this Registrar */
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    enrol(f, "Cdev", 1);
    assert_int_equal(add_psk(f, "Cdev", &err), 0);
    assert_int_equal(add_psk(f, "Cdev", &err), 0); /* replaces */
    assert_int_equal(m2m_briefing_list(f->db, keep_listed, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.cred, "waiting");
    /* the writer's unit, twice: only the first hands out */
    assert_int_equal(m2m_briefing_hand_out(f->st, "brf-Cdev", 1000, &r, &handed, &err), 0);
    assert_int_equal(handed, 1);
    assert_non_null(strstr(r.attrs, KEY_HEX));
    m2m_resource_clear(&r);
    assert_int_equal(m2m_briefing_hand_out(f->st, "brf-Cdev", 1001, &r, &handed, &err), 0);
    assert_int_equal(handed, 0);
    assert_null(strstr(r.attrs, KEY_HEX));
    m2m_resource_clear(&r);
    s.n = 0;
    assert_int_equal(m2m_briefing_list(f->db, keep_listed, &s, &err), 0);
    assert_non_null(strstr(s.cred, "handed out"));
    assert_int_equal(m2m_briefing_remove(f->db, "Cdev", &err), 0);
    assert_int_equal(m2m_briefing_remove(f->db, "Cdev", &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    /* a spec that misses its mechanism's material is refused */
    {
        m2m_briefing_spec bad = {.registree_id = "Cdev", .target_poa = "https://127.0.0.1:9",
                                 .target_cse_id = "/target", .app_id = "Rapp", .mechanism = "token"};
        assert_int_equal(m2m_briefing_add(f->db, &bad, &err), -1);
        assert_int_equal(err.code, M2M_E_ARG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_owner_reads_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_others_and_changes_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_list_remove, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
