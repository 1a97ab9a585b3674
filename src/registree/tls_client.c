/* Blocking TLS-PSK client (see tls_client.h). The socket is non-blocking underneath so that every wait goes
 * through poll() with a deadline: a dead Registrar costs the device a bounded time and a clear message. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "registree/tls_client.h"

#define PSK_IDENTITY_MAX 128
/* sizeof(SSL_SESSION.master_key): the most SSL_SESSION_set1_master_key accepts for a TLS 1.3 external PSK. */
#define TLS13_PSK_MAX 48

struct m2m_tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    int timeout_ms;
    int broken;       /* a fatal TLS or socket error: no close_notify may follow */
    int eof;          /* 1: peer closed; 2: cleanly, with close_notify */
    double handshake_ms;
    m2m_secret psk;
    char identity[PSK_IDENTITY_MAX + 1];
    char peer[300];
};

/* ---- time and signals ------------------------------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A library must not change the process's signal disposition, yet a write to a reset TCP connection raises
 * SIGPIPE. So SIGPIPE is blocked in this thread for the duration of the call, and one raised by the call is
 * consumed before the mask is restored (the libpq technique). */
typedef struct sigpipe_guard {
    sigset_t old;
    int was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    struct timespec zero = {0, 0};
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- messages --------------------------------------------------------------------------------------------------- */

/* strerror with a lowercase first letter, to read well after "peer: ". */
static const char *errno_text(int e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* OpenSSL's reason for the failure of an SSL call: the last queued error (e.g. "tlsv1 alert unknown psk
 * identity"), else what the socket said. Clears the queue so a later call starts clean. */
static void ssl_reason(int ssl_err, int saved_errno, char *out, size_t cap)
{
    unsigned long e, last = 0;
    const char *r;
    char eb[128];

    while ((e = ERR_get_error()) != 0)
        last = e;
    if (last != 0) {
        r = ERR_reason_error_string(last);
        if (r != NULL)
            snprintf(out, cap, "%s", r);
        else
            ERR_error_string_n(last, out, cap);
    } else if (ssl_err == SSL_ERROR_SYSCALL && saved_errno != 0) {
        snprintf(out, cap, "%s", errno_text(saved_errno, eb, sizeof eb));
    } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        snprintf(out, cap, "the peer closed the connection");
    } else {
        snprintf(out, cap, "SSL error %d", ssl_err);
    }
}

/* ---- PSK callbacks ---------------------------------------------------------------------------------------------- */

/* TLS 1.2 (RFC 4279): identity and key on request. The hint is ignored: the Registrar's GBA hint is for later
 * issues, and plain PSK needs none. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    const struct m2m_tls_client *c = SSL_get_app_data(ssl);
    size_t idlen;
    (void)hint;
    if (c == NULL)
        return 0;
    idlen = strlen(c->identity);
    if (idlen + 1 > max_identity_len || c->psk.len > max_psk_len)
        return 0;
    memcpy(identity, c->identity, idlen + 1);
    memcpy(psk, c->psk.bytes, c->psk.len);
    return (unsigned int)c->psk.len;
}

/* TLS 1.3 external PSK: a session carrying the key, bound to TLS_AES_128_GCM_SHA256, i.e. to SHA-256. OpenSSL
 * calls again after a HelloRetryRequest with the chosen suite's digest (md); a PSK with another hash is not
 * offered then. OpenSSL takes the reference returned in *sess. */
static int psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                              SSL_SESSION **sess)
{
    static const unsigned char tls_aes_128_gcm_sha256[] = {0x13, 0x01};
    const struct m2m_tls_client *c = SSL_get_app_data(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls_aes_128_gcm_sha256);
    SSL_SESSION *s = NULL;

    *id = NULL;
    *idlen = 0;
    *sess = NULL;
    if (c == NULL || cipher == NULL)
        return 0;
    if (md != NULL && SSL_CIPHER_get_handshake_digest(cipher) != md)
        return 1;
    s = SSL_SESSION_new();
    if (s == NULL || SSL_SESSION_set1_master_key(s, c->psk.bytes, c->psk.len) != 1 ||
        SSL_SESSION_set_cipher(s, cipher) != 1 || SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1) {
        SSL_SESSION_free(s);
        return 0;
    }
    *sess = s;
    *id = (const unsigned char *)c->identity;
    *idlen = strlen(c->identity);
    return 1;
}

/* ---- TCP -------------------------------------------------------------------------------------------------------- */

/* Waits until fd is ready for the direction OpenSSL asked for, or the deadline passes. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        double left = deadline - now_ms();
        int n;
        if (left <= 0)
            return -1;
        n = poll(&p, 1, (int)left + 1);
        if (n > 0)
            return 0;
        if (n == 0)
            continue; /* re-check the clock: poll may wake a little early */
        if (errno != EINTR)
            return -1;
    }
}

