/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar side of a TLS security context, without sockets or event loops: the per-loop environment the
 * mechanism callbacks read (store, PSK cache, ticket keys, log), and the per-connection state they write
 * (candidates) and binding.c decides from (the binding). The Registrar embeds m2m_tls_conn at the start of its own
 * connection; tests drive the same code through in-memory BIO pairs. */
#ifndef M2M_SECCTX_TLS_CONN_H
#define M2M_SECCTX_TLS_CONN_H

#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "m2mattach/error.h"
#include "secctx/peer.h"
#include "store/store.h"

/* ---- configuration of the server SSL_CTX ---- */
/* The largest DTLS record the server writes: above libcoap's datagram (1152 octets) with room to spare. */
#define M2M_DTLS_MAX_RECORD 1400

typedef struct m2m_tls_server_config {
    const char *cert;          /* Registrar certificate (PEM); NULL or "" = PSK only */
    const char *key;
    const char *chain;         /* intermediates, without the root; may be NULL */
    const char *tls13_suites;  /* NULL = the default (SHA-256 suites only: external PSKs and tickets are SHA-256) */
    int64_t ticket_period;     /* seconds; the session lifetime is two periods */
    int dtls;                  /* a DTLS context: DTLS 1.2 only, the DTLS suites of DESIGN.md section 2 */
    int gba;                   /* a NAF (x.y.5): send the GBA hint */
} m2m_tls_server_config;

/* The server context with every mechanism this Registrar offers. */
SSL_CTX *m2m_tls_server_ctx(const m2m_tls_server_config *cfg, m2m_err *err);
/* The same on a context someone else made (libcoap's DTLS context). Sets no info callback for a DTLS context:
 * its owner chains m2m_tls_info_cb with its own per SSL. */
int m2m_tls_server_setup(SSL_CTX *ctx, const m2m_tls_server_config *cfg, m2m_err *err);
/* The info callback that decides the binding when a handshake completes and logs refusals. */
void m2m_tls_info_cb(const SSL *ssl, int where, int ret);
/* SHA-256 of the context's certificate in hex, "-" without one (tickets carry it). */
void m2m_tls_cert_fingerprint(SSL_CTX *ctx, char out[65]);

/* ---- counters shared by every environment (atomics) ---- */
enum { M2M_MECH_PSK, M2M_MECH_CERT, M2M_MECH_TOKEN, M2M_MECH_GBA, M2M_MECH_COUNT };
int m2m_mech_index(const char *mechanism);
const char *m2m_mech_name(int index);

typedef struct m2m_tls_counters {
    unsigned long long full[M2M_MECH_COUNT];
    unsigned long long resumed[M2M_MECH_COUNT];
    unsigned long long refused;
    unsigned long long unbound; /* handshakes that completed without binding anyone */
} m2m_tls_counters;

/* ---- per event loop ---- */
/* Each loop's cache of the PSK enrolments its handshakes found in the store, so that a Registree re-attaching
 * needs no key lookup. Direct-mapped by key ID; only what the store returned is cached (an unknown identity always
 * asks the store). A hit is used only while the store's enrolment generation -- bumped with every enrol, re-key
 * and revoke, by any process or node -- is the one the entries were read under; a new one empties the cache, keys
 * wiped. The loop's timer also checks once a second (m2m_psk_cache_check), so keys of revoked enrolments do not
 * linger in memory. */
#define M2M_PSK_CACHE_SLOTS 1024
typedef struct m2m_psk_entry {
    char key_id[M2M_CRED_ID_MAX]; /* "" = free slot */
    char registree_id[M2M_ID_MAX];
    m2m_secret key;
    int pending;
} m2m_psk_entry;
typedef struct m2m_psk_cache {
    int have_gen;
    int64_t gen;
    int count;
    m2m_psk_entry slot[M2M_PSK_CACHE_SLOTS];
} m2m_psk_cache;

/* Each loop's memory of the enrolments its resumptions found active (resume.c), under the same rule as the PSK
 * cache: an entry counts only while the store's enrolment generation is the one it was found under (exact stores
 * only), so a revoke by anyone applies to the very next resumption. Direct-mapped. */
#define M2M_ACTIVE_CACHE_SLOTS 512
typedef struct m2m_active_entry {
    char registree_id[M2M_ID_MAX]; /* "" = free */
    char enrol_id[M2M_CRED_ID_MAX];
} m2m_active_entry;
typedef struct m2m_active_cache {
    int have_gen;
    int64_t gen;
    m2m_active_entry slot[M2M_ACTIVE_CACHE_SLOTS];
} m2m_active_cache;

