/* SPDX-License-Identifier: Apache-2.0 */
/* What libcoap 4.3.1 does not hand out, taken with public means only: its DTLS SSL_CTX (while it is made), its
 * endpoint's UDP socket (after it is opened) and what its epoll descriptor watches. coap_server.c says why each is
 * needed. */
#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registrar/coap.h"

/* ---- the context ---- */

static pthread_once_t coap_once = PTHREAD_ONCE_INIT;
static int capture_index = -1;
static _Thread_local SSL_CTX **capture;

static void capture_new(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    SSL_CTX *ctx = parent;
    (void)ptr, (void)ad, (void)idx, (void)argl, (void)argp;
    if (capture != NULL && *capture == NULL && SSL_CTX_get_ssl_method(ctx) == DTLS_method())
        *capture = ctx;
}

/* libcoap's random numbers (a session's first message ID and request tag, jitter) from OpenSSL's DRBG: by default
 * each is a getrandom system call, two per DTLS session. */
static int openssl_prng(void *out, size_t len)
{
    return len <= INT_MAX && RAND_bytes(out, (int)len) == 1;
}

static void coap_init_once(void)
{
    coap_startup();
    coap_set_prng(openssl_prng);
    /* libcoap's own log lines are not ours (format, and request contents a peer chose, tokens among them) */
    coap_set_log_level(LOG_EMERG);
    coap_dtls_set_log_level(LOG_EMERG);
    capture_index = SSL_CTX_get_ex_new_index(0, "m2m libcoap context", capture_new, NULL, NULL);
}

int m2m_coap_context_new(struct m2m_coap *srv, m2m_err *err)
{
    pthread_once(&coap_once, coap_init_once);
    if (capture_index < 0 || coap_get_tls_library_version()->type != COAP_TLS_LIBRARY_OPENSSL)
        return m2m_fail(err, M2M_E_TLS, "libcoap is not the OpenSSL build (libcoap-3-openssl)");
    /* OpenSSL calls capture_new for every SSL_CTX made while this runs, on this thread: libcoap's DTLS one is
     * kept, before libcoap has made any SSL from it */
    capture = &srv->ssl_ctx;
    srv->ctx = coap_new_context(NULL);
    capture = NULL;
    if (srv->ctx == NULL || srv->ssl_ctx == NULL)
        return m2m_fail(err, M2M_E_TLS, "libcoap made no OpenSSL DTLS context");
    return 0;
}

/* ---- the endpoint ---- */

/* libcoap 4.3.1 does not say which socket its endpoint has; its epoll descriptor does (m2m_coap_epoll_members).
 * That one must be an unconnected UDP socket bound to our address, or it is not libcoap's endpoint socket. */
