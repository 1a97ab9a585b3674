/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree (include/m2mattach/registree.h): its public calls, each bounded by one deadline and holding the
 * state lock, and the attach flow -- Step 4 with the first way in that works (establish.c), then Step 5 unless
 * the state file says registered (register.c). The steps run over the transport seam (transport.h), the same for
 * HTTP over TLS and CoAP over DTLS; registree_internal.h says which file does what. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registree/registree_internal.h"
#include "registree/state_lock.h"
#include "registree/wire.h"

m2m_registree *m2m_registree_new(const m2m_registree_config *cfg, m2m_err *err)
{
    m2m_registree *r;

    if (cfg == NULL) {
        m2m_fail(err, M2M_E_ARG, "no Registree configuration");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->active = -1;
    r->offer_sessions = 1;
    r->lock_fd = -1;
    return r;
}

void m2m_registree_free(m2m_registree *r)
{
    if (r == NULL)
        return;
    m2m_registree_disconnect(r);
    m2m_rtee_wipe_ways(r);
    m2m_state_wipe(&r->state);
    free(r);
}

void m2m_registree_set_resumption(m2m_registree *r, int enabled)
{
    if (r != NULL)
        r->offer_sessions = enabled != 0;
}

const char *m2m_registree_notice(const m2m_registree *r)
{
    return r != NULL ? r->notice : "";
}

const char *m2m_registree_error(const m2m_registree *r)
{
    return r != NULL ? r->err.msg : "";
}

m2m_code m2m_registree_error_code(const m2m_registree *r)
{
    return r != NULL ? r->err.code : M2M_E_ARG;
}

void m2m_registree_disconnect(m2m_registree *r)
{
    if (r == NULL)
        return;
    m2m_transport_close(r->link);
    r->link = NULL;
    r->saved_sessions = 0;
}

void m2m_reply_free(m2m_reply *reply)
{
    if (reply == NULL)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}

/* 1 when the state file records a registration with this configuration's Registrar. */
int m2m_rtee_registered_here(const m2m_registree *r)
{
    return r->state.registered && strcmp(r->state.registrar_cse_id, r->cfg->cse_id) == 0;
}

/* A bounded copy (messages, bindings). */
void m2m_rtee_copy(char *out, size_t cap, const char *msg)
{
    size_t n = strnlen(msg, cap - 1);
    memmove(out, msg, n);
    out[n] = '\0';
}

/* Step 4 with the first way in that works, then Step 5 unless registered; the state file records the outcome.
 * await: a handshake-only attach waits (briefly) for the TLS 1.3 ticket the Registrar sends after it. */
int m2m_rtee_attach(m2m_registree *r, m2m_attach_info *info, int rekey, int await)
{
    const m2m_registree_config *cfg = r->cfg;
    char old_gen[M2M_KEYID_HEX_LEN + 1], old_prev[M2M_KEYID_HEX_LEN + 1];
    int changed;

    memset(info, 0, sizeof *info);
    m2m_err_clear(&r->err);
    m2m_registree_disconnect(r);
    r->notice[0] = '\0';
    snprintf(info->mechanism, sizeof info->mechanism, "%s", m2m_mechanism_name(cfg->mechanism));
    if (m2m_state_load(cfg->state_path, &r->state, &r->err) != 0 ||
        (cfg->mechanism == M2M_MECH_GBA && m2m_rtee_gba_ensure(r, info, 0) != 0) || m2m_rtee_load_ways(r) != 0)
        return -1;
    memcpy(old_gen, r->state.generated_key_id, sizeof old_gen);
    memcpy(old_prev, r->state.previous_generated_key_id, sizeof old_prev);
    /* a failed attach discards nothing: a refused key is discarded only once another way got in */
    if (m2m_rtee_establish(r, info, rekey) != 0) {
        char first[sizeof r->err.msg];
        /* x.y.5: a B-TID the Registrar refuses (expired at the BSF, or unknown there) is bootstrapped again, once */
        if (cfg->mechanism != M2M_MECH_GBA || info->gba_bootstrapped || !m2m_outcome_refused(r->outcome))
            return -1;
        if (m2m_rtee_gba_ensure(r, info, 1) != 0 || m2m_rtee_load_ways(r) != 0)
            return -1;
        if (m2m_rtee_establish(r, info, rekey) != 0) {
            m2m_rtee_copy(first, sizeof first, r->err.msg);
            return m2m_fail(&r->err, r->err.code, "%.300s -- with B-TID %.80s bootstrapped just now: is IMPI %.80s "
                            "enrolled for %.60s ('enrol gba'), and is the Registrar the NAF %.60s of this BSF?",
                            first, r->state.gba.btid, cfg->gba_impi, cfg->id, cfg->gba_naf_fqdn);
        }
    }
    m2m_rtee_copy(r->notice, sizeof r->notice, info->notice);

    /* A registration is with one Registrar: a state file that names another (the details file was pointed
     * elsewhere) does not spare Step 5 with this one. */
    if (!m2m_rtee_registered_here(r)) {
        if (!r->handshake_only)
            return m2m_rtee_register(r, info);
        snprintf(info->assigned_id, sizeof info->assigned_id, "%s", cfg->id); /* bound to, not registered */
        return 0;
    }

    /* x.y.3 / x.y.4 re-attachment (and x.y.6's "subsequent attachments use the same flow"): the handshake was all;
     * Step 5 is skipped. */
    info->created = 0;
    snprintf(info->assigned_id, sizeof info->assigned_id, "%s", r->state.assigned_id);
    changed = strcmp(old_gen, r->state.generated_key_id) != 0 ||
              strcmp(old_prev, r->state.previous_generated_key_id) != 0;
    if (strcmp(r->state.key_id, r->creds[r->active].key_id) != 0) {
        snprintf(r->state.key_id, sizeof r->state.key_id, "%s", r->creds[r->active].key_id);
        changed = 1;
    }
    if (await && cfg->resumption && m2m_rtee_resumable_mech(cfg, r->creds[r->active].mech) &&
        r->link->ops->sessions(r->link) == 0) {
        /* After a full handshake the Registrar sends a ticket about a round trip later: wait for it (at least
         * AWAIT_SESSION_MIN_MS, longer on a slow link). After a resumption it sends one only when it renews the
         * ticket (its ticket key is getting old): a short look, the old ticket stays good until then. */
        double wait = info->resumed ? 2 * info->handshake_ms + 5 : 4 * info->handshake_ms;
        if (info->resumed ? wait > M2M_AWAIT_SESSION_MIN_MS : wait < M2M_AWAIT_SESSION_MIN_MS)
            wait = M2M_AWAIT_SESSION_MIN_MS;
        if (wait > cfg->timeout_ms)
            wait = cfg->timeout_ms;
        r->link->ops->await_session(r->link, (int)wait);
    }
    return m2m_rtee_save_state(r, changed);
}

/* ---- the public calls: one deadline and the state lock each ----------------------------------------------------- */

/* The start of a public call: its deadline ([tls] deadline from now), and the state lock (state_lock.h), held until
 * end_call. -1 with M2M_E_BUSY when another call (another handle, another process) holds it: nothing is read,
 * sent or written then. */
int m2m_rtee_begin_call(m2m_registree *r)
{
    m2m_err_clear(&r->err);
    r->deadline = m2m_wire_clock_ms() + r->cfg->deadline_ms;
    r->lock_fd = m2m_state_lock(r->cfg->state_path, &r->err);
    return r->lock_fd >= 0 ? 0 : -1;
}

/* The end of a public call: the lock released, and a timeout that the deadline caused says which setting bounds
 * the exchange (the message already names the Registrar). Returns rc. */
int m2m_rtee_end_call(m2m_registree *r, int rc)
{
    m2m_state_unlock(r->lock_fd);
    r->lock_fd = -1;
    if (rc != 0 && r->err.code == M2M_E_TIMEOUT && m2m_wire_clock_ms() >= r->deadline) {
        char why[sizeof r->err.msg];
        m2m_rtee_copy(why, sizeof why, r->err.msg);
        m2m_fail(&r->err, M2M_E_TIMEOUT, "%.300s (the whole exchange with the Registrar may take %d s: [tls] "
                 "deadline of %.120s)", why, r->cfg->deadline_ms / 1000, r->cfg->details_path);
    }
    return rc;
}

int m2m_registree_attach(m2m_registree *r, m2m_attach_info *info)
{
    m2m_attach_info local;
    int rc = -1;

    if (r == NULL)
        return -1;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    if (m2m_rtee_begin_call(r) == 0)
        rc = m2m_rtee_attach(r, info, 0, 1);
    return m2m_rtee_end_call(r, rc);
}

/* A call on a connection kept from an earlier one: the state file may have changed since this handle read it
 * (another process attached or generated a key while the lock was free), and the file is what counts. */
static int reload_state(m2m_registree *r)
{
    m2m_reg_state *fresh = malloc(sizeof *fresh);
    int rc = -1;

    if (fresh == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (m2m_state_load(r->cfg->state_path, fresh, &r->err) != 0)
        goto done;
    m2m_state_wipe(&r->state);
    r->state = *fresh;
    rc = 0;
done:
    if (fresh != NULL) {
        m2m_state_wipe(fresh);
        free(fresh);
    }
    return rc;
}

int m2m_registree_send(m2m_registree *r, const m2m_request *req, m2m_reply *reply)
{
    m2m_attach_info info;
    m2m_request q;
    int rc = -1;

    if (reply != NULL)
        memset(reply, 0, sizeof *reply);
    if (r == NULL)
        return -1;
    if (req == NULL || reply == NULL)
        return m2m_fail(&r->err, M2M_E_ARG, "no request or no reply");
    if (m2m_rtee_begin_call(r) != 0)
        goto done;
    /* a kept connection that cannot carry the request (a quiet DTLS session the Registrar may have dropped) is
     * replaced by a new attachment */
    if (r->link != NULL && !r->link->ops->alive(r->link))
        m2m_registree_disconnect(r);
    if (r->link != NULL ? reload_state(r) != 0 : m2m_rtee_attach(r, &info, 0, 0) != 0)
        goto done;
    q = *req;
    if (q.from == NULL)
        q.from = r->state.registered ? r->state.assigned_id : r->cfg->id; /* the ID the context is bound to */
    rc = m2m_rtee_exchange(r, &q, NULL, reply, 1);
    /* TLS 1.3 tickets come with the answers: keep the newest (a failure to save is not the request's) */
    if (rc == 0 && r->cfg->resumption) {
        m2m_err keep = r->err;
        if (m2m_rtee_save_state(r, 0) != 0)
            r->err = keep;
    }
done:
    return m2m_rtee_end_call(r, rc);
}

void m2m_registree_set_dial(m2m_registree *r, m2m_rtee_dial dial, void *arg)
{
    if (r == NULL)
        return;
    r->dial = dial;
    r->dial_arg = arg;
}
