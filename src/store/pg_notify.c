/* SPDX-License-Identifier: Apache-2.0 */
/* Live enrolment across nodes: one LISTEN connection per Registrar process. Every enrolment change commits a new
 * generation and a NOTIFY carrying "GENERATION REGISTREE-ID" (pg_schema.c), delivered by PostgreSQL to every
 * listener at commit, in commit order. The notifier keeps the latest generation -- so a worker learns whether its
 * cached PSK enrolments are current without a round trip -- and the recent changes, so that after a change a
 * worker re-checks only the connections of the Registrees that changed, not every connection it has.
 *
 * It runs on a thread of its own that does nothing but wait (poll) on the connection's socket and a stop pipe:
 * notifications are taken as soon as they arrive whatever the workers are doing, and no worker's loop ever waits
 * on it. When the connection is lost the notifier says so (workers then read the generation from the database,
 * which fails while it is down, so their caches empty and nothing stale is accepted), reconnects once a second,
 * and on return reports that it cannot tell what changed meanwhile: every connection is re-checked. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pg_internal.h"

#define RING 1024

struct change {
    int64_t gen;
    char id[M2M_ID_MAX];
};

struct m2m_store_notifier {
    pg_store *p;            /* the listening connection (NULL: SQLite, nothing to listen to) */
    void (*on_change)(void *arg);
    void *arg;
    pthread_t thread;
    int started;
    int stop_pipe[2];
    pthread_mutex_t mu;     /* guards what follows */
    int up;                 /* listening, gen current */
    int have_gen;
    int64_t gen;            /* latest generation seen */
    int64_t floor;          /* the ring knows every change after this generation */
    struct change ring[RING];
    int head, count;
};

static void record(m2m_store_notifier *n, int64_t gen, const char *id)
{
    struct change *c;
    if (gen != n->gen + 1 && gen > n->floor)
        n->floor = gen - 1; /* a gap (cannot happen while listening): what lay in it is unknown */
    if (n->count == RING) {
        /* the oldest falls out: changes up to it are no longer known one by one */
        struct change *old = &n->ring[(n->head + RING - n->count) % RING];
        if (old->gen > n->floor)
            n->floor = old->gen;
        n->count--;
    }
    c = &n->ring[n->head];
    c->gen = gen;
    snprintf(c->id, sizeof c->id, "%s", id);
    n->head = (n->head + 1) % RING;
    n->count++;
    if (gen > n->gen)
        n->gen = gen;
}

/* LISTEN, then read the generation: a change committed in between is both read and notified, never missed. */
static int listen_start(m2m_store_notifier *n)
{
    m2m_err err;
    int64_t gen = 0;
    PGresult *r;
    if (pg_exec(n->p, "LISTEN " M2M_PG_CHANNEL, "listen", &err) != 0)
        return -1;
    if ((r = pg_q_once(n->p, "SELECT v FROM meta WHERE k = 'enrol_gen'", NULL, "read generation", &err)) == NULL)
        return -1;
    gen = PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    pthread_mutex_lock(&n->mu);
    if (!n->have_gen || gen != n->gen) {
        /* first start, or changes while we were away: nothing before gen is known one by one */
        n->floor = gen;
        n->count = 0;
    }
    n->gen = gen;
    n->have_gen = 1;
    n->up = 1;
    pthread_mutex_unlock(&n->mu);
    return 0;
}

static void set_down(m2m_store_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    n->up = 0;
    pthread_mutex_unlock(&n->mu);
}

/* Takes every notification that arrived; 1 when there was one, 0 none, -1 when the connection is gone. */
static int drain(m2m_store_notifier *n)
{
    PGnotify *note;
    int any = 0;
    if (PQconsumeInput(n->p->conn) == 0)
        return -1;
    while ((note = PQnotifies(n->p->conn)) != NULL) {
        char *end = NULL;
        long long gen = strtoll(note->extra, &end, 10);
        if (end != NULL && *end == ' ') {
            pthread_mutex_lock(&n->mu);
            record(n, gen, end + 1);
            pthread_mutex_unlock(&n->mu);
            any = 1;
        }
        PQfreemem(note);
    }
    return any;
}

