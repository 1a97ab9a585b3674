/* SPDX-License-Identifier: Apache-2.0 */
/* Step 4 of the Registree (registree_internal.h): the ways in tried in order over the transport seam, each with
 * its saved session; what the Registrar refused and why, explained once; and the requests on the connection that
 * got in (re-opened with the same way for a later request). Decisions follow the outcome the transport reports
 * (outcome.h), never the wording of a message. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registree/dtls_client.h"
#include "registree/registree_internal.h"

/* The handshake with way i, offering sess when not NULL; r->outcome says what became of it. */
static int connect_cred(m2m_registree *r, int i, SSL_SESSION *sess, int rekey)
{
    const m2m_registree_config *cfg = r->cfg;
    const m2m_cred *c = &r->creds[i];
    m2m_tls_client_config tc = {
        .host = cfg->host,
        .port = cfg->port,
        .peer_name = cfg->authority,
        .range = cfg->tls_range,
        .ciphers12 = cfg->ciphers,
        .timeout_ms = cfg->timeout_ms,
        .deadline = r->deadline,
        .session = sess,
        .keep_sessions = cfg->resumption,
        .dtls_timer_ms = cfg->coap_dtls_timer_ms,
        .coap_ack_timeout_ms = cfg->coap_ack_timeout_ms,
        .coap_max_retransmit = cfg->coap_max_retransmit,
        .coap_cbor = cfg->coap_cbor,
    };
    int coap = cfg->binding == M2M_BINDING_COAP;
    const char *rekey_psk = coap ? M2M_REKEY_DTLS_PSK_CIPHERS : M2M_REKEY_TLS12_PSK_CIPHERS;

    m2m_registree_disconnect(r);
    if (c->mech == M2M_MECH_GBA) {
        /* x.y.5: TLS-PSK, identity "3GPP-bootstrapping." B-TID, key Ks_NAF derived for the suite negotiated */
        tc.auth = M2M_TLS_AUTH_PSK;
        tc.psk_identity = r->gba_identity;
        tc.psk_derive = m2m_rtee_gba_derive;
        tc.psk_arg = r;
        if (rekey && !cfg->ciphers_set)
            tc.ciphers12 = rekey_psk;
    } else if (c->mech == M2M_MECH_PSK) {
        tc.auth = M2M_TLS_AUTH_PSK;
        tc.psk_identity = c->key_id;
        tc.psk = i == CRED_DETAILS ? cfg->key.bytes : c->key.bytes;
        tc.psk_len = i == CRED_DETAILS ? cfg->key.len : c->key.len;
        /* the default list starts with the oneM2M mandatory suite, which has no ephemeral key exchange */
        if (rekey && !cfg->ciphers_set)
            tc.ciphers12 = rekey_psk;
        /* a generated key goes with the default PSK suites whatever the details file's mechanism says */
        if (i != CRED_DETAILS && cfg->mechanism != M2M_MECH_PSK)
            tc.ciphers12 = rekey ? rekey_psk : coap ? M2M_DEFAULT_DTLS_PSK_CIPHERS : M2M_DEFAULT_TLS12_PSK_CIPHERS;
    } else {
        tc.auth = M2M_TLS_AUTH_CERT;
        tc.root = cfg->root_cert;
        tc.root_name = cfg->root_cert_path;
        tc.cse_id = cfg->cse_id;
        tc.ocsp_responder = cfg->ocsp_cert;
        tc.ocsp_responder_name = cfg->ocsp_cert_path;
        if (c->mech == M2M_MECH_CERT) {
            tc.client_cert = cfg->cert;
            tc.client_key = cfg->cert_key;
            tc.client_chain = cfg->chain;
        }
    }
    r->outcome = M2M_OUTCOME_LOCAL;
    if (r->dial != NULL && r->dial(r->dial_arg, &tc, &r->err) != 0)
        return -1;
    r->link = m2m_transport_open(cfg->binding, &tc, &r->outcome, &r->err);
    if (r->link == NULL)
        return -1;
    r->active = i;
    return 0;
}

/* x.y.7: the Registrar binds a token context at the CREATE, and the token works once; a registered token
 * Registree gets back in only by resuming a session of a bound context (TLS 1.3). */
