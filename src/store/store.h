/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar's store: its identity, Step 1 enrolments, and the oneM2M resource tree. One interface over
 * back-ends (backend.h: a table of operations; store.c picks one from the location): SQLite (store/sqlite.c), the
 * embedded one, and PostgreSQL (store/pg*.c), shared by several Registrar nodes. A handle is used by one thread at
 * a time: every Registrar worker opens its own.
 *
 * Reads are synchronous. On SQLite one is an indexed lookup in the page cache, microseconds. On PostgreSQL it is a
 * round trip to the database (tens of microseconds on a local socket, more across a network), bounded by a
 * deadline; what the handshake path asks most often -- whether a cached PSK enrolment is still current -- is
 * answered from memory by the change notifier (below) instead. Every function below commits what it writes before
 * it returns (inside a unit of work: when the unit ends); tools and tests call them directly. The Registrar's
 * request path instead submits its writes as jobs to the store's writer (below), which commits many together and
 * tells each submitter when its write is durable; nothing answers "done" before that. */
#ifndef M2M_STORE_H
#define M2M_STORE_H

#include <stdint.h>
#include "crypto/secret.h"
#include "m2mattach/error.h"

typedef struct m2m_store m2m_store;

#define M2M_ID_MAX 128
#define M2M_RI_MAX 128

/* Opens an existing store (create = 0) or creates a new one (create = 1, fails if it exists). location is a file
 * path or "sqlite:PATH" (SQLite), or a PostgreSQL location: "postgresql://..." or "postgres://..." (libpq's URL) or
 * libpq's "keyword=value ..." form (e.g. "host=db1 dbname=m2m user=registrar"). On PostgreSQL the database must
 * exist; create makes the schema in it. No message ever repeats a location's password. */
m2m_store *m2m_store_open(const char *location, int create, m2m_err *err);
void m2m_store_close(m2m_store *st);
/* location as it may be printed and logged: a PostgreSQL location without its password (as
 * postgresql://USER@HOST:PORT/DB), a path as it is. */
void m2m_store_location_safe(const char *location, char *out, size_t cap);
/* 1 when location names a file (SQLite) that this process may create or remove, 0 for a database server. */
int m2m_store_location_is_file(const char *location);
/* A handle that serves an event loop never waits for a database that went away: while it is unreachable its calls
 * fail at once (M2M_E_STORE) and it reconnects in small non-blocking steps. Without it (tools, the writer) a call
 * may wait for the connection, up to its deadline. */
void m2m_store_set_fail_fast(m2m_store *st, int on);
/* 0 when the handle knows its database is unreachable (its last call failed to reach it), else 1. */
int m2m_store_available(m2m_store *st);
/* Lets a handle whose database went away take the next step of reconnecting, without waiting (an event loop's
 * timer calls it; calls made anyway do the same). */
void m2m_store_poll(m2m_store *st);

/* Calls and their latency, counted per handle for /metrics (every call through store.c; relaxed atomics, so
 * another thread may read them). errors counts M2M_E_STORE failures (not "not found" or "exists"). */
#define M2M_STORE_LAT_BUCKETS 10 /* <= 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 50, 250 ms, more */
typedef struct m2m_store_stats {
    unsigned long long calls, errors, nanos;
    unsigned long long le[M2M_STORE_LAT_BUCKETS];
} m2m_store_stats;
extern const double M2M_STORE_LAT_LE[M2M_STORE_LAT_BUCKETS - 1]; /* bucket bounds, seconds */
void m2m_store_stats_read(m2m_store *st, m2m_store_stats *out);

int m2m_store_set_identity(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err);
int m2m_store_get_identity(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err);
/* Registrar settings kept with the store (e.g. certificate paths). get gives "" when the setting is absent; it
 * fails (-1) when the store cannot be read or the value does not fit in cap, never by truncating it. */
int m2m_store_set_meta(m2m_store *st, const char *key, const char *value, m2m_err *err);
int m2m_store_get_meta(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err);

