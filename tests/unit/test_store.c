/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface (src/store/), one suite for every back-end: run as it is, it checks SQLite; under
 * tests/pg/with_cluster.sh (CTest's unit.test_store.pg) the same checks run against PostgreSQL
 * (fixture_store.h). Choosing a back-end from the location, units of work that undo only themselves, the writer's
 * group commit -- each job completed on its own queue with its own result, a failing job failing alone, nothing
 * reported done that a fresh handle cannot read back -- and every operation's contract: enrolments and their
 * uniqueness, tokens used once (also by two handles racing), generated keys, ticket keys rotated once, the
 * resource tree with its quotas and caps, the BSF's tables. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture_store.h"
#include "fixture_tmpdir.h"
#include "store/store.h"

static void res_fill(m2m_resource *r, const char *ri, const char *pi, const char *rn)
{
    memset(r, 0, sizeof *r);
    snprintf(r->ri, sizeof r->ri, "%s", ri);
    snprintf(r->pi, sizeof r->pi, "%s", pi);
    snprintf(r->rn, sizeof r->rn, "%s", rn);
    snprintf(r->owner, sizeof r->owner, "%s", "Cae1");
    r->ty = 3;
    r->attrs = (char *)"{}";
    r->ct = r->lt = 1700000000;
}

/* A new store (with identity) at a new location; dir gets the test's directory (removed by the caller). */
static m2m_store *fresh(char *dir, size_t cap, char *loc, size_t lcap)
{
    m2m_err err = {0};
    m2m_store *st;
    assert_int_equal(fixture_mkdtemp(dir, cap, "store"), 0);
    assert_int_equal(fixture_store_location(dir, "reg", loc, lcap), 0);
    st = m2m_store_open(loc, 1, &err);
    if (st == NULL)
        fail_msg("open %s: %s", loc, err.msg);
    assert_int_equal(m2m_store_set_identity(st, "/in-cse", "in-name", &err), 0);
    return st;
}

static void test_location_forms(void **state)
{
    char dir[64], loc[512], other[600], id[M2M_ID_MAX], name[M2M_ID_MAX], safe[256];
    m2m_err err = {0};
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc), *again;
    (void)state;
    m2m_store_close(st);

    /* the same store again, in the other spelling of its location */
    if (fixture_pg() == NULL)
        snprintf(other, sizeof other, "sqlite:%s", loc);
    else
        snprintf(other, sizeof other, "%s", loc);
    again = m2m_store_open(other, 0, &err);
    assert_non_null(again);
    assert_int_equal(m2m_store_get_identity(again, id, name, &err), 0);
    assert_string_equal(id, "/in-cse");
    assert_int_equal(m2m_store_available(again), 1);
    m2m_store_close(again);

    /* creating over an existing store is refused, opening a missing one names it */
    assert_null(m2m_store_open(loc, 1, &err));
    assert_int_equal(err.code, M2M_E_EXISTS);
    if (fixture_pg() == NULL) {
        snprintf(other, sizeof other, "%s/missing.db", dir);
        assert_null(m2m_store_open(other, 0, &err));
        assert_int_equal(err.code, M2M_E_NOTFOUND);
        assert_non_null(strstr(err.msg, "missing.db"));
    }

    /* a PostgreSQL location that leads nowhere fails, and neither the error nor the printable form repeats its
     * password (URL or key=value) */
    assert_null(m2m_store_open("postgresql://m2m:s3cret@/m2m?host=/nonexistent-m2m-dir", 0, &err));
    assert_int_equal(err.code, M2M_E_STORE);
    assert_null(strstr(err.msg, "s3cret"));
    assert_null(m2m_store_open("host=/nonexistent-m2m-dir user=m2m password=s3cret dbname=m2m", 0, &err));
    assert_null(strstr(err.msg, "s3cret"));
    assert_null(m2m_store_open("postgres://m2m:s3cr%et@h/d", 0, &err)); /* libpq cannot parse it */
    assert_int_equal(err.code, M2M_E_ARG);
    assert_null(strstr(err.msg, "s3cr"));
    m2m_store_location_safe("postgresql://m2m:s3cret@db1:5433/m2m?sslmode=require", safe, sizeof safe);
    assert_string_equal(safe, "postgresql://m2m@db1:5433/m2m");
    m2m_store_location_safe("host=db1 password=s3cret dbname=m2m", safe, sizeof safe);
    assert_null(strstr(safe, "s3cret"));
    m2m_store_location_safe("/var/lib/m2m/registrar.db", safe, sizeof safe);
    assert_string_equal(safe, "/var/lib/m2m/registrar.db");
    assert_int_equal(m2m_store_location_is_file("/var/lib/m2m/registrar.db"), 1);
    assert_int_equal(m2m_store_location_is_file("sqlite:x.db"), 1);
    assert_int_equal(m2m_store_location_is_file("dbname=m2m"), 0);
    assert_int_equal(m2m_store_location_is_file("postgres://h/d"), 0);
    assert_null(m2m_store_open("", 0, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    fixture_rmdir(dir);
}

static void test_unit_undoes_only_itself(void **state)
{
    char dir[64], loc[512];
    m2m_err err = {0};
    m2m_resource r, got;
    int outer = 0, inner = 0;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc), *other;
    (void)state;

    assert_int_equal(m2m_store_unit_begin(st, &outer, &err), 0);
    res_fill(&r, "c1", "/in-cse", "one");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    assert_int_equal(m2m_store_unit_begin(st, &inner, &err), 0);
    res_fill(&r, "c2", "/in-cse", "two");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    assert_int_equal(m2m_store_unit_end(st, inner, 0, NULL), 0); /* undo c2 only */
    assert_int_equal(m2m_store_unit_begin(st, &inner, &err), 0);
    res_fill(&r, "c3", "/in-cse", "three");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), 0);
    /* a unit that meets a taken name fails alone and leaves the outer one usable */
    res_fill(&r, "c4", "/in-cse", "one");
    assert_int_equal(m2m_store_res_insert(st, &r, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    assert_int_equal(m2m_store_unit_end(st, inner, 1, &err), 0);
    assert_int_equal(m2m_store_unit_end(st, outer, 1, &err), 0);

    other = m2m_store_open(loc, 0, &err);
    assert_non_null(other);
    assert_int_equal(m2m_store_res_get(other, "c1", &got, &err), 0);
    m2m_resource_clear(&got);
    assert_int_equal(m2m_store_res_get(other, "c2", &got, &err), -1);
    assert_int_equal(err.code, M2M_E_NOTFOUND);
    assert_int_equal(m2m_store_res_get(other, "c3", &got, &err), 0);
    m2m_resource_clear(&got);
    m2m_store_close(other);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

/* ---- the writer ---- */
#define JOBS 64

struct insert_job {
    m2m_store_job job; /* first: done gets it back */
    m2m_resource r;
    int rc, finished;
    m2m_code code;
};

static int insert_run(m2m_store *st, m2m_store_job *job, m2m_err *err)
{
    struct insert_job *j = (struct insert_job *)job;
    return m2m_store_res_insert(st, &j->r, err);
}

static void insert_done(m2m_store_job *job, int rc, const m2m_err *err)
{
    struct insert_job *j = (struct insert_job *)job;
    j->rc = rc;
    j->code = rc == 0 ? M2M_OK : err->code;
    j->finished++;
}

/* The loop's side of a done queue: the writer wakes it through a pipe, as an event loop would be. */
static void wake_pipe(void *arg)
{
    int fd = *(int *)arg;
    ssize_t n;
    do
        n = write(fd, "x", 1);
    while (n < 0 && errno == EINTR);
}

static void test_writer_group_commit(void **state)
{
    char dir[64], loc[512], rn[32], ri[32];
    m2m_err err = {0};
    static struct insert_job jobs[JOBS];
    int fds[2], finished = 0;
    m2m_store_writer_stats stats;
    m2m_store_stats calls;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc), *check;
    m2m_store_writer *w;
    m2m_store_done_queue *q;
    (void)state;

    assert_int_equal(pipe(fds), 0);
    w = m2m_store_writer_start(loc, &err);
    assert_non_null(w);
    q = m2m_store_done_queue_new(wake_pipe, &fds[1]);
    assert_non_null(q);
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < JOBS; i++) {
        snprintf(ri, sizeof ri, "cnt%d", i);
        snprintf(rn, sizeof rn, "n%d", i);
        /* job 17 takes job 3's name: it fails, alone */
        res_fill(&jobs[i].r, ri, "/in-cse", i == 17 ? "n3" : rn);
        jobs[i].job.run = insert_run;
        jobs[i].job.done = insert_done;
        m2m_store_submit(w, st, q, &jobs[i].job);
    }
    while (finished < JOBS) {
        char b;
        ssize_t n = read(fds[0], &b, 1);
        assert_true(n == 1 || (n < 0 && errno == EINTR));
        m2m_store_done_queue_drain(q);
        finished = 0;
        for (int i = 0; i < JOBS; i++)
            finished += jobs[i].finished;
    }

    check = m2m_store_open(loc, 0, &err);
    assert_non_null(check);
    for (int i = 0; i < JOBS; i++) {
        m2m_resource got;
        assert_int_equal(jobs[i].finished, 1);
        if (i == 17) {
            assert_int_equal(jobs[i].rc, -1);
            assert_int_equal(jobs[i].code, M2M_E_EXISTS);
            assert_int_equal(m2m_store_res_get(check, jobs[i].r.ri, &got, &err), -1);
            continue;
        }
        assert_int_equal(jobs[i].rc, 0);
        /* reported done: a fresh handle reads it */
        assert_int_equal(m2m_store_res_get(check, jobs[i].r.ri, &got, &err), 0);
        m2m_resource_clear(&got);
    }
    m2m_store_writer_stats_read(w, &stats);
    assert_int_equal(stats.jobs, JOBS);
    assert_int_equal(stats.failed, 1);
    assert_true(stats.commits >= 1 && stats.commits <= JOBS);
    {
        unsigned long long sum = 0;
        for (int b = 0; b < M2M_STORE_BATCH_BUCKETS; b++)
            sum += stats.batch_le[b];
        assert_int_equal(sum, stats.commits);
    }
    /* every call of the writer's handle was counted, with its latency */
    m2m_store_writer_store_stats(w, &calls);
    assert_true(calls.calls >= JOBS);
    {
        unsigned long long sum = 0;
        for (int b = 0; b < M2M_STORE_LAT_BUCKETS; b++)
            sum += calls.le[b];
        assert_int_equal(sum, calls.calls);
    }
    assert_int_equal(calls.errors, 0); /* a taken name is the caller's failure, not the store's */
    m2m_store_close(check);
    m2m_store_writer_stop(w);
    m2m_store_done_queue_free(q);
    m2m_store_close(st);
    close(fds[0]);
    close(fds[1]);
    fixture_rmdir(dir);
}

