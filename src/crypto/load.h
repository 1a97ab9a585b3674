/* SPDX-License-Identifier: Apache-2.0 */
/* THE reader of certificate and key files: OpenSSL's OSSL_STORE decodes them (PEM, with text around the blocks and
 * any label OpenSSL knows, or DER; certificates, public keys, private keys), so nothing here guesses at formats.
 * Encrypted private keys are noticed and skipped: no passphrase is ever asked for (a device or a script must not
 * block on a terminal). */
#ifndef M2M_CRYPTO_LOAD_H
#define M2M_CRYPTO_LOAD_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "m2mattach/error.h"

typedef enum m2m_loaded_kind { M2M_LOADED_NONE, M2M_LOADED_CERT, M2M_LOADED_KEY, M2M_LOADED_PUBKEY } m2m_loaded_kind;

/* What a file held, in file order where it matters. */
typedef struct m2m_loaded {
    STACK_OF(X509) *certs; /* every certificate, in file order; NULL when there was none */
    EVP_PKEY *key;         /* the first (unencrypted) private key */
    EVP_PKEY *pubkey;      /* the first public key */
    m2m_loaded_kind first; /* which of those came first (a chain file's leaf, a bundle's key or certificate) */
    int encrypted;         /* an encrypted private key was met (and skipped) */
    int damaged;           /* a PEM block, or DER, that did not decode (text around PEM blocks is fine) */
} m2m_loaded;

/* Decodes buf (len octets). -1 only when out of memory; a file with nothing usable in it gives 0 and an empty
 * out, for the caller to explain in its own words. OpenSSL's error queue is left as it was. */
int m2m_load_mem(const unsigned char *buf, size_t len, m2m_loaded *out, m2m_err *err);
/* Reads path with the bounded reader (util/file.h, M2M_SMALL_FILE_MAX, wiped after) and decodes it. Errors name
 * the file. */
int m2m_load_file(const char *path, m2m_loaded *out, m2m_err *err);
void m2m_loaded_free(m2m_loaded *l);

#endif
