/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSL's big buffers in slots of their own (secctx/buffer_pages.h): the arena's bookkeeping (which sizes go to a
 * slot, claims, releases only for the claiming owner and only while allocated, realloc, a full arena), that a
 * release really takes the pages out of the resident set (mincore), and -- with the arena installed into OpenSSL as
 * the Registrar does it -- a DTLS 1.2 PSK session over loopback UDP whose server gives back its read and handshake
 * buffers while idle and then goes on reading, answering and closing as if nothing had happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "secctx/buffer_pages.h"

static int installed; /* m2m_pages_install_openssl's result, from main (before OpenSSL allocates anything) */

/* How many of the pages of [p, p + n) are resident. */
static int resident_pages(const void *p, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p & ~((uintptr_t)page - 1);
    size_t len = (uintptr_t)p + n - start, npages = (len + (size_t)page - 1) / (size_t)page;
    unsigned char vec[64];
    int count = 0;
    assert_true(npages <= sizeof vec);
    assert_int_equal(mincore((void *)start, len, vec), 0);
    for (size_t i = 0; i < npages; i++)
        count += vec[i] & 1;
    return count;
}

static void sizes_that_take_a_slot(void **state)
{
    m2m_pages *a = m2m_pages_new(4);
    char owner;
    void *small, *big, *edge, *over;
    (void)state;
    assert_non_null(a);
    small = m2m_pages_alloc(a, 100);
    big = m2m_pages_alloc(a, 16720); /* DTLS's read buffer */
    edge = m2m_pages_alloc(a, M2M_PAGES_SLOT);
    over = m2m_pages_alloc(a, M2M_PAGES_SLOT + 1);
    assert_non_null(small);
    assert_non_null(big);
    assert_non_null(edge);
    assert_non_null(over);
    assert_int_equal(m2m_pages_claim(a, small, &owner), -1); /* malloc'd: no slot */
    assert_int_equal(m2m_pages_claim(a, over, &owner), -1);
    assert_true(m2m_pages_claim(a, big, &owner) >= 0);
    assert_true(m2m_pages_claim(a, (char *)edge + M2M_PAGES_SLOT - 1, &owner) >= 0); /* anywhere inside */
    assert_int_equal(m2m_pages_claim(a, (char *)big + 16720, &owner), -1);        /* past its end */
    assert_null(m2m_pages_alloc(a, 0));
    m2m_pages_release_ptr(a, small);
    m2m_pages_release_ptr(a, big);
    m2m_pages_release_ptr(a, edge);
    m2m_pages_release_ptr(a, over);
    m2m_pages_release_ptr(a, NULL);
    m2m_pages_free(a);
}

static void release_only_for_the_owner_while_allocated(void **state)
{
    m2m_pages *a = m2m_pages_new(4);
    char me, other;
    unsigned char *p;
    int s;
    (void)state;
    assert_non_null(a);
    p = m2m_pages_alloc(a, 20000);
    memset(p, 0xa5, 20000);
    assert_true(resident_pages(p, 20000) >= 4);
    s = m2m_pages_claim(a, p + 13, &me);
    assert_true(s >= 0);
    assert_int_equal(m2m_pages_claim(a, p + 19999, &me), s);                  /* its last byte: the same slot */
    assert_int_equal(m2m_pages_claim(a, p + M2M_PAGES_SLOT + 4096, &me), -1); /* the next slot, free */

    /* somebody else's claim, or none: nothing happens to the contents */
    assert_int_equal(m2m_pages_release(a, s, &other), 0);
    assert_int_equal(m2m_pages_release(a, s, NULL), 0);
    assert_int_equal(p[0], 0xa5);
    assert_int_equal(p[19999], 0xa5);

    /* the owner's: out of the resident set, and zeros when read */
    assert_int_equal(m2m_pages_release(a, s, &me), 1);
    assert_int_equal(resident_pages(p, 20000), 0);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[19999], 0);
    p[100] = 7; /* usable as before */
    assert_int_equal(p[100], 7);

    /* an unclaim, or a free, ends the claim: a stale slot number releases nothing */
    m2m_pages_unclaim(a, s, &me);
    memset(p, 0x5a, 20000);
    assert_int_equal(m2m_pages_release(a, s, &me), 0);
    assert_int_equal(p[4096], 0x5a);
    assert_int_equal(m2m_pages_claim(a, p, &me), s);
    m2m_pages_release_ptr(a, p);
    assert_int_equal(m2m_pages_release(a, s, &me), 0);
    assert_int_equal(m2m_pages_claim(a, p, &me), -1);

    /* the slot handed out again: a previous owner's release leaves the new contents alone */
    p = m2m_pages_alloc(a, 20000);
    memset(p, 0x33, 20000);
    assert_int_equal(m2m_pages_claim(a, p, &other), s);
    assert_int_equal(m2m_pages_release(a, s, &me), 0);
    assert_int_equal(p[8192], 0x33);
    m2m_pages_release_ptr(a, p);
    m2m_pages_free(a);
}

