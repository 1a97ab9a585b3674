/* SPDX-License-Identifier: Apache-2.0 */
/* <briefing> (registrar/briefing.h): the Service Provider's side (add, remove, list) and the CSE's read with its
 * one-time hand-out. Only the store's resource API is used, so every back-end serves briefings. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registrar/attrs.h"
#include "registrar/briefing.h"
#include "registrar/enrolment.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/url.h"

int m2m_briefing_rn(const char *registree_id, char out[M2M_RI_MAX])
{
    const char *id = registree_id != NULL && registree_id[0] == '/' ? registree_id + 1 : registree_id;
    out[0] = '\0';
    if (id == NULL || id[0] == '\0' || strlen(id) + 4 >= M2M_RI_MAX)
        return -1;
    snprintf(out, M2M_RI_MAX, "brf-%s", id);
    return m2m_cse_valid_rn(out) ? 0 : -1;
}

/* Frees JSON text that may hold a one-time credential. */
static void free_secret_text(char *text)
{
    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
}

static void wipe_item(cJSON *item)
{
    for (; item != NULL; item = item->next) {
        if (cJSON_IsString(item) && item->string != NULL && item->valuestring != NULL &&
            (strcmp(item->string, M2M_BRF_KEY) == 0 || strcmp(item->string, M2M_BRF_TOKEN) == 0))
            OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
        wipe_item(item->child);
    }
}

void m2m_briefing_wipe_json(cJSON *doc)
{
    if (doc != NULL)
        wipe_item(doc->child);
}

/* The mechanism's material is all there, and nothing of another mechanism's. */
static int check_spec(const m2m_briefing_spec *s, m2m_err *err)
{
    const char *mech = s->mechanism ? s->mechanism : "";
    int psk = strcmp(mech, "psk") == 0, token = strcmp(mech, "token") == 0, cert = strcmp(mech, "cert") == 0,
        gba = strcmp(mech, "gba") == 0;
    const char *target_id = s->target_id ? s->target_id : s->registree_id;
    static const m2m_url_scheme POA_SCHEMES[] = {{"https", "443"}, {"coaps", "5684"}};
    m2m_url poa;
    m2m_err why = {0};

    if (!m2m_valid_registree_id(s->registree_id))
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' is not an AE-ID or a CSE-ID ('/name')",
                        s->registree_id ? s->registree_id : "");
    if (!m2m_valid_registree_id(target_id))
        return m2m_fail(err, M2M_E_ARG, "target ID '%s' is not an AE-ID or a CSE-ID ('/name')", target_id);
    if (!psk && !token && !cert && !gba)
        return m2m_fail(err, M2M_E_ARG, "unknown mechanism '%s' (psk, cert, token or gba)", mech);
    /* the rules the device's details reader applies (util/url.h), so a briefing never hands out a poa it refuses */
    if (s->target_poa == NULL || strlen(s->target_poa) > 200 ||
        m2m_url_parse(s->target_poa, POA_SCHEMES, 2, "https://HOST:PORT or coaps://HOST:PORT", &poa, &why) != 0)
        return m2m_fail(err, M2M_E_ARG, "target PoA '%s' is not an https://HOST:PORT or coaps://HOST:PORT address%s%s",
                        s->target_poa ? s->target_poa : "", why.msg[0] ? ": " : "", why.msg);
    if (s->target_cse_id == NULL || s->target_cse_id[0] != '/' || !m2m_valid_registree_id(s->target_cse_id))
        return m2m_fail(err, M2M_E_ARG, "target CSE-ID '%s' is not a CSE-ID ('/name')",
                        s->target_cse_id ? s->target_cse_id : "");
    if (target_id[0] != '/' && (s->app_id == NULL || s->app_id[0] == '\0'))
        return m2m_fail(err, M2M_E_ARG, "the target ID %s is an AE-ID: an App-ID to register with is needed",
                        target_id);
    if ((s->key != NULL) != psk || (psk && (s->key_id == NULL || s->key_id[0] == '\0')))
        return m2m_fail(err, M2M_E_ARG, psk ? "mechanism psk needs the key enrolled at the target"
                                            : "a key belongs to mechanism psk, not %s", mech);
    if ((s->token != NULL) != token)
        return m2m_fail(err, M2M_E_ARG, token ? "mechanism token needs an identity token for the target"
                                              : "a token belongs to mechanism token, not %s", mech);
    if ((cert || token) && s->root_pem == NULL)
        return m2m_fail(err, M2M_E_ARG, "mechanism %s needs the target Registrar's root certificate", mech);
    if (gba != (s->bsf != NULL))
        return m2m_fail(err, M2M_E_ARG, gba ? "mechanism gba needs the BSF's Ub address"
                                            : "a BSF belongs to mechanism gba, not %s", mech);
    return 0;
}

