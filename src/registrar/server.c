/* SPDX-License-Identifier: Apache-2.0 */
/* Starting and stopping the Registrar: one worker thread per core, each with its own event loop, its own store
 * connection and its own SO_REUSEPORT listening socket on the shared port, so workers never contend. */
#include <event2/thread.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/load.h"
#include "registrar/coap.h"
#include "registrar/listen_guard.h"
#include "registrar/limits.h"
#include "registrar/server.h"
#include "secctx/gate.h"


/* Records a certificate path for `serve`, absolute so serve may run from anywhere. */
static int record_path(m2m_store *st, const char *key, const char *path, m2m_err *err)
{
    char abs[4096];
    if (path == NULL || *path == '\0')
        return 0;
    if (realpath(path, abs) == NULL)
        return m2m_fail(err, M2M_E_ARG, "%s: %s", path, strerror(errno));
    return m2m_store_set_meta(st, key, abs, err);
}

int m2m_registrar_init_store(const char *db_path, const char *cse_id, const char *cse_name, const char *sp_id,
                             const char *cert, const char *key, const char *chain, m2m_err *err)
{
    m2m_store *st;
    int rc;
    m2m_registrar_config probe;
    if (cse_id == NULL || cse_id[0] != '/' || strlen(cse_id) < 2 || strchr(cse_id + 1, '/') != NULL)
        return m2m_fail(err, M2M_E_ARG, "--cse-id '%s': a CSE-ID is one '/' followed by a name, e.g. /in-cse",
                        cse_id ? cse_id : "");
    if (cse_name == NULL || cse_name[0] == '\0' || strchr(cse_name, '/') != NULL || strlen(cse_name) > 64)
        return m2m_fail(err, M2M_E_ARG, "--cse-name '%s': a CSEBase name has no '/' and at most 64 characters",
                        cse_name ? cse_name : "");
    if (sp_id != NULL && (sp_id[0] == '\0' || strlen(sp_id) > 253 || strspn(sp_id,
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(sp_id)))
        return m2m_fail(err, M2M_E_ARG, "--sp-id '%s': an SP-ID is a domain name, e.g. m2m.example.com", sp_id);
    memset(&probe, 0, sizeof probe);
    if (m2m_registrar_config_set_cert(&probe, cert, key, chain, err) != 0)
        return -1;
    st = m2m_store_open(db_path, 1, err);
    if (st == NULL)
        return -1;
    rc = m2m_store_set_identity(st, cse_id, cse_name, err);
    if (rc == 0 && sp_id != NULL)
        rc = m2m_store_set_meta(st, "sp_id", sp_id, err);
    if (rc == 0)
        rc = record_path(st, "tls_cert", cert, err) || record_path(st, "tls_key", key, err) ||
             record_path(st, "tls_chain", chain, err) ? -1 : 0;
    m2m_store_close(st);
    if (rc != 0 && m2m_store_location_is_file(db_path))
        unlink(db_path); /* a half-made file; a database server keeps what it committed (the schema) */
    return rc;
}

/* HTTPS workers and the CoAPS ones (when configured: they exist from the start, before they are set up). */
static int nthreads(const struct m2m_registrar *reg)
{
    return reg->nworkers + reg->ncoap;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    m2m_limits_enter_worker(w);
    event_base_dispatch(w->base);
    return NULL;
}

/* The store's writer committed some of this worker's writes: answer their requests, on this loop. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd, (void)what;
    m2m_store_done_queue_drain(w->done);
}

/* From the writer's thread (libevent is set up for threads: event_active is safe there). */
static void wake_worker(void *arg)
{
    struct worker *w = arg;
    event_active(w->done_ev, EV_READ, 1);
}

/* m2m_registrar_reload handed this worker a new TLS context: connections accepted from now on use it; those open
 * keep the context they were made with (OpenSSL counts its references: the old one goes with the last of them). */
static void reload_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    SSL_CTX *next;
    (void)fd, (void)what;
    pthread_mutex_lock(&w->reg->reload_mu);
    next = w->next_ctx;
    w->next_ctx = NULL;
    if (next != NULL)
        memcpy(w->tls.cert_fp, w->next_fp, sizeof w->tls.cert_fp);
    pthread_mutex_unlock(&w->reg->reload_mu);
    if (next == NULL)
        return;
    SSL_CTX_free(w->ctx);
    w->ctx = next;
    if (w->coap != NULL) {
        if (m2m_coap_reload(w->coap, next) == 0)
            m2m_log(w->reg, "reload: CoAPS worker %d presents sha256=%s to new DTLS sessions", w->index,
                    w->tls.cert_fp);
        else
            m2m_log(w->reg, "reload: CoAPS worker %d could not take the new certificate (OpenSSL refused a "
                    "certificate, key and chain the reload had checked: out of memory?); reload again", w->index);
    }
}

