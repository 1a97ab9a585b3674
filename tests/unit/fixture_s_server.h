/* SPDX-License-Identifier: Apache-2.0 */
/* A real TLS peer for the client tests: `openssl s_server` in a child process, on 127.0.0.1 with an ephemeral port
 * (-accept 127.0.0.1:0). The port is read from the "ACCEPT 127.0.0.1:PORT" line s_server prints once it listens: no
 * port guessing, no race. Header-only (static inline).
 *
 *   s_server_init(s)                   before anything else (setup): no process, no pipe
 *   s_server_start(s, argv, to_pipe)   runs argv (argv[0] "openssl"); to_pipe: its standard error goes into the pipe
 *                                      too (else to /dev/null); fails the test if it does not listen within 10 s
 *   s_server_stop(s)                   kills it, whatever the test did (teardown)
 *   s_server_get_page(c)               GET / over the client connection c to an s_server -www: the page it sends
 *                                      (malloc'd), which must start "HTTP/1.0 200 ok"
 *   tls_connect_ok(cfg)                m2m_tls_client_connect, which must succeed
 */
#ifndef M2M_TEST_FIXTURE_S_SERVER_H
#define M2M_TEST_FIXTURE_S_SERVER_H

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "registree/tls_client.h"

struct s_server {
    pid_t pid;
    int out;        /* s_server's stdout; kept open so that it never dies of SIGPIPE */
    char port[8];
    char peer[32];  /* "127.0.0.1:PORT" */
    char head[512]; /* what s_server said up to its ACCEPT line */
};

static inline void s_server_init(struct s_server *s)
{
    s->pid = -1;
    s->out = -1;
}

static inline void s_server_stop(struct s_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    if (s->out >= 0)
        close(s->out);
    s_server_init(s);
}

static inline void s_server_start(struct s_server *s, char *const argv[], int stderr_to_pipe)
{
    int fds[2];
    char buf[512];
    size_t len = 0;
    time_t start = time(NULL);

    assert_int_equal(pipe(fds), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(fds[1], 1);
        dup2(stderr_to_pipe ? fds[1] : null, 2);
        dup2(null, 0);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    s->out = fds[0];
    for (;;) {
        struct pollfd p = {.fd = s->out, .events = POLLIN};
        char *line, *colon;
        ssize_t n;
        if (time(NULL) - start > 10)
            fail_msg("openssl s_server did not start listening within 10 s");
        if (poll(&p, 1, 200) <= 0)
            continue;
        n = read(s->out, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            fail_msg("openssl s_server exited before listening (is the openssl CLI installed?)");
        len += (size_t)n;
        buf[len] = '\0';
        line = strstr(buf, "ACCEPT ");
        if (line != NULL && strchr(line, '\n') != NULL) {
            snprintf(s->head, sizeof s->head, "%s", buf);
            colon = strrchr(strtok(line + 7, "\n"), ':');
            assert_non_null(colon);
            snprintf(s->port, sizeof s->port, "%s", colon + 1);
            snprintf(s->peer, sizeof s->peer, "127.0.0.1:%s", s->port);
            return;
        }
        assert_true(len < sizeof buf - 1);
    }
}

/* s_server -www answers "GET /" with a page that reports the session (including the client certificate, or its
 * absence): it also proves that application data flows both ways. */
static inline char *s_server_get_page(m2m_tls_client *c)
{
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    size_t cap = 65536, total = 0, got = 0;
    char *buf = malloc(cap);
    m2m_err err = {0};
    assert_non_null(buf);
    if (m2m_tls_client_write(c, req, sizeof req - 1, &err) != 0)
        fail_msg("%s", err.msg);
    do {
        if (m2m_tls_client_read(c, buf + total, cap - 1 - total, &got, &err) != 0)
            fail_msg("%s", err.msg);
        total += got;
    } while (got > 0 && total < cap - 1);
    buf[total] = '\0';
    assert_true(strncmp(buf, "HTTP/1.0 200 ok", 15) == 0);
    return buf;
}

static inline m2m_tls_client *tls_connect_ok(const m2m_tls_client_config *cfg)
{
    m2m_err err = {0};
    m2m_tls_client *c = m2m_tls_client_connect(cfg, &err);
    if (c == NULL)
        fail_msg("%s", err.msg);
    return c;
}

#endif
