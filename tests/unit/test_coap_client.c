/* SPDX-License-Identifier: Apache-2.0 */
/* The client half of the CoAP binding (binding/coap_client.c), TS-0008 both ways: methods, Uri-Path with "~" and
 * "_", oneM2M-FR/RQI/RVI/TY, the token as Uri-Query tkns, Content-Format; the RSC, RQI echo and Location-Path of a
 * response; and what has no CoAP form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "binding/coap_client.h"

/* The options of number num, as "a|b|c". */
static void values(const m2m_coap_request *r, uint16_t num, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->nopts; i++)
        if (r->opts[i].num == num)
            n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "|" : "", (int)r->opts[i].len,
                                  (const char *)r->opts[i].val);
}

static unsigned long uint_of(const m2m_coap_request *r, uint16_t num, int *found)
{
    unsigned long v = 0;
    *found = 0;
    for (size_t i = 0; i < r->nopts; i++)
        if (r->opts[i].num == num) {
            *found = 1;
            for (size_t j = 0; j < r->opts[i].len; j++)
                v = v << 8 | r->opts[i].val[j];
        }
    return v;
}

static void test_create_maps_to_post(void **state)
{
    m2m_request req = {.method = "POST", .path = "/~/in-cse", .ty = 2, .body = "{\"m2m:ae\":{}}", .from = "Cdev"};
    m2m_coap_request out;
    m2m_err err = {0};
    char v[512];
    int found;
    (void)state;

    assert_int_equal(m2m_coap_build_request(&req, "r1", "dG9rZW4tdG9rZW4tdG9rZW4", &out, &err), 0);
    assert_int_equal(out.method, M2M_COAP_POST);
    values(&out, M2M_COAP_OPT_URI_PATH, v, sizeof v);
    assert_string_equal(v, "~|in-cse");
    values(&out, M2M_COAP_OPT_URI_QUERY, v, sizeof v);
    assert_string_equal(v, "tkns=dG9rZW4tdG9rZW4tdG9rZW4");
    values(&out, M2M_COAP_OPT_FR, v, sizeof v);
    assert_string_equal(v, "Cdev");
    values(&out, M2M_COAP_OPT_RQI, v, sizeof v);
    assert_string_equal(v, "r1");
    values(&out, M2M_COAP_OPT_RVI, v, sizeof v);
    assert_string_equal(v, "3");
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_TY, &found), 2);
    assert_true(found);
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_CONTENT_FORMAT, &found), M2M_COAP_FMT_JSON);
    assert_int_equal(out.payload_len, strlen(req.body));
    /* ascending option numbers, as on the wire */
    for (size_t i = 1; i < out.nopts; i++)
        assert_true(out.opts[i - 1].num <= out.opts[i].num);
}

static void test_paths_and_methods(void **state)
{
    m2m_request req = {.method = "GET", .path = "/_/sp.example/in-cse/a%20b?rcn=1&drt=2"};
    m2m_coap_request out;
    m2m_err err = {0};
    char v[512];
    int found;
    (void)state;

    assert_int_equal(m2m_coap_build_request(&req, "r", NULL, &out, &err), 0);
    assert_int_equal(out.method, M2M_COAP_GET);
    values(&out, M2M_COAP_OPT_URI_PATH, v, sizeof v);
    assert_string_equal(v, "_|sp.example|in-cse|a b");
    values(&out, M2M_COAP_OPT_URI_QUERY, v, sizeof v);
    assert_string_equal(v, "rcn=1|drt=2");
    values(&out, M2M_COAP_OPT_FR, v, sizeof v);
    assert_string_equal(v, ""); /* no From given: none sent */
    uint_of(&out, M2M_COAP_OPT_CONTENT_FORMAT, &found);
    assert_false(found);

    req.method = "DELETE";
    req.path = "/cse-base/Cdev/cnt";
    assert_int_equal(m2m_coap_build_request(&req, "r", NULL, &out, &err), 0);
    assert_int_equal(out.method, M2M_COAP_DELETE);
    values(&out, M2M_COAP_OPT_URI_PATH, v, sizeof v);
    assert_string_equal(v, "cse-base|Cdev|cnt");

    req.method = "PUT";
    req.body = "{}";
    req.content_type = "application/vnd.onem2m-res+json";
    assert_int_equal(m2m_coap_build_request(&req, "r", NULL, &out, &err), 0);
    assert_int_equal(out.method, M2M_COAP_PUT);
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_CONTENT_FORMAT, &found), M2M_COAP_FMT_RES_JSON);
}