/* From the store's notifier thread: an enrolment changed (on any node). */
static void notify_workers(void *arg)
{
    struct m2m_registrar *reg = arg;
    for (int i = 0; i < nthreads(reg); i++)
        if (reg->workers[i].recheck_ev != NULL)
            event_active(reg->workers[i].recheck_ev, EV_READ, 1);
}

static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    m2m_worker_recheck(arg);
}

static void worker_free(struct worker *w)
{
    /* every write of this worker was committed or failed (the writer has stopped): their answers go out into
     * connections that still exist, before evhttp frees them */
    m2m_store_done_queue_free(w->done);
    m2m_coap_free(w->coap); /* its sessions and libcoap's context, on this worker's loop */
    w->coap = NULL;
    if (w->done_ev)
        event_free(w->done_ev);
    if (w->recheck_ev)
        event_free(w->recheck_ev);
    if (w->tick)
        event_free(w->tick);
    m2m_limits_worker_free(w);
    m2m_local_socket_stop(w);
    if (w->http)
        evhttp_free(w->http); /* frees its listener and every open connection */
    else if (w->listener)
        evconnlistener_free(w->listener);
    if (w->reload_ev)
        event_free(w->reload_ev);
    SSL_CTX_free(w->next_ctx);
    SSL_CTX_free(w->ctx); /* after the connections, which hold references of their own */
    /* after the connections (and their gates), before the loop: Zn requests and store reads under way end here */
    if (w->tls.gba != NULL)
        m2m_gate_cancel_all(w->tls.gba);
    m2m_store_reader_close(w->tls.reader);
    w->tls.reader = NULL;
    if (w->base)
        event_base_free(w->base);
    m2m_gba_naf_free(w->tls.gba);
    w->tls.gba = NULL;
    m2m_store_close(w->st);
    m2m_tls_env_clear(&w->tls);
    OPENSSL_cleanse(w, sizeof *w);
}

/* A worker's event loop. With the epoll changelist, the several enable/disable calls that bufferevent_openssl and
 * evhttp make on a socket during one callback (about ten per short connection) collapse into at most one
 * epoll_ctl per socket per loop iteration. The changelist's known caveat is dup()ed descriptors sharing one
 * epoll entry; the Registrar never dup()s a socket. */
static struct event_base *worker_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base = NULL;
    if (cfg != NULL) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    return base != NULL ? base : event_base_new();
}

/* What every worker has, whichever binding it serves: its store connection and CSE, its TLS environment (store,
 * PSK cache, ticket keys), its event loop, its store completions and its timer. */
