/* SPDX-License-Identifier: Apache-2.0 */
/* Resource representations and the non-registration resources an attached Registree works with:
 * <container> and <contentInstance>. */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "util/clock.h"
#include "registrar/attrs.h"
#include "registrar/cse.h"
#include "util/hex.h"

/* A non-negative integer attribute, or 0 when absent (attrs.c checked the kind). */
static int64_t int_attr(const cJSON *attrs, const char *name)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(attrs, name);
    return cJSON_IsNumber(a) && a->valuedouble > 0 ? (int64_t)a->valuedouble : 0;
}

/* The content size (cs) of a contentInstance: the octets of con as a string, or of its JSON text. */
static int64_t content_size(const cJSON *attrs)
{
    const cJSON *con = cJSON_GetObjectItemCaseSensitive(attrs, "con");
    char *text;
    int64_t cs;
    if (cJSON_IsString(con))
        return (int64_t)strlen(con->valuestring);
    text = cJSON_PrintUnformatted(con);
    cs = text ? (int64_t)strlen(text) : 0;
    cJSON_free(text);
    return cs;
}

/* The expirationTime attribute as unix seconds, 0 when absent (attrs.c checked its form). */
static int64_t et_of(const cJSON *attrs)
{
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(attrs, "et");
    int64_t t = cJSON_IsString(et) ? m2m_attrs_parse_time(et->valuestring) : 0;
    return t > 0 ? t : 0;
}

const char *m2m_cse_root_name(int ty)
{
    switch (ty) {
    case M2M_TY_AE: return "m2m:ae";
    case M2M_TY_CNT: return "m2m:cnt";
    case M2M_TY_CIN: return "m2m:cin";
    case M2M_TY_CB: return "m2m:cb";
    case M2M_TY_CSR: return "m2m:csr";
    case M2M_TY_BRF: return "m2m:brf";
    default: return NULL;
    }
}

void m2m_cse_new_ri(const char *prefix, char out[M2M_RI_MAX])
{
    unsigned char rnd[8] = {0};
    char hex[17];
    (void)RAND_bytes(rnd, sizeof rnd); /* uniqueness only: the store's primary key catches the impossible clash */
    m2m_hex_encode(rnd, sizeof rnd, hex);
    snprintf(out, M2M_RI_MAX, "%s%s", prefix, hex);
}