/* The attributes (TS-0022 [registration] and [authenticationProfile]), as JSON text to store. */
static char *spec_attrs(const m2m_briefing_spec *s)
{
    cJSON *doc = cJSON_CreateObject(), *reg, *auth, *poa;
    char hex[2 * M2M_SECRET_MAX + 1] = "";
    char *text = NULL;

    reg = doc ? cJSON_AddObjectToObject(doc, "registration") : NULL;
    auth = doc ? cJSON_AddObjectToObject(doc, "authenticationProfile") : NULL;
    poa = reg ? cJSON_AddArrayToObject(reg, "PoA") : NULL;
    if (poa == NULL || auth == NULL || !cJSON_AddItemToArray(poa, cJSON_CreateString(s->target_poa)) ||
        !cJSON_AddStringToObject(reg, "originatorID", s->target_id ? s->target_id : s->registree_id) ||
        !cJSON_AddStringToObject(reg, "CSE-ID", s->target_cse_id) ||
        (s->target_cse_name && !cJSON_AddStringToObject(reg, "CSEBaseName", s->target_cse_name)) ||
        (s->app_id && !cJSON_AddStringToObject(reg, "appID", s->app_id)) ||
        !cJSON_AddStringToObject(auth, "mechanism", s->mechanism) ||
        (s->root_pem && !cJSON_AddStringToObject(auth, "trustAnchorCerts", s->root_pem)) ||
        (s->bsf && !cJSON_AddStringToObject(auth, "bsf", s->bsf)) ||
        (s->token && !cJSON_AddStringToObject(auth, M2M_BRF_TOKEN, s->token)))
        goto done;
    if (s->key != NULL) {
        m2m_hex_encode(s->key->bytes, s->key->len, hex);
        if (!cJSON_AddStringToObject(auth, "symmKeyID", s->key_id) || !cJSON_AddStringToObject(auth, M2M_BRF_KEY, hex))
            goto done;
    }
    text = cJSON_PrintUnformatted(doc);
done:
    m2m_wipe(hex, sizeof hex);
    m2m_briefing_wipe_json(doc);
    cJSON_Delete(doc);
    return text;
}

/* Whether the ID has an active enrolment (any mechanism): m2m_store_list visits active ones only. */
struct find_ctx {
    const char *id;
    int found;
};
static void find_enrolled(const m2m_enrolment *e, void *ctx)
{
    struct find_ctx *f = ctx;
    f->found |= strcmp(e->registree_id, f->id) == 0;
}

/* The spec is complete and the Registree is enrolled in st; ri gets the briefing's ri, cse_name the CSEBase's. */
static int preflight(m2m_store *st, const char *db, const m2m_briefing_spec *spec, char ri[M2M_RI_MAX],
                     char cse_name[M2M_ID_MAX], m2m_err *err)
{
    char cse_id[M2M_ID_MAX];
    struct find_ctx f = {spec->registree_id, 0};

    if (check_spec(spec, err) != 0)
        return -1;
    if (m2m_briefing_rn(spec->registree_id, ri) != 0)
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' cannot name a resource (brf-ID)", spec->registree_id);
    if (m2m_store_get_identity(st, cse_id, cse_name, err) != 0 || m2m_store_list(st, 0, find_enrolled, &f, err) != 0)
        return -1;
    if (!f.found)
        return m2m_fail(err, M2M_E_NOTFOUND, "%s has no active enrolment at this (Briefing) Registrar %s (%s): enrol "
                        "it there first; it reads its briefing with that credential", spec->registree_id, cse_id, db);
    return 0;
}

int m2m_briefing_check(const char *db, const m2m_briefing_spec *spec, m2m_err *err)
{
    char ri[M2M_RI_MAX], cse_name[M2M_ID_MAX];
    m2m_store *st = m2m_store_open(db, 0, err);
    int rc = st != NULL ? preflight(st, db, spec, ri, cse_name, err) : -1;
    m2m_store_close(st);
    return rc;
}

