/* SPDX-License-Identifier: Apache-2.0 */
/* What only the PostgreSQL back-end has (CTest runs this under tests/pg/with_cluster.sh): a schema made once by
 * nodes starting together, refused when missing or newer; a transaction whose connection is lost is never
 * continued on a new one (nothing half-written, nothing reported done that is not); a handle that serves an event
 * loop fails at once while the database is away and reconnects by itself; the writer's batch when its connection
 * is killed. The contract both back-ends share is test_store.c. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture_store.h"
#include "store/store.h"

static void res_fill(m2m_resource *r, const char *ri, const char *rn)
{
    memset(r, 0, sizeof *r);
    snprintf(r->ri, sizeof r->ri, "%s", ri);
    snprintf(r->pi, sizeof r->pi, "cb");
    snprintf(r->rn, sizeof r->rn, "%s", rn);
    snprintf(r->owner, sizeof r->owner, "Cae1");
    r->ty = 3;
    r->attrs = (char *)"{}";
    r->ct = r->lt = 1700000000;
}

static m2m_store *fresh(char *loc, size_t cap)
{
    m2m_err err = {0};
    m2m_store *st;
    assert_int_equal(fixture_store_location("/tmp", "unused", loc, cap), 0);
    st = m2m_store_open(loc, 1, &err);
    if (st == NULL)
        fail_msg("open: %s", err.msg);
    assert_int_equal(m2m_store_set_identity(st, "/in-cse", "cb", &err), 0);
    return st;
}

/* Ends every other connection to the store's database, as a database restart or a network cut would. */
static void kill_connections(const char *loc)
{
    assert_int_equal(fixture_pg_exec(loc, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                          "datname = current_database() AND pid <> pg_backend_pid()"), 0);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct opener {
    const char *loc;
    pthread_barrier_t *go;
    int rc;
    m2m_code code;
};

static void *open_main(void *arg)
{
    struct opener *o = arg;
    m2m_err err = {0};
    m2m_store *st;
    pthread_barrier_wait(o->go);
    st = m2m_store_open(o->loc, 1, &err);
    o->rc = st != NULL ? 0 : -1;
    o->code = err.code;
    m2m_store_close(st);
    return NULL;
}

static void test_schema_once(void **state)
{
    char loc[512];
    m2m_err err = {0};
    pthread_barrier_t go;
    pthread_t t[4];
    struct opener o[4];
    int made = 0;
    m2m_store *st;
    (void)state;
    /* a database without the schema is not a store yet */
    assert_int_equal(fixture_store_location("/tmp", "unused", loc, sizeof loc), 0);
    assert_null(m2m_store_open(loc, 0, &err));
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "registrar init"));
    /* four inits at once: one makes the schema, the others find it made */
    pthread_barrier_init(&go, NULL, 4);
    for (int i = 0; i < 4; i++) {
        o[i] = (struct opener){.loc = loc, .go = &go};
        pthread_create(&t[i], NULL, open_main, &o[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        if (o[i].rc == 0)
            made++;
        else
            assert_int_equal(o[i].code, M2M_E_EXISTS);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(made, 1);
    st = m2m_store_open(loc, 0, &err);
    assert_non_null(st);
    m2m_store_close(st);
    /* a schema newer than this build is refused, naming both versions */
    assert_int_equal(fixture_pg_exec(loc, "UPDATE meta SET v = '99' WHERE k = 'schema_version'"), 0);
    assert_null(m2m_store_open(loc, 0, &err));
    assert_int_equal(err.code, M2M_E_STORE);
    assert_non_null(strstr(err.msg, "99"));
}

static void test_lost_transaction(void **state)
{
    char loc[512];
    m2m_err err = {0};
    m2m_resource r, got;
    int sp = 0, inner = 0;
    m2m_store *st = fresh(loc, sizeof loc), *check;
    (void)state;
    assert_int_equal(m2m_store_unit_begin(st, &sp, &err), 0);
    res_fill(&r, "lost1", "one");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    kill_connections(loc);
    /* the next statement of the transaction fails, and so does everything until the unit ends: none of it may run
     * on a new connection, where it would commit on its own */
    res_fill(&r, "lost2", "two");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), -1);
    assert_int_equal(err.code, M2M_E_STORE);
    assert_int_equal(m2m_store_unit_begin(st, &inner, &err), -1);
    assert_int_equal(m2m_store_res_insert(st, &r, &err), -1);
    assert_int_equal(m2m_store_unit_end(st, sp, 1, &err), -1);
    check = m2m_store_open(loc, 0, &err);
    assert_non_null(check);
    assert_int_equal(m2m_store_res_get(check, "lost1", &got, &err), -1);
    assert_int_equal(m2m_store_res_get(check, "lost2", &got, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    /* the handle itself goes on, on a new connection, once its unit is over (at most a second later) */
    for (double t0 = now_ms(); now_ms() - t0 < 5000; usleep(10 * 1000)) /* poll, with a deadline */
        if (m2m_store_res_insert(st, &r, &err) == 0)
            break;
    assert_int_equal(m2m_store_res_get(check, "lost2", &got, &err), 0);
    m2m_resource_clear(&got);
    m2m_store_close(check);
    m2m_store_close(st);
}

static void test_fail_fast_and_back(void **state)
{
    char loc[512];
    m2m_err err = {0};
    m2m_resource got;
    double t0, worst = 0;
    int back = 0;
    m2m_store *st = fresh(loc, sizeof loc);
    m2m_store_stats s;
    (void)state;
    m2m_store_set_fail_fast(st, 1);
    assert_int_equal(m2m_store_available(st), 1);
    assert_int_equal(fixture_pg_ctl("stop"), 0);
    /* away: every call fails, none waits (an event loop's handle) */
    for (int i = 0; i < 20; i++) {
        t0 = now_ms();
        assert_int_equal(m2m_store_res_get(st, "cb", &got, &err), -1);
        assert_int_equal(err.code, M2M_E_STORE);
        if (now_ms() - t0 > worst)
            worst = now_ms() - t0;
        m2m_store_poll(st);
    }
    printf("    slowest failing call while the database was away: %.1f ms\n", worst);
    assert_true(worst < 100);
    assert_int_equal(m2m_store_available(st), 0);
    m2m_store_stats_read(st, &s);
    assert_true(s.errors >= 20);
    assert_int_equal(fixture_pg_ctl("start"), 0);
    /* back: the handle's poll (an event loop's timer) reconnects it, without a call having to wait */
    for (t0 = now_ms(); now_ms() - t0 < 10000 && !back; usleep(10 * 1000)) {
        m2m_store_poll(st);
        back = m2m_store_available(st);
    }
    assert_int_equal(back, 1);
    assert_int_equal(m2m_store_res_get(st, "cb", &got, &err), 0);
    m2m_resource_clear(&got);
    m2m_store_close(st);
}

/* ---- the writer's batch when its connection dies ---- */
struct job {
    m2m_store_job job; /* first */
    m2m_resource r;
    const char *loc;
    int kill, rc, finished;
};

static int job_run(m2m_store *st, m2m_store_job *job, m2m_err *err)
{
    struct job *j = (struct job *)job;
    if (j->kill)
        kill_connections(j->loc); /* in the middle of the batch */
    return m2m_store_res_insert(st, &j->r, err);
}

static void job_done(m2m_store_job *job, int rc, const m2m_err *err)
{
    struct job *j = (struct job *)job;
    (void)err;
    j->rc = rc;
    j->finished = 1;
}

static void test_writer_connection_killed(void **state)
{
    char loc[512], ri[16];
    m2m_err err = {0};
    struct job jobs[8];
    m2m_store *st = fresh(loc, sizeof loc), *check;
    (void)state;
    /* without a writer's thread the batch is the same code (run_unit in its own transaction per job); with
     * one, a batch: kill the connection during job 3 of a batch that holds them all */
    {
        m2m_store_writer *w = m2m_store_writer_start(loc, &err);
        m2m_store_done_queue *q = m2m_store_done_queue_new(NULL, NULL);
        int n = 0;
        assert_non_null(w);
        assert_non_null(q);
        memset(jobs, 0, sizeof jobs);
        for (int i = 0; i < 8; i++) {
            snprintf(ri, sizeof ri, "w%d", i);
            res_fill(&jobs[i].r, ri, ri);
            jobs[i].loc = loc;
            jobs[i].kill = i == 3;
            jobs[i].job.run = job_run;
            jobs[i].job.done = job_done;
            m2m_store_submit(w, st, q, &jobs[i].job);
        }
        for (double t0 = now_ms(); n < 8 && now_ms() - t0 < 20000; usleep(10 * 1000)) {
            m2m_store_done_queue_drain(q);
            n = 0;
            for (int i = 0; i < 8; i++)
                n += jobs[i].finished;
        }
        assert_int_equal(n, 8);
        m2m_store_writer_stop(w);
        m2m_store_done_queue_free(q);
    }
    /* whatever was reported done is there; whatever failed is not (read on a connection made after the kill) */
    check = m2m_store_open(loc, 0, &err);
    assert_non_null(check);
    for (int i = 0; i < 8; i++) {
        m2m_resource got;
        int there = m2m_store_res_get(check, jobs[i].r.ri, &got, &err) == 0;
        if (there)
            m2m_resource_clear(&got);
        if ((jobs[i].rc == 0) != there)
            fail_msg("job %d: reported %s, %s in the store", i, jobs[i].rc == 0 ? "done" : "failed",
                     there ? "is" : "is not");
    }
    assert_int_not_equal(jobs[3].rc, 0); /* its batch was lost */
    m2m_store_close(check);
    m2m_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_once),
        cmocka_unit_test(test_lost_transaction),
        cmocka_unit_test(test_fail_fast_and_back),
        cmocka_unit_test(test_writer_connection_killed),
    };
    if (fixture_pg() == NULL) {
        fprintf(stderr, "SKIP: test_store_pg needs a PostgreSQL cluster (run it through tests/pg/with_cluster.sh)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
