/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite back-end's resource tree: the <CSEBase> descendants (AE, remoteCSE, container, contentInstance,
 * briefing), one row each in `resource`, with the quotas TS-0001 asks of containers (mni, mbs: the oldest removed
 * in the inserting transaction) and each owner's usage kept by triggers (sqlite.c's schema). The operations of
 * store.h's m2m_store_res_* (backend.h); sqlite.c holds the connection, the schema and the enrolments. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/backend.h"
#include "store/sqlite_internal.h"

#define DB(st) m2m_sqlite_db(st) /* the connection of a handle (sqlite.c owns it) */

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Runs a prepared single-row resource query. */
static int res_fetch(m2m_store *st, sqlite3_stmt *s, m2m_resource *out, const char *what, m2m_err *err)
{
    int rc = -1, step = sqlite3_step(s);
    memset(out, 0, sizeof *out);
    if (step == SQLITE_ROW) {
        copy_col(s, 0, out->ri, sizeof out->ri);
        copy_col(s, 1, out->pi, sizeof out->pi);
        out->ty = sqlite3_column_int(s, 2);
        copy_col(s, 3, out->rn, sizeof out->rn);
        copy_col(s, 4, out->owner, sizeof out->owner);
        copy_col(s, 5, out->reg_id, sizeof out->reg_id);
        out->attrs = strdup(sqlite3_column_text(s, 6) ? (const char *)sqlite3_column_text(s, 6) : "{}");
        out->ct = sqlite3_column_int64(s, 7);
        out->lt = sqlite3_column_int64(s, 8);
        if (out->attrs == NULL)
            m2m_fail(err, M2M_E_NOMEM, "out of memory");
        else
            rc = 0;
    } else if (step == SQLITE_DONE) {
        m2m_fail(err, M2M_E_NOTFOUND, "resource %s not found", what);
    } else {
        m2m_sqlite_fail(st, err, "read resource");
    }
    sqlite3_reset(s);
    return rc;
}

int m2m_sqlite_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_GET);
    sqlite3_bind_text(s, 1, ri, -1, SQLITE_STATIC);
    return res_fetch(st, s, out, ri, err);
}

int m2m_sqlite_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_CHILD);
    sqlite3_bind_text(s, 1, pi, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, rn, -1, SQLITE_STATIC);
    return res_fetch(st, s, out, rn, err);
}

int m2m_sqlite_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_REG);
    sqlite3_bind_text(s, 1, reg_id, -1, SQLITE_STATIC);
    return res_fetch(st, s, out, reg_id, err);
}

int m2m_sqlite_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_INSERT);
    int step;
    sqlite3_bind_text(s, 1, r->ri, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->pi, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, r->ty);
    sqlite3_bind_text(s, 4, r->rn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->owner, -1, SQLITE_STATIC);
    if (r->reg_id[0] != '\0')
        sqlite3_bind_text(s, 6, r->reg_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_text(s, 7, r->attrs ? r->attrs : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, r->ct);
    sqlite3_bind_int64(s, 9, r->lt);
    sqlite3_bind_int64(s, 10, r->cs);
    sqlite3_bind_int64(s, 11, r->et);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step == SQLITE_DONE)
        return 0;
    if (step == SQLITE_CONSTRAINT)
        return m2m_fail(err, M2M_E_EXISTS, "a resource named %s (or the same registration) already exists", r->rn);
    return m2m_sqlite_fail(st, err, "insert resource");
}

int m2m_sqlite_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_UPDATE);
    int step;
    sqlite3_bind_text(s, 1, ri, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, attrs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, lt);
    sqlite3_bind_int64(s, 4, et);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return m2m_sqlite_fail(st, err, "update resource");
    if (sqlite3_changes(DB(st)) == 0)
        return m2m_fail(err, M2M_E_NOTFOUND, "resource %s not found", ri);
    return 0;
}

int m2m_sqlite_res_delete(m2m_store *st, const char *ri, m2m_err *err)
{
    static const char sql[] = "WITH RECURSIVE sub(ri) AS (SELECT ?1 UNION ALL "
                              "SELECT resource.ri FROM resource JOIN sub ON resource.pi = sub.ri) "
                              "DELETE FROM resource WHERE ri IN (SELECT ri FROM sub)";
    if (m2m_sqlite_run(st, sql, ri, NULL, 0, "delete resource", err) != 0)
        return -1;
    if (sqlite3_changes(DB(st)) == 0)
        return m2m_fail(err, M2M_E_NOTFOUND, "resource %s not found", ri);
    return 0;
}

