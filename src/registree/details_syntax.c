/* SPDX-License-Identifier: Apache-2.0 */
/* What values in an attachment-details file may look like (details.h): the mechanism names, the identity token's
 * b64token syntax, IDs and names safe in a header or a path segment, and the Registrar's point of access. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registree/details.h"
#include "util/url.h"

const char *m2m_mechanism_name(m2m_mechanism m)
{
    switch (m) {
    case M2M_MECH_PSK: return "psk";
    case M2M_MECH_CERT: return "cert";
    case M2M_MECH_TOKEN: return "token";
    case M2M_MECH_GBA: return "gba";
    }
    return "?";
}

int m2m_token_syntax_ok(const char *s)
{
    size_t n = 0, pad = 0;
    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] == '=') {
            pad++;
        } else if (pad > 0 || (!isalnum((unsigned char)s[n]) && strchr("-._~+/", s[n]) == NULL)) {
            return 0;
        }
    }
    return n >= M2M_TOKEN_MIN_LEN && n <= M2M_TOKEN_MAX_LEN && pad < n;
}

int m2m_is_plain_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("-._~", *s) == NULL)
            return 0;
    return 1;
}

int m2m_poa_parse(const char *poa, m2m_binding *binding, char **host_out, char port_out[6], char **auth_out,
                  m2m_err *err)
{
    /* https: the HTTP binding (TS-0009) over TLS, port 443; coaps: the CoAP binding (TS-0008) over DTLS, 5684 (RFC
     * 7252 6.2). Plain http:// and coap:// would carry the attachment without a security context: not offered. */
    static const m2m_url_scheme SCHEMES[] = {{"https", "443"}, {"coaps", "5684"}};
    m2m_url u;

    *host_out = NULL;
    *auth_out = NULL;
    /* A point of access names a CSE's endpoint; the Registrar's resources are addressed by cse-id, not by path. */
    if (m2m_url_parse(poa, SCHEMES, 2, "https://HOST:PORT or coaps://HOST:PORT", &u, err) != 0)
        return -1;
    *binding = u.scheme == 0 ? M2M_BINDING_HTTP : M2M_BINDING_COAP;
    *host_out = strdup(u.host);
    *auth_out = strdup(u.authority);
    if (*host_out == NULL || *auth_out == NULL) {
        free(*host_out);
        free(*auth_out);
        *host_out = NULL;
        *auth_out = NULL;
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    memcpy(port_out, u.port, sizeof u.port);
    return 0;
}
