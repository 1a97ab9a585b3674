/* SPDX-License-Identifier: Apache-2.0 */
/* Several Registrar nodes on one PostgreSQL store (issue 13), each a real `registrar serve` on its own port, run
 * by CTest under tests/pg/with_cluster.sh: register on A and re-attach on B; resume on B a ticket A issued; a
 * revoke or re-key through `enrol` closes the Registree's connections on both nodes within a second; two nodes
 * racing for one identity token: exactly one wins; kill -9 of a node in the middle of a burst on both loses
 * nothing acknowledged and the other node serves on; the database restarting while both serve: new attachments
 * fail cleanly, attached devices get 5000, nothing is half-written, and both recover by themselves. */
#include <errno.h>
#include <openssl/err.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../unit/fixture_store.h"
#include "harness.h"

static h_registrar A, B;
static char root_crt[400], reg_crt[400], reg_key[400];
static const char K1[] = "000102030405060708090a0b0c0d0e0f";
static const char K2[] = "101112131415161718191a1b1c1d1e1f";
static const char K2NEW[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
static const char K3[] = "202122232425262728292a2b2c2d2e2f";
static const char K4[] = "303132333435363738393a3b3c3d3e3f";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests from several threads at once: the harness's h_request reads into one static buffer, so threads
 * use this, each with a buffer of its own (as it_durability.c does) ---- */
typedef struct reader {
    char buf[1 << 16];
    size_t n;
} reader;

/* Sends raw request bytes and reads one response: 0 and rsc / location filled, -1 when the connection ended. */
static int exchange(SSL *ssl, reader *rd, const char *req, size_t len, int *rsc, char loc[96])
{
    if (SSL_write(ssl, req, (int)len) != (int)len)
        return -1;
    for (;;) {
        char *end, *cl, *p;
        size_t head, total;
        rd->buf[rd->n] = '\0';
        if ((end = strstr(rd->buf, "\r\n\r\n")) != NULL) {
            head = (size_t)(end + 4 - rd->buf);
            cl = strcasestr(rd->buf, "\r\nContent-Length:");
            total = head + (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
            if (rd->n >= total) {
                *rsc = 0;
                loc[0] = '\0';
                if ((p = strcasestr(rd->buf, "\r\nX-M2M-RSC:")) != NULL && p < end)
                    *rsc = atoi(p + 13);
                if ((p = strcasestr(rd->buf, "\r\nContent-Location:")) != NULL && p < end)
                    sscanf(p + 19, " %95[^\r]", loc);
                memmove(rd->buf, rd->buf + total, rd->n - total);
                rd->n -= total;
                return 0;
            }
        }
        if (rd->n + 1 >= sizeof rd->buf)
            return -1;
        {
            int got = SSL_read(ssl, rd->buf + rd->n, (int)(sizeof rd->buf - 1 - rd->n));
            if (got <= 0)
                return -1;
            rd->n += (size_t)got;
        }
    }
}

static int start(h_registrar *n)
{
    char args[1400];
    snprintf(args, sizeof args, "--cert '%s' --key '%s' --admin 0 --max-request-rate 0", reg_crt, reg_key);
    n->port = 0;
    return h_registrar_start(n, 2, args);
}

/* Seconds until the Registrar closes t (it answers nothing more), or -1 after limit. Reads, never writes: a
 * close is seen as EOF at once. */
static double wait_closed(h_tls *t, double limit)
{
    double t0 = now_s();
    struct timeval tv = {0, 100 * 1000};
    char c;
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (now_s() - t0 < limit) {
        int n = SSL_read(t->ssl, &c, 1);
        if (n <= 0 && SSL_get_error(t->ssl, n) != SSL_ERROR_WANT_READ &&
            !(SSL_get_error(t->ssl, n) == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
            return now_s() - t0;
        ERR_clear_error();
    }
    return -1;
}

static void register_on_a_reattach_on_b(void)
{
    h_tls t;
    h_resp resp;
    CHECK(h_connect_psk(&t, A.port, "Cn1", K1, 12) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cn1", "Rnodes", &resp), 2001);
    h_close(&t);
    CHECK(h_connect_psk(&t, B.port, "Cn1", K1, 13) == 0);
    CHECK(h_request(&t, "GET", "/~/in-cse/Cn1", "Cn1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK_EQ_INT(h_register_ae(&t, "Cn1", "Rnodes", &resp), 4117); /* one registration, whichever node */
    CHECK(h_request(&t, "POST", "/~/in-cse/Cn1", "Cn1", 3, "{\"m2m:cnt\":{\"rn\":\"made-on-b\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    h_close(&t);
    CHECK(h_connect_psk(&t, A.port, "Cn1", K1, 12) == 0);
    CHECK(h_request(&t, "GET", "/cse-base/Cn1/made-on-b", "Cn1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_close(&t);
    /* the PSK lookups of those handshakes went through the loop's reader (the gate held the hello meanwhile), both
     * TLS versions */
    CHECK(h_metric(&A, "m2m_store_calls_total{role=\"reader\"}") >= 2);
    CHECK(h_metric(&B, "m2m_store_calls_total{role=\"reader\"}") >= 1);
    CHECK_EQ_INT(h_metric(&A, "m2m_store_errors_total{role=\"reader\"}"), 0);
}

static void resume_on_b_what_a_issued(void)
{
    for (int v = 12; v <= 13; v++) {
        h_tls t;
        h_resp resp;
        long long resumed = h_metric(&B, "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\"}");
        CHECK(h_connect_psk(&t, A.port, "Cn1", K1, v) == 0);
        CHECK(h_request(&t, "GET", "/~/in-cse/Cn1", "Cn1", 0, NULL, &resp) == 0); /* TLS 1.3 tickets arrive */
        h_next_session = h_session(&t);
        h_close(&t);
        CHECK(h_connect_psk(&t, B.port, "Cn1", K1, v) == 0);
        CHECK(h_reused(&t));
        CHECK(h_request(&t, "GET", "/~/in-cse/Cn1", "Cn1", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        h_close(&t);
        CHECK_EQ_INT(h_metric(&B, "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\"}"), resumed + 1);
    }
}

/* `enrol` (neither node) re-keys, then revokes: each time the open connections on both nodes close, at once. */
static void enrol_closes_on_both(void)
{
    h_tls a, b, c;
    h_resp resp;
    double wa, wb;
    CHECK(h_connect_psk(&a, A.port, "Cn2", K2, 12) == 0);
    CHECK(h_connect_psk(&b, B.port, "Cn2", K2, 13) == 0);
    CHECK(h_request(&b, "GET", "/~/in-cse", "Cn2", 0, NULL, &resp) == 0 && resp.rsc == 2000);
    CHECK_EQ_INT(h_enrol(&A, "Cn2", K2NEW), 0);
    wa = wait_closed(&a, 5.0);
    wb = wait_closed(&b, 5.0);
    printf("re-key by enrol: closed on A after %.3f s, on B after %.3f s\n", wa, wb);
    CHECK(wa >= 0 && wa < 1.0);
    CHECK(wb >= 0 && wb < 1.0);
    h_close(&a);
    h_close(&b);
    CHECK(h_connect_psk(&c, B.port, "Cn2", K2, 12) != 0); /* the old key: refused on the next handshake */
    CHECK(h_connect_psk(&a, A.port, "Cn2", K2NEW, 12) == 0);
    CHECK(h_connect_psk(&b, B.port, "Cn2", K2NEW, 13) == 0);
    CHECK_EQ_INT(h_revoke(&B, "Cn2"), 0);
    CHECK(h_connect_psk(&c, A.port, "Cn2", K2NEW, 12) != 0); /* the very next handshake */
    wa = wait_closed(&a, 5.0);
    wb = wait_closed(&b, 5.0);
    printf("revoke by enrol: closed on A after %.3f s, on B after %.3f s\n", wa, wb);
    CHECK(wa >= 0 && wa < 1.0);
    CHECK(wb >= 0 && wb < 1.0);
    h_close(&a);
    h_close(&b);
}

/* ---- two nodes, one token ---- */
struct racer {
    int port;
    const char *id, *token;
    pthread_barrier_t *go;
    int rsc;
};

static void *race_main(void *arg)
{
    struct racer *r = arg;
    const char body[] = "{\"m2m:ae\":{\"api\":\"Rtok\",\"rr\":false,\"srv\":[\"3\"]}}";
    char req[700], loc[96];
    h_tls t;
    reader *rd = calloc(1, sizeof *rd);
    int n, rsc = -1, ok = rd != NULL && h_connect_cert(&t, r->port, root_crt, NULL, NULL, 13, NULL) == 0;
    n = snprintf(req, sizeof req, "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: %s\r\n"
                                  "Authorization: Bearer %s\r\nContent-Type: application/json;ty=2\r\n"
                                  "Content-Length: %zu\r\n\r\n%s", r->id, r->token, strlen(body), body);
    pthread_barrier_wait(r->go);
    r->rsc = ok && exchange(t.ssl, rd, req, (size_t)n, &rsc, loc) == 0 ? rsc : -1;
    if (ok)
        h_close(&t);
    free(rd);
    return NULL;
}

static void token_race_across_nodes(void)
{
    for (int round = 0; round < 5; round++) {
        char out[512] = "", token[64] = "", id[16];
        pthread_barrier_t go;
        pthread_t th[2];
        struct racer r[2];
        snprintf(id, sizeof id, "Ctk%d", round);
        CHECK(h_sh_out(out, sizeof out, "'%s' enrol token --db '%s' --registree-id %s", h_bin(), A.db, id) == 0);
        CHECK(strstr(out, "\ntoken ") && sscanf(strstr(out, "\ntoken ") + 7, "%63s", token) == 1);
        pthread_barrier_init(&go, NULL, 2);
        for (int i = 0; i < 2; i++) {
            r[i] = (struct racer){.port = i ? B.port : A.port, .id = id, .token = token, .go = &go};
            pthread_create(&th[i], NULL, race_main, &r[i]);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        /* the loser is refused: 4106 when its token was used in the race, 4117 when the winner's registration had
         * committed before the loser's request was read (the CSE looks at the registration first) */
        if (!((r[0].rsc == 2001 && (r[1].rsc == 4106 || r[1].rsc == 4117)) ||
              ((r[0].rsc == 4106 || r[0].rsc == 4117) && r[1].rsc == 2001))) {
            fprintf(stderr, "token race %d: A answered %d, B answered %d\n", round, r[0].rsc, r[1].rsc);
            h_failures++;
        }
    }
}

/* ---- kill -9 of one node during a burst on both ---- */
#define BURST_THREADS 8
#define BURST_MAX 150
typedef struct burst {
    h_registrar *node;
    char id[16], container[16];
    pthread_t thread;
    int acked, other, done;
    char acked_loc[BURST_MAX][96];
} burst;
static burst bursts[BURST_THREADS];
static volatile int burst_total;

static void *burst_main(void *arg)
{
    burst *b = arg;
    h_tls t;
    reader *rd = calloc(1, sizeof *rd);
    if (rd == NULL || h_connect_psk(&t, b->node->port, b->id, K3, 12) != 0) {
        free(rd);
        return NULL;
    }
    for (int i = 0; i < BURST_MAX; i++) {
        char body[64], req[512], loc[96];
        int rsc = 0, n;
        snprintf(body, sizeof body, "{\"m2m:cin\":{\"con\":\"v%d\"}}", i);
        n = snprintf(req, sizeof req, "POST /cse-base/%s/%s HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: %s\r\n"
                                      "X-M2M-RI: b%d\r\nX-M2M-RVI: 3\r\nContent-Type: application/json;ty=4\r\n"
                                      "Content-Length: %zu\r\n\r\n%s", b->id, b->container, b->id, i, strlen(body), body);
        if (exchange(t.ssl, rd, req, (size_t)n, &rsc, loc) != 0)
            break; /* the node was killed: this one's fate is unknown */
        if (rsc == 2001) {
            snprintf(b->acked_loc[b->acked++], sizeof b->acked_loc[0], "%.95s", loc);
            __atomic_add_fetch(&burst_total, 1, __ATOMIC_RELAXED);
        } else {
            b->other++;
        }
    }
    b->done = 1;
    h_close(&t);
    free(rd);
    return NULL;
}

static void kill_a_during_burst(void)
{
    h_tls t;
    h_resp resp;
    int total = 0, at_kill;
    /* one Registree, every container its own, half the connections on each node */
    CHECK(h_connect_psk(&t, A.port, "Cburst", K3, 12) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cburst", "Rburst", &resp), 2001);
    for (int k = 0; k < BURST_THREADS; k++) {
        char body[96];
        bursts[k].node = k % 2 ? &B : &A;
        snprintf(bursts[k].id, sizeof bursts[k].id, "Cburst");
        snprintf(bursts[k].container, sizeof bursts[k].container, "b%d", k);
        snprintf(body, sizeof body, "{\"m2m:cnt\":{\"rn\":\"%s\"}}", bursts[k].container);
        CHECK(h_request(&t, "POST", "/~/in-cse/Cburst", "Cburst", 3, body, &resp) == 0 && resp.rsc == 2001);
    }
    h_close(&t);
    for (int k = 0; k < BURST_THREADS; k++)
        pthread_create(&bursts[k].thread, NULL, burst_main, &bursts[k]);
    for (int i = 0; i < 2000 && __atomic_load_n(&burst_total, __ATOMIC_RELAXED) < 200; i++)
        usleep(5 * 1000);
    at_kill = __atomic_load_n(&burst_total, __ATOMIC_RELAXED);
    h_registrar_stop(&A, SIGKILL);
    for (int k = 0; k < BURST_THREADS; k++)
        pthread_join(bursts[k].thread, NULL);
    /* B served on: its connections finished their bursts */
    for (int k = 1; k < BURST_THREADS; k += 2) {
        CHECK(bursts[k].done);
        CHECK_EQ_INT(bursts[k].acked, BURST_MAX);
    }
    /* every acknowledged instance, from either node, is there (read through B), and nothing beyond the one
     * request per connection that was in flight */
    CHECK(h_connect_psk(&t, B.port, "Cburst", K3, 13) == 0);
    for (int k = 0; k < BURST_THREADS; k++) {
        char path[160];
        const char *p;
        total += bursts[k].acked;
        CHECK_EQ_INT(bursts[k].other, 0);
        for (int i = 0; i < bursts[k].acked; i++) {
            snprintf(path, sizeof path, "/~%.100s", bursts[k].acked_loc[i]);
            if (h_request(&t, "GET", path, "Cburst", 0, NULL, &resp) != 0 || resp.rsc != 2000) {
                fprintf(stderr, "burst: acknowledged %s lost after kill -9 of A\n", bursts[k].acked_loc[i]);
                h_failures++;
            }
        }
        snprintf(path, sizeof path, "/cse-base/Cburst/%s", bursts[k].container);
        CHECK(h_request(&t, "GET", path, "Cburst", 0, NULL, &resp) == 0 && resp.rsc == 2000);
        p = strstr(resp.body, "\"cni\":");
        if (p == NULL || atoi(p + 6) < bursts[k].acked || atoi(p + 6) > bursts[k].acked + 1) {
            fprintf(stderr, "burst %d: %d instances stored, %d acknowledged\n", k, p ? atoi(p + 6) : -1,
                    bursts[k].acked);
            h_failures++;
        }
    }
    h_close(&t);
    printf("burst: %d instances acknowledged by two nodes (A killed -9 after %d), all there\n", total, at_kill);
    CHECK(start(&A) == 0);
}

/* ---- the database restarts while both nodes serve ---- */
static int metric_is(h_registrar *n, const char *name, long long want, double limit)
{
    double t0 = now_s();
    while (now_s() - t0 < limit) {
        if (h_metric(n, name) == want)
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

static void database_restart(void)
{
    h_tls a, b, c;
    h_resp resp;
    double t0;
    int up = 0;
    CHECK(h_connect_psk(&a, A.port, "Cdb", K4, 12) == 0);
    CHECK_EQ_INT(h_register_ae(&a, "Cdb", "Rdb", &resp), 2001);
    CHECK(h_connect_psk(&b, B.port, "Cdb", K4, 13) == 0);
    CHECK(h_request(&b, "GET", "/~/in-cse/Cdb", "Cdb", 0, NULL, &resp) == 0 && resp.rsc == 2000);

    CHECK_EQ_INT(fixture_pg_ctl("stop"), 0);
    CHECK(metric_is(&A, "m2m_store_up", 0, 10.0));
    CHECK(metric_is(&B, "m2m_store_up", 0, 10.0));
    /* attached connections stay, and are answered 5000 */
    CHECK(h_request(&a, "GET", "/~/in-cse/Cdb", "Cdb", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 5000);
    CHECK(h_request(&b, "POST", "/~/in-cse/Cdb", "Cdb", 3, "{\"m2m:cnt\":{\"rn\":\"during\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 5000);
    /* new attachments fail cleanly (the handshake is refused) */
    CHECK(h_connect_psk(&c, A.port, "Cdb", K4, 12) != 0);
    CHECK(h_connect_psk(&c, B.port, "Cdb", K4, 13) != 0);
    CHECK(h_metric(&A, "m2m_store_errors_total{role=\"worker\"}") > 0);

    CHECK_EQ_INT(fixture_pg_ctl("start"), 0);
    /* both recover by themselves: new attachments, reads and writes work again */
    t0 = now_s();
    while (!up && now_s() - t0 < 20.0) {
        if (h_connect_psk(&c, A.port, "Cdb", K4, 12) == 0) {
            up = h_request(&c, "GET", "/~/in-cse/Cdb", "Cdb", 0, NULL, &resp) == 0 && resp.rsc == 2000;
            h_close(&c);
        }
        if (!up)
            usleep(100 * 1000);
    }
    CHECK(up);
    printf("database restart: A attached again %.1f s after the database came back\n", now_s() - t0);
    t0 = now_s();
    do
        CHECK(h_request(&b, "GET", "/~/in-cse/Cdb", "Cdb", 0, NULL, &resp) == 0);
    while (resp.rsc != 2000 && now_s() - t0 < 20.0 && usleep(100 * 1000) == 0);
    CHECK_EQ_INT(resp.rsc, 2000); /* the connection attached before the outage */
    t0 = now_s();
    do
        CHECK(h_request(&a, "POST", "/~/in-cse/Cdb", "Cdb", 3, "{\"m2m:cnt\":{\"rn\":\"after\"}}", &resp) == 0);
    while (resp.rsc == 5000 && now_s() - t0 < 20.0 && usleep(100 * 1000) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    /* nothing half-written: what failed during the outage is not there */
    CHECK(h_request(&a, "GET", "/cse-base/Cdb/during", "Cdb", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    CHECK(metric_is(&A, "m2m_store_up", 1, 20.0));
    CHECK(metric_is(&B, "m2m_store_up", 1, 20.0));
    /* and live enrolment works again on both (the notifiers listen again) */
    CHECK_EQ_INT(h_revoke(&A, "Cdb"), 0);
    CHECK(wait_closed(&a, 5.0) >= 0);
    CHECK(wait_closed(&b, 5.0) >= 0);
    h_close(&a);
    h_close(&b);
}

int main(void)
{
    if (!h_pg()) {
        fprintf(stderr, "SKIP: it_pg_nodes needs a PostgreSQL cluster (run it through tests/pg/with_cluster.sh)\n");
        return 77;
    }
    if (h_registrar_init(&A) != 0 || h_registrar_init_shared(&B, &A) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    if (h_registrar_pki(&A, root_crt, reg_crt, reg_key) != 0 ||
        h_enrol(&A, "Cn1", K1) != 0 || h_enrol(&A, "Cn2", K2) != 0 || h_enrol(&A, "Cburst", K3) != 0 ||
        h_enrol(&A, "Cdb", K4) != 0 || start(&A) != 0 || start(&B) != 0) {
        fprintf(stderr, "setup failed\n");
        h_registrar_cleanup(&A);
        h_registrar_cleanup(&B);
        return 1;
    }
    register_on_a_reattach_on_b();
    resume_on_b_what_a_issued();
    enrol_closes_on_both();
    token_race_across_nodes();
    kill_a_during_burst();
    database_restart();
    h_registrar_cleanup(&A);
    h_registrar_cleanup(&B);
    return h_done("it_pg_nodes");
}
