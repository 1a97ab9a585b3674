/* SPDX-License-Identifier: Apache-2.0 */
/* Nothing acknowledged is lost (on SQLite, and on PostgreSQL in integration.it_durability.pg): after kill -9 of the
 * Registrar, every resource whose CREATE returned 2001 is there after restart, and the Registrees re-attach without
 * registering again. Also with group commit under load: 16 connections creating at once, with requests that must
 * fail in the same batches, and kill -9 in the middle of it; and pipelined requests on one connection are answered
 * in order. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"

#define N_DEV 4
#define N_CIN 25

static const char *KEYS[N_DEV] = {"000102030405060708090a0b0c0d0e0f", "101112131415161718191a1b1c1d1e1f",
                                  "202122232425262728292a2b2c2d2e2f", "303132333435363738393a3b3c3d3e3f"};

/* ---- a small HTTP/1.1 response reader of its own: one per thread, it keeps what follows a response ---- */
typedef struct reader {
    char buf[1 << 16];
    size_t n;
} reader;

/* The next response on ssl: 0 and rsc/ri/location filled, -1 when the connection ended first. */
static int next_response(SSL *ssl, reader *rd, int *rsc, char ri[64], char loc[512])
{
    for (;;) {
        char *end = NULL, *cl;
        size_t head, total;
        rd->buf[rd->n] = '\0';
        if ((end = strstr(rd->buf, "\r\n\r\n")) != NULL) {
            head = (size_t)(end + 4 - rd->buf);
            cl = strcasestr(rd->buf, "\r\nContent-Length:");
            total = head + (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
            if (rd->n >= total) {
                char *p;
                *rsc = 0;
                ri[0] = loc[0] = '\0';
                if ((p = strcasestr(rd->buf, "\r\nX-M2M-RSC:")) != NULL && p < end)
                    *rsc = atoi(p + 13);
                if ((p = strcasestr(rd->buf, "\r\nX-M2M-RI:")) != NULL && p < end)
                    sscanf(p + 12, " %63[^\r]", ri);
                if ((p = strcasestr(rd->buf, "\r\nContent-Location:")) != NULL && p < end)
                    sscanf(p + 19, " %511[^\r]", loc);
                memmove(rd->buf, rd->buf + total, rd->n - total);
                rd->n -= total;
                return 0;
            }
        }
        if (rd->n + 1 >= sizeof rd->buf)
            return -1; /* a response larger than this test ever gets */
        {
            int got = SSL_read(ssl, rd->buf + rd->n, (int)(sizeof rd->buf - 1 - rd->n));
            if (got <= 0)
                return -1;
            rd->n += (size_t)got;
        }
    }
}

static int post(SSL *ssl, const char *path, const char *from, int ty, const char *ri, const char *body)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "POST %s HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: %s\r\nX-M2M-RI: %s\r\n"
                                      "X-M2M-RVI: 3\r\nContent-Type: application/json;ty=%d\r\nContent-Length: %zu"
                                      "\r\n\r\n%s", path, from, ri, ty, strlen(body), body);
    return SSL_write(ssl, req, n) == n ? 0 : -1;
}

/* Pipelined: 20 CREATEs in one write; their answers come in the order they were asked, all 2001. */
static void pipelined(h_registrar *r, const char *id, const char *key)
{
    static reader rd;
    h_tls t;
    char batch[20 * 512], path[128];
    size_t len = 0;
    snprintf(path, sizeof path, "/cse-base/%s/log", id);
    CHECK(h_connect_psk(&t, r->port, id, key, 12) == 0);
    for (int i = 0; i < 20; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"m2m:cin\":{\"con\":\"p%d\"}}", i);
        len += (size_t)snprintf(batch + len, sizeof batch - len,
                                "POST %s HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: %s\r\nX-M2M-RI: p%d\r\n"
                                "X-M2M-RVI: 3\r\nContent-Type: application/json;ty=4\r\nContent-Length: %zu\r\n\r\n%s",
                                path, id, i, strlen(body), body);
    }
    CHECK(SSL_write(t.ssl, batch, (int)len) == (int)len);
    rd.n = 0;
    for (int i = 0; i < 20; i++) {
        int rsc = 0;
        char ri[64], want[16], loc[512];
        snprintf(want, sizeof want, "p%d", i);
        CHECK(next_response(t.ssl, &rd, &rsc, ri, loc) == 0);
        CHECK_EQ_INT(rsc, 2001);
        if (strcmp(ri, want) != 0) {
            fprintf(stderr, "answer %d was for request %s\n", i, ri);
            h_failures++;
        }
    }
    h_close(&t);
}

