/* SPDX-License-Identifier: Apache-2.0 */
/* The CSE's decisions, driven in-process with a real store (SQLite; PostgreSQL in unit.test_cse.pg): registration
 * (Step 5) and originator binding for every rule, each with a positive and a negative case. The daemon-level tests
 * repeat the key ones over TLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binding/http_server.h"
#include "fixture_store.h"
#include "fixture_tmpdir.h"
#include "onem2m/status.h"
#include "registrar/attrs.h"
#include "registrar/cse.h"
#include "util/clock.h"
#include "store/store.h"

#include "fixture_cse.h"

/* Runs one request as the Registrar receives it over HTTP: the body goes through the binding's parser (the strict
 * JSON of every request body), then the CSE. Returns the RSC; dbg (256 bytes) gets the reason of an error and
 * loc (1024 bytes, or NULL) the Content-Location. */
static int run_wire(fixture *f, const char *as, const char *method, const char *path, const char *from,
                    const char *ctype, const char *body, char *dbg, char *loc)
{
    m2m_http_in in = {method, path, ctype, from, "t", "3", NULL, body, body ? strlen(body) : 0, NULL};
    m2m_http_format format;
    m2m_peer p = peer(as);
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int rsc;
    memset(&rsp, 0, sizeof rsp);
    if (m2m_http_parse_request(&in, &req, &format, &rsp) == 0)
        m2m_cse_handle(&f->cse, &p, NULL, &req, keep_answer, &rsp);
    rsc = rsp.rsc;
    snprintf(dbg, 256, "%s", rsp.dbg);
    if (loc != NULL)
        snprintf(loc, 1024, "%s", rsp.location);
    m2m_prim_rsp_clear(&rsp);
    m2m_prim_req_clear(&req);
    return rsc;
}

static const char AE[] = "{\"m2m:ae\":{\"api\":\"Rapp\",\"rr\":false,\"srv\":[\"3\"]}}";
static const char CSR[] = "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"rr\":true,\"srv\":[\"3\"],\"cst\":2}}";

static void test_ae_registration_from_rules(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    /* From = enrolled ID */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, &rsp), M2M_RSC_CREATED);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:ae"), "aei")->valuestring, "Cdev1");
    assert_string_equal(rsp.location, "/in-cse/Cdev1");
    m2m_prim_rsp_clear(&rsp);
    /* From = C: the enrolled ID is assigned */
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "/in-cse", "C", 2, AE, &rsp), M2M_RSC_CREATED);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:ae"), "aei")->valuestring, "Cdev2");
    m2m_prim_rsp_clear(&rsp);
    /* From absent: likewise */
    assert_int_equal(run(f, "Cdev3", M2M_OP_CREATE, "cse-base", NULL, 2, AE, &rsp), M2M_RSC_CREATED);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:ae"), "aei")->valuestring, "Cdev3");
    m2m_prim_rsp_clear(&rsp);
    /* Any other ID: 4106, nothing created */
    assert_int_equal(run(f, "Cdev4", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cdev4", M2M_OP_CREATE, "/in-cse", "Cother", 2, AE, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cdev4", M2M_OP_RETRIEVE, "/in-cse/Cdev4", "Cdev4", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND); /* still not registered: its registration path is not found */
}

static void test_register_twice(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL),
                     M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "C", 2,
                         "{\"m2m:ae\":{\"rn\":\"other\",\"api\":\"Rapp\",\"rr\":false,\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED);
}

static void test_api_and_attributes(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2,
                         "{\"m2m:ae\":{\"api\":\"Xapp\",\"rr\":false,\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2,
                         "{\"m2m:ae\":{\"api\":\"Rapp\",\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* rr missing */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2,
                         "{\"m2m:ae\":{\"api\":\"Rapp\",\"rr\":false,\"srv\":[\"3\"],\"aei\":\"Cx\"}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* server-set attribute */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2,
                         "{\"m2m:ae\":{\"api\":\"Rapp\",\"rr\":\"no\",\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* wrong kind */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, "{\"m2m:cnt\":{}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* wrong root */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2,
                         "{\"m2m:ae\":{\"rn\":\"a/b\",\"api\":\"Rapp\",\"rr\":false,\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* bad rn */
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", "/mn-cse", 16,
                         "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"rr\":true,\"srv\":[\"3\"],\"cst\":1e38}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* beyond any integer type */
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", "/mn-cse", 16,
                         "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"rr\":true,\"srv\":[\"3\"],"
                         "\"cst\":1152921504606846976}}", NULL),
                     M2M_RSC_BAD_REQUEST); /* 2^60: past 2^53, where doubles skip whole numbers */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2,
                         "{\"m2m:ae\":{\"api\":\"rapp\",\"rr\":false,\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "/in-cse", "Cdev2", 2,
                         "{\"m2m:ae\":{\"api\":\"Napp\",\"rr\":false,\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_CREATED);
}

