/* SPDX-License-Identifier: Apache-2.0 */
/* The strict JSON parser (onem2m/json_strict.c) that every JSON text on the wire goes through, the Registrar's
 * request bodies and the Registree's responses alike. Input: the text. What it accepts must be what cJSON reads
 * from the same text, with no member name twice in any object. And a text that cJSON reads whole, with no member
 * name twice, no NUL in a string (the text holds no 0 byte and no \u0000 at all: enough) and fewer than 1000
 * brackets in all, must be accepted: strict is not allowed to refuse a plain document. */
#include <string.h>

#include "fuzz_json.h"
#include "fuzz_util.h"
#include "onem2m/json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = NULL;
    m2m_err err;
    cJSON *strict, *plain;
    size_t brackets = 0;
    int whole;

    m2m_err_clear(&err);
    strict = m2m_json_parse_strict(text, size, &err);
    plain = size > 0 ? cJSON_ParseWithLengthOpts(text, size, &end, 0) : NULL;
    while (plain != NULL && end < text + size && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    whole = plain != NULL && end == text + size;
    for (size_t i = 0; i < size; i++)
        brackets += text[i] == '{' || text[i] == '[';

    if (strict != NULL) {
        FUZZ_CHECK(whole && fuzz_same_tree(strict, plain) && !fuzz_has_duplicates(strict));
    } else {
        FUZZ_CHECK((err.code == M2M_E_PARSE || err.code == M2M_E_NOMEM) && err.msg[0] != '\0');
        FUZZ_CHECK(!(whole && !fuzz_has_duplicates(plain) && brackets < M2M_JSON_MAX_DEPTH &&
                     memchr(text, '\0', size) == NULL && memmem(text, size, "\\u0000", 6) == NULL));
    }
    cJSON_Delete(strict);
    cJSON_Delete(plain);
    return 0;
}
