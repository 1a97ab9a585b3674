/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onem2m/cbor.h"
#include "onem2m/primitive.h"
#include "onem2m/status.h"

void m2m_prim_req_clear(m2m_prim_req *req)
{
    if (req != NULL) {
        cJSON_Delete(req->pc);
        memset(req, 0, sizeof *req);
    }
}

void m2m_prim_rsp_clear(m2m_prim_rsp *rsp)
{
    if (rsp != NULL) {
        cJSON_Delete(rsp->pc);
        memset(rsp, 0, sizeof *rsp);
    }
}

int m2m_prim_error(m2m_prim_rsp *rsp, int rsc, const char *fmt, ...)
{
    va_list ap;
    cJSON_Delete(rsp->pc);
    rsp->pc = NULL;
    rsp->location[0] = '\0';
    rsp->rsc = rsc;
    va_start(ap, fmt);
    vsnprintf(rsp->dbg, sizeof rsp->dbg, fmt, ap);
    va_end(ap);
    return rsc;
}

const char *m2m_op_name(m2m_op op)
{
    switch (op) {
    case M2M_OP_CREATE: return "CREATE";
    case M2M_OP_RETRIEVE: return "RETRIEVE";
    case M2M_OP_UPDATE: return "UPDATE";
    case M2M_OP_DELETE: return "DELETE";
    }
    return "?";
}

/* Release versions this Registrar speaks; a request without one is Release 1 and is accepted. */
static const char *const RELEASES[] = {"1", "2", "2a", "3", "4", "5"};

int m2m_release_supported(const char *rvi)
{
    for (size_t i = 0; i < sizeof RELEASES / sizeof RELEASES[0]; i++)
        if (strcmp(rvi, RELEASES[i]) == 0)
            return 1;
    return 0;
}

cJSON *m2m_prim_dbg(const m2m_prim_rsp *rsp)
{
    cJSON *dbg;
    if (rsp->rsc < 4000 || (dbg = cJSON_CreateObject()) == NULL)
        return NULL;
    if (cJSON_AddStringToObject(dbg, "m2m:dbg", rsp->dbg[0] ? rsp->dbg : m2m_rsc_name(rsp->rsc)) == NULL) {
        cJSON_Delete(dbg);
        return NULL;
    }
    return dbg;
}

int m2m_prim_body_cbor(const m2m_prim_rsp *rsp, uint8_t **body, size_t *len)
{
    cJSON *dbg = rsp->pc == NULL ? m2m_prim_dbg(rsp) : NULL;
    const cJSON *tree = rsp->pc != NULL ? rsp->pc : dbg;
    m2m_err why = {0};
    int rc;

    *body = NULL;
    *len = 0;
    if (tree != NULL)
        rc = m2m_cbor_encode(tree, body, len, &why);
    else if (rsp->rsc >= 4000) /* the error's m2m:dbg could not be made */
        rc = -1;
    else
        rc = (*body = calloc(1, 1)) != NULL ? 0 : -1;
    cJSON_Delete(dbg);
    return rc;
}

char *m2m_prim_body_json(const m2m_prim_rsp *rsp)
{
    char *body = NULL;
    if (rsp->pc != NULL) {
        body = cJSON_PrintUnformatted(rsp->pc);
    } else if (rsp->rsc >= 4000) {
        cJSON *dbg = m2m_prim_dbg(rsp);
        if (dbg != NULL)
            body = cJSON_PrintUnformatted(dbg);
        cJSON_Delete(dbg);
    } else {
        body = strdup("");
    }
    return body;
}
