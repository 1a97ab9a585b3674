/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL back-end's schema, its versions and forward migrations, and the settings kept in meta (the CSE's
 * identity, recorded paths, the enrolment generation).
 *
 * Versions follow the SQLite back-end's numbers (store/sqlite.c): this back-end starts at the schema SQLite
 * reached at version 6, so PG_SCHEMA creates version 6 directly and PG_MIGRATIONS[i] takes version 6+i to 7+i.
 * A schema change adds a migration to both back-ends under the same number. A store newer than this build is
 * refused. Creating and migrating run in one transaction under an advisory lock, so nodes starting at once (or
 * `registrar init` racing a node) queue instead of racing: the second finds the work done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_internal.h"
#include "util/clock.h"

#define PG_SCHEMA_VERSION 6
/* pg_advisory_xact_lock key of schema changes: "m2msch" */
#define SCHEMA_LOCK "SELECT pg_advisory_xact_lock(120229316109160)"

static const char PG_SCHEMA[] =
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    /* enrolments: one active per (Registree, mechanism, pending), a credential ID active once */
    "CREATE TABLE enrolment ("
    "  id BIGSERIAL PRIMARY KEY, registree_id TEXT NOT NULL, mechanism TEXT NOT NULL, key_id TEXT NOT NULL,"
    "  key BYTEA, created BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0, chain_root TEXT,"
    "  expires BIGINT NOT NULL DEFAULT 0, used BIGINT NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0,"
    "  impi TEXT);"
    "CREATE UNIQUE INDEX enrolment_active_mech ON enrolment(registree_id, mechanism, pending) WHERE revoked = 0;"
    "CREATE UNIQUE INDEX enrolment_active_key ON enrolment(key_id) WHERE revoked = 0;"
    "CREATE INDEX enrolment_key ON enrolment(key_id);"
    "CREATE INDEX enrolment_registree ON enrolment(registree_id);"
    /* session-ticket keys shared by every node; seq orders keys made in the same second */
    "CREATE TABLE ticket_key (name BYTEA PRIMARY KEY, aes BYTEA NOT NULL, hmac BYTEA NOT NULL,"
    "  created BIGINT NOT NULL, seq BIGSERIAL);"
    /* the resource tree; seq is the order of creation (SQLite's rowid) */
    "CREATE TABLE resource ("
    "  seq BIGSERIAL, ri TEXT PRIMARY KEY, pi TEXT NOT NULL, ty INTEGER NOT NULL, rn TEXT NOT NULL,"
    "  owner TEXT NOT NULL, reg_id TEXT, attrs TEXT NOT NULL, ct BIGINT NOT NULL, lt BIGINT NOT NULL,"
    "  cs BIGINT NOT NULL DEFAULT 0, et BIGINT NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX resource_child ON resource(pi, rn);"
    "CREATE UNIQUE INDEX resource_reg ON resource(reg_id) WHERE reg_id IS NOT NULL;"
    "CREATE INDEX resource_et ON resource(et) WHERE et > 0;"
    "CREATE INDEX resource_children ON resource(pi, ty, seq);"
    /* quotas: what each Registree owns, kept by a trigger in the same transaction as every change */
    "CREATE TABLE usage (owner TEXT PRIMARY KEY, count BIGINT NOT NULL, bytes BIGINT NOT NULL);"
    "CREATE FUNCTION m2m_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    "  IF TG_OP = 'INSERT' THEN"
    "    IF NEW.owner <> '' THEN"
    "      INSERT INTO usage(owner, count, bytes) VALUES (NEW.owner, 1, octet_length(NEW.attrs))"
    "      ON CONFLICT (owner) DO UPDATE SET count = usage.count + 1, bytes = usage.bytes + excluded.bytes;"
    "    END IF;"
    "  ELSIF TG_OP = 'DELETE' THEN"
    "    IF OLD.owner <> '' THEN"
    "      UPDATE usage SET count = count - 1, bytes = bytes - octet_length(OLD.attrs) WHERE owner = OLD.owner;"
    "    END IF;"
    "  ELSIF NEW.owner <> '' THEN"
    "    UPDATE usage SET bytes = bytes - octet_length(OLD.attrs) + octet_length(NEW.attrs) WHERE owner = NEW.owner;"
    "  END IF;"
    "  RETURN NULL;"
    "END $$;"
    "CREATE TRIGGER usage_change AFTER INSERT OR DELETE OR UPDATE OF attrs ON resource FOR EACH ROW "
    "  EXECUTE FUNCTION m2m_usage();"
    /* GBA: the BSF's subscribers and bootstrapping records (store/pg_gba.c) */
    "CREATE TABLE gba_subscriber (impi TEXT PRIMARY KEY, k BYTEA NOT NULL, opc BYTEA NOT NULL, amf BYTEA NOT NULL,"
    "  sqn BIGINT NOT NULL, created BIGINT NOT NULL);"
    "CREATE TABLE gba_bootstrap (btid TEXT PRIMARY KEY, impi TEXT NOT NULL, rand BYTEA NOT NULL, ks BYTEA NOT NULL,"
    "  created BIGINT NOT NULL, expires BIGINT NOT NULL);"
    "CREATE INDEX gba_bootstrap_expires ON gba_bootstrap(expires);"
    "CREATE INDEX gba_bootstrap_impi ON gba_bootstrap(impi);"
    "INSERT INTO meta VALUES ('enrol_gen', '0');";

