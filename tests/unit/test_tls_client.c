/* The TLS-PSK client against a real peer, `openssl s_server -nocert -psk`: the handshake succeeds with the right
 * key and fails with a wrong key, for TLS 1.2 and TLS 1.3, or with a wrong identity (TLS 1.3 only: s_server merely
 * warns about an unexpected TLS 1.2 identity, so that check belongs to the Registrar's tests); a refused or silent
 * peer gives a clear, bounded error. Every server is killed in teardown, whatever the test did. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "m2mattach/keyid.h"
#include "registree/tls_client.h"

#define KEY_HEX "00112233445566778899aabbccddeeff"
static const unsigned char KEY[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const unsigned char WRONG_KEY[16] = {0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                            0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

struct server {
    pid_t pid;
    int out;          /* s_server's stdout; kept open so that it never dies of SIGPIPE */
    char port[8];
    char peer[32];
    char identity[M2M_KEYID_HEX_LEN + 1];
};

static int setup(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    m2m_err err = {0};
    if (s == NULL || m2m_keyid(M2M_KEY_KCA, KEY, sizeof KEY, s->identity, &err) != 0)
        return -1;
    s->pid = -1;
    s->out = -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct server *s = *state;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    if (s->out >= 0)
        close(s->out);
    free(s);
    return 0;
}

/* Starts s_server on 127.0.0.1 with an ephemeral port (-accept 127.0.0.1:0) and reads the port from the
 * "ACCEPT 127.0.0.1:PORT" line it prints once it listens: no port guessing, no race. version: "-tls1_2" or
 * "-tls1_3". */
static void start_server(struct server *s, const char *version)
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
        dup2(null, 2);
        dup2(null, 0);
        close(fds[0]);
        close(fds[1]);
        execlp("openssl", "openssl", "s_server", "-nocert", "-psk", KEY_HEX, "-psk_identity", s->identity,
               "-accept", "127.0.0.1:0", "-naccept", "1", "-www", version, (char *)NULL);
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
            colon = strrchr(strtok(line + 7, "\n"), ':');
            assert_non_null(colon);
            snprintf(s->port, sizeof s->port, "%s", colon + 1);
            snprintf(s->peer, sizeof s->peer, "127.0.0.1:%s", s->port);
            return;
        }
        assert_true(len < sizeof buf - 1);
    }
}

static m2m_tls_client_config client_config(const struct server *s, m2m_tls_range range, const unsigned char *key)
{
    m2m_tls_client_config c = {
        .host = "127.0.0.1",
        .port = s->port,
        .range = range,
        .psk_identity = s->identity,
        .psk = key,
        .psk_len = 16,
        .timeout_ms = 5000,
    };
    return c;
}

/* -www answers "GET /" with a page: proves that application data flows both ways over the PSK session. */
static void exchange_get(m2m_tls_client *c)
{
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    char buf[4096];
    size_t got = 0, total = 0;
    m2m_err err = {0};
    if (m2m_tls_client_write(c, req, sizeof req - 1, &err) != 0)
        fail_msg("%s", err.msg);
    do {
        if (m2m_tls_client_read(c, buf + total, sizeof buf - 1 - total, &got, &err) != 0)
            fail_msg("%s", err.msg);
        total += got;
    } while (got > 0 && total < 16);
    buf[total] = '\0';
    assert_true(strncmp(buf, "HTTP/1.0 200 ok", 15) == 0);
}