int m2m_cse_valid_rn(const char *rn)
{
    size_t n = strlen(rn);
    if (n == 0 || n > 64 || strcmp(rn, ".") == 0 || strcmp(rn, "..") == 0 || rn[0] == '~' || rn[0] == '_')
        return 0;
    for (const char *p = rn; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* The resource types this Registrar serves, for the CSEBase's srt (TS-0004 7.4.3). */
static const int SUPPORTED_TYPES[] = {M2M_TY_AE, M2M_TY_CNT, M2M_TY_CIN, M2M_TY_CB, M2M_TY_CSR, M2M_TY_KGN,
                                      M2M_TY_BRF};

/* Release 1 and 2 have no supportedReleaseVersions. */
static int before_2a(const char *rvi)
{
    return rvi == NULL || rvi[0] == '\0' || strcmp(rvi, "1") == 0 || strcmp(rvi, "2") == 0;
}

cJSON *m2m_cse_represent(m2m_cse *cse, const m2m_resource *r, const char *rvi)
{
    const char *root = m2m_cse_root_name(r->ty);
    cJSON *doc = NULL, *body = NULL;
    char ts[16];
    m2m_err err;

    if (root == NULL)
        return NULL;
    /* the stored text came from a strictly parsed body; read it with the same rules */
    body = m2m_json_parse_strict(r->attrs ? r->attrs : "{}", r->attrs ? strlen(r->attrs) : 2, &err);
    if (body == NULL || !cJSON_IsObject(body))
        goto fail;
    cJSON_AddStringToObject(body, "rn", r->rn);
    cJSON_AddStringToObject(body, "ri", r->ri);
    if (r->ty != M2M_TY_CB) /* the CSEBase has no parent (TS-0004: parentID NULL) */
        cJSON_AddStringToObject(body, "pi", r->pi);
    cJSON_AddNumberToObject(body, "ty", r->ty);
    m2m_attrs_format_time(r->ct, ts);
    cJSON_AddStringToObject(body, "ct", ts);
    m2m_attrs_format_time(r->lt, ts);
    cJSON_AddStringToObject(body, "lt", ts);
    switch (r->ty) {
    case M2M_TY_AE:
        cJSON_AddStringToObject(body, "aei", r->reg_id);
        break;
    case M2M_TY_CSR:
        cJSON_AddStringToObject(body, "csi", r->reg_id);
        break;
    case M2M_TY_CB: {
        static const char *const RELEASES[] = {"1", "2", "2a", "3", "4", "5"};
        cJSON *srt = cJSON_AddArrayToObject(body, "srt"), *poa = NULL;
        cJSON_AddStringToObject(body, "csi", cse->cse_id);
        cJSON_AddNumberToObject(body, "cst", 1); /* IN-CSE */
        for (size_t i = 0; srt && i < sizeof SUPPORTED_TYPES / sizeof SUPPORTED_TYPES[0]; i++)
            cJSON_AddItemToArray(srt, cJSON_CreateNumber(SUPPORTED_TYPES[i]));
        if (cse->poa[0] != '\0' && (poa = cJSON_Parse(cse->poa)) != NULL)
            cJSON_AddItemToObject(body, "poa", poa);
        else
            cJSON_AddArrayToObject(body, "poa");
        if (!before_2a(rvi)) {
            cJSON *srv = cJSON_AddArrayToObject(body, "srv");
            for (size_t i = 0; srv && i < sizeof RELEASES / sizeof RELEASES[0]; i++)
                cJSON_AddItemToArray(srv, cJSON_CreateString(RELEASES[i]));
        }
        break;
    }
    case M2M_TY_CNT: {
        int64_t cni = 0, cbs = 0, mia = int_attr(body, "mia"), min_ct = mia > 0 ? m2m_clock_now() - mia : 0;
        /* instances older than mia are gone as far as a reader can tell; their removal is a write of its own */
        if (m2m_store_res_children_stats(cse->st, r->ri, M2M_TY_CIN, min_ct, &cni, &cbs, &err) != 0)
            goto fail;
        if (min_ct > 0) {
            m2m_cse_write *w = m2m_cse_write_new(M2M_W_PURGE);
            if (w != NULL) {
                snprintf(w->r.ri, sizeof w->r.ri, "%s", r->ri);
                w->min_ct = min_ct;
                m2m_cse_write_submit(cse, NULL, w);
            }
        }
        cJSON_AddNumberToObject(body, "cni", (double)cni);
        cJSON_AddNumberToObject(body, "cbs", (double)cbs);
        break;
    }
    case M2M_TY_CIN:
        cJSON_AddNumberToObject(body, "cs", (double)content_size(body));
        break;
    }
    doc = cJSON_CreateObject();
    if (doc == NULL)
        goto fail;
    cJSON_AddItemToObject(doc, root, body);
    return doc;
fail:
    cJSON_Delete(body);
    return NULL;
}

void m2m_cse_created(m2m_cse *cse, const m2m_resource *r, const char *rvi, m2m_prim_rsp *rsp)
{
    rsp->rsc = M2M_RSC_CREATED;
    snprintf(rsp->location, sizeof rsp->location, "%s/%s", cse->cse_id, r->ri);
    rsp->pc = m2m_cse_represent(cse, r, rvi);
    if (rsp->pc == NULL)
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot represent the new resource");
}

cJSON *m2m_cse_create_attrs(const m2m_prim_req *req, const char **rn, m2m_prim_rsp *rsp)
{
    const char *root = m2m_cse_root_name(req->ty);
    const cJSON *body = root && req->pc ? cJSON_GetObjectItemCaseSensitive(req->pc, root) : NULL;
    const cJSON *name;
    cJSON *attrs;
    char why[256];

    if (body == NULL) {
        m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "body must hold a '%s' object for ty=%d", root ? root : "?",
                       req->ty);
        return NULL;
    }
    if (m2m_attrs_check(req->ty, body, 1, req->rvi, m2m_clock_now(), why, sizeof why) != 0) {
        m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "%s", why);
        return NULL;
    }
    name = cJSON_GetObjectItemCaseSensitive(body, "rn");
    if (name != NULL && !m2m_cse_valid_rn(name->valuestring)) {
        m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "resource name '%.64s' is not valid", name->valuestring);
        return NULL;
    }
    attrs = cJSON_Duplicate(body, 1);
    if (attrs == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
        return NULL;
    }
    /* rn lives in its own column; *rn points into the request, which outlives the caller's use of it. */
    cJSON_DeleteItemFromObjectCaseSensitive(attrs, "rn");
    *rn = name ? name->valuestring : NULL;
    return attrs;
}

