/* SPDX-License-Identifier: Apache-2.0 */
/* The client half of the HTTP binding: exact request bytes, and a response parser that gives the same answer
 * whatever the split of its input, enforces its caps and refuses malformed responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "binding/http_client.h"

#define AE_BODY "{\"m2m:ae\":{\"rn\":\"device01\",\"api\":\"Rdemo\",\"rr\":false,\"srv\":[\"3\"]}}"

static void test_create_request_bytes(void **state)
{
    static const char want[] = "POST /~/in-cse HTTP/1.1\r\n"
                               "Host: 127.0.0.1:8443\r\n"
                               "X-M2M-Origin: Cdevice01\r\n"
                               "X-M2M-RI: 0123456789abcdef\r\n"
                               "X-M2M-RVI: 3\r\n"
                               "Accept: application/json\r\n"
                               "Content-Type: application/json;ty=2\r\n"
                               "Content-Length: 65\r\n"
                               "\r\n" AE_BODY;
    m2m_request req = {.method = "POST", .path = "/~/in-cse", .ty = 2, .body = AE_BODY, .from = "Cdevice01"};
    m2m_err err = {0};
    char *out = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(m2m_http_build_request(&req, "127.0.0.1:8443", "0123456789abcdef", &out, &len, &err), 0);
    assert_int_equal(len, strlen(want));
    assert_string_equal(out, want);
    free(out);
}

static void test_get_request_bytes(void **state)
{
    static const char want[] = "GET /~/in-cse/device01 HTTP/1.1\r\n"
                               "Host: [::1]:8443\r\n"
                               "X-M2M-RI: r1\r\n"
                               "X-M2M-RVI: 3\r\n"
                               "Authorization: Bearer abc\r\n"
                               "Accept: application/json\r\n"
                               "\r\n";
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01", .from = "", .authorization = "Bearer abc"};
    m2m_err err = {0};
    char *out = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(m2m_http_build_request(&req, "[::1]:8443", "r1", &out, &len, &err), 0);
    assert_string_equal(out, want);
    free(out);

    /* a DELETE with no body says nothing about a body; a PUT says its length */
    req.method = "PUT";
    req.body = "{}";
    req.content_type = "application/vnd.onem2m-res+json";
    req.authorization = NULL;
    assert_int_equal(m2m_http_build_request(&req, "h:1", "r2", &out, &len, &err), 0);
    assert_non_null(strstr(out, "Content-Type: application/vnd.onem2m-res+json\r\nContent-Length: 2\r\n\r\n{}"));
    free(out);
}

static void test_request_refuses_injection(void **state)
{
    m2m_request req = {.method = "GET", .path = "/~/in-cse", .from = "Cdev\r\nX-M2M-Origin: /in-cse"};
    m2m_err err = {0};
    char *out = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(m2m_http_build_request(&req, "h:1", "r", &out, &len, &err), -1);
    assert_null(out);
    assert_non_null(strstr(err.msg, "control character"));
    req.from = "Cdev";
    req.path = "/~/in-cse HTTP/1.0\r\n";
    assert_int_equal(m2m_http_build_request(&req, "h:1", "r", &out, &len, &err), -1);
    req.path = "~/in-cse";
    assert_int_equal(m2m_http_build_request(&req, "h:1", "r", &out, &len, &err), -1);
    req.path = "/~/in-cse";
    req.method = "PATCH";
    assert_int_equal(m2m_http_build_request(&req, "h:1", "r", &out, &len, &err), -1);
    assert_non_null(strstr(err.msg, "PATCH"));
}

/* Feeds text in pieces of step bytes and returns the final result; *total_used sums what the parser took. */
static int feed_in_steps(m2m_http_parser *p, const char *text, size_t len, size_t step, size_t *total_used,
                         m2m_err *err)
{
    size_t off = 0, used = 0;
    int r = M2M_HTTP_NEED_MORE;
    *total_used = 0;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        r = m2m_http_parser_feed(p, text + off, n, &used, err);
        if (r != M2M_HTTP_NEED_MORE) {
            *total_used += used;
            return r;
        }
        assert_int_equal(used, n); /* while it needs more, it takes everything */
        *total_used += used;
        off += n;
    }
    return r;
}

static const char CREATED[] = "HTTP/1.1 201 Created\r\n"
                              "X-M2M-RSC: 2001\r\n"
                              "X-M2M-RI: 0123456789abcdef\r\n"
                              "content-location:   /in-cse/device01  \r\n"
                              "Content-Type: application/json\r\n"
                              "X-M2M-Debug: a value   with  spaces\r\n"
                              "Content-Length: 30\r\n"
                              "\r\n"
                              "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}";

