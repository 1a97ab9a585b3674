/* SPDX-License-Identifier: Apache-2.0 */
/* The public-key identifier of a file (crypto/pubkey_hash.c, what `m2mattach pki pubkey-hash` and enrolment read):
 * m2m_pubkey_hash_file takes a path, so the input is written to a file in a temporary directory. It may be PEM
 * (after free text, several blocks) or DER: a certificate, a public key or a private key. */
#include <string.h>

#include "crypto/pubkey_hash.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char hash[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err;

    m2m_err_clear(&err);
    if (m2m_pubkey_hash_file(fuzz_write_file("fuzz.key", data, size), hash, &err) == 0)
        FUZZ_CHECK(m2m_pubkey_hash_valid(hash) && strspn(hash, "0123456789abcdef") == M2M_PUBKEY_HASH_HEX_LEN);
    else
        FUZZ_CHECK(err.code != M2M_OK && err.msg[0] != '\0');
    return 0;
}
