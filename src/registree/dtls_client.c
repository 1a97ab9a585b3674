/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree's CoAP client over DTLS on libcoap 4.3.1 (dtls_client.h says why it reaches into libcoap's
 * SSL_CTX and how). Every wait goes through coap_io_process with the step's timeout and the call's deadline. */
#include <arpa/inet.h>
#include <coap3/coap.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "binding/coap_options.h"
#include "crypto/secret.h"
#include "registree/dtls_client_internal.h"
#include "registree/registrar_check.h"
#include "registree/wire.h"

static pthread_once_t startup_once = PTHREAD_ONCE_INIT;

static void startup(void)
{
    coap_startup();
}

/* ---- libcoap's handlers --------------------------------------------------------------------------------------- */

static m2m_dtls_client *of_session(const coap_session_t *s)
{
    m2m_dtls_client *c = coap_get_app_data(coap_session_get_context(s));
    return c != NULL && c->session == s ? c : NULL;
}

static int on_event(coap_session_t *s, const coap_event_t event)
{
    m2m_dtls_client *c = of_session(s);
    if (c == NULL)
        return 0; /* the probe's session (see open) */
    switch (event) {
    case COAP_EVENT_DTLS_CONNECTED: c->connected = 1; break;
    case COAP_EVENT_DTLS_CLOSED:
    case COAP_EVENT_DTLS_ERROR:
    case COAP_EVENT_SESSION_CLOSED:
    case COAP_EVENT_SESSION_FAILED: c->failed = 1; break;
    default: break;
    }
    return 0;
}

static void on_nack(coap_session_t *s, const coap_pdu_t *sent, const coap_nack_reason_t reason, const coap_mid_t mid)
{
    m2m_dtls_client *c = of_session(s);
    (void)sent;
    (void)mid;
    if (c == NULL)
        return;
    if (reason == COAP_NACK_ICMP_ISSUE)
        c->unreachable = 1;
    if (reason == COAP_NACK_TLS_FAILED || reason == COAP_NACK_ICMP_ISSUE)
        c->failed = 1;
    if (c->waiting) {
        c->nacked = 1;
        c->nack = reason;
    }
}

/* An answer's body may hold a one-time credential (a <briefing>'s key): wiped whenever it is let go, on growth too. */
static void body_free(m2m_dtls_client *c)
{
    if (c->body != NULL)
        m2m_wipe(c->body, c->body_cap);
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
}

/* data after the body, in a buffer that doubles (a 1 MiB answer in 1 KiB blocks is not copied a thousand times);
 * the old one wiped */
static int body_append(m2m_dtls_client *c, const uint8_t *data, size_t len)
{
    size_t need = c->body_len + len, cap = c->body_cap > 0 ? c->body_cap : 1024, had = c->body_len;
    if (need > c->body_cap) {
        unsigned char *b;
        while (cap < need)
            cap *= 2;
        if ((b = malloc(cap)) == NULL)
            return -1;
        if (had > 0)
            memcpy(b, c->body, had);
        body_free(c);
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + had, data, len);
    c->body_len = need;
    return 0;
}

/* Copies the response to the request in flight: its code, options and whole body. A body in Block2 blocks (RFC
 * 7959) comes block by block -- libcoap asks for the next one itself -- and is joined here, not by libcoap's
 * single-body mode: that one removes Block2 from the last block before handing it over, and libcoap 4.3.1's
 * coap_remove_option writes a following delta of exactly 269 as 13 (one-octet extended deltas end at 268), so with
 * Max-Age, Block2 and oneM2M-RQI in a row (a server's own blocks; ours before) the oneM2M-RQI and -RSC were lost. */
