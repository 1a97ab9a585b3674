/* SPDX-License-Identifier: Apache-2.0 */
/* The CSE driven in-process with a real store (SQLite; PostgreSQL in the .pg variants) (no store writer: writes run inline, answers come at once):
 * the fixture of the CSE unit tests. Header-only, static.
 *
 *   setup / teardown           a fresh store with CSE /in-cse, CSEBase cse-base, and its m2m_cse
 *   peer(id)                   a context bound to id (psk)
 *   run(f, as, op, to, from, ty, body, rsp_out)
 *                              one request on a context bound to as; returns the RSC (next_rvi: its release)
 */
#ifndef M2M_TEST_FIXTURE_CSE_H
#define M2M_TEST_FIXTURE_CSE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_store.h"
#include "fixture_tmpdir.h"
#include "registrar/cse.h"
#include "store/store.h"

static const char *next_rvi = ""; /* the X-M2M-RVI of the next run(): "" = Release 1 */

/* The CSE answers through a callback (at once here: no store writer, writes run inline); this keeps the answer. */
static void keep_answer(void *arg, m2m_prim_rsp *rsp, const m2m_peer *bind)
{
    m2m_prim_rsp *out = arg;
    (void)bind;
    *out = *rsp;
    rsp->pc = NULL; /* moved */
}

typedef struct fixture {
    char dir[64];
    char db[512];
    m2m_store *st;
    m2m_cse cse;
} fixture;

static int setup(void **state)
{
    next_rvi = "";
    fixture *f = calloc(1, sizeof *f);
    m2m_err err;
    if (fixture_mkdtemp(f->dir, sizeof f->dir, "cse") != 0)
        return -1;
    /* SQLite, or under tests/pg/with_cluster.sh a new PostgreSQL database (unit.test_cse.pg) */
    if (fixture_store_location(f->dir, "r", f->db, sizeof f->db) != 0)
        return -1;
    f->st = m2m_store_open(f->db, 1, &err);
    if (f->st == NULL || m2m_store_set_identity(f->st, "/in-cse", "cse-base", &err) != 0 ||
        m2m_cse_init(&f->cse, f->st, &err) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    m2m_store_close(f->st);
    if (fixture_rmdir(f->dir) != 0)
        return -1;
    free(f);
    return 0;
}

static m2m_peer peer(const char *id)
{
    m2m_peer p;
    memset(&p, 0, sizeof p);
    snprintf(p.registree_id, sizeof p.registree_id, "%s", id);
    snprintf(p.mechanism, sizeof p.mechanism, "psk");
    return p;
}

/* Runs one request; returns the RSC. rsp_out may be NULL. */
static int run(fixture *f, const char *as, m2m_op op, const char *to, const char *from, int ty, const char *body,
               m2m_prim_rsp *rsp_out)
{
    m2m_peer p = peer(as);
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    int rsc;
    memset(&req, 0, sizeof req);
    memset(&rsp, 0, sizeof rsp);
    req.op = op;
    snprintf(req.to, sizeof req.to, "%s", to);
    if (from != NULL) {
        snprintf(req.fr, sizeof req.fr, "%s", from);
        req.has_fr = 1;
    }
    snprintf(req.rqi, sizeof req.rqi, "t");
    snprintf(req.rvi, sizeof req.rvi, "%s", next_rvi);
    req.ty = ty;
    req.pc = body ? cJSON_Parse(body) : NULL;
    m2m_cse_handle(&f->cse, &p, NULL, &req, keep_answer, &rsp);
    rsc = rsp.rsc;
    if (getenv("M2M_TEST_VERBOSE") != NULL && rsc >= 4000)
        fprintf(stderr, "  %s %s from %s: %d %s\n", m2m_op_name(op), to, from ? from : "-", rsc, rsp.dbg);
    if (rsp_out != NULL)
        *rsp_out = rsp;
    else
        m2m_prim_rsp_clear(&rsp);
    m2m_prim_req_clear(&req);
    return rsc;
}

#endif