static void test_remote_cse(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    /* An AE-ID in From (and an AE-bound context) cannot create a <remoteCSE> */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 16, CSR, NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    /* a CSE cannot register as an AE */
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", "/mn-cse", 2, AE, NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    /* From must be the enrolled CSE-ID */
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", "/other-cse", 16, CSR, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", NULL, 16, CSR, NULL), M2M_RSC_BAD_REQUEST);
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", "/mn-cse", 16, CSR, &rsp), M2M_RSC_CREATED);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:csr"), "csi")->valuestring, "/mn-cse");
    m2m_prim_rsp_clear(&rsp);
    assert_int_equal(run(f, "/mn-cse", M2M_OP_CREATE, "/in-cse", "/mn-cse", 16, CSR, NULL),
                     M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED);
    assert_int_equal(run(f, "/mn-cse", M2M_OP_RETRIEVE, "/in-cse", "/mn-cse", 0, NULL, NULL), M2M_RSC_OK);
}

static void test_binding_after_registration(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    char cnt_loc[1024];
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "/in-cse", "Cdev2", 2, AE, NULL), M2M_RSC_CREATED);
    /* own resources: yes */
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "cse-base/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "cse-base/Cdev1", "Cdev1", 3,
                         "{\"m2m:cnt\":{\"rn\":\"temp\"}}", &rsp), M2M_RSC_CREATED);
    snprintf(cnt_loc, sizeof cnt_loc, "%s", rsp.location);
    m2m_prim_rsp_clear(&rsp);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "cse-base/Cdev1/temp", "Cdev1", 4,
                         "{\"m2m:cin\":{\"con\":\"21.5\",\"cnf\":\"text/plain:0\"}}", NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, cnt_loc, "Cdev1", 0, NULL, &rsp), M2M_RSC_OK);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:cnt"), "cni")->valueint, 1);
    m2m_prim_rsp_clear(&rsp);
    /* spoofed originator on the connection: 4106 */
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "Cdev2", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", NULL, 0, NULL, NULL), M2M_RSC_BAD_REQUEST);
    /* another Registree's resources: answered as if missing (4004, same text), for every operation */
    assert_int_equal(run(f, "Cdev2", M2M_OP_RETRIEVE, "cse-base/Cdev1/temp", "Cdev2", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev2", M2M_OP_UPDATE, "cse-base/Cdev1", "Cdev2", 0,
                         "{\"m2m:ae\":{\"lbl\":[\"x\"]}}", NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "cse-base/Cdev1/temp", "Cdev2", 4,
                         "{\"m2m:cin\":{\"con\":\"x\"}}", NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev2", M2M_OP_DELETE, "cse-base/Cdev1", "Cdev2", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    {
        /* no existence oracle: an existing foreign resource and a missing one give the same answer */
        m2m_prim_rsp a, b;
        run(f, "Cdev2", M2M_OP_RETRIEVE, "cse-base/Cdev1/temp", "Cdev2", 0, NULL, &a);
        run(f, "Cdev2", M2M_OP_RETRIEVE, "cse-base/Cdev1/nothing", "Cdev2", 0, NULL, &b);
        assert_int_equal(a.rsc, b.rsc);
        assert_non_null(strstr(a.dbg, "no resource at cse-base/Cdev1/temp"));
        assert_non_null(strstr(b.dbg, "no resource at cse-base/Cdev1/nothing"));
        m2m_prim_rsp_clear(&a);
        m2m_prim_rsp_clear(&b);
    }
    /* and the owner still can */
    assert_int_equal(run(f, "Cdev1", M2M_OP_UPDATE, "cse-base/Cdev1", "Cdev1", 0,
                         "{\"m2m:ae\":{\"lbl\":[\"x\"]}}", NULL), M2M_RSC_UPDATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_UPDATE, "cse-base/Cdev1", "Cdev1", 0,
                         "{\"m2m:ae\":{\"api\":\"Rnew\"}}", NULL), M2M_RSC_BAD_REQUEST);
}

