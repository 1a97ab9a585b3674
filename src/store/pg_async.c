/* SPDX-License-Identifier: Apache-2.0 */
/* Reads without waiting, on a Registrar worker's event loop (store.h: m2m_store_reader): one more connection per
 * worker, in libpq's pipeline mode, its socket watched by the loop. A read is sent at once (with a Sync of its own,
 * so that one failing read fails alone) and the worker goes on serving; reads asked while others are under way
 * queue behind them on the same connection and share its round trips; the answers come back in the order asked,
 * each handed to its caller from the loop's callback. While the reader is not connected it takes nothing (the
 * caller reads synchronously, which fails fast while the database is away) and reconnects in the background.
 *
 * Today it serves the one read every PSK handshake makes: the enrolment of the psk_identity, asked by the gate
 * (secctx/gate.c) while it holds the ClientHello (TLS 1.3) or ClientKeyExchange (TLS 1.2) back from OpenSSL. */
#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_internal.h"

/* Reads one worker keeps under way; beyond this a caller reads synchronously. */
#define MAX_UNDER_WAY 128

enum { DOWN, CONNECTING, READY };

struct m2m_store_read {
    m2m_store_reader *r;
    m2m_store_read *next;
    char key_id[M2M_CRED_ID_MAX];
    m2m_store_psk_done done; /* NULL: cancelled, or the internal PREPARE */
    void *arg;
    struct timespec started;
    PGresult *res;           /* its result, until its Sync arrives */
    int prepare;             /* the connection's PREPARE, first in line */
};

struct m2m_store_reader {
    pg_store p;              /* conninfo, safe name (p.conn unused: the pipeline connection is below) */
    PGconn *conn;
    struct event_base *base;
    struct event *io, *timer;
    int state;
    int broken;              /* sending failed: the timer's callback loses the connection */
    short waiting;           /* the events io is armed for */
    m2m_store_read *head, *tail;
    int n;
    struct timespec retry_at;
    m2m_store_stats stats;
};

static const char FIND[] = "SELECT registree_id, mechanism, key_id, key, created, chain_root, expires, used, pending, "
                           "impi FROM enrolment WHERE key_id = $1 AND revoked = 0 AND mechanism = 'psk'";

static double ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void arm(m2m_store_reader *r, short what);

/* Counts one finished read, as store.c counts a call. */
static void count(m2m_store_reader *r, const m2m_store_read *q, int failed)
{
    double ms = ms_since(&q->started);
    int b = 0;
    while (b < M2M_STORE_LAT_BUCKETS - 1 && ms / 1e3 > M2M_STORE_LAT_LE[b])
        b++;
    __atomic_add_fetch(&r->stats.calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&r->stats.nanos, (unsigned long long)(ms * 1e6), __ATOMIC_RELAXED);
    __atomic_add_fetch(&r->stats.le[b], 1, __ATOMIC_RELAXED);
    if (failed)
        __atomic_add_fetch(&r->stats.errors, 1, __ATOMIC_RELAXED);
}

/* Ends read q: its caller gets the enrolment (or why not). */
static void finish(m2m_store_reader *r, m2m_store_read *q, const char *lost)
{
    m2m_enrolment e;
    m2m_err err = {0};
    int rc = -1;
    memset(&e, 0, sizeof e);
    if (lost != NULL) {
        m2m_fail(&err, M2M_E_STORE, "store %s: %s", r->p.safe, lost);
    } else if (PQresultStatus(q->res) != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorField(q->res, PG_DIAG_MESSAGE_PRIMARY);
        m2m_fail(&err, M2M_E_STORE, "store %s: find enrolment: %s", r->p.safe,
                 msg ? msg : PQresStatus(PQresultStatus(q->res)));
    } else if (PQntuples(q->res) != 1) {
        m2m_fail(&err, M2M_E_NOTFOUND, "no active psk enrolment for %s", q->key_id);
    } else if (pg_enrolment_row(&r->p, q->res, 0, &e, &err) == 0) {
        rc = e.key.len > 0 ? 0 : m2m_fail(&err, M2M_E_STORE, "store %s: enrolment %s has no usable key", r->p.safe,
                                         q->key_id);
    }
    if (q->done != NULL) {
        count(r, q, err.code == M2M_E_STORE);
        q->done(q->arg, rc, rc == 0 ? &e : NULL, &err);
    }
    m2m_enrolment_clear(&e);
    pg_clear_wipe(q->res);
    OPENSSL_cleanse(q, sizeof *q);
    free(q);
}

/* The connection is gone (or a read ran out of time): every read under way fails, and the reader reconnects
 * later (the next read asked after a second starts it). */
