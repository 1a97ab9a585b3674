/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded parser of RFC 2617 auth-param lists: token "=" ( token | quoted-string ), separated by commas. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "binding/digest_header.h"

typedef struct field {
    const char *name;
    size_t off, cap;
} field;

#define F(n, m) {n, offsetof(m2m_digest_params, m), sizeof(((m2m_digest_params *)0)->m)}
static const field FIELDS[] = {
    F("username", username), F("realm", realm), F("nonce", nonce), F("uri", uri), F("response", response),
    F("qop", qop), F("nc", nc), F("cnonce", cnonce), F("opaque", opaque), F("algorithm", algorithm),
    F("auts", auts), F("stale", stale),
};
#undef F

static int is_tchar(int c)
{
    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

int m2m_digest_value_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 32 || *s > 126 || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

int m2m_digest_parse(const char *header, m2m_digest_params *out, m2m_err *err)
{
    const char *p = header;
    int nparams = 0;

    memset(out, 0, sizeof *out);
    if (header == NULL || strnlen(header, M2M_DIGEST_HEADER_MAX + 1) > M2M_DIGEST_HEADER_MAX)
        return m2m_fail(err, M2M_E_PARSE, "Digest header missing or longer than %d octets", M2M_DIGEST_HEADER_MAX);
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Digest", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return m2m_fail(err, M2M_E_PARSE, "not a Digest header");
    p += 6;
    for (;;) {
        char name[32], value[M2M_IMPI_MAX];
        size_t n = 0, v = 0;
        const field *f = NULL;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (++nparams > M2M_DIGEST_PARAMS_MAX)
            return m2m_fail(err, M2M_E_PARSE, "Digest header has more than %d parameters", M2M_DIGEST_PARAMS_MAX);
        while (is_tchar((unsigned char)*p) && n < sizeof name - 1)
            name[n++] = *p++;
        name[n] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (n == 0 || *p++ != '=')
            return m2m_fail(err, M2M_E_PARSE, "Digest parameter %d is not name=value", nparams);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                if (*p == '\0' || (unsigned char)*p < 32 || *p == 127)
                    return m2m_fail(err, M2M_E_PARSE, "Digest parameter %.31s: unterminated or control character",
                                    name);
                if (v >= sizeof value - 1)
                    return m2m_fail(err, M2M_E_PARSE, "Digest parameter %.31s is too long", name);
                value[v++] = *p;
            }
            p++;
        } else {
            while (is_tchar((unsigned char)*p)) {
                if (v >= sizeof value - 1)
                    return m2m_fail(err, M2M_E_PARSE, "Digest parameter %.31s is too long", name);
                value[v++] = *p++;
            }
        }
        value[v] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != ',' && *p != '\0')
            return m2m_fail(err, M2M_E_PARSE, "Digest parameter %.31s is not followed by ',' or the end", name);
        for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0] && f == NULL; i++)
            if (strcasecmp(name, FIELDS[i].name) == 0)
                f = &FIELDS[i];
        if (f == NULL)
            continue; /* an extension parameter: ignored */
        if (out->seen & (1u << (f - FIELDS)))
            return m2m_fail(err, M2M_E_PARSE, "Digest parameter %s appears twice", f->name);
        if (v >= f->cap)
            return m2m_fail(err, M2M_E_PARSE, "Digest parameter %s is longer than %zu characters", f->name,
                            f->cap - 1);
        memcpy((char *)out + f->off, value, v + 1);
        out->seen |= 1u << (f - FIELDS);
    }
    return 0;
}
