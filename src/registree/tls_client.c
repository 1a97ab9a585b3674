/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking TLS client, PSK or certificate mode (see tls_client.h). The socket is non-blocking underneath so that
 * every wait goes through poll() with a deadline: a dead Registrar costs the device a bounded time and a clear
 * message. In memory (tests) the client's end of a BIO pair takes the socket's place and the peer runs in this
 * thread wherever the client would wait (wire.h). In certificate mode the checks of the Registrar's certificate
 * (registrar_check.c) run inside the handshake, so a Registrar that fails one never sees the client certificate
 * (TLS 1.3) and never receives a request; they are checked once more after the handshake.
 *
 * Every failure of the handshake says what became of it (outcome.h) beside the message: the attachment logic
 * decides on that, never on OpenSSL's words. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "registree/registrar_check.h"
#include "registree/tls_client_internal.h"
#include "registree/wire.h"

/* ---- waiting ---------------------------------------------------------------------------------------------------- */

double m2m_tls_client_clock_ms(void)
{
    return m2m_wire_clock_ms();
}

/* Waits for the direction OpenSSL asked for (SSL_ERROR_WANT_READ / _WRITE) until `until`: on the socket, or by
 * letting the peer in this thread run. 0 when the client may try again, -1 when the wait ran out. */
static int wait_io(m2m_tls_client *c, int ssl_err, double until)
{
    if (c->pump.run != NULL)
        return m2m_wire_clock_ms() < until && c->pump.run(c->pump.arg) == 0 ? 0 : -1;
    return m2m_wait_fd(c->fd, ssl_err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until);
}

/* ---- messages --------------------------------------------------------------------------------------------------- */

/* OpenSSL's reason for the failure of an SSL call: the last queued error (e.g. "tlsv1 alert unknown psk
 * identity"), else what the socket said. Clears the queue so a later call starts clean. */
static void ssl_reason(int ssl_err, int saved_errno, char *out, size_t cap)
{
    unsigned long e, last = 0;
    const char *r;
    char eb[128];

    while ((e = ERR_get_error()) != 0)
        last = e;
    if (last != 0) {
        r = ERR_reason_error_string(last);
        if (r != NULL)
            snprintf(out, cap, "%s", r);
        else
            ERR_error_string_n(last, out, cap);
    } else if (ssl_err == SSL_ERROR_SYSCALL && saved_errno != 0) {
        snprintf(out, cap, "%s", m2m_errno_text(saved_errno, eb, sizeof eb));
    } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        snprintf(out, cap, "the peer closed the connection");
    } else {
        snprintf(out, cap, "SSL error %d", ssl_err);
    }
}

/* ---- resumption ------------------------------------------------------------------------------------------------- */

/* SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE: OpenSSL hands every new session here (TLS 1.2 at the
 * end of a full handshake, TLS 1.3 for each NewSessionTicket) and keeps none itself. Returning 1 keeps the
 * reference. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    m2m_tls_client *c = SSL_get_app_data(ssl);
    if (c == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    SSL_SESSION_free(c->newest);
    c->newest = sess;
    c->sessions++;
    return 1;
}

/* ---- TLS -------------------------------------------------------------------------------------------------------- */

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int make_cert_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    char *list = NULL;
    int ok;

    /* No PSK callback is installed, so OpenSSL offers no PSK suite and no TLS 1.3 PSK; the exclusion in the list
     * says the same once more. */
    if (asprintf(&list, "%s" M2M_TLS12_CERT_EXCLUDE,
                 cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_CERT_CIPHERS) < 0)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    ok = SSL_CTX_set_cipher_list(c->ctx, list) == 1 &&
         SSL_CTX_set_ciphersuites(c->ctx, M2M_TLS13_CERT_CIPHERSUITES) == 1;
    free(list);
    if (!ok) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "no certificate cipher suite in '%s'",
                        cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_CERT_CIPHERS);
    }
    return m2m_registrar_check_ctx(c->ctx, cfg, &c->check, err);
}

