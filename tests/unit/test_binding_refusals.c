/* SPDX-License-Identifier: Apache-2.0 */
/* The binding decision (secctx/binding.c) on connections that never got as far as a handshake test_binding.c
 * drives: no security context at all, a TLS object with no negotiated session yet, a same-equipment connection
 * whose socket cannot say who is at the other end. Each must be refused (0, unbound, a reason), never bound and
 * never taken for a server-authenticated context. And the peer address such a refusal is logged under. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture_tls_server.h"

#include "secctx/binding.h"
#include "secctx/tls_conn.h"

static void evaluate(const m2m_tls_conn *tc, int want, const char *why_part)
{
    m2m_peer peer;
    m2m_proof proof = M2M_PROOF_FULL;
    int pending = 1;
    char why[200];
    memset(&peer, 0x41, sizeof peer);
    assert_int_equal(m2m_bind_evaluate(tc, &peer, &proof, &pending, why, sizeof why), want);
    assert_int_equal(proof, M2M_PROOF_NONE);
    assert_int_equal(pending, 0);
    assert_string_equal(peer.registree_id, ""); /* nothing of a binding is left in out */
    if (strstr(why, why_part) == NULL)
        fail_msg("reason '%s' does not say '%s'", why, why_part);
}

/* Neither TLS nor a local socket: nothing vouches for anyone. */
static void test_no_security_context(void **state)
{
    m2m_tls_conn tc;
    (void)state;
    memset(&tc, 0, sizeof tc);
    tc.local_fd = -1;
    evaluate(&tc, 0, "no security context");
}

/* A TLS object that has not negotiated anything (no cipher, no session) is refused, not evaluated as a
 * certificate-less, server-authenticated context (which would let a token bind it). */
static void test_no_negotiated_session(void **state)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    m2m_tls_conn tc;
    (void)state;
    assert_non_null(ctx);
    memset(&tc, 0, sizeof tc);
    tc.local_fd = -1;
    tc.ssl = SSL_new(ctx);
    assert_non_null(tc.ssl);
    evaluate(&tc, 0, "no negotiated session");
    assert_int_equal(m2m_bind_suite_of(tc.ssl), 0); /* and no suite a ticket could be bound to */
    SSL_free(tc.ssl);
    SSL_CTX_free(ctx);
}

/* A same-equipment connection whose descriptor is no Unix socket: the kernel cannot name the peer's user, so
 * nobody is bound (no --local-ae is consulted). */
static void test_local_peer_unknown(void **state)
{
    m2m_tls_conn tc;
    int p[2];
    (void)state;
    assert_int_equal(pipe(p), 0);
    memset(&tc, 0, sizeof tc);
    tc.local_fd = p[0];
    evaluate(&tc, 0, "SO_PEERCRED");
    close(p[0]);
    close(p[1]);
}

/* The peer address a refusal is logged under: taken from the socket (IPv4 here, a real loopback connection),
 * IPv6 in brackets, and left as "?" for what is neither. */
static void test_logged_peer_address(void **state)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    m2m_tls_conn tc;
    struct sockaddr_in6 in6;
    struct sockaddr_un un;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char want[64];
    int port = 0, lfd = fixture_listen_loopback(&port), cfd, sfd;
    (void)state;
    assert_true(lfd >= 0);
    assert_true((cfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(cfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_true((sfd = accept(lfd, NULL, NULL)) >= 0);
    assert_int_equal(getsockname(cfd, (struct sockaddr *)&a, &alen), 0);
    snprintf(want, sizeof want, "127.0.0.1:%u", ntohs(a.sin_port));

    memset(&tc, 0, sizeof tc);
    snprintf(tc.addr, sizeof tc.addr, "?");
    tc.ssl = SSL_new(ctx);
    assert_int_equal(SSL_set_fd(tc.ssl, sfd), 1);
    m2m_tls_conn_fill_addr(&tc);
    assert_string_equal(tc.addr, want);

    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(5684);
    in6.sin6_addr.s6_addr[15] = 1;
    m2m_tls_conn_set_addr(&tc, (struct sockaddr *)&in6);
    assert_string_equal(tc.addr, "[::1]:5684");
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    snprintf(tc.addr, sizeof tc.addr, "?");
    m2m_tls_conn_set_addr(&tc, (struct sockaddr *)&un);
    assert_string_equal(tc.addr, "?");
    SSL_free(tc.ssl);
    SSL_CTX_free(ctx);
    close(sfd);
    close(cfd);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_security_context),
        cmocka_unit_test(test_no_negotiated_session),
        cmocka_unit_test(test_local_peer_unknown),
        cmocka_unit_test(test_logged_peer_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