static coap_response_t on_response(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *received,
                                   const coap_mid_t mid)
{
    m2m_dtls_client *c = of_session(s);
    coap_bin_const_t tok = coap_pdu_get_token(received);
    coap_opt_iterator_t it;
    coap_opt_t *opt;
    const uint8_t *data = NULL;
    size_t len = 0, offset = 0, total = 0, used = 0;
    coap_pdu_code_t code = coap_pdu_get_code(received);
    (void)sent;
    (void)mid;

    if (c == NULL || !c->waiting || c->done || tok.length != c->token_len ||
        memcmp(tok.s, c->token, c->token_len) != 0)
        return COAP_RESPONSE_OK; /* not the answer to the request in flight */
    if (!coap_get_data_large(received, &len, &data, &offset, &total))
        len = offset = total = 0;
    if (offset == 0)
        body_free(c);
    if (offset > 0 && offset + len <= c->body_len)
        return COAP_RESPONSE_OK; /* a block joined already (a late copy) */
    /* blocks come in order (libcoap asks for each after the one before); the whole under the limit */
    if (len > 0 && (offset != c->body_len || offset + len > M2M_COAP_BODY_MAX || body_append(c, data, len) != 0)) {
        c->too_large = 1;
        c->done = 1;
        return COAP_RESPONSE_OK;
    }
    if (offset + len < total)
        return COAP_RESPONSE_OK; /* more blocks to come */
    /* the last block: its code and options are the answer's */
    c->code = (int)(code >> 5) * 100 + (int)(code & 0x1f);
    c->nopts = 0;
    coap_option_iterator_init(received, &it, COAP_OPT_ALL);
    while ((opt = coap_option_next(&it)) != NULL) {
        size_t n = coap_opt_length(opt);
        if (c->nopts == RESPONSE_OPTS_MAX || n > sizeof c->opt_bytes - used) {
            c->too_large = 1;
            break;
        }
        memcpy(c->opt_bytes + used, coap_opt_value(opt), n);
        c->opts[c->nopts].num = it.number;
        c->opts[c->nopts].val = c->opt_bytes + used;
        c->opts[c->nopts].len = n;
        c->nopts++;
        used += n;
    }
    c->done = 1;
    return COAP_RESPONSE_OK;
}

/* ---- waiting ---------------------------------------------------------------------------------------------------- */

/* Runs libcoap (and the in-thread peer) until *flag is set, the session failed, or `until` passes. 0 when the
 * flag is set or the session failed; -1 when the wait ran out. */
static int run_until(m2m_dtls_client *c, const int *flag, double until)
{
    int idle = 0;
    while (!*flag && !c->failed) {
        double left = until - m2m_wire_clock_ms();
        if (left <= 0)
            return -1;
        if (c->pump.run == NULL) {
            coap_io_process(c->ctx, left > 1000 ? 1000 : (uint32_t)left + 1);
            continue;
        }
        coap_io_process(c->ctx, COAP_IO_NO_WAIT);
        if (*flag || c->failed)
            break;
        if (c->pump.run(c->pump.arg) == 0)
            idle = 0;
        else if (++idle >= PUMP_IDLE_ROUNDS)
            return -1; /* the peer in this thread has nothing to say: a silent network */
    }
    return 0;
}

/* ---- the handshake ---------------------------------------------------------------------------------------------- */

