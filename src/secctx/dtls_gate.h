/* SPDX-License-Identifier: Apache-2.0 */
/* Stateless admission of DTLS handshakes (RFC 6347 4.2.1), in front of the handshake code.
 *
 * Over UDP anyone can send a ClientHello with someone else's source address. Before the Registrar keeps anything
 * for a peer -- a session, an SSL, a line in a table -- the peer must show it receives datagrams at that address:
 * its ClientHello must carry a cookie the gate issued for exactly that address (an HMAC under a secret rotated
 * every period; the previous period's cookies still verify). A ClientHello without one gets a HelloVerifyRequest,
 * never longer than the datagram it answers (no amplification); anything else from an unknown peer gets nothing.
 * The gate keeps no per-peer state at all: a flood of ClientHellos costs one HMAC each.
 *
 * The cookie is checked twice: here, before the datagram reaches the handshake code, and by that code itself
 * (m2m_dtls_gate_install puts the same cookie callbacks on its SSL_CTX), while m2m_dtls_gate_enter names the peer
 * whose datagram it handles. OpenSSL does the parsing and builds the HelloVerifyRequest (DTLSv1_listen). */
#ifndef M2M_SECCTX_DTLS_GATE_H
#define M2M_SECCTX_DTLS_GATE_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "m2mattach/error.h"

typedef struct m2m_dtls_gate m2m_dtls_gate;

typedef enum m2m_gate_verdict {
    M2M_GATE_DROP,  /* not a ClientHello, or not one the gate can answer within its size: nothing is sent */
    M2M_GATE_REPLY, /* a ClientHello without a valid cookie: send the HelloVerifyRequest in out */
    M2M_GATE_PASS   /* a ClientHello with a valid cookie for this peer: hand it to the handshake code */
} m2m_gate_verdict;

typedef struct m2m_gate_stats {
    unsigned long long hello_verify; /* HelloVerifyRequests sent */
    unsigned long long passed;       /* ClientHellos with a valid cookie */
    unsigned long long dropped;      /* datagrams from unknown peers that were not answered */
} m2m_gate_stats;

/* period: seconds between cookie-secret rotations (m2m clock). */
m2m_dtls_gate *m2m_dtls_gate_new(int64_t period, m2m_err *err);
void m2m_dtls_gate_free(m2m_dtls_gate *g);
/* Makes ctx verify (and, if ever asked, issue) cookies with the gate's secrets, for the peer named by
 * m2m_dtls_gate_enter on this thread. */
void m2m_dtls_gate_install(m2m_dtls_gate *g, SSL_CTX *ctx);
/* Rotates the secret when its period is over (call from a timer). */
void m2m_dtls_gate_tick(m2m_dtls_gate *g);

/* A datagram from peer, which has no DTLS session. out (cap >= 256) receives the HelloVerifyRequest on
 * M2M_GATE_REPLY. */
m2m_gate_verdict m2m_dtls_gate_check(m2m_dtls_gate *g, const struct sockaddr *peer, socklen_t peer_len,
                                     const unsigned char *dgram, size_t len, unsigned char *out, size_t cap,
                                     size_t *out_len);
/* Names the peer whose datagram the handshake code on this thread is about to handle (NULL: none). */
void m2m_dtls_gate_enter(m2m_dtls_gate *g, const struct sockaddr *peer, socklen_t peer_len);
void m2m_dtls_gate_leave(void);

void m2m_dtls_gate_stats_read(const m2m_dtls_gate *g, m2m_gate_stats *out);

/* The psk_identity of a ClientKeyExchange in a plaintext (epoch 0) handshake record of datagram d (RFC 4279 2,
 * RFC 5489 2: the identity comes first, for PSK and ECDHE-PSK alike), with the identity wholly in the message's
 * first fragment. 1 and *id, *id_len pointing into d; 0 when d holds none. Every length is checked against d. */
int m2m_dtls_cke_identity(const unsigned char *d, size_t len, const unsigned char **id, size_t *id_len);

#endif