static void test_what_has_no_coap_form(void **state)
{
    static const m2m_request bad[] = {
        {.method = "PATCH", .path = "/x"},
        {.method = "GET", .path = "x"},
        {.method = "GET", .path = "/"},
        {.method = "GET", .path = "/a//b"},
        {.method = "GET", .path = "/a/"},
        {.method = "GET", .path = "/a%2"},
        {.method = "GET", .path = "/a%0a"},
        {.method = "GET", .path = "/a", .from = "C\r\nX"},
        {.method = "GET", .path = "/a", .authorization = "Basic abc"},
        {.method = "POST", .path = "/a", .body = "<x/>", .content_type = "application/xml"},
    };
    m2m_coap_request out;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m2m_err err = {0};
        if (m2m_coap_build_request(&bad[i], "r", NULL, &out, &err) != -1 || err.code != M2M_E_ARG)
            fail_msg("case %zu (%s) was accepted", i, bad[i].path);
    }
}

static void test_response(void **state)
{
    static const uint8_t rsc[] = {0x07, 0xd1}; /* 2001 */
    m2m_coap_opt opts[] = {
        {M2M_COAP_OPT_LOCATION_PATH, (const uint8_t *)"~", 1},
        {M2M_COAP_OPT_LOCATION_PATH, (const uint8_t *)"in-cse", 6},
        {M2M_COAP_OPT_LOCATION_PATH, (const uint8_t *)"Cdev", 4},
        {M2M_COAP_OPT_RQI, (const uint8_t *)"r1", 2},
        {M2M_COAP_OPT_RSC, rsc, 2},
    };
    m2m_coap_response in = {.code = 201, .opts = opts, .nopts = 5, .payload = (const uint8_t *)"{}", .payload_len = 2};
    m2m_reply reply;
    m2m_err err = {0};
    char text[8];
    (void)state;

    assert_int_equal(m2m_coap_parse_response(&in, "r1", "peer", &reply, &err), 0);
    assert_int_equal(reply.rsc, 2001);
    assert_int_equal(reply.http_status, 201);
    assert_string_equal(reply.location, "/in-cse/Cdev");
    assert_string_equal(reply.body, "{}");
    m2m_reply_free(&reply);
    m2m_coap_code_text(403, text);
    assert_string_equal(text, "4.03");

    /* another request's answer */
    assert_int_equal(m2m_coap_parse_response(&in, "r2", "peer", &reply, &err), -1);
    assert_int_equal(err.code, M2M_E_PROTO);
    /* two RSCs: two readers could see two statuses */
    opts[3].num = M2M_COAP_OPT_RSC;
    opts[3].val = rsc;
    assert_int_equal(m2m_coap_parse_response(&in, "r1", "peer", &reply, &err), -1);
    /* absolute location, no RSC at all */
    opts[0].val = (const uint8_t *)"_";
    opts[3].num = opts[4].num = M2M_COAP_OPT_MAX_AGE;
    assert_int_equal(m2m_coap_parse_response(&in, "r1", "peer", &reply, &err), 0);
    assert_string_equal(reply.location, "//in-cse/Cdev");
    assert_int_equal(reply.rsc, 0);
    m2m_reply_free(&reply);
}

/* [coap] content-format = cbor: the JSON body goes as CBOR (60, or 10010 for the oneM2M type) with Accept 60; a
 * request without a body only asks for CBOR back; a body that is not JSON has no CBOR form. A CBOR answer is read
 * back as JSON text; one that does not decode is the Registrar's fault. */
