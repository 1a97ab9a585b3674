/* SPDX-License-Identifier: Apache-2.0 */
/* The ceiling: a raw OpenSSL TLS server with nothing else in it.
 *
 * Per connection it does exactly this: accept; SSL_new; the TLS handshake; then it reads until the client's
 * close_notify (any application data is read and discarded) and closes the socket without answering it, as the
 * Registrar does (the client waits for that close, so each connection is the server's work done). No HTTP, no
 * store, no libevent. TLS-PSK identities are looked up by binary search in an in-memory table
 * of key IDs.
 *
 * Its TLS settings copy the Registrar's (src/secctx/tls_server.c): TLS 1.2 and 1.3, the same suites, no session
 * cache, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN. So the gap between this server and the Registrar is
 * what the Registrar adds on top of OpenSSL. Options add what the Registrar does for the other mechanisms:
 *   --cert/--key-file  an ECDSA server certificate (certificate handshakes besides PSK)
 *   --verify-client    a CertificateRequest, and any client certificate accepted (the Registrar's enrolment
 *                      lookup is what it adds on top)
 *   --tickets          stateless session tickets sealed as the Registrar seals them (AES-256-CBC + HMAC-SHA256
 *                      through the ticket-key callback; one random key here, the Registrar's live in its store):
 *                      TLS 1.2 tickets when the client asks, one ticket per full TLS 1.3 handshake, and like the
 *                      Registrar no new ticket after a resumption unless OpenSSL asks to renew
 * Without --tickets no ticket is ever issued.
 *
 * Like the Registrar it runs N worker threads, each with its own SO_REUSEPORT listening socket on the shared port.
 * By default each worker is an epoll loop over non-blocking sockets (the Registrar's shape: many connections in
 * flight per thread). --blocking makes each worker a plain accept loop serving one connection at a time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
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
/* With a certificate, as the Registrar's TLS12_ALL_SUITES. */
static const char TLS12_CERT_SUITES[] = "ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256:"
                                        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256";
static const char TLS13_SUITES[] = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";

static bench_creds g_creds; /* sorted by key_id */
static atomic_long g_handshakes, g_failures, g_resumed;

static int cred_cmp(const void *a, const void *b)
{
    return strcmp(((const bench_cred *)a)->key_id, ((const bench_cred *)b)->key_id);
}

static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
    bench_cred key;
    const bench_cred *c;
    if (identity == NULL || strlen(identity) != 32)
        return 0;
    memcpy(key.key_id, identity, 33); /* the ceiling serves key IDs only */
    c = bsearch(&key, g_creds.v, g_creds.n, sizeof *g_creds.v, cred_cmp);
    if (c == NULL || c->key_len > max_psk_len)
        return 0;
    SSL_set_app_data(ssl, (void *)c); /* an external PSK: a TLS 1.3 "reused" handshake that resumed nothing */
    memcpy(psk, c->key, c->key_len);
    return (unsigned int)c->key_len;
}

/* Any client certificate will do: the Registrar's cert-verify callback replaces chain verification too. */
static void count_handshake(SSL *ssl)
{
    atomic_fetch_add(&g_handshakes, 1);
    if (SSL_session_reused(ssl) && SSL_get_app_data(ssl) == NULL)
        atomic_fetch_add(&g_resumed, 1);
}

static int accept_any_cert(X509_STORE_CTX *xs, void *arg)
{
    (void)xs, (void)arg;
    return 1;
}

/* Ticket policy as the Registrar's (src/secctx/resume.c): a ticket that opens is used, and a new one is issued only
 * when OpenSSL asks to renew it; OpenSSL's default would send a new ticket after every TLS 1.3 resumption. */