/* ---- Step 1: enrolment ---- */
/* The credential ID names what the Registree proves possession of, per mechanism: psk = Kca_ID/Kcc_ID (32 hex),
 * cert = SHA-256 of the DER SubjectPublicKeyInfo (64 hex), token = SHA-256 of the token (64 hex). */
#define M2M_CRED_ID_MAX 65
/* GBA: an IMPI (an NAI, TS 23.003 13.3) and a B-TID (base64(RAND) "@" BSF domain) */
#define M2M_IMPI_MAX 256
#define M2M_BTID_MAX 280

typedef struct m2m_enrolment {
    char registree_id[M2M_ID_MAX];
    char mechanism[16];      /* "psk", "cert", "token" */
    char key_id[M2M_CRED_ID_MAX];
    m2m_secret key;          /* psk: filled only by m2m_store_find_psk */
    char *chain_root;        /* cert: PEM of the root a client chain must verify to, or NULL (owned) */
    int64_t created;         /* unix seconds */
    int64_t revoked;         /* 0 = active */
    int64_t expires;         /* token: unix seconds, 0 = never */
    int64_t used;            /* token: when it was used, 0 = unused */
    int pending;             /* psk: a generated key (x.y.8) not yet used; the previous key stays valid meanwhile */
    char impi[M2M_IMPI_MAX]; /* gba: the subscriber's IMPI ("" otherwise) */
} m2m_enrolment;

/* Frees what an enrolment owns and wipes its key. */
void m2m_enrolment_clear(m2m_enrolment *e);

/* Adds a PSK enrolment. An active PSK enrolment for the same ID is replaced (the old one is marked revoked), so a
 * device can be re-keyed; a key whose ID is already enrolled for another Registree is refused. */
int m2m_store_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                        m2m_err *err);
/* Adds a client-certificate enrolment (x.y.6): the Registree is whoever proves possession of the private key of
 * this public-key hash; root_pem (or NULL) is a root its chain must also verify to. Replaces an active cert
 * enrolment of the same ID. */
int m2m_store_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                         m2m_err *err);
int m2m_store_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err);
/* Adds an identity-token enrolment (x.y.7): only the token's SHA-256 is stored. Replaces an active token of the
 * same ID. */
int m2m_store_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires,
                          m2m_err *err);
/* Marks the token with this hash used, atomically, if it is active, unused and unexpired at now. Fills out with
 * the enrolment either way when it exists. Returns 0 when this call consumed it; -1 with M2M_E_NOTFOUND (no such
 * active token), M2M_E_AUTH (used or expired; err says which). */
int m2m_store_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err);
/* The active token enrolment with this hash (used or not, expired or not), or -1 with M2M_E_NOTFOUND. */
int m2m_store_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err);
/* Gives a consumed token back (the registration it was used for did not happen). */
int m2m_store_release_token(m2m_store *st, const char *token_hash, m2m_err *err);
/* Looks an active PSK enrolment up by key ID (the TLS psk_identity). Returns 0 and fills out (wipe out->key
 * after use), or -1 with M2M_E_NOTFOUND. */
int m2m_store_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err);
/* 1 when the enrolment (registree_id, key_id) is still active, 0 when revoked/replaced, -1 on error. */
int m2m_store_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
/* Revokes every active enrolment (all mechanisms) of the Registree and wipes its key material. */
int m2m_store_revoke(m2m_store *st, const char *registree_id, m2m_err *err);
typedef void (*m2m_enrolment_cb)(const m2m_enrolment *e, void *ctx);
/* Lists enrolments (active ones, and revoked ones when include_revoked). Keys and roots are never filled. */
int m2m_store_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err);
/* x.y.5: maps a GBA subscriber (IMPI) to the Registree ID it may register as. impi_id is the credential ID
 * (m2m_gba_impi_id: the SHA-256 of the IMPI in hex); the IMPI itself is kept for listing. Replaces an active gba
 * enrolment of the same ID; an IMPI enrolled for another Registree is refused. */
int m2m_store_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi,
                        m2m_err *err);
int m2m_store_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err);
/* A counter bumped by every enrolment change (enrol, replace, revoke, key promotion), by any process on the store.
 * With a change notifier in use (below) it is read from memory. */
