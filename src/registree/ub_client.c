/* SPDX-License-Identifier: Apache-2.0 */
/* Ub from the UE (see ub_client.h): GET / with the IMPI, the 401's AKA challenge checked by the USIM, then the
 * Digest response with RES as the password (or AUTS when SQN is out of range), and the BootstrappingInfo of the
 * 200. One connection per request (Connection: close), plain or TLS; the answer is bounded (UB_ANSWER_MAX). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "binding/digest_header.h"
#include "crypto/aka.h"
#include "crypto/digest_aka.h"
#include "crypto/gba_id.h"
#include "registree/ub_client.h"
#include "util/base64.h"
#include "util/hex.h"
#include "util/rfc3339.h"

#define UB_ANSWER_MAX 16384

typedef struct ub_answer {
    int status;
    char www_auth[M2M_DIGEST_HEADER_MAX + 1];
    char *body;      /* into raw */
    char raw[UB_ANSWER_MAX + 1];
} ub_answer;

static int wait_fd(int fd, short ev, int64_t deadline_ms)
{
    struct timespec now;
    struct pollfd p = {.fd = fd, .events = ev};
    int64_t left;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left = deadline_ms - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    return left > 0 && poll(&p, 1, (int)left) == 1 ? 0 : -1;
}

static int64_t deadline_in(int ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + ms;
}

static int tcp_connect(const m2m_registree_config *cfg, int64_t deadline, m2m_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL, *a;
    int fd = -1, rc = getaddrinfo(cfg->gba_bsf_host, cfg->gba_bsf_port, &hints, &ai);
    if (rc != 0)
        return m2m_fail(err, M2M_E_IO, "BSF %s: cannot resolve %s: %s", cfg->gba_bsf, cfg->gba_bsf_host,
                        gai_strerror(rc));
    for (a = ai; a != NULL; a = a->ai_next) {
        int soerr = 0, one = 1;
        socklen_t len = sizeof soerr;
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if ((connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
             (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
              getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)))
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return m2m_fail(err, M2M_E_IO, "BSF %s: cannot connect", cfg->gba_bsf);
    return fd;
}

/* One request (GET / with the Authorization value) and its whole answer. */
static int exchange(const m2m_registree_config *cfg, const char *authorization, ub_answer *out, m2m_err *err)
{
    int64_t deadline = deadline_in(cfg->timeout_ms);
    char req[M2M_DIGEST_HEADER_MAX + 512];
    size_t req_len, sent = 0, got = 0;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    int fd, rc = -1;
    char *p, *hdr_end;

    memset(out, 0, sizeof *out);
    req_len = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"
                                                "User-Agent: m2mattach-gba-ue\r\nConnection: close\r\n\r\n",
                               cfg->gba_bsf_host, authorization);
    if ((fd = tcp_connect(cfg, deadline, err)) < 0)
        return -1;
    if (cfg->gba_bsf_tls) {
        X509_VERIFY_PARAM *vp;
        unsigned char ip[16];
        int is_ip = inet_pton(AF_INET, cfg->gba_bsf_host, ip) == 1 || inet_pton(AF_INET6, cfg->gba_bsf_host, ip) == 1;
        ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == NULL || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cfg->gba_bsf_root) != 1 ||
            (ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
            m2m_fail(err, M2M_E_TLS, "BSF %s: cannot set up TLS", cfg->gba_bsf);
            goto done;
        }
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
        vp = SSL_get0_param(ssl);
        if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, cfg->gba_bsf_host)
                   : X509_VERIFY_PARAM_set1_host(vp, cfg->gba_bsf_host, 0)) != 1 ||
            (!is_ip && SSL_set_tlsext_host_name(ssl, cfg->gba_bsf_host) != 1)) {
            m2m_fail(err, M2M_E_TLS, "BSF %s: cannot set the expected name", cfg->gba_bsf);
            goto done;
        }
        for (;;) {
            int r = SSL_connect(ssl), e;
            if (r == 1)
                break;
            e = SSL_get_error(ssl, r);
            if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
                wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != 0) {
                long v = SSL_get_verify_result(ssl);
                m2m_fail(err, v != X509_V_OK ? M2M_E_AUTH : M2M_E_TLS, "BSF %s: TLS handshake failed%s%s", cfg->gba_bsf,
                         v != X509_V_OK ? ": " : "", v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
                goto done;
            }
        }
    }
    while (sent < req_len) {
        ssize_t n = ssl ? SSL_write(ssl, req + sent, (int)(req_len - sent)) : write(fd, req + sent, req_len - sent);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if ((ssl ? SSL_get_error(ssl, (int)n) == SSL_ERROR_WANT_WRITE : (errno == EAGAIN || errno == EINTR)) &&
            wait_fd(fd, POLLOUT, deadline) == 0)
            continue;
        m2m_fail(err, M2M_E_IO, "BSF %s: cannot send the request", cfg->gba_bsf);
        goto done;
    }
    for (;;) {
        ssize_t n;
        if (got >= UB_ANSWER_MAX) {
            m2m_fail(err, M2M_E_PROTO, "BSF %s: answer longer than %d octets", cfg->gba_bsf, UB_ANSWER_MAX);
            goto done;
        }
        n = ssl ? SSL_read(ssl, out->raw + got, (int)(UB_ANSWER_MAX - got)) : read(fd, out->raw + got, UB_ANSWER_MAX - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0 || (ssl && SSL_get_error(ssl, (int)n) == SSL_ERROR_ZERO_RETURN))
            break;
        if ((ssl ? SSL_get_error(ssl, (int)n) == SSL_ERROR_WANT_READ : (errno == EAGAIN || errno == EINTR)) &&
            wait_fd(fd, POLLIN, deadline) == 0)
            continue;
        if (ssl && SSL_get_error(ssl, (int)n) == SSL_ERROR_SYSCALL && got > 0)
            break; /* closed without close_notify after the answer: the framing below decides */
        m2m_fail(err, M2M_E_IO, "BSF %s: no answer within %d ms", cfg->gba_bsf, cfg->timeout_ms);
        goto done;
    }
    out->raw[got] = '\0';
    hdr_end = strstr(out->raw, "\r\n\r\n");
    if (sscanf(out->raw, "HTTP/1.%*1d %3d", &out->status) != 1 || hdr_end == NULL) {
        m2m_fail(err, M2M_E_PROTO, "BSF %s: not an HTTP answer", cfg->gba_bsf);
        goto done;
    }
    *hdr_end = '\0';
    out->body = hdr_end + 4;
    for (p = strstr(out->raw, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, "WWW-Authenticate:", 17) == 0) {
            const char *v = p + 19, *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n > M2M_DIGEST_HEADER_MAX)
                break;
            memcpy(out->www_auth, v, n);
            out->www_auth[n] = '\0';
            while (out->www_auth[0] == ' ')
                memmove(out->www_auth, out->www_auth + 1, n--);
        }
    rc = 0;
done:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    ERR_clear_error();
    return rc;
}

/* The Authorization of an answer to challenge ch: response over password (RES, or "" with auts). */
static int authorization(const m2m_registree_config *cfg, const m2m_digest_params *ch, const unsigned char *pw,
                         size_t pw_len, const unsigned char *auts, char *out, size_t cap, m2m_err *err)
{
    unsigned char cn[8];
    char cnonce[17], resp[M2M_DIGEST_HEX_LEN + 1], auts64[M2M_B64_LEN(M2M_AKA_AUTS_LEN) + 1] = "";
    m2m_digest_input in = {.username = cfg->gba_impi, .realm = ch->realm, .password = pw, .password_len = pw_len,
                           .method = "GET", .uri = "/", .nonce = ch->nonce, .nc = "00000001", .cnonce = cnonce,
                           .qop = "auth-int", .body = "", .body_len = 0};
    if (RAND_bytes(cn, sizeof cn) != 1)
        return m2m_fail(err, M2M_E_TLS, "the random generator failed");
    m2m_hex_encode(cn, sizeof cn, cnonce);
    if (m2m_digest_response(&in, resp, err) != 0)
        return -1;
    if (auts != NULL)
        m2m_b64_encode(auts, M2M_AKA_AUTS_LEN, auts64);
    snprintf(out, cap, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"/\", qop=auth-int, nc=00000001, "
                       "cnonce=\"%s\", response=\"%s\", opaque=\"%s\", algorithm=AKAv1-MD5%s%s%s",
             cfg->gba_impi, ch->realm, ch->nonce, cnonce, resp, ch->opaque, auts ? ", auts=\"" : "", auts64,
             auts ? "\"" : "");
    OPENSSL_cleanse(resp, sizeof resp);
    return 0;
}

/* The AKA challenge of a 401. */
static int challenge_of(const m2m_registree_config *cfg, const ub_answer *a, m2m_digest_params *ch,
                        unsigned char rand[16], unsigned char autn[16], m2m_err *err)
{
    unsigned char raw[128];
    size_t len = 0;
    if (a->status == 403)
        return m2m_fail(err, M2M_E_REFUSED, "BSF %s refused IMPI %s: too many failed attempts (locked for a while)",
                        cfg->gba_bsf, cfg->gba_impi);
    if (a->status != 401 || m2m_digest_parse(a->www_auth, ch, err) != 0 ||
        strcasecmp(ch->algorithm, "AKAv1-MD5") != 0 || strstr(ch->qop, "auth-int") == NULL ||
        !m2m_digest_value_ok(ch->realm) || !m2m_digest_value_ok(ch->nonce) || !m2m_digest_value_ok(ch->opaque) ||
        m2m_b64_decode(ch->nonce, raw, sizeof raw, &len) != 0 || len < 32)
        return m2m_fail(err, M2M_E_PROTO, "BSF %s answered %d without an AKAv1-MD5 challenge (qop auth-int, nonce "
                        "of RAND and AUTN)", cfg->gba_bsf, a->status);
    memcpy(rand, raw, 16);
    memcpy(autn, raw + 16, 16);
    return 0;
}