static void test_response_any_split(void **state)
{
    static const size_t steps[] = {1, 2, 3, 7, 64, sizeof CREATED};
    (void)state;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        m2m_http_parser *p = m2m_http_parser_new();
        m2m_err err = {0};
        size_t used = 0, blen = 0;
        assert_true(m2m_http_parser_idle(p));
        assert_int_equal(feed_in_steps(p, CREATED, strlen(CREATED), steps[i], &used, &err), M2M_HTTP_COMPLETE);
        assert_int_equal(used, strlen(CREATED));
        assert_false(m2m_http_parser_idle(p));
        assert_int_equal(m2m_http_parser_status(p), 201);
        assert_int_equal(m2m_http_parser_rsc(p), 2001);
        assert_string_equal(m2m_http_parser_header(p, "x-m2m-ri"), "0123456789abcdef");
        assert_string_equal(m2m_http_parser_header(p, "Content-Location"), "/in-cse/device01");
        assert_string_equal(m2m_http_parser_header(p, "X-M2M-Debug"), "a value   with  spaces");
        assert_null(m2m_http_parser_header(p, "X-Absent"));
        assert_string_equal(m2m_http_parser_body(p, &blen), "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
        assert_int_equal(blen, 30);
        assert_true(m2m_http_parser_keep_alive(p));
        m2m_http_parser_free(p);
    }
    m2m_http_parser_free(NULL);
}

static const char CHUNKED[] = "HTTP/1.1 200 OK\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "X-M2M-RSC: 2000\r\n"
                              "\r\n"
                              "5\r\nhello\r\n"
                              "7;name=value\r\n, world\r\n"
                              "A\r\n0123456789\r\n"
                              "0\r\n"
                              "X-Trailer: ignored\r\n"
                              "\r\n";

static void test_chunked(void **state)
{
    static const size_t steps[] = {1, 5, sizeof CHUNKED};
    (void)state;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        m2m_http_parser *p = m2m_http_parser_new();
        m2m_err err = {0};
        size_t used = 0, blen = 0;
        char *body;
        assert_int_equal(feed_in_steps(p, CHUNKED, strlen(CHUNKED), steps[i], &used, &err), M2M_HTTP_COMPLETE);
        assert_int_equal(used, strlen(CHUNKED));
        assert_int_equal(m2m_http_parser_rsc(p), 2000);
        body = m2m_http_parser_take_body(p, &blen);
        assert_string_equal(body, "hello, world0123456789");
        assert_int_equal(blen, 22);
        free(body);
        assert_string_equal(m2m_http_parser_body(p, &blen), "");
        assert_int_equal(blen, 0);
        m2m_http_parser_free(p);
    }
}

static void expect_parse_error(const char *text, size_t len, const char *want)
{
    m2m_http_parser *p = m2m_http_parser_new();
    m2m_err err = {0};
    size_t used;
    int r = feed_in_steps(p, text, len, 1, &used, &err);
    if (r != -1 || strstr(err.msg, want) == NULL)
        fail_msg("want error \"%s\", got %d \"%s\"", want, r, err.msg);
    assert_int_equal(err.code, M2M_E_PROTO);
    /* the failure sticks until reset */
    assert_int_equal(m2m_http_parser_feed(p, "x", 1, &used, &err), -1);
    m2m_http_parser_reset(p);
    assert_int_equal(m2m_http_parser_feed(p, CREATED, strlen(CREATED), &used, &err), M2M_HTTP_COMPLETE);
    m2m_http_parser_free(p);
}

static void test_oversized_headers(void **state)
{
    size_t pad = M2M_HTTP_HEADER_MAX;
    char *text = malloc(pad + 64);
    m2m_http_parser *p = m2m_http_parser_new();
    m2m_err err = {0};
    size_t used, n;
    (void)state;
    n = (size_t)sprintf(text, "HTTP/1.1 200 OK\r\nX-Pad: ");
    memset(text + n, 'a', pad);
    n += pad;
    memcpy(text + n, "\r\n\r\n", 4);
    n += 4;
    expect_parse_error(text, n, "headers are larger than the limit of 16 KiB");

    /* just under the cap is fine */
    n = (size_t)sprintf(text, "HTTP/1.1 204 No Content\r\nX-Pad: ");
    memset(text + n, 'b', M2M_HTTP_HEADER_MAX - n - 4);
    n = M2M_HTTP_HEADER_MAX - 4;
    memcpy(text + n, "\r\n\r\n", 4);
    n += 4;
    assert_int_equal(m2m_http_parser_feed(p, text, n, &used, &err), M2M_HTTP_COMPLETE);
    assert_int_equal(m2m_http_parser_status(p), 204);
    m2m_http_parser_free(p);
    free(text);

    p = m2m_http_parser_new();
    {
        const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: ";
        assert_int_equal(m2m_http_parser_feed(p, head, strlen(head), &used, &err), M2M_HTTP_NEED_MORE);
    }
    {
        char chunk[1024];
        int r = M2M_HTTP_NEED_MORE;
        memset(chunk, 't', sizeof chunk);
        for (int i = 0; i < 20 && r == M2M_HTTP_NEED_MORE; i++)
            r = m2m_http_parser_feed(p, chunk, sizeof chunk, &used, &err);
        assert_int_equal(r, -1); /* trailers count against the header cap */
    }
    m2m_http_parser_free(p);
}