/* ---- the burst ---- */
#define BURST_THREADS 16
#define BURST_MAX 400
typedef struct burst {
    h_registrar *r;
    const char *id, *key;
    char container[32];
    pthread_t thread;
    int acked;                    /* 2001 seen */
    int refused;                  /* the deliberate conflicts, answered 4105 */
    int other;                    /* anything else (must stay 0) */
    char acked_loc[BURST_MAX][96];
} burst;

static volatile int burst_total; /* 2001s seen by all threads (atomic) */

static void *burst_main(void *arg)
{
    burst *b = arg;
    h_tls t;
    reader *rd = calloc(1, sizeof *rd);
    char path[128];
    snprintf(path, sizeof path, "/cse-base/%s/%s", b->id, b->container);
    if (rd == NULL || h_connect_psk(&t, b->r->port, b->id, b->key, 12) != 0) {
        free(rd);
        return NULL;
    }
    for (int i = 0; i < BURST_MAX; i++) {
        char body[96], ri[64], got_ri[64], loc[512];
        int rsc = 0;
        /* every 7th asks for the name of the one before: it must fail alone, in whatever batch it lands */
        if (i % 7 == 6)
            snprintf(body, sizeof body, "{\"m2m:cin\":{\"rn\":\"i%d\",\"con\":\"dup\"}}", i - 1);
        else
            snprintf(body, sizeof body, "{\"m2m:cin\":{\"rn\":\"i%d\",\"con\":\"v%d\"}}", i, i);
        snprintf(ri, sizeof ri, "b%d", i);
        if (post(t.ssl, path, b->id, 4, ri, body) != 0 || next_response(t.ssl, rd, &rsc, got_ri, loc) != 0)
            break; /* the Registrar was killed: this one's fate is unknown */
        if (rsc == 2001 && i % 7 != 6) {
            snprintf(b->acked_loc[b->acked++], sizeof b->acked_loc[0], "%.95s", loc);
            __atomic_add_fetch(&burst_total, 1, __ATOMIC_RELAXED);
        } else if (rsc == 4105 && i % 7 == 6)
            b->refused++;
        else
            b->other++;
    }
    h_close(&t);
    free(rd);
    return NULL;
}

static void burst_and_kill(h_registrar *r, char ids[][16], const char **keys, int ndev)
{
    static burst b[BURST_THREADS];
    h_resp resp;
    h_tls t;
    int all_acked = 0;
    for (int k = 0; k < BURST_THREADS; k++) {
        char path[128], body[96];
        b[k].r = r;
        b[k].id = ids[k % ndev];
        b[k].key = keys[k % ndev];
        snprintf(b[k].container, sizeof b[k].container, "burst%d", k);
        CHECK(h_connect_psk(&t, r->port, b[k].id, b[k].key, 12) == 0);
        snprintf(path, sizeof path, "/~/in-cse/%s", b[k].id);
        snprintf(body, sizeof body, "{\"m2m:cnt\":{\"rn\":\"%s\"}}", b[k].container);
        CHECK(h_request(&t, "POST", path, b[k].id, 3, body, &resp) == 0 && resp.rsc == 2001);
        h_close(&t);
    }
    for (int k = 0; k < BURST_THREADS; k++)
        pthread_create(&b[k].thread, NULL, burst_main, &b[k]);
    /* kill -9 while the burst is well under way */
    for (int i = 0; i < 1000 && __atomic_load_n(&burst_total, __ATOMIC_RELAXED) < 300; i++)
        usleep(10 * 1000);
    h_registrar_stop(r, SIGKILL);
    for (int k = 0; k < BURST_THREADS; k++)
        pthread_join(b[k].thread, NULL);
    CHECK(h_registrar_start(r, 2, NULL) == 0);
    for (int k = 0; k < BURST_THREADS; k++) {
        char path[160];
        all_acked += b[k].acked;
        CHECK_EQ_INT(b[k].other, 0);
        CHECK(h_connect_psk(&t, r->port, b[k].id, b[k].key, 12) == 0);
        /* every acknowledged instance is there */
        for (int i = 0; i < b[k].acked; i++) {
            snprintf(path, sizeof path, "/~%.100s", b[k].acked_loc[i]);
            if (h_request(&t, "GET", path, b[k].id, 0, NULL, &resp) != 0 || resp.rsc != 2000) {
                fprintf(stderr, "burst: acknowledged %s lost after kill -9\n", b[k].acked_loc[i]);
                h_failures++;
            }
        }
        /* and nothing more than what was acknowledged, but the one request in flight when the Registrar died */
        snprintf(path, sizeof path, "/cse-base/%s/%s", b[k].id, b[k].container);
        CHECK(h_request(&t, "GET", path, b[k].id, 0, NULL, &resp) == 0 && resp.rsc == 2000);
        {
            const char *p = strstr(resp.body, "\"cni\":");
            int cni = p ? atoi(p + 6) : -1;
            if (cni < b[k].acked || cni > b[k].acked + 1) {
                fprintf(stderr, "burst %d: %d instances stored, %d acknowledged\n", k, cni, b[k].acked);
                h_failures++;
            }
        }
        h_close(&t);
    }
    fprintf(stderr, "burst: %d instances acknowledged by 16 connections before kill -9, all there after\n",
            all_acked);
    CHECK(all_acked >= 300);
}

