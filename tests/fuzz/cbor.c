/* SPDX-License-Identifier: Apache-2.0 */
/* The strict CBOR decoder (onem2m/cbor.c) that a CoAP body in Content-Format 60 or 10010 goes through. Input: the
 * bytes. A refusal names why (M2M_E_PARSE with a message). What it takes, it takes as a tree with no member name
 * twice and no NUL in any string, which our encoder writes out and the decoder reads back as the same tree, and
 * whose second encoding is byte for byte the first (the encoder is deterministic: one form per value). */
#include <string.h>

#include "fuzz_json.h"
#include "fuzz_util.h"
#include "onem2m/cbor.h"

/* No string without its text: the decoder made every one from bytes. */
static int texts(const cJSON *node)
{
    const cJSON *a;
    if (cJSON_IsString(node) && node->valuestring == NULL)
        return 0;
    cJSON_ArrayForEach(a, node)
        if (!texts(a))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    m2m_err err;
    cJSON *tree, *back;
    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len = 0, len2 = 0;

    m2m_err_clear(&err);
    tree = m2m_cbor_decode_strict(data, size, &err);
    if (tree == NULL) {
        FUZZ_CHECK((err.code == M2M_E_PARSE || err.code == M2M_E_NOMEM) && err.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(texts(tree) && !fuzz_has_duplicates(tree));
    FUZZ_CHECK(m2m_cbor_encode(tree, &enc, &len, &err) == 0);
    back = m2m_cbor_decode_strict(enc, len, &err);
    FUZZ_CHECK(back != NULL && fuzz_same_tree(tree, back));
    FUZZ_CHECK(m2m_cbor_encode(back, &enc2, &len2, &err) == 0);
    FUZZ_CHECK(len == len2 && memcmp(enc, enc2, len) == 0);
    free(enc);
    free(enc2);
    cJSON_Delete(tree);
    cJSON_Delete(back);
    return 0;
}
