/* SPDX-License-Identifier: Apache-2.0 */
/* The server half of the HTTP binding: request mapping, every refusal it makes, and status-code mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "binding/http_server.h"
#include "onem2m/status.h"

static m2m_http_in base_create(void)
{
    static const char body[] = "{\"m2m:ae\":{\"api\":\"Rx\",\"rr\":false,\"srv\":[\"3\"]}}";
    m2m_http_in in = {"POST", "/~/in-cse", "application/json;ty=2", "Cdev", "r1", "3", NULL, body, sizeof body - 1,
                      NULL};
    return in;
}

static m2m_http_format format; /* the last parse's answer format */

static int parse(const m2m_http_in *in, m2m_prim_req *req, m2m_prim_rsp *rsp)
{
    memset(rsp, 0, sizeof *rsp);
    return m2m_http_parse_request(in, req, &format, rsp);
}

static void test_create_maps(void **state)
{
    m2m_http_in in = base_create();
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    (void)state;
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_int_equal(req.op, M2M_OP_CREATE);
    assert_int_equal(req.ty, 2);
    assert_string_equal(req.to, "/in-cse");
    assert_string_equal(req.fr, "Cdev");
    assert_true(req.has_fr);
    assert_string_equal(req.rqi, "r1");
    assert_non_null(cJSON_GetObjectItem(req.pc, "m2m:ae"));
    m2m_prim_req_clear(&req);
}

static void test_paths(void **state)
{
    m2m_http_in in = {"GET", "/cse-base/ae1?rcn=1", NULL, "Cdev", "r1", NULL, NULL, NULL, 0, NULL};
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    (void)state;
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_int_equal(req.op, M2M_OP_RETRIEVE);
    assert_string_equal(req.to, "cse-base/ae1");
    in.uri = "/_/sp.example/in-cse/x";
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_string_equal(req.to, "//sp.example/in-cse/x");
    in.uri = "/~/in-cse/a%20b";
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_string_equal(req.to, "/in-cse/a b");
    in.uri = "/~/in-cse/%0a";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    in.uri = "/";
    assert_int_equal(parse(&in, &req, &rsp), -1);
}

static void test_refusals(void **state)
{
    m2m_http_in in;
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    (void)state;

    in = base_create();
    in.ri = NULL;
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "X-M2M-RI"));

    in = base_create();
    in.content_type = "text/plain";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_UNSUPPORTED_MEDIA_TYPE);

    in = base_create();
    in.content_type = NULL;
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_UNSUPPORTED_MEDIA_TYPE);

    in = base_create();
    in.content_type = "application/json";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "ty="));

    in = base_create();
    in.content_type = "application/json; ty=abc";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);

    in = base_create();
    in.body = "{\"m2m:ae\": {";
    in.body_len = strlen(in.body);
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "malformed JSON"));

    in = base_create();
    in.body = "[1,2]";
    in.body_len = strlen(in.body);
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_non_null(strstr(rsp.dbg, "object"));

    in = base_create();
    in.body = "{} {}";
    in.body_len = strlen(in.body);
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_non_null(strstr(rsp.dbg, "trailing"));

    in = base_create();
    in.rvi = "9z";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_RELEASE_VERSION_NOT_SUPPORTED);

    in = base_create();
    in.method = "PATCH";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_OPERATION_NOT_ALLOWED);

    in = base_create();
    in.authorization = "Basic abc";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);

    in = base_create();
    in.body_len = 0;
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
}

/* Issue 8: a body with a duplicate member or a NUL inside a string is refused (4000) naming the member, at any
 * depth and on UPDATE too, before the CSE ever sees it. */
static void test_ambiguous_json_refused(void **state)
{
    static const struct {
        const char *method, *body, *dbg;
    } cases[] = {
        {"POST", "{\"m2m:csr\":{\"cb\":\"/cse2/cb\",\"csi\":\"/cse2\",\"csi\":\"/in-cse\",\"rr\":true}}",
         "JSON body: duplicate member \"csi\" in m2m:csr"},
        {"POST", "{\"m2m:ae\":{\"rn\":\"ok\",\"api\":\"Rx\",\"rr\":false,\"rn\":\"../x/y\"}}",
         "JSON body: duplicate member \"rn\" in m2m:ae"},
        {"POST", "{\"m2m:ae\":{\"api\":\"Rx\"},\"m2m:ae\":{\"api\":\"Ry\"}}",
         "JSON body: duplicate member \"m2m:ae\" at the top level"},
        {"PUT", "{\"m2m:ae\":{\"lbl\":[{\"k\":1,\"k\":2}]}}", "JSON body: duplicate member \"k\" in m2m:ae.lbl[0]"},
        {"POST", "{\"m2m:ae\":{\"api\":\"Rx\",\"rn\":\"Csensor1\\u0000evil\"}}",
         "JSON body: string m2m:ae.rn holds a NUL character (\\u0000)"},
        {"PUT", "{\"m2m:ae\":{\"lb\\u0000l\":[]}}", "JSON body: a member name in m2m:ae holds a NUL character (\\u0000)"},
    };
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m2m_http_in in = base_create();
        in.method = cases[i].method;
        in.body = cases[i].body;
        in.body_len = strlen(cases[i].body);
        assert_int_equal(parse(&in, &req, &rsp), -1);
        assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
        assert_string_equal(rsp.dbg, cases[i].dbg);
        assert_null(req.pc);
    }
}

