/* SPDX-License-Identifier: Apache-2.0 */
/* The PSK side of the Registree's TLS client (tls_client_internal.h): TLS 1.2 PSK (RFC 4279) and the TLS 1.3
 * external PSK, with a key given or derived for the negotiated suite (x.y.5), and no certificate accepted where
 * the PSK was due. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "registree/tls_client_internal.h"
#include "registree/wire.h"

/* The key for this handshake: the configured one, or the derived one (x.y.5) for its version and suite. */
static int key_for(const struct m2m_tls_client *c, SSL *ssl, int version, m2m_secret *out)
{
    const SSL_CIPHER *cipher;
    unsigned char buf[M2M_SECRET_MAX];
    size_t len = 0;
    int rc;
    if (c->psk_derive == NULL) {
        *out = c->psk;
        return 0;
    }
    cipher = SSL_get_pending_cipher(ssl);
    if (cipher == NULL)
        cipher = SSL_get_current_cipher(ssl);
    rc = version == TLS1_3_VERSION ? c->psk_derive(c->psk_arg, version, 0x1301, buf, &len)
         : cipher != NULL ? c->psk_derive(c->psk_arg, version, SSL_CIPHER_get_protocol_id(cipher), buf, &len) : -1;
    rc = rc == 0 ? m2m_secret_set(out, buf, len, NULL) : -1;
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* TLS 1.2 (RFC 4279): identity and key on request. The hint is ignored: a GBA Registrar's "3GPP-bootstrapping"
 * changes nothing for a Registree that was told to use GBA, and plain PSK needs none. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    const struct m2m_tls_client *c = SSL_get_app_data(ssl);
    m2m_secret key = {0};
    unsigned int rc;
    (void)hint;
    if (c == NULL || key_for(c, ssl, TLS1_2_VERSION, &key) != 0)
        return 0;
    rc = m2m_psk_client_out(c->identity, &key, identity, max_identity_len, psk, max_psk_len);
    m2m_secret_clear(&key);
    return rc;
}

/* TLS 1.3 external PSK: a session carrying the key, bound to TLS_AES_128_GCM_SHA256, i.e. to SHA-256. OpenSSL
 * calls again after a HelloRetryRequest with the chosen suite's digest (md); a PSK with another hash is not
 * offered then. OpenSSL takes the reference returned in *sess. */
static int psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                              SSL_SESSION **sess)
{
    static const unsigned char tls_aes_128_gcm_sha256[] = {0x13, 0x01};
    const struct m2m_tls_client *c = SSL_get_app_data(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls_aes_128_gcm_sha256);
    SSL_SESSION *s = NULL;

    *id = NULL;
    *idlen = 0;
    *sess = NULL;
    if (c == NULL || cipher == NULL)
        return 0;
    if (md != NULL && SSL_CIPHER_get_handshake_digest(cipher) != md)
        return 1;
    {
        m2m_secret key = {0};
        int ok = key_for(c, ssl, TLS1_3_VERSION, &key) == 0;
        s = ok ? SSL_SESSION_new() : NULL;
        ok = s != NULL && SSL_SESSION_set1_master_key(s, key.bytes, key.len) == 1 &&
             SSL_SESSION_set_cipher(s, cipher) == 1 && SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) == 1;
        m2m_secret_clear(&key);
        if (!ok) {
            SSL_SESSION_free(s);
            return 0;
        }
    }
    *sess = s;
    *id = (const unsigned char *)c->identity;
    *idlen = strlen(c->identity);
    return 1;
}

/* With mechanism psk the Registrar must prove the key. A TLS 1.3 Registrar that has a certificate and does not accept
 * the PSK goes on with a certificate handshake instead; say that, rather than OpenSSL's "certificate verify failed". */
static int psk_mode_refuse_cert(X509_STORE_CTX *ctx, void *arg)
{
    m2m_tls_client *c = arg;
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    c->psk_not_taken = 1;
    m2m_registrar_check_fail(&c->check, "did not accept psk_identity %s and answered with a certificate instead "
                             "(key not enrolled, revoked or replaced?)", c->identity);
    return 0;
}

int m2m_tls_client_psk_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    if (SSL_CTX_set_cipher_list(c->ctx, cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_PSK_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(c->ctx, M2M_TLS13_PSK_CIPHERSUITES) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot set the TLS versions or cipher suites");
    }
    /* The Registrar proves itself by knowing the key; a certificate is never an acceptable substitute. With
     * VERIFY_PEER and an empty trust store any certificate fails, and connect() checks the outcome again. */
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(c->ctx, psk_mode_refuse_cert, c);
    SSL_CTX_set_psk_client_callback(c->ctx, psk_client_cb);
    SSL_CTX_set_psk_use_session_callback(c->ctx, psk_use_session_cb);
    return 0;
}
