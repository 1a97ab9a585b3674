/* SPDX-License-Identifier: Apache-2.0 */
/* Live enrolment: a revoked or re-keyed Registree's next handshake fails and its open connections are closed
 * within a few seconds, while everyone else keeps working. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char K1[] = "000102030405060708090a0b0c0d0e0f";
static const char K1NEW[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char K2[] = "101112131415161718191a1b1c1d1e1f";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls an open connection until the Registrar closes it; returns seconds waited, or -1 after limit. */
static double wait_closed(h_tls *t, const char *id, double limit)
{
    double t0 = now_s();
    h_resp resp;
    while (now_s() - t0 < limit) {
        if (h_request(t, "GET", "/~/in-cse/Cdev1", id, 0, NULL, &resp) != 0 || resp.status == 0)
            return now_s() - t0;
        usleep(200 * 1000);
    }
    return -1;
}

int main(void)
{
    h_registrar r;
    h_tls a, b, idle;
    h_resp resp;
    double waited;

    if (h_registrar_init(&r) != 0 || h_enrol(&r, "Cdev1", K1) != 0 || h_enrol(&r, "Cdev2", K2) != 0 ||
        h_registrar_start(&r, 2, NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    CHECK(h_connect_psk(&a, r.port, "Cdev1", K1, 0) == 0);
    CHECK_EQ_INT(h_register_ae(&a, "Cdev1", "Rrev", &resp), 2001);
    CHECK(h_connect_psk(&b, r.port, "Cdev2", K2, 0) == 0);
    CHECK_EQ_INT(h_register_ae(&b, "Cdev2", "Rrev", &resp), 2001);
    /* an attached connection that has not sent a request since: closed too */
    CHECK(h_connect_psk(&idle, r.port, "Cdev1", K1, 12) == 0);

    /* 1. Re-keying (enrol again with a new key) retires the old key at once. */
    CHECK_EQ_INT(h_enrol(&r, "Cdev1", K1NEW), 0);
    waited = wait_closed(&a, "Cdev1", 6.0);
    CHECK(waited >= 0);
    printf("re-keyed: open connection closed after %.1f s\n", waited);
    h_close(&a);
    CHECK(h_connect_psk(&a, r.port, "Cdev1", K1, 0) != 0);
    CHECK(h_connect_psk(&a, r.port, "Cdev1", K1NEW, 0) == 0);
    CHECK(h_request(&a, "GET", "/~/in-cse/Cdev1", "Cdev1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000); /* same Registree, same registration, new key */
    {
        char buf[16];
        int n = SSL_read(idle.ssl, buf, sizeof buf); /* already closed by the server */
        CHECK(n <= 0);
    }
    h_close(&idle);

    /* 2. Revocation closes the open connection and refuses the next handshake, in both TLS versions. */
    CHECK_EQ_INT(h_revoke(&r, "Cdev1"), 0);
    waited = wait_closed(&a, "Cdev1", 6.0);
    CHECK(waited >= 0);
    printf("revoked: open connection closed after %.1f s\n", waited);
    h_close(&a);
    CHECK(h_connect_psk(&a, r.port, "Cdev1", K1NEW, 12) != 0);
    CHECK(h_connect_psk(&a, r.port, "Cdev1", K1NEW, 13) != 0);
    /* revoking what is not enrolled is an error that says so */
    CHECK(h_revoke(&r, "Cdev1") != 0);

    /* 3. The other Registree was never disturbed. */
    CHECK(h_request(&b, "GET", "/~/in-cse/Cdev2", "Cdev2", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_close(&b);

    /* 4. A key ID enrolled for one Registree cannot be given to another. */
    CHECK(h_enrol(&r, "Cdev3", K2) != 0);

    CHECK(h_sh("grep -q 'reason=enrolment revoked or replaced' '%s'", r.log) == 0);
    CHECK_EQ_INT(h_registrar_stop(&r, SIGINT), 0);
    h_registrar_cleanup(&r);
    return h_done("it_revocation");
}