static int resolve(const char *host, const char *port, coap_address_t *dst, const char *peer, m2m_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char eb[128];
    int gai = getaddrinfo(host, port, &hints, &res);

    if (gai != 0)
        return m2m_fail(err, M2M_E_IO, "%s: cannot resolve %s: %s", peer, host,
                        gai == EAI_SYSTEM ? m2m_errno_text(errno, eb, sizeof eb) : gai_strerror(gai));
    coap_address_init(dst);
    dst->size = res->ai_addrlen;
    memcpy(&dst->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* A session of the kind this connection uses, to dst; libcoap is given a placeholder PSK (the real key comes from
 * psk_client_cb) and no PKI material (the certificates are on the SSL_CTX). */
static coap_session_t *new_session(m2m_dtls_client *c, const coap_address_t *dst, int verify)
{
    static const uint8_t placeholder = 0;
    if (c->auth == M2M_TLS_AUTH_PSK) {
        coap_dtls_cpsk_t setup;
        memset(&setup, 0, sizeof setup);
        setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
        setup.client_sni = verify && c->host[0] != '\0' ? c->host : NULL;
        setup.psk_info.identity.s = (const uint8_t *)c->identity;
        setup.psk_info.identity.length = strlen(c->identity);
        setup.psk_info.key.s = &placeholder;
        setup.psk_info.key.length = 1;
        return coap_new_client_session_psk2(c->ctx, NULL, dst, COAP_PROTO_DTLS, &setup);
    } else {
        coap_dtls_pki_t setup;
        memset(&setup, 0, sizeof setup);
        setup.version = COAP_DTLS_PKI_SETUP_VERSION;
        setup.verify_peer_cert = (uint8_t)verify; /* the checks themselves are registrar_check.c's */
        setup.client_sni = verify && c->host[0] != '\0' ? c->host : NULL;
        setup.pki_key.key_type = COAP_PKI_KEY_PEM;
        return coap_new_client_session_pki(c->ctx, NULL, dst, COAP_PROTO_DTLS, &setup);
    }
}

/* libcoap's SSL_CTX, learnt from a session to a UDP socket of this process on loopback (its one ClientHello never
 * leaves the host), then released. */
static SSL_CTX *learn_ssl_ctx(m2m_dtls_client *c, m2m_err *err)
{
    static const int families[] = {AF_INET, AF_INET6}; /* whichever loopback this host has */
    coap_tls_library_t lib;
    SSL_CTX *ctx = NULL;

    for (size_t i = 0; i < sizeof families / sizeof families[0] && ctx == NULL; i++) {
        coap_address_t sink;
        coap_session_t *probe = NULL;
        SSL *ssl;
        int fd = socket(families[i], SOCK_DGRAM | SOCK_CLOEXEC, 0);

        coap_address_init(&sink);
        if (families[i] == AF_INET) {
            sink.addr.sin.sin_family = AF_INET;
            sink.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            sink.size = sizeof sink.addr.sin;
        } else {
            sink.addr.sin6.sin6_family = AF_INET6;
            sink.addr.sin6.sin6_addr = in6addr_loopback;
            sink.size = sizeof sink.addr.sin6;
        }
        if (fd >= 0 && bind(fd, &sink.addr.sa, sink.size) == 0 && getsockname(fd, &sink.addr.sa, &sink.size) == 0 &&
            (probe = new_session(c, &sink, 0)) != NULL && (ssl = coap_session_get_tls(probe, &lib)) != NULL &&
            lib == COAP_TLS_LIBRARY_OPENSSL)
            ctx = SSL_get_SSL_CTX(ssl);
        if (probe != NULL)
            coap_session_release(probe);
        if (fd >= 0)
            close(fd);
    }
    if (ctx == NULL)
        m2m_fail(err, M2M_E_TLS, "libcoap: cannot set up a DTLS context (is libcoap built with OpenSSL?)");
    return ctx;
}

/* Everything a connection needs before its session exists: libcoap's context, handlers, the hooks; and the oneM2M
 * options of responses made known. They are critical (odd numbers), and libcoap drops a response with a critical
 * option it does not know; its known-options filter holds only two numbers above 255 (COAP_OPT_FILTER_LONG = 2 in
 * 4.3.1, a third is silently ignored), and a Registrar's response carries exactly two: oneM2M-RSC and
 * oneM2M-RQI. */
static int make_context(m2m_dtls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    SSL_CTX *ctx;

    pthread_once(&startup_once, startup);
    c->ctx = coap_new_context(NULL);
    if (c->ctx == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "libcoap: cannot create a context");
    coap_set_app_data(c->ctx, c);
    coap_context_set_block_mode(c->ctx, COAP_BLOCK_USE_LIBCOAP); /* blocks joined by on_response */
    coap_register_response_handler(c->ctx, on_response);
    coap_register_nack_handler(c->ctx, on_nack);
    coap_register_event_handler(c->ctx, on_event);
    coap_register_option(c->ctx, M2M_COAP_OPT_RSC);
    coap_register_option(c->ctx, M2M_COAP_OPT_RQI);
    if ((ctx = learn_ssl_ctx(c, err)) == NULL)
        return -1;
    return m2m_dtls_hook_ctx(c, cfg, ctx, err);
}

/* What a failed handshake means for the attachment logic, and its message. */
static int handshake_failed(m2m_dtls_client *c, m2m_outcome *why, m2m_err *err)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    c->failed = 1;
    if (c->check.msg[0] != '\0') {
        *why = M2M_OUTCOME_PEER_REFUSED;
        return m2m_fail(err, M2M_E_AUTH, "Registrar %s: %s", c->peer, c->check.msg);
    }
    if (c->alert_in - 1 == SSL_AD_UNKNOWN_PSK_IDENTITY) {
        *why = M2M_OUTCOME_CRED_UNKNOWN;
        return m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s failed: dtls alert unknown psk identity", c->peer);
    }
    if (c->alert_in > 0) {
        *why = M2M_OUTCOME_HANDSHAKE;
        return m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s failed: the Registrar sent alert %s", c->peer,
                        SSL_alert_desc_string_long(c->alert_in - 1));
    }
    if (c->alert_out > 0) {
        *why = M2M_OUTCOME_HANDSHAKE;
        return m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s failed: %s (alert %s sent)", c->peer,
                        r != NULL ? r : "refused here", SSL_alert_desc_string_long(c->alert_out - 1));
    }
    if (c->last_state == TLS_ST_CW_FINISHED) {
        /* every retransmission of the last flight went unanswered: DTLS drops records it cannot decrypt */
        *why = M2M_OUTCOME_HANDSHAKE;
        return m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s failed: no answer to this end's Finished after %u "
                        "retransmissions (DTLS drops what it cannot decrypt instead of answering: %s)", c->peer,
                        (unsigned)coap_session_get_max_retransmit(c->session),
                        c->auth == M2M_TLS_AUTH_PSK ? "a wrong key?" : "the client certificate refused?");
    }
    if (c->unreachable) {
        *why = M2M_OUTCOME_UNREACHABLE;
        return m2m_fail(err, M2M_E_IO, "%s: nothing answers on that UDP port (ICMP unreachable)", c->peer);
    }
    *why = M2M_OUTCOME_HANDSHAKE;
    return m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s failed: %s", c->peer,
                    r != NULL ? r : "the session closed");
}