static void test_deregistration(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{\"rn\":\"c\"}}",
                         NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_DELETE, "/in-cse", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_DELETE, "/in-cse/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_DELETED);
    /* deregistered: its subtree is gone (4004, as TS-0004 answers) and it must register again */
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "cse-base/Cdev1/c", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_DELETE, "/in-cse/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{}}", NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "cse-base/Cdev1/c", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
}

static void test_addressing_and_types(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/other-cse/x", "Cdev1", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "cse-base/nothing", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    /* absolute addresses: our SP-ID only (the default m2m.localhost); another Service Provider is not served */
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "//m2m.localhost/in-cse/Cdev1", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "//evil.example.com/in-cse/Cdev1", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "//m2m.localhost.evil/in-cse/Cdev1", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "//m2m.localhos/in-cse/Cdev1", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 99, "{\"m2m:xyz\":{}}", NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 4, "{\"m2m:cin\":{\"con\":\"x\"}}",
                         NULL), M2M_RSC_OPERATION_NOT_ALLOWED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{\"rn\":\"c\"}}",
                         NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{\"rn\":\"c\"}}",
                         NULL), M2M_RSC_CONFLICT);
    assert_int_equal(run(f, "Cdev1", M2M_OP_UPDATE, "/in-cse", "Cdev1", 0, "{\"m2m:cb\":{}}", NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
}

/* Issue 8 item 3: a registered Registree cannot take the name another device registers under. */
static void test_name_squatting(void **state)
{
    fixture *f = *state;
    m2m_secret k = {0};
    m2m_err err;
    assert_int_equal(m2m_secret_set(&k, "0123456789abcdef", 16, &err), 0);
    assert_int_equal(m2m_store_enrol_psk(f->st, "Cvictim", &k, "00112233445566778899aabbccddeeff", &err), 0);
    assert_int_equal(m2m_store_enrol_psk(f->st, "/mn-victim", &k, "0112233445566778899aabbccddeeff0", &err), 0);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    /* a <container> under the CSEBase named after the victim: refused (creation only under one's registration) */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 3, "{\"m2m:cnt\":{\"rn\":\"Cvictim\"}}",
                         NULL), M2M_RSC_ORIGINATOR_HAS_NO_PRIVILEGE);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 3, "{\"m2m:cnt\":{}}", NULL),
                     M2M_RSC_ORIGINATOR_HAS_NO_PRIVILEGE);
    /* registering under another enrolled Registree's name: refused */
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "/in-cse", "Cdev2", 2,
                         "{\"m2m:ae\":{\"rn\":\"Cvictim\",\"api\":\"Rx\",\"rr\":false,\"srv\":[\"3\"]}}", NULL),
                     M2M_RSC_CONFLICT);
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "/in-cse", "Cdev2", 2,
                         "{\"m2m:ae\":{\"rn\":\"mn-victim\",\"api\":\"Rx\",\"rr\":false,\"srv\":[\"3\"]}}",
                         NULL), M2M_RSC_CONFLICT);
    /* a name of one's own choosing is fine, and so is one's own ID */
    assert_int_equal(run(f, "Cdev2", M2M_OP_CREATE, "/in-cse", "Cdev2", 2,
                         "{\"m2m:ae\":{\"rn\":\"sensor-2\",\"api\":\"Rx\",\"rr\":false,\"srv\":[\"3\"]}}",
                         NULL), M2M_RSC_CREATED);
    /* and the victim registers under its name */
    assert_int_equal(run(f, "Cvictim", M2M_OP_CREATE, "/in-cse", "Cvictim", 2, AE, NULL), M2M_RSC_CREATED);
    m2m_secret_clear(&k);
}

