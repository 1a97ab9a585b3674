/* SPDX-License-Identifier: Apache-2.0 */
/* DTLS-PSK measurements for the CoAPS listener (issue 12): `m2m-bench dtls MODE ...`, run by bench/dtls.sh.
 *
 *   dtls_bench mem     --port P --identity ID --key-file F --pid REGISTRAR_PID [--sessions N]
 *       opens N DTLS-PSK (PSK-AES128-CCM8) sessions to the Registrar, each attached (handshake, then one CoAP
 *       RETRIEVE of the CSEBase answered), holds them idle and prints the Registrar's resident memory per session:
 *       (RSS with N idle sessions - RSS before) / N. With --settle S, measured once right after the last request and
 *       again S seconds later (an idle session gives its OpenSSL buffers' pages back after 2 s: the second figure
 *       is the idle one). With --hold FILE the sessions stay open until FILE exists (bench/dtls.sh measures
 *       re-attachment with them held).
 *   dtls_bench attach  --port P --identity ID --key-file F [--count N] [--pid PID]
 *       N sequential full attachments (cookie exchange, handshake, one RETRIEVE, close); prints the rate and, with
 *       --pid, the server's CPU per attachment (utime + stime from /proc). With --resume, each attachment offers
 *       the session ticket of a first full handshake (x.y.4: an abbreviated handshake) and must be resumed.
 *   dtls_bench register --port P --creds FILE [--count N] [--pid PID]
 *       full attachments: for each Registree of FILE ("ID KEYID HEXKEY" lines, each enrolled), the handshake with
 *       its key and the registration of its <AE> (CoAP POST, answered 2.01 once durable); rate and server CPU.
 *   dtls_bench ceiling --port P --identity ID --key-file F
 *       the raw-OpenSSL ceiling: DTLS 1.2 PSK-AES128-CCM8 with HelloVerifyRequest cookies and a session ticket
 *       (as the Registrar), one session at a time on its own connected socket, answering the first request with a
 *       fixed 2.05 so that `attach` and `register` work against it, then, like the Registrar, keeping the session
 *       until the client's close_notify, answered with one.
 *
 * Built into m2m-bench as the function m2m_dtls_bench (bench/CMakeLists.txt compiles every .c file of bench); on its own:
 *   cc -O2 -DM2M_DTLS_BENCH_MAIN -o dtls_bench bench/dtls_bench.c -lssl -lcrypto
 * The identity is the key ID `m2mattach keyid --kca-file F` prints; F holds the key as hex. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int m2m_dtls_bench(int argc, char **argv);

typedef struct dtls_opts {
    int port, sessions, count, pid;
    int resume; /* attach: every attachment resumes the first one's session (its ticket) */
    char identity[128];
    char hold[256]; /* mem: keep the sessions open until this file exists */
    int settle;     /* mem: seconds idle before the idle figure */
    char creds[256]; /* register: "ID KEYID HEXKEY" lines */
    unsigned char key[64];
    size_t key_len;
} dtls_opts;

static double dtls_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const dtls_opts *g_opts;

static unsigned int client_psk(SSL *ssl, const char *hint, char *id, unsigned int max_id, unsigned char *psk,
                               unsigned int max_psk)
{
    (void)ssl, (void)hint;
    if (strlen(g_opts->identity) >= max_id || g_opts->key_len > max_psk)
        return 0;
    memcpy(id, g_opts->identity, strlen(g_opts->identity) + 1);
    memcpy(psk, g_opts->key, g_opts->key_len);
    return (unsigned int)g_opts->key_len;
}

static unsigned int server_psk(SSL *ssl, const char *id, unsigned char *psk, unsigned int max_psk)
{
    (void)ssl;
    if (strcmp(id, g_opts->identity) != 0 || g_opts->key_len > max_psk)
        return 0;
    memcpy(psk, g_opts->key, g_opts->key_len);
    return (unsigned int)g_opts->key_len;
}

static struct sockaddr_in server_addr;

static int udp_to(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    server_addr = a;
    return fd;
}