/* 0 when peer may store one more resource of add_bytes; otherwise 4005 naming the limit. */
static int within_quota(m2m_cse *cse, const char *owner, size_t add_bytes, m2m_prim_rsp *rsp)
{
    int64_t count, bytes;
    m2m_err err;
    if (cse->quota == NULL || (cse->quota->max_resources <= 0 && cse->quota->max_bytes <= 0))
        return 0;
    if (m2m_store_res_usage(cse->st, owner, &count, &bytes, &err) != 0)
        return m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure"), -1;
    if (cse->quota->max_resources > 0 && count + 1 > cse->quota->max_resources) {
        __atomic_add_fetch(&cse->quota->refused, 1, __ATOMIC_RELAXED);
        return m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "quota: %s owns %lld resources, the limit is %lld; "
                              "delete some first", owner, (long long)count,
                              (long long)cse->quota->max_resources), -1;
    }
    if (cse->quota->max_bytes > 0 && bytes + (int64_t)add_bytes > cse->quota->max_bytes) {
        __atomic_add_fetch(&cse->quota->refused, 1, __ATOMIC_RELAXED);
        return m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "quota: %s stores %lld bytes, the limit is %lld; "
                              "delete some first", owner, (long long)bytes,
                              (long long)cse->quota->max_bytes), -1;
    }
    return 0;
}

