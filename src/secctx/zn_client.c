/* SPDX-License-Identifier: Apache-2.0 */
/* Zn from the NAF (see zn_client.h). The request is small and the answer bounded (ZN_ANSWER_MAX); the connection
 * is closed after each answer (Connection: close), so an answer ends at EOF. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/gba_id.h"
#include "secctx/zn_client.h"
#include "util/base64.h"
#include "util/rfc3339.h"
#include "util/url.h"

#define ZN_ANSWER_MAX 8192
#define ZN_REQUEST_MAX 2048

struct m2m_zn_client {
    SSL_CTX *ctx;
    char host[256], port[8], url[300];
    int timeout_ms;
    SSL_SESSION *session; /* the last one the BSF gave: offered next time */
    /* kept to make copies for other workers */
    char *root, *cert, *key;
};

typedef enum { ST_CONNECT, ST_HANDSHAKE, ST_WRITE, ST_READ, ST_DONE } op_state;

struct m2m_zn_op {
    m2m_zn_client *zc;
    int fd;
    SSL *ssl;
    op_state state;
    char req[ZN_REQUEST_MAX];
    size_t req_len, req_off;
    char ans[ZN_ANSWER_MAX + 1];
    size_t ans_len;
};

static int tls_fail(m2m_err *err, const char *what, const char *url)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return m2m_fail(err, M2M_E_TLS, "Zn %s: %s: %s", url, what, e ? buf : "connection closed");
}

/* Zn is mutual TLS to a named port: https only, and the port must be given (util/url.h does the parsing). */
static int parse_url(m2m_zn_client *zc, const char *url, m2m_err *err)
{
    static const m2m_url_scheme ZN[] = {{"https", "443"}};
    m2m_url u;
    m2m_err why = {0};

    if (url == NULL || m2m_url_parse(url, ZN, 1, "https://HOST:PORT", &u, &why) != 0 || !u.port_given)
        return m2m_fail(err, M2M_E_ARG, "--bsf '%s': Zn is https://HOST:PORT%s%s", url ? url : "",
                        why.msg[0] ? ": " : "", why.msg);
    snprintf(zc->host, sizeof zc->host, "%s", u.host);
    snprintf(zc->port, sizeof zc->port, "%s", u.port);
    snprintf(zc->url, sizeof zc->url, "https://%s", u.authority);
    return 0;
}