/* A CoAP CON GET ~/in-cse with oneM2M-FR C and oneM2M-RQI b (enough for a CSEBase RETRIEVE). */
static size_t coap_get(unsigned char *m, uint16_t mid)
{
    static const unsigned char opts[] = {
        0xb1, '~', 0x06, 'i', 'n', '-', 'c', 's', 'e', /* Uri-Path 11: "~", "in-cse" */
        0xd1, 0xff, 'C',                               /* 279 = 11 + 13 + 255: oneM2M-FR "C" */
        0x41, 'b'};                                    /* 283: oneM2M-RQI "b" */
    m[0] = 0x41, m[1] = 0x01, m[2] = (unsigned char)(mid >> 8), m[3] = (unsigned char)mid, m[4] = 0x2a;
    memcpy(m + 5, opts, sizeof opts);
    return 5 + sizeof opts;
}

/* One CoAP option after the one numbered *last (RFC 7252 3.1: delta and length, each with its extension bytes). */
static unsigned char *coap_opt(unsigned char *p, unsigned *last, unsigned num, const void *val, size_t len)
{
    unsigned char *head = p++;
    unsigned d = num - *last, dn, ln;
    *last = num;
    if (d < 13)
        dn = d;
    else if (d < 269)
        dn = 13, *p++ = (unsigned char)(d - 13);
    else
        dn = 14, *p++ = (unsigned char)((d - 269) >> 8), *p++ = (unsigned char)(d - 269);
    if (len < 13)
        ln = (unsigned)len;
    else
        ln = 13, *p++ = (unsigned char)(len - 13); /* our values are short */
    *head = (unsigned char)(dn << 4 | ln);
    memcpy(p, val, len);
    return p + len;
}

/* A CoAP CON POST ~/in-cse creating ID's <AE> (TS-0008: oneM2M-TY 2, oneM2M-FR ID, oneM2M-RQI, oneM2M-RVI 3,
 * Content-Format application/json), as a Registree's registration. */
static size_t coap_create_ae(unsigned char *m, size_t cap, uint16_t mid, const char *id)
{
    unsigned char *p = m + 5, ty = 2, cf = 50;
    unsigned last = 0;
    char body[256];
    int blen = snprintf(body, sizeof body, "{\"m2m:ae\":{\"api\":\"Nbench\",\"rr\":false,"
                                           "\"srv\":[\"3\"]}}");
    if (blen < 0 || (size_t)blen >= sizeof body || cap < 5 + 64 + strlen(id) + (size_t)blen)
        return 0;
    m[0] = 0x41, m[1] = 0x02, m[2] = (unsigned char)(mid >> 8), m[3] = (unsigned char)mid, m[4] = 0x2b;
    p = coap_opt(p, &last, 11, "~", 1);
    p = coap_opt(p, &last, 11, "in-cse", 6);
    p = coap_opt(p, &last, 12, &cf, 1);
    p = coap_opt(p, &last, 267, &ty, 1);
    p = coap_opt(p, &last, 271, "3", 1);
    p = coap_opt(p, &last, 279, id, strlen(id));
    p = coap_opt(p, &last, 283, "r", 1);
    *p++ = 0xff;
    memcpy(p, body, (size_t)blen);
    return (size_t)(p - m) + (size_t)blen;
}

/* The answer to the request with message ID mid: piggybacked on the ACK, or (the Registrar answers a write once it
 * is durable) an empty ACK first and then a CON of its own, which is acknowledged. The answer's code, or -1. */
static int coap_answer(SSL *ssl, uint16_t mid)
{
    unsigned char rx[2048];
    for (int i = 0; i < 4; i++) {
        int n = SSL_read(ssl, rx, sizeof rx);
        int type = n >= 4 ? (rx[0] >> 4) & 3 : -1;
        uint16_t rmid = n >= 4 ? (uint16_t)(rx[2] << 8 | rx[3]) : 0;
        if (n < 4)
            return -1;
        if (type == 2 && rmid == mid && rx[1] == 0)
            continue; /* the empty ACK: the answer comes separately */
        if (type == 0) { /* a separate answer: acknowledged */
            unsigned char ack[4] = {0x60, 0x00, rx[2], rx[3]};
            if (SSL_write(ssl, ack, 4) != 4)
                return -1;
        }
        return rx[1];
    }
    return -1;
}