#define M2M_TICKET_KEYS 4

struct m2m_gba_naf; /* secctx/gba.h */

/* Same-equipment AEs (seed note on Step 5): a local user ID and the AE-ID its processes speak as. */
typedef struct m2m_local_ae {
    unsigned uid;
    char ae_id[M2M_ID_MAX];
} m2m_local_ae;

typedef struct m2m_tls_env {
    m2m_store *st;
    FILE *log;                      /* NULL = no log */
    char cert_fp[65];               /* m2m_tls_cert_fingerprint of the server context */
    int64_t ticket_period;
    m2m_tls_counters *counters;     /* may be NULL */
    m2m_ticket_key keys[M2M_TICKET_KEYS]; /* newest first */
    int nkeys;
    int rotating;                   /* a rotation job is with the writer */
    m2m_store_writer *writer;       /* where this loop's writes go; NULL = at once (tests) */
    m2m_store_done_queue *queue;    /* this loop's completions */
    m2m_psk_cache psk_cache;
    m2m_active_cache active_cache;  /* resume.c */
    struct m2m_gba_naf *gba;        /* x.y.5: this loop's NAF (Ks_NAF cache, Zn client); NULL = no GBA */
    m2m_store_reader *reader;       /* reads without waiting (PostgreSQL); NULL = synchronous reads (SQLite) */
    const m2m_local_ae *local_aes;  /* --local-ae: who may speak on the Unix socket, and as whom */
    int nlocal_aes;
    const char *binding;            /* "https" or "coap": in every log line of a handshake; NULL = not said */
} m2m_tls_env;

/* Wipes the keys and the cache. */
void m2m_tls_env_clear(m2m_tls_env *env);
/* Reads the ticket keys from the store (a read: synchronous). */
void m2m_tls_env_read_keys(m2m_tls_env *env);
/* When the newest key is a period old: has the writer add a new one (any node may; the store makes one do it) and
 * takes the keys when that is committed. At most one such job at a time. */
void m2m_tls_env_rotate_keys(m2m_tls_env *env);
/* Empties the PSK cache if the store's enrolments changed. */
void m2m_psk_cache_check(m2m_tls_env *env);

/* ---- per connection ---- */
/* What a mechanism callback saw, before the handshake proved anything. */
typedef enum m2m_cand_kind { M2M_CAND_FREE, M2M_CAND_PSK, M2M_CAND_CERT, M2M_CAND_TICKET, M2M_CAND_GBA } m2m_cand_kind;
typedef struct m2m_candidate {
    m2m_cand_kind kind;
    m2m_peer peer;     /* the binding this credential would give */
    int pending;       /* PSK: a generated key (x.y.8) not used before */
    /* GBA: a PSK too (Ks_NAF for one B-TID and NAF_Id); peer.key_id names the B-TID, peer.enrol_id the IMPI */
    int version;       /* TICKET: the protocol version it was issued under */
    int suite;         /* TICKET: TLS 1.2 cipher suite ID, or TLS 1.3 handshake digest NID */
} m2m_candidate;

/* How the binding was proved. */
typedef enum m2m_proof {
    M2M_PROOF_NONE,      /* unbound */
    M2M_PROOF_FULL,      /* a full handshake proved the PSK or the client certificate's key */
    M2M_PROOF_RESUMED,   /* a resumed session carried a binding proved earlier */
    M2M_PROOF_TOKEN,     /* an identity token in Step 5 over this connection */
    M2M_PROOF_LOCAL      /* same equipment: the kernel's SO_PEERCRED uid on a Unix socket names the AE */
} m2m_proof;

/* A ClientHello may make OpenSSL call the callbacks several times (TLS 1.3 offers a list of identities, and a
 * HelloRetryRequest repeats it); more than this many credentials in one handshake are refused unexamined. */
#define M2M_TLS_CANDIDATES 6

/* What only the handshake needs: the callbacks' candidates and why a mechanism refused. Freed, wiped, as soon as the
 * handshake's outcome is logged, so an idle attached connection does not carry ~2 KiB it no longer needs. */
/* A PSK enrolment the gate (gate.c) read without blocking the loop, while it held the message naming the key ID
 * back from OpenSSL: read during this handshake, so as current as a lookup made in the callback. */
