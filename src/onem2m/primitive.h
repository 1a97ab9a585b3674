/* SPDX-License-Identifier: Apache-2.0 */
/* A oneM2M request/response primitive (TS-0004 clause 6), independent of the binding that carried it. */
#ifndef M2M_ONEM2M_PRIMITIVE_H
#define M2M_ONEM2M_PRIMITIVE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef enum m2m_op {
    M2M_OP_CREATE = 1,
    M2M_OP_RETRIEVE = 2,
    M2M_OP_UPDATE = 3,
    M2M_OP_DELETE = 4
} m2m_op;

/* Resource types (TS-0004 6.3.4.2.1). */
enum { M2M_TY_CNT = 3, M2M_TY_CIN = 4, M2M_TY_CB = 5, M2M_TY_AE = 2, M2M_TY_CSR = 16 };
/* <keyGeneration> (seed x.y.8) has no type number in the published specs; this project assigns one from the
 * range TS-0004 leaves to vendors' resource types (10000 and up). */
enum { M2M_TY_KGN = 10100 };
/* <briefing> (Step 2 from a Briefing Registrar, registrar/briefing.h): likewise project-assigned. */
enum { M2M_TY_BRF = 10101 };

#define M2M_PRIM_STR 256

typedef struct m2m_prim_req {
    m2m_op op;
    char to[1024];            /* as addressed: CSE-relative "cse/ae", SP-relative "/in-cse/...", absolute "//sp/..." */
    char fr[M2M_PRIM_STR];    /* From; "" when absent */
    int has_fr;
    char rqi[M2M_PRIM_STR];
    char rvi[16];             /* "" = Release 1 */
    int ty;                   /* CREATE only; 0 = absent */
    char token[M2M_PRIM_STR]; /* Authorization bearer value, "" when absent */
    cJSON *pc;                /* parsed primitive content (owned) or NULL */
} m2m_prim_req;

typedef struct m2m_prim_rsp {
    int rsc;
    char rqi[M2M_PRIM_STR];
    char location[1024];      /* CREATE: the new resource's address */
    cJSON *pc;                /* content (owned) or NULL */
    char dbg[256];            /* reason for an error, sent as {"m2m:dbg": ...} */
    int close_connection;     /* the binding closes the security context after sending this response */
} m2m_prim_rsp;

void m2m_prim_req_clear(m2m_prim_req *req);
void m2m_prim_rsp_clear(m2m_prim_rsp *rsp);
/* Sets an error status with a reason; returns rsp->rsc. */
int m2m_prim_error(m2m_prim_rsp *rsp, int rsc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *m2m_op_name(m2m_op op);
/* 1 when this Registrar speaks release version rvi ("2a", "3", ...); every binding checks with it. */
int m2m_release_supported(const char *rvi);
/* The body every binding sends for rsp: its content, {"m2m:dbg": reason} for an error, or "" (malloc'd JSON text;
 * NULL when out of memory). */
char *m2m_prim_body_json(const m2m_prim_rsp *rsp);
/* The same body in CBOR (onem2m/cbor.h): *body malloc'd (an empty one for no content), *len. -1 out of memory. */
int m2m_prim_body_cbor(const m2m_prim_rsp *rsp, uint8_t **body, size_t *len);
/* An error's {"m2m:dbg": reason} as a tree (the caller cJSON_Delete()s it); NULL for a success or out of memory. */
cJSON *m2m_prim_dbg(const m2m_prim_rsp *rsp);

#endif