/* attach --resume: the session (its ticket) every attachment offers */
static SSL_SESSION *g_resume;

/* A DTLS-PSK client session on its own socket: handshake and one answered RETRIEVE. NULL on failure. */
static SSL *attach_one(SSL_CTX *ctx, int port, int *fd_out)
{
    int fd = udp_to(port);
    BIO *b = fd >= 0 ? BIO_new_dgram(fd, BIO_NOCLOSE) : NULL;
    SSL *ssl = b ? SSL_new(ctx) : NULL;
    unsigned char m[64], rx[2048];
    struct timeval tv = {3, 0};
    size_t n;

    if (ssl == NULL || (g_resume != NULL && SSL_set_session(ssl, g_resume) != 1))
        goto fail;
    BIO_ctrl(b, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &server_addr);
    BIO_ctrl(b, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &tv);
    SSL_set_bio(ssl, b, b);
    b = NULL;
    if (SSL_connect(ssl) != 1) {
        if (getenv("DTLS_BENCH_DEBUG"))
            ERR_print_errors_fp(stderr);
        goto fail;
    }
    n = coap_get(m, (uint16_t)rand());
    if (SSL_write(ssl, m, (int)n) != (int)n || SSL_read(ssl, rx, sizeof rx) <= 0)
        goto fail;
    *fd_out = fd;
    return ssl;
fail:
    BIO_free(b);
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    ERR_clear_error();
    return NULL;
}

static long rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static double cpu_s(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(buf, sizeof buf, f) == NULL) {
        fclose(f);
        return -1;
    }
    fclose(f);
    p = strrchr(buf, ')'); /* after the command name: state is field 3, utime 14, stime 15 */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static SSL_CTX *client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, "PSK-AES128-CCM8");
    SSL_CTX_set_psk_client_callback(ctx, client_psk);
    return ctx;
}

static int run_mem(const dtls_opts *o)
{
    SSL_CTX *ctx = client_ctx();
    SSL **ssl = calloc((size_t)o->sessions, sizeof *ssl);
    int *fd = calloc((size_t)o->sessions, sizeof *fd), open_n = 0;
    long before, held;
    struct rlimit rl;

    if (ctx == NULL || ssl == NULL || fd == NULL || o->pid <= 0)
        return 2;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)o->sessions + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* one session first, so that what every session shares (libcoap's, OpenSSL's first allocations) is counted
     * before */
    {
        int f;
        SSL *s = attach_one(ctx, o->port, &f);
        if (s == NULL) {
            fprintf(stderr, "dtls_bench mem: the first attachment failed\n");
            return 1;
        }
        SSL_shutdown(s);
        SSL_free(s);
        close(f);
        usleep(300000);
    }
    before = rss_kib(o->pid);
    for (int i = 0; i < o->sessions; i++)
        if ((ssl[i] = attach_one(ctx, o->port, &fd[i])) != NULL)
            open_n++;
    usleep(500000);
    held = rss_kib(o->pid);
    printf("sessions %d attached of %d\nregistrar RSS before %ld KiB, with the sessions just attached %ld KiB\n"
           "per attached DTLS session right after its request: %.2f KiB\n", open_n, o->sessions, before, held,
           open_n ? (double)(held - before) / open_n : 0.0);
    if (o->settle > 0) {
        sleep((unsigned)o->settle); /* a benchmark waits for the server's idle housekeeping to run */
        held = rss_kib(o->pid);
    }
    printf("registrar RSS with the sessions idle %d s: %ld KiB\nper idle attached DTLS session: %.2f KiB\n",
           o->settle, held, open_n ? (double)(held - before) / open_n : 0.0);
    fflush(stdout);
    /* --hold FILE: the sessions stay idle (other measurements run meanwhile) until FILE exists */
    while (o->hold[0] != '\0' && access(o->hold, F_OK) != 0)
        usleep(100000);
    for (int i = 0; i < o->sessions; i++)
        if (ssl[i] != NULL) {
            SSL_shutdown(ssl[i]);
            SSL_free(ssl[i]);
            close(fd[i]);
        }
    free(ssl);
    free(fd);
    SSL_CTX_free(ctx);
    return open_n == o->sessions ? 0 : 1;
}