static void test_malformed(void **state)
{
#define T(text, want) expect_parse_error(text, sizeof text - 1, want)
    (void)state;
    T("X-M2M-RSC: 2000\r\nContent-Length: 0\r\n\r\n", "malformed HTTP status line 'X-M2M-RSC: 2000'");
    T("\r\nHTTP/1.1 200 OK\r\n\r\n", "starts with an empty line instead of a status line");
    T("HTTP/2 200 OK\r\n\r\n", "malformed HTTP status line");
    T("HTTP/1.1 2000 OK\r\n\r\n", "malformed HTTP status line");
    T("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "malformed HTTP header line 'Bad Name: x'");
    T("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "malformed HTTP header line 'NoColon'");
    T("HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\n\r\n", "folded HTTP header line");
    T("HTTP/1.1 200 OK\r\nX-M2M-RSC: 20x1\r\n\r\n", "X-M2M-RSC '20x1' is not a oneM2M status code");
    T("HTTP/1.1 200 OK\r\nContent-Length: 9000000\r\n\r\n", "not a length within the 8 MiB limit");
    T("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "not a length within the 8 MiB limit");
    T("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", "conflicting Content-Length");
    T("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding 'gzip'");
    T("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed HTTP chunk size 'zz'");
    T("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", "larger than the limit of 8 MiB");
    T("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY\r\n", "not followed by CRLF");
    T("HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", "NUL byte");
#undef T
}

static void test_framing_and_connection(void **state)
{
    m2m_http_parser *p = m2m_http_parser_new();
    m2m_err err = {0};
    size_t used, blen;
    const char *two = "HTTP/1.1 204 No Content\r\nX-M2M-RSC: 2002\r\n\r\n"
                      "HTTP/1.1 100 Continue\r\n\r\n"
                      "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok";
    const char *rest;
    (void)state;

    /* two responses in one read: the first stops where it ends */
    assert_int_equal(m2m_http_parser_feed(p, two, strlen(two), &used, &err), M2M_HTTP_COMPLETE);
    assert_int_equal(m2m_http_parser_status(p), 204);
    assert_int_equal(m2m_http_parser_rsc(p), 2002);
    assert_true(m2m_http_parser_keep_alive(p));
    rest = two + used;
    assert_true(strncmp(rest, "HTTP/1.1 100", 12) == 0);
    m2m_http_parser_reset(p);
    /* 100 Continue is skipped; Connection: close is honoured */
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_COMPLETE);
    assert_int_equal(used, strlen(rest));
    assert_int_equal(m2m_http_parser_status(p), 200);
    assert_string_equal(m2m_http_parser_body(p, NULL), "ok");
    assert_false(m2m_http_parser_keep_alive(p));

    /* HTTP/1.0 closes unless it says keep-alive */
    m2m_http_parser_reset(p);
    rest = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_COMPLETE);
    assert_false(m2m_http_parser_keep_alive(p));
    /* an empty body, not what is left of the previous response's "ok" in the reused buffer */
    assert_string_equal(m2m_http_parser_body(p, &blen), "");
    assert_int_equal(blen, 0);

    /* no length: the body runs to the end of the connection */
    m2m_http_parser_reset(p);
    rest = "HTTP/1.1 500 Internal Server Error\r\nX-M2M-RSC: 5000\r\n\r\n{\"m2m:dbg\":\"boom\"}";
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_NEED_MORE);
    assert_int_equal(m2m_http_parser_eof(p, &err), M2M_HTTP_COMPLETE);
    assert_string_equal(m2m_http_parser_body(p, &blen), "{\"m2m:dbg\":\"boom\"}");
    assert_false(m2m_http_parser_keep_alive(p));

    /* cut short */
    m2m_http_parser_reset(p);
    rest = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_NEED_MORE);
    assert_int_equal(m2m_http_parser_eof(p, &err), -1);
    assert_non_null(strstr(err.msg, "closed inside the HTTP response body"));

    m2m_http_parser_reset(p);
    assert_true(m2m_http_parser_idle(p));
    assert_int_equal(m2m_http_parser_eof(p, &err), -1);
    assert_non_null(strstr(err.msg, "closed before a response"));

    m2m_http_parser_reset(p);
    rest = "HTTP/1.1 200 OK\r\nContent-";
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_NEED_MORE);
    assert_int_equal(m2m_http_parser_eof(p, &err), -1);
    assert_non_null(strstr(err.msg, "inside the HTTP response headers"));

    /* both framings: chunked wins, the connection is not reused */
    m2m_http_parser_reset(p);
    rest = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_COMPLETE);
    assert_string_equal(m2m_http_parser_body(p, NULL), "x");
    assert_false(m2m_http_parser_keep_alive(p));

    /* bare LF line ends are tolerated */
    m2m_http_parser_reset(p);
    rest = "HTTP/1.1 201 Created\nX-M2M-RSC: 2001\nContent-Length: 1\n\nz";
    assert_int_equal(m2m_http_parser_feed(p, rest, strlen(rest), &used, &err), M2M_HTTP_COMPLETE);
    assert_int_equal(m2m_http_parser_rsc(p), 2001);
    assert_string_equal(m2m_http_parser_body(p, NULL), "z");
    m2m_http_parser_free(p);
}