static void test_cbor(void **state)
{
    static const uint8_t ae[] = {0xa1, 0x66, 'm', '2', 'm', ':', 'a', 'e', 0xa1, 0x63, 'a', 'p', 'i', 0x62, 'R', 'x'};
    static const uint8_t cf60[] = {60}, rsc[] = {0x07, 0xd0}, junk[] = {0xa1, 0x61};
    m2m_request req = {.method = "POST", .path = "/~/in-cse", .ty = 2, .body = "{\"m2m:ae\":{\"api\":\"Rx\"}}"};
    m2m_coap_request out;
    m2m_coap_opt opts[] = {{M2M_COAP_OPT_CONTENT_FORMAT, cf60, 1}, {M2M_COAP_OPT_RSC, rsc, 2}};
    m2m_coap_response in = {.code = 205, .opts = opts, .nopts = 2, .payload = ae, .payload_len = sizeof ae};
    m2m_reply reply;
    m2m_err err = {0};
    int found;
    (void)state;

    assert_int_equal(m2m_coap_build_request(&req, "r1", NULL, &out, &err), 0);
    assert_int_equal(m2m_coap_request_cbor(&out, &err), 0);
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_CONTENT_FORMAT, &found), M2M_COAP_FMT_CBOR);
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_ACCEPT, &found), M2M_COAP_FMT_CBOR);
    assert_true(found);
    assert_int_equal(out.payload_len, sizeof ae);
    assert_memory_equal(out.payload, ae, sizeof ae);
    for (size_t i = 1; i < out.nopts; i++)
        assert_true(out.opts[i - 1].num <= out.opts[i].num);
    m2m_coap_request_clear(&out);
    req.content_type = "application/vnd.onem2m-res+json";
    assert_int_equal(m2m_coap_build_request(&req, "r1", NULL, &out, &err), 0);
    assert_int_equal(m2m_coap_request_cbor(&out, &err), 0);
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_CONTENT_FORMAT, &found), M2M_COAP_FMT_RES_CBOR);
    m2m_coap_request_clear(&out);
    req.content_type = NULL;
    req.body = "not json";
    assert_int_equal(m2m_coap_build_request(&req, "r1", NULL, &out, &err), 0);
    assert_int_equal(m2m_coap_request_cbor(&out, &err), -1);
    assert_int_equal(err.code, M2M_E_ARG);
    m2m_coap_request_clear(&out);
    req.method = "GET";
    req.body = NULL;
    req.ty = 0;
    assert_int_equal(m2m_coap_build_request(&req, "r1", NULL, &out, &err), 0);
    assert_int_equal(m2m_coap_request_cbor(&out, &err), 0);
    assert_null(out.payload);
    uint_of(&out, M2M_COAP_OPT_CONTENT_FORMAT, &found);
    assert_false(found);
    assert_int_equal(uint_of(&out, M2M_COAP_OPT_ACCEPT, &found), M2M_COAP_FMT_CBOR);
    m2m_coap_request_clear(&out);

    assert_int_equal(m2m_coap_parse_response(&in, "r1", "peer", &reply, &err), 0);
    assert_string_equal(reply.body, "{\"m2m:ae\":{\"api\":\"Rx\"}}");
    assert_int_equal(reply.body_len, strlen(reply.body));
    m2m_reply_free(&reply);
    in.payload = junk;
    in.payload_len = sizeof junk;
    assert_int_equal(m2m_coap_parse_response(&in, "r1", "peer", &reply, &err), -1);
    assert_int_equal(err.code, M2M_E_PROTO);
    assert_non_null(strstr(err.msg, "peer: the CBOR body does not decode"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_maps_to_post),
        cmocka_unit_test(test_cbor),
        cmocka_unit_test(test_paths_and_methods),
        cmocka_unit_test(test_what_has_no_coap_form),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