static void realloc_within_and_beyond_a_slot(void **state)
{
    m2m_pages *a = m2m_pages_new(2);
    m2m_pages_stats st;
    char me;
    unsigned char *p, *q;
    (void)state;
    assert_non_null(a);
    p = m2m_pages_realloc(a, NULL, 16384); /* BUF_MEM_grow's first allocation */
    assert_non_null(p);
    memset(p, 0x11, 16384);
    q = m2m_pages_realloc(a, p, 21848);    /* still fits: the same slot */
    assert_ptr_equal(p, q);
    assert_true(m2m_pages_claim(a, q + 21000, &me) >= 0);
    q = m2m_pages_realloc(a, p, 100000);   /* beyond: malloc'd, contents kept, slot freed */
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    assert_int_equal(q[0], 0x11);
    assert_int_equal(q[16383], 0x11);
    m2m_pages_stats_read(a, &st);
    assert_int_equal(st.in_use, 0);
    assert_null(m2m_pages_realloc(a, q, 0)); /* realloc to 0 frees */
    m2m_pages_free(a);
}

static void a_full_arena_falls_back_to_malloc(void **state)
{
    m2m_pages *a = m2m_pages_new(2);
    m2m_pages_stats st;
    char me;
    void *p[3];
    (void)state;
    assert_non_null(a);
    for (int i = 0; i < 3; i++) {
        p[i] = m2m_pages_alloc(a, 16384);
        assert_non_null(p[i]);
    }
    assert_true(m2m_pages_claim(a, p[0], &me) >= 0);
    assert_true(m2m_pages_claim(a, p[1], &me) >= 0);
    assert_int_equal(m2m_pages_claim(a, p[2], &me), -1);
    m2m_pages_stats_read(a, &st);
    assert_int_equal(st.slots, 2);
    assert_int_equal(st.in_use, 2);
    assert_int_equal(st.fallbacks, 1);
    for (int i = 0; i < 3; i++)
        m2m_pages_release_ptr(a, p[i]);
    m2m_pages_stats_read(a, &st);
    assert_int_equal(st.in_use, 0);
    /* freed slots are handed out again, the last freed first */
    assert_ptr_equal(m2m_pages_alloc(a, 16384), p[1]);
    m2m_pages_free(a);
}

static void freed_slots_beyond_the_warm_ones_go_back(void **state)
{
    enum { N = 300 }; /* more than WARM_FREE (256) */
    m2m_pages *a = m2m_pages_new(N);
    unsigned char *p[N];
    int cold = 0;
    (void)state;
    assert_non_null(a);
    for (int i = 0; i < N; i++) {
        p[i] = m2m_pages_alloc(a, 16384);
        memset(p[i], 1, 16384);
    }
    for (int i = 0; i < N; i++)
        m2m_pages_release_ptr(a, p[i]);
    for (int i = 0; i < N; i++)
        cold += resident_pages(p[i], 16384) == 0;
    assert_int_equal(cold, N - 256);
    m2m_pages_free(a);
}

/* ---- a DTLS session on OpenSSL with the arena installed ---- */

static const unsigned char KEY[16] = "0123456789abcdef";

static unsigned int server_psk(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
    (void)ssl;
    if (strcmp(identity, "dev") != 0 || max < sizeof KEY)
        return 0;
    memcpy(psk, KEY, sizeof KEY);
    return sizeof KEY;
}

static unsigned int client_psk(SSL *ssl, const char *hint, char *identity, unsigned int max_identity,
                               unsigned char *psk, unsigned int max_psk)
{
    (void)ssl, (void)hint;
    if (max_identity < 4 || max_psk < sizeof KEY)
        return 0;
    strcpy(identity, "dev");
    memcpy(psk, KEY, sizeof KEY);
    return sizeof KEY;
}

/* The server session's buffers, as registrar/coap_server.c finds them. */
static int rbuf_slot = -1, hbuf_slot = -1;

static void msg_cb(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    (void)version, (void)len, (void)arg;
    if (write_p || (type != SSL3_RT_HEADER && type != SSL3_RT_HANDSHAKE))
        return;
    *(type == SSL3_RT_HEADER ? &rbuf_slot : &hbuf_slot) = m2m_pages_claim(m2m_pages_openssl(), buf, ssl);
}

static int udp_socket(struct sockaddr_in *a)
{
    socklen_t len = sizeof *a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
    return fd;
}

static SSL *dtls_end(SSL_CTX *ctx, int fd, const struct sockaddr_in *peer)
{
    SSL *ssl = SSL_new(ctx);
    BIO *bio = BIO_new_dgram(fd, BIO_NOCLOSE);
    assert_non_null(ssl);
    assert_non_null(bio);
    assert_int_equal(connect(fd, (const struct sockaddr *)peer, sizeof *peer), 0);
    (void)BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, (void *)peer);
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    SSL_set_bio(ssl, bio, bio);
    return ssl;
}

/* Waits for a datagram on either descriptor (a loopback datagram on its way); 0 if none came within 5 s. */
static int wait_datagram(int fd1, int fd2)
{
    struct pollfd p[2] = {{.fd = fd1, .events = POLLIN}, {.fd = fd2, .events = POLLIN}};
    return poll(p, 2, 5000) > 0;
}