/* PG_MIGRATIONS[i]: version 6+i -> 7+i. None yet: the schema above is the current one. */
static const char *const PG_MIGRATIONS[] = {NULL};
#define PG_NMIGRATIONS 0

/* The schema version, 0 when the database has no m2mattach schema. */
static int version_of(pg_store *p, int *version, m2m_err *err)
{
    PGresult *r = pg_q_once(p, "SELECT to_regclass('meta') IS NOT NULL", NULL, "read schema", err);
    int have;
    if (r == NULL)
        return -1;
    have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    *version = 0;
    if (!have)
        return 0;
    r = pg_q_once(p, "SELECT v FROM meta WHERE k = 'schema_version'", NULL, "read schema version", err);
    if (r == NULL)
        return -1;
    *version = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (*version < 1)
        return m2m_fail(err, M2M_E_STORE, "store %s has a meta table but no schema version: not an m2mattach store",
                        p->safe);
    return 0;
}

static int migrate_locked(pg_store *p, int version, m2m_err *err)
{
    char sql[96];
    for (; version < PG_SCHEMA_VERSION; version++) {
        int i = version - 6;
        if (i < 0 || i >= PG_NMIGRATIONS || PG_MIGRATIONS[i] == NULL)
            return m2m_fail(err, M2M_E_STORE, "store %s: no migration from schema version %d", p->safe, version);
        if (pg_exec(p, PG_MIGRATIONS[i], "migrate schema", err) != 0)
            return -1;
    }
    snprintf(sql, sizeof sql, "UPDATE meta SET v = '%d' WHERE k = 'schema_version'", PG_SCHEMA_VERSION);
    return pg_exec(p, sql, "migrate schema", err);
}

