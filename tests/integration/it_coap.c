/* SPDX-License-Identifier: Apache-2.0 */
/* The CoAPS listener (issue 12) against the real daemon, with a DTLS + CoAP client that can lie
 * (dtls_client.c): every mechanism over DTLS 1.2 bound exactly as over HTTPS, the TS-0008 options both ways,
 * refusals (wrong key, unknown identity, spoofed From, another's resource, revoked mid-session), replayed
 * datagrams, a flood of ClientHellos without cookies, the limits before authentication, idle expiry, session
 * tickets and key generation. No sleeps for time to pass: the Registrar's clock is moved (h_clock_advance). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dtls_client.h"
#include "harness.h"

static h_registrar r;
static char root_crt[400], reg_crt[400], reg_key[400];
static const char K1[] = "00112233445566778899aabbccddeeff"; /* Ccoap1 */
static const char K2[] = "ffeeddccbbaa99887766554433221100"; /* Ccoap2 */
static const char KR[] = "0102030405060708090a0b0c0d0e0f10"; /* Crev */
static const char KT[] = "1112131415161718191a1b1c1d1e1f20"; /* Cres */
static const char KG[] = "2122232425262728292a2b2c2d2e2f30"; /* Cgen */
static const char KF[] = "3132333435363738393a3b3c3d3e3f40"; /* Cflaky */
static const char KX[] = "4142434445464748494a4b4c4d4e4f50"; /* Cretx */

static const char *path(const char *name) { return h_path(r.dir, name); }

static int start(const char *extra)
{
    char args[1600];
    snprintf(args, sizeof args, "--cert '%s' --key '%s' --coaps 127.0.0.1:0 --admin 0 --handshake-timeout 5 "
                                "--idle-timeout 60 %s", reg_crt, reg_key, extra ? extra : "");
    r.port = 0;
    return h_registrar_start(&r, 1, args);
}

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The Registrar's once-a-second tick acts on a moved clock within a second or two: wait for what it does. */
static int wait_log(const char *pattern, int ms)
{
    long end = ms_now() + ms;
    do {
        if (h_sh("grep -q -- \"%s\" '%s'", pattern, r.log) == 0)
            return 1;
        usleep(50000);
    } while (ms_now() < end);
    return 0;
}

static int wait_metric(const char *name, long long want, int ms)
{
    long end = ms_now() + ms;
    do {
        if (h_metric(&r, name) == want)
            return 1;
        usleep(50000);
    } while (ms_now() < end);
    fprintf(stderr, "metric %s is %lld, expected %lld\n", name, h_metric(&r, name), want);
    return 0;
}

/* until the metric is above was */
static int wait_metric_above(const char *name, long long was, int ms)
{
    long end = ms_now() + ms;
    do {
        if (h_metric(&r, name) > was)
            return 1;
        usleep(50000);
    } while (ms_now() < end);
    fprintf(stderr, "metric %s stayed %lld\n", name, h_metric(&r, name));
    return 0;
}

static const char RELEASED[] = "m2m_coap_idle_buffers_released_total";
static const char COAP_OPEN[] = "m2m_open_connections{binding=\"coap\"}";
static const char COAP_PREAUTH[] = "m2m_preauth_connections{binding=\"coap\"}";
static const char COAP_REQUESTS[] = "m2m_requests_total{binding=\"coap\"}";

