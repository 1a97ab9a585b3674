/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP Digest headers (binding/digest_header.c) as Ub carries them: the BSF parses the Authorization of a UE that
 * has proved nothing yet, the Registree the BSF's WWW-Authenticate. Input: the header value (a header line holds
 * no NUL: a C string ends at the first). What parses must parse to the same again once written back, each known
 * parameter quoted with '"' and '\' escaped, when that still fits the header limit. */
#include <stddef.h>
#include <string.h>

#include "binding/digest_header.h"
#include "fuzz_util.h"

#define P(n, m) {n, offsetof(m2m_digest_params, m)}
static const struct {
    const char *name;
    size_t off;
} PARAMS[] = { /* in the order of the M2M_DP_ bits */
    P("username", username), P("realm", realm), P("nonce", nonce), P("uri", uri), P("response", response),
    P("qop", qop), P("nc", nc), P("cnonce", cnonce), P("opaque", opaque), P("algorithm", algorithm),
    P("auts", auts), P("stale", stale),
};
#undef P

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[3 * M2M_DIGEST_HEADER_MAX];
    char *header = fuzz_cstring(data, size);
    m2m_digest_params d, again;
    m2m_err err;
    size_t n;

    if (m2m_digest_parse(header, &d, &err) != 0) {
        FUZZ_CHECK(err.code == M2M_E_PARSE && err.msg[0] != '\0');
        free(header);
        return 0;
    }
    n = (size_t)snprintf(text, sizeof text, "Digest ");
    for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++) {
        const char *v = (const char *)&d + PARAMS[i].off;
        if (!(d.seen & (1u << i))) {
            FUZZ_CHECK(v[0] == '\0');
            continue;
        }
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s=\"", n > 7 ? ", " : "", PARAMS[i].name);
        for (; *v != '\0'; v++) {
            if (*v == '"' || *v == '\\')
                text[n++] = '\\';
            text[n++] = *v;
        }
        text[n++] = '"';
    }
    text[n] = '\0';
    if (n <= M2M_DIGEST_HEADER_MAX) {
        FUZZ_CHECK(m2m_digest_parse(text, &again, &err) == 0);
        FUZZ_CHECK(memcmp(&d, &again, sizeof d) == 0);
    }
    free(header);
    return 0;
}