/* The TLS context, before any connection is made, so that a configuration error costs no connect. */
static int make_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    int min = TLS1_2_VERSION, max = TLS1_3_VERSION;

    if (cfg->range == M2M_TLS_ONLY_1_2)
        max = TLS1_2_VERSION;
    else if (cfg->range == M2M_TLS_ONLY_1_3)
        min = TLS1_3_VERSION;
    if (c->auth == M2M_TLS_AUTH_PSK && c->psk.len > TLS13_PSK_MAX)
        max = TLS1_2_VERSION; /* connect() refused this already when only TLS 1.3 was allowed */
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS context");
    if (SSL_CTX_set_min_proto_version(c->ctx, min) != 1 || SSL_CTX_set_max_proto_version(c->ctx, max) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot set the TLS versions or cipher suites");
    }
    if (cfg->keep_sessions) {
        SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(c->ctx, new_session_cb);
    } else if (cfg->session == NULL) {
        SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
    }
    return c->auth == M2M_TLS_AUTH_PSK ? m2m_tls_client_psk_ctx(c, cfg, err) : make_cert_ctx(c, cfg, err);
}

/* After the TCP connect: the connection object on the socket (or, in memory, on the BIO, which it now owns). */
static int make_ssl(m2m_tls_client *c, const m2m_tls_client_config *cfg, BIO **bio, m2m_err *err)
{
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_app_data(c->ssl, c) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS connection object");
    if (*bio != NULL) {
        SSL_set_bio(c->ssl, *bio, *bio);
        *bio = NULL;
    } else if (SSL_set_fd(c->ssl, c->fd) != 1) {
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS connection object");
    }
    if (!is_ip_literal(cfg->host) && SSL_set_tlsext_host_name(c->ssl, cfg->host) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot set the server name %s", cfg->host);
    if (c->auth == M2M_TLS_AUTH_CERT && m2m_registrar_check_ssl(c->ssl, &c->check, err) != 0)
        return -1;
    if (cfg->session != NULL) {
        /* A session OpenSSL cannot use here (another protocol version, not resumable) is simply not offered. */
        if (SSL_set_session(c->ssl, cfg->session) != 1 || SSL_SESSION_up_ref(cfg->session) != 1) {
            ERR_clear_error();
            return m2m_fail(err, M2M_E_TLS, "cannot offer the saved session");
        }
        c->offered = cfg->session;
    }
    return 0;
}

/* After SSL_connect: was the offered session resumed? TLS 1.2: SSL_session_reused (a PSK key exchange is not a
 * resumption there). TLS 1.3: OpenSSL says "reused" for an external PSK too; when the Registrar selects the
 * resumption ticket the connection keeps the very session object offered, when it selects the external PSK (or no
 * PSK) the connection gets another one. Checked before any post-handshake ticket replaces it. */
static void note_resumption(m2m_tls_client *c)
{
    c->resumed = 0;
    if (c->offered != NULL && SSL_session_reused(c->ssl) == 1)
        c->resumed = SSL_version(c->ssl) == TLS1_3_VERSION ? SSL_get0_session(c->ssl) == c->offered : 1;
    /* TLS 1.2: the session (with a ticket renewed in this handshake, which the new-session callback does not see
     * on a resumption) is final now. */
    if (c->keep_sessions && SSL_version(c->ssl) != TLS1_3_VERSION) {
        SSL_SESSION *s = SSL_get1_session(c->ssl);
        if (s != NULL && SSL_SESSION_is_resumable(s) && s != c->newest) {
            SSL_SESSION_free(c->newest);
            c->newest = s;
            c->sessions++;
        } else {
            SSL_SESSION_free(s);
        }
    }
}

/* Certificate mode, after SSL_connect succeeded: the same checks once more from the outcome, so that a callback
 * that did not run (e.g. no status callback without a staple) cannot let a connection through. */
static int after_cert_handshake(m2m_tls_client *c, m2m_outcome *why, m2m_err *err)
{
    if (m2m_registrar_check_after(c->ssl, &c->check, c->resumed) != 0) {
        c->broken = 1; /* no close_notify, no request: the connection is dropped */
        *why = M2M_OUTCOME_PEER_REFUSED;
        return m2m_fail(err, M2M_E_AUTH, "Registrar %s: %s", c->peer, c->check.msg);
    }
    return 0;
}

/* What a failed SSL_connect means for the attachment logic: the Registrar named the credential (an
 * unknown_psk_identity alert), went on with a certificate where the PSK was due, failed a check of this end, or
 * the handshake failed some other way. */
static m2m_outcome handshake_outcome(const m2m_tls_client *c, unsigned long last_error)
{
    if (c->psk_not_taken)
        return M2M_OUTCOME_CRED_NOT_TAKEN;
    if (c->check.msg[0] != '\0')
        return M2M_OUTCOME_PEER_REFUSED;
    if (ERR_GET_LIB(last_error) == ERR_LIB_SSL && ERR_GET_REASON(last_error) == SSL_R_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY)
        return M2M_OUTCOME_CRED_UNKNOWN;
    return M2M_OUTCOME_HANDSHAKE;
}

static int handshake(m2m_tls_client *c, m2m_outcome *out, m2m_err *err)
{
    double start = m2m_wire_clock_ms(), until = m2m_budget_until(&c->budget);
    char why[256];

    for (;;) {
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_io(c, e, until) != 0) {
                c->broken = 1;
                *out = M2M_OUTCOME_TIMEOUT;
                return m2m_budget_timed_out(&c->budget, err, "TLS handshake with ", "during the handshake",
                                            "no answer within");
            }
            continue;
        }
        c->broken = 1;
        *out = handshake_outcome(c, ERR_peek_last_error());
        ssl_reason(e, saved, why, sizeof why);
        if (c->check.msg[0] != '\0')
            return m2m_fail(err, M2M_E_AUTH, "Registrar %s: %s", c->peer, c->check.msg);
        return m2m_fail(err, M2M_E_TLS, "TLS handshake with %s failed: %s", c->peer, why);
    }
    c->handshake_ms = m2m_wire_clock_ms() - start;
    note_resumption(c);
    if (c->auth == M2M_TLS_AUTH_CERT)
        return after_cert_handshake(c, out, err);
    /* Belt and braces for the verify setting above: the suite must be a PSK one (TLS 1.2) or the external PSK
     * must have been accepted (TLS 1.3), and no certificate may have been involved. */
    {
        const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
        const X509 *cert = SSL_get0_peer_certificate(c->ssl);
        int psk_used = SSL_version(c->ssl) == TLS1_3_VERSION
                           ? SSL_session_reused(c->ssl) == 1
                           : cipher != NULL && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_psk;
        if (cert != NULL || !psk_used) {
            c->broken = 1;
            *out = M2M_OUTCOME_PEER_REFUSED;
            return m2m_fail(err, M2M_E_AUTH, "TLS handshake with %s: the peer did not authenticate with the PSK",
                            c->peer);
        }
    }
    return 0;
}