/* Issue 8 item 4: mni, mbs and mia bound a container's instances (the oldest leave first); per-Registree quotas. */
static void test_container_limits_and_quotas(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    m2m_quota q = {0};
    char big[40];
    const cJSON *cnt;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3,
                         "{\"m2m:cnt\":{\"rn\":\"c\",\"mni\":2,\"mbs\":10}}", NULL), M2M_RSC_CREATED);
    for (int i = 0; i < 5; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"m2m:cin\":{\"rn\":\"i%d\",\"con\":\"abcd\"}}", i);
        assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1/c", "Cdev1", 4, body, NULL), M2M_RSC_CREATED);
    }
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1/c", "Cdev1", 0, NULL, &rsp), M2M_RSC_OK);
    cnt = cJSON_GetObjectItem(rsp.pc, "m2m:cnt");
    assert_int_equal(cJSON_GetObjectItem(cnt, "cni")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cnt, "cbs")->valueint, 8);
    m2m_prim_rsp_clear(&rsp);
    /* the newest two stayed */
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1/c/i0", "Cdev1", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1/c/i3", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1/c/i4", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    /* mbs: 6 + 4 > 10: one more goes; a single instance over mbs is refused */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1/c", "Cdev1", 4,
                         "{\"m2m:cin\":{\"con\":\"abcdef\"}}", NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1/c/i3", "Cdev1", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    snprintf(big, sizeof big, "{\"m2m:cin\":{\"con\":\"%s\"}}", "0123456789a");
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1/c", "Cdev1", 4, big, NULL), M2M_RSC_NOT_ACCEPTABLE);
    /* mia: instances older than it leave, when one is added and when the container is read */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3,
                         "{\"m2m:cnt\":{\"rn\":\"aged\",\"mia\":3600}}", NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1/aged", "Cdev1", 4, "{\"m2m:cin\":{\"con\":\"x\"}}",
                         NULL), M2M_RSC_CREATED);
    {
        /* an instance stored two hours ago, as if it had been created then */
        m2m_resource aged = {0}, old = {0};
        m2m_err err;
        assert_int_equal(m2m_store_res_child(f->st, "Cdev1", "aged", &aged, &err), 0);
        snprintf(old.ri, sizeof old.ri, "cin-old");
        snprintf(old.rn, sizeof old.rn, "old");
        snprintf(old.pi, sizeof old.pi, "%s", aged.ri);
        snprintf(old.owner, sizeof old.owner, "Cdev1");
        old.ty = M2M_TY_CIN;
        old.attrs = (char *)"{\"con\":\"y\"}";
        old.ct = old.lt = (int64_t)time(NULL) - 7200;
        old.cs = 1;
        assert_int_equal(m2m_store_res_insert(f->st, &old, &err), 0);
        assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1/aged", "Cdev1", 0, NULL, &rsp), M2M_RSC_OK);
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rsp.pc, "m2m:cnt"), "cni")->valueint, 1);
        m2m_prim_rsp_clear(&rsp);
        assert_int_equal(m2m_store_res_get(f->st, "cin-old", &old, &err), -1); /* gone */
        m2m_resource_clear(&aged);
    }

    /* quotas: Cdev1 owns 1 AE + 2 containers + 3 instances = 6 resources */
    q.max_resources = 6;
    f->cse.quota = &q;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{}}", &rsp),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    assert_non_null(strstr(rsp.dbg, "quota"));
    m2m_prim_rsp_clear(&rsp);
    q.max_resources = 0;
    q.max_bytes = 1;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{}}", NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    q.max_bytes = 0;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse/Cdev1", "Cdev1", 3, "{\"m2m:cnt\":{}}", NULL),
                     M2M_RSC_CREATED);
    assert_true(q.refused == 2);
    f->cse.quota = NULL;
}

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now;
}

/* Issue 8 item 4: the per-Registree request rate, with an injected clock. */
static void test_request_rate(void **state)
{
    fixture *f = *state;
    m2m_quota q = {0};
    (void)f;
    q.rate = m2m_rate_new(2, 4, fake_clock); /* 2 a second, bursts of 4 */
    assert_non_null(q.rate);
    fake_now = 1000;
    for (int i = 0; i < 4; i++)
        assert_int_equal(m2m_rate_take(q.rate, "Ca"), 1);
    assert_int_equal(m2m_rate_take(q.rate, "Ca"), 0);
    assert_int_equal(m2m_rate_take(q.rate, "Cb"), 1); /* another Registree has its own bucket */
    fake_now += 499;
    assert_int_equal(m2m_rate_take(q.rate, "Ca"), 0);
    fake_now += 1;
    assert_int_equal(m2m_rate_take(q.rate, "Ca"), 1);
    fake_now += 10000; /* refills up to the burst, no more */
    for (int i = 0; i < 4; i++)
        assert_int_equal(m2m_rate_take(q.rate, "Ca"), 1);
    assert_int_equal(m2m_rate_take(q.rate, "Ca"), 0);
    /* through the CSE: 4005 naming the limit */
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    f->cse.quota = &q;
    for (int i = 0; i < 4; i++)
        assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_OPERATION_NOT_ALLOWED);
    f->cse.quota = NULL;
    m2m_rate_free(q.rate);
}