int m2m_store_enrol_generation(m2m_store *st, int64_t *gen, m2m_err *err);

/* ---- live enrolment: change notification ---- */
/* Tells this process when an enrolment changed anywhere (another process, another node). On PostgreSQL: one
 * LISTEN connection, watched by a thread of its own that only waits for notifications and reconnects when the
 * database comes back; on_change(arg) runs on that thread after each change. On SQLite there is nothing to listen
 * to (a commit by any process shows in the generation a handle reads), and on_change is never called. */
typedef struct m2m_store_notifier m2m_store_notifier;
m2m_store_notifier *m2m_store_notifier_start(const char *location, void (*on_change)(void *arg), void *arg,
                                             m2m_err *err);
void m2m_store_notifier_stop(m2m_store_notifier *n);
/* 1 while the notifier listens (always 1 on SQLite). */
int m2m_store_notifier_up(m2m_store_notifier *n);
/* st answers m2m_store_enrol_generation from n while n listens (no round trip), from the database otherwise. n
 * must outlive st's use of it. */
void m2m_store_use_notifier(m2m_store *st, m2m_store_notifier *n);
/* 1 when m2m_store_enrol_generation reflects every committed change the moment it commits (SQLite; PostgreSQL
 * without a notifier, at the cost of a round trip), so that a cache checked against it is exact: a revoke applies
 * to the next lookup. 0 with a notifier, whose generation arrives with the notification (normally well under a
 * millisecond later): good for finding what to re-check, not for trusting a cached key. */
int m2m_store_generation_exact(m2m_store *st);
/* 1 when registree_id's enrolments may have changed in generations (since, upto] (or it cannot tell), 0 when they
 * certainly did not: the open connections to re-check after the generation moved from since to upto (the caller
 * read upto before asking: a later change is the next re-check's). */
int m2m_store_enrol_changed(m2m_store *st, int64_t since, int64_t upto, const char *registree_id);
/* x.y.8: stores a key generated over a session as the Registree's pending PSK (replacing an older pending one).
 * The current key stays valid until m2m_store_promote_psk (first successful handshake with the new key) or
 * m2m_store_expire_pending (grace period over). */
int m2m_store_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key,
                                  const char *key_id, m2m_err *err);
int m2m_store_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err);
/* Promotes every pending key created before older_than; promoted gets the count. */
int m2m_store_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err);

/* x.y.4: ticket keys, shared by every Registrar on the store. */
typedef struct m2m_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    int64_t created;
} m2m_ticket_key;
/* The keys younger than two periods, newest first (at most max). With rotate, first adds a new key when the
 * newest is older than one period, and deletes expired ones. Wipe out after use. */
int m2m_store_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max,
                          int *n, m2m_err *err);

/* ---- reads without waiting (an event loop's) ---- */
/* PostgreSQL: one more connection per event loop, in libpq's pipeline mode, its socket watched by the loop: a read
 * goes out at once, reads asked meanwhile queue behind it on the same connection, and the answers come back in
 * order, each handed to its caller from the loop; the loop serves others while they travel. SQLite has none (its
 * reads are microseconds): m2m_store_reader_open returns NULL with err->code M2M_OK. Only the PSK lookup of a
 * handshake uses it today (secctx/gate.c). */
typedef struct m2m_store_reader m2m_store_reader;
typedef struct m2m_store_read m2m_store_read;
struct event_base;
m2m_store_reader *m2m_store_reader_open(const char *location, struct event_base *base, m2m_err *err);
/* Reads under way are dropped (their done is not called). Before the loop's base is freed. */
void m2m_store_reader_close(m2m_store_reader *r);
/* Reads the active PSK enrolment of key_id, as m2m_store_find_psk does; done(arg, ...) runs later on the loop,
 * never inside this call (e: the enrolment when rc is 0; wipe nothing, it is wiped after done returns). NULL when
 * the reader cannot take it now (not connected, too many under way): the caller reads synchronously. */
