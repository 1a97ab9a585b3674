/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite back-end's enrolments (Step 1): one row per credential in `enrolment` -- PSK keys (and x.y.8's
 * generated keys, pending beside the key they replace until first used), certificate public-key hashes, identity
 * tokens (used once), GBA IMPIs -- and the session-ticket keys every node shares (x.y.4). Every change bumps the
 * enrolment generation in its own transaction, so workers know when to re-check their connections. The operations
 * of store.h's enrolment calls (backend.h); sqlite.c holds the connection and the schema. */
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/backend.h"
#include "store/sqlite_internal.h"
#include "util/clock.h"

#define DB(st) m2m_sqlite_db(st) /* the connection of a handle (sqlite.c owns it) */

static int find_enrolment(m2m_store *st, const char *mechanism, const char *cred_id, m2m_enrolment *out,
                          m2m_err *err);

/* One enrolment, in one transaction: refuse a credential ID already used by another Registree, retire the
 * Registree's active enrolment of the same mechanism (wiping its key), insert the new one. */
/* The end of a unit that changed registree_id's enrolments: the generation bumped with whose change it was, then
 * the commit. */
static int commit_change(m2m_store *st, const char *registree_id, int sp, m2m_err *err)
{
    return m2m_sqlite_bump_enrol_gen(st, registree_id, err) != 0 ? -1 : m2m_sqlite_tx_commit(st, sp, err);
}

static int enrol(m2m_store *st, const char *registree_id, const char *mechanism, const char *cred_id,
                 const m2m_secret *key, const char *root_pem, int64_t expires, const char *impi, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1, step;
    int64_t now = m2m_clock_now();

    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    /* A credential names one Registree, ever: reusing it for another would let the old holder speak as the new
     * one. */
    if (sqlite3_prepare_v2(DB(st), "SELECT registree_id FROM enrolment WHERE key_id = ?1 AND registree_id <> ?2",
                           -1, &s, NULL) != SQLITE_OK) {
        m2m_sqlite_fail(st, err, "enrol");
        goto done;
    }
    sqlite3_bind_text(s, 1, cred_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, registree_id, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        m2m_fail(err, M2M_E_EXISTS, "%s credential %s is already enrolled for Registree %s; use a new one",
                 mechanism, cred_id, (const char *)sqlite3_column_text(s, 0));
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    /* An operator's enrolment replaces both the current and any pending generated key of that mechanism. */
    if (sqlite3_prepare_v2(DB(st), "UPDATE enrolment SET revoked = ?3, key = NULL WHERE registree_id = ?1 AND "
                                   "mechanism = ?2 AND revoked = 0", -1, &s, NULL) != SQLITE_OK) {
        m2m_sqlite_fail(st, err, "enrol");
        goto done;
    }
    sqlite3_bind_text(s, 1, registree_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, mechanism, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    if (sqlite3_step(s) != SQLITE_DONE) {
        m2m_sqlite_fail(st, err, "enrol");
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(DB(st), "INSERT INTO enrolment(registree_id, mechanism, key_id, key, created, "
                                   "chain_root, expires, impi) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &s,
                           NULL) !=
        SQLITE_OK) {
        m2m_sqlite_fail(st, err, "enrol");
        goto done;
    }
    sqlite3_bind_text(s, 1, registree_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, mechanism, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, cred_id, -1, SQLITE_STATIC);
    if (key != NULL)
        sqlite3_bind_blob(s, 4, key->bytes, (int)key->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    sqlite3_bind_int64(s, 5, now);
    if (root_pem != NULL)
        sqlite3_bind_text(s, 6, root_pem, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, expires);
    if (impi != NULL)
        sqlite3_bind_text(s, 8, impi, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 8);
    if (sqlite3_step(s) != SQLITE_DONE) {
        m2m_sqlite_fail(st, err, "enrol");
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    rc = commit_change(st, registree_id, sp, err);
done:
    sqlite3_finalize(s);
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

int m2m_sqlite_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                        m2m_err *err)
{
    return enrol(st, registree_id, "psk", key_id, key, NULL, 0, NULL, err);
}

int m2m_sqlite_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                         m2m_err *err)
{
    return enrol(st, registree_id, "cert", pubkey_hash, NULL, root_pem, 0, NULL, err);
}

int m2m_sqlite_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires,
                          m2m_err *err)
{
    return enrol(st, registree_id, "token", token_hash, NULL, NULL, expires, NULL, err);
}

int m2m_sqlite_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi,
                        m2m_err *err)
{
    return enrol(st, registree_id, "gba", impi_id, NULL, NULL, 0, impi, err);
}

static int find_enrolment(m2m_store *st, const char *mechanism, const char *cred_id, m2m_enrolment *out,
                          m2m_err *err);

int m2m_sqlite_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err)
{
    return find_enrolment(st, "gba", impi_id, out, err);
}