m2m_zn_client *m2m_zn_client_new(const char *url, const char *root, const char *cert, const char *key,
                                 int timeout_ms, m2m_err *err)
{
    m2m_zn_client *zc = calloc(1, sizeof *zc);
    if (zc == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    zc->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    if (parse_url(zc, url, err) != 0)
        goto fail;
    if (root == NULL || cert == NULL || key == NULL) {
        m2m_fail(err, M2M_E_ARG, "Zn needs --bsf-root, --naf-cert and --naf-key (mutual TLS with the BSF)");
        goto fail;
    }
    zc->root = strdup(root);
    zc->cert = strdup(cert);
    zc->key = strdup(key);
    zc->ctx = SSL_CTX_new(TLS_client_method());
    if (zc->root == NULL || zc->cert == NULL || zc->key == NULL || zc->ctx == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(zc->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(zc->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(zc->ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_load_verify_locations(zc->ctx, root, NULL) != 1) {
        tls_fail(err, "--bsf-root is not a PEM certificate", root);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(zc->ctx, cert) != 1) {
        tls_fail(err, "--naf-cert cannot be used", cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(zc->ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(zc->ctx) != 1) {
        tls_fail(err, "--naf-key is not the key of --naf-cert", key);
        goto fail;
    }
    return zc;
fail:
    m2m_zn_client_free(zc);
    return NULL;
}

m2m_zn_client *m2m_zn_client_dup(const m2m_zn_client *zc, m2m_err *err)
{
    return m2m_zn_client_new(zc->url, zc->root, zc->cert, zc->key, zc->timeout_ms, err);
}

void m2m_zn_client_free(m2m_zn_client *zc)
{
    if (zc == NULL)
        return;
    SSL_SESSION_free(zc->session);
    SSL_CTX_free(zc->ctx);
    free(zc->root);
    free(zc->cert);
    free(zc->key);
    free(zc);
}

int m2m_zn_client_timeout_ms(const m2m_zn_client *zc)
{
    return zc->timeout_ms;
}

void m2m_zn_op_free(m2m_zn_op *op)
{
    if (op == NULL)
        return;
    SSL_free(op->ssl);
    if (op->fd >= 0)
        close(op->fd);
    OPENSSL_cleanse(op, sizeof *op); /* the answer held Ks_NAF */
    free(op);
}

m2m_zn_op *m2m_zn_op_start(m2m_zn_client *zc, const char *btid, const uint8_t *naf_id, size_t naf_id_len,
                           m2m_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char naf_b64[M2M_B64_LEN(300) + 1], body[1024];
    m2m_zn_op *op = calloc(1, sizeof *op);
    int one = 1, n, rc;

    if (op == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    op->zc = zc;
    op->fd = -1;
    if (naf_id_len > 300 || strlen(btid) >= M2M_BTID_MAX) {
        m2m_fail(err, M2M_E_ARG, "Zn request too long");
        goto fail;
    }
    m2m_b64_encode(naf_id, naf_id_len, naf_b64);
    n = snprintf(body, sizeof body, "{\"btid\":\"%s\",\"nafId\":\"%s\"}", btid, naf_b64);
    op->req_len = (size_t)snprintf(op->req, sizeof op->req,
                                   "POST " M2M_ZN_PATH " HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                                   "Accept: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                                   zc->host, zc->port, n, body);
    /* the host is an address or a name from the configuration: resolving it here is the one blocking call, and
     * a numeric address (the usual set-up) resolves without a query */
    if ((rc = getaddrinfo(zc->host, zc->port, &hints, &ai)) != 0) {
        m2m_fail(err, M2M_E_IO, "Zn %s: cannot resolve %s: %s", zc->url, zc->host, gai_strerror(rc));
        goto fail;
    }
    op->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (op->fd < 0) {
        m2m_fail(err, M2M_E_IO, "Zn %s: socket: %s", zc->url, strerror(errno));
        goto fail;
    }
    setsockopt(op->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(op->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        m2m_fail(err, M2M_E_IO, "Zn %s: connect: %s", zc->url, strerror(errno));
        goto fail;
    }
    freeaddrinfo(ai);
    ai = NULL;
    if ((op->ssl = SSL_new(zc->ctx)) == NULL || SSL_set_fd(op->ssl, op->fd) != 1) {
        tls_fail(err, "cannot create a TLS connection", zc->url);
        goto fail;
    }
    {
        /* the BSF must be the one the URL names */
        X509_VERIFY_PARAM *vp = SSL_get0_param(op->ssl);
        unsigned char addr[16];
        int is_ip = inet_pton(AF_INET, zc->host, addr) == 1 || inet_pton(AF_INET6, zc->host, addr) == 1;
        if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, zc->host) : X509_VERIFY_PARAM_set1_host(vp, zc->host, 0)) != 1 ||
            (!is_ip && SSL_set_tlsext_host_name(op->ssl, zc->host) != 1)) {
            tls_fail(err, "cannot set the expected BSF name", zc->url);
            goto fail;
        }
    }
    if (zc->session != NULL)
        SSL_set_session(op->ssl, zc->session);
    SSL_set_connect_state(op->ssl);
    op->state = ST_CONNECT;
    OPENSSL_cleanse(body, sizeof body);
    return op;
fail:
    if (ai != NULL)
        freeaddrinfo(ai);
    m2m_zn_op_free(op);
    return NULL;
}

int m2m_zn_op_fd(const m2m_zn_op *op)
{
    return op->fd;
}

/* What an SSL call that returned rc wants; -1 with err on a real error. */
static int ssl_want(m2m_zn_op *op, int rc, const char *what, m2m_err *err)
{
    switch (SSL_get_error(op->ssl, rc)) {
    case SSL_ERROR_WANT_READ: return M2M_ZN_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return M2M_ZN_WANT_WRITE;
    default: {
        long v = SSL_get_verify_result(op->ssl);
        if (v != X509_V_OK)
            return m2m_fail(err, M2M_E_AUTH, "Zn %s: the BSF's certificate does not verify: %s", op->zc->url,
                            X509_verify_cert_error_string(v));
        return tls_fail(err, what, op->zc->url);
    }
    }
}

int m2m_zn_op_step(m2m_zn_op *op, m2m_err *err)
{
    int rc;
    for (;;) {
        switch (op->state) {
        case ST_CONNECT: {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            struct pollfd p = {.fd = op->fd, .events = POLLOUT};
            if (poll(&p, 1, 0) == 0)
                return M2M_ZN_WANT_WRITE;
            if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0)
                return m2m_fail(err, M2M_E_IO, "Zn %s: connect: %s", op->zc->url, strerror(soerr ? soerr : errno));
            op->state = ST_HANDSHAKE;
            break;
        }
        case ST_HANDSHAKE:
            rc = SSL_connect(op->ssl);
            if (rc != 1)
                return ssl_want(op, rc, "TLS handshake failed", err);
            op->state = ST_WRITE;
            break;
        case ST_WRITE:
            while (op->req_off < op->req_len) {
                size_t n = 0;
                rc = SSL_write_ex(op->ssl, op->req + op->req_off, op->req_len - op->req_off, &n);
                if (rc != 1)
                    return ssl_want(op, rc, "cannot send the request", err);
                op->req_off += n;
            }
            OPENSSL_cleanse(op->req, sizeof op->req);
            op->state = ST_READ;
            break;
        case ST_READ:
            for (;;) {
                size_t n = 0;
                if (op->ans_len >= ZN_ANSWER_MAX)
                    return m2m_fail(err, M2M_E_PROTO, "Zn %s: answer longer than %d octets", op->zc->url,
                                    ZN_ANSWER_MAX);
                rc = SSL_read_ex(op->ssl, op->ans + op->ans_len, ZN_ANSWER_MAX - op->ans_len, &n);
                if (rc == 1) {
                    op->ans_len += n;
                    continue;
                }
                rc = SSL_get_error(op->ssl, rc);
                if (rc == SSL_ERROR_ZERO_RETURN || rc == SSL_ERROR_SYSCALL || rc == SSL_ERROR_SSL) {
                    /* the end of the answer (Connection: close); a peer that only closes TCP is accepted when
                     * the HTTP framing below checks out */
                    ERR_clear_error();
                    break;
                }
                return rc == SSL_ERROR_WANT_WRITE ? M2M_ZN_WANT_WRITE : M2M_ZN_WANT_READ;
            }
            op->ans[op->ans_len] = '\0';
            op->state = ST_DONE;
            break;
        case ST_DONE:
            return M2M_ZN_DONE;
        }
    }
}

int m2m_zn_op_finish(m2m_zn_op *op, m2m_zn_answer *out, m2m_err *err)
{
    const char *body = strstr(op->ans, "\r\n\r\n"), *cl;
    cJSON *j = NULL;
    const cJSON *ks, *impi, *exp;
    size_t ks_len = 0, body_len;
    unsigned char buf[M2M_SECRET_MAX + 3];
    int status = 0, rc = -1;
    long want;

    memset(out, 0, sizeof *out);
    if (op->state != ST_DONE || sscanf(op->ans, "HTTP/1.%*1d %3d", &status) != 1 || body == NULL) {
        m2m_fail(err, M2M_E_PROTO, "Zn %s: not an HTTP answer", op->zc->url);
        goto done;
    }
    body += 4;
    body_len = op->ans_len - (size_t)(body - op->ans);
    cl = strcasestr(op->ans, "\r\nContent-Length:");
    if (cl == NULL || cl > body || (want = strtol(cl + 17, NULL, 10)) < 0 || (size_t)want != body_len) {
        m2m_fail(err, M2M_E_PROTO, "Zn %s: answer cut short (Content-Length)", op->zc->url);
        goto done;
    }
    /* the session is good for next time only after a whole answer */
    {
        SSL_SESSION *s = SSL_get1_session(op->ssl);
        if (s != NULL && SSL_SESSION_is_resumable(s)) {
            SSL_SESSION_free(op->zc->session);
            op->zc->session = s;
        } else {
            SSL_SESSION_free(s);
        }
    }
    if (status == 404) {
        out->found = 0;
        rc = 0;
        goto done;
    }
    if (status != 200) {
        m2m_fail(err, M2M_E_PROTO, "Zn %s: the BSF answered %d", op->zc->url, status);
        goto done;
    }
    if ((j = cJSON_ParseWithLength(body, body_len)) == NULL ||
        !cJSON_IsString(ks = cJSON_GetObjectItemCaseSensitive(j, "ksNaf")) ||
        !cJSON_IsString(impi = cJSON_GetObjectItemCaseSensitive(j, "impi")) ||
        !cJSON_IsString(exp = cJSON_GetObjectItemCaseSensitive(j, "keyExpiryTime")) ||
        m2m_b64_decode(ks->valuestring, buf, sizeof buf, &ks_len) != 0 || ks_len != 32 ||
        strlen(impi->valuestring) >= sizeof out->impi || m2m_rfc3339_parse(exp->valuestring, &out->expires) != 0 ||
        m2m_secret_set(&out->ks_naf, buf, ks_len, err) != 0) {
        m2m_fail(err, M2M_E_PROTO, "Zn %s: the answer lacks ksNaf (32 octets), impi or keyExpiryTime", op->zc->url);
        goto done;
    }
    snprintf(out->impi, sizeof out->impi, "%s", impi->valuestring);
    out->found = 1;
    rc = 0;
done:
    if (j != NULL) {
        cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "ksNaf");
        if (cJSON_IsString(k))
            OPENSSL_cleanse(k->valuestring, strlen(k->valuestring));
        cJSON_Delete(j);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    OPENSSL_cleanse(op->ans, sizeof op->ans);
    if (rc != 0)
        m2m_secret_clear(&out->ks_naf);
    return rc;
}

int m2m_zn_fetch(m2m_zn_client *zc, const char *btid, const uint8_t *naf_id, size_t naf_id_len, m2m_zn_answer *out,
                 m2m_err *err)
{
    struct timespec t0, now;
    m2m_zn_op *op = m2m_zn_op_start(zc, btid, naf_id, naf_id_len, err);
    int rc = -1, want;

    memset(out, 0, sizeof *out);
    if (op == NULL)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((want = m2m_zn_op_step(op, err)) == M2M_ZN_WANT_READ || want == M2M_ZN_WANT_WRITE) {
        struct pollfd p = {.fd = op->fd, .events = want == M2M_ZN_WANT_READ ? POLLIN : POLLOUT};
        long left;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = zc->timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            m2m_fail(err, M2M_E_IO, "Zn %s: no answer within %d ms", zc->url, zc->timeout_ms);
            goto done;
        }
    }
    if (want == M2M_ZN_DONE)
        rc = m2m_zn_op_finish(op, out, err);
done:
    m2m_zn_op_free(op);
    return rc;
}
