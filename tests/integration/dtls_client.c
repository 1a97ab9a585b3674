/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dtls_client.h"
#include "harness.h"

const char *h_dtls_ciphers = NULL;
SSL_SESSION *h_dtls_next_session = NULL;
int h_dtls_handshake_ms = 3000;
int h_dtls_local_port = 0;
uint64_t h_dtls_ssl_options = 0;
int h_coap_no_follow = 0;

/* ---- the datagram BIO: one write is one datagram on the connected socket, and the last is kept ---- */

static int bio_write(BIO *b, const char *in, int inl)
{
    h_dtls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if ((size_t)inl <= sizeof t->last) {
        memcpy(t->last, in, (size_t)inl);
        t->last_len = (size_t)inl;
    }
    if (send(t->fd, in, (size_t)inl, 0) < 0) {
        if (errno == EAGAIN || errno == ECONNREFUSED)
            BIO_set_retry_write(b);
        return -1;
    }
    return inl;
}

static int bio_read(BIO *b, char *out, int outl)
{
    h_dtls *t = BIO_get_data(b);
    ssize_t n = recv(t->fd, out, (size_t)outl, MSG_DONTWAIT);
    BIO_clear_retry_flags(b);
    if (n < 0) {
        /* nothing yet, or an ICMP error from a datagram the Registrar dropped: wait on */
        BIO_set_retry_read(b);
        return -1;
    }
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DGRAM_SET_CONNECTED:
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
        return 1;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 28;
    default:
        return 0;
    }
}

static BIO_METHOD *method(void)
{
    static BIO_METHOD *m;
    if (m == NULL) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "h_dtls");
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_ctrl(m, bio_ctrl);
    }
    return m;
}

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Runs the handshake, answering DTLS timers, until it completes (0) or fails or the deadline passes (-1). */
static int handshake(h_dtls *t, int ms)
{
    long end = ms_now() + ms;
    for (;;) {
        int r = SSL_do_handshake(t->ssl), err;
        struct timeval tv;
        struct pollfd p = {t->fd, POLLIN, 0};
        long wait = 100, left = end - ms_now();
        if (r == 1)
            return 0;
        err = SSL_get_error(t->ssl, r);
        if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) || left <= 0)
            return -1;
        if (DTLSv1_get_timeout(t->ssl, &tv))
            wait = tv.tv_sec * 1000L + tv.tv_usec / 1000 + 1;
        if (wait > left)
            wait = left;
        if (poll(&p, 1, (int)wait) == 0)
            DTLSv1_handle_timeout(t->ssl);
    }
}

static unsigned int psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_id, unsigned char *psk,
                           unsigned int max_psk)
{
    h_dtls *t = SSL_get_app_data(ssl);
    (void)hint;
    if (t == NULL || strlen(t->identity) >= max_id || t->key_len > max_psk)
        return 0;
    memcpy(identity, t->identity, strlen(t->identity) + 1);
    memcpy(psk, t->key, t->key_len);
    return (unsigned int)t->key_len;
}

