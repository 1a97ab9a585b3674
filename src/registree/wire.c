/* SPDX-License-Identifier: Apache-2.0 */
/* Clock, bounded waits, TCP connect and the SIGPIPE guard of the Registree's clients (wire.h). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "registree/wire.h"

double m2m_wire_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double m2m_budget_until(const m2m_budget *b)
{
    double t = m2m_wire_clock_ms() + b->timeout_ms;
    return b->deadline > 0 && b->deadline < t ? b->deadline : t;
}

int m2m_budget_passed(const m2m_budget *b)
{
    return b->deadline > 0 && m2m_wire_clock_ms() >= b->deadline;
}

int m2m_budget_timed_out(const m2m_budget *b, m2m_err *err, const char *prefix, const char *during,
                         const char *step)
{
    if (m2m_budget_passed(b))
        return m2m_fail(err, M2M_E_TIMEOUT, "%s%s: the deadline passed %s", prefix, b->peer, during);
    return m2m_fail(err, M2M_E_TIMEOUT, "%s%s: %s %d ms", prefix, b->peer, step, b->timeout_ms);
}

int m2m_wait_fd(int fd, short events, double until)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        double left = until - m2m_wire_clock_ms();
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

const char *m2m_errno_text(int e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

int m2m_tcp_connect(const char *host, const char *port, const m2m_budget *b, int *fd_out, m2m_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL, *ai;
    int gai, last = ECONNREFUSED, one = 1, fd = -1;
    char eb[128];

    *fd_out = -1;
    gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return m2m_fail(err, M2M_E_IO, "%s: cannot resolve %s: %s", b->peer, host,
                        gai == EAI_SYSTEM ? m2m_errno_text(errno, eb, sizeof eb) : gai_strerror(gai));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        double until = m2m_budget_until(b);
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (m2m_wait_fd(fd, POLLOUT, until) != 0)
                soerr = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
                soerr = errno;
            if (soerr == 0)
                break;
            last = soerr;
        } else {
            last = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (last == ETIMEDOUT)
            return m2m_budget_timed_out(b, err, "", "during the TCP connect", "no answer to the TCP connect within");
        return m2m_fail(err, M2M_E_IO, "%s: %s", b->peer, m2m_errno_text(last, eb, sizeof eb));
    }
    /* Requests are small and each waits for its answer: Nagle would add a round trip's delay. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *fd_out = fd;
    return 0;
}

void m2m_sigpipe_block(m2m_sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

void m2m_sigpipe_restore(m2m_sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    struct timespec zero = {0, 0};
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

unsigned int m2m_psk_client_out(const char *identity, const m2m_secret *key, char *id_out, unsigned int max_id,
                                unsigned char *psk_out, unsigned int max_psk)
{
    size_t idlen = strlen(identity);
    if (idlen + 1 > max_id || key->len > max_psk)
        return 0;
    memcpy(id_out, identity, idlen + 1);
    memcpy(psk_out, key->bytes, key->len);
    return (unsigned int)key->len;
}