/* Full attachments: for each Registree of the --creds file (lines "ID KEYID HEXKEY"), a handshake with its key and
 * the registration of its <AE>, answered 2.01; then close. */
static int run_register(const dtls_opts *o)
{
    SSL_CTX *ctx = client_ctx();
    FILE *f = fopen(o->creds, "r");
    char id[128], kid[128], hex[129];
    double t0 = dtls_now(), c0 = o->pid > 0 ? cpu_s(o->pid) : 0, dt, dc;
    int ok = 0, tried = 0;
    dtls_opts *mo = (dtls_opts *)o; /* the PSK callback reads g_opts: this Registree's identity and key */

    if (ctx == NULL || f == NULL) {
        fprintf(stderr, "dtls_bench register: %s: %s\n", o->creds, f == NULL ? "cannot open" : "no context");
        return 2;
    }
    while (tried < o->count && fscanf(f, "%127s %127s %128s", id, kid, hex) == 3) {
        unsigned char m[512];
        size_t n;
        uint16_t mid = (uint16_t)rand();
        SSL *ssl;
        int fd = udp_to(o->port), code = -1;
        BIO *b = fd >= 0 ? BIO_new_dgram(fd, BIO_NOCLOSE) : NULL;
        struct timeval tv = {3, 0};

        tried++;
        snprintf(mo->identity, sizeof mo->identity, "%s", kid);
        mo->key_len = 0;
        for (size_t i = 0; hex[2 * i] && hex[2 * i + 1] && i < sizeof mo->key; i++) {
            unsigned v;
            if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                break;
            mo->key[mo->key_len++] = (unsigned char)v;
        }
        ssl = b ? SSL_new(ctx) : NULL;
        if (ssl != NULL) {
            BIO_ctrl(b, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &server_addr);
            BIO_ctrl(b, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &tv);
            SSL_set_bio(ssl, b, b);
            b = NULL;
            if (SSL_connect(ssl) == 1 && (n = coap_create_ae(m, sizeof m, mid, id)) > 0 &&
                SSL_write(ssl, m, (int)n) == (int)n)
                code = coap_answer(ssl, mid);
            if (code == 0x41)
                ok++;
            else if (getenv("DTLS_BENCH_DEBUG"))
                fprintf(stderr, "dtls_bench register: %s: answer code 0x%02x\n", id, code);
            SSL_shutdown(ssl);
        }
        BIO_free(b);
        SSL_free(ssl);
        if (fd >= 0)
            close(fd);
        ERR_clear_error();
    }
    fclose(f);
    dt = dtls_now() - t0;
    dc = o->pid > 0 ? cpu_s(o->pid) - c0 : 0;
    printf("registrations %d of %d in %.2f s: %.1f/s", ok, tried, dt, ok / dt);
    if (o->pid > 0 && ok > 0)
        printf(", server CPU %.1f us each", dc * 1e6 / ok);
    printf("\n");
    SSL_CTX_free(ctx);
    return ok == tried && ok > 0 ? 0 : 1;
}

