/* SPDX-License-Identifier: Apache-2.0 */
/* The HSS + BSF simulator's tables in the SQLite back-end (schema version 5): subscribers (K, OPc, AMF, SQN_HE)
 * and bootstrapping records (B-TID -> IMPI, RAND, Ks, expiry). Keys are wiped from SQLite's pages on delete
 * (secure_delete, set by sqlite.c) and from every buffer here. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_internal.h"
#include "util/clock.h"

/* Prepares sql on st; NULL with err. */
static sqlite3_stmt *prep(m2m_store *st, const char *sql, const char *what, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(m2m_sqlite_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
        m2m_sqlite_fail(st, err, what);
        return NULL;
    }
    return s;
}

/* One statement to completion; 0, or -1 with err. changed gets sqlite3_changes when not NULL. */
static int done_stmt(m2m_store *st, sqlite3_stmt *s, const char *what, int *changed, m2m_err *err)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : m2m_sqlite_fail(st, err, what);
    if (changed != NULL)
        *changed = sqlite3_changes(m2m_sqlite_db(st));
    sqlite3_finalize(s);
    return rc;
}

static void copy_blob(sqlite3_stmt *s, int col, unsigned char *out, size_t len)
{
    if ((size_t)sqlite3_column_bytes(s, col) == len)
        memcpy(out, sqlite3_column_blob(s, col), len);
}

int m2m_sqlite_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *sub, m2m_err *err)
{
    sqlite3_stmt *s = prep(st, "INSERT INTO gba_subscriber(impi, k, opc, amf, sqn, created) VALUES (?1, ?2, ?3, ?4, "
                               "?5, ?6)", "add subscriber", err);
    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, sub->impi, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, sub->k, sizeof sub->k, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, sub->opc, sizeof sub->opc, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, sub->amf, sizeof sub->amf, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)sub->sqn);
    sqlite3_bind_int64(s, 6, sub->created ? sub->created : m2m_clock_now());
    if (sqlite3_step(s) != SQLITE_DONE) {
        int constraint = sqlite3_errcode(m2m_sqlite_db(st)) == SQLITE_CONSTRAINT;
        sqlite3_finalize(s);
        if (constraint)
            return m2m_fail(err, M2M_E_EXISTS, "subscriber %s already exists (remove it first)", sub->impi);
        return m2m_sqlite_fail(st, err, "add subscriber");
    }
    sqlite3_finalize(s);
    return 0;
}

int m2m_sqlite_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err)
{
    sqlite3_stmt *s = prep(st, "SELECT impi, k, opc, amf, sqn, created FROM gba_subscriber WHERE impi = ?1",
                           "read subscriber", err);
    int step, rc = -1;
    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, impi, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW && (sqlite3_column_bytes(s, 1) != sizeof out->k ||
                               sqlite3_column_bytes(s, 2) != sizeof out->opc ||
                               sqlite3_column_bytes(s, 3) != sizeof out->amf)) {
        /* refused as the PostgreSQL back-end does: a K or OPc left zero would be a key anyone knows */
        m2m_fail(err, M2M_E_STORE, "store: subscriber %s is malformed", impi);
    } else if (step == SQLITE_ROW) {
        snprintf(out->impi, sizeof out->impi, "%s", (const char *)sqlite3_column_text(s, 0));
        copy_blob(s, 1, out->k, sizeof out->k);
        copy_blob(s, 2, out->opc, sizeof out->opc);
        copy_blob(s, 3, out->amf, sizeof out->amf);
        out->sqn = (uint64_t)sqlite3_column_int64(s, 4);
        out->created = sqlite3_column_int64(s, 5);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        m2m_fail(err, M2M_E_NOTFOUND, "no subscriber %s", impi);
    } else {
        m2m_sqlite_fail(st, err, "read subscriber");
    }
    sqlite3_finalize(s); /* drops SQLite's copy of the row */
    return rc;
}

int m2m_sqlite_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only,
                                      m2m_err *err)
{
    sqlite3_stmt *s = prep(st, raise_only ? "UPDATE gba_subscriber SET sqn = max(sqn, ?2) WHERE impi = ?1"
                                          : "UPDATE gba_subscriber SET sqn = ?2 WHERE impi = ?1", "update SQN", err);
    int changed = 0;
    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, impi, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)sqn);
    if (done_stmt(st, s, "update SQN", &changed, err) != 0)
        return -1;
    return changed == 1 ? 0 : m2m_fail(err, M2M_E_NOTFOUND, "no subscriber %s", impi);
}

