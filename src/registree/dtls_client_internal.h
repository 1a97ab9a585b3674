/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the Registree's DTLS client (dtls_client.h): the connection object, shared by dtls_client.c (libcoap's
 * context, session, handlers, requests) and dtls_hooks.c (what it installs in libcoap's SSL_CTX). */
#ifndef M2M_REGISTREE_DTLS_CLIENT_INTERNAL_H
#define M2M_REGISTREE_DTLS_CLIENT_INTERNAL_H

#include <coap3/coap.h>
#include <openssl/ssl.h>

#include "crypto/secret.h"
#include "registree/dtls_client.h"
#include "registree/registrar_check.h"
#include "registree/wire.h"

#define PSK_IDENTITY_MAX 256
#define DTLS_TIMER_MAX_US (60u * 1000u * 1000u) /* RFC 6347 4.2.4.1: back off up to no less than 60 s */
#define RESPONSE_OPTS_MAX 64
#define RESPONSE_OPT_BYTES 4096
/* Rounds of the in-thread peer with nothing to do before the wait counts as unanswered. */
#define PUMP_IDLE_ROUNDS 3

struct m2m_dtls_client {
    coap_context_t *ctx;
    coap_session_t *session;
    void (*coap_info_cb)(const SSL *ssl, int where, int ret); /* libcoap's, which ours calls on */
    m2m_pump pump;
    m2m_budget budget;
    char peer[300];
    char host[256];
    m2m_tls_auth auth;
    m2m_registrar_check check;
    m2m_secret psk;
    int (*psk_derive)(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len);
    void *psk_arg;
    char identity[PSK_IDENTITY_MAX + 1];
    char ciphers[512];
    unsigned dtls_timer_us;
    int armed;             /* the hooks apply: the probe session is gone (make_context) */

    /* the handshake */
    int connected;
    int failed;            /* the session failed or closed */
    int unreachable;       /* ... with an ICMP error: nobody listens there */
    int alert_in;          /* the fatal alert the Registrar sent, +1 (0: none) */
    int alert_out;         /* the fatal alert this end sent, +1 */
    OSSL_HANDSHAKE_STATE last_state; /* where the handshake was last */
    double handshake_ms;
    double last_io;        /* when the last handshake or answer came (m2m_wire_clock_ms) */
    SSL_SESSION *offered;  /* the saved session offered (a reference), or NULL */
    SSL_SESSION *newest;   /* the session of this connection, or NULL */
    int keep_sessions;
    int resumed;

    /* the request in flight */
    uint8_t token[8];
    size_t token_len;
    int waiting;
    int done;
    int nacked;
    coap_nack_reason_t nack;
    int too_large;
    int code;
    m2m_coap_opt opts[RESPONSE_OPTS_MAX];
    size_t nopts;
    uint8_t opt_bytes[RESPONSE_OPT_BYTES];
    uint8_t *body;
    size_t body_len;
    size_t body_cap;           /* allocated for body (it doubles as blocks come) */
};

/* The hooks on libcoap's SSL_CTX, installed once the probe session is gone (dtls_hooks.c): this connection's
 * cipher list, an info callback chained to libcoap's that prepares each new handshake of the context and records
 * its alerts and state, and the Registrar certificate checks (or, with a PSK, a refusal of any certificate). */
int m2m_dtls_hook_ctx(m2m_dtls_client *c, const m2m_tls_client_config *cfg, SSL_CTX *ctx, m2m_err *err);

#endif
