/* SPDX-License-Identifier: Apache-2.0 */
/* A blocking TLS client on OpenSSL 3: Step 4 of the Registree. One connection per object. Every wait is bounded by
 * the configured timeout, and every message names the peer. Two ways to authenticate the Registrar:
 *   - PSK (x.y.2 / x.y.3): TLS-PSK (RFC 4279) or a TLS 1.3 external PSK; no certificate is ever accepted.
 *   - certificate (x.y.6 / x.y.7): the Registrar's chain must verify to the one configured root, its leaf must carry
 *     the Registrar CSE-ID as a subjectAltName URI, and, when an OCSP responder is configured, a stapled, correctly
 *     signed, fresh "good" status must come with it. The client then presents its own certificate (x.y.6) or none
 *     (x.y.7, the token travels in Step 5). PSK is never offered in this mode.
 *
 * Resumption (x.y.4): a saved session given in the configuration is offered; m2m_tls_client_resumed() tells whether
 * the Registrar accepted it (in TLS 1.3 an external-PSK handshake also counts as "reused" for OpenSSL, so the
 * answer is whether the session that was offered is the one in use). With keep_sessions the newest resumable
 * session the Registrar issues (TLS 1.2: in the handshake; TLS 1.3: NewSessionTicket after it) is kept for the
 * caller to save.
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

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "m2mattach/error.h"
#include "registree/outcome.h"
#include "registree/wire.h"

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
/* Certificate mode (x.y.6 / x.y.7, DESIGN.md section 2): ECDHE-ECDSA only, GCM first, then the oneM2M mandatory
 * TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, which OpenSSL calls ECDHE-ECDSA-AES128-SHA256 (it has no
 * "ECDHE-ECDSA-AES128-CBC-SHA256" and would silently drop that name from a list). ":!PSK:!aNULL:!eNULL" is
 * appended to whatever list is configured, so neither PSK nor an anonymous suite can be offered. TLS 1.3: the
 * default suites, the oneM2M mandatory TLS_AES_128_GCM_SHA256 first. */
#define M2M_DEFAULT_TLS12_CERT_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256"
#define M2M_TLS12_CERT_EXCLUDE ":!PSK:!aNULL:!eNULL"
#define M2M_TLS13_CERT_CIPHERSUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define M2M_TLS_DEFAULT_TIMEOUT_MS 10000
/* OCSP: clock skew allowed on thisUpdate / nextUpdate (RFC 6960 4.2.2.1), and the most age accepted for a response
 * that has no nextUpdate. */
#define M2M_OCSP_SKEW_S 300
#define M2M_OCSP_MAXAGE_NO_NEXTUPDATE_S (24 * 3600)

typedef enum m2m_tls_auth {
    M2M_TLS_AUTH_PSK = 0, /* the Registrar proves it knows the PSK */
    M2M_TLS_AUTH_CERT = 1 /* the Registrar presents a certificate chained to `root` */
} m2m_tls_auth;

typedef struct m2m_tls_client_config {
    const char *host;          /* DNS name or IP address without brackets; SNI is sent for a name */
    const char *port;
    const char *peer_name;     /* how messages name the peer, e.g. "127.0.0.1:8443"; NULL: host:port */
    m2m_tls_range range;
    m2m_tls_auth auth;         /* 0 (PSK) unless set */
    const char *ciphers12;     /* TLS 1.2 cipher list; NULL: the default of the mode */
    int timeout_ms;            /* connect, handshake, and each read or write; 0: M2M_TLS_DEFAULT_TIMEOUT_MS */
    double deadline;           /* when everything on this connection must be over, on m2m_tls_client_clock_ms()'s
                                * clock; 0: none. Every wait ends at the earlier of its timeout and this, so a peer
                                * that trickles bytes cannot stretch an exchange past it. */

    /* M2M_TLS_AUTH_PSK */
    const char *psk_identity;  /* the key ID (Kcc_ID / Kca_ID), or a GBA "3GPP-bootstrapping." B-TID; at most 256
                                * characters */
    const unsigned char *psk;  /* copied into the client, wiped on close */
    size_t psk_len;            /* 1..64; TLS 1.3 takes at most 48 (OpenSSL's session key size) */
    /* Instead of psk, a key that depends on the handshake (x.y.5: Ks_NAF is derived for the negotiated suite):
     * called with the protocol version and, in TLS 1.2, the negotiated cipher suite's ID (0x1301 in TLS 1.3);
     * fills out (wiped after use), 0 or -1. */
    int (*psk_derive)(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len);
    void *psk_arg;

    /* M2M_TLS_AUTH_CERT. The objects are borrowed for the duration of connect (the client takes references). */
    X509 *root;                /* required: the Registrar Root Certificate, the only trust anchor */
    const char *root_name;     /* how messages name it (the root-cert path); NULL: "the configured root" */
    const char *cse_id;        /* required: the Registrar CSE-ID, a subjectAltName URI of the leaf, exactly */
    X509 *ocsp_responder;      /* non-NULL: require a stapled OCSP status signed by this certificate */
    const char *ocsp_responder_name; /* for messages (the ocsp-responder-cert path) */
    X509 *client_cert;         /* x.y.6: the Registree certificate; NULL (x.y.7): present none */
    EVP_PKEY *client_key;      /* its private key, required with client_cert */
    STACK_OF(X509) *client_chain; /* optional intermediates sent after client_cert */

    /* x.y.4 resumption, both modes */
    SSL_SESSION *session;      /* a saved session to offer first (the client takes its own reference); NULL: none.
                                * The Registrar may decline it: the handshake is then a full one. */
    int keep_sessions;         /* 1: keep the newest resumable session received; 0 (and no session): ask for no
                                * TLS 1.2 ticket */

    /* In memory (tests): instead of a TCP connection to host:port, the client's end of a BIO pair (the client
     * takes it, also on failure) and the peer at its other end, run in this thread wherever the client would wait
     * (wire.h). A pump that answers -1 is a silent peer: the wait ends as a timeout, without waiting for time. */
    BIO *bio;
    m2m_pump pump;

    /* DTLS (the CoAP binding, dtls_client.h) only: riding out a lossy link. 0: the defaults there. */
    int dtls_timer_ms;         /* first handshake retransmission; doubles up to 60 s */
    int coap_ack_timeout_ms;   /* CoAP ACK_TIMEOUT of a confirmable request */
    int coap_max_retransmit;   /* CoAP MAX_RETRANSMIT (also bounds the handshake's retransmissions) */
    int coap_cbor;             /* bodies in CBOR on the wire (binding/coap_client.h), JSON to the caller */
} m2m_tls_client_config;