/* Issue 8: a registration body that says two things -- a second csi claiming the Registrar's own CSE-ID, a second
 * rn with a path in it, an ID cut at a NUL -- is refused with 4000 naming the member, and nothing is registered:
 * the check reads one value and the store would keep another. */
static void test_ambiguous_registration_bodies_refused(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    char dbg[256], loc[1024];
    const cJSON *m;
    int csi_count = 0;

    assert_int_equal(run_wire(f, "/mn-cse", "POST", "/~/in-cse", "/mn-cse", "application/json;ty=16",
                              "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"csi\":\"/mn-cse\",\"csi\":\"/in-cse\","
                              "\"rr\":true,\"srv\":[\"3\"]}}", dbg, NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_string_equal(dbg, "JSON body: duplicate member \"csi\" in m2m:csr");
    assert_int_equal(run_wire(f, "Cdev1", "POST", "/~/in-cse", "Cdev1", "application/json;ty=2",
                              "{\"m2m:ae\":{\"rn\":\"ok\",\"api\":\"Rapp\",\"rr\":false,\"srv\":[\"3\"],"
                              "\"rn\":\"../x/y\"}}", dbg, NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_string_equal(dbg, "JSON body: duplicate member \"rn\" in m2m:ae");
    assert_int_equal(run_wire(f, "Cdev1", "POST", "/~/in-cse", "Cdev1", "application/json;ty=2",
                              "{\"m2m:ae\":{\"rn\":\"Csensor1\\u0000evil\",\"api\":\"Rapp\",\"rr\":false,"
                              "\"srv\":[\"3\"]}}", dbg, NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_string_equal(dbg, "JSON body: string m2m:ae.rn holds a NUL character (\\u0000)");
    /* nothing was registered: both are still strangers */
    {
        m2m_resource none;
        m2m_err err;
        assert_int_equal(m2m_store_res_registration(f->st, "/mn-cse", &none, &err), -1);
        assert_int_equal(m2m_store_res_registration(f->st, "Cdev1", &none, &err), -1);
    }

    /* the registration said once: created, and its record carries one csi, the authenticated CSE-ID */
    assert_int_equal(run_wire(f, "/mn-cse", "POST", "/~/in-cse", "/mn-cse", "application/json;ty=16", CSR, dbg, loc),
                     M2M_RSC_CREATED);
    assert_int_equal(run(f, "/mn-cse", M2M_OP_RETRIEVE, loc, "/mn-cse", 0, NULL, &rsp), M2M_RSC_OK);
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(rsp.pc, "m2m:csr"))
        if (strcmp(m->string, "csi") == 0) {
            csi_count++;
            assert_string_equal(m->valuestring, "/mn-cse");
        }
    assert_int_equal(csi_count, 1);
    m2m_prim_rsp_clear(&rsp);

    /* an UPDATE body is parsed the same way, and nothing of a refused one is kept */
    assert_int_equal(run_wire(f, "Cdev1", "POST", "/~/in-cse", "Cdev1", "application/json;ty=2", AE, dbg, NULL),
                     M2M_RSC_CREATED);
    assert_int_equal(run_wire(f, "Cdev1", "PUT", "/~/in-cse/Cdev1", "Cdev1", "application/json",
                              "{\"m2m:ae\":{\"lbl\":[\"a\"],\"lbl\":[\"b\"]}}", dbg, NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_string_equal(dbg, "JSON body: duplicate member \"lbl\" in m2m:ae");
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "Cdev1", 0, NULL, &rsp), M2M_RSC_OK);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rsp.pc, "m2m:ae"), "lbl"));
    m2m_prim_rsp_clear(&rsp);
}

static void test_unbound_context(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "", M2M_OP_RETRIEVE, "/in-cse", "Cdev1", 0, NULL, NULL),
                     M2M_RSC_SECURITY_ASSOCIATION_REQUIRED);
    assert_int_equal(run(f, "", M2M_OP_CREATE, "/in-cse", "C", 2, AE, NULL), M2M_RSC_SECURITY_ASSOCIATION_REQUIRED);
}


