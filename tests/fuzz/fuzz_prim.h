/* SPDX-License-Identifier: Apache-2.0 */
/* What the harnesses of the two bindings (http_request.c, coap_request.c) check a parsed request and a rendered
 * refusal with: the same primitive comes out of either, and a refusal says why in either format. */
#ifndef M2M_FUZZ_PRIM_H
#define M2M_FUZZ_PRIM_H

#include <string.h>

#include "onem2m/cbor.h"
#include "onem2m/primitive.h"
#include "fuzz_util.h"

/* rc: what the binding's parse returned. Accepted: a request the CSE can take; refused: a oneM2M error with a
 * reason, and nothing parsed left behind. */
static inline void fuzz_check_parsed(int rc, const m2m_prim_req *req, const m2m_prim_rsp *rsp)
{
    if (rc == 0) {
        FUZZ_CHECK(req->to[0] != '\0' && memchr(req->to, '\0', sizeof req->to) != NULL);
        FUZZ_CHECK(req->rqi[0] != '\0' && memchr(req->rqi, '\0', sizeof req->rqi) != NULL);
        FUZZ_CHECK((req->op == M2M_OP_CREATE || req->op == M2M_OP_UPDATE) == (req->pc != NULL));
        FUZZ_CHECK(req->pc == NULL || cJSON_IsObject(req->pc));
        FUZZ_CHECK(req->op != M2M_OP_CREATE || req->ty > 0);
    } else {
        FUZZ_CHECK(rsp->rsc >= 4000 && req->pc == NULL && memchr(rsp->dbg, '\0', sizeof rsp->dbg) != NULL);
    }
}

/* A refusal's body as sent: {"m2m:dbg": reason}, well-formed JSON or CBOR (valid UTF-8 in either). */
static inline void fuzz_check_dbg(const void *body, size_t len, int cbor)
{
    m2m_err err = {0};
    cJSON *j = cbor ? m2m_cbor_decode_strict(body, len, &err) : cJSON_ParseWithLength(body, len);
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "m2m:dbg")));
    cJSON_Delete(j);
}

#endif