int m2m_sqlite_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err)
{
    return find_enrolment(st, "token", token_hash, out, err);
}

int m2m_sqlite_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (find_enrolment(st, "token", token_hash, out, err) != 0)
        return -1;
    if (out->used != 0)
        return m2m_fail(err, M2M_E_AUTH, "identity token for %s was already used", out->registree_id);
    if (out->expires != 0 && now >= out->expires)
        return m2m_fail(err, M2M_E_AUTH, "identity token for %s has expired", out->registree_id);
    /* The guard in WHERE makes a race between two connections with the same token leave exactly one winner. */
    if (sqlite3_prepare_v2(DB(st), "UPDATE enrolment SET used = ?2 WHERE key_id = ?1 AND mechanism = 'token' AND "
                                   "revoked = 0 AND used = 0 AND (expires = 0 OR expires > ?2)", -1, &s, NULL) !=
        SQLITE_OK) {
        m2m_sqlite_fail(st, err, "use token");
        goto done;
    }
    sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    if (sqlite3_step(s) != SQLITE_DONE) {
        m2m_sqlite_fail(st, err, "use token");
        goto done;
    }
    if (sqlite3_changes(DB(st)) != 1) {
        m2m_fail(err, M2M_E_AUTH, "identity token for %s was already used", out->registree_id);
        goto done;
    }
    out->used = now;
    rc = 0;
done:
    sqlite3_finalize(s);
    return rc;
}

int m2m_sqlite_release_token(m2m_store *st, const char *token_hash, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(DB(st), "UPDATE enrolment SET used = 0 WHERE key_id = ?1 AND mechanism = 'token' AND "
                                   "revoked = 0", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE)
        m2m_sqlite_fail(st, err, "release token");
    else
        rc = 0;
    sqlite3_finalize(s);
    return rc;
}