static int udp_candidate(int fd, const struct sockaddr *want)
{
    struct sockaddr_storage ss, peer;
    socklen_t len = sizeof ss, plen = sizeof peer;
    int type = 0;
    socklen_t tlen = sizeof type;
    memset(&ss, 0, sizeof ss); /* what getsockname leaves unfilled reads as 0, never as garbage */
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_DGRAM ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0 || ss.ss_family != want->sa_family ||
        getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
        return 0;
    if (want->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss, *b = (const struct sockaddr_in *)want;
        return a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (want->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss, *b = (const struct sockaddr_in6 *)want;
        return memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
    }
    return 0;
}

/* A UDP socket on addr that other workers' sockets share (SO_REUSEPORT: the kernel gives each peer address and
 * port to one of them, always the same), with the options libcoap 4.3.1 sets on its own (coap_socket_bind_udp:
 * SO_REUSEADDR, IP_PKTINFO; IPv6: dual-stack and IPV6_RECVPKTINFO), non-blocking. -1 with errno on failure. */
static int shared_udp_socket(const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1, off = 0, e;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
        (addr->sa_family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0) ||
        (addr->sa_family == AF_INET6 && (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0 ||
                                         setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0)) ||
        bind(fd, addr, len) != 0) {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (addr->sa_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on); /* for IPv4-mapped peers, as libcoap does */
    return fd;
}

/* One of libcoap's endpoints, on the address ai names with the given port, shared by every CoAPS worker. libcoap
 * 4.3.1 binds its endpoint's socket itself, without SO_REUSEPORT, so it could not share a port with another loop.
 * So libcoap's endpoint is opened on an ephemeral port of the same address, its socket and timer are found (its
 * epoll descriptor's members), and then our shared socket takes the place of its socket under the same descriptor
 * number (dup2): libcoap reads and sends on that number and never learns. The worker watches the socket and the
 * timer itself (coap_intake.c, coap_server.c), so the socket need not be in libcoap's epoll set (dup2 took the old one out of it,
 * which is also why each endpoint's socket is the only one there when the next is opened). */
static int open_one(struct m2m_coap *srv, coap_sock *sock, const struct addrinfo *ai, int port, int rcvbuf,
                    const char *host, m2m_err *err)
{
    coap_address_t addr;
    struct sockaddr_storage want;
    int fd, rc = -1;

    memcpy(&want, ai->ai_addr, ai->ai_addrlen);
    if (want.ss_family == AF_INET)
        ((struct sockaddr_in *)&want)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&want)->sin6_port = htons((uint16_t)port);
    if ((fd = shared_udp_socket((struct sockaddr *)&want, ai->ai_addrlen)) < 0)
        return m2m_fail(err, M2M_E_IO, "cannot listen on coaps://%s:%d (UDP): %s", host, port, strerror(errno));
    coap_address_init(&addr);
    memcpy(&addr.addr, ai->ai_addr, ai->ai_addrlen);
    addr.size = ai->ai_addrlen;
    if (addr.addr.sa.sa_family == AF_INET)
        addr.addr.sin.sin_port = 0;
    else
        addr.addr.sin6.sin6_port = 0;
    if (coap_new_endpoint(srv->ctx, &addr, COAP_PROTO_DTLS) == NULL) {
        m2m_fail(err, M2M_E_IO, "libcoap cannot open its CoAPS endpoint on %s: %s", host, strerror(errno));
        goto done;
    }
    sock->srv = srv;
    if (m2m_coap_epoll_members(srv, sock) != 0 || !udp_candidate(sock->fd, &addr.addr.sa)) {
        m2m_fail(err, M2M_E_IO, "libcoap's epoll descriptor holds something other than its new socket and its "
                                "timer (a libcoap other than 4.3.1?): cannot serve coaps://%s:%d", host, port);
        sock->fd = -1;
        goto done;
    }
    if (dup2(fd, sock->fd) < 0) {
        m2m_fail(err, M2M_E_IO, "cannot put the CoAPS socket in libcoap's place: %s", strerror(errno));
        goto done;
    }
    /* room for bursts (the kernel caps it at net.core.rmem_max) */
    (void)setsockopt(sock->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    rc = 0;
done:
    close(fd); /* the descriptor libcoap holds (dup2) stays */
    return rc;
}

/* libcoap's endpoints on HOST:PORT: nsocks of them (M2M_COAP_SESSIONS_PER_SOCKET says why), the first on PORT (0:
 * the kernel picks one), the others on the port the first got. */
int m2m_coap_endpoint_open(struct m2m_coap *srv, const char *host, const char *port, int nsocks, m2m_err *err)
{
    struct addrinfo hints = {0}, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int gai, rc = -1, rcvbuf;
    char *end;
    long p = strtol(port, &end, 10);

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (end == port || *end != '\0' || p < 0 || p > 65535)
        return m2m_fail(err, M2M_E_ARG, "CoAPS port %s: not a port number", port);
    if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0)
        return m2m_fail(err, M2M_E_ARG, "cannot resolve CoAPS address %s: %s", host, gai_strerror(gai));
    if (ai->ai_addrlen > sizeof(((coap_address_t *)NULL)->addr) ||
        (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)) {
        m2m_fail(err, M2M_E_ARG, "CoAPS address %s: unsupported address family", host);
        goto done;
    }
    srv->epfd = coap_context_get_coap_fd(srv->ctx);
    if (nsocks < 1)
        nsocks = 1;
    if (nsocks > M2M_COAP_MAX_SOCKETS)
        nsocks = M2M_COAP_MAX_SOCKETS;
    /* A worker's sockets queue at most 4 MiB of datagrams between them (at least 256 KiB each): what a flood can
     * make the kernel hold does not grow with the number of endpoints. */
    rcvbuf = (4 << 20) / nsocks < 256 << 10 ? 256 << 10 : (4 << 20) / nsocks;
    for (srv->nsocks = 0; srv->nsocks < nsocks; srv->nsocks++) {
        if (open_one(srv, &srv->socks[srv->nsocks], ai, srv->nsocks == 0 ? (int)p : srv->port, rcvbuf, host,
                     err) != 0)
            goto done;
        if (srv->nsocks == 0) {
            memset(&ss, 0, sizeof ss); /* what getsockname leaves unfilled reads as 0, never as garbage */
            if (getsockname(srv->socks[0].fd, (struct sockaddr *)&ss, &len) != 0) {
                m2m_fail(err, M2M_E_IO, "coaps://%s:%s: getsockname: %s", host, port, strerror(errno));
                goto done;
            }
            srv->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                       : ((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    rc = 0;
done:
    freeaddrinfo(ai);
    return rc;
}

/* ---- what libcoap's epoll descriptor watches ---- */

/* The kernel lists an epoll descriptor's members in /proc/self/fdinfo ("tfd: FD events: HEX data: HEX ...", the
 * same since Linux 3.8). Right after coap_new_endpoint, libcoap's has the new endpoint's socket (data: libcoap's
 * coap_socket_t) and its timerfd (data 0): the endpoints opened before are not there any more (dup2 closed their
 * sockets). With both known, the worker watches them itself: no epoll_wait on libcoap's descriptor per wake-up. */
int m2m_coap_epoll_members(struct m2m_coap *srv, coap_sock *sock)
{
    char path[64], line[256];
    FILE *f;
    int members = 0, timer = -1, sockets = 0, sock_fd = -1;
    struct epoll_event ep = {0};

    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", srv->epfd);
    if (srv->epfd < 0 || (f = fopen(path, "re")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        int fd;
        unsigned events;
        unsigned long long data;
        if (sscanf(line, "tfd: %d events: %x data: %llx", &fd, &events, &data) != 3)
            continue;
        members++;
        if (data != 0) {
            ep.events = EPOLLIN;
            ep.data.u64 = data;
            sock_fd = fd;
            sockets++;
        } else {
            timer = fd;
        }
    }
    fclose(f);
    if (members != 2 || sockets != 1 || timer < 0)
        return -1; /* not the two we know */
    sock->fd = sock_fd;
    sock->ep_event = ep;
    srv->timerfd = timer;
    return 0;
}
