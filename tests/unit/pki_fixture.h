/* SPDX-License-Identifier: Apache-2.0 */
/* A throw-away PKI for the certificate tests (x.y.6 / x.y.7), made with the real openssl CLI where it can (P-256
 * everywhere) and with a few lines of libcrypto where the CLI cannot (an OCSP response that is already stale, one
 * that is not "successful"). Header-only (static inline): each test program that includes it gets its own copy.
 *
 *   pki_make(dir) writes into dir:
 *     root.crt/.key           Registrar Root (CA:TRUE), the trust anchor the Registree is given in Step 2
 *     inter.crt/.key          an intermediate CA under root
 *     registrar.crt/.key      Registrar leaf under root, serial 0x1001, SAN DNS:in-cse.m2m.localhost, URI:/in-cse
 *     registrar-inter.crt     the same key, issued by inter (serve with inter.crt as its chain), serial 0x1002
 *     other.crt               the same key under root, SAN URI:/other-cse, DNS:other.m2m.localhost
 *     nosan.crt               the same key under root, no subjectAltName
 *     evil-root.crt/.key      a second, untrusted root; evil.crt: the same SAN as registrar.crt, issued by it
 *     expired.crt             the same key and SAN under root, valid only in January 2020
 *     ocsp.crt/.key           OCSP responder (extendedKeyUsage OCSPSigning) under root
 *     device.crt/.key         a self-signed Registree certificate; device-enc.key: the key, encrypted ("secret")
 *     resp-good.der           OCSP: registrar.crt good, signed by ocsp.crt (openssl ocsp -index, -ndays 1)
 *     resp-revoked.der        ... revoked
 *     resp-unknown.der        ... unknown (not in the index)
 *     resp-rootsigned.der     good, but signed by the root instead of the configured responder
 *     resp-stale.der          good, signed by ocsp.crt, thisUpdate 2 days ago, nextUpdate 1 day ago
 *     resp-trylater.der       OCSPResponseStatus tryLater, no body
 *     resp-other.der          good, for other.crt: no SingleResponse for registrar.crt
 *
 *   pki_make_tmp(dir, cap, name) makes the directory /tmp/m2m-NAME-XXXXXX first; fixture_rmdir(dir) removes it.
 */
#ifndef M2M_TEST_PKI_FIXTURE_H
#define M2M_TEST_PKI_FIXTURE_H

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_tmpdir.h"

static const char PKI_SCRIPT[] =
    "set -e\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\" 2>/dev/null; chmod 600 \"$1\"; }\n"
    "ca() { openssl req -x509 -new -key \"$1.key\" -subj \"/CN=$2\" -days 3650 -sha256 "
    "-addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' -out \"$1.crt\"; }\n"
    /* sign CSR ISSUER SERIAL EXTFILE OUT */
    "sign() { openssl x509 -req -in \"$1\" -CA \"$2.crt\" -CAkey \"$2.key\" -set_serial \"$3\" -days 30 -sha256 "
    "-extfile \"$4\" -out \"$5\" 2>/dev/null; }\n"
    "key root.key; ca root 'Test Registrar Root'\n"
    "key evil-root.key; ca evil-root 'Untrusted Root'\n"
    "printf 'basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\n' >ca.ext\n"
    "key inter.key; openssl req -new -key inter.key -subj '/CN=Test Registrar Intermediate' -out inter.csr\n"
    "sign inter.csr root 0x0900 ca.ext inter.crt\n"
    "leaf_ext() { printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
    "extendedKeyUsage=serverAuth\\n%s' \"$1\"; }\n"
    "leaf_ext 'subjectAltName=DNS:in-cse.m2m.localhost,URI:/in-cse\n' >leaf.ext\n"
    "leaf_ext 'subjectAltName=URI:/other-cse,DNS:other.m2m.localhost\n' >other.ext\n"
    "leaf_ext '' >nosan.ext\n"
    "key registrar.key; openssl req -new -key registrar.key -subj '/CN=in-cse.m2m.localhost' -out registrar.csr\n"
    "sign registrar.csr root 0x1001 leaf.ext registrar.crt\n"
    "sign registrar.csr inter 0x1002 leaf.ext registrar-inter.crt\n"
    "sign registrar.csr root 0x1003 other.ext other.crt\n"
    "sign registrar.csr root 0x1004 nosan.ext nosan.crt\n"
    "sign registrar.csr evil-root 0x1005 leaf.ext evil.crt\n"
    /* a certificate whose validity ended long ago: only `openssl ca` sets explicit dates */
    "printf '[ca]\\ndefault_ca = d\\n[d]\\ndatabase = ca-index.txt\\nnew_certs_dir = .\\nserial = ca-serial\\n"
    "default_md = sha256\\npolicy = p\\nunique_subject = no\\n[p]\\ncommonName = supplied\\n' >ca.cnf\n"
    ": >ca-index.txt; echo 1006 >ca-serial\n"
    "openssl ca -batch -config ca.cnf -cert root.crt -keyfile root.key -in registrar.csr -startdate 20200101000000Z "
    "-enddate 20200201000000Z -extfile leaf.ext -notext -out expired.crt 2>/dev/null\n"
    "printf 'basicConstraints=CA:FALSE\\nkeyUsage=critical,digitalSignature\\nextendedKeyUsage=OCSPSigning\\n' "
    ">ocsp.ext\n"
    "key ocsp.key; openssl req -new -key ocsp.key -subj '/CN=Test OCSP Responder' -out ocsp.csr\n"
    "sign ocsp.csr root 0x2001 ocsp.ext ocsp.crt\n"
    "key device.key\n"
    "openssl req -x509 -new -key device.key -subj '/CN=Cdevice01' -days 365 -sha256 -out device.crt\n"
    "openssl pkey -in device.key -aes256 -passout pass:secret -out device-enc.key; chmod 600 device-enc.key\n"
    /* OCSP responses from the real responder code of the CLI */
    "exp=$(date -u -d '+30 days' +%y%m%d%H%M%SZ); past=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)\n"
    "printf 'V\\t%s\\t\\t1001\\tunknown\\t/CN=in-cse.m2m.localhost\\n"
    "V\\t%s\\t\\t1003\\tunknown\\t/CN=in-cse.m2m.localhost\\n' \"$exp\" \"$exp\" >index-good.txt\n"
    "printf 'R\\t%s\\t%s,keyCompromise\\t1001\\tunknown\\t/CN=in-cse.m2m.localhost\\n' \"$exp\" \"$past\" "
    ">index-revoked.txt\n"
    ": >index-empty.txt\n"
    "for i in good revoked empty; do echo 'unique_subject = no' >index-$i.txt.attr; done\n"
    "openssl ocsp -issuer root.crt -cert registrar.crt -reqout req.der -no_nonce >/dev/null\n"
    "openssl ocsp -issuer root.crt -cert other.crt -reqout req-other.der -no_nonce >/dev/null\n"
    "respond() { openssl ocsp -index \"$1\" -CA root.crt -rsigner \"$2.crt\" -rkey \"$2.key\" -reqin \"$3\" "
    "-respout \"$4\" -ndays 1 >/dev/null 2>&1; }\n"
    "respond index-good.txt ocsp req.der resp-good.der\n"
    "respond index-revoked.txt ocsp req.der resp-revoked.der\n"
    "respond index-empty.txt ocsp req.der resp-unknown.der\n"
    "respond index-good.txt root req.der resp-rootsigned.der\n"
    "respond index-good.txt ocsp req-other.der resp-other.der\n";