/* Reads one Q_ENROL_FIND row into out. */
static int enrolment_row(m2m_store *st, sqlite3_stmt *s, m2m_enrolment *out, m2m_err *err)
{
    const void *key = sqlite3_column_blob(s, 3);
    int klen = sqlite3_column_bytes(s, 3);
    const unsigned char *root = sqlite3_column_text(s, 5);
    snprintf(out->registree_id, sizeof out->registree_id, "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(out->mechanism, sizeof out->mechanism, "%s", (const char *)sqlite3_column_text(s, 1));
    snprintf(out->key_id, sizeof out->key_id, "%s", (const char *)sqlite3_column_text(s, 2));
    out->created = sqlite3_column_int64(s, 4);
    out->expires = sqlite3_column_int64(s, 6);
    out->used = sqlite3_column_int64(s, 7);
    out->pending = sqlite3_column_int(s, 8);
    if (sqlite3_column_text(s, 9) != NULL)
        snprintf(out->impi, sizeof out->impi, "%s", (const char *)sqlite3_column_text(s, 9));
    if (key != NULL && klen > 0 && m2m_secret_set(&out->key, key, (size_t)klen, err) != 0)
        return -1;
    if (root != NULL && (out->chain_root = strdup((const char *)root)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    (void)st;
    return 0;
}

static int find_enrolment(m2m_store *st, const char *mechanism, const char *cred_id, m2m_enrolment *out,
                          m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_ENROL_FIND);
    int rc = -1, step;

    memset(out, 0, sizeof *out);
    sqlite3_bind_text(s, 1, cred_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, mechanism, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = enrolment_row(st, s, out, err);
    else if (step == SQLITE_DONE)
        m2m_fail(err, M2M_E_NOTFOUND, "no active %s enrolment for %s", mechanism, cred_id);
    else
        m2m_sqlite_fail(st, err, "find enrolment");
    sqlite3_reset(s); /* drops SQLite's copy of the key row */
    if (rc != 0)
        m2m_enrolment_clear(out);
    return rc;
}

int m2m_sqlite_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err)
{
    if (find_enrolment(st, "psk", key_id, out, err) != 0)
        return -1;
    if (out->key.len == 0) {
        m2m_enrolment_clear(out);
        return m2m_fail(err, M2M_E_STORE, "store %s: enrolment %s has no usable key", m2m_sqlite_path(st), key_id);
    }
    return 0;
}

int m2m_sqlite_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err)
{
    return find_enrolment(st, "cert", pubkey_hash, out, err);
}

int m2m_sqlite_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_ENROL_ACTIVE);
    int step;
    sqlite3_bind_text(s, 1, registree_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key_id, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step == SQLITE_ROW)
        return 1;
    if (step == SQLITE_DONE)
        return 0;
    return m2m_sqlite_fail(st, err, "check enrolment");
}

int m2m_sqlite_revoke(m2m_store *st, const char *registree_id, m2m_err *err)
{
    int rc = -1;
    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    if (m2m_sqlite_run(st, "UPDATE enrolment SET revoked = ?3, key = NULL WHERE registree_id = ?1 AND revoked = 0",
                       registree_id, NULL, m2m_clock_now(), "update enrolment", err) != 0)
        goto done;
    if (sqlite3_changes(DB(st)) == 0) {
        m2m_fail(err, M2M_E_NOTFOUND, "no active enrolment for Registree %s", registree_id);
        goto done;
    }
    rc = commit_change(st, registree_id, sp, err);
done:
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

int m2m_sqlite_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1, step;
    const char *sql = include_revoked
                          ? "SELECT registree_id, mechanism, key_id, created, revoked, expires, used, "
                            "chain_root IS NOT NULL, pending, impi FROM enrolment ORDER BY id"
                          : "SELECT registree_id, mechanism, key_id, created, revoked, expires, used, "
                            "chain_root IS NOT NULL, pending, impi FROM enrolment WHERE revoked = 0 ORDER BY id";
    if (sqlite3_prepare_v2(DB(st), sql, -1, &s, NULL) != SQLITE_OK) {
        m2m_sqlite_fail(st, err, "list");
        goto done;
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        m2m_enrolment e;
        memset(&e, 0, sizeof e);
        snprintf(e.registree_id, sizeof e.registree_id, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(e.mechanism, sizeof e.mechanism, "%s", (const char *)sqlite3_column_text(s, 1));
        snprintf(e.key_id, sizeof e.key_id, "%s", (const char *)sqlite3_column_text(s, 2));
        e.created = sqlite3_column_int64(s, 3);
        e.revoked = sqlite3_column_int64(s, 4);
        e.expires = sqlite3_column_int64(s, 5);
        e.used = sqlite3_column_int64(s, 6);
        e.chain_root = sqlite3_column_int(s, 7) ? (char *)"" : NULL; /* presence only; never the PEM */
        e.pending = sqlite3_column_int(s, 8);
        if (sqlite3_column_text(s, 9) != NULL)
            snprintf(e.impi, sizeof e.impi, "%s", (const char *)sqlite3_column_text(s, 9));
        cb(&e, ctx);
    }
    if (step != SQLITE_DONE) {
        m2m_sqlite_fail(st, err, "list");
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(s);
    return rc;
}


/* ---- x.y.8: generated keys ---- */


int m2m_sqlite_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key,
                                  const char *key_id, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    int64_t now = m2m_clock_now();

    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    /* A key generated again before the last one was used replaces that pending one (its response was lost). */
    if (m2m_sqlite_run(st, "UPDATE enrolment SET revoked = ?3, key = NULL WHERE registree_id = ?1 AND "
                           "mechanism = 'psk' AND pending = 1 AND revoked = 0", registree_id, NULL, now,
                       "update enrolment", err) != 0)
        goto done;
    if (sqlite3_prepare_v2(DB(st), "INSERT INTO enrolment(registree_id, mechanism, key_id, key, created, pending) "
                                   "VALUES (?1, 'psk', ?2, ?3, ?4, 1)", -1, &s, NULL) != SQLITE_OK) {
        m2m_sqlite_fail(st, err, "store generated key");
        goto done;
    }
    sqlite3_bind_text(s, 1, registree_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, key->bytes, (int)key->len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now);
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_errcode(DB(st)) == SQLITE_CONSTRAINT)
            m2m_fail(err, M2M_E_EXISTS, "generated key ID %s already exists", key_id);
        else
            m2m_sqlite_fail(st, err, "store generated key");
        goto done;
    }
    rc = commit_change(st, registree_id, sp, err);
