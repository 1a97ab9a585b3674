/* SPDX-License-Identifier: Apache-2.0 */
/* The oneM2M resource tree on PostgreSQL. The unique indexes (a name once per parent, a registration once per
 * Registree ID) hold across every node; an insert that meets one is answered M2M_E_EXISTS without an error in the
 * transaction (ON CONFLICT DO NOTHING), so a writer's batch goes on with its other jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"

#define RES_COLS "ri, pi, ty, rn, owner, reg_id, attrs, ct, lt"

static const char GET[] = "SELECT " RES_COLS " FROM resource WHERE ri = $1";
static const char CHILD[] = "SELECT " RES_COLS " FROM resource WHERE pi = $1 AND rn = $2";
static const char REG[] = "SELECT " RES_COLS " FROM resource WHERE reg_id = $1";
static const char INSERT[] = "INSERT INTO resource(ri, pi, ty, rn, owner, reg_id, attrs, ct, lt, cs, et) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING";
static const char UPDATE[] = "UPDATE resource SET attrs = $2, lt = $3, et = $4 WHERE ri = $1";
static const char DELETE_TREE[] = "WITH RECURSIVE sub(ri) AS (SELECT $1::text UNION ALL "
                                  "SELECT resource.ri FROM resource JOIN sub ON resource.pi = sub.ri) "
                                  "DELETE FROM resource WHERE ri IN (SELECT ri FROM sub)";
static const char COUNT[] = "SELECT count(*) FROM resource WHERE pi = $1 AND ty = $2";
static const char CHILDREN[] = "SELECT " RES_COLS " FROM resource WHERE pi = $1 ORDER BY seq";
static const char USAGE[] = "SELECT count, bytes FROM usage WHERE owner = $1";
static const char STATS[] = "SELECT count(*), coalesce(sum(cs), 0) FROM resource WHERE pi = $1 AND ty = $2 AND "
                            "ct >= $3";
static const char EXPIRE[] = "DELETE FROM resource WHERE pi = $1 AND ty = $2 AND ct < $3";
/* TS-0001 mni/mbs in one statement: counted from the newest, a leaf stays while both the count and the bytes up
 * to it fit, and the one just made always stays -- what the SQLite back-end reaches by deleting the oldest one
 * at a time. */
static const char CAP[] = "DELETE FROM resource WHERE ri IN (SELECT ri FROM (SELECT ri, "
                          "row_number() OVER (ORDER BY seq DESC) AS n, sum(cs) OVER (ORDER BY seq DESC) AS b "
                          "FROM resource WHERE pi = $1 AND ty = $2) newest WHERE ri <> $3 AND "
                          "(($4::bigint > 0 AND n > $4::bigint) OR ($5::bigint > 0 AND b > $5::bigint)))";
static const char EXPIRED[] = "SELECT ri FROM resource WHERE et > 0 AND et <= $1 ORDER BY et LIMIT $2";

static int res_row(PGresult *r, int row, m2m_resource *out, int copy_attrs, m2m_err *err)
{
    memset(out, 0, sizeof *out);
    pg_col_str(r, row, 0, out->ri, sizeof out->ri);
    pg_col_str(r, row, 1, out->pi, sizeof out->pi);
    out->ty = (int)pg_col_int(r, row, 2);
    pg_col_str(r, row, 3, out->rn, sizeof out->rn);
    pg_col_str(r, row, 4, out->owner, sizeof out->owner);
    pg_col_str(r, row, 5, out->reg_id, sizeof out->reg_id);
    out->ct = pg_col_int(r, row, 7);
    out->lt = pg_col_int(r, row, 8);
    if (!copy_attrs) {
        out->attrs = PQgetvalue(r, row, 6); /* the caller keeps the result alive while out is used */
        return 0;
    }
    if ((out->attrs = strdup(PQgetisnull(r, row, 6) ? "{}" : PQgetvalue(r, row, 6))) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    return 0;
}

/* A single-row resource query. */
static int fetch(pg_store *p, const char *sql, const pg_params *pp, const char *what, m2m_resource *out, m2m_err *err)
{
    PGresult *r = pg_q(p, sql, pp, "read resource", err);
    int rc;
    memset(out, 0, sizeof *out);
    if (r == NULL)
        return -1;
    rc = PQntuples(r) == 1 ? res_row(r, 0, out, 1, err) : m2m_fail(err, M2M_E_NOTFOUND, "resource %s not found", what);
    PQclear(r);
    return rc;
}

int pg_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, ri);
    return fetch(PG(st), GET, &pp, ri, out, err);
}

int pg_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, pi);
    pg_text(&pp, rn);
    return fetch(PG(st), CHILD, &pp, rn, out, err);
}

int pg_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, reg_id);
    return fetch(PG(st), REG, &pp, reg_id, out, err);
}

