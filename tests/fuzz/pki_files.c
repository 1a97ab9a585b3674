/* SPDX-License-Identifier: Apache-2.0 */
/* The lab PKI's readers (pki/files.c): m2m_pki_load_key and m2m_pki_load_certs, which `m2mattach pki` uses to read
 * a CA's key and certificates. Both take a path, so the input is written to a file in a temporary directory; each
 * key or certificate read is hashed as enrolment would hash it. */
#include "crypto/pubkey_hash.h"
#include "fuzz_util.h"
#include "pki/files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("fuzz.pem", data, size);
    char hash[M2M_PUBKEY_HASH_HEX_LEN + 1];
    STACK_OF(X509) *certs;
    EVP_PKEY *key;
    m2m_err err;

    m2m_err_clear(&err);
    if ((key = m2m_pki_load_key(path, &err)) != NULL) {
        (void)m2m_pubkey_hash_pkey(key, hash, &err); /* an odd key may have no SubjectPublicKeyInfo: an error */
        EVP_PKEY_free(key);
    } else {
        FUZZ_CHECK(err.code != M2M_OK && err.msg[0] != '\0');
    }
    m2m_err_clear(&err);
    if ((certs = m2m_pki_load_certs(path, &err)) != NULL) {
        FUZZ_CHECK(sk_X509_num(certs) > 0);
        for (int i = 0; i < sk_X509_num(certs); i++)
            (void)m2m_pubkey_hash_x509(sk_X509_value(certs, i), hash, &err);
        sk_X509_pop_free(certs, X509_free);
    } else {
        FUZZ_CHECK(err.code != M2M_OK && err.msg[0] != '\0');
    }
    return 0;
}
