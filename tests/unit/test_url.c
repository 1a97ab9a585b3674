/* SPDX-License-Identifier: Apache-2.0 */
/* The one endpoint URL parser (util/url.c): default and given ports, IPv6 in brackets, schemes in any case, and a
 * refusal, saying which part is wrong, for everything an endpoint must not have; and the listening-address splitter
 * beside it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "util/url.h"

static const m2m_url_scheme SCHEMES[] = {{"https", "443"}, {"coaps", "5684"}};

static void good(const char *url, int scheme, const char *host, const char *port, int given, const char *authority)
{
    m2m_url u;
    m2m_err err = {0};
    if (m2m_url_parse(url, SCHEMES, 2, "https or coaps", &u, &err) != 0)
        fail_msg("%s: %s", url, err.msg);
    assert_int_equal(u.scheme, scheme);
    assert_string_equal(u.host, host);
    assert_string_equal(u.port, port);
    assert_int_equal(u.port_given, given);
    assert_string_equal(u.authority, authority);
    assert_int_equal(ERR_peek_error(), 0);
}

static void bad(const char *url, const char *want)
{
    m2m_url u;
    m2m_err err = {0};
    assert_int_equal(m2m_url_parse(url, SCHEMES, 2, "https or coaps", &u, &err), -1);
    assert_int_equal(err.code, M2M_E_PARSE);
    if (strstr(err.msg, want) == NULL)
        fail_msg("%s: '%s' does not say '%s'", url, err.msg, want);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_good(void **state)
{
    (void)state;
    good("https://127.0.0.1:8443", 0, "127.0.0.1", "8443", 1, "127.0.0.1:8443");
    good("https://registrar.example", 0, "registrar.example", "443", 0, "registrar.example:443");
    good("coaps://h-1.example/", 1, "h-1.example", "5684", 0, "h-1.example:5684");
    good("HTTPS://[::1]:8443/", 0, "::1", "8443", 1, "[::1]:8443");
    good("coaps://[fe80::1]", 1, "fe80::1", "5684", 0, "[fe80::1]:5684");
    good("https://h:08443", 0, "h", "8443", 1, "h:8443");
}

static void test_bad(void **state)
{
    (void)state;
    bad("http://127.0.0.1:8443", "is not an https or coaps address");
    bad("127.0.0.1:8443", "is not an https or coaps address");
    bad("coaps://127.0.0.1:5684/x", "unexpected '/x' after the host and port");
    bad("https://h?x=1", "unexpected '?x=1' after the host and port");
    bad("https://h:1#f", "unexpected '#f' after the host and port");
    bad("https://127.0.0.1:70000", "port must be a number from 1 to 65535");
    bad("https://127.0.0.1:0", "port must be a number from 1 to 65535");
    bad("https://127.0.0.1:", "port must be a number from 1 to 65535");
    bad("https://[::1:8443", "'[' without ']'");
    bad("https://[127.0.0.1]:8443", "is not an IPv6 address");
    bad("https://user@host:8443", "unexpected '@host:8443'");
    bad("https://:8443", "has no host");
    bad("https://300.1.1.1:8443", "neither an IPv4 address nor a host name");
    bad("https://ho_st:8443", "neither an IPv4 address nor a host name");
}

static void test_hostport(void **state)
{
    static const char *const refused[][2] = {
        {"", "expected HOST:PORT"},          {"localhost", "expected HOST:PORT"},
        {"[::1]8443", "expected [IPv6]:PORT"}, {"[::1:8443", "expected [IPv6]:PORT"},
        {"h:", "is not a port number"},      {"h:65536", "is not a port number"},
        {"h:+1", "is not a port number"},    {"h:123456", "is not a port number"},
        {":8443", "missing or overlong host"}, {"[]:1", "missing or overlong host"},
    };
    char host[16], port[6];
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_hostport_parse("127.0.0.1:8443", host, sizeof host, port, &err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "8443");
    assert_int_equal(m2m_hostport_parse("[::1]:0", host, sizeof host, port, &err), 0); /* 0: any free port */
    assert_string_equal(host, "::1");
    assert_string_equal(port, "0");
    assert_int_equal(m2m_hostport_parse("0.0.0.0:00080", host, sizeof host, port, &err), 0);
    assert_string_equal(port, "80");
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(m2m_hostport_parse(refused[i][0], host, sizeof host, port, &err), -1);
        if (strstr(err.msg, refused[i][1]) == NULL)
            fail_msg("%s: '%s' does not say '%s'", refused[i][0], err.msg, refused[i][1]);
    }
    assert_int_equal(m2m_hostport_parse("a-very-long-host-name.example:1", host, sizeof host, port, &err), -1);
    assert_non_null(strstr(err.msg, "overlong host"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