/* After the handshake: resumed or not, the checks once more from what the handshake used, the session kept. */
static int after_handshake(m2m_dtls_client *c, m2m_outcome *why, m2m_err *err)
{
    coap_tls_library_t lib;
    SSL *ssl = coap_session_get_tls(c->session, &lib);
    const SSL_CIPHER *cipher;

    if (ssl == NULL) {
        *why = M2M_OUTCOME_HANDSHAKE;
        return m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s: no DTLS session", c->peer);
    }
    cipher = SSL_get_current_cipher(ssl);
    c->resumed = c->offered != NULL && SSL_session_reused(ssl) == 1;
    if (c->auth == M2M_TLS_AUTH_CERT) {
        if (m2m_registrar_check_after(ssl, &c->check, c->resumed) != 0) {
            *why = M2M_OUTCOME_PEER_REFUSED;
            return m2m_fail(err, M2M_E_AUTH, "Registrar %s: %s", c->peer, c->check.msg);
        }
    } else if (SSL_get0_peer_certificate(ssl) != NULL || cipher == NULL ||
               SSL_CIPHER_get_auth_nid(cipher) != NID_auth_psk) {
        *why = M2M_OUTCOME_PEER_REFUSED;
        return m2m_fail(err, M2M_E_AUTH, "DTLS handshake with %s: the peer did not authenticate with the PSK",
                        c->peer);
    }
    if (c->keep_sessions) {
        SSL_SESSION *s = SSL_get1_session(ssl);
        if (s != NULL && SSL_SESSION_is_resumable(s))
            c->newest = s;
        else
            SSL_SESSION_free(s);
    }
    return 0;
}

