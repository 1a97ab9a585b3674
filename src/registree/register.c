/* SPDX-License-Identifier: Apache-2.0 */
/* Step 5 of the Registree (registree_internal.h): the registration CREATE of TS-0004 (<AE> or <remoteCSE>), with
 * the identity token of x.y.7 when that is the way in, the ID the Registrar assigns checked against the enrolled
 * one, and the registration recorded in the state file. */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding/coap_client.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registree/registree_internal.h"

/* The registration CREATE of TS-0004 7.4.4.2.1 (<AE>) or 7.4.5.2.1 (<remoteCSE>). */
static char *registration_body(const m2m_registree_config *cfg)
{
    cJSON *root = cJSON_CreateObject(), *res = cJSON_CreateObject(), *srv = cJSON_CreateArray();
    char *text = NULL, cb[600];

    if (root == NULL || res == NULL || srv == NULL || !cJSON_AddItemToArray(srv, cJSON_CreateString("3"))) {
        cJSON_Delete(srv);
        cJSON_Delete(res);
        goto done;
    }
    cJSON_AddItemToObject(root, cfg->is_cse ? "m2m:csr" : "m2m:ae", res);
    cJSON_AddStringToObject(res, "rn", cfg->name);
    if (cfg->is_cse) {
        snprintf(cb, sizeof cb, "%s/%s", cfg->id, cfg->cse_base);
        cJSON_AddStringToObject(res, "cb", cb);
        cJSON_AddStringToObject(res, "csi", cfg->id);
        cJSON_AddNumberToObject(res, "cst", 2); /* MN-CSE: a CSE that registers with another is not an IN */
        cJSON_AddTrueToObject(res, "rr");
    } else {
        cJSON_AddStringToObject(res, "api", cfg->app_id);
        cJSON_AddFalseToObject(res, "rr");
    }
    cJSON_AddItemToObject(res, "srv", srv);
    text = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(root);
    return text;
}

/* The Registrar's reason for an error: {"m2m:dbg": "..."} when it sent one, else the start of the body. */
void m2m_rtee_debug_text(const m2m_reply *reply, char *out, size_t cap)
{
    /* not strict JSON (a duplicate m2m:dbg, a NUL in it): the raw start of the body, as it came */
    cJSON *doc = m2m_json_parse_strict(reply->body, reply->body_len, NULL);
    const cJSON *dbg = cJSON_GetObjectItemCaseSensitive(doc, "m2m:dbg");
    if (cJSON_IsString(dbg))
        snprintf(out, cap, "%s", dbg->valuestring);
    else if (reply->body_len > 0)
        snprintf(out, cap, "%.200s", reply->body);
    else
        snprintf(out, cap, "no reason given");
    cJSON_Delete(doc);
}

/* An answer without a oneM2M status, in the binding's words: "HTTP 403 without X-M2M-RSC", "CoAP 4.02 without
 * oneM2M-RSC". */
const char *m2m_rtee_no_rsc(const m2m_registree *r, const m2m_reply *reply, char *out, size_t cap)
{
    char code[8];
    if (r->cfg->binding == M2M_BINDING_COAP) {
        m2m_coap_code_text(reply->http_status, code);
        snprintf(out, cap, "CoAP %s without oneM2M-RSC", code);
    } else {
        snprintf(out, cap, "HTTP %d without X-M2M-RSC", reply->http_status);
    }
    return out;
}

/* A value the peer chose, for a message: printable ASCII, the rest as '?', at most 60 characters. */
static void shown(const char *v, char *out, size_t cap)
{
    size_t j = 0;
    for (; j < 60 && j + 4 < cap && v[j] != '\0'; j++)
        out[j] = v[j] >= 0x20 && v[j] < 0x7f ? v[j] : '?';
    snprintf(out + j, cap - j, "%s", v[j] != '\0' ? "..." : "");
}

/* 1 when the details file asks the Registrar to assign the AE-ID: id "C" (CSE-relative) or "S" (SP-relative). */
static int asks_assignment(const m2m_registree_config *cfg)
{
    return !cfg->is_cse && (strcmp(cfg->id, "C") == 0 || strcmp(cfg->id, "S") == 0);
}

/* The assigned ID from the CREATE response: aei of an <AE>, csi of a <remoteCSE>. It must be the ID this Registree
 * may take: the enrolled one exactly (seed R02: the enrolment fixes the ID; a Registrar that hands out another
 * would make every later request speak for someone else), or, when the details file asks for assignment ("C" or
 * "S"), a well-formed AE-ID of that kind. */