/* Reads one record's worth of application data. */
static int read_some(SSL *ssl, int fd, char *buf, int cap)
{
    for (;;) {
        int n = SSL_read(ssl, buf, cap);
        if (n > 0)
            return n;
        if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ || !wait_datagram(fd, fd))
            return -1;
    }
}

/* Steps one end's handshake: 1 done, 0 waiting for the peer. */
static int step(SSL *ssl)
{
    int r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
        ERR_print_errors_fp(stderr);
    assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
    return 0;
}

static void an_idle_dtls_session_gives_its_buffers_back(void **state)
{
    SSL_CTX *sctx, *cctx;
    SSL *srv, *cli;
    struct sockaddr_in sa, ca;
    int sfd, cfd, done = 0, released = 0;
    char buf[64];
    m2m_pages_stats st;
    (void)state;
    assert_true(installed); /* main installed it before anything used OpenSSL */
    sctx = SSL_CTX_new(DTLS_server_method());
    cctx = SSL_CTX_new(DTLS_client_method());
    assert_non_null(sctx);
    assert_non_null(cctx);
    assert_int_equal(SSL_CTX_set_cipher_list(sctx, "PSK-AES128-CCM8"), 1);
    assert_int_equal(SSL_CTX_set_cipher_list(cctx, "PSK-AES128-CCM8"), 1);
    SSL_CTX_set_min_proto_version(sctx, DTLS1_2_VERSION);
    SSL_CTX_set_psk_server_callback(sctx, server_psk);
    SSL_CTX_set_psk_client_callback(cctx, client_psk);
    SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
    sfd = udp_socket(&sa);
    cfd = udp_socket(&ca);
    srv = dtls_end(sctx, sfd, &ca);
    cli = dtls_end(cctx, cfd, &sa);
    SSL_set_msg_callback(srv, msg_cb);
    SSL_set_accept_state(srv);
    SSL_set_connect_state(cli);
    for (;;) {
        if (!(done & 1) && step(cli))
            done |= 1;
        if (!(done & 2) && step(srv))
            done |= 2;
        if (done == 3 || !wait_datagram(sfd, cfd))
            break;
    }
    assert_int_equal(done, 3);
    assert_int_equal(SSL_write(cli, "first", 5), 5);
    assert_int_equal(read_some(srv, sfd, buf, sizeof buf), 5);
    assert_memory_equal(buf, "first", 5);
    /* both buffers were found in slots of the installed arena */
    assert_true(rbuf_slot >= 0);
    assert_true(hbuf_slot >= 0);
    assert_true(rbuf_slot != hbuf_slot);
    m2m_pages_stats_read(m2m_pages_openssl(), &st);
    assert_true(st.in_use >= 2);

    /* idle: nothing in flight, nothing unread -- the pages go */
    assert_false(SSL_in_init(srv));
    assert_false(SSL_has_pending(srv));
    released += m2m_pages_release(m2m_pages_openssl(), rbuf_slot, srv);
    released += m2m_pages_release(m2m_pages_openssl(), hbuf_slot, srv);
    assert_int_equal(released, 2);
    /* another SSL's claim would not release them */
    assert_int_equal(m2m_pages_release(m2m_pages_openssl(), rbuf_slot, cli), 0);

    /* the session goes on: reads into its zeroed read buffer, answers, closes */
    assert_int_equal(SSL_write(cli, "second", 6), 6);
    assert_int_equal(read_some(srv, sfd, buf, sizeof buf), 6);
    assert_memory_equal(buf, "second", 6);
    assert_int_equal(SSL_write(srv, "answer", 6), 6);
    assert_int_equal(read_some(cli, cfd, buf, sizeof buf), 6);
    assert_memory_equal(buf, "answer", 6);
    assert_true(SSL_shutdown(srv) >= 0);
    SSL_free(srv);
    SSL_free(cli);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    close(sfd);
    close(cfd);
    m2m_pages_stats_read(m2m_pages_openssl(), &st);
    assert_int_equal(st.in_use, 0); /* every buffer OpenSSL took from a slot went back to it */
    assert_int_equal(st.fallbacks, 0);
    ERR_clear_error();
}

static void too_late_once_openssl_has_allocated(void **state)
{
    (void)state;
    /* main installed it (or OpenSSL had allocated before): a second install is refused either way */
    assert_int_equal(m2m_pages_install_openssl(16), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_that_take_a_slot),
        cmocka_unit_test(release_only_for_the_owner_while_allocated),
        cmocka_unit_test(realloc_within_and_beyond_a_slot),
        cmocka_unit_test(a_full_arena_falls_back_to_malloc),
        cmocka_unit_test(freed_slots_beyond_the_warm_ones_go_back),
        cmocka_unit_test(an_idle_dtls_session_gives_its_buffers_back),
        cmocka_unit_test(too_late_once_openssl_has_allocated),
    };
    installed = m2m_pages_install_openssl(64) == 0;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
