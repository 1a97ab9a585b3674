/* SPDX-License-Identifier: Apache-2.0 */
/* The contract of every store operation (store.h), part of test_store.c (included there; it uses its fixtures):
 * the same checks run against SQLite and PostgreSQL. */
#include <sqlite3.h>
#include <time.h>

#define KID1 "00112233445566778899aabbccddeeff"
#define KID2 "102132435465768798a9bacbdcedfe0f"
#define KID3 "2222222222222222222222222222222a"
#define KID4 "3333333333333333333333333333333b"

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

static int count_cb_n;
static void count_cb(const m2m_enrolment *e, void *ctx)
{
    (void)e, (void)ctx;
    count_cb_n++;
}

static int list_count(m2m_store *st, int all)
{
    m2m_err err;
    count_cb_n = 0;
    assert_int_equal(m2m_store_list(st, all, count_cb, NULL, &err), 0);
    return count_cb_n;
}

static void test_meta(void **state)
{
    char dir[64], loc[512], v[16], big[64];
    m2m_err err;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    assert_int_equal(m2m_store_get_meta(st, "tls_cert", v, sizeof v, &err), 0);
    assert_string_equal(v, "");
    assert_int_equal(m2m_store_set_meta(st, "tls_cert", "/etc/a.pem", &err), 0);
    assert_int_equal(m2m_store_set_meta(st, "tls_cert", "/etc/b.pem", &err), 0);
    assert_int_equal(m2m_store_get_meta(st, "tls_cert", v, sizeof v, &err), 0);
    assert_string_equal(v, "/etc/b.pem");
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(m2m_store_set_meta(st, "long", big, &err), 0);
    assert_int_equal(m2m_store_get_meta(st, "long", v, sizeof v, &err), -1); /* refused, never truncated */
    assert_int_equal(m2m_store_registree_known(st, "Cnobody", &err), 0);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static void test_enrol_psk(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_secret k1, k2;
    m2m_enrolment e;
    int64_t g0, g1, g2;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    key_of(&k1, 0x11);
    key_of(&k2, 0x22);
    g0 = generation(st);
    assert_int_equal(m2m_store_enrol_psk(st, "Cae1", &k1, KID1, &err), 0);
    g1 = generation(st);
    assert_true(g1 > g0);
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), 0);
    assert_string_equal(e.registree_id, "Cae1");
    assert_string_equal(e.mechanism, "psk");
    assert_int_equal(e.key.len, 32);
    assert_memory_equal(e.key.bytes, k1.bytes, 32);
    assert_int_equal(e.pending, 0);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_enrolment_active(st, "Cae1", KID1, &err), 1);
    assert_int_equal(m2m_store_registree_known(st, "Cae1", &err), 1);
    /* a key ID names one Registree, ever */
    assert_int_equal(m2m_store_enrol_psk(st, "Cae2", &k1, KID1, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    /* re-keying replaces the active key */
    assert_int_equal(m2m_store_enrol_psk(st, "Cae1", &k2, KID2, &err), 0);
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_enrolment_active(st, "Cae1", KID1, &err), 0);
    assert_int_equal(m2m_store_enrolment_active(st, "Cae1", KID2, &err), 1);
    assert_int_equal(m2m_store_enrol_psk(st, "Cae2", &k1, KID1, &err), -1); /* revoked, still Cae1's */
    assert_int_equal(err.code, M2M_E_EXISTS);
    assert_int_equal(list_count(st, 0), 1);
    assert_int_equal(list_count(st, 1), 2);
    g2 = generation(st);
    assert_true(g2 > g1);
    assert_int_equal(m2m_store_revoke(st, "Cae1", &err), 0);
    assert_true(generation(st) > g2);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), -1);
    assert_int_equal(m2m_store_revoke(st, "Cae1", &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_registree_known(st, "Cae1", &err), 1); /* revoked IDs stay known */
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static void test_other_mechanisms(void **state)
{
    char dir[64], loc[512], hash[65];
    m2m_err err;
    m2m_enrolment e;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    memset(hash, 'a', 64);
    hash[64] = '\0';
    assert_int_equal(m2m_store_enrol_cert(st, "Cdev", hash, "-----BEGIN CERTIFICATE-----\n", &err), 0);
    assert_int_equal(m2m_store_find_cert(st, hash, &e, &err), 0);
    assert_string_equal(e.registree_id, "Cdev");
    assert_non_null(e.chain_root);
    assert_string_equal(e.chain_root, "-----BEGIN CERTIFICATE-----\n");
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_enrol_cert(st, "Cother", hash, NULL, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    hash[0] = 'b';
    assert_int_equal(m2m_store_enrol_gba(st, "Cphone", hash, "001010000000001@ims.example", &err), 0);
    assert_int_equal(m2m_store_find_gba(st, hash, &e, &err), 0);
    assert_string_equal(e.registree_id, "Cphone");
    assert_string_equal(e.impi, "001010000000001@ims.example");
    m2m_enrolment_clear(&e);
    /* one active enrolment per mechanism: a device may have a certificate and a GBA subscription at once */
    assert_int_equal(m2m_store_find_cert(st, "nothing", &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(list_count(st, 0), 2);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static void test_token_once(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_enrolment e;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    assert_int_equal(m2m_store_enrol_token(st, "Ctok", KID1 KID1, 5000, &err), 0);
    assert_int_equal(m2m_store_find_token(st, KID1 KID1, &e, &err), 0);
    assert_int_equal(e.used, 0);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_consume_token(st, KID1 KID1, 1000, &e, &err), 0);
    assert_string_equal(e.registree_id, "Ctok");
    assert_int_equal(e.used, 1000);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_consume_token(st, KID1 KID1, 1001, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_AUTH);
    assert_non_null(strstr(err.msg, "already used"));
    m2m_enrolment_clear(&e);
    /* a registration that did not happen gives it back */
    assert_int_equal(m2m_store_release_token(st, KID1 KID1, &err), 0);
    assert_int_equal(m2m_store_consume_token(st, KID1 KID1, 1002, &e, &err), 0);
    m2m_enrolment_clear(&e);
    /* expired, unknown */
    assert_int_equal(m2m_store_enrol_token(st, "Ctok2", KID2 KID2, 1500, &err), 0);
    assert_int_equal(m2m_store_consume_token(st, KID2 KID2, 1500, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_AUTH);
    assert_non_null(strstr(err.msg, "expired"));
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_consume_token(st, KID3 KID3, 1000, &e, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

/* Two handles -- two Registrar nodes, or two workers -- present one token at once, each inside a unit of work as
 * the writer runs it: exactly one wins, every time. */
struct racer {
    const char *loc;
    const char *hash;
    pthread_barrier_t *go;
    int rc;
    m2m_code code;
};

static void *race_main(void *arg)
{
    struct racer *r = arg;
    m2m_err err = {0};
    m2m_enrolment e;
    int sp = 0;
    m2m_store *st = m2m_store_open(r->loc, 0, &err);
    r->rc = -2;
    if (st == NULL)
        return NULL;
    pthread_barrier_wait(r->go);
    if (m2m_store_unit_begin(st, &sp, &err) == 0) {
        r->rc = m2m_store_consume_token(st, r->hash, 1000, &e, &err);
        r->code = r->rc == 0 ? M2M_OK : err.code;
        m2m_enrolment_clear(&e);
        if (m2m_store_unit_end(st, sp, r->rc == 0, &err) != 0)
            r->rc = -3;
    }
    m2m_store_close(st);
    return NULL;
}

static void test_token_race(void **state)
{
    char dir[64], loc[512], hash[65];
    m2m_err err;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    for (int round = 0; round < 10; round++) {
        pthread_barrier_t go;
        pthread_t t[2];
        struct racer r[2];
        char id[16];
        snprintf(hash, sizeof hash, "%064d", round);
        snprintf(id, sizeof id, "Crace%d", round);
        assert_int_equal(m2m_store_enrol_token(st, id, hash, 0, &err), 0);
        pthread_barrier_init(&go, NULL, 2);
        for (int i = 0; i < 2; i++) {
            r[i] = (struct racer){.loc = loc, .hash = hash, .go = &go};
            pthread_create(&t[i], NULL, race_main, &r[i]);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        assert_true((r[0].rc == 0) != (r[1].rc == 0)); /* exactly one */
        assert_int_equal(r[r[0].rc == 0 ? 1 : 0].code, M2M_E_AUTH);
    }
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static void test_generated_keys(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_secret k1, k2, k3;
    m2m_enrolment e;
    int promoted = -1;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    key_of(&k1, 1);
    key_of(&k2, 2);
    key_of(&k3, 3);
    assert_int_equal(m2m_store_enrol_psk(st, "Ck", &k1, KID1, &err), 0);
    assert_int_equal(m2m_store_enrol_generated_psk(st, "Ck", &k2, KID2, &err), 0);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), 0);
    assert_int_equal(e.pending, 1);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), 0); /* the old key stays valid meanwhile */
    m2m_enrolment_clear(&e);
    /* generated again before use: replaces the pending one */
    assert_int_equal(m2m_store_enrol_generated_psk(st, "Ck", &k3, KID3, &err), 0);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), -1);
    /* first use: promoted, the old key retired; promoting again changes nothing */
    assert_int_equal(m2m_store_promote_psk(st, "Ck", KID3, &err), 0);
    assert_int_equal(m2m_store_find_psk(st, KID1, &e, &err), -1);
    assert_int_equal(m2m_store_find_psk(st, KID3, &e, &err), 0);
    assert_int_equal(e.pending, 0);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_promote_psk(st, "Ck", KID3, &err), 0);
    assert_int_equal(m2m_store_enrolment_active(st, "Ck", KID3, &err), 1);
    /* grace period over: pending keys are promoted */
    assert_int_equal(m2m_store_enrol_generated_psk(st, "Ck", &k1, KID4, &err), 0);
    assert_int_equal(m2m_store_expire_pending(st, (int64_t)time(NULL) + 100, &promoted, &err), 0);
    assert_int_equal(promoted, 1);
    assert_int_equal(m2m_store_find_psk(st, KID3, &e, &err), -1);
    assert_int_equal(m2m_store_find_psk(st, KID4, &e, &err), 0);
    assert_int_equal(e.pending, 0);
    m2m_enrolment_clear(&e);
    /* a generated key ID that exists already is refused */
    assert_int_equal(m2m_store_enrol_generated_psk(st, "Cother", &k2, KID4, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

struct rotator {
    const char *loc;
    pthread_barrier_t *go;
    int rc;
};

static void *rotate_main(void *arg)
{
    struct rotator *r = arg;
    m2m_err err;
    m2m_ticket_key keys[4];
    int n = 0;
    m2m_store *st = m2m_store_open(r->loc, 0, &err);
    r->rc = -2;
    if (st == NULL)
        return NULL;
    pthread_barrier_wait(r->go);
    r->rc = m2m_store_ticket_keys(st, 5000, 100, 1, keys, 4, &n, &err);
    m2m_store_close(st);
    return NULL;
}

static void test_ticket_keys(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_ticket_key k[4], again[4];
    int n = -1, m = -1, same = 0;
    pthread_barrier_t go;
    pthread_t t[3];
    struct rotator r[3];
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc), *other;
    (void)state;
    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 0, k, 4, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(m2m_store_ticket_keys(st, 1000, 100, 1, k, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    /* another node sees the same key and does not add one */
    other = m2m_store_open(loc, 0, &err);
    assert_non_null(other);
    assert_int_equal(m2m_store_ticket_keys(other, 1050, 100, 1, again, 4, &m, &err), 0);
    assert_int_equal(m, 1);
    assert_memory_equal(again[0].name, k[0].name, 16);
    assert_memory_equal(again[0].aes, k[0].aes, 32);
    /* one period on: a new key first, the old one still accepted; two periods on: the old one gone */
    assert_int_equal(m2m_store_ticket_keys(other, 1101, 100, 1, again, 4, &m, &err), 0);
    assert_int_equal(m, 2);
    assert_int_equal(again[0].created, 1101);
    assert_memory_equal(again[1].name, k[0].name, 16);
    assert_int_equal(m2m_store_ticket_keys(st, 1250, 100, 1, k, 4, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(k[0].created, 1250);
    assert_int_equal(k[1].created, 1101);
    /* three nodes rotating at the same moment: one new key */
    pthread_barrier_init(&go, NULL, 3);
    for (int i = 0; i < 3; i++) {
        r[i] = (struct rotator){.loc = loc, .go = &go};
        pthread_create(&t[i], NULL, rotate_main, &r[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].rc, 0);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(m2m_store_ticket_keys(st, 5000, 100, 0, k, 4, &n, &err), 0);
    for (int i = 0; i < n; i++)
        same += k[i].created == 5000;
    assert_int_equal(same, 1);
    m2m_store_close(other);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static int order_cb(const m2m_resource *r, void *ctx)
{
    strcat((char *)ctx, r->rn);
    return 0;
}

static void test_resources(void **state)
{
    char dir[64], loc[512], order[64] = "", ri[4][M2M_RI_MAX];
    m2m_err err;
    m2m_resource r, got;
    int64_t count = -1, bytes = -1, before_n, before_b;
    int n = -1;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    res_fill(&r, "Cae1", "in-name", "Cae1");
    r.ty = 2;
    snprintf(r.reg_id, sizeof r.reg_id, "Cae1");
    r.attrs = (char *)"{\"api\":\"Rapp\"}";
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    assert_int_equal(m2m_store_res_registration(st, "Cae1", &got, &err), 0);
    assert_string_equal(got.ri, "Cae1");
    assert_string_equal(got.attrs, "{\"api\":\"Rapp\"}");
    m2m_resource_clear(&got);
    res_fill(&r, "Cae1b", "in-name", "other-name"); /* the same registration under another name */
    r.ty = 2;
    snprintf(r.reg_id, sizeof r.reg_id, "Cae1");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    assert_int_equal(m2m_store_res_usage(st, "Cae1", &before_n, &before_b, &err), 0);
    assert_int_equal(before_n, 1);
    assert_int_equal(before_b, (int64_t)strlen("{\"api\":\"Rapp\"}"));
    res_fill(&r, "cnt1", "Cae1", "box");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    assert_int_equal(m2m_store_res_child(st, "Cae1", "box", &got, &err), 0);
    assert_string_equal(got.ri, "cnt1");
    assert_int_equal(got.ty, 3);
    assert_int_equal(got.ct, 1700000000);
    m2m_resource_clear(&got);
    assert_int_equal(m2m_store_res_update(st, "cnt1", "{\"lbl\":[\"x\"]}", 1700000100, 1800000000, &err), 0);
    assert_int_equal(m2m_store_res_get(st, "cnt1", &got, &err), 0);
    assert_string_equal(got.attrs, "{\"lbl\":[\"x\"]}");
    assert_int_equal(got.lt, 1700000100);
    m2m_resource_clear(&got);
    assert_int_equal(m2m_store_res_update(st, "nothing", "{}", 1, 0, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_res_usage(st, "Cae1", &count, &bytes, &err), 0);
    assert_int_equal(count, before_n + 1);
    assert_int_equal(bytes, before_b + (int64_t)strlen("{\"lbl\":[\"x\"]}"));
    /* children, oldest first (not by name) */
    res_fill(&r, "z1", "cnt1", "c");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    res_fill(&r, "z2", "cnt1", "a");
    r.et = 1750000000;
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    res_fill(&r, "z3", "cnt1", "b");
    r.et = 1740000000;
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    assert_int_equal(m2m_store_res_children(st, "cnt1", order_cb, order, &err), 0);
    assert_string_equal(order, "cab");
    assert_int_equal(m2m_store_res_count_children(st, "cnt1", 3, &count, &err), 0);
    assert_int_equal(count, 3);
    /* expired, soonest first, at most max */
    assert_int_equal(m2m_store_res_expired(st, 1760000000, ri, 4, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ri[0], "z3");
    assert_string_equal(ri[1], "z2");
    assert_int_equal(m2m_store_res_expired(st, 1760000000, ri, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    /* deleting a registration takes its whole subtree and its usage */
    assert_int_equal(m2m_store_res_delete(st, "Cae1", &err), 0);
    assert_int_equal(m2m_store_res_get(st, "z2", &got, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_res_usage(st, "Cae1", &count, &bytes, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(bytes, 0);
    assert_int_equal(m2m_store_res_delete(st, "Cae1", &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

/* TS-0001 mni / mbs / mia on a container's instances. */
static void test_capped(void **state)
{
    char dir[64], loc[512], ri[16], order[64] = "";
    m2m_err err;
    m2m_resource r;
    int removed = -1;
    int64_t count = -1, bytes = -1;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    res_fill(&r, "box", "in-name", "box");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(ri, sizeof ri, "i%d", i);
        res_fill(&r, ri, "box", ri);
        r.ty = 4;
        r.cs = 10;
        r.ct = 1000 + i;
        assert_int_equal(m2m_store_res_insert_capped(st, &r, 3, 0, 0, &removed, &err), 0);
        assert_int_equal(removed, i < 3 ? 0 : 1);
    }
    assert_int_equal(m2m_store_res_children(st, "box", order_cb, order, &err), 0);
    assert_string_equal(order, "i2i3i4");
    /* by bytes: 25 leaves room for two of 10 */
    res_fill(&r, "i5", "box", "i5");
    r.ty = 4;
    r.cs = 10;
    r.ct = 1005;
    assert_int_equal(m2m_store_res_insert_capped(st, &r, 0, 25, 0, &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(m2m_store_res_children_stats(st, "box", 4, 0, &count, &bytes, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(bytes, 20);
    /* one that alone is larger than the limit stays (its size was checked before) */
    res_fill(&r, "i6", "box", "i6");
    r.ty = 4;
    r.cs = 40;
    r.ct = 1006;
    assert_int_equal(m2m_store_res_insert_capped(st, &r, 0, 25, 0, &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(m2m_store_res_children_stats(st, "box", 4, 0, &count, &bytes, &err), 0);
    assert_int_equal(count, 1);
    /* by age (mia): older than ct 1007 go, on insert and on their own */
    res_fill(&r, "i7", "box", "i7");
    r.ty = 4;
    r.cs = 1;
    r.ct = 1007;
    assert_int_equal(m2m_store_res_insert_capped(st, &r, 0, 0, 1007, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(m2m_store_res_children_stats(st, "box", 4, 1007, &count, &bytes, &err), 0);
    assert_int_equal(count, 1);
    assert_int_equal(m2m_store_res_expire_children(st, "box", 4, 2000, &removed, &err), 0);
    assert_int_equal(removed, 1);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static int subs_n;
static void sub_cb(const m2m_gba_subscriber *s, void *ctx)
{
    (void)ctx;
    assert_int_equal(s->k[0], 0); /* keys are never listed */
    subs_n++;
}

static void test_gba_tables(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_gba_subscriber s = {0}, got;
    m2m_gba_bootstrap b = {0}, bg;
    int removed = -1;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    snprintf(s.impi, sizeof s.impi, "001@ims.example");
    memset(s.k, 0x4b, sizeof s.k);
    memset(s.opc, 0x0c, sizeof s.opc);
    s.amf[0] = 0x80;
    s.sqn = 32;
    assert_int_equal(m2m_store_gba_subscriber_add(st, &s, &err), 0);
    assert_int_equal(m2m_store_gba_subscriber_add(st, &s, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    assert_int_equal(m2m_store_gba_subscriber_get(st, s.impi, &got, &err), 0);
    assert_memory_equal(got.k, s.k, 16);
    assert_memory_equal(got.opc, s.opc, 16);
    assert_int_equal(got.amf[0], 0x80);
    assert_int_equal(got.sqn, 32);
    assert_int_equal(m2m_store_gba_subscriber_set_sqn(st, s.impi, 20, 1, &err), 0); /* never lowered by a vector */
    assert_int_equal(m2m_store_gba_subscriber_get(st, s.impi, &got, &err), 0);
    assert_int_equal(got.sqn, 32);
    assert_int_equal(m2m_store_gba_subscriber_set_sqn(st, s.impi, 20, 0, &err), 0); /* a resynchronisation sets it */
    assert_int_equal(m2m_store_gba_subscriber_get(st, s.impi, &got, &err), 0);
    assert_int_equal(got.sqn, 20);
    assert_int_equal(m2m_store_gba_subscriber_set_sqn(st, "none@x", 1, 0, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    subs_n = 0;
    assert_int_equal(m2m_store_gba_subscriber_list(st, sub_cb, NULL, &err), 0);
    assert_int_equal(subs_n, 1);
    snprintf(b.btid, sizeof b.btid, "cmFuZA==@bsf.example");
    snprintf(b.impi, sizeof b.impi, "%s", s.impi);
    memset(b.rand, 0x52, sizeof b.rand);
    memset(b.ks, 0x4b, sizeof b.ks);
    b.created = 1000;
    b.expires = 2000;
    assert_int_equal(m2m_store_gba_bootstrap_put(st, &b, &err), 0);
    b.expires = 3000;
    assert_int_equal(m2m_store_gba_bootstrap_put(st, &b, &err), 0); /* replaces */
    assert_int_equal(m2m_store_gba_bootstrap_get(st, b.btid, 2500, &bg, &err), 0);
    assert_memory_equal(bg.ks, b.ks, 32);
    assert_int_equal(bg.expires, 3000);
    assert_int_equal(m2m_store_gba_bootstrap_get(st, b.btid, 3000, &bg, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_gba_bootstrap_expire(st, 2999, &removed, &err), 0);
    assert_int_equal(removed, 0);
    /* removing the subscriber ends its bootstrappings */
    assert_int_equal(m2m_store_gba_subscriber_remove(st, s.impi, &err), 0);
    assert_int_equal(m2m_store_gba_bootstrap_get(st, b.btid, 2500, &bg, &err), -1);
    assert_int_equal(m2m_store_gba_subscriber_remove(st, s.impi, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

static int notified;
static void on_change(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
}

/* Live enrolment: a change made through another handle (another node, `enrol`) is told to a listening process;
 * a handle using the notifier reads the generation from it and knows which Registree changed. */
static void test_notifier(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_secret k;
    int64_t before, after, direct;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc), *tool;
    m2m_store_notifier *n = m2m_store_notifier_start(loc, on_change, NULL, &err);
    (void)state;
    assert_non_null(n);
    assert_int_equal(m2m_store_notifier_up(n), 1);
    m2m_store_use_notifier(st, n);
    key_of(&k, 7);
    before = generation(st);
    tool = m2m_store_open(loc, 0, &err);
    assert_non_null(tool);
    assert_int_equal(m2m_store_enrol_psk(tool, "Cwatched", &k, KID1, &err), 0);
    direct = generation(tool);
    if (fixture_pg() == NULL) {
        /* SQLite: a commit by anyone shows in the generation, and the store records whose enrolment it was */
        assert_int_equal(generation(st), direct);
        assert_int_equal(m2m_store_enrol_changed(st, before, direct, "Cwatched"), 1);
        assert_int_equal(m2m_store_enrol_changed(st, before, direct, "Cother"), 0);
        assert_int_equal(m2m_store_enrol_changed(st, direct, direct, "Cwatched"), 0);
        assert_int_equal(notified, 0);
        {
            /* a generation bumped without its record (an older build, a hand edit): nobody can be ruled out */
            sqlite3 *db = NULL;
            assert_int_equal(sqlite3_open(loc, &db), SQLITE_OK);
            assert_int_equal(sqlite3_exec(db, "UPDATE meta SET v = CAST(CAST(v AS INTEGER) + 1 AS TEXT) WHERE k = "
                                              "'enrol_gen'", NULL, NULL, NULL), SQLITE_OK);
            sqlite3_close(db);
            int64_t bumped = generation(st);
            assert_int_equal(m2m_store_enrol_changed(st, direct, bumped, "Cother"), 1);
            assert_int_equal(m2m_store_enrol_changed(st, before, bumped, "Cother"), 1);
            direct = bumped;
        }
        /* however soon after the last read, a commit by another handle shows at once, and without one the same
         * generation comes back (sqlite.c answers that from the WAL-index header) */
        for (int i = 0; i < 20; i++) {
            int64_t g = generation(st);
            char kid[40], id[16];
            snprintf(kid, sizeof kid, "%032x", 0x100 + i);
            snprintf(id, sizeof id, "Cw%d", i - i % 2); /* enrolled at i even, revoked at i + 1 */
            assert_int_equal(generation(st), g);
            key_of(&k, (unsigned char)(20 + i));
            assert_int_equal(i % 2 ? m2m_store_revoke(tool, id, &err) : m2m_store_enrol_psk(tool, id, &k, kid, &err),
                             0);
            assert_true(generation(st) > g);
        }
    } else {
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        /* poll for the notification, with a deadline: the notifier records the generation before it calls
         * on_change, so wait for both (a slow run, e.g. under gcov, sees one without the other) */
        do {
            after = generation(st);
            clock_gettime(CLOCK_MONOTONIC, &now);
        } while ((after != direct || __atomic_load_n(&notified, __ATOMIC_SEQ_CST) < 1) &&
                 now.tv_sec - t0.tv_sec < 10);
        assert_int_equal(after, direct);
        assert_true(__atomic_load_n(&notified, __ATOMIC_SEQ_CST) >= 1);
        assert_int_equal(m2m_store_enrol_changed(st, before, after, "Cwatched"), 1);
        assert_int_equal(m2m_store_enrol_changed(st, before, after, "Cother"), 0);
        assert_int_equal(m2m_store_enrol_changed(st, after, after, "Cwatched"), 0);
    }
    m2m_store_close(tool);
    m2m_store_close(st);
    m2m_store_notifier_stop(n);
    fixture_rmdir(dir);
}