static int token_single_use(m2m_registree *r, const char *why)
{
    const m2m_registree_config *cfg = r->cfg;
    r->outcome = M2M_OUTCOME_LOCAL;
    return m2m_fail(&r->err, M2M_E_EXISTS,
                    "token attachment is single-use: %s is already registered with %s (state file %s)%s; "
                    "re-attach with a key generated in the registering attachment (the first attach --rekey) or "
                    "enrol a new token",
                    r->state.assigned_id[0] != '\0' ? r->state.assigned_id : cfg->id, cfg->cse_id,
                    cfg->state_path, why);
}

/* 1 when the connection resumed the session offered. */
static int resumed(const m2m_registree *r)
{
    m2m_link_info link;
    r->link->ops->info(r->link, &link);
    return link.resumed;
}

/* One try of way i: 0 connected (r->link), -1 with r->err and r->outcome. A token Registree that is registered needs a session
 * the Registrar resumes: without one nothing is sent, and a connection that did not resume is dropped unused. */
static int try_cred(m2m_registree *r, int i, int rekey, int *offered)
{
    const m2m_cred *c = &r->creds[i];
    SSL_SESSION *sess = m2m_rtee_session_for(r, i, rekey);
    int token_registered = c->mech == M2M_MECH_TOKEN && m2m_rtee_registered_here(r), rc;

    *offered = sess != NULL;
    r->outcome = M2M_OUTCOME_LOCAL;
    if (token_registered && rekey)
        return m2m_fail(&r->err, M2M_E_EXISTS,
                        "key generation needs a full handshake that proves the credential in the same connection, "
                        "and %s is already registered with %s by its single-use token (state file %s): a token "
                        "Registree generates its key in the attachment that registers (the first attach "
                        "--rekey); enrol a new token to do so now",
                        r->state.assigned_id[0] != '\0' ? r->state.assigned_id : r->cfg->id, r->cfg->cse_id,
                        r->cfg->state_path);
    if (token_registered && sess == NULL) {
        const m2m_saved_session *s = &r->state.session[M2M_SLOT_DETAILS];
        return token_single_use(r, !r->cfg->resumption ? " and resumption is off ([tls] resumption = no)"
                                   : !m2m_rtee_resumable_mech(r->cfg, c->mech)
                                       ? " and resumption is off (ocsp-responder-cert asks for a fresh OCSP status "
                                         "at every attachment)"
                                   : !r->offer_sessions ? " and resumption is off for this attach (--no-resume)"
                                   : r->cfg->binding == M2M_BINDING_COAP
                                       ? " and DTLS 1.2 cannot resume a token session (its tickets are issued "
                                         "before the token binds the connection)"
                                   : r->cfg->tls_range == M2M_TLS_ONLY_1_2 || (s->der_len > 0 &&
                                                                             strcmp(s->binding, c->binding) == 0)
                                       ? " and TLS 1.2 cannot resume a token session (its tickets are issued "
                                         "before the token binds the connection; use TLS 1.3)"
                                       : " and no session of it is saved");
    }
    rc = connect_cred(r, i, sess, rekey);
    SSL_SESSION_free(sess);
    if (rc != 0 && *offered && !token_registered && m2m_outcome_refused(r->outcome) &&
        !m2m_outcome_names_credential(r->outcome)) {
        /* A Registrar should ignore a session it cannot resume and go on with a full handshake; one that fails
         * the handshake instead must not lock the device out: the session is dropped and the handshake tried
         * once more without it (unless the refusal named the PSK: then the credential is what was refused). */
        m2m_err first = r->err, ignored;
        m2m_outcome first_why = r->outcome;
        m2m_saved_session *slot = &r->state.session[c->slot];
        OPENSSL_cleanse(slot, sizeof *slot);
        m2m_state_save(r->cfg->state_path, &r->state, &ignored);
        *offered = 0;
        rc = connect_cred(r, i, NULL, rekey);
        if (rc != 0 && r->outcome == first_why && r->err.code == first.code)
            *offered = 1; /* the same refusal: the credential, not the session, is what the Registrar refuses */
    }
    if (rc == 0 && token_registered && !resumed(r)) {
        m2m_registree_disconnect(r);
        return token_single_use(r, ", and the Registrar did not resume its saved session (expired, or the "
                                   "enrolment was revoked or replaced)");
    }
    return rc;
}

