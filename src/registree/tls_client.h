/* A blocking TLS-PSK client (RFC 4279; TLS 1.3 external PSK) on OpenSSL 3: Step 4 of the Registree. One
 * connection per object. Every wait is bounded by the configured timeout, and every message names the peer.
 *
 *   m2m_tls_client *c = m2m_tls_client_connect(&cfg, &err);
 *   m2m_tls_client_write(c, req, len, &err); m2m_tls_client_read(c, buf, sizeof buf, &got, &err);
 *   m2m_tls_client_close(c);   // close_notify, free
 *
 * SIGPIPE is blocked around each call into OpenSSL, so a peer that resets the connection yields an error, not a
 * dead process. */
#ifndef M2M_REGISTREE_TLS_CLIENT_H
#define M2M_REGISTREE_TLS_CLIENT_H

#include <stddef.h>

#include "m2mattach/error.h"

/* Which TLS versions to offer. */
typedef enum m2m_tls_range {
    M2M_TLS_AUTO = 0, /* TLS 1.2 .. 1.3, the server chooses */
    M2M_TLS_ONLY_1_2 = 12,
    M2M_TLS_ONLY_1_3 = 13
} m2m_tls_range;

/* The oneM2M mandatory suite first, then GCM, then the forward-secret ECDHE-PSK (DESIGN.md section 2). */
#define M2M_DEFAULT_TLS12_PSK_CIPHERS "PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:ECDHE-PSK-AES128-CBC-SHA256"
/* The TLS 1.3 external PSK is bound to SHA-256 (RFC 8446 4.2.11), so only SHA-256 suites can use it. */
#define M2M_TLS13_PSK_CIPHERSUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
#define M2M_TLS_DEFAULT_TIMEOUT_MS 10000

typedef struct m2m_tls_client_config {
    const char *host;          /* DNS name or IP address without brackets; SNI is sent for a name */
    const char *port;
    const char *peer_name;     /* how messages name the peer, e.g. "127.0.0.1:8443"; NULL: host:port */
    m2m_tls_range range;
    const char *ciphers12;     /* TLS 1.2 cipher list; NULL: M2M_DEFAULT_TLS12_PSK_CIPHERS */
    const char *psk_identity;  /* the key ID (Kcc_ID / Kca_ID), at most 128 characters */
    const unsigned char *psk;  /* copied into the client, wiped on close */
    size_t psk_len;            /* 1..64; TLS 1.3 takes at most 48 (OpenSSL's session key size) */
    int timeout_ms;            /* connect, handshake, and each read or write; 0: M2M_TLS_DEFAULT_TIMEOUT_MS */
} m2m_tls_client_config;

typedef struct m2m_tls_client m2m_tls_client;

/* TCP connect (TCP_NODELAY) and the TLS-PSK handshake. NULL on failure, err naming the peer and OpenSSL's
 * reason, e.g. "TLS handshake with 127.0.0.1:8443 failed: tlsv1 alert unknown psk identity". */
m2m_tls_client *m2m_tls_client_connect(const m2m_tls_client_config *cfg, m2m_err *err);

/* Writes all of buf. */
int m2m_tls_client_write(m2m_tls_client *c, const void *buf, size_t len, m2m_err *err);

/* Reads what is available (at least one byte, waiting up to the timeout). *got == 0 means the peer closed the
 * connection; m2m_tls_client_closed_cleanly() tells whether it sent close_notify first. */
int m2m_tls_client_read(m2m_tls_client *c, void *buf, size_t cap, size_t *got, m2m_err *err);
int m2m_tls_client_closed_cleanly(const m2m_tls_client *c);

/* Sends close_notify (best effort, without waiting for the peer's) and frees everything. NULL is a no-op. */
void m2m_tls_client_close(m2m_tls_client *c);

const char *m2m_tls_client_version(const m2m_tls_client *c); /* "TLSv1.2", "TLSv1.3" */
const char *m2m_tls_client_cipher(const m2m_tls_client *c);  /* OpenSSL name, e.g. "PSK-AES128-CBC-SHA256" */
const char *m2m_tls_client_peer(const m2m_tls_client *c);
double m2m_tls_client_handshake_ms(const m2m_tls_client *c); /* SSL_connect only, CLOCK_MONOTONIC */

#endif
