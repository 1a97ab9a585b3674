/* SPDX-License-Identifier: Apache-2.0 */
/* The per-Registree request rate (quota.h): one token bucket per Registree ID, in one table for all workers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registrar/quota.h"
#include "store/store.h"
#include "util/hash.h"

#define BUCKETS 4096
/* Above this many tracked Registrees, full buckets (idle ones: the same as untracked) are dropped. */
#define SWEEP_ABOVE 65536

typedef struct entry {
    char id[M2M_ID_MAX];
    double tokens;
    int64_t at_ms;
    struct entry *next;
} entry;

struct m2m_rate_table {
    pthread_mutex_t mu;
    double per_ms, burst;
    int64_t (*now_ms)(void);
    size_t count;
    entry *bucket[BUCKETS];
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

m2m_rate_table *m2m_rate_new(double per_s, double burst, int64_t (*now_ms)(void))
{
    m2m_rate_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->per_ms = per_s / 1000.0;
    t->burst = burst < 1 ? 1 : burst;
    t->now_ms = now_ms ? now_ms : monotonic_ms;
    return t;
}

void m2m_rate_free(m2m_rate_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < BUCKETS; i++)
        while (t->bucket[i] != NULL) {
            entry *e = t->bucket[i];
            t->bucket[i] = e->next;
            free(e);
        }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static unsigned hash(const char *id)
{
    return m2m_fnv1a_str(M2M_FNV1A_INIT, id) % BUCKETS;
}

static void refill(const m2m_rate_table *t, entry *e, int64_t now)
{
    if (now > e->at_ms) {
        e->tokens += (double)(now - e->at_ms) * t->per_ms;
        if (e->tokens > t->burst)
            e->tokens = t->burst;
        e->at_ms = now;
    }
}

static void sweep(m2m_rate_table *t, int64_t now)
{
    for (int i = 0; i < BUCKETS; i++)
        for (entry **pp = &t->bucket[i]; *pp != NULL;) {
            entry *e = *pp;
            refill(t, e, now);
            if (e->tokens >= t->burst) {
                *pp = e->next;
                free(e);
                t->count--;
            } else
                pp = &e->next;
        }
}

int m2m_rate_take(m2m_rate_table *t, const char *id)
{
    int64_t now = t->now_ms();
    entry *e;
    int ok;

    pthread_mutex_lock(&t->mu);
    for (e = t->bucket[hash(id)]; e != NULL && strcmp(e->id, id) != 0; e = e->next)
        ;
    if (e == NULL) {
        if (t->count >= SWEEP_ABOVE)
            sweep(t, now);
        e = calloc(1, sizeof *e);
        if (e == NULL) {
            pthread_mutex_unlock(&t->mu);
            return 1; /* out of memory: do not turn it into an outage of every device */
        }
        strncpy(e->id, id, sizeof e->id - 1);
        e->tokens = t->burst;
        e->at_ms = now;
        e->next = t->bucket[hash(id)];
        t->bucket[hash(id)] = e;
        t->count++;
    }
    refill(t, e, now);
    ok = e->tokens >= 1.0;
    if (ok)
        e->tokens -= 1.0;
    pthread_mutex_unlock(&t->mu);
    return ok;
}
