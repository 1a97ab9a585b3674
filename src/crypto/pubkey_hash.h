/* SPDX-License-Identifier: Apache-2.0 */
/* The public-key identifier of PKI attachment (seed x.y.6, TS-0003 10.1): SHA-256 over the DER
 * SubjectPublicKeyInfo, as RFC 6920 names it `sha-256`. Enrolment stores it; the Registrar compares it with the
 * client certificate's key on every handshake. Written as 64 lowercase hex characters. */
#ifndef M2M_CRYPTO_PUBKEY_HASH_H
#define M2M_CRYPTO_PUBKEY_HASH_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "m2mattach/error.h"

#define M2M_PUBKEY_HASH_HEX_LEN 64

/* SHA-256 of the DER SubjectPublicKeyInfo (RFC 6920 sha-256 public-key identifier), lowercase hex. A private key
 * gives the hash of its public half. */
int m2m_pubkey_hash_pkey(EVP_PKEY *pkey, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err);
/* The same for a certificate's subjectPublicKeyInfo. Called in the Registrar's verify callback on every handshake:
 * it encodes into a stack buffer and allocates nothing for keys up to 2 KiB of DER. */
int m2m_pubkey_hash_x509(X509 *cert, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err);
/* A PEM or DER file holding a certificate, a public key or a private key (unencrypted). In a PEM file with several
 * blocks the first certificate or key counts (so a certificate chain gives the leaf's hash). Errors name the file. */
int m2m_pubkey_hash_file(const char *path, char out[M2M_PUBKEY_HASH_HEX_LEN + 1], m2m_err *err);

/* 1 when s is exactly 64 hex characters (either case). */
int m2m_pubkey_hash_valid(const char *s);

#endif
