/* SPDX-License-Identifier: Apache-2.0 */
/* The writes the CSE hands to the store's writer, and how the response of each is made once the write is durable.
 * The CSE decides everything it can from reads (synchronous, microseconds); the one write a request needs runs
 * on the writer in a batch with every other worker's (store/writer.c), and only after that batch's fsync is the
 * response built and handed to the binding. A write that fails answers for itself only. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "onem2m/status.h"
#include "registrar/briefing.h"
#include "registrar/cse.h"
#include "util/log.h"
#include "util/clock.h"

m2m_cse_write *m2m_cse_write_new(m2m_cse_write_kind kind)
{
    m2m_cse_write *w = calloc(1, sizeof *w);
    if (w != NULL)
        w->kind = kind;
    return w;
}

static void write_free(m2m_cse_write *w)
{
    if (w->kind == M2M_W_BRIEF && w->r.attrs != NULL) /* a briefing as read may hold its one-time credential */
        OPENSSL_cleanse(w->r.attrs, strlen(w->r.attrs));
    m2m_resource_clear(&w->r);
    m2m_secret_clear(&w->key);
    OPENSSL_cleanse(w->token_hash, sizeof w->token_hash);
    free(w);
}

/* On the writer's thread, inside its batch. */
static int run(m2m_store *st, m2m_store_job *job, m2m_err *err)
{
    m2m_cse_write *w = (m2m_cse_write *)job;
    m2m_enrolment e;
    int removed = 0, rc;

    switch (w->kind) {
    case M2M_W_REGISTER:
        /* an identity token is used up by the registration it was presented with, in the same unit: if the
         * registration fails, the token was never used; if two connections race with one token, one wins */
        if (w->token_hash[0] != '\0') {
            memset(&e, 0, sizeof e);
            rc = m2m_store_consume_token(st, w->token_hash, m2m_clock_now(), &e, err);
            m2m_enrolment_clear(&e);
            if (rc != 0)
                return -1;
        }
        return m2m_store_res_insert(st, &w->r, err);
    case M2M_W_INSERT:
        if (w->capped)
            return m2m_store_res_insert_capped(st, &w->r, w->mni, w->mbs, w->min_ct, &removed, err);
        return m2m_store_res_insert(st, &w->r, err);
    case M2M_W_UPDATE:
        return m2m_store_res_update(st, w->r.ri, w->r.attrs, w->r.lt, w->r.et, err);
    case M2M_W_DELETE:
        return m2m_store_res_delete(st, w->r.ri, err);
    case M2M_W_KEYGEN:
        rc = m2m_store_enrol_generated_psk(st, w->owner, &w->key, w->kid, err);
        m2m_secret_clear(&w->key); /* the store has it; this copy is no longer needed */
        return rc;
    case M2M_W_PURGE:
        return m2m_store_res_expire_children(st, w->r.ri, M2M_TY_CIN, w->min_ct, &removed, err);
    case M2M_W_BRIEF: {
        /* read, answer-to-be and removal of the one-time credential in one unit: two concurrent first reads are
         * serialised here, and only the one that finds the credential hands it out */
        char ri[M2M_RI_MAX];
        snprintf(ri, sizeof ri, "%s", w->r.ri);
        return m2m_briefing_hand_out(st, ri, m2m_clock_now(), &w->r, &w->handed_out, err);
    }
    }
    return m2m_fail(err, M2M_E_ARG, "unknown write");
}

/* The answer to a registration that did not commit. */
static void register_failed(m2m_cse_write *w, const m2m_err *err, m2m_prim_rsp *rsp)
{
    m2m_resource existing = {0};
    m2m_err e;
    if (err->code == M2M_E_AUTH || (err->code == M2M_E_NOTFOUND && w->token_hash[0] != '\0')) {
        /* the token was used or revoked meanwhile: as for any token failure, the context closes */
        m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "%s", err->code == M2M_E_AUTH ? err->msg
                       : "identity token is not valid");
        rsp->close_connection = 1;
    } else if (err->code == M2M_E_EXISTS) {
        /* either a concurrent registration of the same ID won, or the name is taken */
        if (m2m_store_res_registration(w->cse->st, w->r.reg_id, &existing, &e) == 0)
            m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED, "%s is already registered", w->r.reg_id);
        else
            m2m_prim_error(rsp, M2M_RSC_CONFLICT, "a resource named '%s' already exists", w->r.rn);
    } else
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
    m2m_resource_clear(&existing);
}