int m2m_briefing_add(const char *db, const m2m_briefing_spec *spec, m2m_err *err)
{
    m2m_store *st = NULL;
    m2m_resource r = {0}, old = {0};
    char cse_name[M2M_ID_MAX];
    int rc = -1, sp = 0, in_unit = 0;
    m2m_err e;

    if ((st = m2m_store_open(db, 0, err)) == NULL || preflight(st, db, spec, r.ri, cse_name, err) != 0)
        goto done;
    snprintf(r.rn, sizeof r.rn, "%s", r.ri);
    snprintf(r.pi, sizeof r.pi, "%s", cse_name);
    snprintf(r.owner, sizeof r.owner, "%s", spec->registree_id);
    r.ty = M2M_TY_BRF;
    r.ct = r.lt = m2m_clock_now();
    if ((r.attrs = spec_attrs(spec)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (m2m_store_unit_begin(st, &sp, err) != 0)
        goto done;
    in_unit = 1;
    /* a new briefing replaces the old one whole, in the same unit: never two, never none */
    if (m2m_store_res_get(st, r.ri, &old, &e) == 0) {
        if (old.ty != M2M_TY_BRF || old.pi[0] == '\0' || strcmp(old.pi, cse_name) != 0) {
            m2m_fail(err, M2M_E_EXISTS, "a resource %s that is not a briefing exists already", r.ri);
            goto done;
        }
        if (m2m_store_res_delete(st, r.ri, err) != 0)
            goto done;
    } else if (e.code != M2M_E_NOTFOUND) {
        *err = e;
        goto done;
    }
    if (m2m_store_res_insert(st, &r, err) != 0)
        goto done;
    in_unit = 0;
    rc = m2m_store_unit_end(st, sp, 1, err);
done:
    if (in_unit)
        m2m_store_unit_end(st, sp, 0, NULL);
    free_secret_text(old.attrs);
    old.attrs = NULL;
    free_secret_text(r.attrs);
    r.attrs = NULL;
    m2m_store_close(st);
    return rc;
}

int m2m_briefing_remove(const char *db, const char *registree_id, m2m_err *err)
{
    m2m_store *st = NULL;
    m2m_resource r = {0};
    char ri[M2M_RI_MAX];
    int rc = -1;

    if (m2m_briefing_rn(registree_id, ri) != 0)
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' cannot name a briefing", registree_id ? registree_id : "");
    if ((st = m2m_store_open(db, 0, err)) == NULL)
        goto done;
    if (m2m_store_res_get(st, ri, &r, err) != 0 || r.ty != M2M_TY_BRF) {
        if (r.ty != 0 || err->code == M2M_E_NOTFOUND)
            m2m_fail(err, M2M_E_NOTFOUND, "there is no briefing for %s", registree_id);
        goto done;
    }
    rc = m2m_store_res_delete(st, ri, err);
done:
    free_secret_text(r.attrs);
    r.attrs = NULL;
    m2m_store_close(st);
    return rc;
}

static const char *str_at(const cJSON *doc, const char *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, obj), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "waiting", "handed out 20261204T..." or "none" */
static void credential_state(const cJSON *doc, char *out, size_t cap)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(doc, M2M_BRF_HANDED_OUT);
    if (str_at(doc, "authenticationProfile", M2M_BRF_KEY) || str_at(doc, "authenticationProfile", M2M_BRF_TOKEN))
        snprintf(out, cap, "waiting");
    else if (cJSON_IsString(h))
        snprintf(out, cap, "handed out %s", h->valuestring);
    else
        snprintf(out, cap, "none");
}

struct list_ctx {
    m2m_briefing_cb cb;
    void *ctx;
};
static int list_one(const m2m_resource *r, void *arg)
{
    struct list_ctx *l = arg;
    cJSON *doc, *poa;
    char cred[64];
    if (r->ty != M2M_TY_BRF)
        return 0;
    doc = m2m_json_parse_strict(r->attrs ? r->attrs : "{}", r->attrs ? strlen(r->attrs) : 2, NULL);
    poa = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "registration"),
                                                              "PoA"), 0);
    credential_state(doc, cred, sizeof cred);
    l->cb(r->owner, str_at(doc, "registration", "CSE-ID") ? str_at(doc, "registration", "CSE-ID") : "?",
          cJSON_IsString(poa) ? poa->valuestring : "?",
          str_at(doc, "authenticationProfile", "mechanism") ? str_at(doc, "authenticationProfile", "mechanism") : "?",
          cred, l->ctx);
    m2m_briefing_wipe_json(doc);
    cJSON_Delete(doc);
    return 0;
}