static int is_up(m2m_store_notifier *n)
{
    int up;
    pthread_mutex_lock(&n->mu);
    up = n->up;
    pthread_mutex_unlock(&n->mu);
    return up;
}

static void *notifier_main(void *arg)
{
    m2m_store_notifier *n = arg;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = n->stop_pipe[0], .events = POLLIN}, {.fd = -1, .events = POLLIN}};
        int up, rc;
        m2m_err err;
        if (!is_up(n) && pg_ms_until_retry(n->p) <= 0) {
            /* (re)connect: this thread may wait for it, no event loop does */
            if (pg_exec(n->p, "SELECT 1", "connect", &err) == 0 && listen_start(n) == 0) {
                if (n->on_change != NULL)
                    n->on_change(n->arg);
            } else if (n->p->conn != NULL) {
                pg_drop(n->p); /* try again in a second */
            }
        }
        up = is_up(n);
        if (up)
            pfd[1].fd = PQsocket(n->p->conn);
        do
            rc = poll(pfd, 2, up ? -1 : 1000);
        while (rc < 0 && errno == EINTR);
        if (pfd[0].revents != 0)
            break;
        if (pfd[1].fd >= 0 && pfd[1].revents != 0) {
            int got = drain(n);
            if (got < 0) {
                pg_drop(n->p);
                set_down(n);
            }
            if (got != 0 && n->on_change != NULL)
                n->on_change(n->arg); /* a change, or the connection lost: workers look again */
        }
    }
    return NULL;
}

m2m_store_notifier *m2m_pg_notifier_start(const char *location, void (*on_change)(void *arg), void *arg,
                                          m2m_err *err)
{
    m2m_store_notifier *n = calloc(1, sizeof *n);
    if (n == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&n->mu, NULL);
    n->on_change = on_change;
    n->arg = arg;
    n->stop_pipe[0] = n->stop_pipe[1] = -1;
    if (location == NULL) {
        n->up = 1; /* SQLite: nothing to listen to, nothing missed */
        return n;
    }
    if ((n->p = (pg_store *)m2m_pg_open(location, 0, err)) == NULL)
        goto fail;
    if (listen_start(n) != 0) {
        m2m_fail(err, M2M_E_STORE, "store %s: cannot listen for enrolment changes", n->p->safe);
        goto fail;
    }
    if (pipe(n->stop_pipe) != 0 || pthread_create(&n->thread, NULL, notifier_main, n) != 0) {
        m2m_fail(err, M2M_E_NOMEM, "cannot start the store's change notifier");
        goto fail;
    }
    n->started = 1;
    return n;
fail:
    m2m_pg_notifier_stop(n);
    return NULL;
}

void m2m_pg_notifier_stop(m2m_store_notifier *n)
{
    if (n == NULL)
        return;
    if (n->started) {
        ssize_t w;
        do
            w = write(n->stop_pipe[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(n->thread, NULL);
    }
    if (n->stop_pipe[0] >= 0)
        close(n->stop_pipe[0]);
    if (n->stop_pipe[1] >= 0)
        close(n->stop_pipe[1]);
    m2m_store_close(n->p ? &n->p->base : NULL);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

int m2m_pg_notifier_up(m2m_store_notifier *n)
{
    return is_up(n);
}

int pg_notifier_generation(m2m_store_notifier *n, int64_t *gen)
{
    int ok;
    pthread_mutex_lock(&n->mu);
    ok = n->p != NULL && n->up;
    if (ok)
        *gen = n->gen;
    pthread_mutex_unlock(&n->mu);
    return ok;
}

int pg_notifier_changed(m2m_store_notifier *n, int64_t since, const char *registree_id)
{
    int changed = 1;
    pthread_mutex_lock(&n->mu);
    if (n->p != NULL && n->up && since >= n->floor && since <= n->gen) {
        changed = 0;
        for (int i = 1; i <= n->count && !changed; i++) {
            const struct change *c = &n->ring[(n->head + RING - i) % RING];
            if (c->gen <= since)
                break; /* older ones are older still */
            changed = strcmp(c->id, registree_id) == 0;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return changed;
}
