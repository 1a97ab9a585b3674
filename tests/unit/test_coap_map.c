/* SPDX-License-Identifier: Apache-2.0 */
/* The TS-0008 mapping on its own (binding/coap_map.c): CoAP request -> request primitive, every refusal it makes,
 * and response primitive -> CoAP code, options and payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "binding/coap_map.h"
#include "onem2m/status.h"

#define OPT(n, s) {(n), (const uint8_t *)(s), sizeof(s) - 1}

static const uint8_t TY_AE[] = {2};
static const uint8_t TY_KGN[] = {0x27, 0x74}; /* 10100 */
static const uint8_t JSON[] = {50};
static const uint8_t RES_JSON[] = {0x27, 0x11}; /* 10001 */
static const uint8_t CBOR[] = {60};
static const char AE_BODY[] = "{\"m2m:ae\":{\"api\":\"Rx\",\"rr\":false,\"srv\":[\"3\"]}}";

static const uint8_t RES_CBOR[] = {0x27, 0x1a}; /* 10010 */
static const uint8_t XML[] = {41};
/* AE_BODY in CBOR: {"m2m:ae": {"api": "Rx", "rr": false, "srv": ["3"]}} */
static const uint8_t AE_CBOR[] = {0xa1, 0x66, 'm', '2', 'm', ':', 'a', 'e', 0xa3, 0x63, 'a', 'p', 'i', 0x62, 'R',
                                  'x', 0x62, 'r', 'r', 0xf4, 0x63, 's', 'r', 'v', 0x81, 0x61, '3'};

static int parse_bytes(const m2m_coap_opt *opts, size_t n, int method, const uint8_t *body, size_t len,
                       m2m_prim_req *req, int *fmt, m2m_prim_rsp *rsp)
{
    m2m_coap_in in = {method, opts, n, body, len};
    memset(rsp, 0, sizeof *rsp);
    return m2m_coap_parse_request(&in, req, fmt, rsp);
}

static int parse(const m2m_coap_opt *opts, size_t n, int method, const char *body, m2m_prim_req *req, int *fmt,
                 m2m_prim_rsp *rsp)
{
    return parse_bytes(opts, n, method, (const uint8_t *)body, body ? strlen(body) : 0, req, fmt, rsp);
}

static void test_create_maps(void **state)
{
    const m2m_coap_opt o[] = {OPT(M2M_COAP_OPT_URI_PATH, "~"), OPT(M2M_COAP_OPT_URI_PATH, "in-cse"),
                              {M2M_COAP_OPT_CONTENT_FORMAT, JSON, 1}, {M2M_COAP_OPT_TY, TY_AE, 1},
                              OPT(M2M_COAP_OPT_RVI, "3"), OPT(M2M_COAP_OPT_FR, "Cdev"), OPT(M2M_COAP_OPT_RQI, "r1")};
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int fmt;
    (void)state;
    assert_int_equal(parse(o, 7, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), 0);
    assert_int_equal(req.op, M2M_OP_CREATE);
    assert_int_equal(req.ty, 2);
    assert_string_equal(req.to, "/in-cse");
    assert_string_equal(req.fr, "Cdev");
    assert_true(req.has_fr);
    assert_string_equal(req.rqi, "r1");
    assert_string_equal(req.rvi, "3");
    assert_int_equal(fmt, M2M_COAP_FMT_JSON);
    assert_non_null(cJSON_GetObjectItem(req.pc, "m2m:ae"));
    m2m_prim_req_clear(&req);
}

