/* SPDX-License-Identifier: Apache-2.0 */
/* Step 6, Kcc/Kca generation (x.y.8) on the Registree (registree_internal.h): a <keyGeneration> CREATE over a
 * full, forward-secret handshake, the key taken from the connection's exporter at both ends and checked against the
 * ID the Registrar reports, then kept in the generated-key file (the one it replaces in "<file>.previous" until the
 * new one has worked once). Only the key's ID crosses the wire. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registree/registree_internal.h"
#include "util/atomic_write.h"
#include "util/hex.h"

/* The key ID the Registrar reported: {"m2m:kgn":{"ty":10100,"kcaid"|"kccid":ID,"kid":ID}}. */
static int reported_kid(m2m_registree *r, const m2m_reply *reply, char out[M2M_KEYID_HEX_LEN + 1])
{
    m2m_err why = {0};
    cJSON *doc = m2m_json_parse_strict(reply->body, reply->body_len, &why);
    const cJSON *kgn = cJSON_GetObjectItemCaseSensitive(doc, "m2m:kgn");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(kgn, "kid");
    const cJSON *typed = cJSON_GetObjectItemCaseSensitive(kgn, r->cfg->is_cse ? "kccid" : "kcaid");
    const char *v = cJSON_IsString(kid) ? kid->valuestring : cJSON_IsString(typed) ? typed->valuestring : NULL;
    int rc = -1;

    if (doc == NULL) {
        m2m_fail(&r->err, why.code == M2M_E_NOMEM ? M2M_E_NOMEM : M2M_E_PROTO,
                 "key generation with Registrar %s: the 2001 response body: %s", r->cfg->authority, why.msg);
        goto done;
    }
    if (v == NULL || strlen(v) != M2M_KEYID_HEX_LEN || strspn(v, "0123456789abcdef") != M2M_KEYID_HEX_LEN) {
        m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s: the 2001 response has no valid key ID "
                 "(m2m:kgn kid)", r->cfg->authority);
        goto done;
    }
    if (cJSON_IsString(typed) && strcmp(typed->valuestring, v) != 0) {
        m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s: the response names two key IDs",
                 r->cfg->authority);
        goto done;
    }
    snprintf(out, M2M_KEYID_HEX_LEN + 1, "%s", v);
    rc = 0;
done:
    cJSON_Delete(doc);
    return rc;
}

/* Stores the new key: the generated key in use (if the connection used one) moves to "<file>.previous", where it
 * stays until the new one has worked once, and the new one is written atomically (0600). Then the state. A crash
 * in between leaves the files, which attach reads before the state's IDs. */