static void psk_registration(void)
{
    static const char *suites[] = {"PSK-AES128-GCM-SHA256", "ECDHE-PSK-CHACHA20-POLY1305",
                                   "ECDHE-PSK-AES128-CBC-SHA256", NULL};
    h_dtls t, u;
    h_coap_resp resp;
    h_tls tls;
    h_resp hresp;
    unsigned char xml = 41, cbor = 60, ty_cnt = 3, res_cbor[2] = {0x27, 0x1a}; /* 10010 */
    h_coap_opt good[] = {{283, "r-ok", 4}, {279, "Ccoap1", 6}};
    h_coap_opt no_rqi[] = {{279, "Ccoap1", 6}};
    h_coap_opt unknown[] = {{283, "r-unk", 5}, {279, "Ccoap1", 6}, {65001, "x", 1}};
    h_coap_opt accept_xml[] = {{283, "r-acc", 5}, {279, "Ccoap1", 6}, {17, &xml, 1}};
    h_coap_opt cbor_create[] = {{283, "r-cb", 4}, {279, "Ccoap1", 6}, {267, &ty_cnt, 1}, {12, &cbor, 1}};
    h_coap_opt accept_res_cbor[] = {{283, "r-cb2", 5}, {279, "Ccoap1", 6}, {17, res_cbor, 2}};
    /* {"m2m:cnt": {"rn": "cb"}} in CBOR, and the start of the answer's: {"m2m:cnt": {... */
    static const char cnt_cbor[] = "\xa1\x67m2m:cnt\xa1\x62rn\x62" "cb";
    static const char cnt_answer[] = "\xa1\x67m2m:cnt";

    /* the oneM2M mandatory DTLS suite */
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(strcmp(SSL_get_cipher_name(t.ssl), "PSK-AES128-CCM8") == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Ccoap1", "Rcoap", &resp), 2001);
    CHECK_EQ_INT(resp.code, 201);
    CHECK(strcmp(resp.location, "~/in-cse/Ccoap1") == 0);
    CHECK(strncmp(resp.rqi, "rqi-", 4) == 0);
    CHECK_EQ_INT(resp.format, 50);
    CHECK(!resp.separate); /* a write: its answer on the ACK, once durable (write_answers) */
    CHECK(strstr(resp.body, "\"aei\":\"Ccoap1\"") != NULL);
    /* a read: piggybacked on the ACK */
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK_EQ_INT(resp.code, 205);
    CHECK(!resp.separate);
    /* CSE-relative and absolute addresses too */
    CHECK(h_coap_request(&t, "GET", "cse-base/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_coap_request(&t, "GET", "_/m2m.localhost/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    /* spoofed From: 4106 in oneM2M-RSC, 4.03 */
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap2", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    CHECK_EQ_INT(resp.code, 403);
    CHECK(h_coap_register_ae(&t, "Cother", "Rcoap", &resp) == 4106);
    /* its own container, then a container directly under the CSEBase: 4103 */
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Ccoap1", "Ccoap1", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"box\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(strncmp(resp.location, "~/in-cse/", 9) == 0);
    CHECK(h_coap_request(&t, "POST", "~/in-cse", "Ccoap1", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"top\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4103);
    /* block-wise (RFC 7959): a body of six Block1 blocks, and its representation back in Block2 blocks */
    {
        static char big[3200];
        char loc[512];
        int n = snprintf(big, sizeof big, "{\"m2m:cin\":{\"con\":\"");
        memset(big + n, 'x', 3000);
        snprintf(big + n + 3000, sizeof big - (size_t)n - 3000, "\"}}");
        CHECK(h_coap_request(&t, "POST", "~/in-cse/Ccoap1/box", "Ccoap1", 4, NULL, big, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2001);
        snprintf(loc, sizeof loc, "%s", resp.location);
        CHECK(h_coap_request(&t, "GET", loc, "Ccoap1", 0, NULL, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        CHECK(resp.blocks >= 3);
        CHECK(strstr(resp.body, big + n) != NULL || strstr(resp.body, "xxxxxxxxxx\"") != NULL);
        CHECK(resp.body_len > 3000);
    }
    /* CBOR (Content-Format 60 in, the answer in 60; Accept 10010 on a read) */
    CHECK(h_coap_request_opts(&t, 2, "~/in-cse/Ccoap1", NULL, cbor_create, 4, cnt_cbor, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK_EQ_INT(resp.format, 60);
    CHECK(resp.body_len > sizeof cnt_answer && memcmp(resp.body, cnt_answer, sizeof cnt_answer - 1) == 0);
    CHECK(h_coap_request_opts(&t, 1, "~/in-cse/Ccoap1/cb", NULL, accept_res_cbor, 3, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK_EQ_INT(resp.format, 10010);
    CHECK(resp.body_len > sizeof cnt_answer && memcmp(resp.body, cnt_answer, sizeof cnt_answer - 1) == 0);
    /* ... the same container through JSON: one tree behind both */
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1/cb", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.format, 50);
    CHECK(strstr(resp.body, "\"rn\":\"cb\"") != NULL);
    /* TS-0008 refusals by the binding: no RQI, an Accept it cannot answer in, a critical option nobody knows */
    CHECK(h_coap_request_opts(&t, 1, "~/in-cse/Ccoap1", NULL, good, 2, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.code, 205); /* no RVI: Release 1, fine */
    CHECK(h_coap_request_opts(&t, 1, "~/in-cse/Ccoap1", NULL, no_rqi, 1, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4000);
    CHECK_EQ_INT(resp.code, 400);
    CHECK(h_coap_request_opts(&t, 1, "~/in-cse/Ccoap1", NULL, accept_xml, 3, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 5207);
    CHECK_EQ_INT(resp.code, 406);
    CHECK(h_coap_request_opts(&t, 1, "~/in-cse/Ccoap1", NULL, unknown, 3, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.code, 402); /* CoAP itself: 4.02 Bad Option */

    /* another Registree cannot see it: 4004, exactly as if it did not exist */
    CHECK(h_dtls_connect_psk(&u, r.coaps_port, "Ccoap2", K2) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&u, "C", "Rcoap", &resp), 2001);
    CHECK(strstr(resp.body, "\"aei\":\"Ccoap2\"") != NULL);
    CHECK(h_coap_request(&u, "GET", "~/in-cse/Ccoap1", "Ccoap2", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    CHECK(h_coap_request(&u, "POST", "~/in-cse/Ccoap1", "Ccoap2", 3, NULL, "{\"m2m:cnt\":{}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    h_dtls_close(&u);
    h_dtls_close(&t);

    /* the other DTLS suites; a suite not offered over DTLS gets no handshake */
    for (int i = 0; suites[i] != NULL; i++) {
        h_dtls_ciphers = suites[i];
        CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
        CHECK(t.ssl != NULL && strcmp(SSL_get_cipher_name(t.ssl), suites[i]) == 0);
        CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        h_dtls_close(&t);
    }
    h_dtls_ciphers = "PSK-AES128-CBC-SHA256";
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) != 0);
    h_dtls_ciphers = NULL;

    /* the same enrolment, registration and CSE behind HTTPS */
    CHECK(h_connect_psk(&tls, r.port, "Ccoap1", K1, 12) == 0);
    CHECK(h_request(&tls, "GET", "/~/in-cse/Ccoap1", "Ccoap1", 0, NULL, &hresp) == 0);
    CHECK_EQ_INT(hresp.rsc, 2000);
    h_close(&tls);

    /* one log line per attachment, with the binding; metrics per binding */
    CHECK(wait_log("attach mechanism=psk registree=Ccoap1 .*result=ok handshake=full version=DTLSv1.2 "
                   "cipher=PSK-AES128-CCM8 .*binding=coap", 1000));
    CHECK(wait_log("refused registree=Ccoap1 .*rsc=4106 .*binding=coap", 1000));
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"full\",binding=\"coap\"}") >= 5);
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"full\"}") >= 1);
    CHECK(h_metric(&r, COAP_REQUESTS) >= 15);
    CHECK(wait_metric(COAP_OPEN, 0, 2000));
}

static const char PIGGYBACKED[] = "m2m_coap_write_answers_total{kind=\"piggybacked\"}";
static const char SEPARATE[] = "m2m_coap_write_answers_total{kind=\"separate\"}";
static const char DUPLICATES[] = "m2m_coap_duplicates_total";

/* A write's answer goes on the request's ACK once durable -- no empty ACK first, no separate response: two
 * datagrams fewer for the device -- unless the device retransmitted the request meanwhile (libcoap acknowledged
 * that with an empty ACK: the answer then comes on its own). A duplicate of an answered write (the device lost our
 * ACK) gets the same answer again and is not run twice (RFC 7252 4.5). The store's write lock, taken by the test,
 * keeps a write pending as long as the test needs. */
static void write_answers(void)
{
    h_dtls t;
    h_coap_resp resp;
    sqlite3 *db = NULL;
    long long piggybacked = h_metric(&r, PIGGYBACKED), separate = h_metric(&r, SEPARATE);
    long long duplicates = h_metric(&r, DUPLICATES), requests;

    CHECK(h_enrol(&r, "Cretx", KX) == 0);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cretx", KX) == 0);
    /* on the ACK; its duplicate answered the same (run again, the CREATE would say 4105: the <AE> exists) */
    CHECK_EQ_INT(h_coap_register_ae(&t, "Cretx", "Rretx", &resp), 2001);
    CHECK(!resp.separate);
    CHECK_EQ_INT(h_metric(&r, PIGGYBACKED), piggybacked + 1);
    CHECK(h_coap_resend(&t) == 0);
    CHECK(h_coap_await(&t, 5000, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(!resp.separate);
    CHECK(strcmp(resp.location, "~/in-cse/Cretx") == 0);
    CHECK(strstr(resp.body, "\"aei\":\"Cretx\"") != NULL);
    CHECK_EQ_INT(h_metric(&r, DUPLICATES), duplicates + 1);
    /* a new exchange is processed (and ends the last one's: its duplicate is a new request now) */
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Cretx", "Cretx", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"a\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Cretx", "Cretx", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"a\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4105);

    /* the write waits for the store: nothing goes out meanwhile, not even an empty ACK; then the answer on the ACK */
    CHECK(sqlite3_open(r.db, &db) == SQLITE_OK && sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    requests = h_metric(&r, COAP_REQUESTS);
    h_coap_send_only = 1;
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Cretx", "Cretx", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"b\"}}", &resp) == 0);
    h_coap_send_only = 0;
    piggybacked = h_metric(&r, PIGGYBACKED);
    /* the handler has run (an empty ACK would go out as it returns): nothing comes while the write waits */
    CHECK(wait_metric(COAP_REQUESTS, requests + 1, 5000));
    CHECK(h_coap_await(&t, 300, &resp) == -1);
    CHECK(!resp.separate);
    CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(h_coap_await(&t, 5000, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(!resp.separate);
    CHECK_EQ_INT(h_metric(&r, PIGGYBACKED), piggybacked + 1);

    /* retransmitted while it waits: libcoap's empty ACK, then the answer as a separate response, acknowledged */
    CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    h_coap_send_only = 1;
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Cretx", "Cretx", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"c\"}}", &resp) == 0);
    h_coap_send_only = 0;
    CHECK(h_coap_resend(&t) == 0);
    CHECK(h_coap_await_empty_ack(&t, 5000));
    CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(h_coap_await(&t, 5000, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(resp.separate);
    CHECK_EQ_INT(h_metric(&r, SEPARATE), separate + 1);
    /* a late duplicate of it: the same answer (on an ACK now), not a second CREATE */
    CHECK(h_coap_resend(&t) == 0);
    CHECK(h_coap_await(&t, 5000, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK_EQ_INT(h_metric(&r, DUPLICATES), duplicates + 2);
    sqlite3_close(db);
    h_dtls_close(&t);
}

static const char KEPT[] = "m2m_coap_block2_kept_bytes";

/* A big <contentInstance> of c's under ~/in-cse/Cblk/blk; its location into loc. */
static void big_cin(h_dtls *t, char c, char loc[512])
{
    static char body[3200];
    h_coap_resp resp;
    int n = snprintf(body, sizeof body, "{\"m2m:cin\":{\"con\":\"");
    memset(body + n, c, 3000);
    snprintf(body + n + 3000, sizeof body - (size_t)n - 3000, "\"}}");
    CHECK(h_coap_request(t, "POST", "~/in-cse/Cblk/blk", "Cblk", 4, NULL, body, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    /* the CREATE's answer (the representation, block-wise) fetched whole, by the POST asked again */
    CHECK(resp.body_len > 3000 && resp.body[resp.body_len - 1] == '}');
    snprintf(loc, 512, "%s", resp.location);
}

/* One block of an answer: the request with Block2 (num, szx) and nothing fetched further. */
static int block(h_dtls *t, int code, const char *path, const char *query, unsigned num, unsigned szx,
                 h_coap_resp *resp)
{
    unsigned char b2[3];
    unsigned v = num << 4 | szx;
    size_t n = v < 256 ? 1 : 2;
    h_coap_opt o[] = {{283, "r-blk", 5}, {279, "Cblk", 4}, {23, b2, n}};
    int rc;
    if (n == 1)
        b2[0] = (unsigned char)v;
    else
        b2[0] = (unsigned char)(v >> 8), b2[1] = (unsigned char)v;
    h_coap_no_follow = 1;
    rc = h_coap_request_opts(t, code, path, query, o, num == 0 && szx == 7 ? 2 : 3, NULL, resp);
    h_coap_no_follow = 0;
    return rc;
}

/* resp is block num (of size 2^(szx+4)) of the body whole */
static int is_block(const h_coap_resp *resp, const h_coap_resp *whole, unsigned num, unsigned szx)
{
    size_t off = (size_t)num << (szx + 4);
    return resp->body_len > 0 && off + resp->body_len <= whole->body_len &&
           memcmp(resp->body, whole->body + off, resp->body_len) == 0;
}

/* Answers longer than a datagram (RFC 7959 Block2), kept by the Registrar for the requests of their next blocks:
 * found by path (libcoap's own kept them by resource and query, and ours is one resource for every path: a
 * device that read /a and then /b got /b's blocks for /a), one a session (a new query each time kept another
 * copy, up to 93 s each), and a write is never run again for a block of its answer. */
static void block_wise_answers(void)
{
    static const char KEY[] = "5152535455565758595a5b5c5d5e5f60";
    char a[512], b[512];
    h_dtls t;
    static h_coap_resp ra, rb, r2, whole_a;
    unsigned szx;
    long long kept, again;

    CHECK(h_enrol(&r, "Cblk", KEY) == 0);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cblk", KEY) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Cblk", "Rblk", &ra), 2001);
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Cblk", "Cblk", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"blk\"}}", &ra) == 0);
    CHECK_EQ_INT(ra.rsc, 2001);
    big_cin(&t, 'a', a);
    big_cin(&t, 'b', b);
    CHECK(h_coap_request(&t, "GET", a, "Cblk", 0, NULL, NULL, &whole_a) == 0);
    CHECK(whole_a.body_len > 3000 && whole_a.blocks >= 3);
    /* /a's first block, then /b's, then /a's second: /a's */
    h_coap_no_follow = 1;
    CHECK(h_coap_request(&t, "GET", a, "Cblk", 0, NULL, NULL, &ra) == 0);
    CHECK(h_coap_request(&t, "GET", b, "Cblk", 0, NULL, NULL, &rb) == 0);
    h_coap_no_follow = 0;
    CHECK_EQ_INT(ra.rsc, 2000);
    CHECK((ra.blocks & 0x80000000) && (ra.blocks & 8)); /* block 0, more to come */
    szx = (unsigned)ra.blocks & 7;
    CHECK(is_block(&ra, &whole_a, 0, szx) && strstr(rb.body, "bbbb") != NULL);
    kept = h_metric(&r, "m2m_coap_block2_requests_total{answer=\"kept\"}");
    CHECK(block(&t, 1, a, NULL, 1, szx, &r2) == 0);
    CHECK_EQ_INT(r2.code, 205);
    CHECK(is_block(&r2, &whole_a, 1, szx));
    CHECK(block(&t, 1, a, NULL, 2, szx, &r2) == 0);
    CHECK(is_block(&r2, &whole_a, 2, szx));
    CHECK_EQ_INT(h_metric(&r, "m2m_coap_block2_requests_total{answer=\"kept\"}"), kept + 2);
    /* smaller blocks than the first ones: the same bytes */
    CHECK(block(&t, 1, a, NULL, 5, szx - 1, &r2) == 0);
    CHECK(is_block(&r2, &whole_a, 5, szx - 1));
    /* past the end: 4.02 */
    CHECK(block(&t, 1, a, NULL, 40, szx, &r2) == 0);
    CHECK_EQ_INT(r2.code, 402);

    /* a new query each time: still no more than four answers kept by the session */
    for (int i = 0; i < 30; i++) {
        char q[16];
        snprintf(q, sizeof q, "x=%d", i);
        CHECK(block(&t, 1, a, q, 0, szx, &r2) == 0);
        CHECK_EQ_INT(r2.code, 205);
    }
    kept = h_metric(&r, KEPT);
    CHECK(kept > 4 * 3000 && kept < 5 * 3000);
    /* /a's answer was pushed out: its next block is the read made again, the same bytes */
    again = h_metric(&r, "m2m_coap_block2_requests_total{answer=\"again\"}");
    CHECK(block(&t, 1, a, NULL, 2, szx, &r2) == 0);
    CHECK(is_block(&r2, &whole_a, 2, szx));
    CHECK_EQ_INT(h_metric(&r, "m2m_coap_block2_requests_total{answer=\"again\"}"), again + 1);

    /* a later block of a CREATE's answer no longer kept: 4.08, and no second <contentInstance> */
    {
        static char body[3200];
        long long refused = h_metric(&r, "m2m_coap_block2_requests_total{answer=\"refused\"}");
        int n = snprintf(body, sizeof body, "{\"m2m:cin\":{\"rn\":\"once\",\"con\":\"");
        memset(body + n, 'c', 3000);
        snprintf(body + n + 3000, sizeof body - (size_t)n - 3000, "\"}}");
        h_coap_no_follow = 1;
        CHECK(h_coap_request(&t, "POST", "~/in-cse/Cblk/blk", "Cblk", 4, NULL, body, &r2) == 0);
        h_coap_no_follow = 0;
        CHECK_EQ_INT(r2.rsc, 2001);
        CHECK(!r2.separate); /* its first block on the ACK, like any write's answer */
        szx = (unsigned)r2.blocks & 7;
        /* a duplicate of the CREATE (its ACK lost): the same first block, not a second <contentInstance> */
        {
            static h_coap_resp r3;
            long long dups = h_metric(&r, DUPLICATES);
            CHECK(h_coap_resend(&t) == 0);
            CHECK(h_coap_await(&t, 3000, &r3) == 0);
            CHECK_EQ_INT(r3.code, 201);
            CHECK(r3.body_len == r2.body_len && memcmp(r3.body, r2.body, r2.body_len) == 0);
            CHECK_EQ_INT(h_metric(&r, DUPLICATES), dups + 1);
        }
        /* another transfer in between: the CREATE's answer is still there for its next block */
        CHECK(block(&t, 1, b, NULL, 0, szx, &rb) == 0);
        CHECK(block(&t, 2, "~/in-cse/Cblk/blk", NULL, 1, szx, &r2) == 0);
        CHECK_EQ_INT(r2.code, 201);
        CHECK(strstr(r2.body, "cccc") != NULL);
        /* four more push it out */
        for (int i = 0; i < 4; i++) {
            char q[16];
            snprintf(q, sizeof q, "y=%d", i);
            CHECK(block(&t, 1, b, q, 0, szx, &rb) == 0);
        }
        CHECK(block(&t, 2, "~/in-cse/Cblk/blk", NULL, 2, szx, &r2) == 0);
        CHECK_EQ_INT(r2.code, 408);
        CHECK_EQ_INT(h_metric(&r, "m2m_coap_block2_requests_total{answer=\"refused\"}"), refused + 1);
        CHECK(h_coap_request(&t, "GET", "~/in-cse/Cblk/blk/once", "Cblk", 0, NULL, NULL, &r2) == 0);
        CHECK_EQ_INT(r2.rsc, 2000);
    }
    /* with the session, what it kept goes */
    h_dtls_close(&t);
    CHECK(wait_metric(KEPT, 0, 3000));
}

static void refused_handshakes(void)
{
    h_dtls t;
    char kid[33];
    /* an unknown identity: an alert at once */
    CHECK(h_dtls_connect_psk_identity(&t, r.coaps_port, "00000000000000000000000000000000", K1) != 0);
    CHECK(wait_log("attach mechanism=- registree=- peer=127.0.0.1:[0-9]* result=refused alert=unknown PSK identity "
                   "reason=unknown or revoked psk_identity .*binding=coap", 2000));
    /* a wrong key: in DTLS the Finished that does not verify is dropped without an alert, so the handshake just
     * never completes; the Registrar gives up after --handshake-timeout (its clock is moved, not waited for) and
     * says why */
    h_keyid("Ccoap1", K1, kid);
    CHECK(h_dtls_connect_psk_identity(&t, r.coaps_port, kid, K2) != 0);
    CHECK(h_clock_advance(&r, 6) == 0);
    CHECK(wait_log("attach mechanism=psk registree=Ccoap1 .*result=refused timeout reason=wrong key for psk_identity",
                   3000));
    CHECK(wait_metric(COAP_OPEN, 0, 3000));
    CHECK(h_metric(&r, "m2m_handshakes_refused_total{binding=\"coap\"}") >= 2);
}

static void revoked_mid_session(void)
{
    h_dtls t;
    h_coap_resp resp;
    CHECK(h_enrol(&r, "Crev", KR) == 0);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Crev", KR) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Crev", "Rrev", &resp), 2001);
    /* idle for 2 s, the session gives its OpenSSL buffers' pages back (secctx/buffer_pages.h); it goes on working
     * with them, and is revoked with them released */
    CHECK(h_metric(&r, "m2m_tls_buffer_slots{state=\"in_use\"}") >= 2);
    for (int round = 0; round < 2; round++) {
        long long released = h_metric(&r, RELEASED);
        CHECK(h_clock_advance(&r, 3) == 0);
        CHECK(wait_metric_above(RELEASED, released, 3000));
        if (round == 0) {
            CHECK(h_coap_request(&t, "GET", "~/in-cse/Crev", "Crev", 0, NULL, NULL, &resp) == 0);
            CHECK_EQ_INT(resp.rsc, 2000);
        }
    }
    CHECK(h_revoke(&r, "Crev") == 0);
    /* the worker sees the enrolment change within a second and closes the session (close_notify) */
    CHECK(h_dtls_wait_closed(&t, 3000));
    CHECK(wait_log("close registree=Crev .*reason=enrolment revoked or replaced binding=coap", 1000));
    h_dtls_close(&t);
    /* and no new handshake */
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Crev", KR) != 0);
}

/* A revoke the worker could not read (the store failed when it looked) is not lost: the worker keeps its
 * enrolment generation and looks again at the next tick. SQLite only: the enrolment table is renamed away and the
 * generation bumped by hand (so the worker's recheck fails), then restored with the Registree revoked and no
 * bump -- seen only by a worker that did not take the failed look for a complete one. */
static void revoke_through_a_store_failure(void)
{
    h_dtls t;
    h_coap_resp resp;
    long long errors;
    if (h_pg())
        return;
    CHECK(h_enrol(&r, "Cflaky", KF) == 0);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cflaky", KF) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Cflaky", "Rflaky", &resp), 2001);
    errors = h_metric(&r, "m2m_store_errors_total{role=\"worker\"}");
    CHECK(h_sh("sqlite3 '%s' \"ALTER TABLE enrolment RENAME TO enrolment_away; UPDATE meta SET v = "
               "CAST(CAST(v AS INTEGER) + 1 AS TEXT) WHERE k = 'enrol_gen'\"", r.db) == 0);
    /* the worker's next look fails */
    CHECK(wait_metric_above("m2m_store_errors_total{role=\"worker\"}", errors, 5000));
    CHECK(h_sh("sqlite3 '%s' \"ALTER TABLE enrolment_away RENAME TO enrolment; UPDATE enrolment SET revoked = 1 "
               "WHERE registree_id = 'Cflaky'\"", r.db) == 0);
    CHECK(h_dtls_wait_closed(&t, 3000));
    CHECK(wait_log("close registree=Cflaky .*reason=enrolment revoked or replaced binding=coap", 1000));
    h_dtls_close(&t);
}

static void replayed_datagrams(void)
{
    h_dtls t;
    h_coap_resp resp;
    long long before;
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(h_coap_request(&t, "POST", "~/in-cse/Ccoap1", "Ccoap1", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"once\"}}", &resp) ==
          0);
    CHECK_EQ_INT(resp.rsc, 2001);
    before = h_metric(&r, COAP_REQUESTS);
    /* the same encrypted datagram again (twice): DTLS's replay window drops it before CoAP sees it */
    CHECK(h_dtls_replay(&t) == 0);
    CHECK(h_dtls_replay(&t) == 0);
    /* answered in order after the replays: had one been taken, the count would show it */
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1/once", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK_EQ_INT(h_metric(&r, COAP_REQUESTS), before + 1);
    h_dtls_close(&t);
}

/* ClientHellos without cookies from many source ports: each gets one HelloVerifyRequest no larger than itself,
 * and the Registrar keeps nothing (no session, no handshake state), so a real client gets in at once. */
static void hello_flood(void)
{
    enum { SOCKS = 50, EACH = 20 };
    unsigned char hello[2048], buf[2048];
    size_t n = h_dtls_client_hello(hello, sizeof hello);
    long long hvr0 = h_metric(&r, "m2m_dtls_hello_verify_total");
    int fds[SOCKS], replies = 0, larger = 0;
    struct sockaddr_in to;
    h_dtls t;
    h_coap_resp resp;

    CHECK(n > 0);
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)r.coaps_port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < SOCKS; i++)
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* in rounds, each no larger than a socket buffer holds (UDP drops what does not fit, here or there) */
    for (int j = 0; j < EACH; j++) {
        for (int i = 0; i < SOCKS; i++)
            (void)sendto(fds[i], hello, n, 0, (struct sockaddr *)&to, sizeof to);
        for (int i = 0; i < SOCKS; i++) {
            struct pollfd p = {fds[i], POLLIN, 0};
            ssize_t got;
            if (poll(&p, 1, 2000) == 1 && (got = recv(fds[i], buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                replies++;
                larger += (size_t)got > n;
            }
        }
    }
    CHECK(wait_metric("m2m_dtls_hello_verify_total", hvr0 + SOCKS * EACH, 2000));
    for (int i = 0; i < SOCKS; i++)
        close(fds[i]);
    CHECK_EQ_INT(replies, SOCKS * EACH);
    CHECK_EQ_INT(larger, 0);
    CHECK_EQ_INT(h_metric(&r, COAP_OPEN), 0);
    CHECK_EQ_INT(h_metric(&r, COAP_PREAUTH), 0);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);
}

static int enrol_token(const char *id, char token[64])
{
    char out[512] = "";
    char *p;
    if (h_sh_out(out, sizeof out, "'%s' enrol token --db '%s' --registree-id '%s'", h_bin(), r.db, id) != 0)
        return -1;
    p = strstr(out, "\ntoken ");
    return p != NULL && sscanf(p + 7, "%63s", token) == 1 ? 0 : -1;
}

static void certificates_and_tokens(void)
{
    static const char AE[] = "{\"m2m:ae\":{\"api\":\"Rpki\",\"rr\":false,\"srv\":[\"3\"]}}";
    char token[64], q[100], hash[65];
    h_dtls t;
    h_coap_resp resp;

    /* x.y.6: an enrolled client certificate, with both certificate suites */
    h_pubkey_hash(path("d1.crt"), hash);
    CHECK(h_sh("'%s' enrol cert --db '%s' --registree-id Ccert1 --pubkey-hash %s >/dev/null", h_bin(), r.db, hash) ==
          0);
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, path("d1.crt"), path("d1.key")) == 0);
    CHECK(strcmp(SSL_get_cipher_name(t.ssl), "ECDHE-ECDSA-AES128-CCM8") == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Ccert1", "Rpki", &resp), 2001);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccert1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    h_dtls_close(&t);
    h_dtls_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, path("d1.crt"), path("d1.key")) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccert1", "Ccert1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);
    h_dtls_ciphers = NULL;
    /* an unenrolled key: server-authenticated only, so unbound: 4107 */
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, path("d2.crt"), path("d2.key")) == 0 ||
          h_dtls_connect_cert(&t, r.coaps_port, root_crt, NULL, NULL) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccert1", "Ccert1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4107);
    h_dtls_close(&t);
    CHECK(wait_log("attach mechanism=cert registree=Ccert1 .*binding=coap", 1000));

    /* x.y.7: the identity token in the Uri-Query as tkns (TS-0008 6.2.2.3) on a server-authenticated context */
    CHECK(enrol_token("Ctok", token) == 0);
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, NULL, NULL) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse", "Ctok", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4107);
    /* an unbound context may send a registration, not an upload: 4.13 past 4 KiB, naming the limit in Size1 */
    {
        static char big[5200];
        int n = snprintf(big, sizeof big, "{\"m2m:ae\":{\"lbl\":[\"");
        memset(big + n, 'y', 5000);
        snprintf(big + n + 5000, sizeof big - (size_t)n - 5000, "\"]}}");
        CHECK(h_coap_request(&t, "POST", "~/in-cse", "Ctok", 2, NULL, big, &resp) == 0);
        CHECK_EQ_INT(resp.code, 413);
        CHECK_EQ_INT(resp.size1, 4096);
    }
    /* a wrong token: 4106, and the security context is closed */
    CHECK(h_coap_request(&t, "POST", "~/in-cse", "Ctok", 2, "tkns=AAAAAAAAAAAAAAAAAAAAAA", AE, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    CHECK(h_dtls_wait_closed(&t, 3000));
    h_dtls_close(&t);
    /* the right one binds the context (From absent: the token's ID is assigned) */
    snprintf(q, sizeof q, "tkns=%s", token);
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, NULL, NULL) == 0);
    CHECK(h_coap_request(&t, "POST", "~/in-cse", NULL, 2, q, AE, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(strstr(resp.body, "\"aei\":\"Ctok\"") != NULL);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ctok", "Ctok", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ctok", "Ccert1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    h_dtls_close(&t);
    CHECK(wait_log("attach mechanism=token registree=Ctok .*binding=coap", 1000));
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"token\",kind=\"full\",binding=\"coap\"}") == 1);
}

static void resumption(void)
{
    h_dtls t;
    h_coap_resp resp;
    SSL_SESSION *s;
    CHECK(h_enrol(&r, "Cres", KT) == 0);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cres", KT) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Cres", "Rres", &resp), 2001);
    s = h_dtls_session(&t);
    h_dtls_close(&t);
    /* a DTLS 1.2 session ticket sealed with the store's keys: resumed, bound to the same Registree */
    h_dtls_next_session = s;
    SSL_SESSION_up_ref(s);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cres", KT) == 0);
    CHECK(SSL_session_reused(t.ssl) == 1);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cres", "Cres", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cres", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    h_dtls_close(&t);
    CHECK(wait_log("attach mechanism=psk registree=Cres .*handshake=resumed version=DTLSv1.2 .*binding=coap", 1000));
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\",binding=\"coap\"}") >= 1);
    /* the enrolment is checked on every resumption: revoked, the ticket is refused and the full handshake fails */
    CHECK(h_revoke(&r, "Cres") == 0);
    h_dtls_next_session = s;
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cres", KT) != 0);
    CHECK(wait_log("resume registree=Cres .*result=refused", 1000));
}