static void test_paths(void **state)
{
    m2m_coap_opt o[] = {OPT(M2M_COAP_OPT_RQI, "r"), OPT(M2M_COAP_OPT_URI_PATH, "cse-base"),
                        OPT(M2M_COAP_OPT_URI_PATH, "ae1"), OPT(M2M_COAP_OPT_URI_PATH, "x")};
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int fmt;
    (void)state;
    assert_int_equal(parse(o, 3, M2M_COAP_GET, NULL, &req, &fmt, &rsp), 0);
    assert_int_equal(req.op, M2M_OP_RETRIEVE);
    assert_string_equal(req.to, "cse-base/ae1");
    /* absolute: "_" then the SP-ID */
    o[1] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "_");
    o[2] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "sp.example");
    o[3] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "in-cse");
    assert_int_equal(parse(o, 4, M2M_COAP_GET, NULL, &req, &fmt, &rsp), 0);
    assert_string_equal(req.to, "//sp.example/in-cse");
    /* SP-relative; a "~" later on is only a name */
    o[1] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "~");
    o[2] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "in-cse");
    o[3] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "~");
    assert_int_equal(parse(o, 4, M2M_COAP_DELETE, NULL, &req, &fmt, &rsp), 0);
    assert_int_equal(req.op, M2M_OP_DELETE);
    assert_string_equal(req.to, "/in-cse/~");
    /* refused: "~" alone, a segment with '/', '..', a control character, no path at all */
    assert_int_equal(parse(o, 2, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    o[2] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "a/b");
    assert_int_equal(parse(o, 3, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    o[2] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "..");
    assert_int_equal(parse(o, 3, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    o[2] = (m2m_coap_opt)OPT(M2M_COAP_OPT_URI_PATH, "a\nb");
    assert_int_equal(parse(o, 3, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(parse(o, 1, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_string_equal(rsp.rqi, "r"); /* every refusal echoes the RQI */
}

static void test_refusals(void **state)
{
    m2m_coap_opt o[] = {OPT(M2M_COAP_OPT_URI_PATH, "cse-base"), OPT(M2M_COAP_OPT_RQI, "r1"),
                        OPT(M2M_COAP_OPT_FR, "Cdev"), OPT(M2M_COAP_OPT_FR, "Cother")};
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int fmt;
    (void)state;
    /* no RQI */
    assert_int_equal(parse(o, 1, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "oneM2M-RQI"));
    /* two From options: which one would the CSE believe? neither */
    assert_int_equal(parse(o, 4, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "more than once"));
    /* a NUL or control character inside From */
    o[2] = (m2m_coap_opt){M2M_COAP_OPT_FR, (const uint8_t *)"C\0x", 3};
    assert_int_equal(parse(o, 3, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    /* a POST without TY is a NOTIFY */
    o[2] = (m2m_coap_opt)OPT(M2M_COAP_OPT_FR, "Cdev");
    assert_int_equal(parse(o, 3, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_OPERATION_NOT_ALLOWED);
    /* FETCH (5) is no oneM2M operation */
    assert_int_equal(parse(o, 3, 5, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_OPERATION_NOT_ALLOWED);
    /* unsupported release */
    o[3] = (m2m_coap_opt)OPT(M2M_COAP_OPT_RVI, "9");
    assert_int_equal(parse(o, 4, M2M_COAP_GET, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_RELEASE_VERSION_NOT_SUPPORTED);
}

static void test_formats(void **state)
{
    m2m_coap_opt o[] = {OPT(M2M_COAP_OPT_URI_PATH, "cse-base"), OPT(M2M_COAP_OPT_RQI, "r1"),
                        {M2M_COAP_OPT_TY, TY_AE, 1}, {M2M_COAP_OPT_CONTENT_FORMAT, CBOR, 1},
                        {M2M_COAP_OPT_ACCEPT, RES_JSON, 2}};
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int fmt;
    (void)state;
    /* CBOR in: the same tree as the JSON body, and the answer in CBOR */
    assert_int_equal(parse_bytes(o, 4, M2M_COAP_POST, AE_CBOR, sizeof AE_CBOR, &req, &fmt, &rsp), 0);
    assert_int_equal(fmt, M2M_COAP_FMT_CBOR);
    {
        cJSON *json = cJSON_Parse(AE_BODY);
        assert_true(cJSON_Compare(req.pc, json, 1));
        cJSON_Delete(json);
    }
    m2m_prim_req_clear(&req);
    o[3] = (m2m_coap_opt){M2M_COAP_OPT_CONTENT_FORMAT, RES_CBOR, 2};
    assert_int_equal(parse_bytes(o, 4, M2M_COAP_POST, AE_CBOR, sizeof AE_CBOR, &req, &fmt, &rsp), 0);
    assert_int_equal(fmt, M2M_COAP_FMT_RES_CBOR);
    m2m_prim_req_clear(&req);
    /* JSON text said to be CBOR, and a CBOR map with a key twice: 4000, saying why */
    assert_int_equal(parse(o, 4, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "CBOR payload: "));
    {
        static const uint8_t twice[] = {0xa1, 0x66, 'm', '2', 'm', ':', 'a', 'e', 0xa2, 0x63, 'a', 'p', 'i', 0x62,
                                        'R', 'a', 0x63, 'a', 'p', 'i', 0x62, 'R', 'b'};
        assert_int_equal(parse_bytes(o, 4, M2M_COAP_POST, twice, sizeof twice, &req, &fmt, &rsp), -1);
        assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
        assert_non_null(strstr(rsp.dbg, "duplicate member \"api\" in m2m:ae"));
    }
    /* a format not served: 4015 */
    o[3] = (m2m_coap_opt){M2M_COAP_OPT_CONTENT_FORMAT, XML, 1};
    assert_int_equal(parse(o, 4, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_UNSUPPORTED_MEDIA_TYPE);
    /* no Content-Format on a CREATE */
    assert_int_equal(parse(o, 3, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_UNSUPPORTED_MEDIA_TYPE);
    /* vnd.onem2m-res+json in, and the answer in what Accept asks */
    o[3] = (m2m_coap_opt){M2M_COAP_OPT_CONTENT_FORMAT, RES_JSON, 2};
    assert_int_equal(parse(o, 5, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), 0);
    assert_int_equal(fmt, M2M_COAP_FMT_RES_JSON);
    m2m_prim_req_clear(&req);
    /* JSON in, CBOR out */
    o[4] = (m2m_coap_opt){M2M_COAP_OPT_ACCEPT, CBOR, 1};
    assert_int_equal(parse(o, 5, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), 0);
    assert_int_equal(fmt, M2M_COAP_FMT_CBOR);
    m2m_prim_req_clear(&req);
    /* an Accept this Registrar cannot answer in: 4.06 */
    o[4] = (m2m_coap_opt){M2M_COAP_OPT_ACCEPT, XML, 1};
    assert_int_equal(parse(o, 5, M2M_COAP_POST, AE_BODY, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_NOT_ACCEPTABLE);
    assert_int_equal(m2m_rsc_coap_code(rsp.rsc), 406);
    /* strict JSON: a member named twice */
    o[4] = (m2m_coap_opt){M2M_COAP_OPT_ACCEPT, JSON, 1};
    assert_int_equal(parse(o, 5, M2M_COAP_POST, "{\"m2m:ae\":{\"api\":\"Ra\",\"api\":\"Rb\"}}", &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    /* no payload */
    assert_int_equal(parse(o, 5, M2M_COAP_POST, NULL, &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
}

static void test_ty_and_token(void **state)
{
    m2m_coap_opt o[] = {OPT(M2M_COAP_OPT_URI_PATH, "~"), OPT(M2M_COAP_OPT_URI_PATH, "in-cse"),
                        OPT(M2M_COAP_OPT_RQI, "r1"), {M2M_COAP_OPT_TY, TY_KGN, 2},
                        {M2M_COAP_OPT_CONTENT_FORMAT, JSON, 1}, OPT(M2M_COAP_OPT_URI_QUERY, "rcn=1"),
                        OPT(M2M_COAP_OPT_URI_QUERY, "tkns=abcdefghijklmnopqrstuv"),
                        OPT(M2M_COAP_OPT_URI_QUERY, "tkns=second")};
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int fmt;
    (void)state;
    assert_int_equal(parse(o, 7, M2M_COAP_POST, "{\"m2m:kgn\":{}}", &req, &fmt, &rsp), 0);
    assert_int_equal(req.ty, 10100);
    /* Tokens travel in the Uri-Query as tkns (TS-0008 6.2.2.3); other parameters are ignored */
    assert_string_equal(req.token, "abcdefghijklmnopqrstuv");
    assert_false(req.has_fr); /* From absent: the token's enrolled ID is assigned */
    m2m_prim_req_clear(&req);
    assert_int_equal(parse(o, 8, M2M_COAP_POST, "{\"m2m:kgn\":{}}", &req, &fmt, &rsp), -1);
    assert_int_equal(rsp.rsc, M2M_RSC_BAD_REQUEST);
    /* TY 0 or wider than 16 bits */
    o[3] = (m2m_coap_opt){M2M_COAP_OPT_TY, (const uint8_t *)"\x01\x00\x00", 3};
    assert_int_equal(parse(o, 5, M2M_COAP_POST, "{\"m2m:kgn\":{}}", &req, &fmt, &rsp), -1);
    o[3] = (m2m_coap_opt){M2M_COAP_OPT_TY, (const uint8_t *)"", 0};
    assert_int_equal(parse(o, 5, M2M_COAP_POST, "{\"m2m:kgn\":{}}", &req, &fmt, &rsp), -1);
}

static void test_render(void **state)
{
    m2m_prim_rsp rsp;
    m2m_coap_out out;
    (void)state;
    memset(&rsp, 0, sizeof rsp);
    rsp.rsc = M2M_RSC_CREATED;
    snprintf(rsp.rqi, sizeof rsp.rqi, "r1");
    snprintf(rsp.location, sizeof rsp.location, "/in-cse/Cdev");
    rsp.pc = cJSON_Parse("{\"m2m:ae\":{\"ri\":\"Cdev\"}}");
    assert_int_equal(m2m_coap_render_response(&rsp, M2M_COAP_FMT_RES_JSON, &out), 0);
    assert_int_equal(out.code, 201);
    assert_int_equal(out.rsc, 2001);
    assert_string_equal(out.rqi, "r1");
    assert_int_equal(out.nloc, 3); /* Location-Path: "~" "in-cse" "Cdev" */
    assert_memory_equal(out.loc[0], "~", 1);
    assert_int_equal(out.loc_len[1], 6);
    assert_memory_equal(out.loc[2], "Cdev", 4);
    assert_int_equal(out.format, M2M_COAP_FMT_RES_JSON);
    assert_string_equal(out.payload, "{\"m2m:ae\":{\"ri\":\"Cdev\"}}");
    m2m_coap_out_clear(&out);
    m2m_prim_rsp_clear(&rsp);
    /* the same answer in CBOR: the same tree */
    rsp.pc = cJSON_Parse("{\"m2m:ae\":{\"ri\":\"Cdev\",\"ty\":2,\"rr\":false}}");
    assert_int_equal(m2m_coap_render_response(&rsp, M2M_COAP_FMT_RES_CBOR, &out), 0);
    assert_int_equal(out.format, M2M_COAP_FMT_RES_CBOR);
    {
        static const uint8_t want[] = {0xa1, 0x66, 'm', '2', 'm', ':', 'a', 'e', 0xa3, 0x62, 'r', 'i', 0x64, 'C',
                                       'd', 'e', 'v', 0x62, 't', 'y', 0x02, 0x62, 'r', 'r', 0xf4};
        assert_int_equal(out.payload_len, sizeof want);
        assert_memory_equal(out.payload, want, sizeof want);
    }
    m2m_coap_out_clear(&out);
    m2m_prim_rsp_clear(&rsp);
    /* an error in CBOR: {"m2m:dbg": ...} */
    m2m_prim_error(&rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "spoofed");
    assert_int_equal(m2m_coap_render_response(&rsp, M2M_COAP_FMT_CBOR, &out), 0);
    assert_int_equal(out.format, M2M_COAP_FMT_CBOR);
    {
        static const uint8_t want[] = {0xa1, 0x67, 'm', '2', 'm', ':', 'd', 'b', 'g', 0x67, 's', 'p', 'o', 'o', 'f',
                                       'e', 'd'};
        assert_int_equal(out.payload_len, sizeof want);
        assert_memory_equal(out.payload, want, sizeof want);
    }
    m2m_coap_out_clear(&out);
    m2m_prim_rsp_clear(&rsp);
    /* an error: m2m:dbg, and the RSC -> CoAP code table of TS-0008 6.2.4 */
    m2m_prim_error(&rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "spoofed");
    assert_int_equal(m2m_coap_render_response(&rsp, M2M_COAP_FMT_JSON, &out), 0);
    assert_int_equal(out.code, 403);
    assert_int_equal(out.rsc, 4106);
    assert_int_equal(out.nloc, 0);
    assert_string_equal(out.payload, "{\"m2m:dbg\":\"spoofed\"}");
    m2m_coap_out_clear(&out);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_OK), 205);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_DELETED), 202);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_UPDATED), 204);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_RELEASE_VERSION_NOT_SUPPORTED), 501);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_CONFLICT), 403);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_ALREADY_EXISTS), 400);
    assert_int_equal(m2m_rsc_coap_code(M2M_RSC_UNSUPPORTED_MEDIA_TYPE), 415);
    /* a 2002 without content: no payload, no Content-Format */
    memset(&rsp, 0, sizeof rsp);
    rsp.rsc = M2M_RSC_DELETED;
    assert_int_equal(m2m_coap_render_response(&rsp, M2M_COAP_FMT_JSON, &out), 0);
    assert_int_equal(out.payload_len, 0);
    assert_int_equal(out.format, -1);
    m2m_coap_out_clear(&out);
}

static void test_segments(void **state)
{
    char buf[64];
    const char *seg[4];
    size_t len[4];
    int n;
    (void)state;
    assert_int_equal(m2m_coap_path_segments("//sp/in-cse/x", buf, sizeof buf, seg, len, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(seg[0], "_", 1);
    assert_memory_equal(seg[1], "sp", 2);
    assert_int_equal(m2m_coap_path_segments("cse-base/a", buf, sizeof buf, seg, len, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(m2m_coap_path_segments("/a/b/c/d", buf, sizeof buf, seg, len, 4, &n), -1); /* 5 segments */
    assert_int_equal(m2m_coap_path_segments("/a//b", buf, sizeof buf, seg, len, 4, &n), -1);
    assert_int_equal(m2m_coap_path_segments("/", buf, sizeof buf, seg, len, 4, &n), -1);
    assert_int_equal(m2m_coap_path_segments("", buf, sizeof buf, seg, len, 4, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_maps), cmocka_unit_test(test_paths),         cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_formats),     cmocka_unit_test(test_ty_and_token), cmocka_unit_test(test_render),
        cmocka_unit_test(test_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
