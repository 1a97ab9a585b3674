/* SPDX-License-Identifier: Apache-2.0 */
/* What values in an attachment-details file may look like (details.h): the mechanism names, the identity token's
 * b64token syntax, IDs and names safe in a header or a path segment, and the Registrar's point of access. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registree/details.h"

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

static int parse_port(const char *s, size_t n, char port[6])
{
    unsigned long v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    snprintf(port, 6, "%lu", v);
    return 0;
}

static int valid_dns_name(const char *s, size_t n)
{
    int all_numeric = 1;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return 0;
        if (isalpha((unsigned char)s[i]) || s[i] == '-')
            all_numeric = 0;
    }
    /* "1.2.3" or "300.1.1.1" is neither a name nor an address: refuse rather than let the resolver guess. */
    return !all_numeric;
}

int m2m_poa_parse(const char *poa, m2m_binding *binding, char **host_out, char port_out[6], char **auth_out,
                  m2m_err *err)
{
    const char *p, *hs, *he, *rest;
    char host[256], port[6];
    unsigned char addr[16];
    int bracketed = 0;
    size_t hlen;

    *host_out = NULL;
    *auth_out = NULL;
    /* https: the HTTP binding (TS-0009) over TLS, port 443; coaps: the CoAP binding (TS-0008) over DTLS, 5684 (RFC
     * 7252 6.2). Plain http:// and coap:// would carry the attachment without a security context: not offered. */
    if (strncasecmp(poa, "https://", 8) == 0) {
        *binding = M2M_BINDING_HTTP;
        snprintf(port, sizeof port, "443");
    } else if (strncasecmp(poa, "coaps://", 8) == 0) {
        *binding = M2M_BINDING_COAP;
        snprintf(port, sizeof port, "5684");
    } else {
        return m2m_fail(err, M2M_E_PARSE, "'%s' is not an https://HOST:PORT or coaps://HOST:PORT address", poa);
    }
    p = poa + 8;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (he == NULL)
            return m2m_fail(err, M2M_E_PARSE, "'%s': '[' without ']' around the IPv6 address", poa);
        rest = he + 1;
        bracketed = 1;
    } else {
        hs = p;
        he = p + strcspn(p, ":/?#@[]");
        rest = he;
    }
    hlen = (size_t)(he - hs);
    if (hlen == 0)
        return m2m_fail(err, M2M_E_PARSE, "'%s' has no host", poa);
    if (hlen >= sizeof host)
        return m2m_fail(err, M2M_E_PARSE, "'%s': host name is too long", poa);
    memcpy(host, hs, hlen);
    host[hlen] = '\0';
    if (bracketed) {
        if (inet_pton(AF_INET6, host, addr) != 1)
            return m2m_fail(err, M2M_E_PARSE, "'%s': '%s' is not an IPv6 address", poa, host);
    } else if (inet_pton(AF_INET, host, addr) != 1 && !valid_dns_name(host, hlen)) {
        return m2m_fail(err, M2M_E_PARSE, "'%s': '%s' is neither an IPv4 address nor a host name", poa, host);
    }
    if (*rest == ':') {
        size_t n = strcspn(rest + 1, "/?#");
        if (parse_port(rest + 1, n, port) != 0)
            return m2m_fail(err, M2M_E_PARSE, "'%s': port must be a number from 1 to 65535", poa);
        rest += 1 + n;
    }
    /* A point of access names a CSE's endpoint; the Registrar's resources are addressed by cse-id, not by path. */
    if (!(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0')))
        return m2m_fail(err, M2M_E_PARSE, "'%s': unexpected '%s' after the host and port", poa, rest);

    *host_out = strdup(host);
    if (*host_out == NULL || asprintf(auth_out, "%s%s%s:%s", bracketed ? "[" : "", host, bracketed ? "]" : "",
                                      port) < 0) {
        free(*host_out);
        *host_out = NULL;
        *auth_out = NULL;
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    memcpy(port_out, port, sizeof port);
    return 0;
}

int m2m_https_poa_parse(const char *poa, char **host, char port[6], char **authority, m2m_err *err)
{
    m2m_binding binding;
    if (strncasecmp(poa, "https://", 8) != 0)
        return m2m_fail(err, M2M_E_PARSE, "'%s' is not an https://HOST:PORT address", poa);
    return m2m_poa_parse(poa, &binding, host, port, authority, err);
}
