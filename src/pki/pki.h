/* SPDX-License-Identifier: Apache-2.0 */
/* The lab PKI behind `m2mattach pki`: a Registrar root, Registrar (server) certificates and device (client)
 * certificates in the TS-0003 10.1 profile, so PKI attachment (seed x.y.6) can be tried without an existing CA.
 * ECDSA P-256 keys, ecdsa-with-SHA256 signatures, 128-bit random serials, notBefore five minutes in the past.
 * Names given by users go into certificates through the ASN.1 API, never through OpenSSL's extension-string
 * parser, so an ID containing "," or ":" cannot add a name the caller did not ask for. */
#ifndef M2M_PKI_PKI_H
#define M2M_PKI_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "m2mattach/error.h"

#define M2M_PKI_MAX_DAYS 36500

typedef enum m2m_cert_role {
    M2M_CERT_ROOT,      /* self-signed CA: Registrar root or manufacturer root */
    M2M_CERT_REGISTRAR, /* TLS server: the Registrar CSE */
    M2M_CERT_DEVICE     /* TLS client: a Registree (AE or CSE), self-signed or issued by a root */
} m2m_cert_role;

typedef struct m2m_cert_spec {
    m2m_cert_role role;
    const char *common_name; /* subject CN; required */
    /* ROOT: the permitted dNSName subtree of the critical nameConstraints (required);
     * REGISTRAR: the subjectAltName dNSName, the CSE's public domain name (required); DEVICE: unused. */
    const char *dns_name;
    /* REGISTRAR: the CSE-ID, DEVICE: the Registree ID, as a subjectAltName URI (required); ROOT: unused. */
    const char *uri;
    int days; /* 1 .. M2M_PKI_MAX_DAYS */
} m2m_cert_spec;

/* A fresh ECDSA P-256 key (named curve). */
EVP_PKEY *m2m_pki_keygen(m2m_err *err);

/* Issues a certificate for key. issuer/issuer_key NULL: self-signed by key (a root, or a self-signed device);
 * otherwise signed by issuer_key, whose certificate issuer must be a CA and match issuer_key. */
X509 *m2m_pki_issue(const m2m_cert_spec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, m2m_err *err);

/* 1 when name is a DNS host name: dot-separated labels of letters, digits and '-' (not at a label's ends),
 * 1..63 octets each, 253 in all. No wildcard, no trailing dot. */
int m2m_pki_valid_dns_name(const char *name);

/* Checks dns_name against the nameConstraints of every CA certificate in cas (dNSName subtrees only, with
 * OpenSSL's matching rule: the base itself or any name below it). Fails naming the constraint at fault. */
int m2m_pki_check_dns_name(STACK_OF(X509) *cas, const char *dns_name, m2m_err *err);

/* Verifies cert with OpenSSL's own chain builder, strict RFC 5280 checks and the TLS purpose (server or client)
 * of its role, against the self-signed certificates in cas (or, when cas holds none, its first certificate as a
 * partial-chain anchor). cert itself is the anchor of a self-signed device. Run before anything is written. */
int m2m_pki_self_check(X509 *cert, STACK_OF(X509) *cas, m2m_cert_role role, m2m_err *err);

/* 1 when cert is self-signed (subject = issuer and its own key verifies the signature). */
int m2m_pki_is_self_signed(X509 *cert);

#endif
