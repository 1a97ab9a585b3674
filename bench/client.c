/* SPDX-License-Identifier: Apache-2.0 */
/* The load-generating client: blocking sockets, one connection at a time per thread, many threads.
 *
 *   handshakes         TCP connect + TLS handshake + close_notify                           (against either server)
 *   reattach           TCP connect + TLS handshake + GET <AE> (expects 200 / 2000) + close_notify
 *   attach             TCP connect + TLS handshake + POST CREATE <AE> (expects 201 / 2001) + close_notify,
 *                      each Registree ID used once (a second CREATE of an ID would be 4117)
 *   resume             as reattach, resuming a session: each thread first attaches once in full (handshake + one
 *                      request, so TLS 1.3 tickets arrive; a token Registree registers with its token there), keeps
 *                      that session and offers it on every later connection
 *   resume-handshakes  the same with handshake + close_notify only (against the ceiling)
 *   idle               opens N attached connections (handshake + GET each) and holds them open
 *   stream-retrieve    one attached keep-alive connection per thread (handshake + GET once, not measured), then
 *                      GET <AE> on it, one request after another (expects 200 / 2000)
 *   stream-create      the same, each thread first creating its own <container> under its <AE> (not measured),
 *                      then CREATE <contentInstance> in it, one after another (expects 201 / 2001): durable writes
 *
 * --mech says how a Registree authenticates: psk (TLS-PSK), cert (its client certificate), token (server-only
 * handshake; the registration CREATE carries Authorization: Bearer <token>).
 *
 * Every connection ends with the client's close_notify and, by default, an abortive close (SO_LINGER 0) so that
 * hundreds of thousands of short connections leave no TIME_WAIT sockets behind on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench.h"

static const unsigned char TLS13_AES128GCM[2] = {0x13, 0x01};

/* ---- TLS client context ---- */

static unsigned int psk12_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                             unsigned char *psk, unsigned int max_psk_len)
{
    const bench_cred *c = SSL_get_app_data(ssl);
    (void)hint;
    if (c == NULL || strlen(c->key_id) + 1 > max_identity_len || c->key_len > max_psk_len)
        return 0;
    memcpy(identity, c->key_id, strlen(c->key_id) + 1);
    memcpy(psk, c->key, c->key_len);
    return (unsigned int)c->key_len;
}

/* TLS 1.3 external PSK, as in openssl s_client: the key travels as a pre-built SSL_SESSION per credential. */
static int psk13_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen, SSL_SESSION **sess)
{
    const bench_cred *c = SSL_get_app_data(ssl);
    const SSL_CIPHER *cipher;

    *id = NULL;
    *idlen = 0;
    *sess = NULL;
    if (c == NULL || c->sess13 == NULL)
        return 0;
    cipher = SSL_SESSION_get0_cipher(c->sess13);
    if (md != NULL && (cipher == NULL || SSL_CIPHER_get_handshake_digest(cipher) != md))
        return 1; /* not usable with the negotiated hash: offer nothing */
    SSL_SESSION_up_ref(c->sess13);
    *sess = c->sess13;
    *id = (const unsigned char *)c->key_id;
    *idlen = strlen(c->key_id);
    return 1;
}