typedef void (*m2m_store_psk_done)(void *arg, int rc, const m2m_enrolment *e, const m2m_err *err);
m2m_store_read *m2m_store_read_psk(m2m_store_reader *r, const char *key_id, m2m_store_psk_done done, void *arg);
/* done will not be called (the caller went away); q is freed by the reader. */
void m2m_store_read_cancel(m2m_store_read *q);
/* The reads it served and their latency (from asking to answer), for /metrics. */
void m2m_store_reader_stats(m2m_store_reader *r, m2m_store_stats *out);

/* ---- units of work and asynchronous writes ---- */
/* A unit of work is atomic: its own transaction, or a savepoint inside one already open (a writer's batch), so that
 * a unit that fails undoes only itself. *sp is what m2m_store_unit_end needs; ok = 0 undoes the unit. */
int m2m_store_unit_begin(m2m_store *st, int *sp, m2m_err *err);
int m2m_store_unit_end(m2m_store *st, int sp, int ok, m2m_err *err);

/* Reads are synchronous (see the top of this file). Writes that a request waits for are jobs: submitted by an event
 * loop, run by the store's writer -- a thread with its own handle -- together with every other pending job in one
 * transaction with one commit (group commit: one fsync on SQLite, one round trip and one WAL flush on PostgreSQL),
 * and completed on the submitting loop only once that transaction is durable. A job that fails undoes only
 * itself. */
typedef struct m2m_store_job m2m_store_job;
typedef struct m2m_store_done_queue m2m_store_done_queue;
typedef struct m2m_store_writer m2m_store_writer;
struct m2m_store_job {
    /* On the writer's thread, with its own store handle, inside the batch: 0, or -1 with err. */
    int (*run)(m2m_store *st, m2m_store_job *job, m2m_err *err);
    /* On the submitting loop, after the batch committed (rc 0) or failed (rc -1, err says why). May free job. */
    void (*done)(m2m_store_job *job, int rc, const m2m_err *err);
    /* private to the writer */
    m2m_store_done_queue *queue;
    int rc;
    m2m_err err;
    m2m_store_job *next;
};

/* What the writer did, for /metrics: batches committed, jobs, and a histogram of jobs per batch. */
#define M2M_STORE_BATCH_BUCKETS 10 /* <= 1, 2, 4, ... 256, more */
typedef struct m2m_store_writer_stats {
    unsigned long long commits, jobs, failed;
    unsigned long long batch_le[M2M_STORE_BATCH_BUCKETS];
} m2m_store_writer_stats;

/* Starts the writer of the store at location (its own connection and thread). */
m2m_store_writer *m2m_store_writer_start(const char *location, m2m_err *err);
/* Finishes every job submitted so far (their completions wait in their queues), then stops. */
void m2m_store_writer_stop(m2m_store_writer *w);
void m2m_store_writer_stats_read(m2m_store_writer *w, m2m_store_writer_stats *out);
/* The calls of the writer's own handle (its statements and commits). */
void m2m_store_writer_store_stats(m2m_store_writer *w, m2m_store_stats *out);
/* The completions of one event loop. wake(arg) is called from the writer's thread when one arrives; the loop then
 * calls m2m_store_done_queue_drain. */
m2m_store_done_queue *m2m_store_done_queue_new(void (*wake)(void *arg), void *arg);
void m2m_store_done_queue_free(m2m_store_done_queue *q);
void m2m_store_done_queue_drain(m2m_store_done_queue *q);
/* Submits job. With a writer: asynchronously, done runs later on q's loop. Without (w NULL: tools, tests): runs
 * it now on st in a transaction of its own and calls done before returning. */
void m2m_store_submit(m2m_store_writer *w, m2m_store *st, m2m_store_done_queue *q, m2m_store_job *job);
/* ---- the HSS + BSF simulator (x.y.5; store/sqlite_gba.c) ---- */
typedef struct m2m_gba_subscriber {
    char impi[M2M_IMPI_MAX];
    unsigned char k[16];
    unsigned char opc[16];
    unsigned char amf[2];
    uint64_t sqn;            /* SQN_HE: the last sequence number used in a vector */
    int64_t created;
} m2m_gba_subscriber;
/* Adds a subscriber; -1 with M2M_E_EXISTS when the IMPI is there already. */
int m2m_store_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *s, m2m_err *err);
/* -1 with M2M_E_NOTFOUND when absent. Wipe out after use. */
int m2m_store_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err);
/* Sets SQN_HE: to sqn (a resynchronisation), or with raise_only to sqn only when that is higher (a vector
 * answered: an older challenge answered late never lowers it). */