static int udp_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && h_dtls_local_port != 0) {
        a.sin_port = htons((uint16_t)h_dtls_local_port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    }
    a.sin_port = htons((uint16_t)port);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Common to both kinds: the socket, the BIO, the handshake. */
static int connect_common(h_dtls *t, int port)
{
    BIO *b;
    SSL_CTX_set_min_proto_version(t->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(t->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    t->ssl = SSL_new(t->ctx);
    t->fd = udp_connect(port);
    if (t->ssl == NULL || t->fd < 0 || (b = BIO_new(method())) == NULL)
        return -1;
    BIO_set_data(b, t);
    BIO_set_init(b, 1);
    SSL_set_bio(t->ssl, b, b);
    SSL_set_app_data(t->ssl, t);
    SSL_set_options(t->ssl, SSL_OP_NO_QUERY_MTU | h_dtls_ssl_options);
    SSL_set_mtu(t->ssl, 1200);
    if (h_dtls_next_session != NULL) {
        SSL_set_session(t->ssl, h_dtls_next_session);
        SSL_SESSION_free(h_dtls_next_session);
        h_dtls_next_session = NULL;
    }
    SSL_set_connect_state(t->ssl);
    return handshake(t, h_dtls_handshake_ms);
}

int h_dtls_connect_psk_identity(h_dtls *t, int port, const char *identity, const char *key_hex)
{
    long len = 0;
    unsigned char *key = OPENSSL_hexstr2buf(key_hex, &len);
    int rc = -1;
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (key == NULL || len <= 0 || (size_t)len > sizeof t->key)
        goto done;
    memcpy(t->key, key, (size_t)len);
    t->key_len = (size_t)len;
    snprintf(t->identity, sizeof t->identity, "%s", identity);
    t->ctx = SSL_CTX_new(DTLS_client_method());
    if (t->ctx == NULL || SSL_CTX_set_cipher_list(t->ctx, h_dtls_ciphers ? h_dtls_ciphers : "PSK-AES128-CCM8") != 1)
        goto done;
    SSL_CTX_set_psk_client_callback(t->ctx, psk_cb);
    rc = connect_common(t, port);
done:
    OPENSSL_free(key);
    ERR_clear_error();
    if (rc != 0)
        h_dtls_close(t);
    return rc;
}

int h_dtls_connect_psk(h_dtls *t, int port, const char *id, const char *key_hex)
{
    char kid[33];
    h_keyid(id, key_hex, kid);
    return h_dtls_connect_psk_identity(t, port, kid, key_hex);
}

int h_dtls_connect_cert(h_dtls *t, int port, const char *ca, const char *cert, const char *key)
{
    int rc = -1;
    memset(t, 0, sizeof *t);
    t->fd = -1;
    t->ctx = SSL_CTX_new(DTLS_client_method());
    if (t->ctx == NULL ||
        SSL_CTX_set_cipher_list(t->ctx, h_dtls_ciphers ? h_dtls_ciphers : "ECDHE-ECDSA-AES128-CCM8") != 1)
        goto done;
    if (cert != NULL && (SSL_CTX_use_certificate_file(t->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
                         SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1))
        goto done;
    if (ca != NULL) {
        if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1)
            goto done;
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    }
    rc = connect_common(t, port);
done:
    ERR_clear_error();
    if (rc != 0)
        h_dtls_close(t);
    return rc;
}

int h_dtls_renegotiate(h_dtls *t)
{
    int rc = SSL_renegotiate(t->ssl) == 1 && handshake(t, h_dtls_handshake_ms) == 0 &&
                     SSL_renegotiate_pending(t->ssl) == 0
                 ? 0
                 : -1;
    ERR_clear_error();
    return rc;
}

void h_dtls_close(h_dtls *t)
{
    if (t->ssl != NULL) {
        if (!t->closed)
            SSL_shutdown(t->ssl);
        SSL_free(t->ssl);
    }
    if (t->fd >= 0)
        close(t->fd);
    SSL_CTX_free(t->ctx);
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

void h_dtls_abandon(h_dtls *t)
{
    t->closed = 1; /* h_dtls_close then sends nothing */
    h_dtls_close(t);
}

SSL_SESSION *h_dtls_session(h_dtls *t)
{
    return SSL_get1_session(t->ssl);
}

int h_dtls_exported_key(h_dtls *t, char key_hex[65])
{
    static const char LABEL[] = "EXPORTER-oneM2M-Connection";
    unsigned char m[48];
    if (SSL_export_keying_material(t->ssl, m, sizeof m, LABEL, sizeof LABEL - 1, NULL, 0, 0) != 1)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(key_hex + 2 * i, 3, "%02x", m[16 + i]);
    return 0;
}

size_t h_dtls_client_hello(unsigned char *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    SSL *s = ctx ? SSL_new(ctx) : NULL;
    BIO *in = BIO_new(BIO_s_mem()), *wr = BIO_new(BIO_s_mem());
    int n = 0;
    if (s != NULL && in != NULL && wr != NULL) {
        SSL_set_cipher_list(s, "PSK-AES128-CCM8");
        SSL_set_psk_client_callback(s, psk_cb);
        BIO_set_mem_eof_return(in, -1);
        SSL_set_bio(s, in, wr);
        in = wr = NULL;
        SSL_set_connect_state(s);
        (void)SSL_do_handshake(s);
        n = BIO_read(SSL_get_wbio(s), out, (int)cap);
    }
    BIO_free(in);
    BIO_free(wr);
    SSL_free(s);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return n > 0 ? (size_t)n : 0;
}

/* ---- CoAP messages, encoded and decoded here ---- */

static size_t put_ext(unsigned char *p, unsigned v, unsigned char *nibble)
{
    if (v < 13) {
        *nibble = (unsigned char)v;
        return 0;
    }
    if (v < 269) {
        *nibble = 13;
        p[0] = (unsigned char)(v - 13);
        return 1;
    }
    *nibble = 14;
    p[0] = (unsigned char)((v - 269) >> 8);
    p[1] = (unsigned char)(v - 269);
    return 2;
}

static size_t encode(unsigned char *buf, size_t cap, int type, int code, uint16_t mid, uint8_t token,
                     h_coap_opt *opts, int n, const char *body, size_t bl)
{
    size_t len = 0;
    unsigned prev = 0;
    /* options go in number order (a stable insertion sort keeps repeated ones in their order) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && opts[j - 1].num > opts[j].num; j--) {
            h_coap_opt x = opts[j];
            opts[j] = opts[j - 1];
            opts[j - 1] = x;
        }
    buf[len++] = (unsigned char)(0x40 | type << 4 | 1);
    buf[len++] = (unsigned char)code;
    buf[len++] = (unsigned char)(mid >> 8);
    buf[len++] = (unsigned char)mid;
    buf[len++] = token;
    for (int i = 0; i < n; i++) {
        unsigned char hdr, dn, ln, ext[4];
        size_t e = put_ext(ext, opts[i].num - prev, &dn);
        e += put_ext(ext + e, (unsigned)opts[i].len, &ln);
        hdr = (unsigned char)(dn << 4 | ln);
        if (len + 1 + e + opts[i].len >= cap)
            return 0;
        buf[len++] = hdr;
        memcpy(buf + len, ext, e);
        len += e;
        memcpy(buf + len, opts[i].val, opts[i].len);
        len += opts[i].len;
        prev = opts[i].num;
    }
    if (body != NULL && bl > 0) {
        if (len + 1 + bl >= cap)
            return 0;
        buf[len++] = 0xff;
        memcpy(buf + len, body, bl);
        len += bl;
    }
    return len;
}

static unsigned get_ext(const unsigned char **p, const unsigned char *end, unsigned nibble, int *bad)
{
    unsigned v = nibble;
    if (nibble == 13) {
        if (*p >= end)
            return *bad = 1, 0;
        v = 13 + *(*p)++;
    } else if (nibble == 14) {
        if (*p + 1 >= end)
            return *bad = 1, 0;
        v = 269 + ((unsigned)(*p)[0] << 8 | (*p)[1]);
        *p += 2;
    } else if (nibble == 15) {
        *bad = 1;
    }
    return v;
}

/* Parses a CoAP message; 0 and the header fields, -1 when malformed. */
static int decode(const unsigned char *m, size_t len, int *type, int *code, uint16_t *mid, int *token,
                  h_coap_resp *out)
{
    const unsigned char *p = m + 4, *end = m + len;
    unsigned num = 0;
    int tkl, bad = 0;
    if (len < 4 || (m[0] >> 6) != 1)
        return -1;
    *type = (m[0] >> 4) & 3;
    tkl = m[0] & 15;
    *code = m[1];
    *mid = (uint16_t)(m[2] << 8 | m[3]);
    if (tkl > 8 || p + tkl > end)
        return -1;
    *token = tkl > 0 ? p[0] : -1;
    p += tkl;
    if (out == NULL)
        return 0;
    memset(out, 0, sizeof *out);
    out->rsc = -1;
    out->format = -1;
    out->size1 = -1;
    out->code = (*code >> 5) * 100 + (*code & 31);
    while (p < end && *p != 0xff) {
        unsigned char h = *p++;
        unsigned delta = get_ext(&p, end, h >> 4, &bad), l = get_ext(&p, end, h & 15, &bad);
        if (bad || p + l > end)
            return -1;
        num += delta;
        if (num == 307 || num == 12 || num == 23 || num == 60) {
            unsigned v = 0;
            for (unsigned i = 0; i < l; i++)
                v = v << 8 | p[i];
            if (num == 307)
                out->rsc = (int)v;
            else if (num == 12)
                out->format = (int)v;
            else if (num == 23)
                out->blocks = (int)(v | 0x80000000u); /* Block2 seen: decoded by the caller */
            else
                out->size1 = (int)v;
        } else if (num == 283 && l < sizeof out->rqi) {
            memcpy(out->rqi, p, l);
        } else if (num == 8) {
            size_t at = strlen(out->location);
            if (at + l + 2 < sizeof out->location)
                snprintf(out->location + at, sizeof out->location - at, "%s%.*s", at ? "/" : "", (int)l, p);
        }
        p += l;
    }
    if (p < end && *p == 0xff) {
        size_t bl = (size_t)(end - p - 1);
        if (bl >= sizeof out->body)
            bl = sizeof out->body - 1;
        memcpy(out->body, p + 1, bl);
        out->body_len = bl;
    }
    return 0;
}

/* Reads one decrypted datagram within ms; 1 and its length, 0 on timeout, -1 when the session ended. */
static int read_dgram(h_dtls *t, unsigned char *buf, size_t cap, size_t *len, int ms)
{
    long end = ms_now() + ms;
    for (;;) {
        struct pollfd p = {t->fd, POLLIN, 0};
        long left = end - ms_now();
        int r = SSL_read(t->ssl, buf, (int)cap), err;
        if (r > 0) {
            *len = (size_t)r;
            return 1;
        }
        err = SSL_get_error(t->ssl, r);
        if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL) {
            ERR_clear_error();
            t->closed = 1;
            return -1;
        }
        if (left <= 0)
            return 0;
        (void)poll(&p, 1, (int)(left < 100 ? left : 100));
    }
}

int h_coap_send_only;

/* Waits for the answer to the last message sent (t->msg_mid, t->token): piggybacked on its ACK, or separate after
 * an empty ACK (out->separate, also when the answer has not come yet). */
static int await(h_dtls *t, int ms, h_coap_resp *out, int until_empty_ack)
{
    unsigned char rx[4096];
    int type, rcode, token, separate = out->separate;
    uint16_t rmid;
    size_t rlen;
    long end = ms_now() + ms;

    while (ms_now() < end) {
        int r = read_dgram(t, rx, sizeof rx, &rlen, (int)(end - ms_now()));
        if (r <= 0)
            break;
        if (decode(rx, rlen, &type, &rcode, &rmid, &token, NULL) != 0)
            continue;
        if (type == 2 && rmid == t->msg_mid && rcode == 0) {
            separate = 1; /* an empty ACK: the answer comes on its own */
            if (until_empty_ack) {
                out->separate = 1;
                return 1;
            }
            continue;
        }
        if ((type == 2 && rmid == t->msg_mid) || ((type == 0 || type == 1) && token == t->token)) {
            if (type == 0) {
                /* a separate Confirmable answer is acknowledged */
                unsigned char ack[4] = {0x60, 0, (unsigned char)(rmid >> 8), (unsigned char)rmid};
                (void)SSL_write(t->ssl, ack, sizeof ack);
            }
            decode(rx, rlen, &type, &rcode, &rmid, &token, out);
            out->separate = type != 2;
            return 0;
        }
    }
    out->separate = separate;
    return -1;
}

int h_coap_await(h_dtls *t, int ms, h_coap_resp *out)
{
    return await(t, ms, out, 0);
}

int h_coap_await_empty_ack(h_dtls *t, int ms)
{
    h_coap_resp *out = calloc(1, sizeof *out);
    int rc = out != NULL && await(t, ms, out, 1) == 1;
    free(out);
    return rc;
}

int h_coap_resend(h_dtls *t)
{
    return t->msg_len > 0 && !t->closed && SSL_write(t->ssl, t->msg, (int)t->msg_len) == (int)t->msg_len ? 0 : -1;
}

/* One Confirmable message and its answer (h_coap_await), or only the message (h_coap_send_only). */
static int exchange(h_dtls *t, int code, const h_coap_opt *in, int k, const char *body, size_t body_len,
                    h_coap_resp *out)
{
    h_coap_opt opts[96]; /* encode() sorts them: a copy, so the caller's stay where it put them */

    if (k > 96)
        return -1;
    memcpy(opts, in, (size_t)k * sizeof *opts);
    t->msg_mid = ++t->mid;
    t->token++;
    t->msg_len = encode(t->msg, sizeof t->msg, 0 /* CON */, code, t->msg_mid, t->token, opts, k, body, body_len);
    if (t->msg_len == 0 || t->closed || SSL_write(t->ssl, t->msg, (int)t->msg_len) != (int)t->msg_len)
        return -1;
    memcpy(t->request, t->last, t->last_len);
    t->request_len = t->last_len;
    out->separate = 0;
    return h_coap_send_only ? 0 : h_coap_await(t, 5000, out);
}

static size_t block_opt(unsigned char b[3], unsigned num, int more, int szx)
{
    unsigned v = num << 4 | (unsigned)more << 3 | (unsigned)szx;
    if (v < 256) {
        b[0] = (unsigned char)v;
        return 1;
    }
    if (v < 65536) {
        b[0] = (unsigned char)(v >> 8), b[1] = (unsigned char)v;
        return 2;
    }
    b[0] = (unsigned char)(v >> 16), b[1] = (unsigned char)(v >> 8), b[2] = (unsigned char)v;
    return 3;
}

int h_coap_request_opts(h_dtls *t, int code, const char *path, const char *query, const h_coap_opt *in, int n,
                        const char *body, h_coap_resp *out)
{
    h_coap_opt opts[96];
    char segs[1024], q[1024];
    unsigned char b1[3], b2[3];
    size_t blen = body ? strlen(body) : 0;
    int k = 0, rc;

    memset(out, 0, sizeof *out);
    out->rsc = -1;
    snprintf(segs, sizeof segs, "%s", path ? path : "");
    for (char *s = segs, *e; s != NULL && *s != '\0' && k < 48; s = e) {
        e = strchr(s, '/');
        if (e != NULL)
            *e++ = '\0';
        opts[k++] = (h_coap_opt){11, s, strlen(s)};
    }
    snprintf(q, sizeof q, "%s", query ? query : "");
    for (char *s = q, *e; *s != '\0' && k < 64; s = e) {
        e = strchr(s, '&');
        if (e != NULL)
            *e++ = '\0';
        else
            e = s + strlen(s);
        opts[k++] = (h_coap_opt){15, s, strlen(s)};
    }
    for (int i = 0; i < n && k < 94; i++)
        opts[k++] = in[i];
    if (blen <= 1024) {
        rc = exchange(t, code, opts, k, body, blen, out);
    } else {
        /* Block1: 512-byte blocks (szx 5); each but the last is answered 2.31 Continue */
        rc = -1;
        for (unsigned num = 0; (size_t)num * 512 < blen; num++) {
            size_t off = (size_t)num * 512, len = blen - off > 512 ? 512 : blen - off;
            int more = off + len < blen;
            opts[k] = (h_coap_opt){27, b1, block_opt(b1, num, more, 5)};
            if ((rc = exchange(t, code, opts, k + 1, body + off, len, out)) != 0)
                return rc;
            if (more && out->code != 231)
                return 0; /* refused on the way (e.g. 4.13) */
        }
    }
    /* Block2: fetch the rest of a body the Registrar sent in blocks */
    while (rc == 0 && !h_coap_no_follow && (out->blocks & 0x80000000) && (out->blocks & 8)) {
        h_coap_resp next;
        unsigned v = (unsigned)out->blocks & 0x7fffffff;
        unsigned num = (v >> 4) + 1;
        int szx = (int)(v & 7), blocks = out->blocks, kk = 0;
        h_coap_opt o2[96];
        /* the request again for the next block, without its payload: Uri-Path, Uri-Query, Accept, From, RQI and
         * Block2 (RFC 7959 2.4; a POST's answer is asked for with a POST, as libcoap's client does) */
        for (int i = 0; i < k; i++)
            if (opts[i].num == 11 || opts[i].num == 15 || opts[i].num == 17 || opts[i].num == 279 ||
                opts[i].num == 283)
                o2[kk++] = opts[i];
        o2[kk++] = (h_coap_opt){23, b2, block_opt(b2, num, 0, szx)};
        if ((rc = exchange(t, code, o2, kk, NULL, 0, &next)) != 0)
            break;
        if (out->body_len + next.body_len < sizeof out->body) {
            memcpy(out->body + out->body_len, next.body, next.body_len);
            out->body_len += next.body_len;
            out->body[out->body_len] = '\0';
        }
        out->blocks = next.blocks;
        (void)blocks;
    }
    if (rc == 0 && !h_coap_no_follow && (out->blocks & 0x80000000))
        out->blocks = (int)(((unsigned)out->blocks & 0x7fffffff) >> 4) + 1;
    return rc;
}

int h_coap_request(h_dtls *t, const char *method, const char *path, const char *from, int ty, const char *query,
                   const char *body, h_coap_resp *out)
{
    static unsigned rqi_n;
    char rqi[32];
    unsigned char tyb[2] = {(unsigned char)(ty >> 8), (unsigned char)ty}, json = 50;
    h_coap_opt o[5];
    int n = 0, code = strcmp(method, "GET") == 0 ? 1 : strcmp(method, "POST") == 0 ? 2
                    : strcmp(method, "PUT") == 0 ? 3 : strcmp(method, "DELETE") == 0 ? 4 : 5;
    snprintf(rqi, sizeof rqi, "rqi-%u", ++rqi_n);
    o[n++] = (h_coap_opt){283, rqi, strlen(rqi)};
    o[n++] = (h_coap_opt){271, "3", 1};
    if (from != NULL)
        o[n++] = (h_coap_opt){279, from, strlen(from)};
    if (ty != 0)
        o[n++] = (h_coap_opt){267, ty > 255 ? tyb : tyb + 1, ty > 255 ? 2u : 1u};
    if (body != NULL)
        o[n++] = (h_coap_opt){12, &json, 1};
    return h_coap_request_opts(t, code, path, query, o, n, body, out);
}

int h_coap_register_ae(h_dtls *t, const char *from, const char *api, h_coap_resp *out)
{
    char body[256];
    snprintf(body, sizeof body, "{\"m2m:ae\":{\"api\":\"%s\",\"rr\":false,\"srv\":[\"3\"]}}", api);
    if (h_coap_request(t, "POST", "~/in-cse", from, 2, NULL, body, out) != 0)
        return -1;
    return out->rsc;
}

int h_dtls_replay(h_dtls *t)
{
    return t->request_len > 0 && send(t->fd, t->request, t->request_len, 0) == (ssize_t)t->request_len ? 0 : -1;
}

int h_dtls_wait_closed(h_dtls *t, int ms)
{
    unsigned char rx[4096];
    size_t len;
    long end = ms_now() + ms;
    while (!t->closed && ms_now() < end)
        (void)read_dgram(t, rx, sizeof rx, &len, (int)(end - ms_now()));
    return t->closed;
}