static int run_attach(const dtls_opts *o)
{
    SSL_CTX *ctx = client_ctx();
    double t0 = dtls_now(), c0 = o->pid > 0 ? cpu_s(o->pid) : 0, dt, dc;
    int ok = 0, resumed = 0;
    if (ctx == NULL)
        return 2;
    if (o->resume) {
        /* one full handshake first (not counted): its ticket is what every attachment below offers */
        int f;
        SSL *s = attach_one(ctx, o->port, &f);
        if (s == NULL || (g_resume = SSL_get1_session(s)) == NULL || !SSL_SESSION_is_resumable(g_resume)) {
            fprintf(stderr, "dtls_bench attach --resume: no resumable session from the first handshake\n");
            return 1;
        }
        SSL_shutdown(s);
        SSL_free(s);
        close(f);
        t0 = dtls_now(), c0 = o->pid > 0 ? cpu_s(o->pid) : 0;
    }
    for (int i = 0; i < o->count; i++) {
        int f;
        SSL *s = attach_one(ctx, o->port, &f);
        if (s == NULL)
            continue;
        ok++;
        resumed += SSL_session_reused(s);
        SSL_shutdown(s);
        SSL_free(s);
        close(f);
    }
    dt = dtls_now() - t0;
    dc = o->pid > 0 ? cpu_s(o->pid) - c0 : 0;
    printf("attachments %d of %d in %.2f s: %.1f/s", ok, o->count, dt, ok / dt);
    if (o->pid > 0 && ok > 0)
        printf(", server CPU %.1f us each", dc * 1e6 / ok);
    if (o->resume)
        printf(", resumed %d", resumed);
    printf("\n");
    SSL_SESSION_free(g_resume);
    g_resume = NULL;
    SSL_CTX_free(ctx);
    return ok == o->count && (!o->resume || resumed == ok) ? 0 : 1;
}

/* ---- the ceiling: what raw OpenSSL costs for the same exchange ---- */

static unsigned char cookie_secret[32];

static int cookie_of(SSL *ssl, unsigned char *out, unsigned int *len)
{
    BIO_ADDR *peer = BIO_ADDR_new();
    unsigned char a[32];
    size_t alen = sizeof a;
    unsigned short port;
    int ok = peer != NULL && BIO_dgram_get_peer(SSL_get_rbio(ssl), peer) > 0 &&
             BIO_ADDR_rawaddress(peer, a, &alen) == 1;
    port = peer ? BIO_ADDR_rawport(peer) : 0;
    if (ok && alen + 2 <= sizeof a) {
        memcpy(a + alen, &port, 2);
        ok = HMAC(EVP_sha256(), cookie_secret, sizeof cookie_secret, a, alen + 2, out, len) != NULL;
    }
    BIO_ADDR_free(peer);
    return ok;
}

static int cookie_verify(SSL *ssl, const unsigned char *c, unsigned int len)
{
    unsigned char want[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return cookie_of(ssl, want, &n) && n == len && CRYPTO_memcmp(want, c, n) == 0;
}

static int run_ceiling(const dtls_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_server_method());
    struct sockaddr_in a;
    int lfd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
    socklen_t alen = sizeof a;
    if (ctx == NULL || lfd < 0 || RAND_bytes(cookie_secret, sizeof cookie_secret) != 1)
        return 2;
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ctx, "PSK-AES128-CCM8");
    SSL_CTX_set_psk_server_callback(ctx, server_psk);
    SSL_CTX_set_cookie_generate_cb(ctx, cookie_of);
    SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
    /* the Registrar's handshake: it sends a NewSessionTicket in every full handshake (x.y.4), so does the ceiling
     * (OpenSSL's own ticket keys) */
    SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)o->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        return 1;
    printf("ceiling port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        BIO *lb = BIO_new_dgram(lfd, BIO_NOCLOSE);
        SSL *ssl = SSL_new(ctx);
        BIO_ADDR *peer = BIO_ADDR_new();
        unsigned char rx[2048], tx[64] = {0x61, 0x45, 0, 0, 0x2a};
        int fd = -1, n;
        struct timeval tv = {3, 0};
        SSL_set_bio(ssl, lb, lb);
        if (DTLSv1_listen(ssl, peer) == 1) {
            /* the peer proved its address: its own socket, connected, as OpenSSL's demos do */
            struct sockaddr_in p;
            memset(&p, 0, sizeof p);
            p.sin_family = AF_INET;
            p.sin_port = BIO_ADDR_rawport(peer);
            BIO_ADDR_rawaddress(peer, &p.sin_addr, NULL);
            fd = socket(AF_INET, SOCK_DGRAM, 0);
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
            if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && connect(fd, (struct sockaddr *)&p, sizeof p) == 0) {
                BIO_set_fd(SSL_get_rbio(ssl), fd, BIO_NOCLOSE);
                BIO_ctrl(SSL_get_rbio(ssl), BIO_CTRL_DGRAM_SET_CONNECTED, 0, &p);
                BIO_ctrl(SSL_get_rbio(ssl), BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &tv);
                if (SSL_accept(ssl) == 1 && (n = SSL_read(ssl, rx, sizeof rx)) >= 4) {
                    tx[2] = rx[2], tx[3] = rx[3]; /* ACK 2.05 with the request's message ID and token */
                    SSL_write(ssl, tx, 5);
                    /* the session stays until the client ends it, as on the Registrar (a device decides when it
                     * is done); its close_notify is answered with one (RFC 5246 7.2.1), as libcoap does */
                    while ((n = SSL_read(ssl, rx, sizeof rx)) > 0)
                        ;
                    if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN)
                        SSL_shutdown(ssl);
                }
            }
        }
        SSL_free(ssl);
        BIO_ADDR_free(peer);
        if (fd >= 0)
            close(fd);
        ERR_clear_error();
    }
    return 0;
}