int m2m_store_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only, m2m_err *err);
/* Removes the subscriber and its bootstrapping records; -1 with M2M_E_NOTFOUND when absent. */
int m2m_store_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err);
/* Lists subscribers (IMPI, SQN, AMF, created); keys are never filled. */
int m2m_store_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                                  m2m_err *err);

typedef struct m2m_gba_bootstrap {
    char btid[M2M_BTID_MAX];
    char impi[M2M_IMPI_MAX];
    unsigned char rand[16];
    unsigned char ks[32];    /* CK || IK */
    int64_t created, expires; /* unix seconds */
} m2m_gba_bootstrap;
/* Records a bootstrapping (replacing a record of the same B-TID). */
int m2m_store_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err);
/* The record of btid valid at now; -1 with M2M_E_NOTFOUND when absent or expired. Wipe out after use. */
int m2m_store_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out, m2m_err *err);
/* Deletes the records expired at now; *removed gets how many. */
int m2m_store_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err);

/* ---- resource tree ---- */
typedef struct m2m_resource {
    char ri[M2M_RI_MAX];
    char pi[M2M_RI_MAX];     /* "" for CSEBase */
    int ty;
    char rn[M2M_RI_MAX];
    char owner[M2M_ID_MAX];  /* the Registree ID that created it ("" for CSEBase) */
    char reg_id[M2M_ID_MAX]; /* for <AE>/<remoteCSE>: the registered Registree ID, else "" */
    char *attrs;             /* JSON object text of the client-settable attributes (owned) */
    int64_t ct, lt;          /* unix seconds */
    int64_t cs;              /* <contentInstance>: content size in bytes (TS-0001 mbs counts it); else 0 */
    int64_t et;              /* expirationTime, unix seconds; 0 = none */
} m2m_resource;

void m2m_resource_clear(m2m_resource *r);
/* Fetch by ri, or by (parent ri, rn). -1 with M2M_E_NOTFOUND when absent. */
int m2m_store_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err);
int m2m_store_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err);
/* The <AE>/<remoteCSE> registration of a Registree ID, if any. */
int m2m_store_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err);
/* Inserts; -1 with M2M_E_EXISTS when (pi, rn) or reg_id is taken. */
int m2m_store_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err);
int m2m_store_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err);
/* Up to max resources whose expirationTime is at or before now, soonest first (ri[0..*n)). */
int m2m_store_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err);
/* Deletes the resource and all its descendants in one transaction. */
int m2m_store_res_delete(m2m_store *st, const char *ri, m2m_err *err);
/* Number of direct children of type ty (e.g. contentInstances in a container). */
int m2m_store_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err);
/* Quotas. What a Registree owns: resources and the bytes of their stored attributes (kept with every change). */
int m2m_store_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err);
/* Number of direct children of type ty created at or after min_ct (0: all), and the sum of their cs. */
int m2m_store_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count,
                                 int64_t *bytes, m2m_err *err);
/* Inserts the leaf r (a <contentInstance>) and, in the same transaction, removes the leaves of its type under the
 * same parent created before min_ct (<= 0: none), then the oldest ones until at most max_count remain and their cs
 * add up to at most max_bytes (<= 0: no limit) -- TS-0001's mia, mni and mbs. *removed gets how many went. */
int m2m_store_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes,
                                int64_t min_ct, int *removed, m2m_err *err);
/* Removes the leaves of type ty under pi created before min_ct (mia, applied on reading too). */
int m2m_store_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed,
                                  m2m_err *err);
/* 1 when the ID was ever enrolled (any mechanism, revoked too), 0 when never, -1 on error. */
int m2m_store_registree_known(m2m_store *st, const char *registree_id, m2m_err *err);
typedef int (*m2m_resource_cb)(const m2m_resource *r, void *ctx);
/* Direct children, oldest first. */
int m2m_store_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err);

#endif
