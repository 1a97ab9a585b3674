/* SPDX-License-Identifier: Apache-2.0 */
/* PostgreSQL back-end of the store (libpq): the connection of one handle, statements with a deadline, units of
 * work, reconnection, and the table of operations. Several Registrar nodes share one database; what keeps them
 * consistent lives in the SQL (row locks, conditional UPDATE ... RETURNING, unique indexes, advisory locks), so a
 * handle holds no state another node could contradict.
 *
 * Every statement is sent with libpq's non-blocking API and waited for with poll() against a deadline, so a
 * database that stops answering costs one timeout, after which the connection is dropped and calls fail at once
 * until it is back. A handle in fail-fast mode (a Registrar worker's, on an event loop) reconnects without ever
 * waiting: it advances a non-blocking connect by one step per call, only when the socket is ready. */
#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_internal.h"
#include "util/hex.h"

static const struct m2m_store_ops PG_OPS;

/* ---- parameters ---- */

static pg_params *slot(pg_params *p)
{
    return p->n < M2M_PG_PARAMS_MAX ? p : NULL; /* a statement with more is a programming error: caught in pg_q */
}

void pg_text(pg_params *p, const char *s)
{
    if (slot(p) == NULL) {
        p->n++;
        return;
    }
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

void pg_int(pg_params *p, int64_t v)
{
    if (slot(p) == NULL) {
        p->n++;
        return;
    }
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
    pg_text(p, p->num[p->n]);
}

void pg_bytes(pg_params *p, const void *b, size_t len)
{
    if (slot(p) == NULL) {
        p->n++;
        return;
    }
    p->v[p->n] = b;
    p->len[p->n] = (int)len;
    p->fmt[p->n] = 1; /* binary: a bytea takes the bytes as they are */
    p->n++;
}

/* ---- time ---- */

static void deadline_in(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static long ms_left(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000L;
}

/* 1 when the socket is ready (for reading, or writing), 0 when ms passed first, -1 on error. */
static int wait_fd(int fd, int for_write, long ms)
{
    struct pollfd pfd = {.fd = fd, .events = for_write ? POLLOUT : POLLIN};
    int n;
    if (ms < 0)
        ms = 0;
    do
        n = poll(&pfd, 1, (int)ms);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : n;
}

/* ---- the connection ---- */

/* libpq's default prints NOTICEs on stderr: the store has nothing to say there. */
static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

void pg_drop(pg_store *p)
{
    if (p->conn != NULL)
        PQfinish(p->conn);
    p->conn = NULL;
    p->nprepared = 0;
    p->broken = 1;
    deadline_in(&p->next_retry, 1000);
}

/* libpq's connection message, on one line and without a trailing newline. */
static const char *conn_msg(PGconn *c, char *buf, size_t cap)
{
    char *nl;
    snprintf(buf, cap, "%s", c ? PQerrorMessage(c) : "out of memory");
    while ((nl = strchr(buf, '\n')) != NULL)
        *nl = nl[1] ? ' ' : '\0';
    return buf;
}

/* Starts connecting: the defaults first, so the location overrides them (libpq's expand_dbname rule). */
static PGconn *connect_start(const char *conninfo)
{
    static const char *const keys[] = {"connect_timeout", "application_name", "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "tcp_user_timeout", "dbname", NULL};
    const char *vals[] = {"5", "m2mattach", "10", "5", "3", "10000", conninfo, NULL};
    return PQconnectStartParams(keys, vals, 1);
}

static int setup(pg_store *p, m2m_err *err)
{
    PGresult *r;
    char v[32];
    int rc = -1;
    PQsetNoticeProcessor(p->conn, quiet, NULL);
    if (PQsetnonblocking(p->conn, 1) != 0) {
        char m[256];
        return m2m_fail(err, M2M_E_STORE, "store %s: %s", p->safe, conn_msg(p->conn, m, sizeof m));
    }
    p->broken = 0;
    p->nprepared = 0;
    p->epoch++;
    /* "done" means committed: a server whose default is synchronous_commit=off would acknowledge commits it can
     * still lose, so this connection asks for the durable kind (a stricter setting, e.g. remote_apply, stays). */
    r = pg_q_once(p, "SELECT current_setting('synchronous_commit')", NULL, "read settings", err);
    if (r == NULL)
        return -1;
    pg_col_str(r, 0, 0, v, sizeof v);
    PQclear(r);
    rc = strcmp(v, "off") == 0 ? pg_exec(p, "SET synchronous_commit TO on", "set synchronous_commit", err) : 0;
    return rc;
}

/* Advances the connection attempt under way; waits up to ms for the socket each step. 0 connected, 1 still under
 * way (ms ran out), -1 failed. */
static int connect_step(pg_store *p, long ms, m2m_err *err)
{
    struct timespec dl;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    char m[256];
    deadline_in(&dl, ms);
    for (;;) {
        int ready = wait_fd(PQsocket(p->conn), st == PGRES_POLLING_WRITING, ms_left(&dl));
        if (ready < 0)
            break;
        if (ready == 0)
            return 1;
        st = PQconnectPoll(p->conn);
        if (st == PGRES_POLLING_OK)
            return setup(p, err) == 0 ? 0 : (pg_drop(p), -1);
        if (st == PGRES_POLLING_FAILED)
            break;
    }
    m2m_fail(err, M2M_E_STORE, "store %s: cannot connect: %s", p->safe, conn_msg(p->conn, m, sizeof m));
    pg_drop(p);
    return -1;
}

long pg_ms_until_retry(pg_store *p)
{
    return p->conn != NULL ? 0 : ms_left(&p->next_retry);
}

/* A connection to run a statement on, or -1: reconnects a broken one (at most once a second). A fail-fast handle
 * waits at most wait_ms for it (0 for a call; its timer's poll allows a few milliseconds, once a second, so that a
 * database that is back is reached within a tick). */
static int ensure_within(pg_store *p, long wait_ms, m2m_err *err)
{
    int rc;
    if (p->depth > 0 && (p->conn == NULL || p->broken || p->epoch != p->tx_epoch))
        /* Never on a new connection: a statement of a transaction that was lost would run on its own there and
         * commit at once, outside the unit that will report failure. */
        return m2m_fail(err, M2M_E_STORE, "store %s: the transaction was lost with its connection", p->safe);
    if (p->conn != NULL && !p->broken)
        return 0;
    if (p->conn == NULL) {
        if (ms_left(&p->next_retry) > 0)
            return m2m_fail(err, M2M_E_STORE, "store %s is unavailable (reconnecting)", p->safe);
        p->conn = connect_start(p->conninfo);
        if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD) {
            char m[256];
            m2m_fail(err, M2M_E_STORE, "store %s: cannot connect: %s", p->safe, conn_msg(p->conn, m, sizeof m));
            pg_drop(p);
            return -1;
        }
    }
    rc = connect_step(p, p->base.fail_fast ? wait_ms : M2M_PG_CALL_TIMEOUT_MS * 2, err);
    if (rc == 1) {
        if (!p->base.fail_fast) {
            m2m_fail(err, M2M_E_STORE, "store %s: cannot connect: no answer in time", p->safe);
            pg_drop(p);
            return -1;
        }
        return m2m_fail(err, M2M_E_STORE, "store %s is unavailable (reconnecting)", p->safe);
    }
    return rc;
}

static int ensure(pg_store *p, m2m_err *err)
{
    return ensure_within(p, 0, err);
}

/* ---- statements ---- */

/* Reads every result of what was sent; keeps the first error, else the last result. NULL with err on a
 * connection failure or timeout (the connection is then dropped). */
static PGresult *collect(pg_store *p, const struct timespec *dl, const char *what, m2m_err *err)
{
    PGresult *keep = NULL, *r;
    char m[256];
    int f;
    while ((f = PQflush(p->conn)) == 1)
        if (wait_fd(PQsocket(p->conn), 1, ms_left(dl)) <= 0)
            goto timeout;
    if (f < 0)
        goto lost;
    for (;;) {
        while (PQisBusy(p->conn)) {
            int ready = wait_fd(PQsocket(p->conn), 0, ms_left(dl));
            if (ready == 0)
                goto timeout;
            if (ready < 0 || PQconsumeInput(p->conn) == 0)
                goto lost;
        }
        if ((r = PQgetResult(p->conn)) == NULL)
            break;
        if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(keep);
        keep = r;
    }
    if (keep == NULL)
        m2m_fail(err, M2M_E_STORE, "store %s: %s: no result", p->safe, what);
    return keep;
timeout:
    PQclear(keep);
    m2m_fail(err, M2M_E_STORE, "store %s: %s: no answer within %d ms", p->safe, what, M2M_PG_CALL_TIMEOUT_MS);
    pg_drop(p);
    return NULL;
lost:
    PQclear(keep);
    m2m_fail(err, M2M_E_STORE, "store %s: %s: %s", p->safe, what, conn_msg(p->conn, m, sizeof m));
    pg_drop(p);
    return NULL;
}

/* The result as the store's convention has it: NULL with err unless it succeeded. */
static PGresult *checked(pg_store *p, PGresult *r, const char *what, m2m_err *err)
{
    ExecStatusType s;
    const char *state, *msg;
    if (r == NULL)
        return NULL;
    s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return r;
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    if (state != NULL && strcmp(state, "23505") == 0)
        m2m_fail(err, M2M_E_EXISTS, "store %s: %s: %s", p->safe, what, msg ? msg : "unique violation");
    else
        m2m_fail(err, M2M_E_STORE, "store %s: %s: %s", p->safe, what, msg ? msg : PQresStatus(s));
    PQclear(r);
    if (PQstatus(p->conn) == CONNECTION_BAD)
        pg_drop(p);
    return NULL;
}

static int prepared_index(pg_store *p, const char *sql)
{
    for (int i = 0; i < p->nprepared; i++)
        if (p->prepared[i] == sql)
            return i;
    return -1;
}

static PGresult *call(pg_store *p, const char *sql, const pg_params *pp, int prepare, const char *what,
                      m2m_err *err)
{
    struct timespec dl;
    int n = pp ? pp->n : 0, idx = -1, sent;
    char name[16];

    if (n > M2M_PG_PARAMS_MAX) {
        m2m_fail(err, M2M_E_ARG, "store: %s: too many parameters", what);
        return NULL;
    }
    if (ensure(p, err) != 0)
        return NULL;
    deadline_in(&dl, M2M_PG_CALL_TIMEOUT_MS);
    if (prepare && (idx = prepared_index(p, sql)) < 0 && p->nprepared < M2M_PG_PREPARED_MAX) {
        PGresult *r;
        idx = p->nprepared;
        snprintf(name, sizeof name, "m2m%d", idx);
        if (!PQsendPrepare(p->conn, name, sql, n, NULL)) {
            char m[256];
            m2m_fail(err, M2M_E_STORE, "store %s: %s: %s", p->safe, what, conn_msg(p->conn, m, sizeof m));
            pg_drop(p);
            return NULL;
        }
        if ((r = checked(p, collect(p, &dl, what, err), what, err)) == NULL)
            return NULL;
        PQclear(r);
        p->prepared[p->nprepared++] = sql;
    }
    if (idx >= 0) {
        snprintf(name, sizeof name, "m2m%d", idx);
        sent = PQsendQueryPrepared(p->conn, name, n, pp ? pp->v : NULL, pp ? pp->len : NULL, pp ? pp->fmt : NULL, 0);
    } else {
        sent = PQsendQueryParams(p->conn, sql, n, NULL, pp ? pp->v : NULL, pp ? pp->len : NULL, pp ? pp->fmt : NULL,
                                 0);
    }
    if (!sent) {
        char m[256];
        m2m_fail(err, M2M_E_STORE, "store %s: %s: %s", p->safe, what, conn_msg(p->conn, m, sizeof m));
        pg_drop(p);
        return NULL;
    }
    return checked(p, collect(p, &dl, what, err), what, err);
}

PGresult *pg_q(pg_store *p, const char *sql, const pg_params *params, const char *what, m2m_err *err)
{
    return call(p, sql, params, 1, what, err);
}

PGresult *pg_q_once(pg_store *p, const char *sql, const pg_params *params, const char *what, m2m_err *err)
{
    return call(p, sql, params, 0, what, err);
}

int pg_run(pg_store *p, const char *sql, const pg_params *params, const char *what, int *changed, m2m_err *err)
{
    PGresult *r = pg_q(p, sql, params, what, err);
    if (r == NULL)
        return -1;
    if (changed != NULL)
        *changed = atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

int pg_exec(pg_store *p, const char *sql, const char *what, m2m_err *err)
{
    struct timespec dl;
    PGresult *r;
    if (ensure(p, err) != 0)
        return -1;
    deadline_in(&dl, M2M_PG_CALL_TIMEOUT_MS);
    if (!PQsendQuery(p->conn, sql)) {
        char m[256];
        m2m_fail(err, M2M_E_STORE, "store %s: %s: %s", p->safe, what, conn_msg(p->conn, m, sizeof m));
        pg_drop(p);
        return -1;
    }
    if ((r = checked(p, collect(p, &dl, what, err), what, err)) == NULL)
        return -1;
    PQclear(r);
    return 0;
}

/* ---- units of work ---- */

int pg_tx_begin(pg_store *p, int *sp, m2m_err *err)
{
    /* inside a transaction (a writer's batch, or an outer unit): a savepoint, so a failing unit undoes only itself
     * and leaves the transaction usable (PostgreSQL aborts the whole transaction on any error otherwise) */
    *sp = p->depth > 0;
    if (pg_exec(p, *sp ? "SAVEPOINT unit" : "BEGIN", *sp ? "begin unit" : "begin transaction", err) != 0)
        return -1;
    if (!*sp)
        p->tx_epoch = p->epoch;
    p->depth++;
    return 0;
}

/* The caller rolls back when this fails (one cleanup path); the unit stays open until then. */
int pg_tx_commit(pg_store *p, int sp, m2m_err *err)
{
    PGresult *r;
    int committed;
    if (sp) {
        if (pg_exec(p, "RELEASE unit", "end unit", err) != 0)
            return -1;
        p->depth--;
        return 0;
    }
    /* COMMIT of a transaction that an error aborted "succeeds" with the tag ROLLBACK: only COMMIT means done */
    if ((r = pg_q_once(p, "COMMIT", NULL, "commit", err)) == NULL)
        return -1;
    committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    if (!committed)
        return m2m_fail(err, M2M_E_STORE, "store %s: the transaction was rolled back (an error aborted it)", p->safe);
    p->depth--;
    return 0;
}

void pg_tx_rollback(pg_store *p, int sp)
{
    if (p->depth == 0)
        return;
    p->depth--;
    /* on a connection that broke the server has rolled back already; on a new one there is nothing to undo */
    if (p->conn != NULL && !p->broken && p->epoch == p->tx_epoch)
        pg_exec(p, sp ? "ROLLBACK TO unit; RELEASE unit" : "ROLLBACK", "roll back", NULL);
}

static int pg_unit_begin(m2m_store *st, int *sp, m2m_err *err)
{
    return pg_tx_begin(PG(st), sp, err);
}

static int pg_unit_end(m2m_store *st, int sp, int ok, m2m_err *err)
{
    if (ok && pg_tx_commit(PG(st), sp, err) == 0)
        return 0;
    pg_tx_rollback(PG(st), sp); /* a unit that could not end is undone here: store.h's callers do not retry */
    return ok ? -1 : 0;
}

/* ---- columns ---- */

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pg_col_str(const PGresult *r, int row, int col, char *out, size_t cap)
{
    snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int pg_col_bytes_var(PGresult *r, int row, int col, unsigned char *out, size_t cap, size_t *len)
{
    char *v;
    size_t n;
    int rc;
    *len = 0;
    if (PQgetisnull(r, row, col))
        return 0;
    v = PQgetvalue(r, row, col);
    n = strlen(v);
    if (n < 2 || v[0] != '\\' || v[1] != 'x')
        return -1;
    rc = n == 2 ? 0 : m2m_hex_decode(v + 2, out, cap, len, "stored bytes", NULL);
    OPENSSL_cleanse(v, n);
    return rc;
}

int pg_col_bytes(PGresult *r, int row, int col, unsigned char *out, size_t len)
{
    size_t got = 0;
    if (PQgetisnull(r, row, col) || pg_col_bytes_var(r, row, col, out, len, &got) != 0 || got != len) {
        OPENSSL_cleanse(out, len);
        return -1;
    }
    return 0;
}

void pg_clear_wipe(PGresult *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < PQntuples(r); i++)
        for (int j = 0; j < PQnfields(r); j++)
            if (!PQgetisnull(r, i, j))
                OPENSSL_cleanse(PQgetvalue(r, i, j), (size_t)PQgetlength(r, i, j));
    PQclear(r);
}

/* ---- locations ---- */

int m2m_pg_location(const char *location)
{
    size_t k;
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return 1;
    /* libpq's keyword=value form starts with a keyword: letters and underscores, then '=' (spaces allowed) */
    k = strspn(location, "abcdefghijklmnopqrstuvwxyz_");
    return k > 0 && location[k + strspn(location + k, " ")] == '=';
}

void m2m_pg_safe_location(const char *location, char *out, size_t cap)
{
    PQconninfoOption *opts = PQconninfoParse(location, NULL);
    const char *user = "", *host = "", *port = "", *db = "";
    if (opts == NULL) {
        /* libpq's own message may quote the text it choked on, which may be the password */
        snprintf(out, cap, "postgresql://(unparsable location)");
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && *host == '\0'))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
    }
    snprintf(out, cap, "postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "", host, *port ? ":" : "", port, db);
    PQconninfoFree(opts);
}

/* ---- open and close ---- */

static void pg_close(m2m_store *st)
{
    pg_store *p = PG(st);
    if (p == NULL)
        return;
    if (p->conn != NULL)
        PQfinish(p->conn);
    if (p->conninfo != NULL) {
        OPENSSL_cleanse(p->conninfo, strlen(p->conninfo));
        free(p->conninfo);
    }
    free(p);
}

m2m_store *m2m_pg_open(const char *location, int create, m2m_err *err)
{
    pg_store *p = calloc(1, sizeof *p);
    PQconninfoOption *opts;
    if (p == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    p->base.ops = &PG_OPS;
    m2m_pg_safe_location(location, p->safe, sizeof p->safe);
    if ((opts = PQconninfoParse(location, NULL)) == NULL) {
        m2m_fail(err, M2M_E_ARG, "store %s: not a valid PostgreSQL URL or key=value connection string", p->safe);
        goto fail;
    }
    PQconninfoFree(opts);
    if ((p->conninfo = strdup(location)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto fail;
    }
    if (ensure(p, err) != 0 || pg_schema_open(p, create, err) != 0)
        goto fail;
    return &p->base;
fail:
    pg_close(&p->base);
    return NULL;
}

static int pg_available(m2m_store *st)
{
    return PG(st)->conn != NULL && !PG(st)->broken;
}

static void pg_poll(m2m_store *st)
{
    if (!pg_available(st))
        ensure_within(PG(st), 10, NULL);
}

static void pg_use_notifier(m2m_store *st, m2m_store_notifier *n)
{
    PG(st)->notifier = n;
}

static int pg_generation_exact(m2m_store *st)
{
    return PG(st)->notifier == NULL;
}

/* The notifier knows every Registree named since `since`, later ones too: a superset of (since, upto]. */
static int pg_changed_since(m2m_store *st, int64_t since, int64_t upto, const char *registree_id)
{
    (void)upto;
    return PG(st)->notifier != NULL ? pg_notifier_changed(PG(st)->notifier, since, registree_id) : 1;
}

static const struct m2m_store_ops PG_OPS = {
    .name = "postgresql",
    .close = pg_close,
    .set_identity = pg_set_identity,
    .get_identity = pg_get_identity,
    .set_meta = pg_set_meta,
    .get_meta = pg_get_meta,
    .enrol_psk = pg_enrol_psk,
    .enrol_cert = pg_enrol_cert,
    .find_cert = pg_find_cert,
    .enrol_token = pg_enrol_token,
    .consume_token = pg_consume_token,
    .find_token = pg_find_token,
    .release_token = pg_release_token,
    .find_psk = pg_find_psk,
    .enrolment_active = pg_enrolment_active,
    .revoke = pg_revoke,
    .list = pg_list,
    .enrol_generation = pg_enrol_generation,
    .enrol_generated_psk = pg_enrol_generated_psk,
    .promote_psk = pg_promote_psk,
    .expire_pending = pg_expire_pending,
    .ticket_keys = pg_ticket_keys,
    .unit_begin = pg_unit_begin,
    .unit_end = pg_unit_end,
    .res_get = pg_res_get,
    .res_child = pg_res_child,
    .res_registration = pg_res_registration,
    .res_insert = pg_res_insert,
    .res_update = pg_res_update,
    .res_expired = pg_res_expired,
    .res_delete = pg_res_delete,
    .res_count_children = pg_res_count_children,
    .res_usage = pg_res_usage,
    .res_children_stats = pg_res_children_stats,
    .res_insert_capped = pg_res_insert_capped,
    .res_expire_children = pg_res_expire_children,
    .registree_known = pg_registree_known,
    .res_children = pg_res_children,
    .enrol_gba = pg_enrol_gba,
    .find_gba = pg_find_gba,
    .gba_subscriber_add = pg_gba_subscriber_add,
    .gba_subscriber_get = pg_gba_subscriber_get,
    .gba_subscriber_set_sqn = pg_gba_subscriber_set_sqn,
    .gba_subscriber_remove = pg_gba_subscriber_remove,
    .gba_subscriber_list = pg_gba_subscriber_list,
    .gba_bootstrap_put = pg_gba_bootstrap_put,
    .gba_bootstrap_get = pg_gba_bootstrap_get,
    .gba_bootstrap_expire = pg_gba_bootstrap_expire,
    .available = pg_available,
    .poll = pg_poll,
    .use_notifier = pg_use_notifier,
    .enrol_changed = pg_changed_since,
    .generation_exact = pg_generation_exact,
};