/* The reason of a handshake failure without the peer it names (the message around it names it once). */
static const char *bare_reason(const m2m_registree *r, const char *msg)
{
    char prefix[400];
    snprintf(prefix, sizeof prefix, "TLS handshake with %s failed: ", r->cfg->authority);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        return msg + strlen(prefix);
    snprintf(prefix, sizeof prefix, "DTLS handshake with %s failed: ", r->cfg->authority);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        return msg + strlen(prefix);
    snprintf(prefix, sizeof prefix, "Registrar %s: ", r->cfg->authority);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        return msg + strlen(prefix);
    return msg;
}

/* The message of a failed Step 4. One way tried: its own message, with a word on what a refused PSK most likely
 * means. Several: each way and its reason. */
static void explain_failure(m2m_registree *r, int last, int offered)
{
    char why[sizeof r->err.msg], list[sizeof r->err.msg] = "", name[200];
    int ways = 0, psk = 0, asked = 0;

    m2m_rtee_copy(why, sizeof why, r->err.msg);
    m2m_rtee_copy(r->creds[last].refused, sizeof r->creds[last].refused, why);
    r->creds[last].refused_why = r->outcome;
    for (int j = 0, prev = -1; j <= last; j++) {
        const m2m_cred *c = &r->creds[j];
        const char *m = c->refused[0] ? c->refused : c->unusable;
        if (!c->present || m[0] == '\0')
            continue;
        ways++;
        psk |= c->mech == M2M_MECH_PSK && c->refused[0] != '\0';
        /* a Registrar that answered with a certificate instead: its message asks whether the key is enrolled */
        asked |= c->refused[0] != '\0' && c->refused_why == M2M_OUTCOME_CRED_NOT_TAKEN;
        m2m_rtee_way_name(r, j, name, sizeof name);
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s: %.160s", list[0] ? "; " : "", name,
                 prev >= 0 && strcmp(bare_reason(r, m), bare_reason(r, r->creds[prev].refused[0]
                                                                      ? r->creds[prev].refused
                                                                      : r->creds[prev].unusable)) == 0
                     ? "the same"
                     : bare_reason(r, m));
        prev = j;
    }
    if (!m2m_outcome_refused(r->outcome))
        ways = 1; /* not a refusal: the reason is what matters */
    if (ways > 1)
        m2m_fail(&r->err, r->err.code, "Registrar %s refused every credential: %.400s%s", r->cfg->authority, list,
                 psk && !asked ? " (not enrolled, revoked or replaced?)" : "");
    else if (r->creds[last].mech == M2M_MECH_PSK &&
             (r->outcome == M2M_OUTCOME_CRED_UNKNOWN || r->outcome == M2M_OUTCOME_HANDSHAKE))
        m2m_fail(&r->err, M2M_E_TLS, "%.340s (psk_identity %s refused: not enrolled, revoked or replaced?%s)", why,
                 r->creds[last].key_id, offered ? " The saved session was not resumed either" : "");
}