static int assigned_id(m2m_registree *r, const m2m_reply *reply, char *out, size_t cap)
{
    const m2m_registree_config *cfg = r->cfg;
    m2m_err why = {0};
    cJSON *doc = m2m_json_parse_strict(reply->body, reply->body_len, &why);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(doc, cfg->is_cse ? "m2m:csr" : "m2m:ae");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, cfg->is_cse ? "csi" : "aei");
    const char *v = cJSON_IsString(id) ? id->valuestring : NULL;
    const char *kind = cfg->is_cse ? "CSE-ID" : "AE-ID";
    char seen[80];
    int rc = -1;

    if (doc == NULL) {
        m2m_fail(&r->err, why.code == M2M_E_NOMEM ? M2M_E_NOMEM : M2M_E_PROTO,
                 "registration with Registrar %s: the 2001 response body: %s", cfg->authority, why.msg);
        goto done;
    }
    /* csi is optional in the answer; TS-0004 makes it the From of the CREATE, which is our CSE-ID. */
    if (v == NULL && cfg->is_cse && cJSON_IsObject(res))
        v = cfg->id;
    if (v == NULL) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: the 2001 response has no %s", cfg->authority,
                 cfg->is_cse ? "m2m:csr" : "m2m:ae aei");
        goto done;
    }
    shown(v, seen, sizeof seen);
    if (asks_assignment(cfg)) {
        if (strlen(v) < 2 || strlen(v) >= cap || v[0] != cfg->id[0] || !m2m_is_plain_token(v)) {
            m2m_fail(&r->err, M2M_E_AUTH, "registration with Registrar %s: it assigned AE-ID '%s', but [registree] "
                     "id = %s of %s asks for an AE-ID that starts with %s (then letters, digits, '-', '.', '_', '~'); "
                     "nothing recorded", cfg->authority, seen, cfg->id, cfg->details_path, cfg->id);
            goto done;
        }
    } else if (strcmp(v, cfg->id) != 0) {
        m2m_fail(&r->err, M2M_E_AUTH, "registration with Registrar %s: it assigned %s '%s', not %s, the ID enrolled "
                 "for this Registree ([registree] id of %s); nothing recorded", cfg->authority, kind, seen, cfg->id,
                 cfg->details_path);
        goto done;
    }
    snprintf(out, cap, "%s", v);
    rc = 0;
done:
    cJSON_Delete(doc);
    return rc;
}

/* Step 5, and its record in the state file. */
int m2m_rtee_register(m2m_registree *r, m2m_attach_info *info)
{
    const m2m_registree_config *cfg = r->cfg;
    char path[300], dbg[300], status[64];
    const char *token = NULL;
    m2m_reply reply = {0};
    m2m_request req = {0};
    m2m_reg_state *st = malloc(sizeof *st);
    char *body = registration_body(cfg);
    double start;
    int rc = -1;

    if (body == NULL || st == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    *st = r->state;
    snprintf(path, sizeof path, "/~%s", cfg->cse_id); /* the Registrar's CSEBase, SP-relative */
    req.method = "POST";
    req.path = path;
    req.ty = cfg->is_cse ? 16 : 2;
    req.body = body;
    req.from = cfg->id; /* the ID agreed at enrolment; the Registrar binds it to the key, certificate or token */
    /* x.y.7 Step 5.a: the identity token, as the binding carries it (HTTP: Authorization; CoAP: tkns) */
    if (cfg->mechanism == M2M_MECH_TOKEN && r->creds[r->active].mech == M2M_MECH_TOKEN)
        token = cfg->token;
    start = m2m_wire_clock_ms();
    if (m2m_rtee_exchange(r, &req, token, &reply, 0) != 0)
        goto done;
    info->registration_ms = m2m_wire_clock_ms() - start;
    if (reply.rsc != M2M_RSC_CREATED) {
        m2m_rtee_debug_text(&reply, dbg, sizeof dbg);
        if (reply.rsc == 0)
            m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s failed: %s: %s", cfg->authority,
                     m2m_rtee_no_rsc(r, &reply, status, sizeof status), dbg);
        else
            m2m_fail(&r->err, M2M_E_REFUSED, "registration refused by Registrar %s: %d %s: %s%s", cfg->authority,
                     reply.rsc, m2m_rsc_name(reply.rsc), dbg,
                     reply.rsc == M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED
                         ? " (the Registrar holds a registration that the state file does not record)"
                     : reply.rsc == M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED && cfg->mechanism == M2M_MECH_TOKEN
                         ? " (the identity token was not accepted: wrong, already used or expired)"
                         : "");
        m2m_registree_disconnect(r);
        goto done;
    }
    if (assigned_id(r, &reply, st->assigned_id, sizeof st->assigned_id) != 0) {
        m2m_registree_disconnect(r); /* the Registrar bound this connection to an ID this Registree does not take */
        goto done;
    }
    if (strlen(reply.location) >= sizeof st->resource) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: Content-Location is too long",
                 cfg->authority);
        goto done;
    }
    st->registered = 1;
    snprintf(st->resource, sizeof st->resource, "%s", reply.location);
    snprintf(st->registrar_cse_id, sizeof st->registrar_cse_id, "%s", cfg->cse_id);
    snprintf(st->key_id, sizeof st->key_id, "%s", r->creds[r->active].key_id);
    m2m_rtee_forget_generated(r, st);
    r->state = *st;
    {
        int changed = 0;
        m2m_rtee_remember_session(r, &changed); /* TLS 1.3: the ticket the CREATE bound (token) came with the answer */
    }
    if (m2m_state_save(cfg->state_path, &r->state, &r->err) != 0) {
        /* The Registrar now holds the registration; say so, or the next run's 4117 would be a mystery. */
        char why[sizeof r->err.msg];
        snprintf(why, sizeof why, "%s", r->err.msg);
        m2m_fail(&r->err, M2M_E_IO, "registered as %s, but the state file could not record it: %s",
                 st->assigned_id, why);
        goto done;
    }
    info->created = 1;
    snprintf(info->assigned_id, sizeof info->assigned_id, "%s", r->state.assigned_id);
    rc = 0;
done:
    m2m_reply_free(&reply);
    if (st != NULL) {
        m2m_state_wipe(st);
        free(st);
    }
    free(body);
    return rc;
}
