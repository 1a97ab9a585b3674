/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by the Registrar's files: the server, its workers and their connections. */
#ifndef M2M_REGISTRAR_SERVER_H
#define M2M_REGISTRAR_SERVER_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "m2mattach/registrar.h"
#include "registrar/cse.h"
#include "secctx/gba.h"
#include "secctx/ocsp_staple.h"
#include "secctx/tls_conn.h"
#include "store/store.h"
#include "util/log.h"

struct m2m_registrar_config {
    char db[1024];
    char host[256];
    char port[16];
    int threads;
    int handshake_timeout;
    int idle_timeout;
    FILE *log;
    char cert[1024];          /* Registrar certificate (PEM); "" = PSK only */
    char key[1024];
    char chain[1024];         /* intermediates, without the root */
    char ocsp_response[1024]; /* a DER OCSP response file to staple, re-read when it changes */
    char ocsp_url[1024];      /* or an OCSP responder to fetch it from */
    char ocsp_issuer[1024];   /* the issuer of cert (for the OCSP request); default: first cert of chain */
    int64_t ticket_period;    /* seconds between ticket-key rotations; a key is accepted for two periods */
    int64_t rekey_grace;      /* seconds a generated key may stay unused before the old one is retired */
    char admin_host[256];     /* admin listener (/metrics); "" = off */
    char admin_port[16];
    int max_connections;      /* open connections in all; 0 = from the descriptor limit */
    int max_per_address;      /* open connections from one source address; 0 = no limit */
    int preauth_max;          /* connections not yet bound to a Registree, in all */
    long long preauth_max_bytes; /* request bytes those may hold buffered, in all */
    long long max_resources;  /* per Registree (registrar/quota.h); 0 = no limit */
    long long max_bytes;
    int max_request_rate;     /* per Registree, a second */
    char poa[1024];           /* the CSEBase's pointOfAccess as a JSON array; "" = https://HOST:PORT */
    char app_ids[32][128];    /* --allow-app-id patterns */
    int napp_ids;
    const char *app_id_ptrs[32];
    int64_t reg_lifetime;     /* default expirationTime of a registration, seconds */
    char local_socket[108];   /* same-equipment AEs: a Unix socket path; "" = none (registrar/local_socket.c) */
    m2m_local_ae local_aes[64];
    int nlocal_aes;
    /* x.y.5: the Registrar as NAF; bsf_url "" = no GBA */
    char bsf_url[300];        /* Zn: https://HOST:PORT */
    char bsf_root[1024];      /* the BSF's certificate chains to it */
    char naf_cert[1024];      /* the NAF's client certificate for Zn (subjectAltName DNS = naf_fqdn) */
    char naf_key[1024];
    char naf_fqdn[254];       /* the name devices address this Registrar by: NAF_Id's FQDN */
    int zn_timeout_ms;
    int zn_blocking;          /* diagnostic: Zn inside the PSK callback, blocking the worker (for measurement) */
    char coaps_host[256];     /* the CoAPS (DTLS) listener; "" = none */
    char coaps_port[16];
    int coaps_max_sessions;   /* DTLS sessions in all (they hold no descriptor: a limit of their own) */
};

/* The CoAPS listener's counters (registrar/coap_server.c), beside the HTTPS ones. */
typedef struct m2m_coap_metrics {
    m2m_tls_counters tls;                 /* handshakes by mechanism and kind, refusals */
    unsigned long long requests;
    long long open_sessions;
    long long preauth_sessions;           /* open and not bound to a Registree */
    unsigned long long refused[4];        /* ClientHellos refused or sessions dropped, by M2M_LIMIT_* reason */
    unsigned long long sweeps;            /* libcoap's walks over every session (registrar/coap_sweep.c) */
    unsigned long long sweeps_put_off;    /* walks put off to the end of their period */
    unsigned long long buffers_released;  /* idle sessions whose OpenSSL buffers went back to the kernel */
    unsigned long long write_answers[2];  /* answers that waited for the store: piggybacked, separate */
    unsigned long long duplicates;        /* duplicates of an answered write, answered again (coap_replay.c) */
    long long block2_kept_bytes;          /* block-wise answers kept for their next blocks (coap_block2.c) */
    unsigned long long block2[4];         /* requests for a later block, by M2M_COAP_BLOCK2_* */
} m2m_coap_metrics;

enum {
    M2M_COAP_BLOCK2_KEPT,     /* served from the kept answer */
    M2M_COAP_BLOCK2_AGAIN,    /* a read made again: the answer was not kept (any more) */
    M2M_COAP_BLOCK2_REFUSED,  /* a write's answer no longer kept: 4.08, the write is not run twice */
    M2M_COAP_BLOCK2_NOT_KEPT  /* (not a request) an answer not kept: the worker's budget was used up */
};

/* Counters for /metrics and the log; updated with atomic builtins from every worker. */
typedef struct m2m_metrics {
    m2m_tls_counters tls;     /* handshakes by mechanism and kind, refusals (secctx/tls_server.c) */
    m2m_gba_counters gba;     /* Zn fetches and the Ks_NAF cache (secctx/gba.c, gate.c) */
    unsigned long long requests;
    unsigned long long keys_generated;
    long long open_connections;
    long long preauth_connections;        /* open and not bound to a Registree */
    unsigned long long conn_refused[4];   /* registrar/limits.c: by M2M_LIMIT_* reason */
    unsigned long long accept_errors;     /* accept() failures (descriptor exhaustion and others) */
    m2m_coap_metrics coap;
} m2m_metrics;

struct worker;

/* One TLS connection. Starts with the security context's state (secctx/tls_conn.h), and lives exactly as long as
 * OpenSSL's SSL: it is freed when OpenSSL frees it. */
