/* SPDX-License-Identifier: Apache-2.0 */
/* Step 5, Registration: CREATE <AE> (ty 2) or <remoteCSE> (ty 16) under the CSEBase, bound to the Registree ID
 * fixed at enrolment (seed R02). The rules are TS-0004 7.4.5.2.1 / 7.4.4.2.1 narrowed by the security notes of
 * x.y.2: the Registrar, not the request, decides which ID a context speaks for. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "onem2m/status.h"
#include "util/clock.h"
#include "registrar/attrs.h"
#include "registrar/cse.h"

/* --allow-app-id: no patterns allow every valid App-ID; otherwise one must match (fnmatch, like a shell glob). */
static int app_id_allowed(const m2m_cse *cse, const char *api)
{
    if (cse->napp_ids == 0)
        return 1;
    for (int i = 0; i < cse->napp_ids; i++)
        if (fnmatch(cse->app_ids[i], api, 0) == 0)
            return 1;
    return 0;
}

static int is_cse_id(const char *id)
{
    return id[0] == '/';
}

/* From on an AE CREATE: absent, "C" or "S" ask the Registrar to assign; otherwise it must be the enrolled ID. */
static int ae_originator_ok(const m2m_prim_req *req, const char *enrolled)
{
    if (!req->has_fr || strcmp(req->fr, "C") == 0 || strcmp(req->fr, "S") == 0)
        return 1;
    return strcmp(req->fr, enrolled) == 0;
}

int m2m_cse_register(m2m_cse *cse, const m2m_peer *peer, const m2m_prim_req *req, const m2m_resource *parent,
                     const char *token_hash, const m2m_cse_call *call, m2m_prim_rsp *rsp)
{
    m2m_cse_write *w = NULL;
    int pending = 0;
    const char *id = peer->registree_id;
    const char *rn = NULL;
    cJSON *attrs = NULL;
    m2m_resource r = {0}, existing = {0};
    m2m_err err;
    int64_t now = m2m_clock_now();

    if (req->ty == M2M_TY_AE) {
        if (is_cse_id(id)) {
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a CSE (%s) cannot register as an <AE>", id);
            goto done;
        }
        if (!ae_originator_ok(req, id)) {
            m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED,
                           "originator %s may not register: this connection is authenticated as %s", req->fr, id);
            goto done;
        }
    } else {
        if (!is_cse_id(id)) {
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "an AE (%s) cannot register as a <remoteCSE>", id);
            goto done;
        }
        if (!req->has_fr) {
            m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "missing originator (X-M2M-Origin)");
            goto done;
        }
        if (strcmp(req->fr, id) != 0) {
            m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED,
                           "originator %s may not register: this connection is authenticated as %s", req->fr, id);
            goto done;
        }
    }
    if ((attrs = m2m_cse_create_attrs(req, &rn, rsp)) == NULL)
        goto done;
    if (req->ty == M2M_TY_AE) {
        const char *api = cJSON_GetObjectItemCaseSensitive(attrs, "api")->valuestring;
        if (api[0] != 'R' && api[0] != 'r' && api[0] != 'N') {
            m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "App-ID (api) '%.64s' must start with R, r or N", api);
            goto done;
        }
        if (!app_id_allowed(cse, api)) {
            /* TS-0004 7.4.5.2.1: an App-ID the Registrar's rules do not allow is APP_RULE_VALIDATION_FAILED */
            m2m_prim_error(rsp, M2M_RSC_APP_RULE_VALIDATION_FAILED, "App-ID (api) '%.64s' is not allowed to "
                           "register with this Registrar", api);
            goto done;
        }
    } else {
        /* csi is the registering CSE's own CSE-ID: the authenticated one, or the request is wrong */
        const cJSON *csi = cJSON_GetObjectItemCaseSensitive(attrs, "csi");
        if (csi != NULL && strcmp(csi->valuestring, id) != 0) {
            m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "csi '%.64s' is not the authenticated CSE-ID %s",
                           csi->valuestring, id);
            goto done;
        }
    }
    /* A registration lives until its expirationTime: the Registree's, or the Registrar's default. */
    if (cJSON_GetObjectItemCaseSensitive(attrs, "et") == NULL) {
        char ts[16];
        m2m_attrs_format_time(now + (cse->reg_lifetime > 0 ? cse->reg_lifetime : 365LL * 86400), ts);
        if (!cJSON_AddStringToObject(attrs, "et", ts)) {
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
            goto done;
        }
    }
    r.et = m2m_attrs_parse_time(cJSON_GetObjectItemCaseSensitive(attrs, "et")->valuestring);
    if (m2m_store_res_registration(cse->st, id, &existing, &err) == 0) {
        m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED, "%s is already registered", id);
        goto done;
    } else if (err.code != M2M_E_NOTFOUND) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
        goto done;
    }
    if (req->ty == M2M_TY_AE) {
        /* The AE-ID is the enrolled one, whatever From asked for; it also serves as the resource ID. */
        snprintf(r.ri, sizeof r.ri, "%s", id);
        snprintf(r.rn, sizeof r.rn, "%s", rn ? rn : id);
    } else {
        /* csi is always the authenticated CSE-ID, and the resource ID is that CSE-ID without its '/', so that
         * the CSE finds its <remoteCSE> at /<our CSE-ID>/<its CSE-ID> (as an AE at /<our CSE-ID>/<AE-ID>). */
        cJSON_DeleteItemFromObjectCaseSensitive(attrs, "csi");
        snprintf(r.ri, sizeof r.ri, "%s", id + 1);
        snprintf(r.rn, sizeof r.rn, "%s", rn ? rn : id + 1);
    }
    /* The registration names of enrolled Registrees are theirs: another one choosing such a name (rn) would make
     * that device's own registration fail with a conflict forever. */
    if (rn != NULL && strcmp(rn, is_cse_id(id) ? id + 1 : id) != 0) {
        char as_cse[M2M_ID_MAX + 1];
        int known;
        snprintf(as_cse, sizeof as_cse, "/%s", rn);
        known = m2m_store_registree_known(cse->st, rn, &err);
        if (known == 0)
            known = m2m_store_registree_known(cse->st, as_cse, &err);
        if (known != 0) {
            if (known < 0)
                m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
            else
                m2m_prim_error(rsp, M2M_RSC_CONFLICT, "the resource name '%.64s' is reserved for another Registree",
                               rn);
            goto done;
        }
    }
    snprintf(r.pi, sizeof r.pi, "%s", parent->ri);
    snprintf(r.owner, sizeof r.owner, "%s", id);
    snprintf(r.reg_id, sizeof r.reg_id, "%s", id);
    r.ty = req->ty;
    r.ct = r.lt = now;
    r.attrs = cJSON_PrintUnformatted(attrs);
    if (r.attrs == NULL || (w = m2m_cse_write_new(M2M_W_REGISTER)) == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    /* the write takes the resource; it answers once the registration (and the token's use) is durable */
    w->r = r;
    memset(&r, 0, sizeof r);
    if (token_hash != NULL) {
        snprintf(w->token_hash, sizeof w->token_hash, "%s", token_hash);
        w->bind = *peer;
    }
    m2m_cse_write_submit(cse, call, w);
    pending = 1;
done:
    cJSON_Delete(attrs);
    m2m_resource_clear(&r);
    m2m_resource_clear(&existing);
    return pending;
}