int pg_schema_open(pg_store *p, int create, m2m_err *err)
{
    int version, rc = -1, sp = 0;
    char sql[96];

    if (!create) {
        /* the common case, without a lock: already current */
        if (version_of(p, &version, err) != 0)
            return -1;
        if (version == 0)
            return m2m_fail(err, M2M_E_NOTFOUND, "store %s has no m2mattach schema (create it with 'm2mattach "
                            "registrar init')", p->safe);
        if (version == PG_SCHEMA_VERSION)
            return 0;
    }
    if (pg_tx_begin(p, &sp, err) != 0 || pg_exec(p, SCHEMA_LOCK, "lock schema", err) != 0 ||
        version_of(p, &version, err) != 0)
        goto done;
    if (create) {
        if (version != 0) {
            m2m_fail(err, M2M_E_EXISTS, "store %s already has an m2mattach schema; refusing to overwrite it",
                     p->safe);
            goto done;
        }
        snprintf(sql, sizeof sql, "INSERT INTO meta VALUES ('schema_version', '%d')", PG_SCHEMA_VERSION);
        if (pg_exec(p, PG_SCHEMA, "create schema", err) != 0 || pg_exec(p, sql, "create schema", err) != 0)
            goto done;
    } else if (version == 0) {
        m2m_fail(err, M2M_E_NOTFOUND, "store %s has no m2mattach schema (create it with 'm2mattach registrar init')",
                 p->safe);
        goto done;
    } else if (version > PG_SCHEMA_VERSION) {
        m2m_fail(err, M2M_E_STORE, "store %s has schema version %d, newer than this build's %d", p->safe, version,
                 PG_SCHEMA_VERSION);
        goto done;
    } else if (version < PG_SCHEMA_VERSION && migrate_locked(p, version, err) != 0) {
        goto done;
    }
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

/* ---- meta: identity and settings ---- */

static const char META_SET[] = "INSERT INTO meta(k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v";
static const char META_GET[] = "SELECT v FROM meta WHERE k = $1";

static int meta_set(pg_store *p, const char *k, const char *v, m2m_err *err)
{
    pg_params pp = {0};
    pg_text(&pp, k);
    pg_text(&pp, v);
    return pg_run(p, META_SET, &pp, "write setting", NULL, err);
}

/* 0 and out filled, or -1: M2M_E_NOTFOUND when absent. */
static int meta_get(pg_store *p, const char *k, char *out, size_t cap, m2m_err *err)
{
    pg_params pp = {0};
    PGresult *r;
    int rc = 0;
    pg_text(&pp, k);
    if ((r = pg_q(p, META_GET, &pp, "read setting", err)) == NULL)
        return -1;
    if (PQntuples(r) != 1)
        rc = m2m_fail(err, M2M_E_NOTFOUND, "store %s has no %s", p->safe, k);
    else if ((size_t)PQgetlength(r, 0, 0) >= cap)
        rc = m2m_fail(err, M2M_E_STORE, "store %s: setting %s is %d characters long, at most %zu fit", p->safe, k,
                      PQgetlength(r, 0, 0), cap - 1);
    else
        pg_col_str(r, 0, 0, out, cap);
    PQclear(r);
    return rc;
}

int pg_set_identity(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err)
{
    pg_store *p = PG(st);
    m2m_resource cb = {0};
    int rc = -1, sp = 0;
    if (pg_tx_begin(p, &sp, err) != 0)
        return -1;
    if (meta_set(p, "cse_id", cse_id, err) != 0 || meta_set(p, "cse_name", cse_name, err) != 0)
        goto done;
    /* The CSEBase resource: ri and rn are the CSE name, it has no parent and no owner. */
    snprintf(cb.ri, sizeof cb.ri, "%s", cse_name);
    snprintf(cb.rn, sizeof cb.rn, "%s", cse_name);
    cb.ty = 5;
    cb.attrs = (char *)"{}";
    cb.ct = cb.lt = m2m_clock_now();
    if (pg_res_insert(st, &cb, err) != 0)
        goto done;
    rc = pg_tx_commit(p, sp, err);
done:
    if (rc != 0)
        pg_tx_rollback(p, sp);
    return rc;
}

int pg_get_identity(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err)
{
    if (meta_get(PG(st), "cse_id", cse_id, M2M_ID_MAX, err) != 0 ||
        meta_get(PG(st), "cse_name", cse_name, M2M_ID_MAX, err) != 0)
        return -1;
    return 0;
}

int pg_set_meta(m2m_store *st, const char *key, const char *value, m2m_err *err)
{
    return meta_set(PG(st), key, value, err);
}

int pg_get_meta(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err)
{
    m2m_err e;
    out[0] = '\0';
    if (meta_get(PG(st), key, out, cap, &e) == 0)
        return 0;
    if (e.code == M2M_E_NOTFOUND)
        return 0;
    return m2m_fail(err, e.code, "%s", e.msg);
}

/* ---- the enrolment generation ---- */

static const char GEN_BUMP[] =
    "WITH g AS (UPDATE meta SET v = (v::bigint + 1)::text WHERE k = 'enrol_gen' RETURNING v) "
    "SELECT pg_notify('" M2M_PG_CHANNEL "', g.v || ' ' || $1) FROM g";
static const char GEN_READ[] = "SELECT v FROM meta WHERE k = 'enrol_gen'";

int pg_enrol_changed(pg_store *p, const char *registree_id, m2m_err *err)
{
    /* The row lock on the generation orders every enrolment change, so generations commit in order and listeners
     * see them so; the notification goes out only if this transaction commits. */
    pg_params pp = {0};
    int n = 0;
    pg_text(&pp, registree_id);
    if (pg_run(p, GEN_BUMP, &pp, "bump enrolment generation", &n, err) != 0)
        return -1;
    return n == 1 ? 0 : m2m_fail(err, M2M_E_STORE, "store %s has no enrolment generation", p->safe);
}

int pg_enrol_generation(m2m_store *st, int64_t *gen, m2m_err *err)
{
    pg_store *p = PG(st);
    PGresult *r;
    if (p->notifier != NULL && pg_notifier_generation(p->notifier, gen))
        return 0;
    if ((r = pg_q(p, GEN_READ, NULL, "read enrolment generation", err)) == NULL)
        return -1;
    *gen = PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}
