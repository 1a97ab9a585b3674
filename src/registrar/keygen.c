/* SPDX-License-Identifier: Apache-2.0 */
/* Step 6, Kcc/Kca generation (seed x.y.8), on the Registrar. Both ends derive the key from the session with the
 * TLS exporter (RFC 5705; label and size of TS-0003 10.3) and its ID with the seed's a.b formula, so the key never
 * crosses the wire: the response carries the ID only. Forward secrecy is the point (x.y.8.1), so a session whose
 * handshake had no ephemeral (EC)DH exchange is refused; and the new key replaces the Registree's credential, so
 * only a connection whose binding was proved in this very connection may ask (not one resumed from a ticket, which
 * an eavesdropper may hold: secctx/binding.c, m2m_bind_keygen_allowed). The new key waits as "pending" beside the old one until
 * it is first used, so a lost response never locks the device out. */
#include <stdio.h>
#include <string.h>

#include "crypto/secret.h"
#include "m2mattach/keyid.h"
#include "onem2m/status.h"
#include "registrar/cse.h"

#define EXPORTER_LABEL "EXPORTER-oneM2M-Connection"
#define EXPORTER_LEN 48
#define KEY_OFFSET 16 /* the key is the last 32 octets */

int m2m_cse_keygen(m2m_cse *cse, const m2m_peer *peer, const m2m_secctx *sec, const m2m_prim_req *req,
                   const m2m_cse_call *call, m2m_prim_rsp *rsp)
{
    m2m_cse_write *w = NULL;
    int pending = 0;
    unsigned char material[EXPORTER_LEN];
    char why[160], kid[M2M_KEYID_HEX_LEN + 1];
    const cJSON *body = req->pc ? cJSON_GetObjectItemCaseSensitive(req->pc, "m2m:kgn") : NULL;
    m2m_secret key = {0};
    m2m_err err;

    if (body == NULL || !cJSON_IsObject(body) || cJSON_GetArraySize(body) != 0) {
        m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "body must be {\"m2m:kgn\":{}} (ty=%d)", M2M_TY_KGN);
        goto done;
    }
    if (sec == NULL || sec->keygen_allowed == NULL || sec->export_key == NULL) {
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "key generation needs a TLS security context");
        goto done;
    }
    if (!sec->keygen_allowed(sec->arg, why, sizeof why)) {
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "key generation refused: %s; use an ephemeral (EC)DH "
                       "suite (ECDHE-PSK, ECDHE-ECDSA or TLS 1.3) in a full handshake", why);
        goto done;
    }
    if (sec->export_key(sec->arg, EXPORTER_LABEL, material, sizeof material) != 0 ||
        m2m_secret_set(&key, material + KEY_OFFSET, EXPORTER_LEN - KEY_OFFSET, &err) != 0 ||
        m2m_keyid(m2m_key_kind_for_id(peer->registree_id), key.bytes, key.len, kid, &err) != 0) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "key derivation failed");
        goto done;
    }
    /* Committed before the response: if the response is lost, the device still has its old key (valid until
     * the new one is used) and can generate again, replacing this pending key. */
    if ((w = m2m_cse_write_new(M2M_W_KEYGEN)) == NULL) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    w->key = key;
    snprintf(w->kid, sizeof w->kid, "%s", kid);
    snprintf(w->owner, sizeof w->owner, "%s", peer->registree_id);
    m2m_cse_write_submit(cse, call, w);
    pending = 1;
done:
    m2m_wipe(material, sizeof material);
    m2m_secret_clear(&key);
    return pending;
}