/* Step 4 with the first way that gets in (see the top of this file); fills the handshake part of info. */
int m2m_rtee_establish(m2m_registree *r, m2m_attach_info *info, int rekey)
{
    const m2m_registree_config *cfg = r->cfg;
    char name[200], notes[sizeof info->notice] = "";
    int chosen = -1, offered = 0;
    m2m_link_info link;

    for (int i = 0; i < CRED_COUNT && chosen < 0; i++) {
        m2m_cred *c = &r->creds[i];
        if (!c->present)
            continue;
        if (c->unusable[0] != '\0')
            continue;
        if (try_cred(r, i, rekey, &offered) == 0) {
            chosen = i;
            break;
        }
        if (!m2m_outcome_refused(r->outcome) || i == CRED_DETAILS) {
            explain_failure(r, i, offered);
            return -1;
        }
        m2m_rtee_copy(c->refused, sizeof c->refused, r->err.msg);
        c->refused_why = r->outcome;
    }
    if (chosen < 0) {
        r->outcome = M2M_OUTCOME_LOCAL;
        return m2m_fail(&r->err, M2M_E_ARG, "no credentials to attach with");
    }

    /* The ways before the one that got in: refused or damaged generated keys, useless from now on. */
    for (int j = 0; j < chosen; j++) {
        m2m_cred *c = &r->creds[j];
        if (!c->present)
            continue;
        m2m_rtee_way_name(r, j, name, sizeof name);
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "%s %s (%.150s), discarded; ", name,
                 c->refused[0] ? "was refused by the Registrar" : "cannot be used",
                 c->refused[0] ? bare_reason(r, c->refused) : c->unusable);
        m2m_rtee_discard_generated(r, j);
    }
    if (chosen == CRED_PREVIOUS) {
        /* the previous key is the one the Registrar holds: it becomes the generated key again */
        char *prev = m2m_rtee_previous_path(cfg);
        if (prev == NULL || rename(prev, cfg->generated_key_path) != 0) {
            free(prev);
            return m2m_fail(&r->err, M2M_E_IO, "%s: cannot restore the previous generated key: %s",
                            cfg->generated_key_path, strerror(errno));
        }
        free(prev);
        memcpy(&r->creds[CRED_GENERATED], &r->creds[CRED_PREVIOUS], sizeof r->creds[CRED_GENERATED]);
        memset(&r->creds[CRED_PREVIOUS], 0, sizeof r->creds[CRED_PREVIOUS]);
        snprintf(r->state.generated_key_id, sizeof r->state.generated_key_id, "%s",
                 r->creds[CRED_GENERATED].key_id);
        r->state.previous_generated_key_id[0] = '\0';
        chosen = CRED_GENERATED;
        r->active = CRED_GENERATED;
    } else if (chosen == CRED_GENERATED && r->creds[CRED_PREVIOUS].present) {
        /* the new key has worked once: the Registrar retired the old one, so does the device */
        m2m_rtee_discard_generated(r, CRED_PREVIOUS);
    }
    if (chosen == CRED_GENERATED)
        snprintf(r->state.generated_key_id, sizeof r->state.generated_key_id, "%s", r->creds[chosen].key_id);
    if (notes[0] != '\0') {
        m2m_rtee_way_name(r, chosen, name, sizeof name);
        snprintf(info->notice, sizeof info->notice, "%.330sattached with the %.150s instead", notes, name);
    }

    snprintf(info->mechanism, sizeof info->mechanism, "%s", m2m_mechanism_name(r->creds[chosen].mech));
    r->link->ops->info(r->link, &link);
    snprintf(info->tls_version, sizeof info->tls_version, "%s", link.version);
    snprintf(info->cipher, sizeof info->cipher, "%s", link.cipher);
    snprintf(info->key_id, sizeof info->key_id, "%s", r->creds[chosen].key_id);
    info->handshake_ms = link.handshake_ms;
    info->ocsp_checked = link.ocsp_checked;
    info->generated_key = chosen != CRED_DETAILS;
    info->session_offered = offered;
    info->resumed = link.resumed;
    if (strcmp(r->state.session[r->creds[chosen].slot].binding, r->creds[chosen].binding) == 0)
        info->full_handshake_ms = r->state.session[r->creds[chosen].slot].full_ms;
    return 0;
}


/* One request and its response on the current connection (opened again with the way in of this attach when it
 * was closed: a token Registree only by resuming). may_retry: a kept connection that the Registrar closed while
 * idle is replaced once (handshake only) and the request sent again; it never reached the Registrar. */
int m2m_rtee_exchange(m2m_registree *r, const m2m_request *req, const char *token, m2m_reply *reply, int may_retry)
{
    memset(reply, 0, sizeof *reply);
    for (int attempt = 0;; attempt++) {
        m2m_outcome why;
        if (r->link == NULL) {
            int offered;
            if (r->active < 0 || try_cred(r, r->active, 0, &offered) != 0)
                goto fail;
        }
        /* a connection kept from an earlier call still has that call's deadline */
        r->link->ops->set_deadline(r->link, r->deadline);
        if (r->link->ops->exchange(r->link, req, token, reply, &why, &r->err) == 0)
            break;
        if (!(may_retry && attempt == 0 && why == M2M_OUTCOME_CLOSED_IDLE))
            goto fail;
        m2m_registree_disconnect(r);
    }
    if (!r->link->ops->alive(r->link))
        m2m_registree_disconnect(r); /* HTTP Connection: close: the next request reconnects */
    return 0;
fail:
    /* After a failed exchange the connection may be out of step: never reuse it. */
    m2m_reply_free(reply);
    m2m_registree_disconnect(r);
    return -1;
}