SSL_CTX *bench_client_ctx(const bench_opts *o, bench_creds *creds)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    const char *c12 = o->mech == MECH_PSK ? "PSK-AES128-CBC-SHA256" : "ECDHE-ECDSA-AES128-GCM-SHA256";
    char e[320];
    int ok;

    if (ctx == NULL)
        return NULL;
    if (o->tls == 13) {
        ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) && SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
             SSL_CTX_set_ciphersuites(ctx, o->cipher ? o->cipher : "TLS_AES_128_GCM_SHA256");
        if (o->mech == MECH_PSK)
            SSL_CTX_set_psk_use_session_callback(ctx, psk13_cb);
    } else {
        ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) && SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) &&
             SSL_CTX_set_cipher_list(ctx, o->cipher ? o->cipher : c12);
        if (o->mech == MECH_PSK)
            SSL_CTX_set_psk_client_callback(ctx, psk12_cb);
    }
    if (!ok) {
        bench_ssl_error(e, sizeof e, "client TLS settings (--tls/--cipher)");
        fprintf(stderr, "m2m-bench: %s\n", e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* Tickets only when resuming: otherwise a TLS 1.2 server would make and send one per handshake. The bench
     * does not check the Registrar's certificate (a Registree does: that is client-side work). */
    SSL_CTX_set_options(ctx, (o->resume ? 0 : SSL_OP_NO_TICKET) | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (o->tls == 13 && o->mech == MECH_PSK && creds != NULL) {
        /* Build each credential's PSK session once (needs an SSL to find the cipher). */
        SSL *probe = SSL_new(ctx);
        const SSL_CIPHER *cipher = probe ? SSL_CIPHER_find(probe, TLS13_AES128GCM) : NULL;
        for (size_t i = 0; cipher != NULL && i < creds->n; i++) {
            bench_cred *c = &creds->v[i];
            if (c->sess13 != NULL)
                continue;
            c->sess13 = SSL_SESSION_new();
            if (c->sess13 == NULL || !SSL_SESSION_set1_master_key(c->sess13, c->key, c->key_len) ||
                !SSL_SESSION_set_cipher(c->sess13, cipher) ||
                !SSL_SESSION_set_protocol_version(c->sess13, TLS1_3_VERSION)) {
                cipher = NULL;
                break;
            }
        }
        SSL_free(probe);
        if (cipher == NULL) {
            fprintf(stderr, "m2m-bench: cannot build TLS 1.3 PSK sessions\n");
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

/* ---- one connection ---- */

int bench_connect(const bench_opts *o)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, o->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)o->port);
        len = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, o->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)o->port);
        len = sizeof(struct sockaddr_in6);
    } else {
        errno = EINVAL;
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (o->source != NULL) { /* --source: a local address of our own (e.g. 127.0.0.11), the port left to the kernel */
        struct sockaddr_in src = {.sin_family = AF_INET};
        if (ss.ss_family != AF_INET || inet_pton(AF_INET, o->source, &src.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            int e = ss.ss_family != AF_INET ? EAFNOSUPPORT : errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){30, 0}, sizeof(struct timeval)); /* never hang */
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

void bench_close(SSL *ssl, int send_close_notify, int linger0)
{
    int fd;
    if (ssl == NULL)
        return;
    fd = SSL_get_fd(ssl);
    if (send_close_notify)
        SSL_shutdown(ssl); /* sends close_notify; does not wait for the peer's */
    SSL_free(ssl);
    if (fd >= 0) {
        if (linger0) {
            struct linger l = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        close(fd);
    }
}

/* Reads one HTTP/1.1 response with a Content-Length body; checks the status and X-M2M-RSC. ri_out (if not NULL)
 * gets the first "ri" of the body: the resource a CREATE made. */
static int read_response(SSL *ssl, int quickack, int want_status, const char *want_rsc, char *ri_out, size_t ri_cap,
                         char *errbuf, size_t errcap)
{
    char buf[16384 + 1];
    size_t have = 0, head_len = 0, body_len = 0;
    char *end = NULL, *p;
    int status = 0;
    char rsc[16] = "";

    for (;;) {
        int n;
        if (have == sizeof buf - 1) {
            snprintf(errbuf, errcap, "response header larger than %zu bytes", sizeof buf - 1);
            return -1;
        }
        if (quickack) { /* diagnostic: ACK at once, so a server's Nagle-held segment is not delayed ~40 ms */
            int one = 1;
            setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        n = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
        if (n <= 0) {
            if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN)
                snprintf(errbuf, errcap, "server closed before the response");
            else
                bench_ssl_error(errbuf, errcap, "reading the response");
            return -1;
        }
        have += (size_t)n;
        buf[have] = '\0';
        if (head_len == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            head_len = (size_t)(end - buf) + 4;
            if (sscanf(buf, "HTTP/1.%*c %d", &status) != 1) {
                snprintf(errbuf, errcap, "not an HTTP response: %.40s", buf);
                return -1;
            }
            for (p = strstr(buf, "\r\n"); p != NULL && p < end; p = strstr(p + 2, "\r\n")) {
                if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                    body_len = strtoul(p + 17, NULL, 10);
                else if (strncasecmp(p + 2, "X-M2M-RSC:", 10) == 0)
                    sscanf(p + 12, " %15[0-9]", rsc);
            }
        }
        if (head_len != 0 && have >= head_len + body_len)
            break;
    }
    if (status != want_status || (want_rsc != NULL && strcmp(rsc, want_rsc) != 0)) {
        snprintf(errbuf, errcap, "got HTTP %d X-M2M-RSC %s (wanted %d / %s): %.200s", status, rsc[0] ? rsc : "-",
                 want_status, want_rsc ? want_rsc : "-", buf + head_len);
        return -1;
    }
    if (ri_out != NULL) {
        const char *ri = strstr(buf + head_len, "\"ri\":\"");
        size_t n = ri ? strcspn(ri + 6, "\"") : 0;
        if (n == 0 || n >= ri_cap) {
            snprintf(errbuf, errcap, "no resource ID in the response: %.200s", buf + head_len);
            return -1;
        }
        memcpy(ri_out, ri + 6, n);
        ri_out[n] = '\0';
    }
    return 0;
}

/* One request on an attached connection and its response. */
static int request_once(SSL *ssl, const bench_opts *o, const char *req, size_t req_len, int want_status,
                        const char *want_rsc, char *ri_out, size_t ri_cap, char *errbuf, size_t errcap)
{
    if (SSL_write(ssl, req, (int)req_len) != (int)req_len) {
        bench_ssl_error(errbuf, errcap, "sending the request");
        return -1;
    }
    return read_response(ssl, o->quickack, want_status, want_rsc, ri_out, ri_cap, errbuf, errcap);
}

SSL *bench_attach_once(SSL_CTX *ctx, const bench_opts *o, const bench_cred *cred, SSL_SESSION *sess, const char *req,
                       size_t req_len, int want_status, const char *want_rsc, char *errbuf, size_t errcap)
{
    int fd = bench_connect(o);
    SSL *ssl;

    if (fd < 0) {
        snprintf(errbuf, errcap, "connect %s:%d: %s", o->host, o->port, strerror(errno));
        return NULL;
    }
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        bench_ssl_error(errbuf, errcap, "SSL_new");
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    SSL_set_app_data(ssl, (void *)cred);
    if (cred->cert != NULL && (SSL_use_certificate(ssl, cred->cert) != 1 || SSL_use_PrivateKey(ssl, cred->pkey) != 1)) {
        bench_ssl_error(errbuf, errcap, "client certificate");
        bench_close(ssl, 0, o->linger0);
        return NULL;
    }
    if (sess != NULL && SSL_set_session(ssl, sess) != 1) {
        bench_ssl_error(errbuf, errcap, "SSL_set_session");
        bench_close(ssl, 0, o->linger0);
        return NULL;
    }
    if (SSL_connect(ssl) != 1) {
        bench_ssl_error(errbuf, errcap, o->mech == MECH_PSK ? "TLS-PSK handshake" : "TLS handshake");
        bench_close(ssl, 0, o->linger0);
        return NULL;
    }
    if (req != NULL && request_once(ssl, o, req, req_len, want_status, want_rsc, NULL, 0, errbuf, errcap) != 0) {
        bench_close(ssl, 0, o->linger0);
        return NULL;
    }
    return ssl;
}

/* ---- requests ---- */

enum mode { MODE_HANDSHAKES, MODE_REATTACH, MODE_ATTACH, MODE_RESUME, MODE_RESUME_HANDSHAKES, MODE_STREAM_RETRIEVE,
            MODE_STREAM_CREATE };

/* CREATE of a resource of type ty with body: under the CSEBase when parent is NULL (a registration, with the
 * identity token for a token Registree), else under the resource whose ID parent is. */
static size_t build_create(const bench_opts *o, const bench_cred *c, const char *parent, int ty, const char *body,
                           unsigned long ri, char *buf, size_t cap)
{
    char auth[96] = "";
    int n;
    if (parent == NULL && c->token[0] != '\0')
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", c->token);
    n = snprintf(buf, cap,
                 "POST /~%s%s%s HTTP/1.1\r\nHost: %s\r\nX-M2M-Origin: %s\r\nX-M2M-RI: %lu\r\nX-M2M-RVI: 3\r\n%s"
                 "Content-Type: application/json;ty=%d\r\nAccept: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 o->cse, parent ? "/" : "", parent ? parent : "", o->host, c->id, ri, auth, ty, strlen(body), body);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* GET of the Registree's own <AE>, or the registration CREATE <AE>. */
static size_t build_request(int create, const bench_opts *o, const bench_cred *c, unsigned long ri, char *buf,
                            size_t cap)
{
    int n;
    if (create)
        return build_create(o, c, NULL, 2, "{\"m2m:ae\":{\"api\":\"Rbench\",\"rr\":false,\"srv\":[\"3\"]}}", ri, buf,
                            cap);
    n = snprintf(buf, cap,
                 "GET /~%s/%s HTTP/1.1\r\nHost: %s\r\nX-M2M-Origin: %s\r\nX-M2M-RI: %lu\r\nX-M2M-RVI: 3\r\n"
                 "Accept: application/json\r\n\r\n",
                 o->cse, c->id, o->host, c->id, ri);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- timed load ---- */

struct load {
    const bench_opts *o;
    enum mode mode;
    bench_creds *creds;
    atomic_size_t next;     /* attach: next unused credential */
    atomic_int go;
    atomic_int ready;       /* resume: threads done with their first, full attachment */
    double deadline;
};

#define LAT_STEP_MS 0.1
#define LAT_BUCKETS 20000

struct loader {
    pthread_t t;
    struct load *L;
    int index;
    SSL_CTX *ctx;
    SSL_SESSION *sess;      /* resume: the session every connection offers */
    long ops, errors, resumed;
    char first_error[600];
    /* each operation's time as the client sees it, from connect to close, in LAT_STEP_MS buckets (the last one
     * holds everything longer): what a device waits, including time spent queued behind others on the server */
    unsigned lat[LAT_BUCKETS];
    double lat_max;
};

#define MAX_ERRORS_PER_THREAD 200 /* a broken setup stops instead of spinning */

/* One operation done, begun at t0 (bench_now()): its latency goes into the thread's histogram. */
static void record_latency(struct loader *w, double t0)
{
    double ms = (bench_now() - t0) * 1e3;
    size_t b = (size_t)(ms / LAT_STEP_MS);
    w->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
    if (ms > w->lat_max)
        w->lat_max = ms;
}

/* resume: the first, full attachment of this thread's Registree, which yields the session to resume. Against the
 * Registrar it makes one request (a token Registree registers with its token here, and TLS 1.3 sends the ticket
 * carrying the binding after that); against the ceiling it closes and reads until the ceiling's close_notify, so
 * that TLS 1.3 tickets are read. */
static int first_attach(struct loader *w, const bench_cred *c, char *err, size_t errcap)
{
    const bench_opts *o = w->L->o;
    int with_request = w->L->mode == MODE_RESUME, create = c->token[0] != '\0';
    char req[1024], buf[256];
    size_t len = with_request ? build_request(create, o, c, 1, req, sizeof req) : 0;
    SSL *ssl = bench_attach_once(w->ctx, o, c, NULL, with_request ? req : NULL, len, create ? 201 : 200,
                                 create ? "2001" : "2000", err, errcap);
    if (ssl == NULL)
        return -1;
    if (!with_request) {
        SSL_shutdown(ssl);
        while (SSL_read(ssl, buf, sizeof buf) > 0)
            ;
        ERR_clear_error();
    }
    w->sess = SSL_get1_session(ssl);
    bench_close(ssl, 1, o->linger0);
    if (w->sess == NULL || !SSL_SESSION_is_resumable(w->sess)) {
        snprintf(err, errcap, "the server gave no resumable session (no ticket)");
        return -1;
    }
    return 0;
}

/* stream-retrieve, stream-create: what a device that streams data costs once it is attached. The thread attaches
 * once (handshake + GET of its <AE>; stream-create also makes its own <container> under its <AE>), none of it
 * measured, then sends requests on that one keep-alive connection, each after the previous response: a GET of its
 * <AE>, or a CREATE <contentInstance> in its container (answered 2001 only once it is durable). */
static void stream_main(struct loader *w)
{
    struct load *L = w->L;
    const bench_opts *o = L->o;
    const bench_cred *c = &L->creds->v[(size_t)w->index % L->creds->n];
    int create = L->mode == MODE_STREAM_CREATE;
    unsigned long ri = 1;
    char req[1024], err[400], cnt[64] = "", con[96];
    size_t len = build_request(0, o, c, ri, req, sizeof req);
    SSL *ssl = len ? bench_attach_once(w->ctx, o, c, NULL, req, len, 200, "2000", err, sizeof err) : NULL;

    if (ssl != NULL && create &&
        ((len = build_create(o, c, c->id, 3, "{\"m2m:cnt\":{}}", ++ri, req, sizeof req)) == 0 ||
         request_once(ssl, o, req, len, 201, "2001", cnt, sizeof cnt, err, sizeof err) != 0)) {
        bench_close(ssl, 0, o->linger0);
        ssl = NULL;
    }
    if (ssl == NULL) {
        w->errors = MAX_ERRORS_PER_THREAD;
        snprintf(w->first_error, sizeof w->first_error, "%s: attaching%s: %s", c->id,
                 create ? " and creating its <container>" : "", len ? err : "request too long");
    }
    atomic_fetch_add(&L->ready, 1);
    while (!atomic_load(&L->go))
        ;
    while (ssl != NULL && bench_now() < L->deadline) {
        double op_t0 = bench_now(); /* a request's latency: from its first byte sent to its response read */
        ri++;
        if (create) {
            snprintf(con, sizeof con, "{\"m2m:cin\":{\"cnf\":\"text/plain:0\",\"con\":\"reading %lu\"}}", ri);
            len = build_create(o, c, cnt, 4, con, ri, req, sizeof req);
        } else
            len = build_request(0, o, c, ri, req, sizeof req);
        if (len == 0 || request_once(ssl, o, req, len, create ? 201 : 200, create ? "2001" : "2000", NULL, 0, err,
                                     sizeof err) != 0) {
            /* the connection is in an unknown state now: this thread stops, and the run reports the error */
            w->errors++;
            snprintf(w->first_error, sizeof w->first_error, "%s: request %lu: %s", c->id, ri,
                     len ? err : "request too long");
            break;
        }
        w->ops++;
        record_latency(w, op_t0);
    }
    if (ssl != NULL)
        bench_close(ssl, 1, o->linger0);
}

static void *loader_main(void *arg)
{
    struct loader *w = arg;
    struct load *L = w->L;
    const bench_opts *o = L->o;
    int resume = L->mode == MODE_RESUME || L->mode == MODE_RESUME_HANDSHAKES;
    int request = L->mode == MODE_REATTACH || L->mode == MODE_ATTACH || L->mode == MODE_RESUME;
    size_t rr = (size_t)w->index;
    unsigned long ri = 1;
    char req[1024], err[400];

    if (L->mode == MODE_STREAM_RETRIEVE || L->mode == MODE_STREAM_CREATE) {
        stream_main(w);
        return NULL;
    }
    if (resume && first_attach(w, &L->creds->v[rr % L->creds->n], err, sizeof err) != 0) {
        w->errors = MAX_ERRORS_PER_THREAD;
        snprintf(w->first_error, sizeof w->first_error, "%s: first attachment: %s", L->creds->v[rr % L->creds->n].id,
                 err);
    }
    atomic_fetch_add(&L->ready, 1);
    while (!atomic_load(&L->go))
        ;
    while (bench_now() < L->deadline && w->errors < MAX_ERRORS_PER_THREAD) {
        const bench_cred *c;
        size_t req_len = 0;
        double op_t0;
        SSL *ssl;
        if (L->mode == MODE_ATTACH) {
            size_t i = atomic_fetch_add(&L->next, 1);
            if (i >= L->creds->n)
                break;
            c = &L->creds->v[i];
        } else if (resume) {
            c = &L->creds->v[(size_t)w->index % L->creds->n]; /* one Registree, one session per thread */
        } else {
            c = &L->creds->v[rr % L->creds->n];
            rr += (size_t)o->clients;
        }
        if (request && (req_len = build_request(L->mode == MODE_ATTACH, o, c, ++ri, req, sizeof req)) == 0) {
            snprintf(w->first_error, sizeof w->first_error, "request too long");
            w->errors++;
            break;
        }
        op_t0 = bench_now();
        ssl = bench_attach_once(w->ctx, o, c, resume ? w->sess : NULL, request ? req : NULL, req_len,
                                L->mode == MODE_ATTACH ? 201 : 200, L->mode == MODE_ATTACH ? "2001" : "2000", err,
                                sizeof err);
        if (ssl == NULL) {
            if (w->errors++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s: %s", c->id, err);
            continue;
        }
        if (SSL_session_reused(ssl))
            w->resumed++;
        if (!request) {
            /* Handshake only: send close_notify and wait for the server to close, so that the operation ends when
             * the server has done its part (in TLS 1.3, and in a resumed TLS 1.2 handshake, the client finishes
             * first; without waiting, a server slower than the client falls behind unseen). */
            char buf[256];
            SSL_shutdown(ssl);
            while (SSL_read(ssl, buf, sizeof buf) > 0)
                ;
            ERR_clear_error();
            bench_close(ssl, 0, o->linger0);
        } else
            bench_close(ssl, 1, o->linger0);
        w->ops++;
        record_latency(w, op_t0);
    }
    return NULL;
}

/* The latency below which a share q of all operations fell, in ms. */
static double lat_quantile(const struct loader *w, int n, long ops, double q)
{
    long want = (long)(q * (double)ops), seen = 0;
    for (size_t b = 0; b < LAT_BUCKETS; b++) {
        for (int i = 0; i < n; i++)
            seen += w[i].lat[b];
        if (seen > want)
            return (double)(b + 1) * LAT_STEP_MS;
    }
    return (double)LAT_BUCKETS * LAT_STEP_MS;
}

int cmd_load(const char *mode_name, bench_opts *o)
{
    struct load L;
    struct loader *w = NULL;
    bench_creds creds = {0};
    double t0 = 0, t1, scpu0 = -1, scpu1, ccpu0 = 0, ccpu1, secs;
    long ops = 0, errors = 0, resumed = 0, over20 = 0;
    double lat_max = 0;
    int rc = 1, started = 0;
    const char *first_error = NULL;

    memset(&L, 0, sizeof L);
    if (strcmp(mode_name, "handshakes") == 0)
        L.mode = MODE_HANDSHAKES;
    else if (strcmp(mode_name, "reattach") == 0)
        L.mode = MODE_REATTACH;
    else if (strcmp(mode_name, "resume") == 0)
        L.mode = MODE_RESUME;
    else if (strcmp(mode_name, "resume-handshakes") == 0)
        L.mode = MODE_RESUME_HANDSHAKES;
    else if (strcmp(mode_name, "stream-retrieve") == 0)
        L.mode = MODE_STREAM_RETRIEVE;
    else if (strcmp(mode_name, "stream-create") == 0)
        L.mode = MODE_STREAM_CREATE;
    else
        L.mode = MODE_ATTACH;
    o->resume = L.mode == MODE_RESUME || L.mode == MODE_RESUME_HANDSHAKES;
    if (o->port <= 0) {
        fprintf(stderr, "m2m-bench %s: --port is required\n", mode_name);
        return 2;
    }
    if (bench_creds_from_opts(&creds, o) != 0)
        return 2;
    L.o = o;
    L.creds = &creds;
    w = calloc((size_t)o->clients, sizeof *w);
    if (w == NULL)
        goto done;
    for (int i = 0; i < o->clients; i++) {
        w[i].L = &L;
        w[i].index = i;
        if ((w[i].ctx = bench_client_ctx(o, &creds)) == NULL)
            goto done;
    }
    for (; started < o->clients; started++)
        if (pthread_create(&w[started].t, NULL, loader_main, &w[started]) != 0) {
            fprintf(stderr, "m2m-bench: cannot start client thread %d\n", started);
            L.deadline = 0;
            atomic_store(&L.go, 1);
            goto join;
        }
    while (atomic_load(&L.ready) < o->clients) /* resume, stream: first attachments, not measured */
        usleep(1000);
    scpu0 = bench_proc_cpu(o->server_pid);
    ccpu0 = bench_self_cpu();
    t0 = bench_now();
    L.deadline = t0 + o->seconds;
    atomic_store(&L.go, 1);
join:
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].t, NULL);
        ops += w[i].ops;
        errors += w[i].errors;
        resumed += w[i].resumed;
        if (first_error == NULL && w[i].first_error[0])
            first_error = w[i].first_error;
    }
    if (started < o->clients)
        goto done;
    for (int i = 0; i < o->clients; i++) {
        if (w[i].lat_max > lat_max)
            lat_max = w[i].lat_max;
        for (size_t b = (size_t)(20.0 / LAT_STEP_MS); b < LAT_BUCKETS; b++)
            over20 += w[i].lat[b];
    }
    t1 = bench_now();
    scpu1 = bench_proc_cpu(o->server_pid);
    ccpu1 = bench_self_cpu();
    secs = t1 - t0;
    {
        static const char *const MECH[] = {"psk", "cert", "token"};
        double rate = secs > 0 ? (double)ops / secs : 0;
        double s_us = (scpu0 >= 0 && scpu1 >= 0 && ops > 0) ? (scpu1 - scpu0) * 1e6 / (double)ops : -1;
        double s_util = (scpu0 >= 0 && scpu1 >= 0 && secs > 0) ? (scpu1 - scpu0) / secs : -1;
        double c_us = ops > 0 ? (ccpu1 - ccpu0) * 1e6 / (double)ops : -1;
        const char *cipher = o->cipher ? o->cipher
                             : o->tls == 13      ? "TLS_AES_128_GCM_SHA256"
                             : o->mech == MECH_PSK ? "PSK-AES128-CBC-SHA256"
                                                   : "ECDHE-ECDSA-AES128-GCM-SHA256";
        printf("RESULT label=%s mode=%s mech=%s tls=%s cipher=%s clients=%d ops=%ld errors=%ld resumed=%ld "
               "seconds=%.3f rate=%.1f server_cpu_us_per_op=%.1f server_cpu_util=%.2f client_cpu_us_per_op=%.1f "
               "lat_p50_ms=%.1f lat_p99_ms=%.1f lat_max_ms=%.1f lat_over_20ms=%ld\n",
               o->label ? o->label : mode_name, mode_name, MECH[o->mech], o->tls == 13 ? "1.3" : "1.2", cipher,
               o->clients, ops, errors, resumed, secs, rate, s_us, s_util, c_us, lat_quantile(w, o->clients, ops, .5),
               lat_quantile(w, o->clients, ops, .99), lat_max, over20);
        fflush(stdout);
    }
    if (first_error != NULL)
        fprintf(stderr, "m2m-bench %s: %ld errors; first: %s\n", mode_name, errors, first_error);
    rc = (errors == 0 && ops > 0) ? 0 : 1;
done:
    if (w != NULL)
        for (int i = 0; i < o->clients; i++) {
            SSL_SESSION_free(w[i].sess);
            SSL_CTX_free(w[i].ctx);
        }
    free(w);
    bench_creds_free(&creds);
    return rc;
}

/* ---- idle attached connections ---- */

struct idler {
    pthread_t t;
    const bench_opts *o;
    bench_creds *creds;
    SSL_CTX *ctx;
    long from, to; /* connection indices [from, to) */
    int *fds;
    long opened, errors;
    char first_error[600];
};

static void *idler_main(void *arg)
{
    struct idler *w = arg;
    char req[1024], err[400];
    for (long i = w->from; i < w->to && w->errors < MAX_ERRORS_PER_THREAD; i++) {
        const bench_cred *c = &w->creds->v[(size_t)i % w->creds->n];
        size_t len = build_request(0, w->o, c, (unsigned long)i + 1, req, sizeof req);
        SSL *ssl = len ? bench_attach_once(w->ctx, w->o, c, NULL, req, len, 200, "2000", err, sizeof err) : NULL;
        if (ssl == NULL) {
            if (w->errors++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s", len ? err : "request too long");
            continue;
        }
        /* Keep the socket, drop the client's TLS state: the server holds an attached, idle keep-alive
         * connection, and the client's memory stays small. Nothing is sent. */
        w->fds[w->opened++ + w->from] = SSL_get_fd(ssl);
        SSL_free(ssl);
    }
    return NULL;
}

static volatile sig_atomic_t idle_stop;
static void on_stop(int sig)
{
    (void)sig;
    idle_stop = 1;
}

int cmd_idle(bench_opts *o)
{
    bench_creds creds = {0};
    struct idler *w = NULL;
    int *fds = NULL, rc = 1;
    long opened = 0, errors = 0, per;
    double t0, until;
    struct sigaction sa;

    if (o->port <= 0 || o->count <= 0) {
        fprintf(stderr, "m2m-bench idle: --port and --count are required\n");
        return 2;
    }
    {
        long want = o->count;
        o->count = 0; /* --count is the number of connections here, not a limit on --ids-file */
        if (bench_creds_from_opts(&creds, o) != 0)
            return 2;
        o->count = want;
    }
    bench_raise_nofile();
    fds = calloc((size_t)o->count, sizeof *fds);
    w = calloc((size_t)o->clients, sizeof *w);
    if (fds == NULL || w == NULL)
        goto done;
    for (long i = 0; i < o->count; i++)
        fds[i] = -1;
    per = (o->count + o->clients - 1) / o->clients;
    t0 = bench_now();
    for (int i = 0; i < o->clients; i++) {
        w[i].o = o;
        w[i].creds = &creds;
        w[i].fds = fds;
        w[i].from = i * per < o->count ? i * per : o->count;
        w[i].to = (i + 1) * per < o->count ? (i + 1) * per : o->count;
        if ((w[i].ctx = bench_client_ctx(o, &creds)) == NULL ||
            pthread_create(&w[i].t, NULL, idler_main, &w[i]) != 0) {
            fprintf(stderr, "m2m-bench idle: cannot start client thread %d\n", i);
            for (int j = 0; j < i; j++)
                pthread_join(w[j].t, NULL);
            goto done;
        }
    }
    for (int i = 0; i < o->clients; i++) {
        pthread_join(w[i].t, NULL);
        opened += w[i].opened;
        errors += w[i].errors;
        if (w[i].errors)
            fprintf(stderr, "m2m-bench idle: thread %d: %ld errors; first: %s\n", i, w[i].errors, w[i].first_error);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("READY opened=%ld errors=%ld seconds=%.2f server_rss_kib=%ld\n", opened, errors, bench_now() - t0,
           o->server_pid > 0 ? bench_proc_rss_kib(o->server_pid) : -1L);
    fflush(stdout);
    until = bench_now() + o->seconds;
    while (!idle_stop && bench_now() < until)
        usleep(50000);
    rc = opened == o->count ? 0 : 1;
done:
    if (fds != NULL)
        for (long i = 0; i < o->count; i++)
            if (fds[i] >= 0) {
                if (o->linger0) {
                    struct linger l = {1, 0};
                    setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof l);
                }
                close(fds[i]);
            }
    if (w != NULL)
        for (int i = 0; i < o->clients; i++)
            SSL_CTX_free(w[i].ctx);
    free(w);
    free(fds);
    bench_creds_free(&creds);
    return rc;
}