/* ---- issue 9: what real CSEs and conformance suites do ---- */

static const cJSON *member(const m2m_prim_rsp *rsp, const char *root, const char *name)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(rsp->pc, root), name);
}

/* 1, 5: Release 1 has no srv; from 2a it is mandatory; its values are real releases. */
static void test_releases(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    next_rvi = "";
    assert_int_equal(run(f, "Crel1", M2M_OP_CREATE, "/in-cse", "Crel1", 2,
                         "{\"m2m:ae\":{\"api\":\"Rold\",\"rr\":false}}", NULL), M2M_RSC_CREATED);
    next_rvi = "1";
    assert_int_equal(run(f, "Crel1b", M2M_OP_CREATE, "/in-cse", "Crel1b", 2,
                         "{\"m2m:ae\":{\"api\":\"Rold\",\"rr\":false}}", NULL), M2M_RSC_CREATED);
    next_rvi = "3";
    assert_int_equal(run(f, "Crel3", M2M_OP_CREATE, "/in-cse", "Crel3", 2,
                         "{\"m2m:ae\":{\"api\":\"Rnew\",\"rr\":false}}", &rsp), M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "'srv'"));
    m2m_prim_rsp_clear(&rsp);
    assert_int_equal(run(f, "Crel3", M2M_OP_CREATE, "/in-cse", "Crel3", 2,
                         "{\"m2m:ae\":{\"api\":\"Rnew\",\"rr\":false,\"srv\":[\"3\",\"7\"]}}", &rsp),
                     M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "'7'"));
    m2m_prim_rsp_clear(&rsp);
    assert_int_equal(run(f, "Crel3", M2M_OP_CREATE, "/in-cse", "Crel3", 2,
                         "{\"m2m:ae\":{\"api\":\"Rnew\",\"rr\":false,\"srv\":[\"2a\",\"3\",\"4\",\"5\"]}}", NULL),
                     M2M_RSC_CREATED);
    /* the CSEBase shows srv to releases that have it */
    assert_int_equal(run(f, "Crel3", M2M_OP_RETRIEVE, "/in-cse", "Crel3", 0, NULL, &rsp), M2M_RSC_OK);
    assert_non_null(member(&rsp, "m2m:cb", "srv"));
    m2m_prim_rsp_clear(&rsp);
    next_rvi = "";
    assert_int_equal(run(f, "Crel1", M2M_OP_RETRIEVE, "/in-cse", "Crel1", 0, NULL, &rsp), M2M_RSC_OK);
    assert_null(member(&rsp, "m2m:cb", "srv"));
    m2m_prim_rsp_clear(&rsp);
}

/* 2, 3, 4, 6: a CSE clears a stale <remoteCSE>, reads the CSEBase, registers with optional attributes, updates,
 * carries its AEs' traffic, deregisters. */