static int tcp_connect(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL, *ai;
    int gai, last = ECONNREFUSED, one = 1;
    char eb[128];

    gai = getaddrinfo(cfg->host, cfg->port, &hints, &res);
    if (gai != 0)
        return m2m_fail(err, M2M_E_IO, "%s: cannot resolve %s: %s", c->peer, cfg->host,
                        gai == EAI_SYSTEM ? errno_text(errno, eb, sizeof eb) : gai_strerror(gai));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        double deadline = now_ms() + c->timeout_ms;
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            c->fd = fd;
            break;
        }
        if (errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                soerr = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
                soerr = errno;
            if (soerr == 0) {
                c->fd = fd;
                break;
            }
            last = soerr;
        } else {
            last = errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        if (last == ETIMEDOUT)
            return m2m_fail(err, M2M_E_IO, "%s: no answer to the TCP connect within %d ms", c->peer,
                            c->timeout_ms);
        return m2m_fail(err, M2M_E_IO, "%s: %s", c->peer, errno_text(last, eb, sizeof eb));
    }
    /* Requests are small and each waits for its answer: Nagle would add a round trip's delay. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

/* ---- TLS -------------------------------------------------------------------------------------------------------- */

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int make_ssl(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    int min = TLS1_2_VERSION, max = TLS1_3_VERSION;

    if (cfg->range == M2M_TLS_ONLY_1_2)
        max = TLS1_2_VERSION;
    else if (cfg->range == M2M_TLS_ONLY_1_3)
        min = TLS1_3_VERSION;
    if (c->psk.len > TLS13_PSK_MAX)
        max = TLS1_2_VERSION; /* connect() refused this already when only TLS 1.3 was allowed */
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS context");
    if (SSL_CTX_set_min_proto_version(c->ctx, min) != 1 || SSL_CTX_set_max_proto_version(c->ctx, max) != 1 ||
        SSL_CTX_set_cipher_list(c->ctx, cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_PSK_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(c->ctx, M2M_TLS13_PSK_CIPHERSUITES) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot set the TLS versions or cipher suites");
    }
    /* The Registrar proves itself by knowing the key; a certificate is never an acceptable substitute. With
     * VERIFY_PEER and an empty trust store any certificate fails, and connect() checks the outcome again. */
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_psk_client_callback(c->ctx, psk_client_cb);
    SSL_CTX_set_psk_use_session_callback(c->ctx, psk_use_session_cb);
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_app_data(c->ssl, c) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS connection object");
    if (!is_ip_literal(cfg->host) && SSL_set_tlsext_host_name(c->ssl, cfg->host) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot set the server name %s", cfg->host);
    return 0;
}

static int handshake(m2m_tls_client *c, m2m_err *err)
{
    double start = now_ms(), deadline = start + c->timeout_ms;
    char why[256];

    for (;;) {
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != 0) {
                c->broken = 1;
                return m2m_fail(err, M2M_E_TLS, "TLS handshake with %s: no answer within %d ms", c->peer,
                                c->timeout_ms);
            }
            continue;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        return m2m_fail(err, M2M_E_TLS, "TLS handshake with %s failed: %s", c->peer, why);
    }
    c->handshake_ms = now_ms() - start;
    /* Belt and braces for the verify setting above: the suite must be a PSK one (TLS 1.2) or the external PSK
     * must have been accepted (TLS 1.3), and no certificate may have been involved. */
    {
        const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
        const X509 *cert = SSL_get0_peer_certificate(c->ssl);
        int psk_used = SSL_version(c->ssl) == TLS1_3_VERSION
                           ? SSL_session_reused(c->ssl) == 1
                           : cipher != NULL && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_psk;
        if (cert != NULL || !psk_used) {
            c->broken = 1;
            return m2m_fail(err, M2M_E_AUTH, "TLS handshake with %s: the peer did not authenticate with the PSK",
                            c->peer);
        }
    }
    return 0;
}

m2m_tls_client *m2m_tls_client_connect(const m2m_tls_client_config *cfg, m2m_err *err)
{
    m2m_tls_client *c = NULL;
    sigpipe_guard g;
    int ok = 0;

    sigpipe_block(&g);
    if (cfg == NULL || cfg->host == NULL || cfg->port == NULL || cfg->psk_identity == NULL || cfg->psk == NULL) {
        m2m_fail(err, M2M_E_ARG, "TLS client: host, port, PSK identity and PSK are required");
        goto done;
    }
    if (strlen(cfg->psk_identity) > PSK_IDENTITY_MAX || cfg->psk_identity[0] == '\0') {
        m2m_fail(err, M2M_E_ARG, "TLS client: the PSK identity must have 1 to %d characters", PSK_IDENTITY_MAX);
        goto done;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    c->fd = -1;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : M2M_TLS_DEFAULT_TIMEOUT_MS;
    if (cfg->peer_name != NULL)
        snprintf(c->peer, sizeof c->peer, "%s", cfg->peer_name);
    else
        snprintf(c->peer, sizeof c->peer, strchr(cfg->host, ':') ? "[%s]:%s" : "%s:%s", cfg->host, cfg->port);
    snprintf(c->identity, sizeof c->identity, "%s", cfg->psk_identity);
    if (m2m_secret_set(&c->psk, cfg->psk, cfg->psk_len, err) != 0)
        goto done;
    if (c->psk.len == 0) {
        m2m_fail(err, M2M_E_ARG, "TLS client: empty PSK");
        goto done;
    }
    if (c->psk.len > TLS13_PSK_MAX && cfg->range == M2M_TLS_ONLY_1_3) {
        m2m_fail(err, M2M_E_ARG, "a %zu-octet PSK cannot be used with TLS 1.3 (OpenSSL takes at most %d octets); "
                 "allow TLS 1.2", c->psk.len, TLS13_PSK_MAX);
        goto done;
    }
    if (tcp_connect(c, cfg, err) != 0 || make_ssl(c, cfg, err) != 0 || handshake(c, err) != 0)
        goto done;
    ok = 1;
done:
    if (!ok) {
        m2m_tls_client_close(c);
        c = NULL;
    }
    ERR_clear_error();
    sigpipe_restore(&g);
    return c;
}

int m2m_tls_client_write(m2m_tls_client *c, const void *buf, size_t len, m2m_err *err)
{
    const unsigned char *p = buf;
    sigpipe_guard g;
    char why[256];
    int rc = -1;

    sigpipe_block(&g);
    if (c == NULL || c->ssl == NULL || c->broken) {
        m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
        goto done;
    }
    while (len > 0) {
        double deadline = now_ms() + c->timeout_ms;
        size_t n = 0;
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_write_ex(c->ssl, p, len, &n);
        if (r == 1) {
            p += n;
            len -= n;
            continue;
        }
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 0)
                continue; /* OpenSSL wants the same arguments again */
            c->broken = 1;
            m2m_fail(err, M2M_E_IO, "%s: sending stalled for %d ms", c->peer, c->timeout_ms);
            goto done;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        m2m_fail(err, M2M_E_IO, "%s: cannot send: %s", c->peer, why);
        goto done;
    }
    rc = 0;
done:
    sigpipe_restore(&g);
    return rc;
}

int m2m_tls_client_read(m2m_tls_client *c, void *buf, size_t cap, size_t *got, m2m_err *err)
{
    double deadline;
    sigpipe_guard g;
    char why[256];
    int rc = -1;

    *got = 0;
    sigpipe_block(&g);
    if (c == NULL || c->ssl == NULL || c->broken) {
        m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
        goto done;
    }
    if (c->eof) {
        rc = 0;
        goto done;
    }
    deadline = now_ms() + c->timeout_ms;
    for (;;) {
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_read_ex(c->ssl, buf, cap, got);
        if (r == 1)
            break;
        *got = 0;
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            c->eof = 2;
            break;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 0)
                continue;
            m2m_fail(err, M2M_E_IO, "%s: no answer within %d ms", c->peer, c->timeout_ms);
            goto done; /* not broken: the caller may still close politely */
        }
        /* A TCP FIN without close_notify: OpenSSL 3 calls it a protocol error; the caller decides whether the data
         * it has is complete (an HTTP message with a length is), so report it as an end of stream. */
        if ((e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
            (e == SSL_ERROR_SYSCALL && saved == 0 && ERR_peek_error() == 0)) {
            ERR_clear_error();
            c->eof = 1;
            c->broken = 1;
            break;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        m2m_fail(err, M2M_E_IO, "%s: cannot receive: %s", c->peer, why);
        goto done;
    }
    rc = 0;
done:
    sigpipe_restore(&g);
    return rc;
}

int m2m_tls_client_closed_cleanly(const m2m_tls_client *c)
{
    return c != NULL && c->eof == 2;
}

void m2m_tls_client_close(m2m_tls_client *c)
{
    sigpipe_guard g;

    if (c == NULL)
        return;
    sigpipe_block(&g);
    /* One SSL_shutdown sends our close_notify; waiting for the peer's would only cost the device time. */
    if (c->ssl != NULL && !c->broken && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    ERR_clear_error();
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    m2m_secret_clear(&c->psk);
    free(c);
    sigpipe_restore(&g);
}

const char *m2m_tls_client_version(const m2m_tls_client *c)
{
    return c != NULL && c->ssl != NULL ? SSL_get_version(c->ssl) : "";
}

const char *m2m_tls_client_cipher(const m2m_tls_client *c)
{
    const char *name = c != NULL && c->ssl != NULL ? SSL_get_cipher_name(c->ssl) : NULL;
    return name != NULL ? name : "";
}

const char *m2m_tls_client_peer(const m2m_tls_client *c)
{
    return c != NULL ? c->peer : "";
}

double m2m_tls_client_handshake_ms(const m2m_tls_client *c)
{
    return c != NULL ? c->handshake_ms : 0.0;
}
