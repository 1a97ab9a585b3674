/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON checks of a oneM2M body (registrar/attrs.c) through m2m_cse_create_attrs, the smallest public function
 * that takes a CREATE body apart, and m2m_attrs_check for an UPDATE, for every resource type the Registrar knows
 * and two it refuses, in Release 1 and 3. Input: the JSON body, e.g.
 * {"m2m:ae": {"api": "Rapp", "rr": false, "srv": ["3"]}}, parsed as the binding parses it (strict JSON). The clock
 * is set to 2025-01-01 when the harness starts, so whether a timestamp is in the future does not depend on the
 * year the harness runs in. */
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registrar/attrs.h"
#include "registrar/cse.h"
#include "util/clock.h"

static const int TYPES[] = {M2M_TY_AE, M2M_TY_CSR, M2M_TY_CNT, M2M_TY_CIN, M2M_TY_CB, M2M_TY_KGN};
static const char *const RELEASES[] = {"1", "3"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    m2m_err err;
    cJSON *pc;

    if (!ready) {
        m2m_clock_set_offset(1735689600 - (int64_t)time(NULL));
        ready = 1;
    }
    if ((pc = m2m_json_parse_strict((const char *)data, size, &err)) == NULL)
        return 0;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0] * 2; i++) {
        int ty = TYPES[i / 2];
        const char *root = m2m_cse_root_name(ty), *rvi = RELEASES[i % 2], *rn = NULL;
        m2m_prim_req req;
        m2m_prim_rsp rsp;
        cJSON *attrs;
        char why[256];

        memset(&req, 0, sizeof req);
        memset(&rsp, 0, sizeof rsp);
        req.op = M2M_OP_CREATE;
        req.ty = ty;
        snprintf(req.rvi, sizeof req.rvi, "%s", rvi);
        req.pc = pc;
        attrs = m2m_cse_create_attrs(&req, &rn, &rsp);
        if (attrs != NULL) {
            /* What gets stored: the body's attributes without rn, which has its own column. */
            FUZZ_CHECK(cJSON_IsObject(attrs) && cJSON_GetObjectItemCaseSensitive(attrs, "rn") == NULL);
            FUZZ_CHECK(rn == NULL || m2m_cse_valid_rn(rn));
            FUZZ_CHECK(m2m_attrs_check(ty, attrs, 1, rvi, m2m_clock_now(), why, sizeof why) == 0);
            cJSON_Delete(attrs);
        } else {
            FUZZ_CHECK(rsp.rsc == M2M_RSC_BAD_REQUEST || rsp.rsc == M2M_RSC_INTERNAL_SERVER_ERROR);
        }
        if (root != NULL && m2m_attrs_check(ty, cJSON_GetObjectItemCaseSensitive(pc, root), 0, rvi, m2m_clock_now(),
                                            why, sizeof why) != 0)
            FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0');
        m2m_prim_rsp_clear(&rsp);
    }
    cJSON_Delete(pc);
    return 0;
}
