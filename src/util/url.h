/* SPDX-License-Identifier: Apache-2.0 */
/* THE parser of endpoint URLs (SCHEME://HOST[:PORT][/]): the Registrar's point of access, the BSF for Ub, the BSF
 * for Zn. OpenSSL's OSSL_parse_url splits them (both libraries link OpenSSL; libevent's parser is not available
 * to the Registree); this adds what an endpoint must be: one of the schemes asked for, a host that is an IPv4
 * address, a bracketed IPv6 address or a DNS name, a port from 1 to 65535, and nothing else (no user, path,
 * query or fragment). OCSP URLs, which have a path, go to OSSL_HTTP_parse_url directly. */
#ifndef M2M_UTIL_URL_H
#define M2M_UTIL_URL_H

#include <stddef.h>

#include "m2mattach/error.h"

/* One accepted scheme (lowercase; matched regardless of case) and its port when the URL gives none. */
typedef struct m2m_url_scheme {
    const char *name;
    const char *default_port;
} m2m_url_scheme;

typedef struct m2m_url {
    int scheme;          /* index into the schemes given */
    char host[256];      /* without the brackets of an IPv6 address */
    char port[6];        /* as given, or the scheme's default */
    int port_given;      /* the URL named the port */
    int ipv6;            /* host is an IPv6 address */
    char authority[264]; /* "HOST:PORT", "[IPv6]:PORT" */
} m2m_url;

/* Parses url against schemes (n of them). expect says in words what was expected, for the message when the scheme
 * is not one of them ("'URL' is not an EXPECT address"). Messages say what is wrong with the URL, without a
 * location prefix; the code is M2M_E_PARSE. */
int m2m_url_parse(const char *url, const m2m_url_scheme *schemes, int n, const char *expect, m2m_url *out,
                  m2m_err *err);

/* A listening address "HOST:PORT" or "[IPv6]:PORT" (--https, --coaps, the BSF's --ub and --zn): split at the last
 * colon, brackets removed; port 0 to 65535 (0: any free port, which the tests use). No scheme, so not a URL, and the
 * host is left for getaddrinfo to judge ("0.0.0.0", "::", a name). Messages say what is wrong, without the option. */
int m2m_hostport_parse(const char *hp, char *host, size_t host_cap, char port[6], m2m_err *err);

#endif