done:
    sqlite3_finalize(s);
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

int m2m_sqlite_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    int rc = -1;
    int64_t now = m2m_clock_now();
    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    /* Only if it is still pending: two workers may race here, the second finds nothing to do. */
    if (m2m_sqlite_run(st, "UPDATE enrolment SET revoked = ?3, key = NULL WHERE registree_id = ?1 AND "
                           "mechanism = 'psk' AND pending = 0 AND revoked = 0 AND EXISTS (SELECT 1 FROM enrolment "
                           "WHERE registree_id = ?1 AND key_id = ?2 AND pending = 1 AND revoked = 0)",
                       registree_id, key_id, now, "update enrolment", err) != 0 ||
        m2m_sqlite_run(st, "UPDATE enrolment SET pending = 0 WHERE registree_id = ?1 AND key_id = ?2 AND "
                           "pending = 1 AND revoked = 0", registree_id, key_id, 0, "update enrolment", err) != 0)
        goto done;
    if (sqlite3_changes(DB(st)) > 0 && m2m_sqlite_bump_enrol_gen(st, registree_id, err) != 0)
        goto done;
    rc = m2m_sqlite_tx_commit(st, sp, err);
done:
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

int m2m_sqlite_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1, step;
    *promoted = 0;
    if (sqlite3_prepare_v2(DB(st), "SELECT registree_id, key_id FROM enrolment WHERE mechanism = 'psk' AND "
                                   "pending = 1 AND revoked = 0 AND created < ?1", -1, &s, NULL) != SQLITE_OK)
        return m2m_sqlite_fail(st, err, "expire pending keys");
    sqlite3_bind_int64(s, 1, older_than);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        char id[M2M_ID_MAX], kid[M2M_CRED_ID_MAX];
        snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(kid, sizeof kid, "%s", (const char *)sqlite3_column_text(s, 1));
        sqlite3_reset(s); /* release the read before writing */
        if (m2m_store_promote_psk(st, id, kid, err) != 0)
            goto done;
        (*promoted)++;
        sqlite3_bind_int64(s, 1, older_than);
    }
    if (step != SQLITE_DONE) {
        m2m_sqlite_fail(st, err, "expire pending keys");
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(s);
    return rc;
}

/* ---- x.y.4: session-ticket keys ---- */

