/* SPDX-License-Identifier: Apache-2.0 */
/* The binding decision (secctx/binding.c) on connections that never got as far as a handshake test_binding.c
 * drives: no security context at all, a TLS object with no negotiated session yet, a same-equipment connection
 * whose socket cannot say who is at the other end. Each must be refused (0, unbound, a reason), never bound and
 * never taken for a server-authenticated context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/ssl.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_security_context),
        cmocka_unit_test(test_no_negotiated_session),
        cmocka_unit_test(test_local_peer_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
