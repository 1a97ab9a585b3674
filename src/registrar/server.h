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
#include "secctx/ocsp_staple.h"
#include "store/store.h"

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
};

/* Counters for /metrics and the log; updated with atomic builtins from every worker. */
enum { M2M_MECH_PSK, M2M_MECH_CERT, M2M_MECH_TOKEN, M2M_MECH_COUNT };
typedef struct m2m_metrics {
    unsigned long long full[M2M_MECH_COUNT];
    unsigned long long resumed[M2M_MECH_COUNT];
    unsigned long long refused;
    unsigned long long requests;
    unsigned long long keys_generated;
    long long open_connections;
} m2m_metrics;
int m2m_mech_index(const char *mechanism);
const char *m2m_mech_name(int index);

struct worker;
#define M2M_TICKET_KEYS 4

/* secctx/psk.c: each worker's cache of the PSK enrolments its handshakes found in the store, so that a Registree
 * re-attaching needs no store transaction in its handshake. Direct-mapped by key ID; only what the store returned
 * is cached (an unknown identity always asks the store). A hit is used only while the store is provably unchanged
 * since the enrolment generation was last read: the SQLite write-ahead log (every commit, from any process,
 * writes it) has the same inode, size and times. Otherwise the generation is read again, and a new one empties
 * the cache, keys wiped; the worker tick reads it every second whatever the file says. */
#define M2M_PSK_CACHE_SLOTS 1024
typedef struct m2m_psk_entry {
    char key_id[M2M_CRED_ID_MAX]; /* "" = free slot */
    char registree_id[M2M_ID_MAX];
    m2m_secret key;
    int pending;
} m2m_psk_entry;
typedef struct m2m_psk_cache {
    char wal[1040];      /* the store's write-ahead log; "" until first used */
    int have_sig;        /* wal_sig and gen belong together */
    struct stat wal_sig; /* the log as seen just before gen was read */
    int64_t gen;         /* the store's enrolment generation the entries were read under */
    int count;           /* occupied slots */
    m2m_psk_entry slot[M2M_PSK_CACHE_SLOTS];
} m2m_psk_cache;

/* One TLS connection. Lives in SSL ex_data, so it is freed exactly when OpenSSL frees the SSL. */
typedef struct conn {
    struct worker *w;
    SSL *ssl;
    struct bufferevent *bev;
    m2m_peer peer;        /* set by the mechanism that authenticated the Registree; "" = unbound */
    int established;      /* 1 once the handshake completed */
    int resumed;          /* the handshake resumed a ticket (x.y.4) */
    int psk_pending;      /* authenticated with a generated key not used before: promote it (x.y.8) */
    int closing;
    char failure[128];    /* why the mechanism refused, for the log line */
    char addr[64];        /* peer address */
    struct timespec t0;   /* accepted */
    struct conn *prev, *next;
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
    int64_t data_version;
    int64_t enrol_gen;
    m2m_ticket_key keys[M2M_TICKET_KEYS]; /* this worker's copy of the ticket keys, newest first */
    int nkeys;
    unsigned ticks;
    m2m_psk_cache psk_cache; /* wiped with the worker */
};

struct m2m_registrar {
    m2m_registrar_config cfg;
    SSL_CTX *ctx;
    int port;
    int nworkers;
    struct worker *workers;
    struct m2m_stapler *stapler;
    char cert_fp[65];             /* SHA-256 of the Registrar certificate, "-" without one (tickets carry it) */
    m2m_metrics metrics;
    struct m2m_admin *admin;
};

/* secctx/resume.c */
void m2m_resume_install(SSL_CTX *ctx, int64_t period);
void m2m_resume_refresh_keys(struct worker *w, int rotate);
void m2m_resume_set_cert(struct m2m_registrar *reg);

/* registrar/admin.c: the admin listener with /metrics (Prometheus text format). */
struct m2m_admin *m2m_admin_start(struct m2m_registrar *reg, m2m_err *err);
int m2m_admin_port(const struct m2m_admin *a);
void m2m_admin_stop(struct m2m_admin *a);
void m2m_metrics_text(const struct m2m_registrar *reg, char *out, size_t cap);

/* secctx/tls_server.c: the server SSL_CTX with every mechanism this Registrar offers. */
SSL_CTX *m2m_tls_server_ctx(const m2m_registrar_config *cfg, m2m_err *err);
int m2m_conn_ex_index(void);
conn *m2m_conn_of(SSL *ssl);

/* secctx/psk.c: the TLS-PSK mechanism (x.y.2, x.y.3). */
void m2m_psk_install(SSL_CTX *ctx);
/* The first successful handshake with a generated key makes it the current one and retires the old key. */
void m2m_psk_promote(conn *c);
/* Once a second per worker: empties its PSK cache if the store's enrolments changed. */
void m2m_psk_cache_check(struct worker *w);
/* secctx/cert.c: the Registrar certificate and client certificates (x.y.6); a no-op without cfg->cert. */
int m2m_cert_install(SSL_CTX *ctx, const m2m_registrar_config *cfg, m2m_err *err);

/* registrar/connections.c */
struct bufferevent *m2m_conn_new(struct event_base *base, void *worker);
void m2m_conn_close(conn *c, const char *why);
void m2m_conn_fill_addr(conn *c);
void m2m_worker_tick(evutil_socket_t fd, short what, void *arg);

/* registrar/http_adapter.c */
void m2m_http_handle(struct evhttp_request *req, void *worker);

/* registrar/log.c */
void m2m_log(const struct m2m_registrar *reg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double m2m_ms_since(const struct timespec *t0);

#endif