static void lose(m2m_store_reader *r, const char *why)
{
    m2m_store_read *q = r->head;
    char msg[300];
    snprintf(msg, sizeof msg, "%s", why);
    r->head = r->tail = NULL;
    r->n = 0;
    event_del(r->io);
    event_del(r->timer);
    r->waiting = 0;
    if (r->conn != NULL)
        PQfinish(r->conn);
    r->conn = NULL;
    r->state = DOWN;
    r->broken = 0;
    clock_gettime(CLOCK_MONOTONIC, &r->retry_at);
    r->retry_at.tv_sec += 1;
    while (q != NULL) {
        m2m_store_read *next = q->next;
        finish(r, q, msg);
        q = next;
    }
}

static void timer_at_oldest(m2m_store_reader *r)
{
    struct timeval tv;
    double left;
    if (r->head == NULL) {
        event_del(r->timer);
        return;
    }
    left = M2M_PG_CALL_TIMEOUT_MS - ms_since(&r->head->started);
    if (left < 1)
        left = 1;
    tv.tv_sec = (time_t)(left / 1000);
    tv.tv_usec = (suseconds_t)((long)left % 1000 * 1000);
    event_add(r->timer, &tv);
}

/* Takes every result that arrived; a read ends with its Sync. */
static void take(m2m_store_reader *r)
{
    while (r->head != NULL && !PQisBusy(r->conn)) {
        PGresult *res = PQgetResult(r->conn);
        m2m_store_read *q = r->head;
        if (res == NULL)
            continue; /* the end of one query's results; its Sync follows */
        if (PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
            if (q->res == NULL)
                q->res = res;
            else
                pg_clear_wipe(res);
            continue;
        }
        PQclear(res);
        r->head = q->next;
        if (r->head == NULL)
            r->tail = NULL;
        r->n--;
        if (q->res == NULL)
            q->res = PQmakeEmptyPGresult(r->conn, PGRES_FATAL_ERROR);
        if (q->prepare && PQresultStatus(q->res) != PGRES_COMMAND_OK) {
            finish(r, q, NULL);
            lose(r, "cannot prepare the enrolment lookup");
            return;
        }
        finish(r, q, NULL);
    }
    timer_at_oldest(r);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg, (void)msg;
}

static void setup(m2m_store_reader *r)
{
    m2m_store_read *q = calloc(1, sizeof *q);
    PQsetNoticeProcessor(r->conn, quiet, NULL);
    if (q == NULL || PQsetnonblocking(r->conn, 1) != 0 || PQenterPipelineMode(r->conn) != 1 ||
        PQsendPrepare(r->conn, "find_psk", FIND, 1, NULL) != 1 || PQpipelineSync(r->conn) != 1) {
        free(q);
        lose(r, "cannot start the pipeline");
        return;
    }
    /* the PREPARE is the first entry: its answer comes first */
    clock_gettime(CLOCK_MONOTONIC, &q->started);
    q->r = r;
    q->prepare = 1;
    r->head = r->tail = q;
    r->n = 1;
    r->state = READY;
    timer_at_oldest(r);
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
    m2m_store_reader *r = arg;
    (void)fd;
    if (r->state == CONNECTING) {
        PostgresPollingStatusType st = PQconnectPoll(r->conn);
        if (st == PGRES_POLLING_FAILED) {
            lose(r, "cannot connect");
            return;
        }
        if (st != PGRES_POLLING_OK) {
            arm(r, st == PGRES_POLLING_WRITING ? EV_WRITE : EV_READ);
            return;
        }
        setup(r);
        if (r->state != READY)
            return;
    } else if (what & EV_READ) {
        if (PQconsumeInput(r->conn) == 0) {
            lose(r, "the connection was lost");
            return;
        }
        take(r);
    }
    if (r->state == READY) {
        int f = PQflush(r->conn);
        if (f < 0) {
            lose(r, "the connection was lost");
            return;
        }
        arm(r, f == 1 ? EV_READ | EV_WRITE : EV_READ);
    }
}

static void arm(m2m_store_reader *r, short what)
{
    if (r->waiting == what)
        return;
    event_del(r->io);
    event_assign(r->io, r->base, PQsocket(r->conn), what | EV_PERSIST, io_cb, r);
    event_add(r->io, NULL);
    r->waiting = what;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    m2m_store_reader *r = arg;
    char msg[64];
    (void)fd, (void)what;
    if (r->broken) {
        lose(r, "the connection was lost");
        return;
    }
    if (r->state == CONNECTING && r->head == NULL) {
        lose(r, "no answer to the connection in time");
        return;
    }
    if (r->head != NULL && ms_since(&r->head->started) >= M2M_PG_CALL_TIMEOUT_MS) {
        snprintf(msg, sizeof msg, "no answer within %d ms", M2M_PG_CALL_TIMEOUT_MS);
        lose(r, msg);
        return;
    }
    timer_at_oldest(r);
}