m2m_tls_client *m2m_tls_client_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err)
{
    m2m_tls_client *c = NULL;
    m2m_sigpipe_guard g;
    m2m_outcome local;
    BIO *bio = cfg != NULL ? cfg->bio : NULL; /* ours from here on, whatever happens */
    int ok = 0;

    if (why == NULL)
        why = &local;
    *why = M2M_OUTCOME_LOCAL;
    m2m_sigpipe_block(&g);
    if (cfg == NULL || cfg->host == NULL || cfg->port == NULL) {
        m2m_fail(err, M2M_E_ARG, "TLS client: host and port are required");
        goto done;
    }
    if (cfg->auth == M2M_TLS_AUTH_PSK) {
        if (cfg->psk_identity == NULL || (cfg->psk == NULL && cfg->psk_derive == NULL)) {
            m2m_fail(err, M2M_E_ARG, "TLS client: PSK identity and PSK are required");
            goto done;
        }
        if (strlen(cfg->psk_identity) > PSK_IDENTITY_MAX || cfg->psk_identity[0] == '\0') {
            m2m_fail(err, M2M_E_ARG, "TLS client: the PSK identity must have 1 to %d characters", PSK_IDENTITY_MAX);
            goto done;
        }
    } else if (cfg->auth != M2M_TLS_AUTH_CERT) {
        m2m_fail(err, M2M_E_ARG, "TLS client: unknown authentication mode %d", (int)cfg->auth);
        goto done;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    c->fd = -1;
    c->auth = cfg->auth;
    c->keep_sessions = cfg->keep_sessions != 0;
    c->budget.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : M2M_TLS_DEFAULT_TIMEOUT_MS;
    c->budget.deadline = cfg->deadline;
    c->budget.peer = c->peer;
    c->pump = cfg->pump;
    if (cfg->peer_name != NULL)
        snprintf(c->peer, sizeof c->peer, "%s", cfg->peer_name);
    else
        snprintf(c->peer, sizeof c->peer, strchr(cfg->host, ':') ? "[%s]:%s" : "%s:%s", cfg->host, cfg->port);
    if (c->auth == M2M_TLS_AUTH_CERT) {
        if (m2m_registrar_check_init(&c->check, cfg, err) != 0)
            goto done;
    } else {
        snprintf(c->identity, sizeof c->identity, "%s", cfg->psk_identity);
        c->psk_derive = cfg->psk_derive;
        c->psk_arg = cfg->psk_arg;
        if (c->psk_derive == NULL && m2m_secret_set(&c->psk, cfg->psk, cfg->psk_len, err) != 0)
            goto done;
        if (c->psk.len == 0 && c->psk_derive == NULL) {
            m2m_fail(err, M2M_E_ARG, "TLS client: empty PSK");
            goto done;
        }
        if (c->psk.len > TLS13_PSK_MAX && cfg->range == M2M_TLS_ONLY_1_3) {
            m2m_fail(err, M2M_E_ARG, "a %zu-octet PSK cannot be used with TLS 1.3 (OpenSSL takes at most %d "
                     "octets); allow TLS 1.2", c->psk.len, TLS13_PSK_MAX);
            goto done;
        }
    }
    if (make_ctx(c, cfg, err) != 0)
        goto done;
    if (bio == NULL && m2m_tcp_connect(cfg->host, cfg->port, &c->budget, &c->fd, err) != 0) {
        *why = err != NULL && err->code == M2M_E_TIMEOUT ? M2M_OUTCOME_TIMEOUT : M2M_OUTCOME_UNREACHABLE;
        goto done;
    }
    if (make_ssl(c, cfg, &bio, err) != 0 || handshake(c, why, err) != 0)
        goto done;
    *why = M2M_OUTCOME_OK;
    ok = 1;
done:
    if (!ok) {
        m2m_tls_client_close(c);
        c = NULL;
    }
    BIO_free(bio);
    ERR_clear_error();
    m2m_sigpipe_restore(&g);
    return c;
}

m2m_tls_client *m2m_tls_client_connect(const m2m_tls_client_config *cfg, m2m_err *err)
{
    return m2m_tls_client_open(cfg, NULL, err);
}

int m2m_tls_client_write(m2m_tls_client *c, const void *buf, size_t len, m2m_err *err)
{
    const unsigned char *p = buf;
    m2m_sigpipe_guard g;
    char why[256];
    int rc = -1;

    m2m_sigpipe_block(&g);
    if (c == NULL || c->ssl == NULL || c->broken) {
        m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
        goto done;
    }
    while (len > 0) {
        double deadline = m2m_budget_until(&c->budget);
        size_t n = 0;
        int r, e, saved;
        if (m2m_budget_passed(&c->budget)) {
            c->broken = 1; /* a request cut short: the stream is out of step */
            m2m_budget_timed_out(&c->budget, err, "", "while sending", "");
            goto done;
        }
        ERR_clear_error();
        errno = 0;
        r = SSL_write_ex(c->ssl, p, len, &n);
        if (r == 1) {
            p += n;
            len -= n;
            continue;
        }
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_io(c, e, deadline) == 0)
                continue; /* OpenSSL wants the same arguments again */
            c->broken = 1;
            m2m_budget_timed_out(&c->budget, err, "", "while sending", "sending stalled for");
            goto done;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        m2m_fail(err, M2M_E_IO, "%s: cannot send: %s", c->peer, why);
        goto done;
    }
    rc = 0;
done:
    m2m_sigpipe_restore(&g);
    return rc;
}