int pg_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err)
{
    pg_params pp = {0};
    int n = 0;
    pg_text(&pp, r->ri);
    pg_text(&pp, r->pi);
    pg_int(&pp, r->ty);
    pg_text(&pp, r->rn);
    pg_text(&pp, r->owner);
    pg_text(&pp, r->reg_id[0] != '\0' ? r->reg_id : NULL);
    pg_text(&pp, r->attrs ? r->attrs : "{}");
    pg_int(&pp, r->ct);
    pg_int(&pp, r->lt);
    pg_int(&pp, r->cs);
    pg_int(&pp, r->et);
    if (pg_run(PG(st), INSERT, &pp, "insert resource", &n, err) != 0)
        return -1;
    if (n != 1)
        return m2m_fail(err, M2M_E_EXISTS, "a resource named %s (or the same registration) already exists", r->rn);
    return 0;
}

int pg_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err)
{
    pg_params pp = {0};
    int n = 0;
    pg_text(&pp, ri);
    pg_text(&pp, attrs);
    pg_int(&pp, lt);
    pg_int(&pp, et);
    if (pg_run(PG(st), UPDATE, &pp, "update resource", &n, err) != 0)
        return -1;
    return n > 0 ? 0 : m2m_fail(err, M2M_E_NOTFOUND, "resource %s not found", ri);
}

int pg_res_delete(m2m_store *st, const char *ri, m2m_err *err)
{
    pg_params pp = {0};
    int n = 0;
    pg_text(&pp, ri);
    if (pg_run(PG(st), DELETE_TREE, &pp, "delete resource", &n, err) != 0)
        return -1;
    return n > 0 ? 0 : m2m_fail(err, M2M_E_NOTFOUND, "resource %s not found", ri);
}

/* One row of one or two numbers. */
static int numbers(pg_store *p, const char *sql, const pg_params *pp, const char *what, int64_t *a, int64_t *b,
                   m2m_err *err)
{
    PGresult *r = pg_q(p, sql, pp, what, err);
    if (r == NULL)
        return -1;
    *a = PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    if (b != NULL)
        *b = PQntuples(r) == 1 ? pg_col_int(r, 0, 1) : 0;
    PQclear(r);
    return 0;
}

int pg_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, pi);
    pg_int(&pp, ty);
    return numbers(PG(st), COUNT, &pp, "count resources", count, NULL, err);
}

int pg_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, owner);
    return numbers(PG(st), USAGE, &pp, "read usage", count, bytes, err);
}

int pg_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count, int64_t *bytes,
                          m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, pi);
    pg_int(&pp, ty);
    pg_int(&pp, min_ct);
    return numbers(PG(st), STATS, &pp, "count resources", count, bytes, err);
}

/* Deletes the leaves of type ty under pi created before min_ct (min_ct <= 0: none); adds the count to *removed. */
static int expire_children(pg_store *p, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err)
{
    pg_params pp = {0};
    int n = 0;
    if (min_ct <= 0)
        return 0;
    pg_text(&pp, pi);
    pg_int(&pp, ty);
    pg_int(&pp, min_ct);
    if (pg_run(p, EXPIRE, &pp, "expire resources", &n, err) != 0)
        return -1;
    *removed += n;
    return 0;
}

int pg_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err)
{
    *removed = 0;
    return expire_children(PG(st), pi, ty, min_ct, removed, err);
}

int pg_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes, int64_t min_ct,
                         int *removed, m2m_err *err)
{
    pg_store *p = PG(st);
    pg_params pp = {0};
    int rc = -1, sp = 0, n = 0;

    *removed = 0;
    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    if (pg_res_insert(st, r, err) != 0 || expire_children(p, r->pi, r->ty, min_ct, removed, err) != 0)
        goto done;
    if (max_count > 0 || max_bytes > 0) {
        pg_text(&pp, r->pi);
        pg_int(&pp, r->ty);
        pg_text(&pp, r->ri);
        pg_int(&pp, max_count);
        pg_int(&pp, max_bytes);
        if (pg_run(p, CAP, &pp, "remove oldest resources", &n, err) != 0)
            goto done;
        *removed += n;
    }
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    *n = 0;
    pg_int(&pp, now);
    pg_int(&pp, max);
    if ((r = pg_q(PG(st), EXPIRED, &pp, "find expired resources", err)) == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r) && *n < max; i++)
        pg_col_str(r, i, 0, ri[(*n)++], M2M_RI_MAX);
    PQclear(r);
    return 0;
}

int pg_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    pg_text(&pp, pi);
    if ((r = pg_q(PG(st), CHILDREN, &pp, "list resources", err)) == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        m2m_resource res;
        res_row(r, i, &res, 0, NULL);
        if (cb(&res, ctx) != 0)
            break;
    }
    PQclear(r);
    return 0;
}
