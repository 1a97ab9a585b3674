/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree's transport seam: one secured connection to the Registrar, as the attachment logic sees it. The
 * logic (which credential, which saved session, fallback, registration, key generation) is the same over every
 * binding; what differs sits behind this table:
 *   - HTTP over TLS over TCP (TS-0009): transport_http.c, on tls_client.c and binding/http_client.c;
 *   - CoAP over DTLS over UDP (TS-0008): transport_coap.c, on dtls_client.c (libcoap) and binding/coap_client.c.
 * Both take the same security configuration (m2m_tls_client_config: PSK or the Registrar's certificate, a saved
 * session, the step timeout and the call's deadline), and both run in memory for tests: the TLS one on a BIO pair
 * with the Registrar in the same thread, the CoAP one with a libcoap server context pumped by the same thread.
 *
 * Every failure says what became of it (outcome.h); the logic decides on that.
 *
 *   m2m_transport *t = m2m_transport_open(M2M_BINDING_HTTP, &cfg, &why, &err);   // Step 4
 *   t->ops->exchange(t, &req, token, &reply, &why, &err);                        // Step 5, requests
 *   m2m_transport_close(t);                                                      // close_notify, free */
#ifndef M2M_REGISTREE_TRANSPORT_H
#define M2M_REGISTREE_TRANSPORT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "m2mattach/error.h"
#include "m2mattach/registree.h"
#include "registree/outcome.h"
#include "registree/tls_client.h"

typedef enum m2m_binding {
    M2M_BINDING_HTTP = 1, /* https://: HTTP/1.1 over TLS over TCP */
    M2M_BINDING_COAP = 2  /* coaps://: CoAP over DTLS 1.2 over UDP */
} m2m_binding;

/* What the handshake gave, for m2m_attach_info. The strings live as long as the transport. */
typedef struct m2m_link_info {
    const char *version;   /* "TLSv1.2", "TLSv1.3", "DTLSv1.2" */
    const char *cipher;    /* OpenSSL's name */
    double handshake_ms;
    int resumed;           /* the offered session was resumed */
    int ocsp_checked;      /* a good OCSP status of the Registrar was checked on this connection */
} m2m_link_info;

typedef struct m2m_transport m2m_transport;

typedef struct m2m_transport_ops {
    const char *name; /* "HTTP over TLS", "CoAP over DTLS": for messages */
    /* One request and its response. token: the identity token of x.y.7 (NULL: none), which each binding carries
     * its own way (HTTP: Authorization: Bearer; CoAP: Uri-Query tkns). The request ID is made here and the
     * response must echo it. A oneM2M error status is not a failure: reply->rsc says it. On failure *why is
     * M2M_OUTCOME_CLOSED_IDLE (the connection had been used before and the Registrar closed it before the request
     * reached it: sending it again on a new connection is safe), M2M_OUTCOME_TIMEOUT, or M2M_OUTCOME_BROKEN; the
     * transport is not to be used again then. */
    int (*exchange)(m2m_transport *t, const m2m_request *req, const char *token, m2m_reply *reply, m2m_outcome *why,
                    m2m_err *err);
    /* 0 once the connection cannot carry another request: the Registrar said it closes, it failed, or (DTLS, no
     * close to be seen) it has been quiet too long to trust. */
    int (*alive)(const m2m_transport *t);
    /* Replaces the deadline (m2m_wire_clock_ms clock; 0: none): a kept connection serves a later call. */
    void (*set_deadline)(m2m_transport *t, double deadline);
    /* RFC 5705 exporter (x.y.8): len octets for label, no context. */
    int (*export_key)(m2m_transport *t, const char *label, unsigned char *out, size_t len, m2m_err *err);
    void (*info)(const m2m_transport *t, m2m_link_info *out);
    /* x.y.4: the newest resumable session received (a new reference, or NULL), how many came so far, and (TLS 1.3:
     * tickets come after the handshake) a bounded wait for one. */
    SSL_SESSION *(*get1_session)(m2m_transport *t);
    unsigned (*sessions)(const m2m_transport *t);
    int (*await_session)(m2m_transport *t, int max_ms);
    /* close_notify (best effort) and free. */
    void (*close)(m2m_transport *t);
} m2m_transport_ops;

struct m2m_transport {
    const m2m_transport_ops *ops;
};

/* Step 4 over the binding: connect and handshake with cfg (cfg->peer_name names the Registrar in messages and is
 * HTTP's Host). NULL on failure, with *why and err. */
m2m_transport *m2m_transport_open(m2m_binding binding, const m2m_tls_client_config *cfg, m2m_outcome *why,
                                  m2m_err *err);
m2m_transport *m2m_transport_http_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err);
m2m_transport *m2m_transport_coap_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err);

/* NULL is a no-op. */
void m2m_transport_close(m2m_transport *t);

#endif