int m2m_sqlite_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err)
{
    sqlite3_stmt *s;
    int changed = 0, rc = -1;
    if (m2m_sqlite_exec(st, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    if ((s = prep(st, "DELETE FROM gba_subscriber WHERE impi = ?1", "remove subscriber", err)) == NULL)
        goto done;
    sqlite3_bind_text(s, 1, impi, -1, SQLITE_STATIC);
    if (done_stmt(st, s, "remove subscriber", &changed, err) != 0)
        goto done;
    if (changed == 0) {
        m2m_fail(err, M2M_E_NOTFOUND, "no subscriber %s", impi);
        goto done;
    }
    /* its bootstrappings end with it: Zn must not hand out keys of a removed subscriber */
    if ((s = prep(st, "DELETE FROM gba_bootstrap WHERE impi = ?1", "remove subscriber", err)) == NULL)
        goto done;
    sqlite3_bind_text(s, 1, impi, -1, SQLITE_STATIC);
    if (done_stmt(st, s, "remove subscriber", NULL, err) != 0)
        goto done;
    rc = m2m_sqlite_exec(st, "COMMIT", err);
done:
    if (rc != 0)
        m2m_sqlite_exec(st, "ROLLBACK", NULL);
    return rc;
}

int m2m_sqlite_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                                   m2m_err *err)
{
    sqlite3_stmt *s = prep(st, "SELECT impi, amf, sqn, created FROM gba_subscriber ORDER BY impi", "list", err);
    int step;
    if (s == NULL)
        return -1;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        m2m_gba_subscriber sub;
        memset(&sub, 0, sizeof sub);
        snprintf(sub.impi, sizeof sub.impi, "%s", (const char *)sqlite3_column_text(s, 0));
        copy_blob(s, 1, sub.amf, sizeof sub.amf);
        sub.sqn = (uint64_t)sqlite3_column_int64(s, 2);
        sub.created = sqlite3_column_int64(s, 3);
        cb(&sub, ctx);
    }
    sqlite3_finalize(s);
    return step == SQLITE_DONE ? 0 : m2m_sqlite_fail(st, err, "list");
}

int m2m_sqlite_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err)
{
    sqlite3_stmt *s = prep(st, "INSERT OR REPLACE INTO gba_bootstrap(btid, impi, rand, ks, created, expires) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", "record bootstrapping", err);
    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, b->btid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, b->impi, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, b->rand, sizeof b->rand, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, b->ks, sizeof b->ks, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, b->created);
    sqlite3_bind_int64(s, 6, b->expires);
    return done_stmt(st, s, "record bootstrapping", NULL, err);
}

int m2m_sqlite_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out,
                                 m2m_err *err)
{
    sqlite3_stmt *s = prep(st, "SELECT btid, impi, rand, ks, created, expires FROM gba_bootstrap WHERE btid = ?1 "
                               "AND expires > ?2", "read bootstrapping", err);
    int step, rc = -1;
    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -1;
    sqlite3_bind_text(s, 1, btid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_bytes(s, 2) == sizeof out->rand &&
        sqlite3_column_bytes(s, 3) == sizeof out->ks) {
        snprintf(out->btid, sizeof out->btid, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(out->impi, sizeof out->impi, "%s", (const char *)sqlite3_column_text(s, 1));
        copy_blob(s, 2, out->rand, sizeof out->rand);
        copy_blob(s, 3, out->ks, sizeof out->ks);
        out->created = sqlite3_column_int64(s, 4);
        out->expires = sqlite3_column_int64(s, 5);
        rc = 0;
    } else if (step == SQLITE_ROW || step == SQLITE_DONE) {
        m2m_fail(err, M2M_E_NOTFOUND, "no valid bootstrapping for this B-TID");
    } else {
        m2m_sqlite_fail(st, err, "read bootstrapping");
    }
    sqlite3_finalize(s);
    return rc;
}

int m2m_sqlite_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err)
{
    sqlite3_stmt *s = prep(st, "DELETE FROM gba_bootstrap WHERE expires <= ?1", "expire bootstrappings", err);
    *removed = 0;
    if (s == NULL)
        return -1;
    sqlite3_bind_int64(s, 1, now);
    return done_stmt(st, s, "expire bootstrappings", removed, err);
}
