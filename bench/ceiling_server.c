/* The ceiling: a raw OpenSSL TLS-PSK server with nothing else in it.
 *
 * Per connection it does exactly this: accept; SSL_new; TLS-PSK handshake, the identity looked up by binary search
 * in an in-memory table of key IDs; then it reads until the client's close_notify (any application data is read
 * and discarded), answers with its own close_notify and closes the socket. No HTTP, no store, no libevent.
 *
 * Its TLS settings copy the Registrar's (src/secctx/tls_server.c): TLS 1.2 and 1.3, the same suites, no tickets,
 * no session cache, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN. So the gap between this server and the
 * Registrar is what the Registrar adds on top of OpenSSL.
 *
 * Like the Registrar it runs N worker threads, each with its own SO_REUSEPORT listening socket on the shared port.
 * By default each worker is an epoll loop over non-blocking sockets (the Registrar's shape: many connections in
 * flight per thread). --blocking makes each worker a plain accept loop serving one connection at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static const char TLS12_SUITES[] = "PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:ECDHE-PSK-AES128-CBC-SHA256";
static const char TLS13_SUITES[] = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";

static bench_creds g_creds; /* sorted by key_id */
static atomic_long g_handshakes, g_failures;

static int cred_cmp(const void *a, const void *b)
{
    return strcmp(((const bench_cred *)a)->key_id, ((const bench_cred *)b)->key_id);
}

static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
    bench_cred key;
    const bench_cred *c;
    (void)ssl;
    if (identity == NULL || strlen(identity) != 32)
        return 0;
    memcpy(key.key_id, identity, 33);
    c = bsearch(&key, g_creds.v, g_creds.n, sizeof *g_creds.v, cred_cmp);
    if (c == NULL || c->key_len > max_psk_len)
        return 0;
    memcpy(psk, c->key, c->key_len);
    return (unsigned int)c->key_len;
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, TLS12_SUITES) != 1 || SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
    return ctx;
}

static int listen_on(const char *host, int port, int nonblock)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        len = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        len = sizeof(struct sockaddr_in6);
    } else {
        fprintf(stderr, "m2m-bench ceiling-server: --host must be a numeric address\n");
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        perror("m2m-bench ceiling-server: bind/listen");
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

struct worker {
    pthread_t t;
    SSL_CTX *ctx;
    int lfd;
};

/* ---- blocking: one connection at a time ---- */

static void *blocking_main(void *arg)
{
    struct worker *w = arg;
    char buf[4096];
    for (;;) {
        struct timeval tv = {10, 0};
        int fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC), n;
        SSL *ssl;
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                continue;
            break;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssl = SSL_new(w->ctx);
        if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
            atomic_fetch_add(&g_handshakes, 1);
            while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
                ;
            if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN)
                SSL_shutdown(ssl);
        } else {
            atomic_fetch_add(&g_failures, 1);
        }
        SSL_free(ssl);
        ERR_clear_error();
        close(fd);
    }
    return NULL;
}

/* ---- epoll: non-blocking, many connections per thread ---- */

struct econn {
    int fd;
    SSL *ssl;
    int handshaken;
    uint32_t events;
};

static void econn_free(struct econn *c)
{
    SSL_free(c->ssl);
    close(c->fd); /* also leaves the epoll set */
    ERR_clear_error();
    free(c);
}

static void want(int ep, struct econn *c, uint32_t ev)
{
    if (c->events != ev) {
        struct epoll_event e = {.events = ev, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        c->events = ev;
    }
}

/* Advances one connection as far as its input allows; frees it when done. */
static void drive(int ep, struct econn *c)
{
    char buf[4096];
    int r, e;
    if (!c->handshaken) {
        r = SSL_do_handshake(c->ssl);
        if (r == 1) {
            c->handshaken = 1;
            atomic_fetch_add(&g_handshakes, 1);
        } else {
            e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                want(ep, c, EPOLLIN);
            else if (e == SSL_ERROR_WANT_WRITE)
                want(ep, c, EPOLLOUT);
            else {
                atomic_fetch_add(&g_failures, 1);
                econn_free(c);
            }
            return;
        }
    }
    for (;;) {
        r = SSL_read(c->ssl, buf, sizeof buf);
        if (r > 0)
            continue; /* application data: discarded */
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            want(ep, c, EPOLLIN);
            return;
        }
        if (e == SSL_ERROR_WANT_WRITE) {
            want(ep, c, EPOLLOUT);
            return;
        }
        if (e == SSL_ERROR_ZERO_RETURN)
            SSL_shutdown(c->ssl); /* our close_notify; the socket may already be reset: ignored */
        econn_free(c);
        return;
    }
}

static void *epoll_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
    int ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, w->lfd, &lev) != 0) {
        perror("m2m-bench ceiling-server: epoll");
        return NULL;
    }
    for (;;) {
        int n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            struct econn *c = evs[i].data.ptr;
            if (c != NULL) {
                drive(ep, c);
                continue;
            }
            for (;;) { /* accept everything pending */
                int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
                struct epoll_event e;
                if (fd < 0)
                    break;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                if (c == NULL || (c->ssl = SSL_new(w->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                    if (c != NULL)
                        SSL_free(c->ssl);
                    free(c);
                    close(fd);
                    continue;
                }
                c->fd = fd;
                SSL_set_accept_state(c->ssl);
                c->events = EPOLLIN;
                e.events = EPOLLIN;
                e.data.ptr = c;
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
                    econn_free(c);
                    continue;
                }
                drive(ep, c);
            }
        }
    }
    close(ep);
    return NULL;
}

int cmd_ceiling_server(bench_opts *o)
{
    struct worker *w;
    SSL_CTX *ctx;
    sigset_t set;
    int port = o->port, sig = 0;

    if (bench_creds_from_opts(&g_creds, o) != 0)
        return 2;
    qsort(g_creds.v, g_creds.n, sizeof *g_creds.v, cred_cmp);
    if ((ctx = server_ctx()) == NULL) {
        fprintf(stderr, "m2m-bench ceiling-server: cannot create the TLS context\n");
        return 1;
    }
    bench_raise_nofile();
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    w = calloc((size_t)o->threads, sizeof *w);
    if (w == NULL)
        return 1;
    for (int i = 0; i < o->threads; i++) {
        w[i].ctx = ctx;
        w[i].lfd = listen_on(o->host, port, !o->blocking);
        if (w[i].lfd < 0)
            return 1;
        if (i == 0)
            port = bound_port(w[i].lfd); /* the others join the same port, even for --port 0 */
    }
    for (int i = 0; i < o->threads; i++)
        if (pthread_create(&w[i].t, NULL, o->blocking ? blocking_main : epoll_main, &w[i]) != 0) {
            fprintf(stderr, "m2m-bench ceiling-server: cannot start worker %d\n", i);
            return 1;
        }
    printf("listening port %d (%s, %d thread%s, %zu key%s)\n", port, o->blocking ? "blocking" : "epoll", o->threads,
           o->threads == 1 ? "" : "s", g_creds.n, g_creds.n == 1 ? "" : "s");
    fflush(stdout);
    sigwait(&set, &sig);
    fprintf(stderr, "m2m-bench ceiling-server: %ld handshakes, %ld failed\n", atomic_load(&g_handshakes),
            atomic_load(&g_failures));
    /* Workers are blocked in accept/epoll_wait: exit without joining them. */
    _exit(0);
}
