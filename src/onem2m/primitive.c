/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "onem2m/primitive.h"

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
