/* SPDX-License-Identifier: Apache-2.0 */
/* Hostile and broken input: each gets a clear oneM2M error (or, before authentication, a closed connection), the
 * Registrar keeps serving everyone else, and nothing acknowledged is lost. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char K1[] = "000102030405060708090a0b0c0d0e0f";
static const char K2[] = "101112131415161718191a1b1c1d1e1f";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int raw_rsc(h_tls *t, const char *req)
{
    h_resp resp;
    if (h_raw(t, req, strlen(req), &resp) != 0)
        return -1;
    return resp.rsc;
}

static void healthy(h_registrar *r, const char *why)
{
    h_tls t;
    h_resp resp;
    int ok = h_connect_psk(&t, r->port, "Cgood", K2, 0) == 0 &&
             h_request(&t, "GET", "/~/in-cse/Cgood", "Cgood", 0, NULL, &resp) == 0 && resp.rsc == 2000;
    if (!ok)
        fprintf(stderr, "Registrar not serving others after: %s\n", why);
    CHECK(ok);
    h_close(&t);
}

static void malformed_requests(h_registrar *r)
{
    h_tls t;
    h_resp resp;
    char big[4096];

    CHECK(h_connect_psk(&t, r->port, "Cbad", K1, 0) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cbad", "Rbad", &resp), 2001);
    /* malformed JSON */
    CHECK(h_request(&t, "POST", "/~/in-cse/Cbad", "Cbad", 3, "{\"m2m:cnt\": {\"rn\": ", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4000);
    CHECK(strstr(resp.body, "malformed JSON") != NULL);
    /* JSON nested beyond any reason */
    {
        static char deep[20000];
        memset(deep, '[', sizeof deep - 1);
        deep[sizeof deep - 1] = '\0';
        CHECK(h_request(&t, "POST", "/~/in-cse/Cbad", "Cbad", 3, deep, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 4000);
    }
    /* issue 8: a body that says two things -- a member twice, a string cut at a NUL -- is refused naming it */
    CHECK(h_request(&t, "POST", "/~/in-cse/Cbad", "Cbad", 3, "{\"m2m:cnt\":{\"rn\":\"a\",\"rn\":\"../b\"}}",
                    &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4000);
    CHECK(strstr(resp.body, "duplicate member \\\"rn\\\" in m2m:cnt") != NULL);
    CHECK(h_request(&t, "POST", "/~/in-cse/Cbad", "Cbad", 3, "{\"m2m:cnt\":{\"rn\":\"t1\\u0000x\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4000);
    CHECK(strstr(resp.body, "string m2m:cnt.rn holds a NUL character") != NULL);
    /* unknown resource type */
    CHECK(h_request(&t, "POST", "/~/in-cse/Cbad", "Cbad", 99, "{\"m2m:xyz\":{}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4000);
    /* missing X-M2M-RI */
    CHECK_EQ_INT(raw_rsc(&t, "GET /~/in-cse/Cbad HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cbad\r\n\r\n"), 4000);
    /* missing X-M2M-Origin on a non-registration request */
    CHECK_EQ_INT(raw_rsc(&t, "GET /~/in-cse/Cbad HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\n\r\n"), 4000);
    /* wrong Content-Type */
    CHECK_EQ_INT(raw_rsc(&t, "POST /~/in-cse/Cbad HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Cbad\r\n"
                             "Content-Type: text/xml;ty=3\r\nContent-Length: 2\r\n\r\n{}"), 4015);
    /* unsupported release */
    CHECK_EQ_INT(raw_rsc(&t, "GET /~/in-cse/Cbad HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Cbad\r\n"
                             "X-M2M-RVI: 99\r\n\r\n"), 4001);
    /* an oversized (2 MiB) body: refused with 413 before it is read, connection closed */
    {
        size_t n = 2u << 20;
        char *body = malloc(n + 1);
        memset(body, ' ', n);
        body[0] = '{';
        body[n - 1] = '}';
        body[n] = '\0';
        h_request(&t, "POST", "/~/in-cse/Cbad", "Cbad", 3, body, &resp);
        CHECK(resp.status == 413 || resp.status == 0);
        free(body);
    }
    h_close(&t);
    /* huge header */
    CHECK(h_connect_psk(&t, r->port, "Cbad", K1, 0) == 0);
    {
        static char req[40000];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        snprintf(req, sizeof req, "GET /~/in-cse/Cbad HTTP/1.1\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Cbad\r\nX-A: %s\r\n"
                 "X-B: %s\r\nX-C: %s\r\nX-D: %s\r\nX-E: %s\r\n\r\n", big, big, big, big, big);
        h_raw(&t, req, strlen(req), &resp);
        CHECK(resp.status == 400 || resp.status == 413 || resp.status == 431 || resp.status == 0);
    }
    h_close(&t);
    /* garbage instead of HTTP */
    CHECK(h_connect_psk(&t, r->port, "Cbad", K1, 0) == 0);
    h_raw(&t, "\x01\x02\x03 nonsense\r\n\r\n", 16, &resp);
    CHECK(resp.rsc == 0);
    h_close(&t);
    healthy(r, "malformed requests");
}

/* A 100 MB upload: refused without the Registrar reading (or buffering) it all. */
static void hundred_megabytes(h_registrar *r)
{
    h_tls t;
    static char chunk[65536];
    size_t sent = 0, total = 100u * 1000 * 1000;
    char hdr[256], buf[512];
    int n, got = 0;
    double t0 = now_s();

    CHECK(h_connect_psk(&t, r->port, "Cbad", K1, 0) == 0);
    snprintf(hdr, sizeof hdr, "POST /~/in-cse/Cbad HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Cbad\r\n"
                              "Content-Type: application/json;ty=3\r\nContent-Length: %zu\r\n\r\n", total);
    SSL_write(t.ssl, hdr, (int)strlen(hdr));
    memset(chunk, ' ', sizeof chunk);
    while (sent < total && now_s() - t0 < 20) {
        n = SSL_write(t.ssl, chunk, sizeof chunk);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    n = SSL_read(t.ssl, buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        got = strstr(buf, " 413 ") != NULL;
    }
    printf("100 MB upload: server stopped it after %.1f MB (%s)\n", (double)sent / 1e6,
           got ? "413 Payload Too Large" : "connection closed");
    CHECK(sent < total);
    h_close(&t);
    healthy(r, "100 MB body");
}

/* A client that stops mid-request, and 200 simultaneous half-open handshakes. */
static void stalled_clients(h_registrar *r)
{
    enum { N = 200 };
    int fds[N], open_n = 0, closed = 0;
    h_tls t;
    double t0;

    /* mid-request stop: authenticated, half a request, then silence, then gone */
    CHECK(h_connect_psk(&t, r->port, "Cbad", K1, 0) == 0);
    SSL_write(t.ssl, "POST /~/in-cse/Cbad HTTP/1.1\r\nContent-Length: 100\r\n", 52);
    h_close(&t);

    for (int i = 0; i < N; i++) {
        fds[i] = h_tcp(r->port);
        if (fds[i] >= 0) {
            open_n++;
            /* half of them send the first bytes of a ClientHello record and stop */
            if (i % 2 == 0 && write(fds[i], "\x16\x03\x01\x02\x00\x01", 6) != 6)
                h_failures++;
        }
    }
    CHECK_EQ_INT(open_n, N);
    t0 = now_s();
    healthy(r, "200 half-open handshakes");
    printf("with %d half-open handshakes: a legitimate attachment took %.1f ms\n", N, (now_s() - t0) * 1e3);
    /* the pre-authentication budget (--handshake-timeout 2) closes them */
    t0 = now_s();
    while (closed < N && now_s() - t0 < 8) {
        closed = 0;
        for (int i = 0; i < N; i++) {
            struct pollfd p = {fds[i], POLLIN, 0};
            char c;
            if (fds[i] < 0 || (poll(&p, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0))
                closed++;
        }
        if (closed < N)
            usleep(250 * 1000);
    }
    printf("half-open handshakes closed by the Registrar: %d of %d after %.1f s\n", closed, N, now_s() - t0);
    CHECK_EQ_INT(closed, N);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* and a plain-text HTTP client on the TLS port gets nowhere */
    {
        int fd = h_tcp(r->port);
        char buf[64];
        ssize_t got;
        CHECK(write(fd, "GET / HTTP/1.1\r\n\r\n", 18) == 18);
        got = read(fd, buf, sizeof buf);
        CHECK(got <= 0 || (size_t)got < sizeof buf); /* an alert at most, never HTTP */
        CHECK(got <= 0 || memcmp(buf, "HTTP", 4) != 0);
        close(fd);
    }
    healthy(r, "stalled clients");
}

/* Issue 8 item 6: From and To with ESC, BEL, CR/LF (raw, and percent-encoded in the path) must not reach the log
 * as such: no byte outside printable ASCII in the log, no forged line. */
static void log_injection(h_registrar *r)
{
    h_tls t;
    h_resp resp;
    /* a forged log line in the path (percent-encoded newline), terminal escapes and a quote in From */
    static const char req1[] =
        "GET /~/in-cse/%0a2026-01-01T00:00:00.000Z%20registrar:%20attach%20mechanism=psk%20registree=Cforged%1b[2J "
        "HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Cbad\r\n\r\n";
    static const char req2[] = "GET /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 2\r\n"
                               "X-M2M-Origin: Cx\x1b]0;owned\x07\"q\r\n\r\n";
    CHECK(h_connect_psk(&t, r->port, "Cbad", K1, 0) == 0);
    CHECK(h_raw(&t, req1, sizeof req1 - 1, &resp) == 0);
    fprintf(stderr, "log injection: path answered %d\n", resp.rsc);
    CHECK(h_raw(&t, req2, sizeof req2 - 1, &resp) == 0);
    fprintf(stderr, "log injection: From answered %d\n", resp.rsc);
    CHECK_EQ_INT(resp.rsc, 4106);
    h_close(&t);
    /* every byte of the log is printable ASCII or a newline, and no line was forged */
    CHECK(h_sh("! LC_ALL=C grep -q '[^[:print:]]' '%s'", r->log) == 0);
    CHECK(h_sh("! grep -q '^2026-01-01T00:00:00.000Z' '%s'", r->log) == 0);
    /* the peer's From shows quoted and escaped: from="Cx\x1b]0;owned\x07\"q" */
    CHECK(h_sh("grep -qF 'from=\"Cx\\x1b]0;owned\\x07\\\"q\"' '%s'", r->log) == 0);
}

int main(void)
{
    h_registrar r;
    h_tls t;
    h_resp resp;

    if (h_registrar_init(&r) != 0 || h_enrol(&r, "Cbad", K1) != 0 || h_enrol(&r, "Cgood", K2) != 0 ||
        h_registrar_start(&r, 2, "--handshake-timeout 2") != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    CHECK(h_connect_psk(&t, r.port, "Cgood", K2, 0) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cgood", "Rgood", &resp), 2001);
    h_close(&t);

    malformed_requests(&r);
    hundred_megabytes(&r);
    stalled_clients(&r);
    log_injection(&r);
    CHECK_EQ_INT(h_registrar_stop(&r, SIGTERM), 0);
    h_registrar_cleanup(&r);
    return h_done("it_bad_input");
}
