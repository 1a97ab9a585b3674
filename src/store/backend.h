/* SPDX-License-Identifier: Apache-2.0 */
/* What a store back-end implements: one table of operations, one per function of store.h that takes a handle, with
 * the same meaning (store.h documents them). A back-end's handle starts with struct m2m_store, whose ops point at
 * its table; store.c dispatches every call through it. Only src/store/ includes this file. */
#ifndef M2M_STORE_BACKEND_H
#define M2M_STORE_BACKEND_H

#include "store/store.h"

struct m2m_store_ops {
    const char *name; /* for messages: "sqlite" */
    void (*close)(m2m_store *st);
    int (*set_identity)(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err);
    int (*get_identity)(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err);
    int (*set_meta)(m2m_store *st, const char *key, const char *value, m2m_err *err);
    int (*get_meta)(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err);
    int (*enrol_psk)(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id, m2m_err *err);
    int (*enrol_cert)(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                      m2m_err *err);
    int (*find_cert)(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err);
    int (*enrol_token)(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires, m2m_err *err);
    int (*consume_token)(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err);
    int (*find_token)(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err);
    int (*release_token)(m2m_store *st, const char *token_hash, m2m_err *err);
    int (*find_psk)(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err);
    int (*enrolment_active)(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
    int (*revoke)(m2m_store *st, const char *registree_id, m2m_err *err);
    int (*list)(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err);
    int (*enrol_generation)(m2m_store *st, int64_t *gen, m2m_err *err);
    int (*enrol_generated_psk)(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                               m2m_err *err);
    int (*promote_psk)(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
    int (*expire_pending)(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err);
    int (*ticket_keys)(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max, int *n,
                       m2m_err *err);
    int (*unit_begin)(m2m_store *st, int *sp, m2m_err *err);
    int (*unit_end)(m2m_store *st, int sp, int ok, m2m_err *err);
    int (*res_get)(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err);
    int (*res_child)(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err);
    int (*res_registration)(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err);
    int (*res_insert)(m2m_store *st, const m2m_resource *r, m2m_err *err);
    int (*res_update)(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err);
    int (*res_expired)(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err);
    int (*res_delete)(m2m_store *st, const char *ri, m2m_err *err);
    int (*res_count_children)(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err);
    int (*res_usage)(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err);
    int (*res_children_stats)(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count, int64_t *bytes,
                              m2m_err *err);
    int (*res_insert_capped)(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes, int64_t min_ct,
                             int *removed, m2m_err *err);
    int (*res_expire_children)(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err);
    int (*registree_known)(m2m_store *st, const char *registree_id, m2m_err *err);
    int (*res_children)(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err);
    /* x.y.5 */
    int (*enrol_gba)(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi, m2m_err *err);
    int (*find_gba)(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err);
    int (*gba_subscriber_add)(m2m_store *st, const m2m_gba_subscriber *s, m2m_err *err);
    int (*gba_subscriber_get)(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err);
    int (*gba_subscriber_set_sqn)(m2m_store *st, const char *impi, uint64_t sqn, int raise_only, m2m_err *err);
    int (*gba_subscriber_remove)(m2m_store *st, const char *impi, m2m_err *err);
    int (*gba_subscriber_list)(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                               m2m_err *err);
    int (*gba_bootstrap_put)(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err);
    int (*gba_bootstrap_get)(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out, m2m_err *err);
    int (*gba_bootstrap_expire)(m2m_store *st, int64_t now, int *removed, m2m_err *err);
    /* health and change notification (store.h) */
    int (*available)(m2m_store *st);
    void (*poll)(m2m_store *st);
    void (*use_notifier)(m2m_store *st, m2m_store_notifier *n);
    int (*enrol_changed)(m2m_store *st, int64_t since, int64_t upto, const char *registree_id);
    int (*generation_exact)(m2m_store *st);
};

struct m2m_store {
    const struct m2m_store_ops *ops;
    int fail_fast;             /* m2m_store_set_fail_fast */
    m2m_store_stats stats;     /* store.c counts every call (relaxed atomics: /metrics reads them) */
};

/* The SQLite back-end (store/sqlite.c): a file path. */
m2m_store *m2m_sqlite_open(const char *path, int create, m2m_err *err);
/* The PostgreSQL back-end (store/pg.c): a libpq URL or key=value string. */
int m2m_pg_location(const char *location);
void m2m_pg_safe_location(const char *location, char *out, size_t cap);
m2m_store *m2m_pg_open(const char *location, int create, m2m_err *err);
/* store/pg_notify.c: LISTEN on location (a PostgreSQL one), or NULL location: a notifier that never reports. */
m2m_store_notifier *m2m_pg_notifier_start(const char *location, void (*on_change)(void *arg), void *arg,
                                          m2m_err *err);
void m2m_pg_notifier_stop(m2m_store_notifier *n);
/* store/pg_async.c: store.h's reader, on PostgreSQL. */
m2m_store_reader *m2m_pg_reader_open(const char *location, struct event_base *base, m2m_err *err);
void m2m_pg_reader_close(m2m_store_reader *r);
m2m_store_read *m2m_pg_read_psk(m2m_store_reader *r, const char *key_id, m2m_store_psk_done done, void *arg);
void m2m_pg_read_cancel(m2m_store_read *q);
void m2m_pg_reader_stats(m2m_store_reader *r, m2m_store_stats *out);
int m2m_pg_notifier_up(m2m_store_notifier *n);

#endif