int main(void)
{
    h_registrar r;
    char ids[N_DEV][16], locations[N_DEV * (N_CIN + 2)][512];
    int owner[N_DEV * (N_CIN + 2)];
    int created = 0;
    h_resp resp;

    if (h_registrar_init(&r) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (int d = 0; d < N_DEV; d++) {
        snprintf(ids[d], sizeof ids[d], "Cdur%d", d);
        CHECK_EQ_INT(h_enrol(&r, ids[d], KEYS[d]), 0);
    }
    if (h_registrar_start(&r, 2, NULL) != 0) {
        h_failures++;
        goto done;
    }
    for (int d = 0; d < N_DEV; d++) {
        h_tls t;
        char path[1024];
        if (h_connect_psk(&t, r.port, ids[d], KEYS[d], d % 2 ? 13 : 12) != 0) {
            h_failures++;
            continue;
        }
        if (h_register_ae(&t, ids[d], "Rdur", &resp) == 2001)
            owner[created] = d, snprintf(locations[created++], sizeof locations[0], "%s", resp.location);
        snprintf(path, sizeof path, "/~/in-cse/%s", ids[d]);
        if (h_request(&t, "POST", path, ids[d], 3, "{\"m2m:cnt\":{\"rn\":\"log\"}}", &resp) == 0 && resp.rsc == 2001)
            owner[created] = d, snprintf(locations[created++], sizeof locations[0], "%s", resp.location);
        snprintf(path, sizeof path, "/cse-base/%s/log", ids[d]);
        for (int i = 0; i < N_CIN; i++) {
            char body[64];
            snprintf(body, sizeof body, "{\"m2m:cin\":{\"con\":\"v%d\"}}", i);
            if (h_request(&t, "POST", path, ids[d], 4, body, &resp) == 0 && resp.rsc == 2001)
                owner[created] = d, snprintf(locations[created++], sizeof locations[0], "%s", resp.location);
        }
        h_close(&t);
    }
    CHECK_EQ_INT(created, N_DEV * (N_CIN + 2));

    /* kill -9: no chance to flush anything */
    h_registrar_stop(&r, SIGKILL);
    CHECK(h_registrar_start(&r, 2, NULL) == 0);

    for (int d = 0; d < N_DEV; d++) {
        h_tls t;
        if (h_connect_psk(&t, r.port, ids[d], KEYS[d], 0) != 0) {
            h_failures++;
            continue;
        }
        for (int i = 0; i < created; i++) {
            char path[1024];
            if (owner[i] != d)
                continue;
            snprintf(path, sizeof path, "/~%.500s", locations[i]);
            if (h_request(&t, "GET", path, ids[d], 0, NULL, &resp) != 0 || resp.rsc != 2000) {
                fprintf(stderr, "lost after kill -9: %s\n", locations[i]);
                h_failures++;
            }
        }
        h_close(&t);
    }
    /* registrations survived too: registering again is refused */
    {
        h_tls t;
        CHECK(h_connect_psk(&t, r.port, ids[0], KEYS[0], 0) == 0);
        CHECK_EQ_INT(h_register_ae(&t, ids[0], "Rdur", &resp), 4117);
        h_close(&t);
    }
    if (!h_pg())
        CHECK(h_sh("sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok", r.db) == 0);

    pipelined(&r, ids[1], KEYS[1]);
    burst_and_kill(&r, ids, KEYS, N_DEV);
    if (!h_pg())
        CHECK(h_sh("sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok", r.db) == 0);
done:
    h_registrar_cleanup(&r);
    return h_done("it_durability");
}
