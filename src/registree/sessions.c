/* SPDX-License-Identifier: Apache-2.0 */
/* x.y.4 on the Registree (registree_internal.h): the newest session the Registrar issued is kept in the state
 * file, in the slot of the way in it came with and bound to that credential and Registrar, and offered first the
 * next time that way is tried. The Registrar may decline it (expired ticket key, revoked enrolment): the
 * handshake is then a full one. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "registree/registree_internal.h"

/* With ocsp-responder-cert the Registree wants a fresh, good OCSP status of the Registrar at every attachment,
 * and a resumed handshake has none: cert and token then do full handshakes (a PSK, generated or not, involves no
 * certificate). */
int m2m_rtee_resumable_mech(const m2m_registree_config *cfg, m2m_mechanism mech)
{
    return mech == M2M_MECH_PSK || mech == M2M_MECH_GBA || cfg->ocsp_cert == NULL;
}

/* A session of the protocol the configured binding speaks: TLS for https, DTLS for coaps. */
static int version_fits(const m2m_registree_config *cfg, const SSL_SESSION *sess)
{
    int v = SSL_SESSION_get_protocol_version(sess);
    return cfg->binding == M2M_BINDING_COAP ? v == DTLS1_2_VERSION : v == TLS1_2_VERSION || v == TLS1_3_VERSION;
}

/* The saved session to offer with way i, or NULL. rekey: none -- the Registrar generates a key only over a full
 * handshake that proves the credential in that very connection (a resumed session proves only that someone holds
 * the ticket's secret, and a TLS 1.2 resumption has no key exchange either). */
SSL_SESSION *m2m_rtee_session_for(const m2m_registree *r, int i, int rekey)
{
    const m2m_cred *c = &r->creds[i];
    const m2m_saved_session *s = &r->state.session[c->slot];
    const unsigned char *p = s->der;
    SSL_SESSION *sess;

    if (!r->cfg->resumption || !r->offer_sessions || s->der_len == 0 || strcmp(s->binding, c->binding) != 0 ||
        !m2m_rtee_resumable_mech(r->cfg, c->mech))
        return NULL;
    if (rekey)
        return NULL;
    sess = d2i_SSL_SESSION(NULL, &p, (long)s->der_len);
    ERR_clear_error();
    /* a session of a version the details file no longer allows would not be sent anyway, nor one of the other
     * binding's protocol (TLS for https, DTLS for coaps: the point of access changed) */
    if (sess != NULL && (!SSL_SESSION_is_resumable(sess) || !version_fits(r->cfg, sess) ||
                         (r->cfg->tls_range == M2M_TLS_ONLY_1_2 && r->cfg->binding == M2M_BINDING_HTTP &&
                          SSL_SESSION_get_protocol_version(sess) != TLS1_2_VERSION) ||
                         (r->cfg->tls_range == M2M_TLS_ONLY_1_3 && r->cfg->binding == M2M_BINDING_HTTP &&
                          SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION) ||
                         (c->mech == M2M_MECH_TOKEN && SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION))) {
        SSL_SESSION_free(sess);
        sess = NULL;
    }
    return sess;
}

/* Keeps the newest session of the connection in the state file (in the slot of its way) and, after a full
 * handshake, its time. *changed is set when the state needs saving. */
void m2m_rtee_remember_session(m2m_registree *r, int *changed)
{
    const m2m_registree_config *cfg = r->cfg;
    const m2m_cred *c;
    m2m_saved_session *slot;
    m2m_link_info link;
    SSL_SESSION *sess;
    unsigned char *p;
    int len;

    if (!cfg->resumption || (r->active >= 0 && !m2m_rtee_resumable_mech(cfg, r->creds[r->active].mech))) {
        /* resumption = no (or not with this mechanism): no resumption secret stays on the device */
        for (int i = 0; i < M2M_SLOTS; i++)
            if ((!cfg->resumption || (int)r->creds[r->active].slot == i) &&
                (r->state.session[i].der_len > 0 || r->state.session[i].binding[0] != '\0')) {
                OPENSSL_cleanse(&r->state.session[i], sizeof r->state.session[i]);
                *changed = 1;
            }
        return;
    }
    if (r->link == NULL || r->active < 0)
        return;
    c = &r->creds[r->active];
    slot = &r->state.session[c->slot];
    r->link->ops->info(r->link, &link);
    if (r->link->ops->sessions(r->link) != r->saved_sessions && (sess = r->link->ops->get1_session(r->link)) != NULL) {
        r->saved_sessions = r->link->ops->sessions(r->link);
        len = i2d_SSL_SESSION(sess, NULL);
        /* (D)TLS 1.2 tickets of a token connection are issued before the token binds it: they cannot resume */
        if (len > 0 && len <= M2M_SESSION_DER_MAX &&
            (c->mech != M2M_MECH_TOKEN || SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION)) {
            if (strcmp(slot->binding, c->binding) != 0)
                slot->full_ms = 0; /* another credential: its time says nothing about this one */
            p = slot->der;
            slot->der_len = (size_t)i2d_SSL_SESSION(sess, &p);
            m2m_rtee_copy(slot->binding, sizeof slot->binding, c->binding);
            *changed = 1;
        }
        SSL_SESSION_free(sess);
    }
    if (!link.resumed && strcmp(slot->binding, c->binding) == 0 && slot->full_ms != link.handshake_ms) {
        slot->full_ms = link.handshake_ms;
        *changed = 1;
    }
}

/* Saves the state when the connection brought a new session (or a full handshake's time) or the bookkeeping of
 * this attach changed it. */
int m2m_rtee_save_state(m2m_registree *r, int changed)
{
    m2m_rtee_remember_session(r, &changed);
    if (!changed)
        return 0;
    return m2m_state_save(r->cfg->state_path, &r->state, &r->err);
}
