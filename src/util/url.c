/* SPDX-License-Identifier: Apache-2.0 */
/* Endpoint URLs (url.h). OSSL_parse_url does the splitting and the port's range; what is left here is what it does
 * not refuse and an endpoint must not have (it takes "user@", a path, "[127.0.0.1]", "300.1.1.1" or port 0), and
 * messages that point at the part that is wrong, because a person fixes the file or option they came from. */
#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/url.h"

static int valid_dns_name(const char *s)
{
    size_t n = strlen(s);
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

int m2m_url_parse(const char *url, const m2m_url_scheme *schemes, int n, const char *expect, m2m_url *out,
                  m2m_err *err)
{
    const char *sep = strstr(url, "://"), *p, *after;
    char *host = NULL, *port = NULL;
    unsigned char addr[16];
    int rc = -1, ok, portnum = 0;
    size_t hlen;

    memset(out, 0, sizeof *out);
    out->scheme = -1;
    for (int i = 0; sep != NULL && i < n; i++)
        if (strlen(schemes[i].name) == (size_t)(sep - url) && strncasecmp(url, schemes[i].name, (size_t)(sep - url)) == 0)
            out->scheme = i;
    if (out->scheme < 0)
        return m2m_fail(err, M2M_E_PARSE, "'%s' is not an %s address", url, expect);
    p = sep + 3;
    /* Where the host ends in the text, for the messages below (OSSL_parse_url only says that it failed). */
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL)
            return m2m_fail(err, M2M_E_PARSE, "'%s': '[' without ']' around the IPv6 address", url);
        after = close + 1;
    } else {
        after = p + strcspn(p, ":/?#@[]");
    }
    if (*after == ':')
        out->port_given = 1;
    if (*after != ':' && *after != '\0' && strcmp(after, "/") != 0)
        return m2m_fail(err, M2M_E_PARSE, "'%s': unexpected '%s' after the host and port", url, after);
    if (*after == ':') {
        const char *rest = after + 1 + strspn(after + 1, "0123456789");
        if (*rest != '\0' && strcmp(rest, "/") != 0)
            return m2m_fail(err, M2M_E_PARSE, "'%s': unexpected '%s' after the host and port", url, rest);
    }

    ERR_set_mark();
    ok = OSSL_parse_url(url, NULL, NULL, &host, &port, &portnum, NULL, NULL, NULL);
    ERR_pop_to_mark();
    if (!ok || (out->port_given && (portnum < 1 || portnum > 65535))) {
        m2m_fail(err, M2M_E_PARSE, "'%s': port must be a number from 1 to 65535", url);
        goto done;
    }
    hlen = strlen(host);
    if (hlen >= 2 && host[0] == '[') { /* OSSL_parse_url keeps the brackets */
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
        out->ipv6 = 1;
    }
    if (host[0] == '\0') {
        m2m_fail(err, M2M_E_PARSE, "'%s' has no host", url);
        goto done;
    }
    if (strlen(host) >= sizeof out->host) {
        m2m_fail(err, M2M_E_PARSE, "'%s': host name is too long", url);
        goto done;
    }
    if (out->ipv6 ? inet_pton(AF_INET6, host, addr) != 1
                  : inet_pton(AF_INET, host, addr) != 1 && !valid_dns_name(host)) {
        m2m_fail(err, M2M_E_PARSE, out->ipv6 ? "'%s': '%s' is not an IPv6 address"
                                             : "'%s': '%s' is neither an IPv4 address nor a host name", url, host);
        goto done;
    }
    snprintf(out->host, sizeof out->host, "%s", host);
    if (out->port_given)
        snprintf(out->port, sizeof out->port, "%d", portnum);
    else
        snprintf(out->port, sizeof out->port, "%s", schemes[out->scheme].default_port);
    snprintf(out->authority, sizeof out->authority, "%s%s%s:%s", out->ipv6 ? "[" : "", out->host,
             out->ipv6 ? "]" : "", out->port);
    rc = 0;
done:
    OPENSSL_free(host);
    OPENSSL_free(port);
    return rc;
}

int m2m_hostport_parse(const char *hp, char *host, size_t host_cap, char port[6], m2m_err *err)
{
    const char *colon, *h = hp;
    size_t hlen;
    long v = 0;

    if (hp == NULL || hp[0] == '\0')
        return m2m_fail(err, M2M_E_ARG, "expected HOST:PORT");
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':')
            return m2m_fail(err, M2M_E_ARG, "'%s': expected [IPv6]:PORT", hp);
        h = hp + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL)
            return m2m_fail(err, M2M_E_ARG, "'%s': expected HOST:PORT", hp);
        hlen = (size_t)(colon - hp);
    }
    /* digits only, at most 5 of them: no sign, no spaces, nothing strtol would let through */
    if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
        (v = strtol(colon + 1, NULL, 10)) > 65535)
        return m2m_fail(err, M2M_E_ARG, "'%s' is not a port number", colon + 1);
    if (hlen == 0 || hlen >= host_cap)
        return m2m_fail(err, M2M_E_ARG, "'%s': missing or overlong host", hp);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, 6, "%hu", (unsigned short)v); /* v <= 65535: checked above */
    return 0;
}