/* The B-TID and lifetime of a 200's BootstrappingInfo. */
static int bootstrapping_info(const m2m_registree_config *cfg, const char *body, m2m_gba_state *gba, m2m_err *err)
{
    const char *b = strstr(body, "<btid>"), *be = b ? strstr(b, "</btid>") : NULL;
    const char *l = strstr(body, "<lifetime>"), *le = l ? strstr(l, "</lifetime>") : NULL;
    char life[64];
    size_t n;
    if (b == NULL || be == NULL || l == NULL || le == NULL || (n = (size_t)(be - b - 6)) >= sizeof gba->btid ||
        !m2m_gba_btid_ok(b + 6, n) || (size_t)(le - l - 10) >= sizeof life)
        return m2m_fail(err, M2M_E_PROTO, "BSF %s: the 200 holds no BootstrappingInfo with a B-TID and a lifetime",
                        cfg->gba_bsf);
    memcpy(gba->btid, b + 6, n);
    gba->btid[n] = '\0';
    memcpy(life, l + 10, (size_t)(le - l - 10));
    life[le - l - 10] = '\0';
    if (m2m_rfc3339_parse(life, &gba->expires) != 0)
        return m2m_fail(err, M2M_E_PROTO, "BSF %s: lifetime '%.40s' is not an xs:dateTime in UTC", cfg->gba_bsf, life);
    return 0;
}

int m2m_ub_bootstrap(const m2m_registree_config *cfg, m2m_gba_state *gba, m2m_err *err)
{
    char auth[M2M_DIGEST_HEADER_MAX];
    ub_answer *a = malloc(sizeof *a);
    m2m_digest_params ch;
    unsigned char rand[16], autn[16], res[8], ck[16], ik[16], auts[M2M_AKA_AUTS_LEN];
    m2m_aka_result result;
    int rc = -1;

    if (a == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    /* TS 24.109 A.3: the first request names the IMPI, with an empty nonce and response */
    snprintf(auth, sizeof auth, "Digest username=\"%s\", realm=\"%s\", nonce=\"\", uri=\"/\", response=\"\"",
             cfg->gba_impi, cfg->gba_bsf_host);
    if (exchange(cfg, auth, a, err) != 0 || challenge_of(cfg, a, &ch, rand, autn, err) != 0)
        goto done;
    for (int round = 0; round < 2; round++) {
        if (m2m_aka_check(cfg->gba_k.bytes, cfg->gba_opc.bytes, rand, autn, &gba->sqn, res, ck, ik, auts, &result,
                          err) != 0)
            goto done;
        if (result == M2M_AKA_MAC_FAILURE) {
            m2m_fail(err, M2M_E_AUTH, "BSF %s could not be authenticated: AUTN does not verify with this USIM's K and "
                     "OPc (a BSF without the subscriber's keys, or the wrong [gba] k-file/opc)", cfg->gba_bsf);
            goto done;
        }
        if (result == M2M_AKA_SYNC_FAILURE) {
            if (round == 1) {
                m2m_fail(err, M2M_E_PROTO, "BSF %s: its sequence number is still out of range after resynchronising",
                         cfg->gba_bsf);
                goto done;
            }
            /* TS 33.102 6.3.5: AUTS, signed with an empty password (RFC 3310 3.4); the BSF answers a new challenge */
            if (authorization(cfg, &ch, (const unsigned char *)"", 0, auts, auth, sizeof auth, err) != 0 ||
                exchange(cfg, auth, a, err) != 0 || challenge_of(cfg, a, &ch, rand, autn, err) != 0)
                goto done;
            continue;
        }
        if (authorization(cfg, &ch, res, sizeof res, NULL, auth, sizeof auth, err) != 0 ||
            exchange(cfg, auth, a, err) != 0)
            goto done;
        if (a->status != 200) {
            m2m_fail(err, M2M_E_REFUSED, "BSF %s refused the bootstrapping of %s (HTTP %d)", cfg->gba_bsf,
                     cfg->gba_impi, a->status);
            goto done;
        }
        if (bootstrapping_info(cfg, a->body, gba, err) != 0)
            goto done;
        snprintf(gba->impi, sizeof gba->impi, "%s", cfg->gba_impi);
        snprintf(gba->bsf, sizeof gba->bsf, "%s", cfg->gba_bsf);
        memcpy(gba->rand, rand, 16);
        memcpy(gba->ks, ck, 16);
        memcpy(gba->ks + 16, ik, 16);
        rc = 0;
        break;
    }
done:
    OPENSSL_cleanse(res, sizeof res);
    OPENSSL_cleanse(ck, sizeof ck);
    OPENSSL_cleanse(ik, sizeof ik);
    OPENSSL_cleanse(auth, sizeof auth);
    OPENSSL_clear_free(a, sizeof *a);
    return rc;
}
