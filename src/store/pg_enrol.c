/* SPDX-License-Identifier: Apache-2.0 */
/* Step 1 enrolments, identity tokens, generated keys (x.y.8) and session-ticket keys (x.y.4) on PostgreSQL.
 *
 * Several nodes write these at once, so each guarantee is the database's, not a node's:
 * - every enrolment change (enrol, replace, revoke, generate, promote) first locks the generation row, so they
 *   are applied one at a time across all nodes: "a credential ID names one Registree, ever" is checked and
 *   written under that lock, and the generation (with its NOTIFY) commits in order;
 * - a token is consumed by one conditional UPDATE ... RETURNING: a second node's UPDATE waits for the first's
 *   commit, then no longer matches (used <> 0), so exactly one wins;
 * - ticket keys rotate under an advisory lock: the second node to look finds the new key and adds none. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"
#include "util/clock.h"

#define COLS "registree_id, mechanism, key_id, key, created, chain_root, expires, used, pending, impi"

static const char GEN_LOCK[] = "SELECT 1 FROM meta WHERE k = 'enrol_gen' FOR UPDATE";
static const char FIND[] = "SELECT " COLS " FROM enrolment WHERE key_id = $1 AND revoked = 0 AND mechanism = $2";
static const char CRED_TAKEN[] = "SELECT registree_id FROM enrolment WHERE key_id = $1 AND registree_id <> $2 LIMIT 1";
static const char RETIRE[] = "UPDATE enrolment SET revoked = $3, key = NULL WHERE registree_id = $1 AND mechanism = $2 "
                             "AND revoked = 0";
static const char INSERT[] = "INSERT INTO enrolment(registree_id, mechanism, key_id, key, created, chain_root, expires, "
                             "impi) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
static const char CONSUME[] = "UPDATE enrolment SET used = $2 WHERE key_id = $1 AND mechanism = 'token' AND "
                              "revoked = 0 AND used = 0 AND (expires = 0 OR expires > $2) RETURNING " COLS;
static const char RELEASE[] = "UPDATE enrolment SET used = 0 WHERE key_id = $1 AND mechanism = 'token' AND revoked = 0";
static const char ACTIVE[] = "SELECT 1 FROM enrolment WHERE registree_id = $1 AND key_id = $2 AND revoked = 0";
static const char REVOKE[] = "UPDATE enrolment SET revoked = $2, key = NULL WHERE registree_id = $1 AND revoked = 0";
static const char KNOWN[] = "SELECT 1 FROM enrolment WHERE registree_id = $1 LIMIT 1";
static const char LIST_ALL[] = "SELECT registree_id, mechanism, key_id, created, revoked, expires, used, "
                               "chain_root IS NOT NULL, pending, impi FROM enrolment ORDER BY id";
static const char LIST_ACTIVE[] = "SELECT registree_id, mechanism, key_id, created, revoked, expires, used, "
                                  "chain_root IS NOT NULL, pending, impi FROM enrolment WHERE revoked = 0 ORDER BY id";
static const char GEN_RETIRE_PENDING[] = "UPDATE enrolment SET revoked = $2, key = NULL WHERE registree_id = $1 AND "
                                         "mechanism = 'psk' AND pending = 1 AND revoked = 0";
static const char GEN_INSERT[] = "INSERT INTO enrolment(registree_id, mechanism, key_id, key, created, pending) "
                                 "VALUES ($1, 'psk', $2, $3, $4, 1) ON CONFLICT DO NOTHING";
static const char PROMOTE_RETIRE[] = "UPDATE enrolment SET revoked = $3, key = NULL WHERE registree_id = $1 AND "
                                     "mechanism = 'psk' AND pending = 0 AND revoked = 0 AND EXISTS (SELECT 1 FROM "
                                     "enrolment WHERE registree_id = $1 AND key_id = $2 AND pending = 1 AND "
                                     "revoked = 0)";
static const char PROMOTE[] = "UPDATE enrolment SET pending = 0 WHERE registree_id = $1 AND key_id = $2 AND "
                              "pending = 1 AND revoked = 0";
static const char PENDING_OLD[] = "SELECT registree_id, key_id FROM enrolment WHERE mechanism = 'psk' AND pending = 1 "
                                  "AND revoked = 0 AND created < $1 ORDER BY id";
static const char TK_LOAD[] = "SELECT name, aes, hmac, created FROM ticket_key WHERE created > $1 "
                              "ORDER BY created DESC, seq DESC";
static const char TK_LOCK[] = "SELECT pg_advisory_xact_lock(120229316109161)"; /* "m2mtkt" */
static const char TK_INSERT[] = "INSERT INTO ticket_key(name, aes, hmac, created) VALUES ($1, $2, $3, $4)";
static const char TK_DELETE[] = "DELETE FROM ticket_key WHERE created <= $1";

