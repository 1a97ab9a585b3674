/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the Registree's TLS client (tls_client.h): the connection object, shared by tls_client.c (connect,
 * handshake, read, write) and tls_client_psk.c (the PSK side of the handshake). */
#ifndef M2M_REGISTREE_TLS_CLIENT_INTERNAL_H
#define M2M_REGISTREE_TLS_CLIENT_INTERNAL_H

#include <openssl/ssl.h>

#include "crypto/secret.h"
#include "registree/registrar_check.h"
#include "registree/tls_client.h"
#include "registree/wire.h"

#define PSK_IDENTITY_MAX 256 /* OpenSSL's PSK_MAX_IDENTITY_LEN */
/* sizeof(SSL_SESSION.master_key): the most SSL_SESSION_set1_master_key accepts for a TLS 1.3 external PSK. */
#define TLS13_PSK_MAX 48

struct m2m_tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;           /* the TCP socket, or -1 in memory */
    m2m_pump pump;    /* in memory: the peer in this thread (wire.h); run == NULL on a socket */
    m2m_budget budget; /* the step timeout, the deadline (0, or when everything must be over), the peer's name */
    int broken;       /* a fatal TLS or socket error: no close_notify may follow */
    int eof;          /* 1: peer closed; 2: cleanly, with close_notify */
    double handshake_ms;
    m2m_secret psk;
    int (*psk_derive)(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len);
    void *psk_arg;
    char identity[PSK_IDENTITY_MAX + 1];
    char peer[300];

    m2m_tls_auth auth;
    m2m_registrar_check check; /* certificate mode; in PSK mode only its msg (a certificate where the PSK was due) */
    int psk_not_taken;         /* PSK mode: the Registrar answered with a certificate instead of using the PSK */

    /* resumption (x.y.4) */
    SSL_SESSION *offered;  /* the saved session offered, or NULL (a reference) */
    SSL_SESSION *newest;   /* the newest resumable session received, or NULL (a reference) */
    unsigned sessions;     /* how many were received */
    int keep_sessions;
    int resumed;
};

/* PSK mode (x.y.2, x.y.3, x.y.5, generated keys): the suites and the PSK callbacks of TLS 1.2 (RFC 4279) and of
 * the TLS 1.3 external PSK, on c->ctx; a certificate is never accepted instead. */
int m2m_tls_client_psk_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err);

#endif
