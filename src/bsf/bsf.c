/* SPDX-License-Identifier: Apache-2.0 */
/* The BSF's life: its store, its TLS contexts, the Ub and Zn listeners on one event loop in a thread of its own,
 * and a timer that drops expired bootstrapping records. */
#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bsf/bsf_internal.h"
#include "crypto/gba_id.h"
#include "crypto/milenage.h"
#include "util/log.h"
#include "util/clock.h"

int64_t m2m_bsf_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

void m2m_bsf_log(const struct m2m_bsf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2m_vlogf(b->cfg.log, fmt, ap);
    va_end(ap);
}

int m2m_bsf_init_store(const char *db, const char *domain, m2m_err *err)
{
    m2m_store *st;
    int rc;
    size_t n = domain ? strlen(domain) : 0;
    if (n == 0 || n > 200 ||
        strspn(domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
        return m2m_fail(err, M2M_E_ARG, "--domain '%s': a BSF domain is a DNS name, e.g. bsf.m2m.localhost",
                        domain ? domain : "");
    if ((st = m2m_store_open(db, 1, err)) == NULL)
        return -1;
    rc = m2m_store_set_meta(st, "bsf_domain", domain, err);
    m2m_store_close(st);
    if (rc != 0 && m2m_store_location_is_file(db))
        unlink(db);
    return rc;
}

/* The error for a store without a BSF domain, naming it without a password. */
static int not_bsf(const char *db, m2m_err *err)
{
    char safe[256];
    m2m_store_location_safe(db, safe, sizeof safe);
    return m2m_fail(err, M2M_E_STORE, "%s is not a BSF store (create it with 'm2mattach bsf init')", safe);
}

int m2m_bsf_subscriber_add(const char *db, const char *impi, const unsigned char k[16], const unsigned char *op,
                           const unsigned char *opc, uint64_t sqn, const unsigned char amf[2], m2m_err *err)
{
    m2m_gba_subscriber s;
    m2m_store *st;
    char domain[254];
    int rc = -1;

    if (!m2m_gba_impi_ok(impi))
        return m2m_fail(err, M2M_E_ARG, "--impi: an IMPI is user@realm, 1 to %d printable characters without "
                                        "spaces, quotes, backslashes or commas", M2M_IMPI_MAX - 1);
    if (sqn > M2M_AKA_SQN_MAX)
        return m2m_fail(err, M2M_E_ARG, "--sqn: a SQN has 48 bits");
    memset(&s, 0, sizeof s);
    snprintf(s.impi, sizeof s.impi, "%s", impi);
    memcpy(s.k, k, 16);
    memcpy(s.amf, amf, 2);
    s.sqn = sqn;
    if (op != NULL ? m2m_milenage_opc(k, op, s.opc, err) != 0 : (memcpy(s.opc, opc, 16), 0))
        goto done;
    if ((st = m2m_store_open(db, 0, err)) == NULL)
        goto done;
    if (m2m_store_get_meta(st, "bsf_domain", domain, sizeof domain, err) == 0 && domain[0] == '\0')
        not_bsf(db, err);
    else if (domain[0] != '\0')
        rc = m2m_store_gba_subscriber_add(st, &s, err);
    m2m_store_close(st);
done:
    OPENSSL_cleanse(&s, sizeof s);
    return rc;
}

/* ---- TLS ---- */

static SSL_CTX *server_ctx(const char *cert, const char *key, const char *client_root, const char *what,
                           m2m_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    unsigned long e;
    char buf[256];

    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        e = ERR_get_error();
        ERR_error_string_n(e, buf, sizeof buf);
        m2m_fail(err, M2M_E_ARG, "--%s-cert %s: %s", what, cert, buf);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        m2m_fail(err, M2M_E_ARG, "--%s-key %s: not the private key of --%s-cert %s", what, key, what, cert);
        goto fail;
    }
    if (client_root != NULL) {
        /* mutual TLS: a NAF without a certificate chained to this root never gets a request through */
        if (SSL_CTX_load_verify_locations(ctx, client_root, NULL) != 1) {
            m2m_fail(err, M2M_E_ARG, "--zn-client-root %s: no PEM certificate", client_root);
            goto fail;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"m2m-zn", 6);
    }
    ERR_clear_error();
    return ctx;
fail:
    if (err->msg[0] == '\0' || ctx == NULL)
        m2m_fail(err, M2M_E_TLS, "cannot create the %s TLS context", what);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

static struct bufferevent *ub_bev(struct event_base *base, void *arg)
{
    m2m_bsf *b = arg;
    SSL *ssl = SSL_new(b->ub_ctx);
    return ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
               : NULL;
}

static struct bufferevent *zn_bev(struct event_base *base, void *arg)
{
    m2m_bsf *b = arg;
    SSL *ssl = SSL_new(b->zn_ctx);
    return ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
               : NULL;
}

/* ---- listeners ---- */

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcmp(host, "localhost") == 0;
}

/* An evhttp on host:port; *port gets the port bound. */
static struct evhttp *listen_on(m2m_bsf *b, const char *host, const char *port, int *bound, const char *what,
                                m2m_err *err)
{
    struct evhttp *h = evhttp_new(b->base);
    struct evhttp_bound_socket *s;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char *end;
    long p = strtol(port, &end, 10);

    if (h == NULL || *end != '\0' || p < 0 || p > 65535) {
        m2m_fail(err, M2M_E_ARG, "--%s %s:%s: not HOST:PORT", what, host, port);
        goto fail;
    }
    if ((s = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)p)) == NULL) {
        m2m_fail(err, M2M_E_IO, "--%s: cannot listen on %s:%s", what, host, port);
        goto fail;
    }
    memset(&ss, 0, sizeof ss); /* what getsockname leaves unfilled reads as 0, never as garbage */
    if (getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len) == 0)
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    /* Ub and Zn requests are small: anything larger is not a GBA request */
    evhttp_set_max_headers_size(h, 8192);
    evhttp_set_max_body_size(h, 4096);
    evhttp_set_timeout(h, 10);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    return h;