typedef struct conn {
    m2m_tls_conn tls;     /* first: m2m_tls_conn_of(ssl) is this connection */
    struct worker *w;
    struct bufferevent *bev;
    int closing;
    struct m2m_http_pending *pending; /* registrar/http_adapter.c: the request waiting for its write, if any */
    int admitted;         /* registrar/limits.c: counted against its address (addr_key set) */
    int preauth;          /* counted in the pre-authentication budget */
    unsigned char addr_key[17]; /* family + address, without the port */
    struct conn *admit_next; /* waiting for the admission check */
    struct conn *prev, *next;
    int64_t gen0;            /* the worker's enrolment generation when this connection was accepted */
} conn;

struct worker {
    struct m2m_registrar *reg;
    int index;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener;
    struct event *tick;
    m2m_store *st;
    m2m_cse cse;
    conn *conns;
    int64_t enrol_gen;
    unsigned ticks;
    m2m_tls_env tls;      /* what this worker's handshakes read: store, PSK cache, ticket keys; wiped with it */
    struct event *admit_ev;  /* registrar/limits.c: runs the admission check of new connections */
    conn *admit_queue;
    struct event *resume_accept_ev; /* re-enables the listener after descriptor exhaustion */
    int reserve_fd;          /* a descriptor kept free for the moment the process runs out of them */
    m2m_store_done_queue *done; /* writes of this worker the store's writer has committed */
    struct event *done_ev;      /* made active by the writer's thread: drains done */
    SSL_CTX *ctx;               /* what new TLS connections of this worker use (a reference of its own) */
    SSL_CTX *next_ctx;          /* m2m_registrar_reload: the context to switch to, under reg->reload_mu */
    char next_fp[65];           /* and its certificate's fingerprint, for the tickets it seals */
    struct event *reload_ev;    /* made active by m2m_registrar_reload: switches ctx on this worker's loop */
    struct event *recheck_ev;   /* made active by the store's notifier: an enrolment changed somewhere */
    int store_down;             /* the tick found the store unreachable (logged once) */
    struct evhttp *local_http;  /* registrar/local_socket.c (worker 0 only): same-equipment AEs */
    conn *local_conns;
    int nlocal_conns;
    struct m2m_coap *coap;      /* the CoAPS listener this worker runs (registrar/coap.h); NULL for HTTPS ones */
};

struct m2m_registrar {
    m2m_registrar_config cfg;
    SSL_CTX *ctx;                 /* the newest context (the workers hold their own references) */
    pthread_mutex_t reload_mu;    /* guards the workers' next_ctx */
    struct {                      /* staplers of replaced contexts: stopped, kept for the handshakes under way */
        struct m2m_stapler *stapler;
        long long since;          /* monotonic seconds */
    } retired[8];
    int nretired;
    int port;
    int nworkers;             /* HTTPS workers */
    struct worker *workers;   /* nworkers, then the CoAPS worker if any */
    struct worker *coap_worker;  /* the first CoAPS worker; ncoap of them follow the HTTPS ones in workers[] */
    int ncoap;
    int coaps_port;
    struct m2m_stapler *stapler;
    m2m_metrics metrics;
    struct m2m_admin *admin;
    struct m2m_addr_table *addrs; /* registrar/limits.c: connections per source address */
    m2m_quota quota;              /* per-Registree limits, shared by every worker's CSE */
    m2m_store_writer *writer;     /* the store's writer: group commit of every worker's writes */
    m2m_store_notifier *notifier; /* tells every worker at once when an enrolment changed, on any node */
    int fd_limit;                 /* RLIMIT_NOFILE after start-up */
    long long warn_at[8];         /* rate limit of the limits' warnings (monotonic seconds), by reason */
    unsigned long long warn_skipped[8];
    long long conn_peak;          /* open connections at the last memory trim (worker 0) */
};

/* registrar/admin.c: the admin listener with /metrics (Prometheus text format). */
struct m2m_admin *m2m_admin_start(struct m2m_registrar *reg, m2m_err *err);
int m2m_admin_port(const struct m2m_admin *a);
void m2m_admin_stop(struct m2m_admin *a);
struct evbuffer;
int m2m_metrics_text(const struct m2m_registrar *reg, struct evbuffer *out);

static inline conn *m2m_conn_of(SSL *ssl)
{
    return (conn *)m2m_tls_conn_of(ssl);
}

/* registrar/connections.c */
struct bufferevent *m2m_conn_new(struct event_base *base, void *worker);
void m2m_conn_close(conn *c, const char *why);
void m2m_worker_tick(evutil_socket_t fd, short what, void *arg);
void m2m_worker_recheck(struct worker *w);
/* The one rule of live enrolment, for TLS connections and DTLS sessions alike: 1 when tc's binding stands after the
 * enrolment changes in generations (since, upto] (or tc is bound to nobody yet), 0 when its enrolment was revoked
 * or replaced, -1 when the store could not say (the caller keeps its generation and asks again). */
int m2m_still_enrolled(m2m_store *st, int64_t since, int64_t upto, const m2m_tls_conn *tc);

/* registrar/http_adapter.c */
void m2m_http_handle(struct evhttp_request *req, void *worker);
/* Serves one request of connection c (found by the caller: TLS or local). */
void m2m_http_serve(struct worker *w, conn *c, struct evhttp_request *req);
/* registrar/local_socket.c: the Unix socket for same-equipment AEs, served by worker 0. */
int m2m_local_socket_start(struct worker *w, m2m_err *err);
void m2m_local_socket_stop(struct worker *w);
/* The connection is going away: a request of it still waiting for its write must not answer into it. */
void m2m_http_forget(conn *c);

/* registrar/log.c */
void m2m_log(const struct m2m_registrar *reg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
