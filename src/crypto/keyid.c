/* SPDX-License-Identifier: Apache-2.0 */
/* Seed clause a.b: Kcc_ID / Kca_ID generation. */
#include <openssl/evp.h>
#include <string.h>

#include "m2mattach/keyid.h"
#include "util/hex.h"

static const char KCC_LABEL[] = "oneM2M-Kcc_ID-Generation";
static const char KCA_LABEL[] = "oneM2M-Kca_ID-Generation";

int m2m_keyid(m2m_key_kind kind, const unsigned char *key, size_t key_len, char out[M2M_KEYID_HEX_LEN + 1],
              m2m_err *err)
{
    unsigned char digest[32];
    unsigned int dlen = 0;
    int rc = -1;
    const char *label = kind == M2M_KEY_KCC ? KCC_LABEL : kind == M2M_KEY_KCA ? KCA_LABEL : NULL;
    EVP_MD_CTX *md = NULL;

    if (label == NULL) {
        m2m_fail(err, M2M_E_ARG, "key kind must be Kcc or Kca");
        goto done;
    }
    if (key == NULL || key_len == 0) {
        m2m_fail(err, M2M_E_ARG, "empty key");
        goto done;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, label, strlen(label)) != 1 ||
        EVP_DigestUpdate(md, key, key_len) != 1 || EVP_DigestFinal_ex(md, digest, &dlen) != 1 || dlen != 32) {
        m2m_fail(err, M2M_E_TLS, "SHA-256 failed");
        goto done;
    }
    m2m_hex_encode(digest, 16, out); /* truncated to 128 bits */
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    return rc;
}

m2m_key_kind m2m_key_kind_for_id(const char *registree_id)
{
    return registree_id != NULL && registree_id[0] == '/' ? M2M_KEY_KCC : M2M_KEY_KCA;
}