static void test_token_and_rel1(void **state)
{
    m2m_http_in in = base_create();
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    (void)state;
    in.authorization = "Bearer tok123";
    in.rvi = NULL;
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_string_equal(req.token, "tok123");
    assert_string_equal(req.rvi, "");
    m2m_prim_req_clear(&req);
}

static void test_render(void **state)
{
    m2m_prim_rsp rsp;
    m2m_http_out out;
    (void)state;
    memset(&rsp, 0, sizeof rsp);
    m2m_prim_error(&rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "who are you");
    assert_int_equal(m2m_http_render_response(&rsp, M2M_HTTP_JSON, &out), 0);
    assert_int_equal(out.status, 403);
    assert_string_equal(out.rsc, "4106");
    assert_string_equal(out.body, "{\"m2m:dbg\":\"who are you\"}");
    m2m_http_out_clear(&out);
    m2m_prim_rsp_clear(&rsp);
}

/* TS-0009's CBOR media types: a CBOR body becomes the tree its JSON would, the answer's format follows Accept (the
 * first type served, in order; a wildcard keeps the request's), else the Content-Type; nothing served: 5207. */
static void test_cbor(void **state)
{
    static const char ae_cbor[] = "\xa1\x66m2m:ae\xa3\x63" "api\x62Rx\x62rr\xf4\x63srv\x81\x61" "3";
    m2m_http_in in = base_create();
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    m2m_http_out out;
    cJSON *json;
    (void)state;
    in.content_type = "application/cbor; ty=2";
    in.body = ae_cbor;
    in.body_len = sizeof ae_cbor - 1;
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_int_equal(format, M2M_HTTP_CBOR);
    assert_int_equal(req.ty, 2);
    json = cJSON_Parse("{\"m2m:ae\":{\"api\":\"Rx\",\"rr\":false,\"srv\":[\"3\"]}}");
    assert_true(cJSON_Compare(req.pc, json, 1));
    cJSON_Delete(json);
    m2m_prim_req_clear(&req);
    in.accept = "text/html, application/vnd.onem2m-res+json;q=0.5, application/cbor";
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_int_equal(format, M2M_HTTP_RES_JSON);
    m2m_prim_req_clear(&req);
    in.accept = "*/*";
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_int_equal(format, M2M_HTTP_CBOR);
    m2m_prim_req_clear(&req);
    /* JSON text said to be CBOR; an Accept nothing served matches (the refusal itself in the request's format) */
    in.accept = NULL;
    in.content_type = "application/vnd.onem2m-res+cbor;ty=2";
    in.body = "{\"m2m:ae\":{}}";
    in.body_len = strlen(in.body);
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "CBOR body: "));
    in.accept = "application/xml";
    assert_int_equal(parse(&in, &req, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_NOT_ACCEPTABLE);
    assert_int_equal(format, M2M_HTTP_RES_CBOR);
    /* rendered: the media type, and the body in CBOR */
    assert_int_equal(m2m_http_render_response(&rsp, format, &out), 0);
    assert_string_equal(out.content_type, "application/vnd.onem2m-res+cbor");
    assert_true(out.body_len > 9 && memcmp(out.body, "\xa1\x67m2m:dbg", 9) == 0);
    m2m_http_out_clear(&out);
    m2m_prim_rsp_clear(&rsp);
    in.content_type = "application/json;ty=2";
    in.accept = NULL;
    in.body = "{\"m2m:ae\":{\"api\":\"Rx\"}}";
    in.body_len = strlen(in.body);
    assert_int_equal(parse(&in, &req, &rsp), 0);
    assert_int_equal(format, M2M_HTTP_JSON);
    m2m_prim_req_clear(&req);
    memset(&rsp, 0, sizeof rsp);
    rsp.rsc = M2M_RSC_DELETED; /* no content: an empty body in either format */
    assert_int_equal(m2m_http_render_response(&rsp, M2M_HTTP_CBOR, &out), 0);
    assert_int_equal(out.body_len, 0);
    assert_string_equal(out.content_type, "application/cbor");
    m2m_http_out_clear(&out);
}

static void test_status_mapping(void **state)
{
    static const int rows[][3] = {{2000, 200, 205}, {2001, 201, 201}, {2002, 200, 202}, {2004, 200, 204},
                                  {4000, 400, 400}, {4001, 501, 501}, {4004, 404, 404}, {4005, 405, 405},
                                  {4015, 415, 415}, {4103, 403, 403}, {4105, 409, 403}, {4106, 403, 403},
                                  {4107, 403, 403}, {4117, 403, 403}, {5000, 500, 500}, {5106, 409, 400}};
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(m2m_rsc_http_status(rows[i][0]), rows[i][1]);
        assert_int_equal(m2m_rsc_coap_code(rows[i][0]), rows[i][2]);
    }
    assert_string_equal(m2m_rsc_name(4117), "ORIGINATOR_HAS_ALREADY_REGISTERED");
    assert_string_equal(m2m_rsc_name(1234), "UNKNOWN");
    assert_int_equal(m2m_rsc_http_status(1234), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_maps), cmocka_unit_test(test_paths),  cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_token_and_rel1), cmocka_unit_test(test_render), cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_ambiguous_json_refused), cmocka_unit_test(test_cbor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