/* A PEM object from DIR/NAME: a certificate, or (key != 0) a private key; NULL when there is none. */
static inline void *pki_read_pem(const char *dir, const char *name, int key)
{
    char path[512];
    FILE *f;
    void *obj;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "r")) == NULL)
        return NULL;
    obj = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return obj;
}

static inline X509 *pki_read_cert(const char *dir, const char *name)
{
    return pki_read_pem(dir, name, 0);
}

static inline EVP_PKEY *pki_read_key(const char *dir, const char *name)
{
    return pki_read_pem(dir, name, 1);
}

static inline int pki_write_response(const char *dir, const char *name, OCSP_RESPONSE *resp)
{
    char path[512];
    unsigned char *der = NULL;
    int len = i2d_OCSP_RESPONSE(resp, &der), ok;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (len <= 0 || (f = fopen(path, "wb")) == NULL) {
        OPENSSL_free(der);
        return -1;
    }
    ok = fwrite(der, 1, (size_t)len, f) == (size_t)len;
    ok &= fclose(f) == 0;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

/* The CLI cannot put nextUpdate in the past: a good status signed by the responder, issued 2 days ago and
 * superseded 1 day ago. */
static inline int pki_make_stale(const char *dir)
{
    X509 *leaf = pki_read_cert(dir, "registrar.crt"), *root = pki_read_cert(dir, "root.crt");
    X509 *signer = pki_read_cert(dir, "ocsp.crt");
    EVP_PKEY *key = pki_read_key(dir, "ocsp.key");
    OCSP_CERTID *id = NULL;
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *thisupd = X509_gmtime_adj(NULL, -2 * 86400), *nextupd = X509_gmtime_adj(NULL, -86400);
    int rc = -1;

    if (leaf == NULL || root == NULL || signer == NULL || key == NULL || bs == NULL || thisupd == NULL ||
        nextupd == NULL)
        goto done;
    id = OCSP_cert_to_id(NULL, leaf, root);
    if (id == NULL || OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL, thisupd, nextupd) == NULL ||
        OCSP_basic_sign(bs, signer, key, EVP_sha256(), NULL, 0) != 1 ||
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL)
        goto done;
    rc = pki_write_response(dir, "resp-stale.der", resp);
done:
    OCSP_RESPONSE_free(resp);
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    ASN1_TIME_free(thisupd);
    ASN1_TIME_free(nextupd);
    X509_free(leaf);
    X509_free(root);
    X509_free(signer);
    EVP_PKEY_free(key);
    return rc;
}

static inline int pki_make(const char *dir)
{
    char script[600];
    FILE *f;
    OCSP_RESPONSE *later;
    int rc;

    snprintf(script, sizeof script, "%s/make-pki.sh", dir);
    if ((f = fopen(script, "w")) == NULL)
        return -1;
    fputs(PKI_SCRIPT, f);
    if (fclose(f) != 0)
        return -1;
    snprintf(script, sizeof script, "cd '%s' && bash make-pki.sh >make-pki.log 2>&1", dir);
    if (system(script) != 0) {
        fprintf(stderr, "PKI fixture: %s/make-pki.sh failed, see make-pki.log\n", dir);
        return -1;
    }
    if (pki_make_stale(dir) != 0)
        return -1;
    later = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, NULL);
    rc = later != NULL ? pki_write_response(dir, "resp-trylater.der", later) : -1;
    OCSP_RESPONSE_free(later);
    return rc;
}

/* pki_make in a new directory /tmp/m2m-NAME-XXXXXX, whose path goes into dir (cap bytes). 0, or -1. */
static inline int pki_make_tmp(char *dir, size_t cap, const char *name)
{
    return fixture_mkdtemp(dir, cap, name) == 0 && pki_make(dir) == 0 ? 0 : -1;
}

#endif