static void test_body_cap(void **state)
{
    m2m_http_parser *p = m2m_http_parser_new();
    m2m_err err = {0};
    size_t used;
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    char line[32];
    int r;
    (void)state;
    assert_int_equal(m2m_http_parser_feed(p, head, strlen(head), &used, &err), M2M_HTTP_NEED_MORE);
    /* 8 MiB exactly in one chunk is allowed by size; one more chunk of 1 byte is not */
    snprintf(line, sizeof line, "%x\r\n", M2M_HTTP_BODY_MAX);
    assert_int_equal(m2m_http_parser_feed(p, line, strlen(line), &used, &err), M2M_HTTP_NEED_MORE);
    {
        char *big = malloc(M2M_HTTP_BODY_MAX);
        memset(big, 'q', M2M_HTTP_BODY_MAX);
        assert_int_equal(m2m_http_parser_feed(p, big, M2M_HTTP_BODY_MAX, &used, &err), M2M_HTTP_NEED_MORE);
        free(big);
    }
    r = m2m_http_parser_feed(p, "\r\n1\r\n", 5, &used, &err);
    assert_int_equal(r, -1);
    assert_non_null(strstr(err.msg, "8 MiB"));
    m2m_http_parser_free(p);
}

/* Issue 8: interim responses are skipped a bounded number of times per response, whatever the split of the input;
 * reset starts the count again. */
static void test_interim_responses_bounded(void **state)
{
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    static const char final[] = "HTTP/1.1 200 OK\r\nX-M2M-RSC: 2000\r\nContent-Length: 2\r\n\r\nok";
    m2m_http_parser *p = m2m_http_parser_new();
    m2m_err err = {0};
    char text[512];
    size_t used, n;
    (void)state;

    for (size_t step = 1; step <= sizeof text; step = step * 3 + 1) {
        /* the most that is allowed, then the answer */
        m2m_http_parser_reset(p);
        n = 0;
        for (int i = 0; i < M2M_HTTP_MAX_INTERIM; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s", i % 2 ? interim : "HTTP/1.1 102 Processing\r\n\r\n");
        n += (size_t)snprintf(text + n, sizeof text - n, "%s", final);
        assert_int_equal(feed_in_steps(p, text, n, step, &used, &err), M2M_HTTP_COMPLETE);
        assert_int_equal(m2m_http_parser_rsc(p), 2000);
        assert_string_equal(m2m_http_parser_body(p, NULL), "ok");

        /* one more: refused, however the loop continues */
        m2m_http_parser_reset(p);
        n = 0;
        for (int i = 0; i < M2M_HTTP_MAX_INTERIM + 3; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s", interim);
        assert_int_equal(feed_in_steps(p, text, n, step, &used, &err), -1);
        assert_int_equal(err.code, M2M_E_PROTO);
        assert_string_equal(err.msg, "more than 4 interim (1xx) HTTP responses before the final one");
    }
    m2m_http_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_request_bytes),
        cmocka_unit_test(test_get_request_bytes),
        cmocka_unit_test(test_request_refuses_injection),
        cmocka_unit_test(test_response_any_split),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_oversized_headers),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_framing_and_connection),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_interim_responses_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