typedef struct m2m_psk_prefetch {
    int have;            /* key_id was read: rc and e (or code) say what the store answered */
    int rc;
    m2m_code code;
    char msg[256];       /* why not, when rc is -1 */
    m2m_psk_entry e;     /* e.key_id: the identity asked for */
} m2m_psk_prefetch;

typedef struct m2m_tls_hs {
    m2m_psk_prefetch prefetch;
    int lookups;         /* credential lookups this handshake made (bounded) */
    int ncand;
    m2m_candidate cand[M2M_TLS_CANDIDATES];
    char failure[256];   /* why a mechanism refused, or why nothing was bound, for the log line */
} m2m_tls_hs;

typedef struct m2m_tls_conn m2m_tls_conn;
struct m2m_tls_conn {
    m2m_tls_env *env;
    SSL *ssl;
    m2m_peer peer;       /* the binding: written by binding.c alone; "" = unbound */
    m2m_proof proof;
    int established;     /* the handshake completed and the binding was decided */
    int reused;          /* OpenSSL resumed a session (a ticket, or a TLS 1.3 external PSK) */
    int pending_key;     /* bound by a generated key (x.y.8) not used before: promote it */
    int refused;         /* m2m_tls_conn_refused said so already */
    m2m_tls_hs *hs;      /* during the handshake only (NULL once it is logged) */
    char addr[64];       /* peer address, "?" until known */
    struct timespec t0;  /* accepted */
    size_t size;         /* of the whole allocation (the owner's struct) */
    void (*on_free)(m2m_tls_conn *tc); /* the owner's clean-up, called when OpenSSL frees the SSL */
    void (*on_established)(m2m_tls_conn *tc); /* the owner's, after the binding was decided; may be NULL */
    /* x.y.5 (gate.c): how the owner makes its event loop run this handshake again; NULL = no asynchronous Zn */
    void (*wake)(void *wake_arg);
    void *wake_arg;
    int gate_attached;   /* gate.c sits under the SSL (for Zn, or to read PSK enrolments ahead) */
    int gated;           /* ... and asks Zn: the PSK callback must not block on Zn */
    int local_fd;        /* a same-equipment connection (ssl NULL): its Unix socket; else -1 */
};

/* Allocates size (>= sizeof(m2m_tls_conn)) zeroed bytes, the owner's struct starting with an m2m_tls_conn, and
 * ties it to ssl: it is freed (on_free first) exactly when OpenSSL frees the SSL. NULL on failure. */
m2m_tls_conn *m2m_tls_conn_new(SSL *ssl, m2m_tls_env *env, size_t size, void (*on_free)(m2m_tls_conn *tc));
m2m_tls_conn *m2m_tls_conn_of(const SSL *ssl);
/* A same-equipment connection on a Unix socket: no SSL; the owner frees it with m2m_tls_conn_free_local (on_free
 * first). Bind it with m2m_bind_decide(tc, NULL), which asks the kernel who is at the other end. */
m2m_tls_conn *m2m_tls_conn_new_local(int fd, m2m_tls_env *env, size_t size, void (*on_free)(m2m_tls_conn *tc));
void m2m_tls_conn_free_local(m2m_tls_conn *tc);
/* Frees the handshake's state (tc->hs), wiped; the callbacks then refuse anything offered (there is no second
 * handshake: renegotiation is off). Called once the handshake's outcome is logged, and when the SSL is freed. */
void m2m_tls_conn_handshake_over(m2m_tls_conn *tc);
/* Fills addr from the SSL's socket, once (fill_addr), or from an address the caller already has (set_addr). */
struct sockaddr;
void m2m_tls_conn_set_addr(m2m_tls_conn *tc, const struct sockaddr *sa);
void m2m_tls_conn_fill_addr(m2m_tls_conn *tc);
/* A handshake that will not complete (an alert was sent, or it timed out): counted and logged once, with what was
 * offered (nothing of it proved) and why. */
void m2m_tls_conn_refused(m2m_tls_conn *tc, const char *what);
/* The operations the CSE may use on this connection (export, key-generation rule, token binding). */
void m2m_tls_conn_secctx(m2m_tls_conn *tc, m2m_secctx *out);
/* The session ex_data slot that ties a session OpenSSL may resume to the candidate that vouched for it. */
int m2m_tls_session_index(void);

#endif