static void key_generation(void)
{
    h_dtls t;
    h_coap_resp resp;
    char key[65], kid[33] = "", want[33];
    const char *p;
    CHECK(h_enrol(&r, "Cgen", KG) == 0);
    /* without forward secrecy (PSK-AES128-CCM8): refused */
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cgen", KG) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Cgen", "Rgen", &resp), 2001);
    CHECK(h_coap_request(&t, "POST", "~/in-cse", "Cgen", 10100, NULL, "{\"m2m:kgn\":{}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4005);
    h_dtls_close(&t);
    /* ECDHE-PSK: both ends take the same exporter key; the answer names its ID, never the key */
    h_dtls_ciphers = "ECDHE-PSK-CHACHA20-POLY1305";
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cgen", KG) == 0);
    h_dtls_ciphers = NULL;
    CHECK(h_dtls_exported_key(&t, key) == 0);
    CHECK(h_coap_request(&t, "POST", "~/in-cse", "Cgen", 10100, NULL, "{\"m2m:kgn\":{}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    if ((p = strstr(resp.body, "\"kid\":\"")) != NULL)
        sscanf(p + 7, "%32[0-9a-f]", kid);
    h_keyid("Cgen", key, want);
    CHECK(strcmp(kid, want) == 0);
    CHECK(strstr(resp.body, key) == NULL);
    h_dtls_close(&t);
    /* the new key works (and becomes current) */
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cgen", key) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cgen", "Cgen", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);
    CHECK(wait_log("keygen registree=Cgen .*binding=coap", 1000));
    CHECK(h_sh("grep -q '%s' '%s'", key, r.log) != 0);
}