int m2m_cse_create_child(m2m_cse *cse, const m2m_originator *o, const m2m_prim_req *req, const m2m_resource *parent,
                         const m2m_cse_call *call, m2m_prim_rsp *rsp)
{
    m2m_cse_write *w = NULL;
    int pending = 0;
    const char *rn = NULL;
    cJSON *attrs = NULL;
    m2m_resource r = {0};
    m2m_err err;

    if (req->ty != M2M_TY_CNT && req->ty != M2M_TY_CIN) {
        if (req->ty == M2M_TY_CB)
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a CSEBase cannot be created");
        else
            m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "resource type %d is not supported by this Registrar", req->ty);
        goto done;
    }
    if (req->ty == M2M_TY_CNT && parent->ty != M2M_TY_CB && parent->ty != M2M_TY_AE && parent->ty != M2M_TY_CSR &&
        parent->ty != M2M_TY_CNT) {
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a <container> cannot be created under resource type %d",
                       parent->ty);
        goto done;
    }
    if (req->ty == M2M_TY_CIN && parent->ty != M2M_TY_CNT) {
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a <contentInstance> must be created in a <container>");
        goto done;
    }
    if ((attrs = m2m_cse_create_attrs(req, &rn, rsp)) == NULL)
        goto done;
    m2m_cse_new_ri(req->ty == M2M_TY_CNT ? "cnt" : "cin", r.ri);
    snprintf(r.rn, sizeof r.rn, "%s", rn ? rn : r.ri);
    snprintf(r.pi, sizeof r.pi, "%s", parent->ri);
    snprintf(r.owner, sizeof r.owner, "%s", o->id);
    r.ty = req->ty;
    r.ct = r.lt = m2m_clock_now();
    r.attrs = cJSON_PrintUnformatted(attrs);
    if (r.attrs == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    r.et = et_of(attrs);
    if (within_quota(cse, o->id, strlen(r.attrs), rsp) != 0)
        goto done;
    if ((w = m2m_cse_write_new(M2M_W_INSERT)) == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    if (req->ty == M2M_TY_CIN) {
        /* TS-0001 9.6.7: the container's mni, mbs and mia bound its instances, the oldest leaving first, in the
         * insert's own unit */
        cJSON *limits = m2m_json_parse_strict(parent->attrs ? parent->attrs : "{}",
                                              parent->attrs ? strlen(parent->attrs) : 2, &err);
        int64_t mia = int_attr(limits, "mia");
        w->mni = int_attr(limits, "mni");
        w->mbs = int_attr(limits, "mbs");
        cJSON_Delete(limits);
        r.cs = content_size(attrs);
        if (w->mbs > 0 && r.cs > w->mbs) {
            m2m_prim_error(rsp, M2M_RSC_NOT_ACCEPTABLE, "content of %lld bytes exceeds the container's maxByteSize "
                           "(mbs) of %lld", (long long)r.cs, (long long)w->mbs);
            free(w);
            goto done;
        }
        w->min_ct = mia > 0 ? r.ct - mia : 0;
        w->capped = w->mni > 0 || w->mbs > 0 || w->min_ct > 0;
    }
    w->r = r;
    memset(&r, 0, sizeof r);
    m2m_cse_write_submit(cse, call, w);
    pending = 1;
done:
    cJSON_Delete(attrs);
    m2m_resource_clear(&r);
    return pending;
}

int m2m_cse_update(m2m_cse *cse, const m2m_prim_req *req, const m2m_resource *target, const m2m_cse_call *call,
                   m2m_prim_rsp *rsp)
{
    m2m_cse_write *w = NULL;
    int pending = 0;
    const char *root = m2m_cse_root_name(target->ty);
    const cJSON *body = root ? cJSON_GetObjectItemCaseSensitive(req->pc, root) : NULL;
    const cJSON *a;
    cJSON *attrs = NULL;
    char *text = NULL, why[256];
    m2m_resource updated = *target;
    m2m_err err;

    if (target->ty == M2M_TY_CIN) {
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a <contentInstance> cannot be updated");
        goto done;
    }
    if (body == NULL) {
        m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "body must hold a '%s' object", root ? root : "?");
        goto done;
    }
    if (m2m_attrs_check(target->ty, body, 0, req->rvi, m2m_clock_now(), why, sizeof why) != 0) {
        m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "%s", why);
        goto done;
    }
    attrs = m2m_json_parse_strict(target->attrs ? target->attrs : "{}", target->attrs ? strlen(target->attrs) : 2,
                                  &err);
    if (attrs == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "stored resource is corrupt");
        goto done;
    }
    cJSON_ArrayForEach(a, body) {
        cJSON *copy = cJSON_Duplicate(a, 1);
        if (copy == NULL || (cJSON_HasObjectItem(attrs, a->string)
                                 ? !cJSON_ReplaceItemInObjectCaseSensitive(attrs, a->string, copy)
                                 : !cJSON_AddItemToObject(attrs, a->string, copy))) {
            cJSON_Delete(copy);
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
            goto done;
        }
    }
    text = cJSON_PrintUnformatted(attrs);
    updated.lt = m2m_clock_now();
    updated.et = et_of(attrs);
    if (updated.et == 0 && (target->ty == M2M_TY_AE || target->ty == M2M_TY_CSR))
        updated.et = target->et; /* a registration keeps its lifetime */
    if (text == NULL || (w = m2m_cse_write_new(M2M_W_UPDATE)) == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    /* the write answers with the updated representation once it is durable */
    updated.attrs = text;
    text = NULL;
    w->r = updated;
    m2m_cse_write_submit(cse, call, w);
    pending = 1;
done:
    cJSON_free(text);
    cJSON_Delete(attrs);
    return pending;
}