static int worker_core(struct m2m_registrar *reg, struct worker *w, int gba, m2m_err *err)
{
    struct timeval one = {1, 0};

    w->reg = reg;
    w->index = (int)(w - reg->workers);
    w->st = m2m_store_open(reg->cfg.db, 0, err);
    if (w->st == NULL || m2m_cse_init(&w->cse, w->st, err) != 0)
        return -1;
    /* this handle serves an event loop: it never waits for a database that went away */
    m2m_store_set_fail_fast(w->st, 1);
    m2m_store_use_notifier(w->st, reg->notifier);
    w->cse.quota = &reg->quota;
    w->cse.reg_lifetime = reg->cfg.reg_lifetime;
    for (int i = 0; i < reg->cfg.napp_ids; i++)
        reg->cfg.app_id_ptrs[i] = reg->cfg.app_ids[i];
    w->cse.app_ids = reg->cfg.app_id_ptrs;
    w->cse.napp_ids = reg->cfg.napp_ids;
    w->tls.st = w->st;
    w->tls.log = reg->cfg.log;
    w->tls.ticket_period = reg->cfg.ticket_period;
    w->tls.counters = &reg->metrics.tls;
    w->tls.binding = "https";
    SSL_CTX_up_ref(reg->ctx);
    w->ctx = reg->ctx;
    m2m_tls_cert_fingerprint(w->ctx, w->tls.cert_fp);
    if (gba && reg->cfg.bsf_url[0] != '\0') {
        /* x.y.5: each worker its own Ks_NAF cache and Zn client (and TLS session with the BSF) */
        m2m_zn_client *zn = m2m_zn_client_new(reg->cfg.bsf_url, reg->cfg.bsf_root, reg->cfg.naf_cert,
                                              reg->cfg.naf_key, reg->cfg.zn_timeout_ms, err);
        if (zn == NULL || (w->tls.gba = m2m_gba_naf_new(reg->cfg.naf_fqdn, zn, err)) == NULL) {
            m2m_zn_client_free(zn);
            return -1;
        }
        w->tls.gba->counters = &reg->metrics.gba;
        w->tls.gba->log = reg->cfg.log;
        w->tls.gba->blocking = reg->cfg.zn_blocking;
    }
    if (m2m_store_enrol_generation(w->st, &w->enrol_gen, err) != 0)
        return -1;
    w->base = worker_base();
    if (w->base == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "cannot create an event loop");
    if (w->tls.gba != NULL)
        w->tls.gba->base = w->base;
    /* Ticket keys exist before the first handshake: worker 0 creates them if the store has none. */
    if (w->index == 0)
        m2m_tls_env_rotate_keys(&w->tls); /* no writer yet: at once, before any handshake */
    m2m_tls_env_read_keys(&w->tls);
    if (w->tls.nkeys == 0) {
        char safe[256];
        m2m_store_location_safe(reg->cfg.db, safe, sizeof safe);
        return m2m_fail(err, M2M_E_STORE, "no session-ticket key could be read or created in %s", safe);
    }
    /* from here on every write of this worker goes to the store's writer */
    w->done = m2m_store_done_queue_new(wake_worker, w);
    w->done_ev = event_new(w->base, -1, 0, done_cb, w);
    w->recheck_ev = event_new(w->base, -1, 0, recheck_cb, w);
    if (w->done == NULL || w->done_ev == NULL || w->recheck_ev == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "cannot set up the worker's store completions");
    w->tls.writer = w->cse.writer = reg->writer;
    w->tls.queue = w->cse.queue = w->done;
    w->cse.log = reg->cfg.log;
    /* every worker takes a reloaded certificate on its own loop, a CoAPS worker into libcoap's DTLS context too */
    if ((w->reload_ev = event_new(w->base, -1, 0, reload_cb, w)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "cannot set up the worker's certificate reload");
    w->tick = event_new(w->base, -1, EV_PERSIST, m2m_worker_tick, w);
    if (w->tick == NULL || event_add(w->tick, &one) != 0)
        return m2m_fail(err, M2M_E_NOMEM, "cannot start the worker timer");
    return 0;
}

/* An HTTPS worker: its own SO_REUSEPORT listener on the shared port, evhttp on it. */
static int worker_setup(struct m2m_registrar *reg, struct worker *w, const struct addrinfo *ai, const char *port,
                        m2m_err *err)
{
    if (worker_core(reg, w, 1, err) != 0)
        return -1;
    /* a store whose reads are round trips (PostgreSQL): the handshakes' PSK lookups go through this, on the loop,
     * while the gate (secctx/gate.c) holds the hello back; SQLite has none */
    if ((w->tls.reader = m2m_store_reader_open(reg->cfg.db, w->base, err)) == NULL && err->code != M2M_OK)
        return -1;
    w->http = evhttp_new(w->base);
    if (w->http == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "cannot create an event loop");
    w->listener = evconnlistener_new_bind(w->base, NULL, NULL,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT |
                                              LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
                                          1024, ai->ai_addr, (int)ai->ai_addrlen);
    if (w->listener == NULL)
        return m2m_fail(err, M2M_E_IO, "cannot listen on %s:%s: %s", reg->cfg.host, port,
                        evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    if (evhttp_bind_listener(w->http, w->listener) == NULL)
        return m2m_fail(err, M2M_E_IO, "cannot attach HTTP to the listener");
    evhttp_set_bevcb(w->http, m2m_conn_new, w);
    evhttp_set_gencb(w->http, m2m_http_handle, w);
    /* Every connection starts with the small limits of an unbound context (limits.h); binding raises them. */
    evhttp_set_max_headers_size(w->http, M2M_PREAUTH_MAX_HEADERS);
    evhttp_set_max_body_size(w->http, M2M_PREAUTH_MAX_BODY);
    if (m2m_limits_worker_init(w, err) != 0 || m2m_local_socket_start(w, err) != 0)
        return -1;
    evhttp_set_timeout(w->http, reg->cfg.idle_timeout);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    return 0;
}

/* A CoAPS worker: a loop of its own beside the HTTPS ones, with a UDP socket of its own on the shared port
 * (SO_REUSEPORT: the kernel keeps each device's address and port on one socket, so each DTLS session and its
 * cookie stay with one worker; coap_endpoint.c). A NAF like the HTTPS ones (its own Ks_NAF cache and Zn client;
 * Zn runs on its loop, coap_intake.c). The first worker's port (for :0, the one the kernel picked) is the one the
 * others join. */
static int coap_worker_setup(struct m2m_registrar *reg, struct worker *w, m2m_err *err)
{
    char port[16];
    if (worker_core(reg, w, 1, err) != 0)
        return -1;
    w->tls.binding = "coap";
    w->tls.counters = &reg->metrics.coap.tls;
    if (reg->coap_worker == NULL)
        snprintf(port, sizeof port, "%s", reg->cfg.coaps_port);
    else
        snprintf(port, sizeof port, "%d", reg->coaps_port);
    w->coap = m2m_coap_start(w, reg->cfg.coaps_host, port, err);
    if (w->coap == NULL)
        return -1;
    if (reg->coap_worker == NULL) {
        reg->coap_worker = w;
        reg->coaps_port = m2m_coap_port(w->coap);
    }
    return 0;
}

static int bound_port(struct evconnlistener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss); /* what getsockname leaves unfilled reads as 0, never as garbage */
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* `registrar init --cert ...` recorded where the certificate lives; command-line paths win. A recorded file that
 * cannot be read stops the start, naming it: serving on without it would quietly drop certificate and token
 * attachment and leave only TLS-PSK. */
static int load_recorded_cert(m2m_registrar_config *cfg, m2m_err *err)
{
    static const char *const setting[3] = {"tls_cert", "tls_key", "tls_chain"};
    static const char *const what[3] = {"certificate", "private key", "certificate chain"};
    char path[3][sizeof cfg->cert], safe[256];
    m2m_err why = {0};
    m2m_store *st;
    int rc = -1;

    if (cfg->cert[0] != '\0')
        return 0;
    m2m_store_location_safe(cfg->db, safe, sizeof safe);
    st = m2m_store_open(cfg->db, 0, err);
    if (st == NULL)
        return -1;
    for (int i = 0; i < 3; i++) {
        int fd;
        if (m2m_store_get_meta(st, setting[i], path[i], sizeof path[i], err) != 0)
            goto done;
        if (path[i][0] == '\0')
            continue;
        if ((fd = open(path[i], O_RDONLY | O_CLOEXEC)) < 0) {
            m2m_fail(err, M2M_E_IO, "the Registrar %s that 'registrar init' recorded in %s cannot be read: %s: %s "
                     "(put it back, or give serve --cert and --key)", what[i], safe, path[i], strerror(errno));
            goto done;
        }
        close(fd);
    }
    if (m2m_registrar_config_set_cert(cfg, path[0], path[1], path[2], &why) != 0) {
        m2m_fail(err, why.code, "the certificate paths that 'registrar init' recorded in %s: %s", safe, why.msg);
        goto done;
    }
    rc = 0;
done:
    m2m_store_close(st);
    return rc;
}

/* OCSP stapling for the certificate of ctx (at start, and for each reloaded one): *out is the running stapler, or
 * NULL when none is configured. */
static int setup_stapling(struct m2m_registrar *reg, SSL_CTX *ctx, struct m2m_stapler **out, m2m_err *err)
{
    X509 *leaf, *issuer = NULL;
    STACK_OF(X509) *chain = NULL;
    struct m2m_stapler *stapler = NULL;
    int rc = -1;

    *out = NULL;
    if (reg->cfg.ocsp_response[0] == '\0' && reg->cfg.ocsp_url[0] == '\0')
        return 0;
    leaf = SSL_CTX_get0_certificate(ctx);
    if (leaf == NULL)
        return m2m_fail(err, M2M_E_ARG, "OCSP stapling needs a Registrar certificate (--cert)");
    if (reg->cfg.ocsp_issuer[0] != '\0') {
        m2m_loaded got;
        m2m_err why = {0};
        if (m2m_load_file(reg->cfg.ocsp_issuer, &got, &why) != 0)
            return m2m_fail(err, why.code, "--ocsp-issuer %s", why.msg);
        issuer = got.certs != NULL ? sk_X509_shift(got.certs) : NULL;
        m2m_loaded_free(&got);
        if (issuer == NULL)
            return m2m_fail(err, M2M_E_PARSE, "--ocsp-issuer %s: no PEM certificate", reg->cfg.ocsp_issuer);
    } else if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && sk_X509_num(chain) > 0) {
        issuer = sk_X509_value(chain, 0);
        X509_up_ref(issuer);
    }
    stapler = m2m_stapler_new(reg->cfg.ocsp_response, reg->cfg.ocsp_url, leaf, issuer, reg->cfg.log, err);
    if (stapler == NULL)
        goto done;
    if (m2m_stapler_refresh(stapler, 1, err) != 0) {
        /* A bad file is a configuration error; a responder that is down now may be up later. */
        if (reg->cfg.ocsp_response[0] != '\0') {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            m2m_fail(err, err->code, "--ocsp-response %s: %s", reg->cfg.ocsp_response, msg);
            goto done;
        }
        m2m_log(reg, "ocsp: %s (will retry)", err->msg);
    }
    m2m_stapler_install(ctx, stapler);
    if (m2m_stapler_start(stapler, err) != 0)
        goto done;
    *out = stapler;
    stapler = NULL;
    rc = 0;
done:
    m2m_stapler_free(stapler);
    X509_free(issuer);
    return rc;
}

/* The TLS context of the configured certificate (re-read from its files), with its OCSP stapler. */
static SSL_CTX *server_ctx(struct m2m_registrar *reg, struct m2m_stapler **stapler, m2m_err *err)
{
    m2m_tls_server_config tls = {0};
    SSL_CTX *ctx;
    tls.cert = reg->cfg.cert;
    tls.key = reg->cfg.key;
    tls.chain = reg->cfg.chain;
    tls.ticket_period = reg->cfg.ticket_period;
    tls.gba = reg->cfg.bsf_url[0] != '\0';
    ctx = m2m_tls_server_ctx(&tls, err);
    if (ctx != NULL && setup_stapling(reg, ctx, stapler, err) != 0) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* No callback after this (its thread is joined), and no handle reads it any more. */
static void stop_notifier(struct m2m_registrar *reg)
{
    if (reg->workers != NULL)
        for (int i = 0; i < nthreads(reg); i++)
            if (reg->workers[i].st != NULL)
                m2m_store_use_notifier(reg->workers[i].st, NULL);
    m2m_store_notifier_stop(reg->notifier);
    reg->notifier = NULL;
}

m2m_registrar *m2m_registrar_start(const m2m_registrar_config *cfg, m2m_err *err)
{
    static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
    struct m2m_registrar *reg = calloc(1, sizeof *reg);
    struct addrinfo hints = {0}, *ai = NULL;
    int rc;

    if (reg == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&reg->reload_mu, NULL);
    pthread_once(&threads_once, (void (*)(void))evthread_use_pthreads);
    reg->cfg = *cfg;
    if (reg->cfg.db[0] == '\0') {
        m2m_fail(err, M2M_E_ARG, "no store configured (--db)");
        goto fail;
    }
    if (m2m_listen_guard(cfg->host, cfg->port, err) != 0 ||
        (cfg->coaps_port[0] != '\0' && m2m_listen_guard_dgram(cfg->coaps_host, cfg->coaps_port, err) != 0))
        goto fail;
    reg->nworkers = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (reg->nworkers < 1)
        reg->nworkers = 1;
    reg->ncoap = cfg->coaps_port[0] != '\0' ? reg->nworkers : 0; /* as many CoAPS workers as HTTPS ones */
    /* the HTTPS workers, then the CoAPS one */
    reg->workers = calloc((size_t)nthreads(reg), sizeof *reg->workers);
    if (reg->workers == NULL || load_recorded_cert(&reg->cfg, err) != 0 || m2m_limits_init(reg, err) != 0)
        goto fail;
    if ((reg->writer = m2m_store_writer_start(reg->cfg.db, err)) == NULL ||
        (reg->notifier = m2m_store_notifier_start(reg->cfg.db, notify_workers, reg, err)) == NULL)
        goto fail;
    reg->quota.max_resources = reg->cfg.max_resources;
    reg->quota.max_bytes = reg->cfg.max_bytes;
    if (reg->cfg.max_request_rate > 0 &&
        (reg->quota.rate = m2m_rate_new(reg->cfg.max_request_rate, 2.0 * reg->cfg.max_request_rate, NULL)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto fail;
    }
    if ((reg->ctx = server_ctx(reg, &reg->stapler, err)) == NULL)
        goto fail;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    for (int i = 0; i < reg->nworkers; i++) {
        char port[8];
        snprintf(port, sizeof port, "%d", i == 0 ? atoi(cfg->port) : reg->port);
        if (ai != NULL)
            freeaddrinfo(ai);
        ai = NULL;
        if ((rc = getaddrinfo(cfg->host, port, &hints, &ai)) != 0) {
            m2m_fail(err, M2M_E_ARG, "cannot resolve listen address %s: %s", cfg->host, gai_strerror(rc));
            goto fail;
        }
        if (worker_setup(reg, &reg->workers[i], ai, port, err) != 0)
            goto fail;
        if (i == 0)
            reg->port = bound_port(reg->workers[0].listener); /* the others join the same port, even for :0 */
    }
    for (int i = 0; i < reg->ncoap; i++)
        if (coap_worker_setup(reg, &reg->workers[reg->nworkers + i], err) != 0)
            goto fail;
    /* the CSEBase's pointOfAccess: what the operator said, or these listeners */
    if (reg->cfg.poa[0] == '\0') {
        char url[300];
        snprintf(url, sizeof url, strchr(cfg->host, ':') ? "https://[%s]:%d" : "https://%s:%d", cfg->host, reg->port);
        m2m_registrar_config_add_poa(&reg->cfg, url, NULL);
        if (reg->coap_worker != NULL) {
            snprintf(url, sizeof url, strchr(cfg->coaps_host, ':') ? "coaps://[%s]:%d" : "coaps://%s:%d",
                     cfg->coaps_host, reg->coaps_port);
            m2m_registrar_config_add_poa(&reg->cfg, url, NULL);
        }
    }
    for (int i = 0; i < nthreads(reg); i++)
        snprintf(reg->workers[i].cse.poa, sizeof reg->workers[i].cse.poa, "%s", reg->cfg.poa);
    for (int i = 0; i < nthreads(reg); i++) {
        if ((reg->workers[i].listener != NULL && evconnlistener_enable(reg->workers[i].listener) != 0) ||
            pthread_create(&reg->workers[i].thread, NULL, worker_main, &reg->workers[i]) != 0) {
            m2m_fail(err, M2M_E_IO, "cannot start worker %d", i);
            for (int j = 0; j < i; j++) {
                event_base_loopexit(reg->workers[j].base, NULL);
                pthread_join(reg->workers[j].thread, NULL);
            }
            goto fail;
        }
    }
    if (reg->cfg.admin_port[0] != '\0' && (reg->admin = m2m_admin_start(reg, err)) == NULL) {
        for (int j = 0; j < nthreads(reg); j++) {
            event_base_loopexit(reg->workers[j].base, NULL);
            pthread_join(reg->workers[j].thread, NULL);
        }
        goto fail;
    }
    freeaddrinfo(ai);
    {
        char safe[256];
        m2m_store_location_safe(cfg->db, safe, sizeof safe); /* never a password in a log */
        m2m_log(reg, "listening on https://%s:%d (%s%s%s), %d workers, store %s", cfg->host, reg->port,
                reg->cfg.cert[0] ? "TLS-PSK and certificates" : "TLS-PSK", reg->stapler ? ", OCSP stapling" : "",
                reg->cfg.bsf_url[0] ? ", GBA NAF" : "", reg->nworkers, safe);
        if (reg->coap_worker != NULL)
            m2m_log(reg, "listening on coaps://%s:%d (DTLS 1.2: %s; cookies always), store %s", cfg->coaps_host,
                    reg->coaps_port, reg->cfg.cert[0] ? "PSK and certificates" : "PSK", safe);
    }
    if (reg->cfg.bsf_url[0] != '\0')
        m2m_log(reg, "GBA: NAF %s, Zn %s", reg->cfg.naf_fqdn, reg->cfg.bsf_url);
    return reg;
fail:
    if (ai != NULL)
        freeaddrinfo(ai);
    m2m_store_writer_stop(reg->writer); /* finishes what was submitted; the completions wait in the queues */
    stop_notifier(reg);
    if (reg->workers != NULL)
        for (int i = 0; i < nthreads(reg); i++)
            worker_free(&reg->workers[i]);
    free(reg->workers);
    SSL_CTX_free(reg->ctx);
    m2m_stapler_free(reg->stapler);
    m2m_limits_free(reg);
    m2m_rate_free(reg->quota.rate);
    pthread_mutex_destroy(&reg->reload_mu);
    free(reg);
    return NULL;
}

int m2m_registrar_https_port(const m2m_registrar *reg)
{
    return reg ? reg->port : -1;
}

int m2m_registrar_coaps_port(const m2m_registrar *reg)
{
    return reg && reg->coap_worker ? reg->coaps_port : -1;
}

int m2m_registrar_admin_port(const m2m_registrar *reg)
{
    return reg ? m2m_admin_port(reg->admin) : -1;
}

static long long monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

/* A stapler of a replaced context can be reached only by a handshake that began on that context; once every such
 * handshake has ended (the handshake timeout, with a margin for a GBA handshake waiting on Zn) it can go. */
static void free_unreachable_staplers(struct m2m_registrar *reg)
{
    long long now = monotonic_s(), quiet = reg->cfg.handshake_timeout + 60;
    int kept = 0;
    for (int i = 0; i < reg->nretired; i++) {
        if (now - reg->retired[i].since > quiet)
            m2m_stapler_free(reg->retired[i].stapler);
        else
            reg->retired[kept++] = reg->retired[i];
    }
    reg->nretired = kept;
}

int m2m_registrar_reload(m2m_registrar *reg, m2m_err *err)
{
    struct m2m_stapler *stapler = NULL;
    char fp[65], not_after[64] = "?";
    SSL_CTX *ctx;
    BIO *b;
    m2m_err local = {0};
    int n;

    if (err == NULL)
        err = &local; /* the log says why a reload failed, whether or not the caller asks */
    if (reg == NULL)
        return m2m_fail(err, M2M_E_ARG, "no Registrar");
    if (reg->cfg.cert[0] == '\0') {
        m2m_log(reg, "reload: no Registrar certificate configured (TLS-PSK only): nothing to reload");
        return 0;
    }
    free_unreachable_staplers(reg);
    if (reg->stapler != NULL && reg->nretired == (int)(sizeof reg->retired / sizeof reg->retired[0])) {
        m2m_fail(err, M2M_E_BUSY, "too many reloads in the last %d s; try again later",
                 reg->cfg.handshake_timeout + 60);
        goto refused;
    }
    /* Everything is built and checked before anything changes: a certificate that does not load, a key that does
     * not match it, a chain or OCSP response that cannot be used leaves the running context in place. A file that
     * cannot be opened is named with the system's reason (OpenSSL would only say "system lib"). */
    for (int i = 0; i < 3; i++) {
        const char *path = i == 0 ? reg->cfg.cert : i == 1 ? reg->cfg.key : reg->cfg.chain;
        int fd;
        if (path[0] == '\0')
            continue;
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            m2m_fail(err, M2M_E_IO, "%s: %s", path, strerror(errno));
            goto refused;
        }
        close(fd);
    }
    if ((ctx = server_ctx(reg, &stapler, err)) == NULL)
        goto refused;
    m2m_tls_cert_fingerprint(ctx, fp);
    pthread_mutex_lock(&reg->reload_mu);
    for (int i = 0; i < nthreads(reg); i++) { /* the CoAPS workers too: their DTLS context, their tickets' fp */
        struct worker *w = &reg->workers[i];
        SSL_CTX_free(w->next_ctx); /* a reload the worker has not taken yet: this one supersedes it */
        SSL_CTX_up_ref(ctx);
        w->next_ctx = ctx;
        memcpy(w->next_fp, fp, sizeof w->next_fp);
    }
    pthread_mutex_unlock(&reg->reload_mu);
    /* Each worker switches on its own loop, between two accepts: no lock on the accept path. */
    for (int i = 0; i < nthreads(reg); i++)
        if (reg->workers[i].reload_ev != NULL)
            event_active(reg->workers[i].reload_ev, EV_READ, 1);
    SSL_CTX_free(reg->ctx);
    reg->ctx = ctx;
    if (reg->stapler != NULL) {
        m2m_stapler_stop(reg->stapler);
        reg->retired[reg->nretired].stapler = reg->stapler;
        reg->retired[reg->nretired++].since = monotonic_s();
    }
    reg->stapler = stapler;
    if ((b = BIO_new(BIO_s_mem())) != NULL) {
        if (ASN1_TIME_print(b, X509_get0_notAfter(SSL_CTX_get0_certificate(ctx))) == 1 &&
            (n = BIO_read(b, not_after, sizeof not_after - 1)) > 0)
            not_after[n] = '\0';
        BIO_free(b);
    }
    m2m_log(reg, "reload: new connections get certificate %s sha256=%s (expires %s)%s; open connections keep "
            "theirs", reg->cfg.cert, fp, not_after, stapler != NULL ? " with its OCSP status" : "");
    return 0;
refused:
    m2m_log(reg, "reload failed, still serving the previous certificate: %s", err->msg);
    return -1;
}

void m2m_registrar_stop(m2m_registrar *reg)
{
    if (reg == NULL)
        return;
    m2m_admin_stop(reg->admin);
    for (int i = 0; i < nthreads(reg); i++)
        event_base_loopexit(reg->workers[i].base, NULL);
    for (int i = 0; i < nthreads(reg); i++)
        pthread_join(reg->workers[i].thread, NULL);
    /* what the workers submitted is committed (or failed) before their connections go */
    m2m_store_writer_stop(reg->writer);
    stop_notifier(reg);
    for (int i = 0; i < nthreads(reg); i++)
        worker_free(&reg->workers[i]);
    m2m_log(reg, "stopped");
    free(reg->workers);
    m2m_stapler_free(reg->stapler);
    for (int i = 0; i < reg->nretired; i++)
        m2m_stapler_free(reg->retired[i].stapler);
    SSL_CTX_free(reg->ctx);
    m2m_limits_free(reg);
    m2m_rate_free(reg->quota.rate);
    pthread_mutex_destroy(&reg->reload_mu);
    free(reg);
}
