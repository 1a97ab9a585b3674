/* SPDX-License-Identifier: Apache-2.0 */
/* SQLite back-end of the store: WAL, synchronous=FULL (a reported write survives kill -9 and power loss),
 * secure_delete (wiped keys leave no trace in free pages), busy_timeout for the other workers' writes. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/backend.h"
#include "store/sqlite_internal.h"
#include "util/clock.h"

/* The schema is versioned: SCHEMA creates version 1, MIGRATIONS[i] takes version i+1 to i+2. A store is
 * migrated forward in one transaction when opened; a store newer than this build is refused. */
#define SCHEMA_VERSION 7


static const char *const SQL[Q_COUNT] = {
    [Q_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [Q_META_SET] = "INSERT INTO meta(k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [Q_ENROL_FIND] = "SELECT registree_id, mechanism, key_id, key, created, chain_root, expires, used, pending, impi "
                     "FROM enrolment WHERE key_id = ?1 AND revoked = 0 AND mechanism = ?2",
    [Q_ENROL_ACTIVE] = "SELECT 1 FROM enrolment WHERE registree_id = ?1 AND key_id = ?2 AND revoked = 0",
    [Q_RES_GET] = "SELECT ri, pi, ty, rn, owner, reg_id, attrs, ct, lt FROM resource WHERE ri = ?1",
    [Q_RES_CHILD] = "SELECT ri, pi, ty, rn, owner, reg_id, attrs, ct, lt FROM resource WHERE pi = ?1 AND rn = ?2",
    [Q_RES_REG] = "SELECT ri, pi, ty, rn, owner, reg_id, attrs, ct, lt FROM resource WHERE reg_id = ?1",
    [Q_RES_INSERT] = "INSERT INTO resource(ri, pi, ty, rn, owner, reg_id, attrs, ct, lt, cs, et) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [Q_RES_UPDATE] = "UPDATE resource SET attrs = ?2, lt = ?3, et = ?4 WHERE ri = ?1",
    [Q_RES_COUNT] = "SELECT count(*) FROM resource WHERE pi = ?1 AND ty = ?2",
    [Q_RES_CHILDREN] = "SELECT ri, pi, ty, rn, owner, reg_id, attrs, ct, lt FROM resource WHERE pi = ?1 "
                       "ORDER BY rowid",
    [Q_RES_USAGE] = "SELECT count, bytes FROM usage WHERE owner = ?1",
    [Q_RES_STATS] = "SELECT count(*), coalesce(sum(cs), 0) FROM resource WHERE pi = ?1 AND ty = ?2 AND ct >= ?3",
    [Q_RES_OLDEST] = "DELETE FROM resource WHERE ri = (SELECT ri FROM resource WHERE pi = ?1 AND ty = ?2 AND ri <> ?3 "
                     "ORDER BY rowid LIMIT 1)",
    [Q_RES_EXPIRE] = "DELETE FROM resource WHERE pi = ?1 AND ty = ?2 AND ct < ?3",
    [Q_ENROL_KNOWN] = "SELECT 1 FROM enrolment WHERE registree_id = ?1 LIMIT 1",
    [Q_RES_EXPIRED] = "SELECT ri FROM resource WHERE et > 0 AND et <= ?1 ORDER BY et LIMIT ?2",
};

static const char SCHEMA[] =
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE enrolment ("
    "  id INTEGER PRIMARY KEY, registree_id TEXT NOT NULL, mechanism TEXT NOT NULL, key_id TEXT NOT NULL,"
    "  key BLOB, created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX enrolment_active_id ON enrolment(registree_id) WHERE revoked = 0;"
    "CREATE UNIQUE INDEX enrolment_active_key ON enrolment(key_id) WHERE revoked = 0;"
    "CREATE INDEX enrolment_key ON enrolment(key_id);"
    "CREATE TABLE resource ("
    "  ri TEXT PRIMARY KEY, pi TEXT NOT NULL, ty INTEGER NOT NULL, rn TEXT NOT NULL, owner TEXT NOT NULL,"
    "  reg_id TEXT, attrs TEXT NOT NULL, ct INTEGER NOT NULL, lt INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX resource_child ON resource(pi, rn);"
    "CREATE UNIQUE INDEX resource_reg ON resource(reg_id) WHERE reg_id IS NOT NULL;";

static const char *const MIGRATIONS[] = {
    /* 1 -> 2: certificate and token enrolments; one active enrolment per (Registree, mechanism). */
    "DROP INDEX enrolment_active_id;"
    "CREATE UNIQUE INDEX enrolment_active_mech ON enrolment(registree_id, mechanism) WHERE revoked = 0;"
    "ALTER TABLE enrolment ADD COLUMN chain_root TEXT;"
    "ALTER TABLE enrolment ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE enrolment ADD COLUMN used INTEGER NOT NULL DEFAULT 0;",
    /* 2 -> 3: session-ticket keys shared by every Registrar node; generated PSKs wait as "pending" beside the
     * key they replace until first used (x.y.8: a lost response never locks a device out). */
    "CREATE TABLE ticket_key (name BLOB PRIMARY KEY, aes BLOB NOT NULL, hmac BLOB NOT NULL, created INTEGER NOT NULL);"
    "ALTER TABLE enrolment ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;"
    "DROP INDEX enrolment_active_mech;"
    "CREATE UNIQUE INDEX enrolment_active_mech ON enrolment(registree_id, mechanism, pending) WHERE revoked = 0;",
    /* 3 -> 4: quotas. cs = a contentInstance's content size (TS-0001 mbs counts it); usage = what each Registree
     * owns, kept by triggers in the same transaction as every change, so a quota check is one indexed read. */
    "ALTER TABLE resource ADD COLUMN cs INTEGER NOT NULL DEFAULT 0;"
    "UPDATE resource SET cs = CASE json_type(attrs, '$.con') WHEN 'text' THEN "
    "  length(CAST(json_extract(attrs, '$.con') AS BLOB)) ELSE length(CAST(json_extract(attrs, '$.con') AS BLOB)) END "
    "  WHERE ty = 4;"
    "CREATE TABLE usage (owner TEXT PRIMARY KEY, count INTEGER NOT NULL, bytes INTEGER NOT NULL);"
    "INSERT INTO usage SELECT owner, count(*), sum(length(CAST(attrs AS BLOB))) FROM resource WHERE owner <> '' "
    "  GROUP BY owner;"
    "CREATE TRIGGER usage_insert AFTER INSERT ON resource WHEN NEW.owner <> '' BEGIN "
    "  INSERT INTO usage(owner, count, bytes) VALUES (NEW.owner, 1, length(CAST(NEW.attrs AS BLOB))) "
    "  ON CONFLICT(owner) DO UPDATE SET count = count + 1, bytes = bytes + excluded.bytes; END;"
    "CREATE TRIGGER usage_delete AFTER DELETE ON resource WHEN OLD.owner <> '' BEGIN "
    "  UPDATE usage SET count = count - 1, bytes = bytes - length(CAST(OLD.attrs AS BLOB)) WHERE owner = OLD.owner; "
    "END;"
    "CREATE TRIGGER usage_update AFTER UPDATE OF attrs ON resource WHEN NEW.owner <> '' BEGIN "
    "  UPDATE usage SET bytes = bytes - length(CAST(OLD.attrs AS BLOB)) + length(CAST(NEW.attrs AS BLOB)) "
    "  WHERE owner = NEW.owner; END;",
    /* 4 -> 5: expirationTime as a number, indexed, so the Registrar finds what has expired without a scan.
     * (Parenthesised: one migration of two statements, which clang's -Wstring-concatenation takes for a missing
     * comma.) */
    ("ALTER TABLE resource ADD COLUMN et INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX resource_et ON resource(et) WHERE et > 0;"),
    /* 5 -> 6: GBA (x.y.5). On a Registrar, a gba enrolment maps an IMPI (kept beside its hash, the credential ID)
     * to a Registree ID. On a BSF (store/sqlite_gba.c), the HSS's subscribers and the bootstrapping records Zn
     * serves. */
    "ALTER TABLE enrolment ADD COLUMN impi TEXT;"
    "CREATE TABLE gba_subscriber (impi TEXT PRIMARY KEY, k BLOB NOT NULL, opc BLOB NOT NULL, amf BLOB NOT NULL,"
    "  sqn INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE gba_bootstrap (btid TEXT PRIMARY KEY, impi TEXT NOT NULL, rand BLOB NOT NULL, ks BLOB NOT NULL,"
    "  created INTEGER NOT NULL, expires INTEGER NOT NULL);"
    "CREATE INDEX gba_bootstrap_expires ON gba_bootstrap(expires);",
    /* 6 -> 7: whose enrolment each generation bump was (the last CHANGES_KEPT), so that a Registrar re-checks the
     * open connections of the Registrees that changed, not all of them (sq_enrol_changed). */
    "CREATE TABLE enrol_change (gen INTEGER PRIMARY KEY, registree_id TEXT NOT NULL);",
};
#define CHANGES_KEPT 100000
#define STR_(x) #x
#define STR(x) STR_(x)

/* The SQLite store: the interface's handle first, so a m2m_store * is a sq_store *. */
struct sq_store {
    struct m2m_store base;
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    char path[512];
    /* sq_enrol_generation's shortcut: the WAL-index header as it was before the generation was last read */
    int shm_fd;                 /* PATH-shm, read-only; -1 = not open (yet, or not usable) */
    int gen_valid;
    int64_t gen;
    unsigned char wal_hdr[48];
    /* sq_enrol_changed: whose enrolments changed in (chg_since, chg_upto], sorted */
    int chg_valid, chg_complete;
    int64_t chg_since, chg_upto;
    char **chg_ids;
    size_t chg_n;
};
#define SQ(st) ((struct sq_store *)(st))
static const struct m2m_store_ops SQLITE_OPS;

static int db_fail(m2m_store *st, m2m_err *err, const char *what)
{
    return m2m_fail(err, M2M_E_STORE, "store %s: %s: %s", SQ(st)->path, what, sqlite3_errmsg(SQ(st)->db));
}

sqlite3 *m2m_sqlite_db(m2m_store *st)
{
    return SQ(st)->db;
}

const char *m2m_sqlite_path(m2m_store *st)
{
    return SQ(st)->path;
}

int m2m_sqlite_fail(m2m_store *st, m2m_err *err, const char *what)
{
    return db_fail(st, err, what);
}

int m2m_sqlite_run(m2m_store *st, const char *sql, const char *a, const char *b, int64_t n, const char *what,
                   m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = -1, params;
    if (sqlite3_prepare_v2(SQ(st)->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_fail(st, err, what);
    params = sqlite3_bind_parameter_count(s);
    if (a != NULL && params >= 1)
        sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
    if (b != NULL && params >= 2)
        sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
    if (params >= 3)
        sqlite3_bind_int64(s, 3, n);
    if (sqlite3_step(s) == SQLITE_DONE)
        rc = 0;
    else
        db_fail(st, err, what);
    sqlite3_finalize(s);
    return rc;
}

static int exec(m2m_store *st, const char *sql, m2m_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(SQ(st)->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        m2m_fail(err, M2M_E_STORE, "store %s: %s", SQ(st)->path, msg ? msg : sqlite3_errmsg(SQ(st)->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* One unit of work is atomic: a transaction of its own, or -- inside a transaction already open, such as the
 * writer's batch (store/writer.c) -- a savepoint, so that a unit that fails undoes only itself. *sp says which. */
int m2m_sqlite_tx_begin(m2m_store *st, int *sp, m2m_err *err)
{
    *sp = !sqlite3_get_autocommit(SQ(st)->db);
    return exec(st, *sp ? "SAVEPOINT unit" : "BEGIN IMMEDIATE", err);
}

int m2m_sqlite_tx_commit(m2m_store *st, int sp, m2m_err *err)
{
    return exec(st, sp ? "RELEASE unit" : "COMMIT", err);
}

void m2m_sqlite_tx_rollback(m2m_store *st, int sp)
{
    exec(st, sp ? "ROLLBACK TO unit; RELEASE unit" : "ROLLBACK", NULL);
}

int m2m_sqlite_exec(m2m_store *st, const char *sql, m2m_err *err)
{
    return exec(st, sql, err);
}

sqlite3_stmt *m2m_sqlite_stmt(m2m_store *st, int which)
{
    sqlite3_stmt *s = SQ(st)->q[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static int schema_version(m2m_store *st, int *version, m2m_err *err)
{
    sqlite3_stmt *s = NULL;
    int step;
    *version = 0;
    if (sqlite3_prepare_v2(SQ(st)->db, "SELECT v FROM meta WHERE k = 'schema_version'", -1, &s, NULL) != SQLITE_OK) {
        m2m_fail(err, M2M_E_STORE, "store %s is not an m2mattach store (%s)", SQ(st)->path,
                 sqlite3_errmsg(SQ(st)->db));
        return -1;
    }
    step = sqlite3_step(s);
    *version = step == SQLITE_ROW ? atoi((const char *)sqlite3_column_text(s, 0)) : 0;
    sqlite3_finalize(s);
    if (*version < 1) {
        m2m_fail(err, M2M_E_STORE, "store %s has no schema version", SQ(st)->path);
        return -1;
    }
    return 0;
}

static int migrate(m2m_store *st, m2m_err *err)
{
    int version, rc = -1;
    char sql[96];
    if (schema_version(st, &version, err) != 0)
        return -1;
    if (version == SCHEMA_VERSION)
        return 0;
    if (version > SCHEMA_VERSION)
        return m2m_fail(err, M2M_E_STORE, "store %s has schema version %d, newer than this build's %d", SQ(st)->path,
                        version, SCHEMA_VERSION);
    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    /* Another process may have migrated while we waited for the lock. */
    if (schema_version(st, &version, err) != 0)
        goto done;
    for (; version < SCHEMA_VERSION; version++)
        if (exec(st, MIGRATIONS[version - 1], err) != 0)
            goto done;
    snprintf(sql, sizeof sql, "UPDATE meta SET v = '%d' WHERE k = 'schema_version'", SCHEMA_VERSION);
    if (exec(st, sql, err) != 0)
        goto done;
    rc = m2m_sqlite_tx_commit(st, sp, err);
done:
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

static void changes_forget(struct sq_store *sq);

static void sq_close(m2m_store *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(SQ(st)->q[i]);
    sqlite3_close(SQ(st)->db);
    if (SQ(st)->shm_fd >= 0)
        close(SQ(st)->shm_fd);
    changes_forget(SQ(st));
    free(SQ(st));
}

m2m_store *m2m_sqlite_open(const char *path, int create, m2m_err *err)
{
    struct sq_store *sq = calloc(1, sizeof *sq);
    m2m_store *st = &sq->base;
    struct stat sb;
    int exists = stat(path, &sb) == 0;

    if (sq == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    sq->shm_fd = -1;
    st->ops = &SQLITE_OPS;
    snprintf(SQ(st)->path, sizeof SQ(st)->path, "%s", path);
    if (create && exists) {
        m2m_fail(err, M2M_E_EXISTS, "store %s already exists; refusing to overwrite it", path);
        goto fail;
    }
    if (!create && !exists) {
        m2m_fail(err, M2M_E_NOTFOUND, "store %s does not exist (create it with 'm2mattach registrar init')", path);
        goto fail;
    }
    if (create) {
        /* The store holds keys: create it private before SQLite writes anything into it. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) {
            m2m_fail(err, M2M_E_IO, "store %s: cannot create: %m", path);
            goto fail;
        }
        close(fd);
    }
    if (sqlite3_open_v2(path, &SQ(st)->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        db_fail(st, err, "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(SQ(st)->db, 10000);
    if (exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;", err) != 0)
        goto fail;
    if (create) {
        if (exec(st, "BEGIN IMMEDIATE", err) != 0 || exec(st, SCHEMA, err) != 0 ||
            exec(st, "INSERT INTO meta VALUES ('schema_version', '1'); COMMIT", err) != 0)
            goto fail;
    }
    if (migrate(st, err) != 0)
        goto fail;
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(SQ(st)->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &SQ(st)->q[i], NULL) != SQLITE_OK) {
            db_fail(st, err, "prepare");
            goto fail;
        }
    }
    return st;
fail:
    sq_close(st);
    return NULL;
}

static int meta_set(m2m_store *st, const char *k, const char *v, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_META_SET);
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_fail(st, err, "write identity");
}

static int meta_get(m2m_store *st, const char *k, char out[M2M_ID_MAX], m2m_err *err);

/* Every change to enrolments bumps a generation, so Registrar workers can tell cheaply when to re-check the
 * enrolments of their open connections, and records whose it was, so that they re-check only those. Runs inside
 * the caller's transaction. */
int m2m_sqlite_bump_enrol_gen(m2m_store *st, const char *registree_id, m2m_err *err)
{
    if (exec(st, "INSERT INTO meta(k, v) VALUES ('enrol_gen', '1') ON CONFLICT(k) DO UPDATE SET "
                 "v = CAST(CAST(v AS INTEGER) + 1 AS TEXT)", err) != 0 ||
        m2m_sqlite_run(st, "INSERT INTO enrol_change(gen, registree_id) SELECT CAST(v AS INTEGER), ?1 FROM meta "
                           "WHERE k = 'enrol_gen'", registree_id, NULL, 0, "record an enrolment change", err) != 0)
        return -1;
    return exec(st, "DELETE FROM enrol_change WHERE gen < (SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'enrol_gen') "
                    "- " STR(CHANGES_KEPT), err);
}

/* The WAL-index header (https://www.sqlite.org/walformat.html, 2.1: the first 96 octets of the -shm file, two
 * copies of a 48-octet header that every commit rewrites -- mxFrame, the frame checksum, the salts after a WAL
 * restart -- second copy first). 1 and hdr when both copies agree (no commit half-written). */
static int wal_header(struct sq_store *sq, unsigned char hdr[48])
{
    unsigned char two[96];
    if (sq->shm_fd < 0) {
        char shm[sizeof sq->path + 8];
        snprintf(shm, sizeof shm, "%s-shm", sq->path);
        sq->shm_fd = open(shm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (sq->shm_fd < 0)
            return 0;
    }
    if (pread(sq->shm_fd, two, sizeof two, 0) != (ssize_t)sizeof two || memcmp(two, two + 48, 48) != 0)
        return 0;
    memcpy(hdr, two, 48);
    return 1;
}

/* Asked before every handshake that a cached enrolment would serve (secctx/psk.c), so that a revoke by any process
 * applies to the very next handshake. The answer is the meta row -- a read transaction -- unless nothing was
 * committed to the store since it was last read: then the WAL-index header is octet for octet what it was before
 * that read, and one pread says so. */
static int sq_enrol_generation(m2m_store *st, int64_t *gen, m2m_err *err)
{
    struct sq_store *sq = SQ(st);
    unsigned char hdr[48];
    int have_hdr = wal_header(sq, hdr);
    char v[M2M_ID_MAX];
    m2m_err e;

    if (have_hdr && sq->gen_valid && memcmp(hdr, sq->wal_hdr, sizeof hdr) == 0) {
        *gen = sq->gen;
        return 0;
    }
    sq->gen_valid = 0;
    if (meta_get(st, "enrol_gen", v, &e) != 0) {
        if (e.code != M2M_E_NOTFOUND)
            return m2m_fail(err, e.code, "%s", e.msg);
        *gen = 0;
    } else {
        *gen = strtoll(v, NULL, 10);
    }
    /* the header read before the row: a commit in between makes the next call read the row again */
    if (have_hdr) {
        memcpy(sq->wal_hdr, hdr, sizeof hdr);
        sq->gen = *gen;
        sq->gen_valid = 1;
    }
    return 0;
}

static int meta_get(m2m_store *st, const char *k, char out[M2M_ID_MAX], m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_META_GET);
    int rc;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(out, M2M_ID_MAX, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return m2m_fail(err, M2M_E_NOTFOUND, "store %s has no %s", SQ(st)->path, k);
    return db_fail(st, err, "read identity");
}

static int sq_set_identity(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err)
{
    m2m_resource cb = {0};
    int rc = -1;
    int64_t now = m2m_clock_now();

    int sp = 0;
    if (m2m_sqlite_tx_begin(st, &sp, err) != 0)
        return -1;
    if (meta_set(st, "cse_id", cse_id, err) != 0 || meta_set(st, "cse_name", cse_name, err) != 0)
        goto done;
    /* The CSEBase resource: ri and rn are the CSE name, it has no parent and no owner. */
    snprintf(cb.ri, sizeof cb.ri, "%s", cse_name);
    snprintf(cb.rn, sizeof cb.rn, "%s", cse_name);
    cb.ty = 5;
    cb.attrs = (char *)"{}";
    cb.ct = cb.lt = now;
    if (m2m_store_res_insert(st, &cb, err) != 0)
        goto done;
    rc = m2m_sqlite_tx_commit(st, sp, err);
done:
    if (rc != 0)
        m2m_sqlite_tx_rollback(st, sp);
    return rc;
}

static int sq_set_meta(m2m_store *st, const char *key, const char *value, m2m_err *err)
{
    return meta_set(st, key, value, err);
}

static int sq_get_meta(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err)
{
    sqlite3_stmt *s = m2m_sqlite_stmt(st, Q_META_GET);
    int rc = 0, step;
    out[0] = '\0';
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        size_t n = v ? strlen(v) : 0;
        if (n >= cap)
            rc = m2m_fail(err, M2M_E_STORE, "store %s: setting %s is %zu characters long, at most %zu fit", SQ(st)->path,
                          key, n, cap - 1);
        else
            memcpy(out, v ? v : "", n + 1);
    } else if (step != SQLITE_DONE) {
        rc = db_fail(st, err, "read setting");
    }
    sqlite3_reset(s);
    return rc;
}

static int sq_get_identity(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err)
{
    if (meta_get(st, "cse_id", cse_id, err) != 0 || meta_get(st, "cse_name", cse_name, err) != 0)
        return -1;
    return 0;
}

static int sq_unit_begin(m2m_store *st, int *sp, m2m_err *err)
{
    return m2m_sqlite_tx_begin(st, sp, err);
}

static int sq_unit_end(m2m_store *st, int sp, int ok, m2m_err *err)
{
    if (ok)
        return m2m_sqlite_tx_commit(st, sp, err);
    m2m_sqlite_tx_rollback(st, sp);
    return 0;
}

/* A file is there or not when opened; there is no connection to lose. */
static int sq_available(m2m_store *st)
{
    (void)st;
    return 1;
}

static void sq_poll(m2m_store *st)
{
    (void)st;
}

/* A commit by any process changes the generation this handle reads: nothing to listen to. */
static void sq_use_notifier(m2m_store *st, m2m_store_notifier *n)
{
    (void)st, (void)n;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void changes_forget(struct sq_store *sq)
{
    for (size_t i = 0; i < sq->chg_n; i++)
        free(sq->chg_ids[i]);
    free(sq->chg_ids);
    sq->chg_ids = NULL;
    sq->chg_n = 0;
    sq->chg_valid = 0;
}

/* Whose enrolments changed in (since, now]: sorted into sq->chg_ids, complete only when every generation in
 * between has its row (a bump by an older build, or one trimmed away, leaves a gap: then nobody is known). */
static void changes_load(struct sq_store *sq, int64_t since, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int64_t expect = since + 1;
    size_t cap = 0;
    changes_forget(sq);
    sq->chg_since = since;
    sq->chg_upto = now;
    sq->chg_valid = 1;
    sq->chg_complete = 0;
    if (now - since > CHANGES_KEPT || sqlite3_prepare_v2(sq->db, "SELECT gen, registree_id FROM enrol_change WHERE "
                                                             "gen > ?1 AND gen <= ?2 ORDER BY gen", -1, &s,
                                                             NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(s, 1, since);
    sqlite3_bind_int64(s, 2, now);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 1);
        char **grown;
        if (sqlite3_column_int64(s, 0) != expect++ || id == NULL)
            goto done;
        if (sq->chg_n == cap) {
            cap = cap ? 2 * cap : 16;
            if ((grown = realloc(sq->chg_ids, cap * sizeof *grown)) == NULL)
                goto done;
            sq->chg_ids = grown;
        }
        if ((sq->chg_ids[sq->chg_n] = strdup(id)) == NULL)
            goto done;
        sq->chg_n++;
    }
    if (expect == now + 1) {
        if (sq->chg_n > 1)
            qsort(sq->chg_ids, sq->chg_n, sizeof *sq->chg_ids, cmp_id);
        sq->chg_complete = 1;
    }
done:
    sqlite3_finalize(s);
}

/* Whether registree_id's enrolment may have changed in (since, upto]: 0 only when the store's record of every
 * change in between is complete and names others only. Anything it cannot tell is a change (the caller re-reads
 * the enrolment). One query per window: a worker's re-check of all its connections asks once. */
static int sq_enrol_changed(m2m_store *st, int64_t since, int64_t upto, const char *registree_id)
{
    struct sq_store *sq = SQ(st);
    if (upto <= since)
        return 0;
    if (!sq->chg_valid || sq->chg_since != since || sq->chg_upto != upto)
        changes_load(sq, since, upto);
    if (!sq->chg_complete)
        return 1;
    return sq->chg_n > 0 && bsearch(&registree_id, sq->chg_ids, sq->chg_n, sizeof *sq->chg_ids, cmp_id) != NULL;
}

/* Every handle reads the file: a commit by anyone shows in the next read. */
static int sq_generation_exact(m2m_store *st)
{
    (void)st;
    return 1;
}

static const struct m2m_store_ops SQLITE_OPS = {
    .name = "sqlite",
    .close = sq_close,
    .set_identity = sq_set_identity,
    .get_identity = sq_get_identity,
    .set_meta = sq_set_meta,
    .get_meta = sq_get_meta,
    .enrol_psk = m2m_sqlite_enrol_psk,
    .enrol_cert = m2m_sqlite_enrol_cert,
    .find_cert = m2m_sqlite_find_cert,
    .enrol_token = m2m_sqlite_enrol_token,
    .consume_token = m2m_sqlite_consume_token,
    .find_token = m2m_sqlite_find_token,
    .release_token = m2m_sqlite_release_token,
    .find_psk = m2m_sqlite_find_psk,
    .enrolment_active = m2m_sqlite_enrolment_active,
    .revoke = m2m_sqlite_revoke,
    .list = m2m_sqlite_list,
    .enrol_generation = sq_enrol_generation,
    .enrol_generated_psk = m2m_sqlite_enrol_generated_psk,
    .promote_psk = m2m_sqlite_promote_psk,
    .expire_pending = m2m_sqlite_expire_pending,
    .ticket_keys = m2m_sqlite_ticket_keys,
    .unit_begin = sq_unit_begin,
    .unit_end = sq_unit_end,
    .res_get = m2m_sqlite_res_get,
    .res_child = m2m_sqlite_res_child,
    .res_registration = m2m_sqlite_res_registration,
    .res_insert = m2m_sqlite_res_insert,
    .res_update = m2m_sqlite_res_update,
    .res_expired = m2m_sqlite_res_expired,
    .res_delete = m2m_sqlite_res_delete,
    .res_count_children = m2m_sqlite_res_count_children,
    .res_usage = m2m_sqlite_res_usage,
    .res_children_stats = m2m_sqlite_res_children_stats,
    .res_insert_capped = m2m_sqlite_res_insert_capped,
    .res_expire_children = m2m_sqlite_res_expire_children,
    .registree_known = m2m_sqlite_registree_known,
    .res_children = m2m_sqlite_res_children,
    .enrol_gba = m2m_sqlite_enrol_gba,
    .find_gba = m2m_sqlite_find_gba,
    .gba_subscriber_add = m2m_sqlite_gba_subscriber_add,
    .gba_subscriber_get = m2m_sqlite_gba_subscriber_get,
    .gba_subscriber_set_sqn = m2m_sqlite_gba_subscriber_set_sqn,
    .gba_subscriber_remove = m2m_sqlite_gba_subscriber_remove,
    .gba_subscriber_list = m2m_sqlite_gba_subscriber_list,
    .gba_bootstrap_put = m2m_sqlite_gba_bootstrap_put,
    .gba_bootstrap_get = m2m_sqlite_gba_bootstrap_get,
    .gba_bootstrap_expire = m2m_sqlite_gba_bootstrap_expire,
    .available = sq_available,
    .poll = sq_poll,
    .use_notifier = sq_use_notifier,
    .enrol_changed = sq_enrol_changed,
    .generation_exact = sq_generation_exact,
};
