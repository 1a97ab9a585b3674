/* SPDX-License-Identifier: Apache-2.0 */
/* What the SQLite back-end's files share: the connection of a store handle, its prepared statements, the error,
 * exec and unit helpers of sqlite.c, for the files that keep tables of their own (sqlite_res.c, sqlite_gba.c).
 * Nothing outside src/store/ includes it. */
#ifndef M2M_STORE_SQLITE_INTERNAL_H
#define M2M_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

sqlite3 *m2m_sqlite_db(m2m_store *st);
/* The store's file, for messages. */
const char *m2m_sqlite_path(m2m_store *st);
/* Every enrolment change bumps the generation and records whose enrolment it was, in the change's own
 * transaction. */
int m2m_sqlite_bump_enrol_gen(m2m_store *st, const char *registree_id, m2m_err *err);
/* err = "store PATH: what: SQLite's message"; returns -1. */
int m2m_sqlite_fail(m2m_store *st, m2m_err *err, const char *what);
/* Runs sql once to its end, with ?1 = a and ?2 = b (texts, when not NULL) and ?3 = n where sql has them; -1 with
 * err naming what failed. */
int m2m_sqlite_run(m2m_store *st, const char *sql, const char *a, const char *b, int64_t n, const char *what,
                   m2m_err *err);
/* Runs sql (no parameters); -1 with err. */
int m2m_sqlite_exec(m2m_store *st, const char *sql, m2m_err *err);

/* The prepared statements of a store handle (sqlite.c prepares them; the SQL is there too). */
enum {
    Q_META_GET, Q_META_SET, Q_ENROL_FIND, Q_ENROL_ACTIVE, Q_RES_GET, Q_RES_CHILD, Q_RES_REG, Q_RES_INSERT,
    Q_RES_UPDATE, Q_RES_COUNT, Q_RES_CHILDREN, Q_RES_USAGE, Q_RES_STATS, Q_RES_OLDEST, Q_RES_EXPIRE, Q_ENROL_KNOWN,
    Q_RES_EXPIRED, Q_COUNT
};
/* Statement `which`, reset and unbound, ready for this call. */
sqlite3_stmt *m2m_sqlite_stmt(m2m_store *st, int which);
/* One unit of work: BEGIN IMMEDIATE, or a savepoint inside an open transaction (the writer's batch); *sp says
 * which. */
int m2m_sqlite_tx_begin(m2m_store *st, int *sp, m2m_err *err);
int m2m_sqlite_tx_commit(m2m_store *st, int sp, m2m_err *err);
void m2m_sqlite_tx_rollback(m2m_store *st, int sp);

/* The enrolments and ticket keys (sqlite_enrol.c): the operations of store.h's enrolment calls (backend.h). */
int m2m_sqlite_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err);
int m2m_sqlite_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                          m2m_err *err);
int m2m_sqlite_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi,
                         m2m_err *err);
int m2m_sqlite_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key,
                                   const char *key_id, m2m_err *err);
int m2m_sqlite_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                         m2m_err *err);
int m2m_sqlite_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires,
                           m2m_err *err);
int m2m_sqlite_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
int m2m_sqlite_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err);
int m2m_sqlite_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err);
int m2m_sqlite_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err);
int m2m_sqlite_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err);
int m2m_sqlite_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err);
int m2m_sqlite_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err);
int m2m_sqlite_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
int m2m_sqlite_registree_known(m2m_store *st, const char *registree_id, m2m_err *err);
int m2m_sqlite_release_token(m2m_store *st, const char *token_hash, m2m_err *err);
int m2m_sqlite_revoke(m2m_store *st, const char *registree_id, m2m_err *err);
int m2m_sqlite_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max,
                           int *n, m2m_err *err);

/* The resource tree (sqlite_res.c): the operations of store.h's m2m_store_res_* (backend.h). */
int m2m_sqlite_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err);
int m2m_sqlite_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err);
int m2m_sqlite_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count,
                                  int64_t *bytes, m2m_err *err);
int m2m_sqlite_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err);
int m2m_sqlite_res_delete(m2m_store *st, const char *ri, m2m_err *err);
int m2m_sqlite_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed,
                                   m2m_err *err);
int m2m_sqlite_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err);
int m2m_sqlite_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err);
int m2m_sqlite_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err);
int m2m_sqlite_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes,
                                 int64_t min_ct, int *removed, m2m_err *err);
int m2m_sqlite_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err);
int m2m_sqlite_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err);
int m2m_sqlite_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err);

/* The BSF's tables (sqlite_gba.c): the operations of store.h's m2m_store_gba_* (backend.h). */
int m2m_sqlite_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *sub, m2m_err *err);
int m2m_sqlite_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err);
int m2m_sqlite_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only,
                                      m2m_err *err);
int m2m_sqlite_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err);
int m2m_sqlite_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                                   m2m_err *err);
int m2m_sqlite_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err);
int m2m_sqlite_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out,
                                 m2m_err *err);
int m2m_sqlite_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err);

#endif