fail:
    if (h != NULL)
        evhttp_free(h);
    return NULL;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    m2m_bsf *b = arg;
    int removed = 0;
    m2m_err err;
    (void)fd, (void)what;
    if (m2m_store_gba_bootstrap_expire(b->st, m2m_clock_now(), &removed, &err) != 0)
        m2m_bsf_log(b, "expire bootstrappings: %s", err.msg);
    else if (removed > 0)
        m2m_bsf_log(b, "%d bootstrapping record(s) expired", removed);
}

static void *loop_main(void *arg)
{
    m2m_bsf *b = arg;
    event_base_dispatch(b->base);
    return NULL;
}

static void bsf_free(m2m_bsf *b)
{
    if (b->tick)
        event_free(b->tick);
    if (b->ub)
        evhttp_free(b->ub);
    if (b->zn)
        evhttp_free(b->zn);
    if (b->base)
        event_base_free(b->base);
    SSL_CTX_free(b->ub_ctx);
    SSL_CTX_free(b->zn_ctx);
    m2m_store_close(b->st);
    OPENSSL_clear_free(b, sizeof *b);
}

m2m_bsf *m2m_bsf_start(const m2m_bsf_config *cfg, m2m_err *err)
{
    static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
    m2m_bsf *b = OPENSSL_zalloc(sizeof *b);
    struct timeval ten = {10, 0};

    if (b == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_once(&threads_once, (void (*)(void))evthread_use_pthreads);
    b->cfg = *cfg;
    if (b->cfg.lifetime <= 0)
        b->cfg.lifetime = M2M_BSF_DEFAULT_LIFETIME;
    if (b->cfg.max_failures <= 0)
        b->cfg.max_failures = M2M_BSF_DEFAULT_MAX_FAILURES;
    if (b->cfg.lockout <= 0)
        b->cfg.lockout = M2M_BSF_DEFAULT_LOCKOUT;
    if (cfg->zn_cert == NULL || cfg->zn_key == NULL || cfg->zn_client_root == NULL) {
        m2m_fail(err, M2M_E_ARG, "Zn needs --zn-cert, --zn-key and --zn-client-root (mutual TLS with the NAFs)");
        goto fail;
    }
    if ((cfg->ub_cert == NULL) != (cfg->ub_key == NULL)) {
        m2m_fail(err, M2M_E_ARG, "--ub-cert and --ub-key go together");
        goto fail;
    }
    if (cfg->ub_cert == NULL && !is_loopback(cfg->ub_host)) {
        m2m_fail(err, M2M_E_ARG, "--ub %s: plain HTTP is for loopback only; give --ub-cert and --ub-key to serve Ub "
                                 "on another address", cfg->ub_host);
        goto fail;
    }
    if ((b->st = m2m_store_open(cfg->db, 0, err)) == NULL ||
        m2m_store_get_meta(b->st, "bsf_domain", b->domain, sizeof b->domain, err) != 0)
        goto fail;
    if (b->domain[0] == '\0') {
        not_bsf(cfg->db, err);
        goto fail;
    }
    if ((b->zn_ctx = server_ctx(cfg->zn_cert, cfg->zn_key, cfg->zn_client_root, "zn", err)) == NULL ||
        (cfg->ub_cert != NULL && (b->ub_ctx = server_ctx(cfg->ub_cert, cfg->ub_key, NULL, "ub", err)) == NULL))
        goto fail;
    if ((b->base = event_base_new()) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "cannot create an event loop");
        goto fail;
    }
    if ((b->ub = listen_on(b, cfg->ub_host, cfg->ub_port, &b->ub_port, "ub", err)) == NULL ||
        (b->zn = listen_on(b, cfg->zn_host, cfg->zn_port, &b->zn_port, "zn", err)) == NULL)
        goto fail;
    if (b->ub_ctx != NULL)
        evhttp_set_bevcb(b->ub, ub_bev, b);
    evhttp_set_bevcb(b->zn, zn_bev, b);
    evhttp_set_gencb(b->ub, m2m_ub_handle, b);
    evhttp_set_gencb(b->zn, m2m_zn_handle, b);
    b->tick = event_new(b->base, -1, EV_PERSIST, tick, b);
    if (b->tick == NULL || event_add(b->tick, &ten) != 0 || pthread_create(&b->thread, NULL, loop_main, b) != 0) {
        m2m_fail(err, M2M_E_NOMEM, "cannot start the BSF loop");
        goto fail;
    }
    m2m_bsf_log(b, "BSF %s: Ub on %s://%s:%d, Zn on https://%s:%d, bootstrapping lifetime %llds", b->domain,
                b->ub_ctx ? "https" : "http", cfg->ub_host, b->ub_port, cfg->zn_host, b->zn_port,
                (long long)b->cfg.lifetime);
    return b;
fail:
    bsf_free(b);
    return NULL;
}

int m2m_bsf_ub_port(const m2m_bsf *b)
{
    return b ? b->ub_port : -1;
}

int m2m_bsf_zn_port(const m2m_bsf *b)
{
    return b ? b->zn_port : -1;
}

void m2m_bsf_stop(m2m_bsf *b)
{
    if (b == NULL)
        return;
    event_base_loopexit(b->base, NULL);
    pthread_join(b->thread, NULL);
    m2m_bsf_log(b, "stopped after %llu bootstrap(s), %llu failed Ub answer(s), %llu Zn key(s) served, %llu Zn "
                   "refusal(s)", b->bootstraps, b->failures, b->zn_served, b->zn_refused);
    bsf_free(b);
}
