/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS-PSK client against a real peer, `openssl s_server -nocert -psk`: the handshake succeeds with the right
 * key and fails with a wrong key, for TLS 1.2 and TLS 1.3, or with a wrong identity (TLS 1.3 only: s_server merely
 * warns about an unexpected TLS 1.2 identity, so that check belongs to the Registrar's tests); a refused or silent
 * peer gives a clear, bounded error. Every server is killed in teardown, whatever the test did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture_s_server.h"
#include "fixture_tls_server.h"
#include "m2mattach/keyid.h"
#include "registree/tls_client.h"

#define KEY_HEX "00112233445566778899aabbccddeeff"
static const unsigned char KEY[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const unsigned char WRONG_KEY[16] = {0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                            0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

struct server {
    struct s_server sv;
    char identity[M2M_KEYID_HEX_LEN + 1];
};

static int setup(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    m2m_err err = {0};
    if (s == NULL || m2m_keyid(M2M_KEY_KCA, KEY, sizeof KEY, s->identity, &err) != 0)
        return -1;
    s_server_init(&s->sv);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct server *s = *state;
    s_server_stop(&s->sv);
    free(s);
    return 0;
}

/* `openssl s_server -nocert -psk` with the identity of KEY (fixture_s_server.h). version: "-tls1_2" or "-tls1_3". */
static void start_server(struct server *s, const char *version)
{
    char *argv[] = {"openssl", "s_server", "-nocert", "-psk", KEY_HEX, "-psk_identity", s->identity,
                    "-accept", "127.0.0.1:0", "-naccept", "1", "-www", (char *)version, NULL};
    s_server_start(&s->sv, argv, 0);
}

static m2m_tls_client_config client_config(const struct server *s, m2m_tls_range range, const unsigned char *key)
{
    m2m_tls_client_config c = {
        .host = "127.0.0.1",
        .port = s->sv.port,
        .range = range,
        .psk_identity = s->identity,
        .psk = key,
        .psk_len = 16,
        .timeout_ms = 5000,
    };
    return c;
}

static void test_tls12_right_key(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;

    start_server(s, "-tls1_2");
    cfg = client_config(s, M2M_TLS_AUTO, KEY);
    c = tls_connect_ok(&cfg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.2");
    assert_string_equal(m2m_tls_client_cipher(c), "PSK-AES128-CBC-SHA256"); /* the oneM2M mandatory suite first */
    assert_string_equal(m2m_tls_client_peer(c), s->sv.peer);
    assert_true(m2m_tls_client_handshake_ms(c) > 0.0);
    free(s_server_get_page(c)); /* application data flows both ways over the PSK session */
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
    snprintf(want, sizeof want, "TLS handshake with %s failed: ", s->sv.peer);
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

    start_server(s, "-tls1_3");
    cfg = client_config(s, M2M_TLS_ONLY_1_3, KEY);
    c = tls_connect_ok(&cfg);
    assert_string_equal(m2m_tls_client_version(c), "TLSv1.3");
    assert_string_equal(m2m_tls_client_cipher(c), "TLS_AES_128_GCM_SHA256");
    free(s_server_get_page(c)); /* application data flows both ways over the PSK session */
    m2m_tls_client_close(c);
}

static void test_tls13_auto(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_tls_client *c;

    start_server(s, "-tls1_3");
    cfg = client_config(s, M2M_TLS_AUTO, KEY);
    c = tls_connect_ok(&cfg);
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
    int port = 0, fd = fixture_listen_loopback(&port);
    assert_true(fd >= 0);
    close(fd);
    snprintf(out, 8, "%d", port);
}

static void test_connection_refused(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg;
    m2m_err err = {0};
    char want[64];
    unused_port(s->sv.port);
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
    m2m_tls_client_config cfg;
    m2m_err err = {0};
    struct timespec t0, t1;
    double ms;
    int port = 0;
    /* listens, so the kernel completes the TCP handshake, but nobody ever speaks TLS */
    int fd = fixture_listen_loopback(&port);
    assert_true(fd >= 0);
    snprintf(s->sv.port, sizeof s->sv.port, "%d", port);
    snprintf(s->sv.peer, sizeof s->sv.peer, "127.0.0.1:%s", s->sv.port);
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
    assert_int_equal(err.code, M2M_E_TIMEOUT); /* typed: the Registree tells a timeout from a refusal by it */
}

static void test_bad_arguments(void **state)
{
    struct server *s = *state;
    m2m_tls_client_config cfg = client_config(s, M2M_TLS_ONLY_1_3, KEY);
    unsigned char long_key[64] = {0};
    m2m_err err = {0};
    snprintf(s->sv.port, sizeof s->sv.port, "1");
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