/* A device that restarts (no close_notify) and comes back from the same address and port gets in at once: its new
 * handshake replaces the old session (RFC 6347 4.2.8) instead of being dropped inside it until it idles away. */
static void restart_same_port(void)
{
    h_dtls t;
    h_coap_resp resp;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    h_dtls_local_port = ntohs(a.sin_port);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    h_dtls_abandon(&t);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);
    h_dtls_local_port = 0;
    CHECK(wait_log("close registree=Ccoap1 .*reason=a new DTLS handshake from its address and port", 1000));
    CHECK(wait_metric(COAP_OPEN, 0, 2000));
}

static void idle_expiry(void)
{
    h_dtls t;
    h_coap_resp resp;
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccoap1", "Ccoap1", 0, NULL, NULL, &resp) == 0);
    CHECK(h_clock_advance(&r, 61) == 0); /* --idle-timeout 60 */
    CHECK(h_dtls_wait_closed(&t, 3000));
    CHECK(wait_log("close registree=Ccoap1 .*reason=idle binding=coap", 1000));
    h_dtls_close(&t);
}

/* A second Registrar on the same store, with small limits. */
static void limits(void)
{
    h_dtls t[4];
    char kid[33];
    h_registrar_stop(&r, SIGTERM);
    if (start("--max-per-address 3 --preauth-max 2 --max-request-rate 1") != 0) {
        CHECK(0);
        return;
    }
    /* --preauth-max 2: handshakes that never finish (a wrong key) hold the unauthenticated budget; a third one
     * pushes out the one waiting longest */
    h_keyid("Ccoap1", K1, kid);
    h_dtls_handshake_ms = 300;
    for (int i = 0; i < 3; i++)
        CHECK(h_dtls_connect_psk_identity(&t[i], r.coaps_port, kid, K2) != 0);
    h_dtls_handshake_ms = 3000;
    CHECK(h_metric(&r, COAP_PREAUTH) <= 2);
    CHECK(h_metric(&r, "m2m_connections_refused_total{reason=\"preauth_count\",binding=\"coap\"}") >= 1);
    /* they go after --handshake-timeout */
    CHECK(h_clock_advance(&r, 6) == 0);
    CHECK(wait_metric(COAP_PREAUTH, 0, 3000));
    CHECK(wait_metric(COAP_OPEN, 0, 3000));
    /* --max-per-address 3: a fourth session from 127.0.0.1 gets no handshake */
    for (int i = 0; i < 3; i++)
        CHECK(h_dtls_connect_psk(&t[i], r.coaps_port, "Ccoap1", K1) == 0);
    CHECK(h_dtls_connect_psk(&t[3], r.coaps_port, "Ccoap1", K1) != 0);
    CHECK(h_metric(&r, "m2m_connections_refused_total{reason=\"max_per_address\",binding=\"coap\"}") >= 1);
    for (int i = 0; i < 3; i++)
        h_dtls_close(&t[i]);
    CHECK(wait_metric(COAP_OPEN, 0, 3000));
    CHECK(h_dtls_connect_psk(&t[3], r.coaps_port, "Ccoap1", K1) == 0);
    h_dtls_close(&t[3]);

    /* --max-request-rate 1 (a burst of 2): duplicates of a write count against it like requests; beyond it they
     * are dropped unanswered. Each one is either answered or refused: counted once all were handled (no window to
     * wait out); the rate itself runs on the real clock, so the bound leaves seconds to spare. */
    {
        h_coap_resp resp;
        long long refused = h_metric(&r, "m2m_quota_refused_total"), dups;
        int answers = 0;
        CHECK(h_dtls_connect_psk(&t[0], r.coaps_port, "Cretx", KX) == 0);
        CHECK(h_coap_request(&t[0], "POST", "~/in-cse/Cretx", "Cretx", 3, NULL, "{\"m2m:cnt\":{\"rn\":\"lim\"}}",
                             &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2001);
        dups = h_metric(&r, DUPLICATES);
        for (int i = 0; i < 10; i++)
            CHECK(h_coap_resend(&t[0]) == 0);
        CHECK(wait_metric(DUPLICATES, dups + 10, 5000));
        while (h_coap_await(&t[0], 200, &resp) == 0) {
            CHECK_EQ_INT(resp.rsc, 2001);
            answers++;
        }
        /* the burst's second token, and one a second refilled while ten datagrams were handled */
        CHECK(answers >= 1 && answers <= 6);
        CHECK_EQ_INT(h_metric(&r, "m2m_quota_refused_total") - refused, 10 - answers);
        h_dtls_close(&t[0]);
    }
}

int main(void)
{
    if (h_registrar_init(&r) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    if (h_registrar_pki(&r, root_crt, reg_crt, reg_key) != 0 ||
        h_make_cert(path("d1.crt"), path("d1.key"), "Ccert1", "URI:Ccert1", NULL, NULL, 0, -60, 86400) != 0 ||
        h_make_cert(path("d2.crt"), path("d2.key"), "Cstranger", NULL, NULL, NULL, 0, -60, 86400) != 0 ||
        h_enrol(&r, "Ccoap1", K1) != 0 || h_enrol(&r, "Ccoap2", K2) != 0 || start(NULL) != 0 || r.coaps_port <= 0) {
        fprintf(stderr, "setup failed\n");
        h_registrar_cleanup(&r);
        return 1;
    }
    psk_registration();
    write_answers();
    block_wise_answers();
    replayed_datagrams();
    hello_flood();
    certificates_and_tokens();
    resumption();
    key_generation();
    revoked_mid_session();
    revoke_through_a_store_failure();
    restart_same_port();
    refused_handshakes();
    idle_expiry();
    limits();
    h_registrar_cleanup(&r);
    return h_done("it_coap");
}
