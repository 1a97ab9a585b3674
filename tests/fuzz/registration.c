/* SPDX-License-Identifier: Apache-2.0 */
/* Registration bodies (Step 5) through the CSE, with a real SQLite store in a temporary directory. The input is
 * one JSON body, used for everything a Registree sends a body for: CREATE <AE> (ty 2) as the AE Cfuzz, then under
 * it CREATE <container> and under that CREATE <contentInstance>, then CREATE <remoteCSE> (ty 16) as the CSE
 * /fuzz-cse; each resource created from it is retrieved and updated with it too (so its stored attributes are
 * read back). Where the input does not create the AE or the container, a fixed one stands in, so the later steps
 * still run. Each input deletes what it created: the store is the same for every input, and runs are repeatable
 * (the clock is set to 2025-01-01 when the harness starts, so expiration times do not depend on the year either).
 * The input is parsed as the binding parses a body (strict JSON).
 * E.g. {"m2m:ae": {"api": "Rapp", "rr": false, "srv": ["3"]}, "m2m:cnt": {"rn": "temp"}, "m2m:cin": {"con": "21"}} */
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registrar/cse.h"
#include "util/clock.h"

static m2m_store *store;
static m2m_cse cse;
static cJSON *fixed_ae, *fixed_cnt;

static void teardown(void)
{
    m2m_store_close(store);
    cJSON_Delete(fixed_ae);
    cJSON_Delete(fixed_cnt);
}

static void setup(void)
{
    char path[640];
    m2m_err err;

    m2m_clock_set_offset(1735689600 - (int64_t)time(NULL));
    snprintf(path, sizeof path, "%s/store.db", fuzz_tmpdir());
    store = m2m_store_open(path, 1, &err);
    FUZZ_CHECK(store != NULL && m2m_store_set_identity(store, "/in-cse", "cse-base", &err) == 0 &&
               m2m_cse_init(&cse, store, &err) == 0);
    fixed_ae = cJSON_Parse("{\"m2m:ae\": {\"api\": \"Rfuzz\", \"rr\": false, \"srv\": [\"3\"]}}");
    fixed_cnt = cJSON_Parse("{\"m2m:cnt\": {}}");
    FUZZ_CHECK(fixed_ae != NULL && fixed_cnt != NULL);
    atexit(teardown); /* before the directory goes: atexit runs last-registered first */
}

/* The CSE's answer: with no store writer (cse.writer NULL) every write runs at once, so before m2m_cse_handle
 * returns. */
static void keep_answer(void *arg, m2m_prim_rsp *rsp, const m2m_peer *bind)
{
    m2m_prim_rsp *out = arg;
    FUZZ_CHECK(bind == NULL && out->rsc == 0);
    *out = *rsp;
    rsp->pc = NULL; /* moved */
}

/* One request from the Registree as (bound on a PSK context); returns the RSC, and the new resource's address in
 * location (when not NULL) on 2001. */
static int request(const char *as, m2m_op op, const char *to, int ty, cJSON *pc, char location[1024])
{
    m2m_peer peer;
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int rsc;

    memset(&peer, 0, sizeof peer);
    memset(&req, 0, sizeof req);
    memset(&rsp, 0, sizeof rsp);
    snprintf(peer.registree_id, sizeof peer.registree_id, "%s", as);
    snprintf(peer.mechanism, sizeof peer.mechanism, "psk");
    req.op = op;
    snprintf(req.to, sizeof req.to, "%s", to);
    snprintf(req.fr, sizeof req.fr, "%s", as);
    req.has_fr = 1;
    snprintf(req.rqi, sizeof req.rqi, "fuzz");
    snprintf(req.rvi, sizeof req.rvi, "3");
    req.ty = ty;
    req.pc = pc; /* not owned: the caller frees it */
    m2m_cse_handle(&cse, &peer, NULL, &req, keep_answer, &rsp);
    FUZZ_CHECK(rsp.rsc != 0 && strcmp(rsp.rqi, "fuzz") == 0);
    rsc = rsp.rsc;
    if (rsc == M2M_RSC_CREATED || rsc == M2M_RSC_OK || rsc == M2M_RSC_UPDATED)
        FUZZ_CHECK(rsp.pc != NULL);
    if (rsc == M2M_RSC_CREATED) {
        FUZZ_CHECK(strncmp(rsp.location, "/in-cse/", 8) == 0);
        if (location != NULL)
            memcpy(location, rsp.location, sizeof rsp.location);
    }
    m2m_prim_rsp_clear(&rsp);
    return rsc;
}

/* Reads a resource created from the input back, then updates it with the input. */
static void read_and_update(const char *as, const char *location, cJSON *pc)
{
    FUZZ_CHECK(request(as, M2M_OP_RETRIEVE, location, 0, NULL, NULL) == M2M_RSC_OK);
    request(as, M2M_OP_UPDATE, location, 0, pc, NULL);
    FUZZ_CHECK(request(as, M2M_OP_RETRIEVE, location, 0, NULL, NULL) == M2M_RSC_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char ae[1024], cnt[1024], cin[1024], csr[1024];
    m2m_err err;
    cJSON *pc = m2m_json_parse_strict((const char *)data, size, &err);

    if (pc == NULL)
        return 0; /* the HTTP binding refuses it before the CSE sees it */
    if (store == NULL)
        setup();

    if (request("Cfuzz", M2M_OP_CREATE, "/in-cse", M2M_TY_AE, pc, ae) == M2M_RSC_CREATED)
        read_and_update("Cfuzz", ae, pc);
    else
        FUZZ_CHECK(request("Cfuzz", M2M_OP_CREATE, "/in-cse", M2M_TY_AE, fixed_ae, ae) == M2M_RSC_CREATED);
    if (request("Cfuzz", M2M_OP_CREATE, ae, M2M_TY_CNT, pc, cnt) == M2M_RSC_CREATED)
        read_and_update("Cfuzz", cnt, pc);
    else
        FUZZ_CHECK(request("Cfuzz", M2M_OP_CREATE, ae, M2M_TY_CNT, fixed_cnt, cnt) == M2M_RSC_CREATED);
    if (request("Cfuzz", M2M_OP_CREATE, cnt, M2M_TY_CIN, pc, cin) == M2M_RSC_CREATED)
        read_and_update("Cfuzz", cin, pc);
    FUZZ_CHECK(request("Cfuzz", M2M_OP_RETRIEVE, cnt, 0, NULL, NULL) == M2M_RSC_OK);
    /* Deregistration takes the whole subtree with it. */
    FUZZ_CHECK(request("Cfuzz", M2M_OP_DELETE, ae, 0, NULL, NULL) == M2M_RSC_DELETED);

    if (request("/fuzz-cse", M2M_OP_CREATE, "/in-cse", M2M_TY_CSR, pc, csr) == M2M_RSC_CREATED) {
        read_and_update("/fuzz-cse", csr, pc);
        FUZZ_CHECK(request("/fuzz-cse", M2M_OP_DELETE, csr, 0, NULL, NULL) == M2M_RSC_DELETED);
    }
    cJSON_Delete(pc);
    return 0;
}
