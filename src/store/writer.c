/* SPDX-License-Identifier: Apache-2.0 */
/* The store's writer: group commit. Every worker submits its writes as jobs; one thread takes all that are
 * pending, runs them in one transaction -- each in a savepoint of its own, so a failing job undoes only itself --
 * commits with one fsync (SQLite, synchronous=FULL) or one COMMIT round trip (PostgreSQL, synchronous_commit on),
 * and only then hands each job back to the loop that submitted it, which sends the response. So a response that
 * says "created" is never ahead of the disk, and N concurrent writes cost one commit instead of N.
 *
 * On PostgreSQL this thread waits on the network for its statements: it is the one thread that may, and it does
 * nothing else; group commit is what makes that pay (one round trip of COMMIT, one WAL flush, for every job of the
 * batch), and the event loops never wait for it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* A batch is cut here: the first job of a very long one must not wait behind thousands of others. */
#define MAX_BATCH 512

struct m2m_store_done_queue {
    pthread_mutex_t mu;
    m2m_store_job *head, *tail;
    void (*wake)(void *arg);
    void *arg;
};

struct m2m_store_writer {
    m2m_store *st;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    m2m_store_job *head, *tail;
    int stop;
    m2m_store_writer_stats stats; /* under mu */
};

m2m_store_done_queue *m2m_store_done_queue_new(void (*wake)(void *arg), void *arg)
{
    m2m_store_done_queue *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    q->wake = wake;
    q->arg = arg;
    return q;
}

void m2m_store_done_queue_free(m2m_store_done_queue *q)
{
    if (q == NULL)
        return;
    m2m_store_done_queue_drain(q); /* nothing may be lost: every job's done runs once */
    pthread_mutex_destroy(&q->mu);
    free(q);
}

void m2m_store_done_queue_drain(m2m_store_done_queue *q)
{
    m2m_store_job *j;
    pthread_mutex_lock(&q->mu);
    j = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    while (j != NULL) {
        m2m_store_job *next = j->next;
        j->next = NULL;
        j->done(j, j->rc, &j->err); /* may free j */
        j = next;
    }
}

static void complete(m2m_store_job *j)
{
    m2m_store_done_queue *q = j->queue;
    int was_empty;
    j->next = NULL;
    pthread_mutex_lock(&q->mu);
    was_empty = q->head == NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_mutex_unlock(&q->mu);
    if (was_empty && q->wake)
        q->wake(q->arg);
}

/* Runs one job in a unit of its own (a savepoint in the batch, or its own transaction without a writer). */
static void run_unit(m2m_store *st, m2m_store_job *j)
{
    int sp = 0;
    m2m_err_clear(&j->err);
    if (m2m_store_unit_begin(st, &sp, &j->err) != 0) {
        j->rc = -1;
        return;
    }
    j->rc = j->run(st, j, &j->err);
    if (m2m_store_unit_end(st, sp, j->rc == 0, j->rc == 0 ? &j->err : NULL) != 0)
        j->rc = -1;
}

static int bucket(int n)
{
    int b = 0;
    while (b < M2M_STORE_BATCH_BUCKETS - 1 && n > (1 << b))
        b++;
    return b;
}

static void *writer_main(void *arg)
{
    m2m_store_writer *w = arg;
    for (;;) {
        m2m_store_job *batch = NULL, *last = NULL, *j;
        int n = 0, failed = 0, sp = 0;
        m2m_err err;

        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->head == NULL) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        batch = w->head;
        for (j = batch; j != NULL && n < MAX_BATCH; j = j->next) {
            last = j;
            n++;
        }
        w->head = last->next;
        if (w->head == NULL)
            w->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->mu);

        /* one transaction for the batch; each job a savepoint in it */
        if (m2m_store_unit_begin(w->st, &sp, &err) != 0) {
            for (j = batch; j != NULL; j = j->next)
                j->rc = -1, j->err = err;
        } else {
            for (j = batch; j != NULL; j = j->next)
                run_unit(w->st, j);
            /* the one fsync: if it fails, nothing of the batch was written, whatever each job said */
            if (m2m_store_unit_end(w->st, sp, 1, &err) != 0) {
                m2m_store_unit_end(w->st, sp, 0, NULL);
                for (j = batch; j != NULL; j = j->next)
                    if (j->rc == 0)
                        j->rc = -1, j->err = err;
            }
        }
        for (j = batch; j != NULL; j = j->next)
            failed += j->rc != 0;
        pthread_mutex_lock(&w->mu);
        w->stats.commits++;
        w->stats.jobs += (unsigned long long)n;
        w->stats.failed += (unsigned long long)failed;
        w->stats.batch_le[bucket(n)]++;
        pthread_mutex_unlock(&w->mu);
        for (j = batch; j != NULL;) {
            m2m_store_job *next = j->next;
            complete(j);
            j = next;
        }
    }
    return NULL;
}

m2m_store_writer *m2m_store_writer_start(const char *location, m2m_err *err)
{
    m2m_store_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->st = m2m_store_open(location, 0, err);
    if (w->st == NULL || pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        if (w->st != NULL)
            m2m_fail(err, M2M_E_NOMEM, "cannot start the store writer thread");
        m2m_store_close(w->st);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void m2m_store_writer_stop(m2m_store_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    m2m_store_close(w->st);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void m2m_store_writer_stats_read(m2m_store_writer *w, m2m_store_writer_stats *out)
{
    memset(out, 0, sizeof *out);
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

void m2m_store_writer_store_stats(m2m_store_writer *w, m2m_store_stats *out)
{
    m2m_store_stats_read(w ? w->st : NULL, out);
}

void m2m_store_submit(m2m_store_writer *w, m2m_store *st, m2m_store_done_queue *q, m2m_store_job *job)
{
    job->next = NULL;
    job->queue = q;
    if (w == NULL || q == NULL) {
        run_unit(st, job);
        job->done(job, job->rc, &job->err);
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}
