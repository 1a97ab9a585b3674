/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface: picks the back-end from the store's location and dispatches every call to its table of
 * operations (backend.h), counting each call and its latency for /metrics. Nothing here knows how a back-end keeps
 * its data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/backend.h"

const double M2M_STORE_LAT_LE[M2M_STORE_LAT_BUCKETS - 1] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                             0.0025,  0.01,   0.05,    0.25};

m2m_store *m2m_store_open(const char *location, int create, m2m_err *err)
{
    if (location == NULL || location[0] == '\0') {
        m2m_fail(err, M2M_E_ARG, "no store given");
        return NULL;
    }
    if (m2m_pg_location(location))
        return m2m_pg_open(location, create, err);
    if (strncmp(location, "sqlite:", 7) == 0)
        location += 7;
    return m2m_sqlite_open(location, create, err);
}

void m2m_store_location_safe(const char *location, char *out, size_t cap)
{
    if (location != NULL && m2m_pg_location(location))
        m2m_pg_safe_location(location, out, cap);
    else
        snprintf(out, cap, "%s", location ? location : "");
}

int m2m_store_location_is_file(const char *location)
{
    return location != NULL && !m2m_pg_location(location);
}

void m2m_store_set_fail_fast(m2m_store *st, int on)
{
    if (st != NULL)
        st->fail_fast = on;
}

int m2m_store_available(m2m_store *st)
{
    return st->ops->available(st);
}

void m2m_store_poll(m2m_store *st)
{
    st->ops->poll(st);
}

/* ---- counting ---- */

static void mark(struct timespec *t0)
{
    clock_gettime(CLOCK_MONOTONIC, t0);
}

/* Counts one call (relaxed atomics: one thread writes, /metrics reads). Returns rc. */
static int counted(m2m_store *st, const struct timespec *t0, int rc, const m2m_err *err)
{
    struct timespec t1;
    unsigned long long ns;
    int b = 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ns = (unsigned long long)((t1.tv_sec - t0->tv_sec) * 1000000000LL + (t1.tv_nsec - t0->tv_nsec));
    while (b < M2M_STORE_LAT_BUCKETS - 1 && (double)ns > M2M_STORE_LAT_LE[b] * 1e9)
        b++;
    __atomic_add_fetch(&st->stats.calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->stats.nanos, ns, __ATOMIC_RELAXED);
    __atomic_add_fetch(&st->stats.le[b], 1, __ATOMIC_RELAXED);
    if (rc < 0 && err != NULL && err->code == M2M_E_STORE)
        __atomic_add_fetch(&st->stats.errors, 1, __ATOMIC_RELAXED);
    return rc;
}

void m2m_store_stats_read(m2m_store *st, m2m_store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return;
    out->calls = __atomic_load_n(&st->stats.calls, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&st->stats.errors, __ATOMIC_RELAXED);
    out->nanos = __atomic_load_n(&st->stats.nanos, __ATOMIC_RELAXED);
    for (int i = 0; i < M2M_STORE_LAT_BUCKETS; i++)
        out->le[i] = __atomic_load_n(&st->stats.le[i], __ATOMIC_RELAXED);
}

/* Every dispatch below: one call of the back-end, timed and counted. */
#define CALL(st, err, expr)                                                                                        \
    do {                                                                                                           \
        struct timespec t0_;                                                                                       \
        mark(&t0_);                                                                                                \
        return counted((st), &t0_, (expr), (err));                                                                 \
    } while (0)

/* ---- reads without waiting ---- */

m2m_store_reader *m2m_store_reader_open(const char *location, struct event_base *base, m2m_err *err)
{
    m2m_err_clear(err);
    if (location == NULL || !m2m_pg_location(location))
        return NULL; /* SQLite: its reads are microseconds */
    return m2m_pg_reader_open(location, base, err);
}

void m2m_store_reader_close(m2m_store_reader *r)
{
    m2m_pg_reader_close(r);
}

m2m_store_read *m2m_store_read_psk(m2m_store_reader *r, const char *key_id, m2m_store_psk_done done, void *arg)
{
    return r != NULL ? m2m_pg_read_psk(r, key_id, done, arg) : NULL;
}

