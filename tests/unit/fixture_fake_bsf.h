/* SPDX-License-Identifier: Apache-2.0 */
/* A BSF that answers Zn with whatever the test scripts: an HTTPS server in a thread of the test process
 * (fixture_tls_server.h) with a self-signed certificate for 127.0.0.1 made by the openssl CLI, plus a NAF
 * certificate and key for the client side. Header-only (static inline).
 *
 *   fake_bsf_start(b, dir)     writes bsf.crt/.key and naf.crt/.key into dir, listens; b->url is its Zn URL
 *   fake_bsf_answer(b, s, body) the next answers: HTTP/1.1 status s with body (JSON), Content-Length set
 *   b->script                  or the raw bytes to send, whole (a broken answer)
 *   b->asked                   how many requests it has answered (fake_server_count(&b->srv, &b->asked))
 *   fake_bsf_stop(b)           stops it (teardown)
 */
#ifndef M2M_TEST_FIXTURE_FAKE_BSF_H
#define M2M_TEST_FIXTURE_FAKE_BSF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_tls_server.h"

struct fake_bsf {
    struct fake_server srv;
    char crt[300], key[300], naf_crt[300], naf_key[300], url[64];
    const char *script;
    char answer[2048];
    int asked;
};

static inline void fake_bsf_handle(SSL *ssl, void *arg)
{
    struct fake_bsf *b = arg;
    char req[2048];
    if (SSL_accept(ssl) != 1 || fake_read_request(ssl, req, sizeof req) == 0)
        return;
    SSL_write(ssl, b->script, (int)strlen(b->script));
    SSL_shutdown(ssl);
    pthread_mutex_lock(&b->srv.mu);
    b->asked++;
    pthread_mutex_unlock(&b->srv.mu);
}

/* A self-signed P-256 certificate and key named for 127.0.0.1 (so it is its own trust anchor). */
static inline int fake_bsf_cert(const char *crt, const char *key, const char *cn)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=%s "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
             cn, key, crt);
    return system(cmd) == 0 ? 0 : -1;
}

static inline int fake_bsf_start(struct fake_bsf *b, const char *dir)
{
    memset(b, 0, sizeof *b);
    snprintf(b->crt, sizeof b->crt, "%s/bsf.crt", dir);
    snprintf(b->key, sizeof b->key, "%s/bsf.key", dir);
    snprintf(b->naf_crt, sizeof b->naf_crt, "%s/naf.crt", dir);
    snprintf(b->naf_key, sizeof b->naf_key, "%s/naf.key", dir);
    b->script = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (fake_bsf_cert(b->crt, b->key, "bsf") != 0 || fake_bsf_cert(b->naf_crt, b->naf_key, "naf") != 0 ||
        fake_server_open(&b->srv) != 0 || (b->srv.ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
        SSL_CTX_use_certificate_file(b->srv.ctx, b->crt, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(b->srv.ctx, b->key, SSL_FILETYPE_PEM) != 1)
        return -1;
    snprintf(b->url, sizeof b->url, "https://127.0.0.1:%d", b->srv.port);
    return fake_server_start(&b->srv, fake_bsf_handle, b);
}

static inline void fake_bsf_answer(struct fake_bsf *b, const char *status, const char *body)
{
    snprintf(b->answer, sizeof b->answer, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s", status, strlen(body), body);
    b->script = b->answer;
}

static inline void fake_bsf_stop(struct fake_bsf *b)
{
    fake_server_close(&b->srv);
}

#endif
