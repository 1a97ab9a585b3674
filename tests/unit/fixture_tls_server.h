/* SPDX-License-Identifier: Apache-2.0 */
/* A TLS server in a thread of the test process, for tests that script the peer with OpenSSL directly (a fake
 * Registrar, a resumption peer). Header-only (static inline).
 *
 *   fixture_listen_loopback(&port)      a listening TCP socket on 127.0.0.1 with an ephemeral port
 *   fake_server_open(srv)               its mutex and listening socket (setup); srv->ctx is the test's to make
 *   fake_server_start(srv, handle, arg) the thread: it accepts connections until fake_server_close, and for each
 *                                       calls handle(ssl, arg) with a fresh SSL on it (app data: arg), which does
 *                                       the handshake (SSL_accept) and what follows; SIGPIPE is blocked in it
 *   fake_server_close(srv)              stops and joins the thread, frees all (teardown); a connection still open
 *                                       (a test that failed half-way) is shut down, so the join never hangs
 *   fake_server_count(srv, &counter)    a counter the thread updates under srv->mu
 *   fake_server_wait(srv, &counter, n)  the same, after waiting up to 3 s for it to reach n: the server thread may
 *                                       still be finishing a handshake the client already considers done (TLS 1.3)
 *   fake_server_copy(srv, out, cap, s)  a string the thread writes under srv->mu (the last request, say)
 *   fake_read_request(ssl, buf, cap)    one HTTP request (headers and a Content-Length body); 0 when the client closed
 *   fake_psk_session(ssl, key, len)     the TLS 1.3 session (TLS_AES_128_GCM_SHA256) for an external PSK
 */
#ifndef M2M_TEST_FIXTURE_TLS_SERVER_H
#define M2M_TEST_FIXTURE_TLS_SERVER_H

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket on 127.0.0.1 that listens on a port of the kernel's choice, which goes to *port; -1 on failure. */
static inline int fixture_listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

struct fake_server {
    int lfd, port;
    char port_s[8];          /* port, as text */
    SSL_CTX *ctx;
    pthread_t thread;
    int running;             /* the thread was started */
    volatile int stop;
    pthread_mutex_t mu;      /* guards what the thread and the test share */
    int conn_fd;             /* the connection being handled, -1 when none (under mu) */
    void (*handle)(SSL *ssl, void *arg);
    void *arg;
};

static inline int fake_server_open(struct fake_server *srv)
{
    pthread_mutex_init(&srv->mu, NULL);
    srv->conn_fd = -1;
    srv->lfd = fixture_listen_loopback(&srv->port);
    if (srv->lfd < 0)
        return -1;
    snprintf(srv->port_s, sizeof srv->port_s, "%d", srv->port);
    return 0;
}

static inline void *fake_server_thread(void *arg)
{
    struct fake_server *srv = arg;
    sigset_t pipe_set;
    /* A client that closes right after the handshake (a re-attachment) leaves the TLS 1.3 session tickets the
     * server sends afterwards nowhere to go: EPIPE for this thread, not a SIGPIPE for the test process. */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    while (!srv->stop) {
        struct pollfd p = {.fd = srv->lfd, .events = POLLIN};
        SSL *ssl;
        int fd;
        if (poll(&p, 1, 50) <= 0)
            continue;
        if ((fd = accept(srv->lfd, NULL, NULL)) < 0)
            continue;
        pthread_mutex_lock(&srv->mu);
        srv->conn_fd = fd;
        pthread_mutex_unlock(&srv->mu);
        ssl = SSL_new(srv->ctx);
        SSL_set_fd(ssl, fd);
        SSL_set_app_data(ssl, srv->arg);
        srv->handle(ssl, srv->arg);
        ERR_clear_error();
        SSL_free(ssl);
        pthread_mutex_lock(&srv->mu);
        srv->conn_fd = -1;
        pthread_mutex_unlock(&srv->mu);
        close(fd);
    }
    return NULL;
}

static inline int fake_server_start(struct fake_server *srv, void (*handle)(SSL *ssl, void *arg), void *arg)
{
    srv->handle = handle;
    srv->arg = arg;
    if (pthread_create(&srv->thread, NULL, fake_server_thread, srv) != 0)
        return -1;
    srv->running = 1;
    return 0;
}

static inline void fake_server_close(struct fake_server *srv)
{
    srv->stop = 1;
    /* a handler blocked reading from a client the test abandoned (a failed assertion skips its cleanup) */
    pthread_mutex_lock(&srv->mu);
    if (srv->conn_fd >= 0)
        shutdown(srv->conn_fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->mu);
    if (srv->running)
        pthread_join(srv->thread, NULL);
    if (srv->lfd >= 0)
        close(srv->lfd);
    SSL_CTX_free(srv->ctx);
    pthread_mutex_destroy(&srv->mu);
}

static inline int fake_server_count(struct fake_server *srv, const int *which)
{
    int v;
    pthread_mutex_lock(&srv->mu);
    v = *which;
    pthread_mutex_unlock(&srv->mu);
    return v;
}

/* Copies src, which the thread writes under srv->mu, into out (cap bytes). */
static inline void fake_server_copy(struct fake_server *srv, char *out, size_t cap, const char *src)
{
    pthread_mutex_lock(&srv->mu);
    snprintf(out, cap, "%s", src);
    pthread_mutex_unlock(&srv->mu);
}

static inline int fake_server_wait(struct fake_server *srv, const int *which, int want)
{
    for (int i = 0; i < 300 && fake_server_count(srv, which) < want; i++)
        usleep(10 * 1000);
    return fake_server_count(srv, which);
}

static inline size_t fake_read_request(SSL *ssl, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        char *end, *cl;
        size_t need;
        int n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            cl = strcasestr(buf, "\r\nContent-Length: ");
            need = (size_t)(end + 4 - buf) + (cl != NULL && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
            if (len >= need)
                return len;
        }
        if (len + 1 >= cap)
            return 0;
        n = SSL_read(ssl, buf + len, (int)(cap - 1 - len));
        if (n <= 0)
            return 0;
        len += (size_t)n;
    }
}

/* For SSL_CTX_set_psk_find_session_callback: the session that makes key the external PSK. NULL on failure. */
static inline SSL_SESSION *fake_psk_session(SSL *ssl, const unsigned char *key, size_t len)
{
    static const unsigned char aes128gcm[] = {0x13, 0x01};
    SSL_SESSION *s = SSL_SESSION_new();
    if (s == NULL || !SSL_SESSION_set1_master_key(s, key, len) ||
        !SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, aes128gcm)) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return NULL;
    }
    return s;
}

#endif
