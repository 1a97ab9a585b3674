/* SPDX-License-Identifier: Apache-2.0 */
/* The store when its database fails (src/store/): every operation the security contexts and the CLI rely on reports
 * the failure (-1, M2M_E_STORE) instead of an answer, and a write that fails half-way leaves nothing behind. A
 * failure is a lookup that cannot be told from "not enrolled" only at the caller's peril: an error must never read
 * as "no such enrolment", "no ticket keys" or "token unused". Faults are real: a second connection (another
 * process, as an operator's sqlite3 or psql would be) renames a table away or adds a trigger that aborts writes to
 * it, so the store's own statements fail inside SQLite or PostgreSQL. Runs on SQLite; CTest's
 * unit.test_store_faults.pg runs the same checks on PostgreSQL (fixture_store.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "fixture_store.h"
#include "fixture_tmpdir.h"
#include "store/store.h"

#define KID1 "00112233445566778899aabbccddeeff"
#define KID2 "102132435465768798a9bacbdcedfe0f"
#define TOKEN_HASH "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

static char dir[64], loc[512];

/* Runs SQL on the store's database through a connection of its own: sqlite3 on the file, or libpq. */
static void outside(const char *sqlite_sql, const char *pg_sql)
{
    if (fixture_pg() != NULL) {
        assert_int_equal(fixture_pg_exec(loc, pg_sql), 0);
        return;
    }
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open_v2(loc, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_exec(db, sqlite_sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sqlite_sql, msg);
    sqlite3_close(db);
}

/* Every later INSERT, UPDATE and DELETE on table aborts (until writes_heal). */
static void writes_fail(const char *table)
{
    char s[768], p[512];
    snprintf(s, sizeof s,
             "CREATE TRIGGER fault_i BEFORE INSERT ON %s BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
             "CREATE TRIGGER fault_u BEFORE UPDATE ON %s BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
             "CREATE TRIGGER fault_d BEFORE DELETE ON %s BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
             table, table, table);
    snprintf(p, sizeof p,
             "CREATE OR REPLACE FUNCTION fault() RETURNS trigger LANGUAGE plpgsql AS "
             "$$BEGIN RAISE EXCEPTION 'injected fault'; END$$;"
             "CREATE TRIGGER fault BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION fault()",
             table);
    outside(s, p);
}

static void writes_heal(const char *table)
{
    char p[128];
    snprintf(p, sizeof p, "DROP TRIGGER fault ON %s", table);
    outside("DROP TRIGGER fault_i; DROP TRIGGER fault_u; DROP TRIGGER fault_d", p);
}

/* The table is gone (renamed away): every statement on it fails, reads included. */
static void table_gone(const char *table, int back)
{
    char s[160];
    if (back)
        snprintf(s, sizeof s, "ALTER TABLE %s_gone RENAME TO %s", table, table);
    else
        snprintf(s, sizeof s, "ALTER TABLE %s RENAME TO %s_gone", table, table);
    outside(s, s);
}

/* The table is there and its statements prepare, but reading its rows fails part-way (a view in its place whose
 * condition overflows when evaluated: SQLite's abs() of the smallest integer; PostgreSQL fails the same query). */
static void rows_fail(const char *table, int back)
{
    char s[400];
    if (back)
        snprintf(s, sizeof s, "DROP VIEW %s; ALTER TABLE %s_gone RENAME TO %s", table, table, table);
    else
        snprintf(s, sizeof s, "ALTER TABLE %s RENAME TO %s_gone; CREATE VIEW %s AS SELECT * FROM %s_gone "
                 "WHERE abs(-9223372036854775807 - 1) > 0", table, table, table, table);
    outside(s, s);
}

static void key_of(m2m_secret *k, unsigned char fill)
{
    unsigned char b[32];
    m2m_err err;
    memset(b, fill, sizeof b);
    assert_int_equal(m2m_secret_set(k, b, sizeof b, &err), 0);
}

static int64_t generation(m2m_store *st)
{
    int64_t g = -1;
    m2m_err err;
    assert_int_equal(m2m_store_enrol_generation(st, &g, &err), 0);
    return g;
}

static int setup(void **state)
{
    m2m_err err = {0};
    m2m_store *st;
    if (fixture_mkdtemp(dir, sizeof dir, "faults") != 0 || fixture_store_location(dir, "reg", loc, sizeof loc) != 0)
        return -1;
    if ((st = m2m_store_open(loc, 1, &err)) == NULL || m2m_store_set_identity(st, "/in-cse", "in-name", &err) != 0) {
        fprintf(stderr, "open %s: %s\n", loc, err.msg);
        return -1;
    }
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    m2m_store_close(*state);
    fixture_rmdir(dir);
    return 0;
}

/* The enrolment's generation cannot be bumped: the enrolment itself must not stay (a worker would never learn of
 * it, and a retry would find the identity taken). */
static void test_enrol_is_all_or_nothing(void **state)
{
    m2m_store *st = *state;
    m2m_secret k;
    m2m_enrolment e;
    m2m_err err;
    int64_t gen;
    key_of(&k, 1);
    assert_int_equal(m2m_store_enrol_psk(st, "Cfirst", &k, KID1, &err), 0);
    gen = generation(st);

    writes_fail("meta");
    assert_int_equal(m2m_store_enrol_psk(st, "Csecond", &k, KID2, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    assert_int_equal(m2m_store_enrol_token(st, "Ctoken", TOKEN_HASH, 0, &err), -1);
    assert_int_equal(m2m_store_revoke(st, "Cfirst", &err), -1); /* a revocation that did not happen says so */
    writes_heal("meta");

    assert_int_equal(generation(st), gen);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_find_token(st, TOKEN_HASH, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_enrolment_active(st, "Cfirst", KID1, &err), 1);
    writes_fail("enrolment");
    assert_int_equal(m2m_store_revoke(st, "Cfirst", &err), -1); /* the revoking UPDATE itself fails */
    /* a new key for Cfirst (retiring the old one fails) and a new Registree (inserting fails): neither half-done */
    assert_int_equal(m2m_store_enrol_psk(st, "Cfirst", &k, "33333333333333333333333333333333", &err), -1);
    assert_int_equal(m2m_store_enrol_psk(st, "Cthird", &k, "44444444444444444444444444444444", &err), -1);
    writes_heal("enrolment");
    assert_int_equal(m2m_store_find_psk(st, "33333333333333333333333333333333", &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_find_psk(st, "44444444444444444444444444444444", &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    /* healed, the same writes go through */
    assert_int_equal(m2m_store_enrol_psk(st, "Csecond", &k, KID2, &err), 0);
    assert_int_equal(m2m_store_revoke(st, "Cfirst", &err), 0);
    assert_int_equal(m2m_store_enrolment_active(st, "Cfirst", KID1, &err), 0);
    m2m_secret_clear(&k);
}

/* Lookups on a store that fails answer "failed", never "not enrolled", "inactive" or "nothing". */
static void test_lookups_fail_closed(void **state)
{
    m2m_store *st = *state;
    m2m_secret k;
    m2m_enrolment e;
    m2m_err err;
    int64_t gen;
    key_of(&k, 2);
    assert_int_equal(m2m_store_enrol_psk(st, "Cpsk", &k, KID1, &err), 0);
    assert_int_equal(m2m_store_enrol_cert(st, "Ccert", TOKEN_HASH, NULL, &err), 0);

    table_gone("enrolment", 0);
    /* twice: the first call meets the change while stepping, the second while preparing */
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_true(e.key.len == 0 && e.registree_id[0] == '\0'); /* nothing of a half-read row is left */
        assert_int_equal(m2m_store_find_cert(st, TOKEN_HASH, &e, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_find_token(st, TOKEN_HASH, &e, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_consume_token(st, TOKEN_HASH, 1000, &e, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_enrolment_active(st, "Cpsk", KID1, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_registree_known(st, "Cpsk", &err), -1);
        assert_int_equal(m2m_store_list(st, 1, NULL, NULL, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_revoke(st, "Cpsk", &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
    }
    table_gone("enrolment", 1);
    rows_fail("enrolment", 0);
    assert_int_equal(m2m_store_list(st, 1, NULL, NULL, &err), -1);
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    rows_fail("enrolment", 1);

    gen = generation(st);
    table_gone("meta", 0);
    assert_int_equal(m2m_store_enrol_generation(st, &gen, &err), -1);
    {
        char v[32], id[M2M_ID_MAX], name[M2M_ID_MAX];
        assert_int_equal(m2m_store_get_meta(st, "tls_cert", v, sizeof v, &err), -1); /* not "no such setting" */
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_get_identity(st, id, name, &err), -1);
        assert_int_equal(m2m_store_set_meta(st, "tls_cert", "/etc/x.pem", &err), -1);
    }
    table_gone("meta", 1);
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), 0);
    assert_string_equal(e.registree_id, "Cpsk");
    m2m_enrolment_clear(&e);
    m2m_secret_clear(&k);
}

/* A token whose use cannot be recorded is not used: the attachment fails, and the token still works once. */
static void test_token_use_not_recorded(void **state)
{
    m2m_store *st = *state;
    m2m_enrolment e;
    m2m_err err;
    assert_int_equal(m2m_store_enrol_token(st, "Ctoken", TOKEN_HASH, 0, &err), 0);
    writes_fail("enrolment");
    assert_int_equal(m2m_store_consume_token(st, TOKEN_HASH, 1000, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_release_token(st, TOKEN_HASH, &err), -1);
    writes_heal("enrolment");
    assert_int_equal(m2m_store_consume_token(st, TOKEN_HASH, 1000, &e, &err), 0);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_consume_token(st, TOKEN_HASH, 1001, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_AUTH);
    m2m_enrolment_clear(&e);
}

/* Ticket keys that cannot be read are an error, not an empty list: with none, a Registrar would refuse every
 * ticket or rotate in a new key while the old ones still exist (the SQLite reader used to stop at the first
 * failing step and answer "no keys"). */
static void test_ticket_keys_unreadable(void **state)
{
    m2m_store *st = *state;
    m2m_ticket_key k[4];
    m2m_err err;
    int n = -1;
    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 1, k, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    /* rows the reader fails on while stepping through them (the statement itself prepares fine): SQLite's
     * abs() of the smallest integer is an overflow error at run time; PostgreSQL fails the query the same way */
    outside("ALTER TABLE ticket_key RENAME TO ticket_key_gone;"
            "CREATE VIEW ticket_key(name, aes, hmac, created) AS SELECT name, aes, hmac, "
            "created + abs(-9223372036854775807 - 1) FROM ticket_key_gone",
            "ALTER TABLE ticket_key RENAME TO ticket_key_gone;"
            "CREATE VIEW ticket_key(name, aes, hmac, created) AS SELECT name, aes, hmac, "
            "created + abs(-9223372036854775807 - 1) FROM ticket_key_gone");
    n = -1;
    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 0, k, 4, &n, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    assert_int_equal(n, 0);
    assert_int_equal(m2m_store_ticket_keys(st, 1300, 100, 1, k, 4, &n, &err), -1);
    assert_int_equal(n, 0);
    outside("DROP VIEW ticket_key; ALTER TABLE ticket_key_gone RENAME TO ticket_key",
            "DROP VIEW ticket_key; ALTER TABLE ticket_key_gone RENAME TO ticket_key");
    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 0, k, 4, &n, &err), 0);
    assert_int_equal(n, 1);

    /* a rotation that cannot store its new key fails, and the old key stays the only one */
    writes_fail("ticket_key");
    assert_int_equal(m2m_store_ticket_keys(st, 1300, 100, 1, k, 4, &n, &err), -1);
    writes_heal("ticket_key");
    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 0, k, 4, &n, &err), 0);
    assert_int_equal(n, 1);
}

/* A generated key (x.y.8) that cannot be stored, promoted or expired leaves the enrolment's current key in place. */
static void test_generated_key_faults(void **state)
{
    m2m_store *st = *state;
    m2m_secret k, next;
    m2m_enrolment e;
    m2m_err err;
    int promoted = -1;
    key_of(&k, 3);
    key_of(&next, 4);
    assert_int_equal(m2m_store_enrol_psk(st, "Cgen", &k, KID1, &err), 0);
    /* (the table gone, not a trigger: SQLite reports a trigger's abort as a constraint, which this operation
     * rightly reads as "key ID taken") */
    table_gone("enrolment", 0);
    for (int pass = 0; pass < 2; pass++) { /* met while stepping, then while preparing */
        assert_int_equal(m2m_store_enrol_generated_psk(st, "Cgen", &next, KID2, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
    }
    table_gone("enrolment", 1);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);

    assert_int_equal(m2m_store_enrol_generated_psk(st, "Cgen", &next, KID2, &err), 0);
    writes_fail("enrolment");
    assert_int_equal(m2m_store_promote_psk(st, "Cgen", KID2, &err), -1);
    assert_int_equal(m2m_store_expire_pending(st, INT64_MAX, &promoted, &err), -1);
    writes_heal("enrolment");
    /* both keys still work: the promotion did not half-happen */
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), 0);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), 0);
    m2m_enrolment_clear(&e);
    m2m_secret_clear(&k);
    m2m_secret_clear(&next);
}

static int count_child(const m2m_resource *r, void *ctx)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

/* The resource tree (what an attached Registree may read and write) reports failures, never "absent" or "empty". */
static void test_resource_faults(void **state)
{
    m2m_store *st = *state;
    m2m_resource r, out;
    m2m_err err;
    char ri[4][M2M_RI_MAX];
    int64_t count = -1, bytes = -1;
    int n = -1, removed = -1;
    memset(&r, 0, sizeof r);
    snprintf(r.ri, sizeof r.ri, "%s", "ae1");
    snprintf(r.pi, sizeof r.pi, "%s", "cb");
    snprintf(r.rn, sizeof r.rn, "%s", "ae1");
    snprintf(r.owner, sizeof r.owner, "%s", "Cae1");
    r.ty = 2;
    r.attrs = (char *)"{}";
    r.ct = r.lt = 1700000000;
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);

    table_gone("resource", 0);
    /* twice: the first call meets the change while stepping, the second while preparing */
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(m2m_store_res_get(st, "ae1", &out, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_res_child(st, "cb", "ae1", &out, &err), -1);
        assert_int_equal(m2m_store_res_update(st, "ae1", "{\"lbl\":[]}", 1700000001, 0, &err), -1);
        assert_int_equal(m2m_store_res_delete(st, "ae1", &err), -1);
        assert_int_equal(m2m_store_res_expired(st, 1800000000, ri, 4, &n, &err), -1);
        assert_int_equal(m2m_store_res_count_children(st, "cb", 2, &count, &err), -1);
        assert_int_equal(m2m_store_res_children(st, "cb", count_child, &n, &err), -1);
        assert_int_equal(m2m_store_res_expire_children(st, "cb", 2, 1800000000, &removed, &err), -1);
        snprintf(r.ri, sizeof r.ri, "%s", "ae2");
        snprintf(r.rn, sizeof r.rn, "%s", "ae2");
        assert_int_equal(m2m_store_res_insert(st, &r, &err), -1);
        assert_int_equal(m2m_store_res_insert_capped(st, &r, 10, 1 << 20, 0, &removed, &err), -1);
    }
    table_gone("resource", 1);

    /* writes that fail inside SQL (the resource is there to change): nothing changes */
    writes_fail("resource");
    assert_int_equal(m2m_store_res_update(st, "ae1", "{\"lbl\":[]}", 1700000001, 0, &err), -1);
    assert_int_equal(m2m_store_res_delete(st, "ae1", &err), -1);
    assert_int_equal(m2m_store_res_expire_children(st, "cb", 2, 1800000000, &removed, &err), -1);
    writes_heal("resource");

    table_gone("usage", 0);
    assert_int_equal(m2m_store_res_usage(st, "Cae1", &count, &bytes, &err), -1);
    table_gone("usage", 1);
    /* healed: the resource is there as it was, the failed insert is not */
    assert_int_equal(m2m_store_res_get(st, "ae1", &out, &err), 0);
    assert_string_equal(out.attrs, "{}");
    m2m_resource_clear(&out);
    assert_int_equal(m2m_store_res_get(st, "ae2", &out, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
}

static void no_subscriber(const m2m_gba_subscriber *s, void *ctx)
{
    (void)s, (void)ctx;
}

/* The BSF's tables (x.y.5): a subscriber's key and sequence number, a bootstrapping's Ks. A lookup that fails is
 * not "no such subscriber" (the BSF would answer a device "unknown"), and a sequence number that cannot be raised
 * is reported (a vector must never be reused); rows too short to be a key are refused, never padded. */
static void test_gba_table_faults(void **state)
{
    m2m_store *st = *state;
    m2m_gba_subscriber s = {0}, got;
    m2m_gba_bootstrap b = {0}, bg;
    m2m_err err;
    int removed = -1;
    snprintf(s.impi, sizeof s.impi, "%s", "001@ims.example");
    memset(s.k, 0x4b, sizeof s.k);
    memset(s.opc, 0x0c, sizeof s.opc);
    s.sqn = 32;
    assert_int_equal(m2m_store_gba_subscriber_add(st, &s, &err), 0);
    snprintf(b.btid, sizeof b.btid, "%s", "AAAA@bsf.example");
    snprintf(b.impi, sizeof b.impi, "%s", s.impi);
    b.created = 1000;
    b.expires = 2000;
    assert_int_equal(m2m_store_gba_bootstrap_put(st, &b, &err), 0);

    table_gone("gba_subscriber", 0);
    /* twice: the first call meets the change while stepping, the second while preparing */
    for (int pass = 0; pass < 2; pass++) {
        snprintf(s.impi, sizeof s.impi, "%s", "002@ims.example");
        assert_int_equal(m2m_store_gba_subscriber_add(st, &s, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_gba_subscriber_get(st, "001@ims.example", &got, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_gba_subscriber_set_sqn(st, "001@ims.example", 64, 1, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_gba_subscriber_remove(st, "001@ims.example", &err), -1);
        assert_int_equal(m2m_store_gba_subscriber_list(st, no_subscriber, NULL, &err), -1);
    }
    table_gone("gba_subscriber", 1);
    assert_int_equal(m2m_store_gba_subscriber_remove(st, "nobody@ims.example", &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);

    table_gone("gba_bootstrap", 0);
    /* twice: the first call meets the change while stepping, the second while preparing */
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(m2m_store_gba_bootstrap_put(st, &b, &err), -1);
        assert_int_equal(m2m_store_gba_bootstrap_get(st, b.btid, 1500, &bg, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        assert_int_equal(m2m_store_gba_bootstrap_expire(st, 3000, &removed, &err), -1);
        assert_int_equal(m2m_store_gba_subscriber_remove(st, "001@ims.example", &err), -1); /* takes its records too */
    }
    table_gone("gba_bootstrap", 1);

    /* reads that fail after the statement started: still failures, not "no such subscriber" */
    rows_fail("gba_subscriber", 0);
    assert_int_equal(m2m_store_gba_subscriber_get(st, "001@ims.example", &got, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    assert_int_equal(m2m_store_gba_subscriber_list(st, no_subscriber, NULL, &err), -1);
    rows_fail("gba_subscriber", 1);
    rows_fail("gba_bootstrap", 0);
    assert_int_equal(m2m_store_gba_bootstrap_get(st, b.btid, 1500, &bg, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    rows_fail("gba_bootstrap", 1);

    /* healed: nothing was removed or changed by the failed calls */
    assert_int_equal(m2m_store_gba_subscriber_get(st, "001@ims.example", &got, &err), 0);
    assert_int_equal(got.sqn, 32);
    assert_int_equal(m2m_store_gba_bootstrap_get(st, b.btid, 1500, &bg, &err), 0);

    /* a key column that is not 16 octets: refused as malformed */
    outside("UPDATE gba_subscriber SET k = x'0102'", "UPDATE gba_subscriber SET k = '\\x0102'");
    assert_int_equal(m2m_store_gba_subscriber_get(st, "001@ims.example", &got, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
}

/* Rows that are not what the store writes: an enrolment without its key, a ticket key of the wrong size. Neither
 * is used: the PSK lookup fails (it is no "not found" either: the operator must look), the bad ticket key is left
 * out of the keys a Registrar seals and accepts tickets with. */
static void test_broken_rows_unused(void **state)
{
    m2m_store *st = *state;
    m2m_secret k;
    m2m_enrolment e;
    m2m_ticket_key tk[4];
    m2m_err err;
    int n = -1;
    key_of(&k, 5);
    assert_int_equal(m2m_store_enrol_psk(st, "Cnokey", &k, KID1, &err), 0);
    m2m_secret_clear(&k);
    outside("UPDATE enrolment SET key = NULL", "UPDATE enrolment SET key = NULL");
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    assert_int_equal(e.key.len, 0);
    /* nor one longer than any key this build stores (refused, never truncated to a prefix) */
    outside("UPDATE enrolment SET key = zeroblob(300)", "UPDATE enrolment SET key = decode(repeat('00', 300), 'hex')");
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), -1);
    assert_int_equal(e.key.len, 0);

    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 1, tk, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    outside("INSERT INTO ticket_key(name, aes, hmac, created) VALUES (x'00', x'01', x'02', 1050)",
            "INSERT INTO ticket_key(name, aes, hmac, created) VALUES ('\\x00', '\\x01', '\\x02', 1050)");
    assert_int_equal(m2m_store_ticket_keys(st, 1060, 100, 0, tk, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(tk[0].created, 1000);
}

static void schema_version_is(const char *v)
{
    char s[128];
    if (v == NULL)
        snprintf(s, sizeof s, "DELETE FROM meta WHERE k = 'schema_version'");
    else
        snprintf(s, sizeof s, "INSERT INTO meta(k, v) VALUES ('schema_version', '%s') "
                 "ON CONFLICT(k) DO UPDATE SET v = excluded.v", v);
    outside(s, s);
}

static void open_refused(const char *location, const char *why_part)
{
    m2m_err err;
    assert_null(m2m_store_open(location, 0, &err));
    if (strstr(err.msg, why_part) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, why_part);
}

/* What is not a store of this build is refused when opened, never taken for an empty store or used as it is: a
 * file or database without the schema, one with a meta table but no version, one from a newer build, and one
 * whose migration fails (rolled back whole: it keeps its version). */
static void test_foreign_stores_refused(void **state)
{
    char other[512];
    (void)state;
    if (fixture_pg() == NULL) {
        sqlite3 *db;
        snprintf(other, sizeof other, "%s/other.db", dir);
        assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        open_refused(other, "not an m2mattach store");
    } else {
        assert_int_equal(fixture_store_location(dir, "empty", other, sizeof other), 0); /* a new, empty database */
        open_refused(other, "no m2mattach schema");
    }
    if (fixture_pg() == NULL) {
        m2m_err err;
        snprintf(other, sizeof other, "%s/no-such-dir/reg.db", dir);
        assert_null(m2m_store_open(other, 1, &err));
        assert_int_equal(err.code, M2M_E_IO);
    }
    schema_version_is("999");
    open_refused(loc, "newer than this build");
    schema_version_is(NULL);
    open_refused(loc, "no schema version");
    schema_version_is("5");
    open_refused(loc, fixture_pg() != NULL ? "no migration from schema version 5" : "duplicate column");
    if (fixture_pg() == NULL) {
        sqlite3 *db;
        sqlite3_stmt *q;
        assert_int_equal(sqlite3_open(loc, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = 'schema_version'", -1, &q, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(q, 0), "5");
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enrol_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookups_fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_use_not_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_keys_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_key_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gba_table_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_rows_unused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_stores_refused, setup, teardown),
    };
    printf("test_store_faults: back-end %s\n", fixture_pg() != NULL ? "PostgreSQL" : "SQLite");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
