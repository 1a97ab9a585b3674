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
};

/* Counters for /metrics and the log; updated with atomic builtins from every worker. */
typedef struct m2m_metrics {
    m2m_tls_counters tls;     /* handshakes by mechanism and kind, refusals (secctx/tls_server.c) */
    unsigned long long requests;
    unsigned long long keys_generated;
    long long open_connections;
} m2m_metrics;

struct worker;

/* One TLS connection. Starts with the security context's state (secctx/tls_conn.h), and lives exactly as long as
 * OpenSSL's SSL: it is freed when OpenSSL frees it. */
typedef struct conn {
    m2m_tls_conn tls;     /* first: m2m_tls_conn_of(ssl) is this connection */
    struct worker *w;
    struct bufferevent *bev;
    int closing;
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
    unsigned ticks;
    m2m_tls_env tls;      /* what this worker's handshakes read: store, PSK cache, ticket keys; wiped with it */
};

struct m2m_registrar {
    m2m_registrar_config cfg;
    SSL_CTX *ctx;
    int port;
    int nworkers;
    struct worker *workers;
    struct m2m_stapler *stapler;
    m2m_metrics metrics;
    struct m2m_admin *admin;
};

/* registrar/admin.c: the admin listener with /metrics (Prometheus text format). */
struct m2m_admin *m2m_admin_start(struct m2m_registrar *reg, m2m_err *err);
int m2m_admin_port(const struct m2m_admin *a);
void m2m_admin_stop(struct m2m_admin *a);
void m2m_metrics_text(const struct m2m_registrar *reg, char *out, size_t cap);

static inline conn *m2m_conn_of(SSL *ssl)
{
    return (conn *)m2m_tls_conn_of(ssl);
}

/* registrar/connections.c */
struct bufferevent *m2m_conn_new(struct event_base *base, void *worker);
void m2m_conn_close(conn *c, const char *why);
void m2m_worker_tick(evutil_socket_t fd, short what, void *arg);

/* registrar/http_adapter.c */
void m2m_http_handle(struct evhttp_request *req, void *worker);

/* registrar/log.c */
void m2m_log(const struct m2m_registrar *reg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