m2m_dtls_client *m2m_dtls_client_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err)
{
    m2m_dtls_client *c = NULL;
    coap_address_t dst;
    m2m_outcome local;
    double start, until;
    int ok = 0;

    if (why == NULL)
        why = &local;
    *why = M2M_OUTCOME_LOCAL;
    if (cfg == NULL || cfg->host == NULL || cfg->port == NULL) {
        m2m_fail(err, M2M_E_ARG, "DTLS client: host and port are required");
        goto done;
    }
    if (cfg->auth == M2M_TLS_AUTH_PSK &&
        (cfg->psk_identity == NULL || cfg->psk_identity[0] == '\0' || strlen(cfg->psk_identity) > PSK_IDENTITY_MAX ||
         (cfg->psk == NULL && cfg->psk_derive == NULL) || (cfg->psk_derive == NULL && cfg->psk_len == 0))) {
        m2m_fail(err, M2M_E_ARG, "DTLS client: a PSK identity of 1 to %d characters and a PSK are required",
                 PSK_IDENTITY_MAX);
        goto done;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    c->auth = cfg->auth;
    c->pump = cfg->pump;
    c->keep_sessions = cfg->keep_sessions != 0;
    c->budget.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : M2M_TLS_DEFAULT_TIMEOUT_MS;
    c->budget.deadline = cfg->deadline;
    c->budget.peer = c->peer;
    c->dtls_timer_us = (unsigned)(cfg->dtls_timer_ms > 0 ? cfg->dtls_timer_ms : M2M_DTLS_DEFAULT_TIMER_MS) * 1000u;
    if (cfg->peer_name != NULL)
        snprintf(c->peer, sizeof c->peer, "%s", cfg->peer_name);
    else
        snprintf(c->peer, sizeof c->peer, strchr(cfg->host, ':') ? "[%s]:%s" : "%s:%s", cfg->host, cfg->port);
    {
        unsigned char a[16];
        /* SNI only for a name (RFC 6066 3) */
        if (inet_pton(AF_INET, cfg->host, a) != 1 && inet_pton(AF_INET6, cfg->host, a) != 1)
            snprintf(c->host, sizeof c->host, "%s", cfg->host);
    }
    if (c->auth == M2M_TLS_AUTH_CERT) {
        if (m2m_registrar_check_init(&c->check, cfg, err) != 0)
            goto done;
        snprintf(c->ciphers, sizeof c->ciphers, "%s" M2M_TLS12_CERT_EXCLUDE,
                 cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_DTLS_CERT_CIPHERS);
    } else if (c->auth == M2M_TLS_AUTH_PSK) {
        snprintf(c->identity, sizeof c->identity, "%s", cfg->psk_identity);
        c->psk_derive = cfg->psk_derive;
        c->psk_arg = cfg->psk_arg;
        if (c->psk_derive == NULL && m2m_secret_set(&c->psk, cfg->psk, cfg->psk_len, err) != 0)
            goto done;
        snprintf(c->ciphers, sizeof c->ciphers, "%s",
                 cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_DTLS_PSK_CIPHERS);
    } else {
        m2m_fail(err, M2M_E_ARG, "DTLS client: unknown authentication mode %d", (int)cfg->auth);
        goto done;
    }
    if (cfg->session != NULL) {
        if (SSL_SESSION_up_ref(cfg->session) != 1) {
            m2m_fail(err, M2M_E_TLS, "cannot offer the saved session");
            goto done;
        }
        c->offered = cfg->session;
    }
    if (make_context(c, cfg, err) != 0 || resolve(cfg->host, cfg->port, &dst, c->peer, err) != 0) {
        if (err != NULL && err->code == M2M_E_IO)
            *why = M2M_OUTCOME_UNREACHABLE;
        goto done;
    }
    start = m2m_wire_clock_ms();
    until = m2m_budget_until(&c->budget);
    ERR_clear_error();
    {
        coap_session_t *s = new_session(c, &dst, 1);
        if (s == NULL) {
            m2m_fail(err, M2M_E_TLS, "DTLS handshake with %s: libcoap could not start the session", c->peer);
            goto done;
        }
        c->session = s;
    }
    coap_session_set_max_retransmit(c->session, (unsigned)(cfg->coap_max_retransmit > 0
                                                               ? cfg->coap_max_retransmit
                                                               : M2M_COAP_DEFAULT_MAX_RETRANSMIT));
    {
        int ms = cfg->coap_ack_timeout_ms > 0 ? cfg->coap_ack_timeout_ms : M2M_COAP_DEFAULT_ACK_TIMEOUT_MS;
        coap_fixed_point_t t = {(uint16_t)(ms / 1000), (uint16_t)(ms % 1000)};
        coap_session_set_ack_timeout(c->session, t);
    }
    if (run_until(c, &c->connected, until) != 0) {
        /* a Finished without an answer may be a wrong key (DTLS announces no refusal of what it cannot decrypt) or a
         * lossy link: both are said, and it counts as a timeout, so no credential is judged on it */
        *why = M2M_OUTCOME_TIMEOUT;
        c->failed = 1;
        if (c->last_state == TLS_ST_CW_FINISHED && !m2m_budget_passed(&c->budget))
            m2m_fail(err, M2M_E_TIMEOUT, "DTLS handshake with %s: no answer to this end's Finished within %d ms (DTLS "
                     "drops what it cannot decrypt, so a wrong key looks like this; so does a lossy link: see [coap] "
                     "handshake-timer and [tls] timeout)", c->peer, c->budget.timeout_ms);
        else
            m2m_budget_timed_out(&c->budget, err, "DTLS handshake with ", "during the handshake", "no answer within");
        goto done;
    }
    if (!c->connected) {
        handshake_failed(c, why, err);
        goto done;
    }
    c->handshake_ms = m2m_wire_clock_ms() - start;
    c->last_io = m2m_wire_clock_ms();
    if (after_handshake(c, why, err) != 0) {
        c->failed = 1;
        goto done;
    }
    *why = M2M_OUTCOME_OK;
    ok = 1;
done:
    ERR_clear_error();
    if (!ok) {
        m2m_dtls_client_close(c);
        c = NULL;
    }
    return c;
}

/* ---- requests --------------------------------------------------------------------------------------------------- */

int m2m_dtls_client_request(m2m_dtls_client *c, const m2m_coap_request *req, m2m_coap_response *resp,
                            m2m_outcome *why, m2m_err *err)
{
    coap_pdu_t *pdu;
    coap_mid_t mid;

    *why = M2M_OUTCOME_BROKEN;
    memset(resp, 0, sizeof *resp);
    if (c == NULL || c->session == NULL || c->failed)
        return m2m_fail(err, M2M_E_ARG, "DTLS client: not connected");
    pdu = coap_pdu_init(COAP_MESSAGE_CON, (coap_pdu_code_t)req->method, coap_new_message_id(c->session),
                        coap_session_max_pdu_size(c->session));
    if (pdu == NULL) {
        *why = M2M_OUTCOME_LOCAL;
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    coap_session_new_token(c->session, &c->token_len, c->token);
    if (!coap_add_token(pdu, c->token_len, c->token))
        goto too_big;
    for (size_t i = 0; i < req->nopts; i++)
        if (coap_add_option(pdu, req->opts[i].num, req->opts[i].len, req->opts[i].val) == 0 && req->opts[i].len > 0)
            goto too_big;
    /* RFC 7959: libcoap sends a body larger than one datagram as Block1 blocks and joins Block2 answers */
    if (req->payload_len > 0 &&
        !coap_add_data_large_request(c->session, pdu, req->payload_len, req->payload, NULL, NULL))
        goto too_big;
    c->waiting = 1;
    c->done = c->nacked = c->too_large = 0;
    mid = coap_send(c->session, pdu); /* takes pdu */
    if (mid == COAP_INVALID_MID) {
        c->waiting = 0;
        c->failed = 1;
        return m2m_fail(err, M2M_E_IO, "%s: cannot send the CoAP request", c->peer);
    }
    if (run_until(c, &c->done, m2m_budget_until(&c->budget)) != 0 && !c->done) {
        c->waiting = 0;
        c->failed = 1;
        *why = M2M_OUTCOME_TIMEOUT;
        return m2m_budget_timed_out(&c->budget, err, "", "while waiting for the CoAP response",
                                    "no CoAP response within");
    }
    c->waiting = 0;
    if (!c->done || c->too_large) {
        c->failed = 1;
        if (c->too_large)
            return m2m_fail(err, M2M_E_PROTO, "%s: the CoAP response has more than %d options or %d bytes of them, "
                            "or a body over %d bytes", c->peer, RESPONSE_OPTS_MAX, RESPONSE_OPT_BYTES,
                            M2M_COAP_BODY_MAX);
        if (c->nacked && c->nack == COAP_NACK_RST)
            return m2m_fail(err, M2M_E_PROTO, "%s: the Registrar reset the CoAP request", c->peer);
        if (c->nacked && c->nack == COAP_NACK_TOO_MANY_RETRIES) {
            *why = M2M_OUTCOME_TIMEOUT;
            return m2m_fail(err, M2M_E_TIMEOUT, "%s: no acknowledgement of the CoAP request after %u retransmissions",
                            c->peer, (unsigned)coap_session_get_max_retransmit(c->session));
        }
        return m2m_fail(err, M2M_E_IO, "%s: the DTLS session closed before the CoAP response", c->peer);
    }
    c->last_io = m2m_wire_clock_ms();
    resp->code = c->code;
    resp->opts = c->opts;
    resp->nopts = c->nopts;
    resp->payload = c->body;
    resp->payload_len = c->body_len;
    *why = M2M_OUTCOME_OK;
    return 0;
too_big:
    coap_delete_pdu(pdu);
    *why = M2M_OUTCOME_LOCAL;
    return m2m_fail(err, M2M_E_ARG, "%s: the CoAP request does not fit a datagram (options and token)", c->peer);
}

/* ---- the rest --------------------------------------------------------------------------------------------------- */

static SSL *ssl_of(const m2m_dtls_client *c)
{
    coap_tls_library_t lib;
    return c != NULL && c->session != NULL ? coap_session_get_tls(c->session, &lib) : NULL;
}

int m2m_dtls_client_alive(const m2m_dtls_client *c)
{
    return c != NULL && c->session != NULL && !c->failed &&
           coap_session_get_state(c->session) == COAP_SESSION_STATE_ESTABLISHED &&
           m2m_wire_clock_ms() - c->last_io < M2M_DTLS_IDLE_REUSE_MS;
}

void m2m_dtls_client_set_deadline(m2m_dtls_client *c, double deadline)
{
    if (c != NULL)
        c->budget.deadline = deadline;
}

int m2m_dtls_client_export(m2m_dtls_client *c, const char *label, unsigned char *out, size_t len, m2m_err *err)
{
    SSL *ssl = ssl_of(c);
    if (ssl == NULL || c->failed || label == NULL)
        return m2m_fail(err, M2M_E_ARG, "DTLS client: not connected");
    if (SSL_export_keying_material(ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "%s: the DTLS exporter failed", c->peer);
    }
    return 0;
}

const char *m2m_dtls_client_version(const m2m_dtls_client *c)
{
    SSL *ssl = ssl_of(c);
    return ssl != NULL ? SSL_get_version(ssl) : "";
}

const char *m2m_dtls_client_cipher(const m2m_dtls_client *c)
{
    SSL *ssl = ssl_of(c);
    const char *name = ssl != NULL ? SSL_get_cipher_name(ssl) : NULL;
    return name != NULL ? name : "";
}

const char *m2m_dtls_client_peer(const m2m_dtls_client *c)
{
    return c != NULL ? c->peer : "";
}

double m2m_dtls_client_handshake_ms(const m2m_dtls_client *c)
{
    return c != NULL ? c->handshake_ms : 0.0;
}

int m2m_dtls_client_resumed(const m2m_dtls_client *c)
{
    return c != NULL && c->resumed;
}

int m2m_dtls_client_ocsp_checked(const m2m_dtls_client *c)
{
    return c != NULL && c->check.ocsp_checked;
}

SSL_SESSION *m2m_dtls_client_get1_session(m2m_dtls_client *c)
{
    if (c == NULL || c->newest == NULL || SSL_SESSION_up_ref(c->newest) != 1)
        return NULL;
    return c->newest;
}

unsigned m2m_dtls_client_sessions(const m2m_dtls_client *c)
{
    return c != NULL && c->newest != NULL ? 1u : 0u;
}

void m2m_dtls_client_close(m2m_dtls_client *c)
{
    if (c == NULL)
        return;
    if (c->session != NULL) {
        coap_session_t *s = c->session;
        /* libcoap sends close_notify when the handshake had finished; the events it reports go nowhere */
        c->session = NULL;
        coap_session_release(s);
    }
    if (c->ctx != NULL)
        coap_free_context(c->ctx);
    ERR_clear_error();
    m2m_secret_clear(&c->psk);
    m2m_registrar_check_clear(&c->check);
    SSL_SESSION_free(c->offered);
    SSL_SESSION_free(c->newest);
    body_free(c);
    free(c);
}