int m2m_sqlite_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_COUNT);
    int step;
    sqlite3_bind_text(s, 1, pi, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, ty);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return step == SQLITE_ROW ? 0 : m2m_sqlite_fail(st, err, "count resources");
}

int m2m_sqlite_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_CHILDREN);
    int rc = 0;
    sqlite3_bind_text(s, 1, pi, -1, SQLITE_STATIC);
    for (;;) {
        m2m_resource r;
        int step = sqlite3_step(s);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = m2m_sqlite_fail(st, err, "list resources");
            break;
        }
        memset(&r, 0, sizeof r);
        copy_col(s, 0, r.ri, sizeof r.ri);
        copy_col(s, 1, r.pi, sizeof r.pi);
        r.ty = sqlite3_column_int(s, 2);
        copy_col(s, 3, r.rn, sizeof r.rn);
        copy_col(s, 4, r.owner, sizeof r.owner);
        copy_col(s, 5, r.reg_id, sizeof r.reg_id);
        r.attrs = (char *)sqlite3_column_text(s, 6);
        r.ct = sqlite3_column_int64(s, 7);
        r.lt = sqlite3_column_int64(s, 8);
        if (cb(&r, ctx) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc;
}

int m2m_sqlite_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_USAGE);
    int step;
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    *count = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    *bytes = step == SQLITE_ROW ? sqlite3_column_int64(s, 1) : 0;
    sqlite3_reset(s);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : m2m_sqlite_fail(st, err, "read usage");
}

int m2m_sqlite_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count,
                                 int64_t *bytes, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_STATS);
    int step;
    sqlite3_bind_text(s, 1, pi, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, ty);
    sqlite3_bind_int64(s, 3, min_ct);
    step = sqlite3_step(s);
    *count = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    *bytes = step == SQLITE_ROW ? sqlite3_column_int64(s, 1) : 0;
    sqlite3_reset(s);
    return step == SQLITE_ROW ? 0 : m2m_sqlite_fail(st, err, "count resources");
}

/* Deletes the leaves of type ty under pi created before min_ct (min_ct <= 0: none); adds the count to *removed. */
static int expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err)
{
    sqlite3_stmt *s;
    int step;
    if (min_ct <= 0)
        return 0;
    s = m2m_sqlite_stmt(st, Q_RES_EXPIRE);
    sqlite3_bind_text(s, 1, pi, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, ty);
    sqlite3_bind_int64(s, 3, min_ct);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return m2m_sqlite_fail(st, err, "expire resources");
    *removed += sqlite3_changes(DB(st));
    return 0;
}

int m2m_sqlite_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed,
                                  m2m_err *err)
{
    *removed = 0;
    return expire_children(st, pi, ty, min_ct, removed, err);
}

int m2m_sqlite_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes,
                                int64_t min_ct, int *removed, m2m_err *err)
{
    int64_t count, bytes;
    int rc = -1;

    *removed = 0;
    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    if (m2m_store_res_insert(st, r, err) != 0 || expire_children(st, r->pi, r->ty, min_ct, removed, err) != 0)
        goto done;
    for (;;) {
        sqlite3_stmt *s;
        int step;
        if (m2m_store_res_children_stats(st, r->pi, r->ty, 0, &count, &bytes, err) != 0)
            goto done;
        if ((max_count <= 0 || count <= max_count) && (max_bytes <= 0 || bytes <= max_bytes))
            break;
        /* the oldest first, never the one just made (its own size was checked against the limit before) */
        s = m2m_sqlite_stmt(st, Q_RES_OLDEST);
        sqlite3_bind_text(s, 1, r->pi, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, r->ty);
        sqlite3_bind_text(s, 3, r->ri, -1, SQLITE_STATIC);
        step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE) {
            m2m_sqlite_fail(st, err, "remove oldest resource");
            goto done;
        }
        if (sqlite3_changes(DB(st)) == 0)
            break; /* only the new one is left */
        ++*removed;
    }
    rc = m2m_sqlite_tx_commit(st, sp, err);
done:
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

int m2m_sqlite_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_RES_EXPIRED);
    int step;
    *n = 0;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, max);
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < max)
        copy_col(s, 0, ri[(*n)++], M2M_RI_MAX);
    sqlite3_reset(s);
    return step == SQLITE_DONE || step == SQLITE_ROW ? 0 : m2m_sqlite_fail(st, err, "find expired resources");
}