void m2m_store_read_cancel(m2m_store_read *q)
{
    m2m_pg_read_cancel(q);
}

void m2m_store_reader_stats(m2m_store_reader *r, m2m_store_stats *out)
{
    m2m_pg_reader_stats(r, out);
}

/* ---- change notification ---- */

m2m_store_notifier *m2m_store_notifier_start(const char *location, void (*on_change)(void *arg), void *arg,
                                             m2m_err *err)
{
    return m2m_pg_notifier_start(location != NULL && m2m_pg_location(location) ? location : NULL, on_change, arg,
                                 err);
}

void m2m_store_notifier_stop(m2m_store_notifier *n)
{
    m2m_pg_notifier_stop(n);
}

int m2m_store_notifier_up(m2m_store_notifier *n)
{
    return m2m_pg_notifier_up(n);
}

void m2m_store_use_notifier(m2m_store *st, m2m_store_notifier *n)
{
    st->ops->use_notifier(st, n);
}

int m2m_store_generation_exact(m2m_store *st)
{
    return st->ops->generation_exact(st);
}

int m2m_store_enrol_changed(m2m_store *st, int64_t since, int64_t upto, const char *registree_id)
{
    return st->ops->enrol_changed(st, since, upto, registree_id);
}

void m2m_enrolment_clear(m2m_enrolment *e)
{
    if (e != NULL) {
        free(e->chain_root);
        m2m_secret_clear(&e->key);
        memset(e, 0, sizeof *e);
    }
}

void m2m_resource_clear(m2m_resource *r)
{
    if (r != NULL) {
        free(r->attrs);
        memset(r, 0, sizeof *r);
    }
}

void m2m_store_close(m2m_store *st)
{
    if (st)
        st->ops->close(st);
}

int m2m_store_set_identity(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err)
{
    CALL(st, err, st->ops->set_identity(st, cse_id, cse_name, err));
}

int m2m_store_get_identity(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err)
{
    CALL(st, err, st->ops->get_identity(st, cse_id, cse_name, err));
}

int m2m_store_set_meta(m2m_store *st, const char *key, const char *value, m2m_err *err)
{
    CALL(st, err, st->ops->set_meta(st, key, value, err));
}

int m2m_store_get_meta(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err)
{
    CALL(st, err, st->ops->get_meta(st, key, out, cap, err));
}

int m2m_store_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                        m2m_err *err)
{
    CALL(st, err, st->ops->enrol_psk(st, registree_id, key, key_id, err));
}

int m2m_store_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                         m2m_err *err)
{
    CALL(st, err, st->ops->enrol_cert(st, registree_id, pubkey_hash, root_pem, err));
}

int m2m_store_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err)
{
    CALL(st, err, st->ops->find_cert(st, pubkey_hash, out, err));
}

int m2m_store_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires,
                          m2m_err *err)
{
    CALL(st, err, st->ops->enrol_token(st, registree_id, token_hash, expires, err));
}

int m2m_store_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err)
{
    CALL(st, err, st->ops->consume_token(st, token_hash, now, out, err));
}

int m2m_store_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err)
{
    CALL(st, err, st->ops->find_token(st, token_hash, out, err));
}

int m2m_store_release_token(m2m_store *st, const char *token_hash, m2m_err *err)
{
    CALL(st, err, st->ops->release_token(st, token_hash, err));
}

int m2m_store_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err)
{
    CALL(st, err, st->ops->find_psk(st, key_id, out, err));
}

int m2m_store_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    CALL(st, err, st->ops->enrolment_active(st, registree_id, key_id, err));
}

int m2m_store_revoke(m2m_store *st, const char *registree_id, m2m_err *err)
{
    CALL(st, err, st->ops->revoke(st, registree_id, err));
}

int m2m_store_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err)
{
    CALL(st, err, st->ops->list(st, include_revoked, cb, ctx, err));
}

int m2m_store_enrol_generation(m2m_store *st, int64_t *gen, m2m_err *err)
{
    CALL(st, err, st->ops->enrol_generation(st, gen, err));
}

int m2m_store_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                                  m2m_err *err)
{
    CALL(st, err, st->ops->enrol_generated_psk(st, registree_id, key, key_id, err));
}