/* One FIND row into out (the key into a self-wiping buffer). */
int pg_enrolment_row(pg_store *p, PGresult *r, int row, m2m_enrolment *out, m2m_err *err)
{
    unsigned char key[M2M_SECRET_MAX];
    size_t klen = 0;
    int rc = -1;
    pg_col_str(r, row, 0, out->registree_id, sizeof out->registree_id);
    pg_col_str(r, row, 1, out->mechanism, sizeof out->mechanism);
    pg_col_str(r, row, 2, out->key_id, sizeof out->key_id);
    out->created = pg_col_int(r, row, 4);
    out->expires = pg_col_int(r, row, 6);
    out->used = pg_col_int(r, row, 7);
    out->pending = (int)pg_col_int(r, row, 8);
    pg_col_str(r, row, 9, out->impi, sizeof out->impi);
    if (pg_col_bytes_var(r, row, 3, key, sizeof key, &klen) != 0) {
        m2m_fail(err, M2M_E_STORE, "store %s: enrolment %s has a malformed key", p->safe, out->key_id);
        goto done;
    }
    if (klen > 0 && m2m_secret_set(&out->key, key, klen, err) != 0)
        goto done;
    if (!PQgetisnull(r, row, 5) && (out->chain_root = strdup(PQgetvalue(r, row, 5))) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static int find_enrolment(pg_store *p, const char *mechanism, const char *cred_id, m2m_enrolment *out, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int rc = -1;
    memset(out, 0, sizeof *out);
    pg_text(&pp, cred_id);
    pg_text(&pp, mechanism);
    if ((r = pg_q(p, FIND, &pp, "find enrolment", err)) == NULL)
        return -1;
    if (PQntuples(r) == 1)
        rc = pg_enrolment_row(p, r, 0, out, err);
    else
        m2m_fail(err, M2M_E_NOTFOUND, "no active %s enrolment for %s", mechanism, cred_id);
    pg_clear_wipe(r); /* the key was in it */
    if (rc != 0)
        m2m_enrolment_clear(out);
    return rc;
}

/* Locks the enrolment generation: every enrolment change holds it until it commits (see the top). */
static int gen_lock(pg_store *p, m2m_err *err)
{
    return pg_run(p, GEN_LOCK, NULL, "lock enrolments", NULL, err);
}

/* One enrolment, in one unit: refuse a credential ID already used by another Registree, retire the Registree's
 * active enrolment of the same mechanism (wiping its key), insert the new one. */
static int enrol(pg_store *p, const char *registree_id, const char *mechanism, const char *cred_id,
                 const m2m_secret *key, const char *root_pem, int64_t expires, const char *impi, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r = NULL;
    int rc = -1, sp = 0;
    int64_t now = m2m_clock_now();

    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    if (gen_lock(p, err) != 0)
        goto done;
    pg_text(&pp, cred_id);
    pg_text(&pp, registree_id);
    if ((r = pg_q(p, CRED_TAKEN, &pp, "enrol", err)) == NULL)
        goto done;
    if (PQntuples(r) > 0) {
        /* A credential names one Registree, ever: reusing it for another would let the old holder speak as the new
         * one. */
        m2m_fail(err, M2M_E_EXISTS, "%s credential %s is already enrolled for Registree %s; use a new one", mechanism,
                 cred_id, PQgetvalue(r, 0, 0));
        goto done;
    }
    memset(&pp, 0, sizeof pp);
    pg_text(&pp, registree_id);
    pg_text(&pp, mechanism);
    pg_int(&pp, now);
    /* An operator's enrolment replaces both the current and any pending generated key of that mechanism. */
    if (pg_run(p, RETIRE, &pp, "enrol", NULL, err) != 0)
        goto done;
    memset(&pp, 0, sizeof pp);
    pg_text(&pp, registree_id);
    pg_text(&pp, mechanism);
    pg_text(&pp, cred_id);
    if (key != NULL)
        pg_bytes(&pp, key->bytes, key->len);
    else
        pg_text(&pp, NULL);
    pg_int(&pp, now);
    pg_text(&pp, root_pem);
    pg_int(&pp, expires);
    pg_text(&pp, impi);
    if (pg_run(p, INSERT, &pp, "enrol", NULL, err) != 0 || pg_enrol_changed(p, registree_id, err) != 0)
        goto done;
    rc = pg_tx_commit(p, sp, err);
done:
    PQclear(r);
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id, m2m_err *err)
{
    return enrol(PG(st), registree_id, "psk", key_id, key, NULL, 0, NULL, err);
}

int pg_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                  m2m_err *err)
{
    return enrol(PG(st), registree_id, "cert", pubkey_hash, NULL, root_pem, 0, NULL, err);
}

int pg_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires, m2m_err *err)
{
    return enrol(PG(st), registree_id, "token", token_hash, NULL, NULL, expires, NULL, err);
}