int m2m_briefing_list(const char *db, m2m_briefing_cb cb, void *ctx, m2m_err *err)
{
    struct list_ctx l = {cb, ctx};
    char cse_id[M2M_ID_MAX], cse_name[M2M_ID_MAX];
    m2m_store *st = m2m_store_open(db, 0, err);
    int rc = st != NULL && m2m_store_get_identity(st, cse_id, cse_name, err) == 0 &&
                     m2m_store_res_children(st, cse_name, list_one, &l, err) == 0
                 ? 0
                 : -1;
    m2m_store_close(st);
    return rc;
}

int m2m_briefing_has_secret(const char *attrs)
{
    cJSON *doc = m2m_json_parse_strict(attrs ? attrs : "{}", attrs ? strlen(attrs) : 2, NULL);
    int has = str_at(doc, "authenticationProfile", M2M_BRF_KEY) != NULL ||
              str_at(doc, "authenticationProfile", M2M_BRF_TOKEN) != NULL;
    m2m_briefing_wipe_json(doc);
    cJSON_Delete(doc);
    return has;
}

int m2m_briefing_hand_out(m2m_store *st, const char *ri, int64_t now, m2m_resource *full, int *handed_out,
                          m2m_err *err)
{
    cJSON *doc = NULL, *auth;
    char *rest = NULL, ts[16];
    int rc = -1;

    *handed_out = 0;
    memset(full, 0, sizeof *full);
    if (m2m_store_res_get(st, ri, full, err) != 0)
        goto done;
    if (full->ty != M2M_TY_BRF) {
        m2m_fail(err, M2M_E_NOTFOUND, "%s is not a briefing", ri);
        goto done;
    }
    doc = m2m_json_parse_strict(full->attrs ? full->attrs : "{}", full->attrs ? strlen(full->attrs) : 2, err);
    if (doc == NULL)
        goto done;
    auth = cJSON_GetObjectItemCaseSensitive(doc, "authenticationProfile");
    if (!cJSON_HasObjectItem(auth, M2M_BRF_KEY) && !cJSON_HasObjectItem(auth, M2M_BRF_TOKEN)) {
        rc = 0; /* a read before this one took it: the answer is what is stored */
        goto done;
    }
    m2m_briefing_wipe_json(doc);
    cJSON_DeleteItemFromObjectCaseSensitive(auth, M2M_BRF_KEY);
    cJSON_DeleteItemFromObjectCaseSensitive(auth, M2M_BRF_TOKEN);
    m2m_attrs_format_time(now, ts);
    cJSON_DeleteItemFromObjectCaseSensitive(doc, M2M_BRF_HANDED_OUT);
    if (!cJSON_AddStringToObject(doc, M2M_BRF_HANDED_OUT, ts) || (rest = cJSON_PrintUnformatted(doc)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (m2m_store_res_update(st, ri, rest, now, full->et, err) != 0)
        goto done;
    *handed_out = 1;
    rc = 0;
done:
    if (rc != 0) {
        free_secret_text(full->attrs);
        full->attrs = NULL;
        m2m_resource_clear(full);
    }
    m2m_briefing_wipe_json(doc);
    cJSON_Delete(doc);
    cJSON_free(rest);
    return rc;
}

int m2m_cse_briefing_read(m2m_cse *cse, const m2m_resource *target, const m2m_cse_call *call, m2m_prim_rsp *rsp)
{
    m2m_cse_write *w;
    cJSON *doc;
    char cred[64];

    if (m2m_briefing_has_secret(target->attrs)) {
        /* the one-time credential leaves the store in the unit that answers with it: not before it is durable */
        if ((w = m2m_cse_write_new(M2M_W_BRIEF)) == NULL) {
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
            return 0;
        }
        snprintf(w->r.ri, sizeof w->r.ri, "%s", target->ri);
        snprintf(w->owner, sizeof w->owner, "%s", target->owner);
        m2m_cse_write_submit(cse, call, w);
        return 1;
    }
    rsp->rsc = M2M_RSC_OK;
    if ((rsp->pc = m2m_cse_represent(cse, target, call->rvi)) == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot represent %s", target->ri);
        return 0;
    }
    doc = m2m_json_parse_strict(target->attrs ? target->attrs : "{}", target->attrs ? strlen(target->attrs) : 2,
                                NULL);
    credential_state(doc, cred, sizeof cred);
    cJSON_Delete(doc);
    m2m_logf(cse->log, "briefing registree=%s read=%s credential=%s", target->owner, target->ri, cred);
    return 0;
}