static int store_generated(m2m_registree *r, const m2m_secret *key, const char *kid)
{
    const m2m_registree_config *cfg = r->cfg;
    char hex[2 * M2M_SECRET_MAX + 2], *prev = m2m_rtee_previous_path(cfg);
    int rc = -1;

    if (prev == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    m2m_hex_encode(key->bytes, key->len, hex);
    strcat(hex, "\n");
    if (r->active == CRED_GENERATED) {
        if (rename(cfg->generated_key_path, prev) != 0) {
            m2m_fail(&r->err, M2M_E_IO, "%s: cannot keep the key in use as %s: %s", cfg->generated_key_path, prev,
                     strerror(errno));
            goto done;
        }
        snprintf(r->state.previous_generated_key_id, sizeof r->state.previous_generated_key_id, "%s",
                 r->creds[CRED_GENERATED].key_id);
    } else {
        unlink(prev);
        r->state.previous_generated_key_id[0] = '\0';
    }
    if (m2m_write_atomic(cfg->generated_key_path, hex, strlen(hex), 0600, 0, NULL, &r->err) != 0)
        goto done;
    snprintf(r->state.generated_key_id, sizeof r->state.generated_key_id, "%s", kid);
    rc = 0;
done:
    m2m_wipe(hex, sizeof hex);
    free(prev);
    return rc;
}

int m2m_registree_rekey(m2m_registree *r, m2m_attach_info *info)
{
    const m2m_registree_config *cfg;
    m2m_attach_info local;
    unsigned char material[M2M_EXPORTER_LEN];
    char path[300], dbg[300], status[64], kid[M2M_KEYID_HEX_LEN + 1], mine[M2M_KEYID_HEX_LEN + 1];
    m2m_request req = {0};
    m2m_reply reply = {0};
    m2m_secret key = {0};
    m2m_err e = {0};
    int rc = -1;

    if (r == NULL)
        return -1;
    cfg = r->cfg;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    /* the lock spans the generation and both writes: another rekey in between would leave the generated-key file
     * holding a key the Registrar replaced (state_lock.h) */
    if (m2m_rtee_begin_call(r) != 0)
        goto done;
    /* a full handshake (a token Registree: its TLS 1.3 session) and, if needed, Step 5 on the same connection */
    if (m2m_rtee_attach(r, info, 1, 0) != 0)
        goto done;
    snprintf(path, sizeof path, "/~%s", cfg->cse_id);
    req.method = "POST";
    req.path = path;
    req.ty = M2M_KGN_TY;
    req.body = "{\"m2m:kgn\":{}}";
    req.from = r->state.assigned_id;
    if (m2m_rtee_exchange(r, &req, NULL, &reply, 0) != 0)
        goto done;
    if (reply.rsc != M2M_RSC_CREATED) {
        m2m_rtee_debug_text(&reply, dbg, sizeof dbg);
        if (reply.rsc == 0)
            m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s failed: %s: %s", cfg->authority,
                     m2m_rtee_no_rsc(r, &reply, status, sizeof status), dbg);
        else
            m2m_fail(&r->err, M2M_E_REFUSED, "key generation refused by Registrar %s: %d %s: %s (this connection: "
                     "%s %s%s)", cfg->authority, reply.rsc, m2m_rsc_name(reply.rsc), dbg, info->tls_version,
                     info->cipher, info->resumed ? ", resumed" : "");
        goto done;
    }
    if (reported_kid(r, &reply, kid) != 0)
        goto done;
    /* Both ends derive the key from this connection; only its ID crossed the wire. */
    if (r->link == NULL) {
        m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s: it closed the connection with its answer, "
                 "so the key cannot be derived (the old credentials stay in use)", cfg->authority);
        goto done;
    }
    if (r->link->ops->export_key(r->link, M2M_EXPORTER_LABEL, material, sizeof material, &r->err) != 0)
        goto done;
    if (m2m_secret_set(&key, material + M2M_GENERATED_KEY_OFFSET, M2M_EXPORTER_LEN - M2M_GENERATED_KEY_OFFSET, &e) != 0 ||
        m2m_keyid(m2m_key_kind_for_id(cfg->id), key.bytes, key.len, mine, &e) != 0) {
        m2m_fail(&r->err, e.code, "key generation: %s", e.msg);
        goto done;
    }
    if (strcmp(kid, mine) != 0) {
        m2m_fail(&r->err, M2M_E_AUTH, "key generation with Registrar %s: it reports key ID %s, this end derived %s; "
                 "the key is not stored (the old credentials stay in use)", cfg->authority, kid, mine);
        goto done;
    }
    if (store_generated(r, &key, kid) != 0)
        goto done;
    snprintf(r->state.key_id, sizeof r->state.key_id, "%s", r->creds[r->active].key_id);
    if (m2m_rtee_save_state(r, 1) != 0) {
        char why[sizeof r->err.msg];
        m2m_rtee_copy(why, sizeof why, r->err.msg);
        m2m_fail(&r->err, M2M_E_IO, "generated key %s is in %s, but the state file could not record it: %s", kid,
                 cfg->generated_key_path, why);
        goto done;
    }
    snprintf(info->generated_key_id, sizeof info->generated_key_id, "%s", kid);
    rc = 0;
done:
    m2m_wipe(material, sizeof material);
    m2m_secret_clear(&key);
    m2m_reply_free(&reply);
    return m2m_rtee_end_call(r, rc);
}