static int read_key_file(const char *path, dtls_opts *o)
{
    char hex[160] = "";
    long len = 0;
    unsigned char *k;
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(hex, sizeof hex, f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    hex[strcspn(hex, "\r\n")] = '\0';
    k = OPENSSL_hexstr2buf(hex, &len);
    if (k == NULL || len <= 0 || (size_t)len > sizeof o->key) {
        OPENSSL_free(k);
        return -1;
    }
    memcpy(o->key, k, (size_t)len);
    o->key_len = (size_t)len;
    OPENSSL_clear_free(k, (size_t)len);
    return 0;
}

int m2m_dtls_bench(int argc, char **argv)
{
    static dtls_opts o;
    const char *mode = argc > 1 ? argv[1] : "";
    memset(&o, 0, sizeof o);
    o.sessions = 1000;
    o.count = 1000;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc && strcmp(argv[i], "--resume") != 0)
            break; /* an option without its value */
        if (strcmp(argv[i], "--resume") == 0) { /* a flag: no value */
            o.resume = 1;
            i--;
            continue;
        }
        if (strcmp(argv[i], "--port") == 0)
            o.port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--sessions") == 0)
            o.sessions = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--count") == 0)
            o.count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--pid") == 0)
            o.pid = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--creds") == 0)
            snprintf(o.creds, sizeof o.creds, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--settle") == 0)
            o.settle = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--hold") == 0)
            snprintf(o.hold, sizeof o.hold, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--identity") == 0)
            snprintf(o.identity, sizeof o.identity, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--key-file") == 0) {
            if (read_key_file(argv[i + 1], &o) != 0) {
                fprintf(stderr, "dtls_bench: %s: no hex key\n", argv[i + 1]);
                return 2;
            }
        }
    }
    g_opts = &o;
    if (strcmp(mode, "register") == 0 && o.creds[0] != '\0' && o.count >= 1)
        return run_register(&o);
    if (o.identity[0] == '\0' || o.key_len == 0 || o.sessions < 1 || o.count < 1) {
        fprintf(stderr, "usage: dtls_bench mem|attach|ceiling --port P --identity ID --key-file F [--pid PID] "
                        "[--sessions N] [--count N] [--settle S] [--hold FILE] [--resume]\n"
                        "       dtls_bench register --port P --creds FILE [--count N] [--pid PID]\n");
        return 2;
    }
    if (strcmp(mode, "mem") == 0)
        return run_mem(&o);
    if (strcmp(mode, "attach") == 0)
        return run_attach(&o);
    if (strcmp(mode, "ceiling") == 0)
        return run_ceiling(&o);
    fprintf(stderr, "dtls_bench: unknown mode '%s' (mem, attach, ceiling)\n", mode);
    return 2;
}

#ifdef M2M_DTLS_BENCH_MAIN
int main(int argc, char **argv)
{
    return m2m_dtls_bench(argc, argv);
}
#endif