int m2m_store_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    CALL(st, err, st->ops->promote_psk(st, registree_id, key_id, err));
}

int m2m_store_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err)
{
    CALL(st, err, st->ops->expire_pending(st, older_than, promoted, err));
}

int m2m_store_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max, int *n,
                          m2m_err *err)
{
    CALL(st, err, st->ops->ticket_keys(st, now, period, rotate, out, max, n, err));
}

int m2m_store_unit_begin(m2m_store *st, int *sp, m2m_err *err)
{
    CALL(st, err, st->ops->unit_begin(st, sp, err));
}

int m2m_store_unit_end(m2m_store *st, int sp, int ok, m2m_err *err)
{
    CALL(st, err, st->ops->unit_end(st, sp, ok, err));
}

int m2m_store_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err)
{
    CALL(st, err, st->ops->res_get(st, ri, out, err));
}

int m2m_store_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err)
{
    CALL(st, err, st->ops->res_child(st, pi, rn, out, err));
}

int m2m_store_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err)
{
    CALL(st, err, st->ops->res_registration(st, reg_id, out, err));
}

int m2m_store_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err)
{
    CALL(st, err, st->ops->res_insert(st, r, err));
}

int m2m_store_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err)
{
    CALL(st, err, st->ops->res_update(st, ri, attrs, lt, et, err));
}

int m2m_store_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err)
{
    CALL(st, err, st->ops->res_expired(st, now, ri, max, n, err));
}

int m2m_store_res_delete(m2m_store *st, const char *ri, m2m_err *err)
{
    CALL(st, err, st->ops->res_delete(st, ri, err));
}

int m2m_store_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err)
{
    CALL(st, err, st->ops->res_count_children(st, pi, ty, count, err));
}

int m2m_store_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err)
{
    CALL(st, err, st->ops->res_usage(st, owner, count, bytes, err));
}

int m2m_store_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count, int64_t *bytes,
                                 m2m_err *err)
{
    CALL(st, err, st->ops->res_children_stats(st, pi, ty, min_ct, count, bytes, err));
}

int m2m_store_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes,
                                int64_t min_ct, int *removed, m2m_err *err)
{
    CALL(st, err, st->ops->res_insert_capped(st, r, max_count, max_bytes, min_ct, removed, err));
}

int m2m_store_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err)
{
    CALL(st, err, st->ops->res_expire_children(st, pi, ty, min_ct, removed, err));
}

int m2m_store_registree_known(m2m_store *st, const char *registree_id, m2m_err *err)
{
    CALL(st, err, st->ops->registree_known(st, registree_id, err));
}

int m2m_store_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err)
{
    CALL(st, err, st->ops->res_children(st, pi, cb, ctx, err));
}

/* ---- x.y.5 ---- */

int m2m_store_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi,
                        m2m_err *err)
{
    CALL(st, err, st->ops->enrol_gba(st, registree_id, impi_id, impi, err));
}

int m2m_store_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err)
{
    CALL(st, err, st->ops->find_gba(st, impi_id, out, err));
}

int m2m_store_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *s, m2m_err *err)
{
    CALL(st, err, st->ops->gba_subscriber_add(st, s, err));
}

int m2m_store_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err)
{
    CALL(st, err, st->ops->gba_subscriber_get(st, impi, out, err));
}

int m2m_store_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only, m2m_err *err)
{
    CALL(st, err, st->ops->gba_subscriber_set_sqn(st, impi, sqn, raise_only, err));
}

int m2m_store_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err)
{
    CALL(st, err, st->ops->gba_subscriber_remove(st, impi, err));
}

int m2m_store_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                                  m2m_err *err)
{
    CALL(st, err, st->ops->gba_subscriber_list(st, cb, ctx, err));
}

int m2m_store_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err)
{
    CALL(st, err, st->ops->gba_bootstrap_put(st, b, err));
}

int m2m_store_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out, m2m_err *err)
{
    CALL(st, err, st->ops->gba_bootstrap_get(st, btid, now, out, err));
}

int m2m_store_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err)
{
    CALL(st, err, st->ops->gba_bootstrap_expire(st, now, removed, err));
}