int pg_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi, m2m_err *err)
{
    return enrol(PG(st), registree_id, "gba", impi_id, NULL, NULL, 0, impi, err);
}

int pg_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err)
{
    return find_enrolment(PG(st), "gba", impi_id, out, err);
}

int pg_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err)
{
    return find_enrolment(PG(st), "cert", pubkey_hash, out, err);
}

int pg_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err)
{
    return find_enrolment(PG(st), "token", token_hash, out, err);
}

int pg_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err)
{
    if (find_enrolment(PG(st), "psk", key_id, out, err) != 0)
        return -1;
    if (out->key.len == 0) {
        m2m_enrolment_clear(out);
        return m2m_fail(err, M2M_E_STORE, "store %s: enrolment %s has no usable key", PG(st)->safe, key_id);
    }
    return 0;
}

int pg_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err)
{
    pg_store *p = PG(st);
    pg_params pp = {0};
    PGresult *r;
    int rc = -1;

    memset(out, 0, sizeof *out);
    pg_text(&pp, token_hash);
    pg_int(&pp, now);
    if ((r = pg_q(p, CONSUME, &pp, "use token", err)) == NULL)
        return -1;
    if (PQntuples(r) == 1) {
        rc = pg_enrolment_row(p, r, 0, out, err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    /* Nothing matched: say why, with the enrolment when there is one (as the SQLite back-end does). */
    if (find_enrolment(p, "token", token_hash, out, err) != 0)
        return -1;
    if (out->expires != 0 && now >= out->expires && out->used == 0)
        return m2m_fail(err, M2M_E_AUTH, "identity token for %s has expired", out->registree_id);
    return m2m_fail(err, M2M_E_AUTH, "identity token for %s was already used", out->registree_id);
}

int pg_release_token(m2m_store *st, const char *token_hash, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, token_hash);
    return pg_run(PG(st), RELEASE, &pp, "release token", NULL, err);
}

int pg_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int active;
    pg_text(&pp, registree_id);
    pg_text(&pp, key_id);
    if ((r = pg_q(PG(st), ACTIVE, &pp, "check enrolment", err)) == NULL)
        return -1;
    active = PQntuples(r) > 0;
    PQclear(r);
    return active;
}

int pg_registree_known(m2m_store *st, const char *registree_id, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int known;
    pg_text(&pp, registree_id);
    if ((r = pg_q(PG(st), KNOWN, &pp, "read enrolments", err)) == NULL)
        return -1;
    known = PQntuples(r) > 0;
    PQclear(r);
    return known;
}

int pg_revoke(m2m_store *st, const char *registree_id, m2m_err *err)
{
    pg_store *p = PG(st);
    pg_params pp = {0};
    int rc = -1, sp = 0, n = 0;
    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    pg_text(&pp, registree_id);
    pg_int(&pp, m2m_clock_now());
    if (gen_lock(p, err) != 0 || pg_run(p, REVOKE, &pp, "revoke", &n, err) != 0)
        goto done;
    if (n == 0) {
        m2m_fail(err, M2M_E_NOTFOUND, "no active enrolment for Registree %s", registree_id);
        goto done;
    }
    if (pg_enrol_changed(p, registree_id, err) != 0)
        goto done;
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err)
{
    PGresult *r = pg_q(PG(st), include_revoked ? LIST_ALL : LIST_ACTIVE, NULL, "list", err);
    if (r == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        m2m_enrolment e;
        memset(&e, 0, sizeof e);
        pg_col_str(r, i, 0, e.registree_id, sizeof e.registree_id);
        pg_col_str(r, i, 1, e.mechanism, sizeof e.mechanism);
        pg_col_str(r, i, 2, e.key_id, sizeof e.key_id);
        e.created = pg_col_int(r, i, 3);
        e.revoked = pg_col_int(r, i, 4);
        e.expires = pg_col_int(r, i, 5);
        e.used = pg_col_int(r, i, 6);
        e.chain_root = strcmp(PQgetvalue(r, i, 7), "t") == 0 ? (char *)"" : NULL; /* presence only; never the PEM */
        e.pending = (int)pg_col_int(r, i, 8);
        pg_col_str(r, i, 9, e.impi, sizeof e.impi);
        cb(&e, ctx);
    }
    PQclear(r);
    return 0;
}

/* ---- x.y.8: generated keys ---- */

