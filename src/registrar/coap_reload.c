/* SPDX-License-Identifier: Apache-2.0 */
/* A reloaded Registrar certificate on the CoAPS listener (SIGHUP, m2m_registrar_reload). libcoap's DTLS context
 * is its own (coap_endpoint.c takes it while it is made): each CoAPS worker copies the new certificate, key and
 * chain into it on its own loop, from the context the reload built and checked (not the files again, which may
 * have changed since). libcoap makes the SSL for the next session when the last one starts, so one SSL made
 * before the reload is still waiting: the ClientHello callback hands it the context's current certificate. */
#include <openssl/err.h>

#include "registrar/coap.h"

int m2m_coap_reload(struct m2m_coap *srv, SSL_CTX *from)
{
    X509 *cert = SSL_CTX_get0_certificate(from);
    EVP_PKEY *key = SSL_CTX_get0_privatekey(from);
    STACK_OF(X509) *chain = NULL;
    int ok = cert != NULL && key != NULL && SSL_CTX_get0_chain_certs(from, &chain) == 1 &&
             SSL_CTX_use_certificate(srv->ssl_ctx, cert) == 1 && SSL_CTX_use_PrivateKey(srv->ssl_ctx, key) == 1 &&
             SSL_CTX_set1_chain(srv->ssl_ctx, chain) == 1;
    ERR_clear_error();
    return ok ? 0 : -1;
}

int m2m_coap_take_certificate(struct m2m_coap *srv, SSL *ssl)
{
    X509 *cert = SSL_CTX_get0_certificate(srv->ssl_ctx);
    EVP_PKEY *key = SSL_CTX_get0_privatekey(srv->ssl_ctx);
    STACK_OF(X509) *chain = NULL;

    if (SSL_get_certificate(ssl) == cert)
        return 0; /* made from the context as it is */
    if (cert == NULL || key == NULL || SSL_CTX_get0_chain_certs(srv->ssl_ctx, &chain) != 1)
        return -1;
    return SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1 && SSL_set1_chain(ssl, chain) == 1
               ? 0 : -1;
}
