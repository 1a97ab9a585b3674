/* SPDX-License-Identifier: Apache-2.0 */
/* Checking the Registrar's certificate (x.y.6 / x.y.7 Step 4), for the TLS client and the DTLS client alike: the
 * chain must verify to the one Registrar Root Certificate of Step 2 (no partial chains, validity dates checked),
 * the leaf must carry the Registrar CSE-ID as a subjectAltName URI, exactly, and, when an OCSP responder
 * certificate is configured, a stapled, correctly signed, fresh "good" status must come with it.
 *
 * The checks run inside the handshake (OpenSSL's certificate-verify callback and the OCSP status callback), so a
 * Registrar that fails one never sees the client certificate and never receives a request, and once more after it
 * from what the finished handshake used (m2m_registrar_check_after), so a callback that did not run cannot let a
 * connection through. The first reason a check failed is kept, worded for people ("certificate does not carry
 * CSE-ID /in-cse (subjectAltName: URI:/other-cse)"). */
#ifndef M2M_REGISTREE_REGISTRAR_CHECK_H
#define M2M_REGISTREE_REGISTRAR_CHECK_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "m2mattach/error.h"
#include "registree/tls_client.h"

typedef struct m2m_registrar_check {
    X509 *ocsp;            /* the OCSP responder certificate (a reference), or NULL: no status required */
    char root_name[300];
    char ocsp_name[300];
    char cse_id[256];
    int have_client_cert;  /* x.y.6: a client certificate is configured */
    int cert_requested;    /* the server sent a CertificateRequest */
    int peer_checked;      /* chain and CSE-ID passed in the verify callback */
    int ocsp_checked;      /* a good, fresh, correctly signed status was seen */
    char msg[400];         /* why a check failed; "" when none did */
} m2m_registrar_check;

/* From cfg (M2M_TLS_AUTH_CERT): the CSE-ID, the names of root and responder for messages, a reference to the
 * responder certificate. */
int m2m_registrar_check_init(m2m_registrar_check *k, const m2m_tls_client_config *cfg, m2m_err *err);
void m2m_registrar_check_clear(m2m_registrar_check *k);

/* Keeps the first reason only: the first check that failed is the one that matters. */
void m2m_registrar_check_fail(m2m_registrar_check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes ctx check the Registrar: a trust store holding only cfg->root, the verify and OCSP callbacks (with k as
 * their argument: k must outlive every handshake of ctx), no renegotiation, and cfg's client certificate, key and
 * chain when given. The cipher lists are the caller's. */
int m2m_registrar_check_ctx(SSL_CTX *ctx, const m2m_tls_client_config *cfg, m2m_registrar_check *k, m2m_err *err);

/* Per connection, before its ClientHello: asks for a stapled OCSP status when a responder is configured. */
int m2m_registrar_check_ssl(SSL *ssl, m2m_registrar_check *k, m2m_err *err);

/* After the handshake: the same checks once more from its outcome (a resumed session carries the checks of the
 * full handshake that made it, but must have been a certificate session), and, with a client certificate, that the
 * Registrar asked for it. 0, or -1 with k->msg set. */
int m2m_registrar_check_after(SSL *ssl, m2m_registrar_check *k, int resumed);

#endif
