/* SPDX-License-Identifier: Apache-2.0 */
/* What the PostgreSQL back-end's files share (pg.c: connection, statements, units of work; pg_schema.c;
 * pg_enrol.c; pg_res.c; pg_gba.c; pg_notify.c). Nothing outside src/store/ includes it. */
#ifndef M2M_STORE_PG_INTERNAL_H
#define M2M_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store/backend.h"

/* How long one statement may take before the store gives up on the connection (it is then reset). A Registrar
 * worker waits this long at most, once per outage: afterwards calls fail at once until the database answers
 * again. Row locks held by another node's batch last milliseconds, far below this. */
#define M2M_PG_CALL_TIMEOUT_MS 2000
/* Prepared statements kept per connection (static SQL only; see pg_q). */
#define M2M_PG_PREPARED_MAX 96
/* The printable form of a location: never its password. */
#define M2M_PG_SAFE_MAX 256

typedef struct pg_store {
    struct m2m_store base; /* first: a m2m_store * is a pg_store * */
    PGconn *conn;
    char *conninfo;        /* what was given (may hold a password: never printed) */
    char safe[M2M_PG_SAFE_MAX]; /* what is printed instead */
    /* statements prepared on this connection: the address of their static SQL text */
    const char *prepared[M2M_PG_PREPARED_MAX];
    int nprepared;
    int broken;            /* the connection failed: reconnect before the next statement */
    unsigned epoch;        /* bumped by every (re)connection */
    unsigned tx_epoch;     /* the connection the open transaction began on */
    int depth;             /* units of work open (1 = the transaction, more = savepoints in it) */
    struct timespec next_retry; /* not before this (a dead database costs one attempt a second, not one a call) */
    struct m2m_store_notifier *notifier; /* enrolment generation without a round trip, while it listens */
} pg_store;
#define PG(st) ((pg_store *)(st))

/* Parameters of one statement: text, NULL, 64-bit integers (as text) or bytes (binary, for bytea). */
#define M2M_PG_PARAMS_MAX 12
typedef struct pg_params {
    int n;
    const char *v[M2M_PG_PARAMS_MAX];
    int len[M2M_PG_PARAMS_MAX];
    int fmt[M2M_PG_PARAMS_MAX];
    char num[M2M_PG_PARAMS_MAX][24];
} pg_params;
void pg_text(pg_params *p, const char *s); /* NULL: SQL NULL */
void pg_int(pg_params *p, int64_t v);
void pg_bytes(pg_params *p, const void *b, size_t len);

/* Runs one statement (static SQL: prepared once per connection and kept) with a deadline. The result (caller
 * PQclears it), or NULL with err: M2M_E_EXISTS for a unique violation, M2M_E_STORE otherwise, the message naming
 * the store and what was being done. */
PGresult *pg_q(pg_store *p, const char *sql, const pg_params *params, const char *what, m2m_err *err);
/* The same for SQL that is not a static string (not prepared). */
PGresult *pg_q_once(pg_store *p, const char *sql, const pg_params *params, const char *what, m2m_err *err);
/* Runs a statement whose rows do not matter; *changed gets the rows it touched (when not NULL). */
int pg_run(pg_store *p, const char *sql, const pg_params *params, const char *what, int *changed, m2m_err *err);
/* Runs SQL text without parameters (several statements allowed: schema, transaction control). */
int pg_exec(pg_store *p, const char *sql, const char *what, m2m_err *err);

/* Closes the connection (it failed): the next statement reconnects, not before a second from now. */
void pg_drop(pg_store *p);
/* Milliseconds until a dropped connection may be tried again (0: now, or connected). */
long pg_ms_until_retry(pg_store *p);

/* Units of work (store.h): a transaction, or a savepoint inside one already open. */
int pg_tx_begin(pg_store *p, int *sp, m2m_err *err);
int pg_tx_commit(pg_store *p, int sp, m2m_err *err);
void pg_tx_rollback(pg_store *p, int sp);

/* Column helpers on a text-format result. */
int64_t pg_col_int(const PGresult *r, int row, int col);
void pg_col_str(const PGresult *r, int row, int col, char *out, size_t cap);
/* A bytea column (text format: \x and hex digits) into out, exactly len bytes; -1 when it is NULL or another
 * length. Wipes the hex text in the result (it is key material). */
int pg_col_bytes(PGresult *r, int row, int col, unsigned char *out, size_t len);
/* A bytea column of up to cap bytes; *len gets its length (0 for NULL). */
int pg_col_bytes_var(PGresult *r, int row, int col, unsigned char *out, size_t cap, size_t *len);
/* PQclear after wiping every value of the result (rows that held keys). */
void pg_clear_wipe(PGresult *r);

/* The schema (pg_schema.c): creates it (create = 1; M2M_E_EXISTS when there is one) or checks and migrates it
 * forward, under an advisory lock so that nodes starting together do not race. */
int pg_schema_open(pg_store *p, int create, m2m_err *err);

/* Enrolment changes: bumps the generation and tells every listening node (NOTIFY, delivered at commit) that
 * registree_id's enrolments changed. Inside the caller's transaction. */
int pg_enrol_changed(pg_store *p, const char *registree_id, m2m_err *err);
#define M2M_PG_CHANNEL "m2m_enrol"
/* pg_notify.c: the generation the notifier has seen, when it is listening (1), else 0. */
int pg_notifier_generation(struct m2m_store_notifier *n, int64_t *gen);
int pg_notifier_changed(struct m2m_store_notifier *n, int64_t since, const char *registree_id);

/* One row of enrolment columns (registree_id, mechanism, key_id, key, created, chain_root, expires, used, pending,
 * impi) into out, the key into its self-wiping buffer. */
int pg_enrolment_row(pg_store *p, PGresult *r, int row, m2m_enrolment *out, m2m_err *err);

/* The operations of each file, for the table in pg.c. */
int pg_set_identity(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err);
int pg_get_identity(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err);
int pg_set_meta(m2m_store *st, const char *key, const char *value, m2m_err *err);
int pg_get_meta(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err);
int pg_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id, m2m_err *err);
int pg_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                  m2m_err *err);
int pg_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err);
int pg_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires, m2m_err *err);
int pg_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err);
int pg_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err);
int pg_release_token(m2m_store *st, const char *token_hash, m2m_err *err);
int pg_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err);
int pg_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
int pg_revoke(m2m_store *st, const char *registree_id, m2m_err *err);
int pg_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err);
int pg_enrol_generation(m2m_store *st, int64_t *gen, m2m_err *err);
int pg_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                           m2m_err *err);
int pg_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
int pg_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err);
int pg_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max, int *n,
                   m2m_err *err);
int pg_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi, m2m_err *err);
int pg_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err);
int pg_registree_known(m2m_store *st, const char *registree_id, m2m_err *err);

int pg_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err);
int pg_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err);
int pg_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err);
int pg_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err);
int pg_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err);
int pg_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err);
int pg_res_delete(m2m_store *st, const char *ri, m2m_err *err);
int pg_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err);
int pg_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err);
int pg_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count, int64_t *bytes,
                          m2m_err *err);
int pg_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes, int64_t min_ct,
                         int *removed, m2m_err *err);
int pg_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err);
int pg_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err);

int pg_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *s, m2m_err *err);
int pg_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err);
int pg_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only, m2m_err *err);
int pg_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err);
int pg_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                           m2m_err *err);
int pg_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err);
int pg_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out, m2m_err *err);
int pg_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err);

#endif