static int load_ticket_keys(m2m_store *st, int64_t since, m2m_ticket_key *out, int max, int *n, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int step;
    *n = 0;
    if (sqlite3_prepare_v2(DB(st), "SELECT name, aes, hmac, created FROM ticket_key WHERE created > ?1 "
                                   "ORDER BY created DESC, rowid DESC", -1, &s, NULL) != SQLITE_OK)
        return m2m_sqlite_fail(st, err, "read ticket keys");
    sqlite3_bind_int64(s, 1, since);
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        m2m_ticket_key *k = &out[*n];
        if (sqlite3_column_bytes(s, 0) != sizeof k->name || sqlite3_column_bytes(s, 1) != sizeof k->aes ||
            sqlite3_column_bytes(s, 2) != sizeof k->hmac)
            continue;
        memcpy(k->name, sqlite3_column_blob(s, 0), sizeof k->name);
        memcpy(k->aes, sqlite3_column_blob(s, 1), sizeof k->aes);
        memcpy(k->hmac, sqlite3_column_blob(s, 2), sizeof k->hmac);
        k->created = sqlite3_column_int64(s, 3);
        (*n)++;
    }
    /* A read that stops on an error (busy, I/O, a broken row) is not "no more keys": with fewer keys than there
     * are, the caller would rotate or refuse valid tickets, so the error goes up and no partial list is kept. */
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        m2m_sqlite_fail(st, err, "read ticket keys");
        sqlite3_finalize(s);
        m2m_wipe(out, sizeof *out * (size_t)*n);
        *n = 0;
        return -1;
    }
    sqlite3_finalize(s);
    return 0;
}

int m2m_sqlite_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max,
                          int *n, m2m_err *err)
{
    int rc = -1;
    /* Keys older than two periods are no longer accepted: a ticket under one falls back to a full handshake. */
    if (load_ticket_keys(st, now - 2 * period, out, max, n, err) != 0)
        return -1;
    if (!rotate || (*n > 0 && out[0].created > now - period))
        return 0;
    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    /* Look again under the write lock: another node may have rotated meanwhile. */
    if (load_ticket_keys(st, now - 2 * period, out, max, n, err) != 0)
        goto done;
    if (*n == 0 || out[0].created <= now - period) {
        unsigned char k[16 + 32 + 32];
        sqlite3_stmt *s = NULL;
        if (RAND_bytes(k, sizeof k) != 1) {
            m2m_fail(err, M2M_E_TLS, "the random generator failed");
            goto done;
        }
        if (sqlite3_prepare_v2(DB(st), "INSERT INTO ticket_key(name, aes, hmac, created) VALUES (?1, ?2, ?3, ?4)",
                               -1, &s, NULL) != SQLITE_OK) {
            m2m_wipe(k, sizeof k);
            m2m_sqlite_fail(st, err, "rotate ticket keys");
            goto done;
        }
        sqlite3_bind_blob(s, 1, k, 16, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 2, k + 16, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(s, 3, k + 48, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, now);
        if (sqlite3_step(s) != SQLITE_DONE) {
            sqlite3_finalize(s);
            m2m_wipe(k, sizeof k);
            m2m_sqlite_fail(st, err, "rotate ticket keys");
            goto done;
        }
        sqlite3_finalize(s);
        m2m_wipe(k, sizeof k);
        if (m2m_sqlite_run(st, "DELETE FROM ticket_key WHERE created <= ?3", NULL, NULL, now - 2 * period,
                           "forget old ticket keys", err) != 0 ||
            load_ticket_keys(st, now - 2 * period, out, max, n, err) != 0)
            goto done;
    }
    rc = m2m_sqlite_tx_commit(st, sp, err);
done:
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

int m2m_sqlite_registree_known(m2m_store *st, const char *registree_id, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_ENROL_KNOWN);
    int step;
    sqlite3_bind_text(s, 1, registree_id, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step == SQLITE_ROW)
        return 1;
    return step == SQLITE_DONE ? 0 : m2m_sqlite_fail(st, err, "read enrolments");
}
