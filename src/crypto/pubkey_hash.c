/* SPDX-License-Identifier: Apache-2.0 */
/* Public-key identifier: SHA-256 over the DER SubjectPublicKeyInfo (RFC 6920 sha-256), and reading it from the
 * files people have at hand: certificates, public keys and private keys, PEM or DER, made by us or by openssl
 * (decoded by crypto/load.c, i.e. OpenSSL's OSSL_STORE). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/load.h"
#include "crypto/pubkey_hash.h"
#include "util/hex.h"

/* A P-256 SPKI is 91 octets and an RSA-4096 one 550: 2 KiB covers every key a device will present, so the
 * per-handshake path needs no heap. Larger keys still work through the heap. */
#define SPKI_STACK_MAX 2048

static int hash_der(const unsigned char *der, size_t len, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof md)
        return m2m_fail(err, M2M_E_TLS, "SHA-256 failed");
    m2m_hex_encode(md, sizeof md, out);
    return 0;
}

int m2m_pubkey_hash_pkey(EVP_PKEY *pkey, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err)
{
    unsigned char *der = NULL;
    int len, rc = -1;

    if (pkey == NULL || out == NULL) {
        m2m_fail(err, M2M_E_ARG, "no key to hash");
        goto done;
    }
    /* One encoding pass that allocates: asking for the length first would run the provider's encoder twice. */
    len = i2d_PUBKEY(pkey, &der);
    if (len <= 0 || der == NULL) {
        m2m_fail(err, M2M_E_TLS, "cannot encode the public key as SubjectPublicKeyInfo");
        goto done;
    }
    rc = hash_der(der, (size_t)len, out, err);
done:
    OPENSSL_free(der);
    return rc;
}

int m2m_pubkey_hash_x509(X509 *cert, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err)
{
    unsigned char stackbuf[SPKI_STACK_MAX], *heap = NULL, *der, *p;
    X509_PUBKEY *spki;
    int len, rc = -1;

    if (cert == NULL || out == NULL) {
        m2m_fail(err, M2M_E_ARG, "no certificate to hash");
        goto done;
    }
    /* Re-encode the certificate's own SPKI field rather than going through EVP_PKEY: it is the ASN.1 already
     * parsed (algorithm + BIT STRING), so this is cheap and hashes exactly what the certificate carries. */
    spki = X509_get_X509_PUBKEY(cert);
    len = spki != NULL ? i2d_X509_PUBKEY(spki, NULL) : -1;
    if (len <= 0) {
        m2m_fail(err, M2M_E_TLS, "the certificate has no encodable public key");
        goto done;
    }
    if ((size_t)len <= sizeof stackbuf) {
        der = stackbuf;
    } else {
        heap = OPENSSL_malloc((size_t)len);
        if (heap == NULL) {
            m2m_fail(err, M2M_E_NOMEM, "out of memory hashing a %d-octet public key", len);
            goto done;
        }
        der = heap;
    }
    p = der;
    /* The second pass must write exactly the length the first one announced, or the hash would be of garbage. */
    if (i2d_X509_PUBKEY(spki, &p) != len || p != der + len) {
        m2m_fail(err, M2M_E_TLS, "cannot encode the certificate's public key");
        goto done;
    }
    rc = hash_der(der, (size_t)len, out, err);
done:
    OPENSSL_free(heap);
    return rc;
}

int m2m_pubkey_hash_valid(const char *s)
{
    size_t n = 0;
    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++)
        if (!isxdigit((unsigned char)s[n]))
            return 0;
    return n == M2M_PUBKEY_HASH_HEX_LEN;
}

int m2m_pubkey_hash_file(const char *path, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err)
{
    m2m_loaded got;
    int rc = -1;

    if (path == NULL || out == NULL)
        return m2m_fail(err, M2M_E_ARG, "no file to hash");
    /* crypto/load.c decodes whatever the file holds; the first certificate or key counts (a chain's leaf). */
    if (m2m_load_file(path, &got, err) != 0)
        return -1;
    if (got.first == M2M_LOADED_CERT)
        rc = m2m_pubkey_hash_x509(sk_X509_value(got.certs, 0), out, err);
    else if (got.first == M2M_LOADED_KEY || got.first == M2M_LOADED_PUBKEY)
        rc = m2m_pubkey_hash_pkey(got.first == M2M_LOADED_KEY ? got.key : got.pubkey, out, err);
    else if (got.encrypted)
        m2m_fail(err, M2M_E_PARSE,
                 "%s: the private key is encrypted; give its certificate or public key instead "
                 "(openssl pkey -in %s -pubout)",
                 path, path);
    else
        m2m_fail(err, M2M_E_PARSE, "%s: not a certificate, public key or private key (PEM or DER)", path);
    if (rc != 0 && got.first != M2M_LOADED_NONE && err != NULL) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        m2m_fail(err, err->code, "%s: %s", path, inner);
    }
    m2m_loaded_free(&got);
    return rc;
}