int m2m_tls_client_read(m2m_tls_client *c, void *buf, size_t cap, size_t *got, m2m_err *err)
{
    double deadline;
    m2m_sigpipe_guard g;
    char why[256];
    int rc = -1;

    *got = 0;
    m2m_sigpipe_block(&g);
    if (c == NULL || c->ssl == NULL || c->broken) {
        m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
        goto done;
    }
    if (c->eof) {
        rc = 0;
        goto done;
    }
    /* A peer that trickles bytes keeps every single wait short: the deadline is checked before each read too. */
    if (m2m_budget_passed(&c->budget)) {
        m2m_budget_timed_out(&c->budget, err, "", "while receiving", "");
        goto done;
    }
    deadline = m2m_budget_until(&c->budget);
    for (;;) {
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_read_ex(c->ssl, buf, cap, got);
        if (r == 1)
            break;
        *got = 0;
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            c->eof = 2;
            break;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_io(c, e, deadline) == 0)
                continue;
            m2m_budget_timed_out(&c->budget, err, "", "while receiving", "no answer within");
            goto done; /* not broken: the caller may still close politely */
        }
        /* A TCP FIN without close_notify: OpenSSL 3 calls it a protocol error; the caller decides whether the data
         * it has is complete (an HTTP message with a length is), so report it as an end of stream. */
        if ((e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
            (e == SSL_ERROR_SYSCALL && saved == 0 && ERR_peek_error() == 0)) {
            ERR_clear_error();
            c->eof = 1;
            c->broken = 1;
            break;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        m2m_fail(err, M2M_E_IO, "%s: cannot receive: %s", c->peer, why);
        goto done;
    }
    rc = 0;
done:
    m2m_sigpipe_restore(&g);
    return rc;
}