static void test_registering_cse(void **state)
{
    fixture *f = *state;
    m2m_prim_rsp rsp;
    const char *full = "{\"m2m:csr\":{\"rn\":\"mn\",\"cb\":\"/id-mn/mn-base\",\"csi\":\"/id-mn\",\"cst\":2,"
                       "\"rr\":true,\"srv\":[\"3\"],\"poa\":[\"https://mn.example:8443\"],\"nl\":\"n1\","
                       "\"lbl\":[\"x\"],\"dcse\":[],\"csz\":[\"application/json\"],\"st\":0,\"ici\":true,"
                       "\"et\":\"20991231T235959\"}}";
    next_rvi = "3";
    /* before registration: its own would-be <remoteCSE> is not found, and nothing else is anyone's either */
    assert_int_equal(run(f, "/id-mn", M2M_OP_DELETE, "/in-cse/id-mn", "/id-mn", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "/in-cse/cse-base/mn", "/id-mn", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    /* the CSEBase: everything a registering CSE copies */
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "/in-cse", "/id-mn", 0, NULL, &rsp), M2M_RSC_OK);
    assert_string_equal(member(&rsp, "m2m:cb", "csi")->valuestring, "/in-cse");
    assert_int_equal(member(&rsp, "m2m:cb", "cst")->valueint, 1);
    assert_true(cJSON_IsArray(member(&rsp, "m2m:cb", "srt")));
    assert_true(cJSON_IsArray(member(&rsp, "m2m:cb", "poa")));
    assert_null(member(&rsp, "m2m:cb", "pi"));
    assert_non_null(member(&rsp, "m2m:cb", "ri"));
    assert_non_null(member(&rsp, "m2m:cb", "ct"));
    m2m_prim_rsp_clear(&rsp);
    /* attribute rules: unknown names refused by name; csi must be the authenticated one; et a future timestamp */
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse", "/id-mn", 16,
                         "{\"m2m:csr\":{\"cb\":\"/id-mn/b\",\"rr\":true,\"srv\":[\"3\"],\"zzz\":1}}", &rsp),
                     M2M_RSC_BAD_REQUEST);
    assert_non_null(strstr(rsp.dbg, "'zzz'"));
    m2m_prim_rsp_clear(&rsp);
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse", "/id-mn", 16,
                         "{\"m2m:csr\":{\"cb\":\"/id-mn/b\",\"rr\":true,\"srv\":[\"3\"],\"csi\":\"/in-cse\"}}", NULL),
                     M2M_RSC_BAD_REQUEST);
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse", "/id-mn", 16,
                         "{\"m2m:csr\":{\"cb\":\"/id-mn/b\",\"rr\":true,\"srv\":[\"3\"],\"et\":\"2099-12-31\"}}",
                         NULL), M2M_RSC_BAD_REQUEST);
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse", "/id-mn", 16,
                         "{\"m2m:csr\":{\"cb\":\"/id-mn/b\",\"rr\":true,\"srv\":[\"3\"],\"et\":\"20000101T000000\"}}",
                         NULL), M2M_RSC_BAD_REQUEST);
    /* registration with the optional attributes */
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse", "/id-mn", 16, full, &rsp), M2M_RSC_CREATED);
    assert_string_equal(member(&rsp, "m2m:csr", "et")->valuestring, "20991231T235959");
    assert_string_equal(member(&rsp, "m2m:csr", "csi")->valuestring, "/id-mn");
    m2m_prim_rsp_clear(&rsp);
    /* update of what a registered CSE updates */
    assert_int_equal(run(f, "/id-mn", M2M_OP_UPDATE, "/in-cse/id-mn", "/id-mn", 0,
                         "{\"m2m:csr\":{\"dcse\":[\"/id-asn\"],\"poa\":[\"https://mn2.example\"],\"srv\":[\"3\",\"4\"]}}",
                         NULL), M2M_RSC_UPDATED);
    /* its own forms of identity */
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "/in-cse/id-mn", "//m2m.localhost/id-mn", 0, NULL, NULL),
                     M2M_RSC_OK);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "/in-cse/id-mn", "//other.example/id-mn", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    /* an AE registered with the MN: its traffic over the MN's context */
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse/id-mn", "/id-mn/Cae1", 3, "{\"m2m:cnt\":{\"rn\":\"a1\"}}",
                         NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-mn/Cae1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-mn", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-mn/Cae2", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND); /* another AE behind the same CSE */
    assert_int_equal(run(f, "/id-mn", M2M_OP_UPDATE, "/in-cse/id-mn", "/id-mn/Cae1", 0,
                         "{\"m2m:csr\":{\"lbl\":[\"mine\"]}}", NULL), M2M_RSC_NOT_FOUND); /* not its CSE's record */
    /* another CSE part, nesting, an AE registered directly with us: refused */
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-other/Cae1", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-mn/Cae1/x", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cdirect", M2M_OP_CREATE, "/in-cse", "Cdirect", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-mn/Cdirect", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "/id-mn", M2M_OP_CREATE, "/in-cse", "/id-mn/Cae1", 10100, "{\"m2m:kgn\":{}}", NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED); /* keys belong to the CSE itself */
    /* deregistration: 2002, then its path is not found again */
    assert_int_equal(run(f, "/id-mn", M2M_OP_DELETE, "/in-cse/id-mn", "/id-mn", 0, NULL, NULL), M2M_RSC_DELETED);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "/in-cse/id-mn", "/id-mn", 0, NULL, NULL), M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "/id-mn", M2M_OP_RETRIEVE, "cse-base/mn/a1", "/id-mn/Cae1", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    next_rvi = "";
}