/* On the submitting worker's loop, after the batch's fsync: the response. */
static void done(m2m_store_job *job, int rc, const m2m_err *err)
{
    m2m_cse_write *w = (m2m_cse_write *)job;
    m2m_cse *cse = w->cse;
    m2m_prim_rsp rsp;
    cJSON *doc, *kgn;
    const m2m_peer *bind = NULL;

    memset(&rsp, 0, sizeof rsp);
    snprintf(rsp.rqi, sizeof rsp.rqi, "%s", w->call.rqi);
    switch (w->kind) {
    case M2M_W_REGISTER:
        if (rc != 0)
            register_failed(w, err, &rsp);
        else {
            m2m_cse_created(cse, &w->r, w->call.rvi, &rsp);
            if (w->token_hash[0] != '\0')
                bind = &w->bind;
        }
        break;
    case M2M_W_INSERT:
        if (rc == 0)
            m2m_cse_created(cse, &w->r, w->call.rvi, &rsp);
        else if (err->code == M2M_E_EXISTS)
            m2m_prim_error(&rsp, M2M_RSC_CONFLICT, "a resource named '%s' already exists here", w->r.rn);
        else
            m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
        break;
    case M2M_W_UPDATE:
        if (rc == 0) {
            rsp.rsc = M2M_RSC_UPDATED;
            if ((rsp.pc = m2m_cse_represent(cse, &w->r, w->call.rvi)) == NULL)
                m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot represent %s", w->r.ri);
        } else if (err->code == M2M_E_NOTFOUND)
            m2m_prim_error(&rsp, M2M_RSC_NOT_FOUND, "no resource at %s", w->r.rn);
        else
            m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
        break;
    case M2M_W_DELETE:
        if (rc == 0) {
            rsp.rsc = M2M_RSC_DELETED;
            snprintf(rsp.dbg, sizeof rsp.dbg, "%s", w->r.ri); /* for the log of a housekeeping removal */
        }
        else if (err->code == M2M_E_NOTFOUND)
            m2m_prim_error(&rsp, M2M_RSC_NOT_FOUND, "no resource at %s", w->r.rn);
        else
            m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
        break;
    case M2M_W_KEYGEN:
        if (rc != 0) {
            m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot store the generated key");
            break;
        }
        doc = cJSON_CreateObject();
        kgn = doc ? cJSON_AddObjectToObject(doc, "m2m:kgn") : NULL;
        if (kgn == NULL || !cJSON_AddNumberToObject(kgn, "ty", M2M_TY_KGN) ||
            !cJSON_AddStringToObject(kgn, w->owner[0] == '/' ? "kccid" : "kcaid", w->kid) ||
            !cJSON_AddStringToObject(kgn, "kid", w->kid)) {
            cJSON_Delete(doc);
            m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
            break;
        }
        rsp.rsc = M2M_RSC_CREATED;
        rsp.pc = doc;
        break;
    case M2M_W_PURGE:
        break; /* nobody waits for it */
    case M2M_W_BRIEF:
        if (rc != 0) {
            if (err->code == M2M_E_NOTFOUND) /* removed meanwhile */
                m2m_prim_error(&rsp, M2M_RSC_NOT_FOUND, "no briefing for %s", w->owner);
            else
                m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
            break;
        }
        rsp.rsc = M2M_RSC_OK;
        if ((rsp.pc = m2m_cse_represent(cse, &w->r, w->call.rvi)) == NULL)
            m2m_prim_error(&rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot represent %s", w->r.ri);
        else
            m2m_logf(cse->log, "briefing registree=%s read=%s credential=%s", w->owner, w->r.ri,
                     w->handed_out ? "handed out now (one-time; removed from the store)" : "handed out before");
        break;
    }
    if (w->call.done != NULL)
        w->call.done(w->call.arg, &rsp, bind);
    if (w->kind == M2M_W_BRIEF)
        m2m_briefing_wipe_json(rsp.pc);
    m2m_prim_rsp_clear(&rsp);
    write_free(w);
}

void m2m_cse_write_submit(m2m_cse *cse, const m2m_cse_call *call, m2m_cse_write *w)
{
    w->cse = cse;
    if (call != NULL)
        w->call = *call;
    w->job.run = run;
    w->job.done = done;
    m2m_store_submit(cse->writer, cse->st, cse->queue, &w->job);
}