int pg_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                           m2m_err *err)
{
    pg_store *p = PG(st);
    pg_params pp = {0};
    int rc = -1, sp = 0, n = 0;
    int64_t now = m2m_clock_now();

    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    pg_text(&pp, registree_id);
    pg_int(&pp, now);
    /* A key generated again before the last one was used replaces that pending one (its response was lost). */
    if (gen_lock(p, err) != 0 || pg_run(p, GEN_RETIRE_PENDING, &pp, "store generated key", NULL, err) != 0)
        goto done;
    memset(&pp, 0, sizeof pp);
    pg_text(&pp, registree_id);
    pg_text(&pp, key_id);
    pg_bytes(&pp, key->bytes, key->len);
    pg_int(&pp, now);
    if (pg_run(p, GEN_INSERT, &pp, "store generated key", &n, err) != 0)
        goto done;
    if (n != 1) {
        m2m_fail(err, M2M_E_EXISTS, "generated key ID %s already exists", key_id);
        goto done;
    }
    if (pg_enrol_changed(p, registree_id, err) != 0)
        goto done;
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    pg_store *p = PG(st);
    pg_params pp = {0};
    int rc = -1, sp = 0, n = 0;
    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    pg_text(&pp, registree_id);
    pg_text(&pp, key_id);
    pg_int(&pp, m2m_clock_now());
    /* Only if it is still pending: two nodes may race here, the second finds nothing to do. */
    if (gen_lock(p, err) != 0 || pg_run(p, PROMOTE_RETIRE, &pp, "promote key", NULL, err) != 0)
        goto done;
    pp.n = 2;
    if (pg_run(p, PROMOTE, &pp, "promote key", &n, err) != 0)
        goto done;
    if (n > 0 && pg_enrol_changed(p, registree_id, err) != 0)
        goto done;
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int rc = 0;
    *promoted = 0;
    pg_int(&pp, older_than);
    if ((r = pg_q(PG(st), PENDING_OLD, &pp, "expire pending keys", err)) == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        rc = pg_promote_psk(st, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), err);
        if (rc == 0)
            (*promoted)++;
    }
    PQclear(r);
    return rc;
}

/* ---- x.y.4: session-ticket keys ---- */

static int load_ticket_keys(pg_store *p, int64_t since, m2m_ticket_key *out, int max, int *n, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    *n = 0;
    pg_int(&pp, since);
    if ((r = pg_q(p, TK_LOAD, &pp, "read ticket keys", err)) == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r) && *n < max; i++) {
        m2m_ticket_key *k = &out[*n];
        if (pg_col_bytes(r, i, 0, k->name, sizeof k->name) != 0 || pg_col_bytes(r, i, 1, k->aes, sizeof k->aes) != 0 ||
            pg_col_bytes(r, i, 2, k->hmac, sizeof k->hmac) != 0)
            continue;
        k->created = pg_col_int(r, i, 3);
        (*n)++;
    }
    pg_clear_wipe(r);
    return 0;
}

int pg_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max, int *n,
                   m2m_err *err)
{
    pg_store *p = PG(st);
    unsigned char k[16 + 32 + 32];
    pg_params pp = {0};
    int rc = -1, sp = 0;

    /* Keys older than two periods are no longer accepted: a ticket under one falls back to a full handshake. */
    if (load_ticket_keys(p, now - 2 * period, out, max, n, err) != 0)
        return -1;
    if (!rotate || (*n > 0 && out[0].created > now - period))
        return 0;
    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    /* Look again under the lock: another node may have rotated meanwhile. */
    if (pg_run(p, TK_LOCK, NULL, "lock ticket keys", NULL, err) != 0 ||
        load_ticket_keys(p, now - 2 * period, out, max, n, err) != 0)
        goto done;
    if (*n == 0 || out[0].created <= now - period) {
        if (RAND_bytes(k, sizeof k) != 1) {
            m2m_fail(err, M2M_E_TLS, "the random generator failed");
            goto done;
        }
        pg_bytes(&pp, k, 16);
        pg_bytes(&pp, k + 16, 32);
        pg_bytes(&pp, k + 48, 32);
        pg_int(&pp, now);
        if (pg_run(p, TK_INSERT, &pp, "rotate ticket keys", NULL, err) != 0)
            goto done;
        memset(&pp, 0, sizeof pp);
        pg_int(&pp, now - 2 * period);
        if (pg_run(p, TK_DELETE, &pp, "rotate ticket keys", NULL, err) != 0 ||
            load_ticket_keys(p, now - 2 * period, out, max, n, err) != 0)
            goto done;
    }
    rc = pg_tx_commit(p, sp, err);
done:
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(&pp, sizeof pp);
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}