static SSL_TICKET_RETURN ticket_decrypted(SSL *ssl, SSL_SESSION *ss, const unsigned char *keyname, size_t keyname_len,
                                          SSL_TICKET_STATUS status, void *arg)
{
    (void)ssl, (void)ss, (void)keyname, (void)keyname_len, (void)arg;
    if (status == SSL_TICKET_SUCCESS)
        return SSL_TICKET_RETURN_USE;
    if (status == SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_USE_RENEW;
    return SSL_TICKET_RETURN_IGNORE_RENEW;
}

/* Ticket sealing as the Registrar's (src/secctx/resume.c): AES-256-CBC + HMAC-SHA256 through the ticket-key
 * callback, with one random key here (the Registrar's rotate and live in its store). OpenSSL's built-in ticket key
 * path costs more per ticket, so without this the ceiling would be slower than the Registrar at resumption. */
static unsigned char g_tick_name[16], g_tick_aes[32], g_tick_hmac[32];

static int ticket_key_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[2];
    (void)ssl;
    if (enc) {
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(key_name, g_tick_name, 16);
    } else if (CRYPTO_memcmp(key_name, g_tick_name, 16) != 0) {
        return 0;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(hctx, g_tick_hmac, sizeof g_tick_hmac, params) != 1)
        return -1;
    if (enc ? EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, g_tick_aes, iv) != 1
            : EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, g_tick_aes, iv) != 1)
        return -1;
    return 1;
}

static SSL_CTX *server_ctx(const bench_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, o->cert_file ? TLS12_CERT_SUITES : TLS12_SUITES) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1)
        goto fail;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 (o->tickets ? 0 : SSL_OP_NO_TICKET));
    SSL_CTX_set_num_tickets(ctx, o->tickets ? 1 : 0);
    if (o->tickets) {
        if (RAND_bytes(g_tick_name, sizeof g_tick_name) != 1 || RAND_bytes(g_tick_aes, sizeof g_tick_aes) != 1 ||
            RAND_bytes(g_tick_hmac, sizeof g_tick_hmac) != 1)
            goto fail;
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
        SSL_CTX_set_session_ticket_cb(ctx, NULL, ticket_decrypted, NULL);
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"m2m-bench", 9);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    if (g_creds.n > 0)
        SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
    if (o->cert_file != NULL) {
        if (o->key_file == NULL || SSL_CTX_use_certificate_file(ctx, o->cert_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            fprintf(stderr, "m2m-bench ceiling-server: cannot use --cert %s with --key-file %s\n", o->cert_file,
                    o->key_file ? o->key_file : "(none)");
            goto fail;
        }
    }
    if (o->verify_client) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, accept_any_cert, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
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
            count_handshake(ssl);
            while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
                ;
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
            count_handshake(c->ssl);
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
        econn_free(c); /* the client's close_notify (or an error): close, without answering, as the Registrar does */
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

    if ((o->ids_file != NULL || o->id != NULL || o->cert_file == NULL) && bench_creds_from_opts(&g_creds, o) != 0)
        return 2;
    if (g_creds.n > 0)
        qsort(g_creds.v, g_creds.n, sizeof *g_creds.v, cred_cmp);
    if ((ctx = server_ctx(o)) == NULL) {
        fprintf(stderr, "m2m-bench ceiling-server: cannot create the TLS context\n");
        return 1;
    }
    bench_raise_nofile();
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
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
    printf("listening port %d (%s, %d thread%s, %zu key%s%s%s%s)\n", port, o->blocking ? "blocking" : "epoll",
           o->threads, o->threads == 1 ? "" : "s", g_creds.n, g_creds.n == 1 ? "" : "s",
           o->cert_file ? ", certificate" : "", o->verify_client ? ", client certificates" : "",
           o->tickets ? ", tickets" : "");
    fflush(stdout);
    /* SIGUSR1 prints the counters (bench/run.sh reads them around each measurement). */
    while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
        printf("STATS handshakes=%ld resumed=%ld failed=%ld\n", atomic_load(&g_handshakes), atomic_load(&g_resumed),
               atomic_load(&g_failures));
        fflush(stdout);
    }
    fprintf(stderr, "m2m-bench ceiling-server: %ld handshakes (%ld resumed), %ld failed\n",
            atomic_load(&g_handshakes), atomic_load(&g_resumed), atomic_load(&g_failures));
    /* Workers are blocked in accept/epoll_wait: exit without joining them. */
    _exit(0);
}