/* 7: the identity forms of an AE registered with us, and "-" for the CSEBase's name */
static void test_identity_forms(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "Cdev1", M2M_OP_CREATE, "/in-cse", "Cdev1", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "/in-cse/Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "//m2m.localhost/in-cse/Cdev1", 0, NULL, NULL),
                     M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "//evil.example/in-cse/Cdev1", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/Cdev1", "/other-cse/Cdev1", 0, NULL, NULL),
                     M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "/in-cse/-/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
    assert_int_equal(run(f, "Cdev1", M2M_OP_RETRIEVE, "-/Cdev1", "Cdev1", 0, NULL, NULL), M2M_RSC_OK);
}

/* 5: a registration past its expirationTime is removed with its subtree (the clock is moved, not waited for) */
static void test_registration_expiry(void **state)
{
    fixture *f = *state;
    char body[160], ts[16];
    int removed = 0;
    m2m_err err;
    m2m_attrs_format_time(m2m_clock_now() + 5, ts);
    snprintf(body, sizeof body, "{\"m2m:ae\":{\"api\":\"Rx\",\"rr\":false,\"et\":\"%s\"}}", ts);
    assert_int_equal(run(f, "Cshort", M2M_OP_CREATE, "/in-cse", "Cshort", 2, body, NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cshort", M2M_OP_CREATE, "/in-cse/Cshort", "Cshort", 3, "{\"m2m:cnt\":{\"rn\":\"c\"}}",
                         NULL), M2M_RSC_CREATED);
    /* a registration without et gets the default lifetime */
    assert_int_equal(run(f, "Clong", M2M_OP_CREATE, "/in-cse", "Clong", 2, AE, NULL), M2M_RSC_CREATED);
    assert_int_equal(m2m_cse_expire(&f->cse, 32, &removed, &err), 0);
    assert_int_equal(removed, 0);
    m2m_clock_set_offset(10);
    assert_int_equal(m2m_cse_expire(&f->cse, 32, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(run(f, "Cshort", M2M_OP_RETRIEVE, "/in-cse/Cshort/c", "Cshort", 0, NULL, NULL),
                     M2M_RSC_NOT_FOUND);
    assert_int_equal(run(f, "Clong", M2M_OP_RETRIEVE, "/in-cse/Clong", "Clong", 0, NULL, NULL), M2M_RSC_OK);
    /* the device registers again */
    assert_int_equal(run(f, "Cshort", M2M_OP_CREATE, "/in-cse", "Cshort", 2, AE, NULL), M2M_RSC_CREATED);
    m2m_clock_set_offset(0);
}

/* 8: --allow-app-id */
static void test_app_id_policy(void **state)
{
    fixture *f = *state;
    static const char *const allow[] = {"Rmeter*", "Nfleet?"};
    f->cse.app_ids = allow;
    f->cse.napp_ids = 2;
    assert_int_equal(run(f, "Ca", M2M_OP_CREATE, "/in-cse", "Ca", 2, "{\"m2m:ae\":{\"api\":\"Rmeter-7\",\"rr\":false}}",
                         NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cb", M2M_OP_CREATE, "/in-cse", "Cb", 2, "{\"m2m:ae\":{\"api\":\"Nfleet1\",\"rr\":false}}",
                         NULL), M2M_RSC_CREATED);
    assert_int_equal(run(f, "Cc", M2M_OP_CREATE, "/in-cse", "Cc", 2, "{\"m2m:ae\":{\"api\":\"Rcamera\",\"rr\":false}}",
                         NULL), M2M_RSC_APP_RULE_VALIDATION_FAILED);
    f->cse.app_ids = NULL;
    f->cse.napp_ids = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ae_registration_from_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_and_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_cse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_after_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deregistration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addressing_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_squatting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_limits_and_quotas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registering_cse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_id_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbound_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ambiguous_registration_bodies_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
