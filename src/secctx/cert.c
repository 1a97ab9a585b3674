/* SPDX-License-Identifier: Apache-2.0 */
/* PKI with client certificate (x.y.6) on the Registrar: it presents its CSE-ID certificate (leaf + chain, loaded
 * once), requests a client certificate, and records as candidate the Registree whose enrolled public-key hash
 * matches the certificate's key (binding.c binds it if the finished handshake verified that certificate). Possession of the private key is proved by TLS itself (CertificateVerify); a
 * self-signed certificate is fine unless the enrolment requires a chain to a given root. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "crypto/load.h"
#include "crypto/pubkey_hash.h"
#include "secctx/binding.h"
#include "secctx/cert.h"
#include "util/log.h"

static int file_error(m2m_err *err, const char *what, const char *path)
{
    char buf[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return m2m_fail(err, M2M_E_TLS, "%s %s: %s", what, path, e ? buf : "cannot be used");
}

/* Verifies the client chain to the root the enrolment names, with the usual checks (dates, CA flags, purpose). */
static int verify_to_root(X509 *leaf, STACK_OF(X509) *untrusted, const char *root_pem, char *why, size_t why_len)
{
    BIO *b = BIO_new_mem_buf(root_pem, -1);
    X509 *root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *v = X509_STORE_CTX_new();
    int ok = 0;

    if (root == NULL || store == NULL || v == NULL || X509_STORE_add_cert(store, root) != 1 ||
        X509_STORE_CTX_init(v, store, leaf, untrusted) != 1) {
        snprintf(why, why_len, "enrolled root certificate cannot be used");
        goto done;
    }
    X509_STORE_CTX_set_purpose(v, X509_PURPOSE_SSL_CLIENT);
    ok = X509_verify_cert(v) == 1;
    if (!ok)
        snprintf(why, why_len, "client certificate chain does not verify to the enrolled root: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(v)));
done:
    X509_STORE_CTX_free(v);
    X509_STORE_free(store);
    X509_free(root);
    BIO_free(b);
    ERR_clear_error();
    return ok;
}

/* Replaces OpenSSL's chain verification for client certificates: the enrolment decides, not a CA list. */
static int client_cert_cb(X509_STORE_CTX *xs, void *arg)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    char hash[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_enrolment e;
    m2m_candidate *c;
    m2m_err err;
    int ok = 0;
    (void)arg;

    memset(&e, 0, sizeof e);
    if (tc == NULL || tc->hs == NULL || leaf == NULL)
        return 0;
    if (++tc->hs->lookups > M2M_TLS_CANDIDATES) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many credentials offered");
        goto done;
    }
    if (m2m_pubkey_hash_x509(leaf, hash, &err) != 0) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "client certificate key cannot be hashed");
        goto done;
    }
    if (m2m_store_find_cert(tc->env->st, hash, &e, &err) != 0) {
        /* as for a PSK: a store that failed is not "not enrolled" (the operator looks for another cause) */
        if (err.code == M2M_E_NOTFOUND)
            snprintf(tc->hs->failure, sizeof tc->hs->failure, "no enrolment for public-key hash %.16s...", hash);
        else
            snprintf(tc->hs->failure, sizeof tc->hs->failure, "store failure");
        if (err.code != M2M_E_NOTFOUND)
            m2m_logf(tc->env->log, "store error during certificate lookup: %s", err.msg);
        goto done;
    }
    /* The certificate's own validity period counts even when it is self-signed. */
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0 || X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "client certificate of %.64s is expired or not yet valid",
                 e.registree_id);
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_HAS_EXPIRED);
        goto done;
    }
    if (e.chain_root != NULL &&
        !verify_to_root(leaf, X509_STORE_CTX_get0_untrusted(xs), e.chain_root, tc->hs->failure, sizeof tc->hs->failure))
        goto done;
    if ((c = m2m_bind_candidate(tc, M2M_CAND_CERT)) == NULL) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many credentials offered");
        goto done;
    }
    snprintf(c->peer.mechanism, sizeof c->peer.mechanism, "cert");
    snprintf(c->peer.registree_id, sizeof c->peer.registree_id, "%s", e.registree_id);
    snprintf(c->peer.key_id, sizeof c->peer.key_id, "%s", hash);
    /* From here a failed handshake can only mean the peer lacks the private key. */
    snprintf(tc->hs->failure, sizeof tc->hs->failure, "certificate not backed by its private key");
    ok = 1;
done:
    if (!ok && X509_STORE_CTX_get_error(xs) == X509_V_OK)
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
    m2m_enrolment_clear(&e);
    return ok;
}

int m2m_cert_install(SSL_CTX *ctx, const m2m_tls_server_config *cfg, m2m_err *err)
{
    if (cfg->cert == NULL || cfg->cert[0] == '\0')
        return 0; /* PSK only */
    if (cfg->key == NULL || cfg->key[0] == '\0')
        return m2m_fail(err, M2M_E_ARG, "--cert needs --key");
    if (SSL_CTX_use_certificate_file(ctx, cfg->cert, SSL_FILETYPE_PEM) != 1)
        return file_error(err, "Registrar certificate", cfg->cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1)
        return file_error(err, "Registrar key", cfg->key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return file_error(err, "Registrar key does not match certificate", cfg->cert);
    if (cfg->chain != NULL && cfg->chain[0] != '\0') {
        /* Loaded once (SSL_MODE_NO_AUTO_CHAIN): OpenSSL would otherwise rebuild the chain on every handshake. */
        m2m_loaded got;
        m2m_err why = {0};
        if (m2m_load_file(cfg->chain, &got, &why) != 0)
            return m2m_fail(err, why.code, "Registrar chain %s", why.msg);
        if (got.certs == NULL) {
            m2m_loaded_free(&got);
            return m2m_fail(err, M2M_E_TLS, "Registrar chain %s holds no PEM certificate", cfg->chain);
        }
        while (sk_X509_num(got.certs) > 0) {
            X509 *x = sk_X509_shift(got.certs);
            if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
                X509_free(x);
                m2m_loaded_free(&got);
                return file_error(err, "Registrar chain", cfg->chain);
            }
        }
        m2m_loaded_free(&got);
    }
    /* Ask every client for a certificate, require none: token Registrees authenticate in Step 5 instead. No CA
     * names are sent, so devices send whatever certificate they hold. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, client_cert_cb, NULL);
    return 0;
}