/* Without a writer (tools), a job runs at once in its own transaction and completes before submit returns. */
static void test_submit_without_writer(void **state)
{
    char dir[64], loc[512];
    struct insert_job j;
    m2m_store *st = fresh(dir, sizeof dir, loc, sizeof loc);
    (void)state;
    memset(&j, 0, sizeof j);
    res_fill(&j.r, "c9", "/in-cse", "nine");
    j.job.run = insert_run;
    j.job.done = insert_done;
    m2m_store_submit(NULL, st, NULL, &j.job);
    assert_int_equal(j.finished, 1);
    assert_int_equal(j.rc, 0);
    memset(&j.job, 0, sizeof j.job);
    j.finished = 0;
    j.job.run = insert_run;
    j.job.done = insert_done;
    m2m_store_submit(NULL, st, NULL, &j.job); /* same ri again */
    assert_int_equal(j.finished, 1);
    assert_int_equal(j.rc, -1);
    assert_int_equal(j.code, M2M_E_EXISTS);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

#include "store_contract.h"

/* A store from the build before the record of enrolment changes (schema 6): opened, it is migrated, its past
 * changes (no record) leave every connection to be re-checked, and its new ones are recorded. SQLite only. */
static void test_changes_record_after_migration(void **state)
{
    char dir[64], loc[512];
    m2m_err err;
    m2m_secret k;
    sqlite3 *db = NULL;
    int64_t old;
    m2m_store *st;
    (void)state;
    if (fixture_pg() != NULL)
        return;
    st = fresh(dir, sizeof dir, loc, sizeof loc);
    old = generation(st);
    m2m_store_close(st);
    /* what a schema-6 build leaves: no enrol_change table, and a bump of its own */
    assert_int_equal(sqlite3_open(loc, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE enrol_change; UPDATE meta SET v = '6' WHERE k = 'schema_version'; "
                                      "INSERT INTO meta(k, v) VALUES ('enrol_gen', '1') ON CONFLICT(k) DO UPDATE SET "
                                      "v = CAST(CAST(v AS INTEGER) + 1 AS TEXT)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    st = m2m_store_open(loc, 0, &err);
    assert_non_null(st);
    assert_true(generation(st) > old);
    assert_int_equal(m2m_store_enrol_changed(st, old, generation(st), "Canyone"), 1); /* the old build's: whose? */
    old = generation(st);
    key_of(&k, 9);
    assert_int_equal(m2m_store_enrol_psk(st, "Cnew", &k, KID1, &err), 0);
    assert_int_equal(m2m_store_enrol_changed(st, old, generation(st), "Cnew"), 1);
    assert_int_equal(m2m_store_enrol_changed(st, old, generation(st), "Canyone"), 0);
    m2m_store_close(st);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_location_forms),
        cmocka_unit_test(test_unit_undoes_only_itself),
        cmocka_unit_test(test_writer_group_commit),
        cmocka_unit_test(test_submit_without_writer),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_changes_record_after_migration),
        cmocka_unit_test(test_enrol_psk),
        cmocka_unit_test(test_other_mechanisms),
        cmocka_unit_test(test_token_once),
        cmocka_unit_test(test_token_race),
        cmocka_unit_test(test_generated_keys),
        cmocka_unit_test(test_ticket_keys),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_capped),
        cmocka_unit_test(test_gba_tables),
        cmocka_unit_test(test_notifier),
    };
    fprintf(stderr, "test_store: back-end %s\n", fixture_pg() ? "PostgreSQL" : "SQLite");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