void m2m_tls_client_set_deadline(m2m_tls_client *c, double deadline)
{
    if (c != NULL)
        c->budget.deadline = deadline;
}

int m2m_tls_client_closed_cleanly(const m2m_tls_client *c)
{
    return c != NULL && c->eof == 2;
}

void m2m_tls_client_close(m2m_tls_client *c)
{
    m2m_sigpipe_guard g;

    if (c == NULL)
        return;
    m2m_sigpipe_block(&g);
    /* One SSL_shutdown sends our close_notify; waiting for the peer's would only cost the device time. */
    if (c->ssl != NULL && !c->broken && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    ERR_clear_error();
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    m2m_secret_clear(&c->psk);
    m2m_registrar_check_clear(&c->check);
    SSL_SESSION_free(c->offered);
    SSL_SESSION_free(c->newest);
    free(c);
    m2m_sigpipe_restore(&g);
}

const char *m2m_tls_client_version(const m2m_tls_client *c)
{
    return c != NULL && c->ssl != NULL ? SSL_get_version(c->ssl) : "";
}

const char *m2m_tls_client_cipher(const m2m_tls_client *c)
{
    const char *name = c != NULL && c->ssl != NULL ? SSL_get_cipher_name(c->ssl) : NULL;
    return name != NULL ? name : "";
}

const char *m2m_tls_client_peer(const m2m_tls_client *c)
{
    return c != NULL ? c->peer : "";
}

double m2m_tls_client_handshake_ms(const m2m_tls_client *c)
{
    return c != NULL ? c->handshake_ms : 0.0;
}

int m2m_tls_client_ocsp_checked(const m2m_tls_client *c)
{
    return c != NULL && c->check.ocsp_checked;
}

int m2m_tls_client_sent_certificate(const m2m_tls_client *c)
{
    return c != NULL && c->check.have_client_cert && c->check.cert_requested;
}

int m2m_tls_client_resumed(const m2m_tls_client *c)
{
    return c != NULL && c->resumed;
}

SSL_SESSION *m2m_tls_client_get1_session(m2m_tls_client *c)
{
    if (c == NULL || c->newest == NULL || SSL_SESSION_up_ref(c->newest) != 1)
        return NULL;
    return c->newest;
}

unsigned m2m_tls_client_sessions(const m2m_tls_client *c)
{
    return c != NULL ? c->sessions : 0;
}

int m2m_tls_client_await_session(m2m_tls_client *c, int max_ms)
{
    double deadline = m2m_wire_clock_ms() + max_ms;
    unsigned before;
    m2m_sigpipe_guard g;
    int got = 0;

    if (c == NULL || c->ssl == NULL || c->broken || c->eof || !c->keep_sessions ||
        SSL_version(c->ssl) != TLS1_3_VERSION)
        return 0;
    if (c->budget.deadline > 0 && c->budget.deadline < deadline)
        deadline = c->budget.deadline; /* the wait for a ticket is part of the exchange too */
    before = c->sessions;
    m2m_sigpipe_block(&g);
    for (;;) {
        unsigned char b;
        size_t n = 0;
        int r, e;
        ERR_clear_error();
        /* SSL_peek processes the records that arrive (NewSessionTicket among them) and leaves application data
         * where it is. */
        r = SSL_peek_ex(c->ssl, &b, 1, &n);
        if (c->sessions != before) {
            got = 1;
            break;
        }
        if (r == 1)
            break; /* application data came first; the caller reads it */
        e = SSL_get_error(c->ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            wait_io(c, e, deadline) == 0)
            continue;
        if (e == SSL_ERROR_ZERO_RETURN)
            c->eof = 2;
        else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            c->broken = 1; /* the next read or write reports it */
        break;
    }
    ERR_clear_error();
    m2m_sigpipe_restore(&g);
    return got;
}

int m2m_tls_client_export(m2m_tls_client *c, const char *label, unsigned char *out, size_t len, m2m_err *err)
{
    if (c == NULL || c->ssl == NULL || c->broken || label == NULL)
        return m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
    if (SSL_export_keying_material(c->ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "%s: the TLS exporter failed", c->peer);
    }
    return 0;
}