/* Starts connecting, without waiting: the loop's events take it on. */
static void start(m2m_store_reader *r)
{
    static const char *const keys[] = {"connect_timeout", "application_name", "keepalives_idle", "dbname", NULL};
    const char *vals[] = {"5", "m2mattach", "10", r->p.conninfo, NULL};
    struct timeval tv = {M2M_PG_CALL_TIMEOUT_MS / 1000, M2M_PG_CALL_TIMEOUT_MS % 1000 * 1000};
    r->conn = PQconnectStartParams(keys, vals, 1);
    if (r->conn == NULL || PQstatus(r->conn) == CONNECTION_BAD) {
        lose(r, "cannot connect");
        return;
    }
    r->state = CONNECTING;
    r->waiting = 0;
    arm(r, EV_WRITE);
    event_add(r->timer, &tv);
}

m2m_store_reader *m2m_pg_reader_open(const char *location, struct event_base *base, m2m_err *err)
{
    m2m_store_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    m2m_pg_safe_location(location, r->p.safe, sizeof r->p.safe);
    r->base = base;
    r->p.conninfo = strdup(location);
    r->io = event_new(base, -1, 0, io_cb, r);
    r->timer = event_new(base, -1, 0, timer_cb, r);
    if (r->p.conninfo == NULL || r->io == NULL || r->timer == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        m2m_pg_reader_close(r);
        return NULL;
    }
    start(r);
    return r;
}

void m2m_pg_reader_close(m2m_store_reader *r)
{
    if (r == NULL)
        return;
    for (m2m_store_read *q = r->head; q != NULL; q = q->next)
        q->done = NULL; /* the loop is going: nobody to tell */
    if (r->io != NULL && r->timer != NULL)
        lose(r, "closed");
    if (r->io != NULL)
        event_free(r->io);
    if (r->timer != NULL)
        event_free(r->timer);
    if (r->p.conninfo != NULL) {
        OPENSSL_cleanse(r->p.conninfo, strlen(r->p.conninfo));
        free(r->p.conninfo);
    }
    free(r);
}

m2m_store_read *m2m_pg_read_psk(m2m_store_reader *r, const char *key_id, m2m_store_psk_done done, void *arg)
{
    m2m_store_read *q;
    const char *v[1] = {key_id};
    if (r->state == DOWN && ms_since(&r->retry_at) >= 0)
        start(r);
    if (r->state != READY || r->broken || r->n >= MAX_UNDER_WAY || strlen(key_id) >= sizeof q->key_id ||
        (q = calloc(1, sizeof *q)) == NULL)
        return NULL;
    if (PQsendQueryPrepared(r->conn, "find_psk", 1, v, NULL, NULL, 0) != 1 || PQpipelineSync(r->conn) != 1) {
        free(q);
        /* not here: lose() tells every caller, and none may hear inside this call */
        r->broken = 1;
        event_active(r->timer, EV_TIMEOUT, 1);
        return NULL;
    }
    q->r = r;
    snprintf(q->key_id, sizeof q->key_id, "%s", key_id);
    q->done = done;
    q->arg = arg;
    clock_gettime(CLOCK_MONOTONIC, &q->started);
    if (r->tail != NULL)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
    r->n++;
    /* Flush what can go now and arm the events. A lost connection is reported by the timer, as above: lose()
     * here would call done and free q inside this call, and the caller would get q back freed. */
    int f = PQflush(r->conn);
    if (f < 0) {
        r->broken = 1;
        event_active(r->timer, EV_TIMEOUT, 1);
        return q;
    }
    arm(r, f == 1 ? EV_READ | EV_WRITE : EV_READ);
    if (r->head == q)
        timer_at_oldest(r);
    return q;
}

void m2m_pg_read_cancel(m2m_store_read *q)
{
    if (q != NULL)
        q->done = NULL; /* its answer still comes, in order, and is dropped */
}

void m2m_pg_reader_stats(m2m_store_reader *r, m2m_store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (r == NULL)
        return;
    out->calls = __atomic_load_n(&r->stats.calls, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&r->stats.errors, __ATOMIC_RELAXED);
    out->nanos = __atomic_load_n(&r->stats.nanos, __ATOMIC_RELAXED);
    for (int i = 0; i < M2M_STORE_LAT_BUCKETS; i++)
        out->le[i] = __atomic_load_n(&r->stats.le[i], __ATOMIC_RELAXED);
}
