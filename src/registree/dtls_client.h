/* SPDX-License-Identifier: Apache-2.0 */
/* A blocking CoAP client over DTLS 1.2 on libcoap 3 (4.3.1) with its OpenSSL backend: Step 4 of the Registree
 * over the CoAP binding, and then CoAP requests on that session. It takes the TLS client's configuration
 * (tls_client.h): PSK (DTLS-PSK, RFC 4279; the key may depend on the suite, for GBA), or the Registrar's
 * certificate checked exactly as over TLS (registrar_check.c: the one root, the CSE-ID as a subjectAltName URI, a
 * stapled OCSP status when configured) with or without a client certificate; a saved session to resume.
 *
 * libcoap 4.3.1 starts the handshake inside coap_new_client_session_*() and keeps its SSL_CTX to itself, with its
 * own cipher list ("PSK:!NULL"), verify callback and no hook before the first ClientHello on the client side. So
 * this client first opens a throw-away session to a UDP socket of its own on loopback (one ClientHello that never
 * leaves the host) to learn libcoap's SSL_CTX, then installs on it, before the real session exists: the trust
 * store and the verify and OCSP callbacks of registrar_check.c, the client certificate, and an info callback
 * (chained to libcoap's) that at SSL_CB_HANDSHAKE_START -- before the ClientHello is built -- sets this
 * connection's cipher list, PSK callback, OCSP request, saved session (SSL_set_session: resumption, x.y.4) and
 * DTLS retransmission timer, and that records the alerts the Registrar sends. One coap_context per connection, so
 * the hooks never see another connection's handshake.
 *
 * Lossy links: the DTLS handshake retransmits its flight after dtls_timer_ms (default 1 s, RFC 6347 4.2.4.1),
 * doubling up to 60 s; CoAP requests are confirmable and retransmitted after coap_ack_timeout_ms (default 2 s,
 * RFC 7252 4.8) up to coap_max_retransmit times (default 4); both within the step's timeout and the call's
 * deadline. Bodies larger than a datagram go block-wise both ways (RFC 7959, libcoap's block mode).
 *
 * In memory (tests): cfg->pump runs a CoAP server context of the same thread wherever this client would wait. */
#ifndef M2M_REGISTREE_DTLS_CLIENT_H
#define M2M_REGISTREE_DTLS_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "binding/coap_client.h"
#include "m2mattach/error.h"
#include "registree/outcome.h"
#include "registree/tls_client.h"

/* DTLS 1.2 suites (DESIGN.md section 2): PSK-AES128-CCM8 is the oneM2M mandatory one, then GCM, then the
 * forward-secret ECDHE-PSK ones (OpenSSL has them with ChaCha20-Poly1305 and CBC-SHA256 only; a Registrar that
 * prefers forward secrecy picks them); with certificates ECDHE-ECDSA-AES128-CCM8 (mandatory), then GCM, then CBC. */
#define M2M_DEFAULT_DTLS_PSK_CIPHERS                                                                                \
    "PSK-AES128-CCM8:PSK-AES128-GCM-SHA256:ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256"
#define M2M_DEFAULT_DTLS_CERT_CIPHERS "ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256"
#define M2M_DTLS_DEFAULT_TIMER_MS 1000
#define M2M_COAP_DEFAULT_ACK_TIMEOUT_MS 2000
#define M2M_COAP_DEFAULT_MAX_RETRANSMIT 4
/* The largest response body accepted (every Block2 block joined). */
#define M2M_COAP_BODY_MAX (8 * 1024 * 1024)

typedef struct m2m_dtls_client m2m_dtls_client;

/* Resolves host:port (UDP), handshakes. cfg->range is ignored (DTLS 1.2 only); cfg->ciphers12 NULL gives the
 * defaults above. NULL on failure, with *why (outcome.h: an unknown_psk_identity alert is CRED_UNKNOWN, a failed
 * check of the Registrar PEER_REFUSED, no answer TIMEOUT) and err ("DTLS handshake with PEER failed: ..."). */
m2m_dtls_client *m2m_dtls_client_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err);

/* One confirmable request with a fresh token, and its whole response (block-wise as needed). The response's
 * options and payload stay valid until the next request or close. On failure *why is M2M_OUTCOME_TIMEOUT or
 * M2M_OUTCOME_BROKEN (the session failed, the Registrar reset the request, or the answer was too large), and the
 * client is not to be used again. */
int m2m_dtls_client_request(m2m_dtls_client *c, const m2m_coap_request *req, m2m_coap_response *resp,
                            m2m_outcome *why, m2m_err *err);

/* A DTLS session ends without a word the client could see (UDP has no FIN): a Registrar that dropped it (its idle
 * timeout, a restart) answers a request into it with silence until the request's timeout. So a session quiet for
 * this long is not used again; a new handshake (resumed: one round trip more than a request) is cheaper than that
 * wait. The Registrar's default idle timeout is 300 s. */
#define M2M_DTLS_IDLE_REUSE_MS 60000

/* 0 once the session failed or was closed, or has been quiet for M2M_DTLS_IDLE_REUSE_MS. */
int m2m_dtls_client_alive(const m2m_dtls_client *c);
void m2m_dtls_client_set_deadline(m2m_dtls_client *c, double deadline);
int m2m_dtls_client_export(m2m_dtls_client *c, const char *label, unsigned char *out, size_t len, m2m_err *err);
const char *m2m_dtls_client_version(const m2m_dtls_client *c); /* "DTLSv1.2" */
const char *m2m_dtls_client_cipher(const m2m_dtls_client *c);
const char *m2m_dtls_client_peer(const m2m_dtls_client *c);
double m2m_dtls_client_handshake_ms(const m2m_dtls_client *c);
int m2m_dtls_client_resumed(const m2m_dtls_client *c);
int m2m_dtls_client_ocsp_checked(const m2m_dtls_client *c);
/* The session the handshake made (DTLS 1.2: with its ticket, if the Registrar sent one), a new reference or NULL;
 * and 1 when there is one. */
SSL_SESSION *m2m_dtls_client_get1_session(m2m_dtls_client *c);
unsigned m2m_dtls_client_sessions(const m2m_dtls_client *c);

/* close_notify (best effort) and free. NULL is a no-op. */
void m2m_dtls_client_close(m2m_dtls_client *c);

#endif
