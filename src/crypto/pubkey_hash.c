/* SPDX-License-Identifier: Apache-2.0 */
/* Public-key identifier: SHA-256 over the DER SubjectPublicKeyInfo (RFC 6920 sha-256), and reading it from the
 * files people have at hand: certificates, public keys and private keys, PEM or DER, made by us or by openssl. */
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

#include "crypto/pubkey_hash.h"
#include "util/file.h"
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

/* What a file turned out to hold. Exactly one of cert / pkey is set on success. */
typedef struct parsed {
    X509 *cert;
    EVP_PKEY *pkey;
    int saw_encrypted; /* an encrypted private key was seen (and skipped) */
} parsed;

/* d2i that must consume the whole input: a prefix that happens to parse is not the file's content. */
static X509 *der_cert(const unsigned char *buf, long len, int aux)
{
    const unsigned char *p = buf;
    X509 *x = aux ? d2i_X509_AUX(NULL, &p, len) : d2i_X509(NULL, &p, len);
    if (x != NULL && p != buf + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static EVP_PKEY *der_pubkey(const unsigned char *buf, long len)
{
    const unsigned char *p = buf;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, len);
    if (k != NULL && p != buf + len) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

static EVP_PKEY *der_rsa_pubkey(const unsigned char *buf, long len)
{
    const unsigned char *p = buf;
    EVP_PKEY *k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
    if (k != NULL && p != buf + len) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

static EVP_PKEY *der_privkey(const unsigned char *buf, long len)
{
    const unsigned char *p = buf;
    /* Recognises PKCS#8 PrivateKeyInfo and the traditional per-algorithm forms (RFC 5915 EC, PKCS#1 RSA). */
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, len);
    if (k != NULL && p != buf + len) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

static int der_is_encrypted_pkcs8(const unsigned char *buf, long len)
{
    const unsigned char *p = buf;
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, len);
    int yes = sig != NULL && p == buf + len;
    X509_SIG_free(sig);
    return yes;
}

/* One DER object of unknown kind: certificate, then public key, then (unencrypted) private key. */
static void parse_der(const unsigned char *buf, long len, parsed *out)
{
    if ((out->cert = der_cert(buf, len, 0)) != NULL)
        return;
    if ((out->pkey = der_pubkey(buf, len)) != NULL)
        return;
    /* Before the private-key attempt, so OpenSSL is never asked to decrypt (and never looks for a passphrase). */
    if (der_is_encrypted_pkcs8(buf, len)) {
        out->saw_encrypted = 1;
        return;
    }
    out->pkey = der_privkey(buf, len);
}

/* One PEM block, dispatched on its label (RFC 7468) so a mislabelled block is not guessed at. */
static void parse_pem_block(const char *name, const char *header, const unsigned char *data, long len, parsed *out)
{
    if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0 || (header != NULL && strstr(header, "ENCRYPTED") != NULL)) {
        out->saw_encrypted = 1; /* PKCS#8 EncryptedPrivateKeyInfo, or a legacy "Proc-Type: 4,ENCRYPTED" block */
        return;
    }
    if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0)
        out->cert = der_cert(data, len, 0);
    else if (strcmp(name, "TRUSTED CERTIFICATE") == 0)
        out->cert = der_cert(data, len, 1);
    else if (strcmp(name, "PUBLIC KEY") == 0)
        out->pkey = der_pubkey(data, len);
    else if (strcmp(name, "RSA PUBLIC KEY") == 0)
        out->pkey = der_rsa_pubkey(data, len);
    else if (strcmp(name, "PRIVATE KEY") == 0 || strcmp(name, "ANY PRIVATE KEY") == 0 ||
             (strlen(name) > 12 && strcmp(name + strlen(name) - 12, " PRIVATE KEY") == 0))
        out->pkey = der_privkey(data, len); /* "EC PRIVATE KEY", "RSA PRIVATE KEY", ... */
    /* Anything else (EC PARAMETERS, X509 CRL, CERTIFICATE REQUEST) is skipped. */
}

static void parse_pem(const unsigned char *buf, size_t len, parsed *out)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL)
        return;
    while (out->cert == NULL && out->pkey == NULL) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1)
            break; /* no more blocks (or a damaged one: what came before is all we can use) */
        parse_pem_block(name, header, data, dlen, out);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    BIO_free(bio);
}


int m2m_pubkey_hash_file(const char *path, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    parsed got = {0};
    int rc = -1;

    if (path == NULL || out == NULL) {
        m2m_fail(err, M2M_E_ARG, "no file to hash");
        goto done;
    }
    buf = m2m_read_small_file(path, &len, err);
    if (buf == NULL)
        goto done;
    /* The trial parses leave errors on OpenSSL's queue; they are expected and must not leak to later callers. */
    ERR_set_mark();
    /* PEM may follow free text (openssl x509 -text output), so look for a boundary anywhere, not just at 0. */
    if (strstr((const char *)buf, "-----BEGIN ") != NULL)
        parse_pem(buf, len, &got);
    else if (len <= LONG_MAX)
        parse_der(buf, (long)len, &got);
    ERR_pop_to_mark();

    if (got.cert != NULL)
        rc = m2m_pubkey_hash_x509(got.cert, out, err);
    else if (got.pkey != NULL)
        rc = m2m_pubkey_hash_pkey(got.pkey, out, err);
    else if (got.saw_encrypted)
        m2m_fail(err, M2M_E_PARSE,
                 "%s: the private key is encrypted; give its certificate or public key instead "
                 "(openssl pkey -in %s -pubout)",
                 path, path);
    else
        m2m_fail(err, M2M_E_PARSE, "%s: not a certificate, public key or private key (PEM or DER)", path);
    if (rc != 0 && (got.cert != NULL || got.pkey != NULL) && err != NULL) {
        char inner[sizeof err->msg];
        snprintf(inner, sizeof inner, "%s", err->msg);
        m2m_fail(err, err->code, "%s: %s", path, inner);
    }
done:
    X509_free(got.cert);
    EVP_PKEY_free(got.pkey);
    if (buf != NULL)
        OPENSSL_cleanse(buf, len); /* it may have held a private key */
    free(buf);
    return rc;
}