static void test_tls12_right_key(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;
    m2m_err err = {0};

    start_server(s, "-tls1_2");
    cfg = client_config(s, M2M_TLS_AUTO, KEY);
    c = m2m_tls_client_connect(&cfg, &err);
    if (c == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.2");
    assert_string_equal(m2m_tls_client_cipher(c), "PSK-AES128-CBC-SHA256"); /* the oneM2M mandatory suite first */
    assert_string_equal(m2m_tls_client_peer(c), s->peer);
    assert_true(m2m_tls_client_handshake_ms(c) > 0.0);
    exchange_get(c);
    m2m_tls_client_close(c);
    m2m_tls_client_close(NULL);
}

static void expect_handshake_failure(struct server *s, m2m_tls_range range, const unsigned char *key,
                                     const char *identity)
{
    m2m_tls_client_config cfg = client_config(s, range, key);
    m2m_err err = {0};
    char want[64];
    if (identity != NULL)
        cfg.psk_identity = identity;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    snprintf(want, sizeof want, "TLS handshake with %s failed: ", s->peer);
    if (strstr(err.msg, want) == NULL)
        fail_msg("unexpected message: %s", err.msg);
    assert_int_equal(err.code, M2M_E_TLS);
    /* OpenSSL's reason follows */
    assert_true(strlen(err.msg) > strlen(want));
    print_message("expected failure: %s\n", err.msg);
}

static void test_tls12_wrong_key(void **state)
{
    struct server *s = *state;
    start_server(s, "-tls1_2");
    expect_handshake_failure(s, M2M_TLS_ONLY_1_2, WRONG_KEY, NULL);
}

static void test_tls13_right_key(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;
    m2m_err err = {0};

    start_server(s, "-tls1_3");
    cfg = client_config(s, M2M_TLS_ONLY_1_3, KEY);
    c = m2m_tls_client_connect(&cfg, &err);
    if (c == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.3");
    assert_string_equal(m2m_tls_client_cipher(c), "TLS_AES_128_GCM_SHA256");
    exchange_get(c);
    m2m_tls_client_close(c);
}

static void test_tls13_auto(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;
    m2m_err err = {0};

    start_server(s, "-tls1_3");
    cfg = client_config(s, M2M_TLS_AUTO, KEY);
    c = m2m_tls_client_connect(&cfg, &err);
    if (c == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.3");
    m2m_tls_client_close(c);
}

static void test_tls13_wrong_key(void **state)
{
    struct server *s = *state;
    start_server(s, "-tls1_3");
    expect_handshake_failure(s, M2M_TLS_ONLY_1_3, WRONG_KEY, NULL);
}

static void test_tls13_unknown_identity(void **state)
{
    struct server *s = *state;
    start_server(s, "-tls1_3");
    /* s_server then falls back to certificates and has none: no PSK, no session */
    expect_handshake_failure(s, M2M_TLS_ONLY_1_3, KEY, "ffffffffffffffffffffffffffffffff");
}

/* A port nobody listens on: bind one, learn its number, close it. */
static void unused_port(char out[8])
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(out, 8, "%u", ntohs(a.sin_port));
}

static void test_connection_refused(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_err err = {0};
    char want[64];
    unused_port(s->port);
    cfg = client_config(s, M2M_TLS_AUTO, KEY);
    cfg.peer_name = "registrar.test:1";
    assert_null(m2m_tls_client_connect(&cfg, &err));
    snprintf(want, sizeof want, "registrar.test:1: connection refused");
    assert_string_equal(err.msg, want);
    assert_int_equal(err.code, M2M_E_IO);
}

static void test_silent_peer_times_out(void **state)
{
    struct server *s = *state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    m2m_tls_client_config cfg;
    m2m_err err = {0};
    struct timespec t0, t1;
    double ms;
    /* listens, so the kernel completes the TCP handshake, but nobody ever speaks TLS */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(s->port, sizeof s->port, "%u", ntohs(a.sin_port));
    snprintf(s->peer, sizeof s->peer, "127.0.0.1:%s", s->port);
    cfg = client_config(s, M2M_TLS_AUTO, KEY);
    cfg.timeout_ms = 300;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_null(m2m_tls_client_connect(&cfg, &err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms >= 290 && ms < 3000);
    if (strstr(err.msg, "TLS handshake with 127.0.0.1:") == NULL || strstr(err.msg, "no answer within 300 ms") == NULL)
        fail_msg("unexpected message: %s", err.msg);
}

static void test_bad_arguments(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg = client_config(s, M2M_TLS_ONLY_1_3, KEY);
    unsigned char long_key[64] = {0};
    m2m_err err = {0};
    snprintf(s->port, sizeof s->port, "1");
    assert_null(m2m_tls_client_connect(NULL, &err));
    cfg.psk_identity = "";
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    cfg.psk_identity = s->identity;
    cfg.psk_len = 0;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    cfg.psk = long_key;
    cfg.psk_len = sizeof long_key;
    assert_null(m2m_tls_client_connect(&cfg, &err));
    assert_int_equal(err.code, M2M_E_ARG);
    assert_non_null(strstr(err.msg, "cannot be used with TLS 1.3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls12_right_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls12_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls13_right_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls13_auto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls13_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls13_unknown_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_peer_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
