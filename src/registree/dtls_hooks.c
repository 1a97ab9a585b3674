/* SPDX-License-Identifier: Apache-2.0 */
/* What the Registree's DTLS client installs in libcoap's SSL_CTX (dtls_client.h says why): the callbacks that make
 * a libcoap client handshake this project's -- its suites, its PSK callback, its saved session, its retransmission
 * timer, its certificate checks -- and that tell the client what became of the handshake. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "registree/dtls_client_internal.h"

/* The client an SSL belongs to: libcoap keeps the coap_session as the SSL's app data, and each client has a
 * coap_context of its own whose app data is the client. */
static m2m_dtls_client *of_ssl(const SSL *ssl)
{
    coap_session_t *s = SSL_get_app_data(ssl);
    return s != NULL ? coap_get_app_data(coap_session_get_context(s)) : NULL;
}

/* The key for this handshake: the configured one, or (x.y.5) the one derived for the negotiated suite. DTLS uses
 * the TLS cipher suite registry, so GBA's Ua identifier is the TLS 1.2 one of the suite. */
static int key_for(const m2m_dtls_client *c, SSL *ssl, m2m_secret *out)
{
    const SSL_CIPHER *cipher = SSL_get_pending_cipher(ssl);
    unsigned char buf[M2M_SECRET_MAX];
    size_t len = 0;
    int rc;
    if (c->psk_derive == NULL) {
        *out = c->psk;
        return 0;
    }
    rc = cipher != NULL ? c->psk_derive(c->psk_arg, TLS1_2_VERSION, SSL_CIPHER_get_protocol_id(cipher), buf, &len)
                        : -1;
    rc = rc == 0 ? m2m_secret_set(out, buf, len, NULL) : -1;
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* RFC 4279: identity and key on request. Replaces libcoap's callback, so the key never sits in libcoap's memory
 * (libcoap was given a placeholder). The hint is ignored, as over TLS. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    const m2m_dtls_client *c = of_ssl(ssl);
    m2m_secret key = {0};
    unsigned int rc;
    (void)hint;
    if (c == NULL || key_for(c, ssl, &key) != 0)
        return 0;
    rc = m2m_psk_client_out(c->identity, &key, identity, max_identity_len, psk, max_psk_len);
    m2m_secret_clear(&key);
    return rc;
}

/* With a PSK the Registrar proves itself by knowing the key; a certificate is never a substitute (only PSK suites
 * are offered, so none should come). */
static int psk_mode_refuse_cert(X509_STORE_CTX *ctx, void *arg)
{
    m2m_dtls_client *c = arg;
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    m2m_registrar_check_fail(&c->check, "answered with a certificate where psk_identity %s was due", c->identity);
    return 0;
}

/* The retransmission timer of the handshake: the configured first value, then doubling up to 60 s. */
static unsigned int dtls_timer_cb(SSL *ssl, unsigned int timer_us)
{
    const m2m_dtls_client *c = of_ssl(ssl);
    unsigned int first = c != NULL ? c->dtls_timer_us : M2M_DTLS_DEFAULT_TIMER_MS * 1000u;
    if (timer_us == 0)
        return first;
    return timer_us >= DTLS_TIMER_MAX_US / 2 ? DTLS_TIMER_MAX_US : timer_us * 2;
}

/* This connection's settings, applied to its SSL before the first ClientHello is built. */
/* Each certificate's own verdict stands: the checks are registrar_check.c's (SSL_set_verify keeps the old callback
 * when given NULL, and libcoap's logs every refusal to stderr). */
static int verify_each(int preverify_ok, X509_STORE_CTX *ctx)
{
    (void)ctx;
    return preverify_ok;
}

static void prepare(SSL *ssl, m2m_dtls_client *c)
{
    SSL_set_cipher_list(ssl, c->ciphers);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_each);
    if (c->auth == M2M_TLS_AUTH_PSK)
        SSL_set_psk_client_callback(ssl, psk_client_cb);
    else
        m2m_registrar_check_ssl(ssl, &c->check, NULL);
    if (c->offered != NULL)
        SSL_set_session(ssl, c->offered); /* an unusable one is simply not offered */
    DTLS_set_timer_cb(ssl, dtls_timer_cb);
    ERR_clear_error();
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    m2m_dtls_client *c = of_ssl(ssl);

    /* armed: the probe is gone, so every SSL of this context is the connection's */
    if (c != NULL && c->armed) {
        if (where & SSL_CB_HANDSHAKE_START)
            prepare((SSL *)ssl, c);
        if (where & SSL_CB_LOOP)
            c->last_state = SSL_get_state(ssl);
        if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL) {
            if (where & SSL_CB_READ)
                c->alert_in = (ret & 0xff) + 1;
            else
                c->alert_out = (ret & 0xff) + 1;
        }
    }
    if (c != NULL && c->coap_info_cb != NULL)
        c->coap_info_cb(ssl, where, ret);
}

int m2m_dtls_hook_ctx(m2m_dtls_client *c, const m2m_tls_client_config *cfg, SSL_CTX *ctx, m2m_err *err)
{
    if (SSL_CTX_set_cipher_list(ctx, c->ciphers) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "no DTLS cipher suite in '%s'", c->ciphers);
    }
    c->coap_info_cb = SSL_CTX_get_info_callback(ctx);
    SSL_CTX_set_info_callback(ctx, info_cb);
    c->armed = 1;
    if (c->auth == M2M_TLS_AUTH_CERT)
        return m2m_registrar_check_ctx(ctx, cfg, &c->check, err);
    SSL_CTX_set_cert_verify_callback(ctx, psk_mode_refuse_cert, c);
    return 0;
}
