/* SPDX-License-Identifier: Apache-2.0 */
/* The HSS + BSF simulator's tables on PostgreSQL: subscribers (K, OPc, AMF, SQN_HE) and bootstrapping records
 * (B-TID -> IMPI, RAND, Ks, expiry), as store/sqlite_gba.c keeps them. Results holding keys are wiped before they
 * are freed. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "store/pg_internal.h"
#include "util/clock.h"

static const char SUB_ADD[] = "INSERT INTO gba_subscriber(impi, k, opc, amf, sqn, created) VALUES ($1, $2, $3, $4, $5, "
                              "$6) ON CONFLICT DO NOTHING";
static const char SUB_GET[] = "SELECT impi, k, opc, amf, sqn, created FROM gba_subscriber WHERE impi = $1";
static const char SUB_SQN_RAISE[] = "UPDATE gba_subscriber SET sqn = greatest(sqn, $2) WHERE impi = $1";
static const char SUB_SQN_SET[] = "UPDATE gba_subscriber SET sqn = $2 WHERE impi = $1";
static const char SUB_REMOVE[] = "DELETE FROM gba_subscriber WHERE impi = $1";
static const char SUB_REMOVE_BOOT[] = "DELETE FROM gba_bootstrap WHERE impi = $1";
static const char SUB_LIST[] = "SELECT impi, amf, sqn, created FROM gba_subscriber ORDER BY impi";
static const char BOOT_PUT[] = "INSERT INTO gba_bootstrap(btid, impi, rand, ks, created, expires) VALUES ($1, $2, $3, "
                               "$4, $5, $6) ON CONFLICT (btid) DO UPDATE SET impi = excluded.impi, rand = excluded.rand, "
                               "ks = excluded.ks, created = excluded.created, expires = excluded.expires";
static const char BOOT_GET[] = "SELECT btid, impi, rand, ks, created, expires FROM gba_bootstrap WHERE btid = $1 AND "
                               "expires > $2";
static const char BOOT_EXPIRE[] = "DELETE FROM gba_bootstrap WHERE expires <= $1";

int pg_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *s, m2m_err *err)
{
    pg_params pp = {0};
    int n = 0, rc;
    pg_text(&pp, s->impi);
    pg_bytes(&pp, s->k, sizeof s->k);
    pg_bytes(&pp, s->opc, sizeof s->opc);
    pg_bytes(&pp, s->amf, sizeof s->amf);
    pg_int(&pp, (int64_t)s->sqn);
    pg_int(&pp, s->created ? s->created : m2m_clock_now());
    rc = pg_run(PG(st), SUB_ADD, &pp, "add subscriber", &n, err);
    if (rc == 0 && n != 1)
        return m2m_fail(err, M2M_E_EXISTS, "subscriber %s already exists (remove it first)", s->impi);
    return rc;
}

int pg_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int rc = -1;
    memset(out, 0, sizeof *out);
    pg_text(&pp, impi);
    if ((r = pg_q(PG(st), SUB_GET, &pp, "read subscriber", err)) == NULL)
        return -1;
    if (PQntuples(r) != 1) {
        m2m_fail(err, M2M_E_NOTFOUND, "no subscriber %s", impi);
    } else if (pg_col_bytes(r, 0, 1, out->k, sizeof out->k) != 0 || pg_col_bytes(r, 0, 2, out->opc, sizeof out->opc) != 0 ||
               pg_col_bytes(r, 0, 3, out->amf, sizeof out->amf) != 0) {
        OPENSSL_cleanse(out, sizeof *out);
        m2m_fail(err, M2M_E_STORE, "store %s: subscriber %s is malformed", PG(st)->safe, impi);
    } else {
        pg_col_str(r, 0, 0, out->impi, sizeof out->impi);
        out->sqn = (uint64_t)pg_col_int(r, 0, 4);
        out->created = pg_col_int(r, 0, 5);
        rc = 0;
    }
    pg_clear_wipe(r);
    return rc;
}

int pg_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only, m2m_err *err)
{
    pg_params pp = {0};
    int n = 0;
    pg_text(&pp, impi);
    pg_int(&pp, (int64_t)sqn);
    if (pg_run(PG(st), raise_only ? SUB_SQN_RAISE : SUB_SQN_SET, &pp, "update SQN", &n, err) != 0)
        return -1;
    return n == 1 ? 0 : m2m_fail(err, M2M_E_NOTFOUND, "no subscriber %s", impi);
}

int pg_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err)
{
    pg_store *p = PG(st);
    pg_params pp = {0};
    int rc = -1, sp = 0, n = 0;
    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    pg_text(&pp, impi);
    if (pg_run(p, SUB_REMOVE, &pp, "remove subscriber", &n, err) != 0)
        goto done;
    if (n == 0) {
        m2m_fail(err, M2M_E_NOTFOUND, "no subscriber %s", impi);
        goto done;
    }
    /* its bootstrappings end with it: Zn must not hand out keys of a removed subscriber */
    if (pg_run(p, SUB_REMOVE_BOOT, &pp, "remove subscriber", NULL, err) != 0)
        goto done;
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                           m2m_err *err)
{
    PGresult *r = pg_q(PG(st), SUB_LIST, NULL, "list", err);
    if (r == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        m2m_gba_subscriber sub;
        memset(&sub, 0, sizeof sub);
        pg_col_str(r, i, 0, sub.impi, sizeof sub.impi);
        pg_col_bytes(r, i, 1, sub.amf, sizeof sub.amf);
        sub.sqn = (uint64_t)pg_col_int(r, i, 2);
        sub.created = pg_col_int(r, i, 3);
        cb(&sub, ctx);
    }
    PQclear(r);
    return 0;
}

int pg_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, b->btid);
    pg_text(&pp, b->impi);
    pg_bytes(&pp, b->rand, sizeof b->rand);
    pg_bytes(&pp, b->ks, sizeof b->ks);
    pg_int(&pp, b->created);
    pg_int(&pp, b->expires);
    return pg_run(PG(st), BOOT_PUT, &pp, "record bootstrapping", NULL, err);
}

int pg_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int rc = -1;
    memset(out, 0, sizeof *out);
    pg_text(&pp, btid);
    pg_int(&pp, now);
    if ((r = pg_q(PG(st), BOOT_GET, &pp, "read bootstrapping", err)) == NULL)
        return -1;
    if (PQntuples(r) == 1 && pg_col_bytes(r, 0, 2, out->rand, sizeof out->rand) == 0 &&
        pg_col_bytes(r, 0, 3, out->ks, sizeof out->ks) == 0) {
        pg_col_str(r, 0, 0, out->btid, sizeof out->btid);
        pg_col_str(r, 0, 1, out->impi, sizeof out->impi);
        out->created = pg_col_int(r, 0, 4);
        out->expires = pg_col_int(r, 0, 5);
        rc = 0;
    } else {
        OPENSSL_cleanse(out, sizeof *out);
        m2m_fail(err, M2M_E_NOTFOUND, "no valid bootstrapping for this B-TID");
    }
    pg_clear_wipe(r);
    return rc;
}

int pg_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err)
{
    pg_params pp = {0};
    *removed = 0;
    pg_int(&pp, now);
    return pg_run(PG(st), BOOT_EXPIRE, &pp, "expire bootstrappings", removed, err);
}