typedef struct m2m_tls_client m2m_tls_client;

/* CLOCK_MONOTONIC in milliseconds: the clock of deadlines. */
double m2m_tls_client_clock_ms(void);

/* TCP connect (TCP_NODELAY) and the TLS handshake. NULL on failure, err naming the peer and OpenSSL's reason, e.g.
 * "TLS handshake with 127.0.0.1:8443 failed: tlsv1 alert unknown psk identity" (M2M_E_TLS). A Registrar certificate
 * that fails a check aborts the handshake (before the client certificate is sent, in TLS 1.3) with M2M_E_AUTH and
 * a message naming what did not match, e.g.
 *   "Registrar 127.0.0.1:8443: certificate chain does not verify to root-cert /etc/m2m/root.crt: certificate has
 *    expired"
 *   "Registrar 127.0.0.1:8443: certificate does not carry CSE-ID /in-cse (subjectAltName: URI:/other-cse, ...)"
 *   "Registrar 127.0.0.1:8443: no stapled OCSP response (ocsp-responder-cert ocsp.crt requires one)". */
m2m_tls_client *m2m_tls_client_connect(const m2m_tls_client_config *cfg, m2m_err *err);

/* The same, and what became of it for the attachment logic (outcome.h), also on success (M2M_OUTCOME_OK): an
 * unknown_psk_identity alert is M2M_OUTCOME_CRED_UNKNOWN, a certificate where the PSK was due
 * M2M_OUTCOME_CRED_NOT_TAKEN, a failed check of the Registrar M2M_OUTCOME_PEER_REFUSED, any other handshake failure
 * M2M_OUTCOME_HANDSHAKE, a failed connect M2M_OUTCOME_UNREACHABLE. why may be NULL. */
m2m_tls_client *m2m_tls_client_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err);

/* A wait that runs out (in connect, read or write) fails with M2M_E_TIMEOUT: "... no answer within N ms" when the
 * step's timeout passed, "... deadline passed ..." when the deadline did. Reads and writes also fail so once the
 * deadline has passed, even when data is at hand. */

/* Replaces the deadline (0: none), e.g. for the next exchange on a kept connection. */
void m2m_tls_client_set_deadline(m2m_tls_client *c, double deadline);

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
/* Certificate mode: 1 when a good OCSP status of the Registrar certificate was checked on this connection. */
int m2m_tls_client_ocsp_checked(const m2m_tls_client *c);
/* Certificate mode: 1 when the server asked for a client certificate and the configured one was sent. With a
 * client certificate configured, a Registrar that does not ask for it fails the connection (x.y.6 is mutual). */
int m2m_tls_client_sent_certificate(const m2m_tls_client *c);

/* 1 when the session given in the configuration was resumed (an abbreviated handshake: no key exchange with the
 * credentials, no certificate); 0 after a full handshake. In certificate mode a resumed session carries the
 * checks of the full handshake that created it: chain, CSE-ID and OCSP are not checked again. */
int m2m_tls_client_resumed(const m2m_tls_client *c);

/* With keep_sessions: the newest resumable session received on this connection (a new reference, the caller
 * frees it), or NULL when none arrived. m2m_tls_client_sessions() counts the sessions received so far. */
SSL_SESSION *m2m_tls_client_get1_session(m2m_tls_client *c);
unsigned m2m_tls_client_sessions(const m2m_tls_client *c);

/* TLS 1.3 with keep_sessions: the Registrar sends its tickets after the handshake, so a client that only
 * handshakes would never read them. Processes what arrives (never application data, which stays for the next
 * read) until a new session has come or max_ms have passed. 1: one came; 0: none (or not TLS 1.3). */
int m2m_tls_client_await_session(m2m_tls_client *c, int max_ms);

/* RFC 5705 / RFC 8446 7.5 exporter of this connection: len octets for label, no context. */
int m2m_tls_client_export(m2m_tls_client *c, const char *label, unsigned char *out, size_t len, m2m_err *err);

#endif
