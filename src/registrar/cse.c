/* SPDX-License-Identifier: Apache-2.0 */
/* Request dispatch: addressing, originator binding (TS-0003 7.2.1, TS-0004 7.3.2.1) and privilege. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "onem2m/status.h"
#include "registrar/briefing.h"
#include "registrar/cse.h"
#include "secctx/token.h"
#include "util/clock.h"
#include "util/log.h"

int m2m_cse_init(m2m_cse *cse, m2m_store *st, m2m_err *err)
{
    memset(cse, 0, sizeof *cse);
    cse->st = st;
    if (m2m_store_get_identity(st, cse->cse_id, cse->cse_name, err) != 0 ||
        m2m_store_get_meta(st, "sp_id", cse->sp_id, sizeof cse->sp_id, err) != 0)
        return -1;
    if (cse->sp_id[0] == '\0')
        snprintf(cse->sp_id, sizeof cse->sp_id, "%s", M2M_DEFAULT_SP_ID);
    return 0;
}

/* To -> the CSE-relative part, or NULL when it names another CSE (no forwarding here). */
static const char *cse_relative(const m2m_cse *cse, const char *to)
{
    size_t n = strlen(cse->cse_id);
    if (to[0] == '/' && to[1] == '/') {       /* absolute: //sp-fqdn/cse-id/... -> ours only, then SP-relative */
        const char *slash = strchr(to + 2, '/');
        size_t sp = strlen(cse->sp_id);
        if (slash == NULL || (size_t)(slash - (to + 2)) != sp || strncmp(to + 2, cse->sp_id, sp) != 0)
            return NULL; /* another Service Provider: no forwarding here */
        to = slash;
    }
    if (to[0] == '/') {                       /* SP-relative: /cse-id[/rest] */
        if (strncmp(to, cse->cse_id, n) != 0 || (to[n] != '\0' && to[n] != '/'))
            return NULL;
        to += n;
        if (*to == '/')
            to++;
        return *to == '\0' ? cse->cse_name : to;
    }
    return to;
}

/* Resolves the target: first segment is the CSEBase name (structured) or a resource ID (unstructured), the rest
 * are resource names. */
static int resolve(m2m_cse *cse, const char *to, m2m_resource *out, m2m_prim_rsp *rsp)
{
    char seg[M2M_RI_MAX];
    const char *p = cse_relative(cse, to);
    m2m_err err;
    int first = 1;

    if (p == NULL)
        return m2m_prim_error(rsp, M2M_RSC_NOT_FOUND, "%.200s is not a resource of CSE //%s%s", to, cse->sp_id,
                              cse->cse_id), -1;
    memset(out, 0, sizeof *out);
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        m2m_resource next;
        int rc;
        if (n == 0 || n >= sizeof seg) {
            m2m_resource_clear(out);
            return m2m_prim_error(rsp, M2M_RSC_NOT_FOUND, "no resource at %s", to), -1;
        }
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (first && strcmp(seg, "-") == 0) /* TS-0004 6.2.3: "-" stands for the CSEBase's name */
            snprintf(seg, sizeof seg, "%s", cse->cse_name);
        if (first)
            rc = m2m_store_res_get(cse->st, seg, &next, &err);
        else
            rc = m2m_store_res_child(cse->st, out->ri, seg, &next, &err);
        m2m_resource_clear(out);
        if (rc != 0) {
            if (err.code == M2M_E_NOTFOUND)
                return m2m_prim_error(rsp, M2M_RSC_NOT_FOUND, "no resource at %s", to), -1;
            return m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure"), -1;
        }
        *out = next;
        first = 0;
        p = slash ? slash + 1 : p + strlen(p);
    }
    if (first)
        return m2m_prim_error(rsp, M2M_RSC_NOT_FOUND, "no resource at %s", to), -1;
    return 0;
}

static int is_registration(const m2m_prim_req *req)
{
    return req->op == M2M_OP_CREATE && (req->ty == M2M_TY_AE || req->ty == M2M_TY_CSR);
}

/* x.y.7 Step 5: on a server-authenticated-only context, a registration with a valid identity token registers the
 * token's Registree; the token is used up in the same write, and the answer carries the binding the context gets.
 * Any token failure closes the context (a guesser gets one try per handshake). */
static int register_by_token(m2m_cse *cse, const m2m_secctx *sec, const m2m_prim_req *req, const m2m_cse_call *call,
                             m2m_prim_rsp *rsp)
{
    m2m_resource target = {0};
    m2m_peer cand;
    char why[160], hash[65];
    int pending = 0;

    memset(&cand, 0, sizeof cand);
    if (!is_registration(req) || req->token[0] == '\0') {
        m2m_prim_error(rsp, M2M_RSC_SECURITY_ASSOCIATION_REQUIRED, "this connection is not bound to an "
                       "authenticated Registree: register with an identity token first");
        return 0;
    }
    if (sec == NULL || sec->bind_token == NULL) {
        m2m_prim_error(rsp, M2M_RSC_SECURITY_ASSOCIATION_REQUIRED, "identity tokens need a TLS security context");
        return 0;
    }
    if (m2m_token_check(cse->st, req, &cand, hash, why, sizeof why) != 0) {
        m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "%s", why);
        rsp->close_connection = 1;
        return 0;
    }
    if (resolve(cse, req->to, &target, rsp) == 0) {
        if (target.ty != M2M_TY_CB)
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "registration must target the CSEBase");
        else
            pending = m2m_cse_register(cse, &cand, req, &target, hash, call, rsp);
    }
    m2m_resource_clear(&target);
    OPENSSL_cleanse(hash, sizeof hash);
    memset(&cand, 0, sizeof cand);
    return pending;
}

/* Step 2 from the network (registrar/briefing.h): a <briefing> is read by its owner, registered here or not (a
 * device attached at a Briefing Registrar may have nothing else to do there), never by an AE forwarded behind it;
 * nobody changes it over the wire. Anyone else gets exactly what a missing resource gets, so probing does not tell
 * which devices have a briefing. */
static int briefing_request(m2m_cse *cse, const m2m_peer *peer, const m2m_originator *o, const m2m_prim_req *req,
                            const m2m_resource *target, const m2m_cse_call *call, m2m_prim_rsp *rsp)
{
    if (o->forwarded || strcmp(target->owner, peer->registree_id) != 0) {
        m2m_prim_error(rsp, M2M_RSC_NOT_FOUND, "no resource at %s", req->to);
        return 0;
    }
    if (req->op != M2M_OP_RETRIEVE) {
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a <briefing> can only be read: the Service Provider "
                       "prepares it");
        return 0;
    }
    return m2m_cse_briefing_read(cse, target, call, rsp);
}

static int handle(m2m_cse *cse, const m2m_peer *peer, const m2m_secctx *sec, const m2m_prim_req *req,
                  const m2m_cse_call *call, m2m_prim_rsp *rsp)
{
    m2m_resource target = {0}, reg = {0};
    m2m_originator o;
    m2m_err err;
    m2m_cse_write *w;
    int registered, pending = 0;

    if (peer->registree_id[0] == '\0')
        return register_by_token(cse, sec, req, call, rsp);
    if (is_registration(req)) {
        if (resolve(cse, req->to, &target, rsp) != 0)
            goto done;
        if (target.ty != M2M_TY_CB) {
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "registration must target the CSEBase");
            goto done;
        }
        pending = m2m_cse_register(cse, peer, req, &target, NULL, call, rsp);
        goto done;
    }

    /* After Step 4 every request on the context speaks for the bound Registree (or, on a CSE's, an AE behind it). */
    if (m2m_cse_originator(cse, peer, req, &o, rsp) != 0)
        goto done;
    registered = m2m_store_res_registration(cse->st, peer->registree_id, &reg, &err) == 0;
    if (!registered && err.code != M2M_E_NOTFOUND) {
        m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure");
        goto done;
    }
    if (cse->quota != NULL && cse->quota->rate != NULL && !m2m_rate_take(cse->quota->rate, peer->registree_id)) {
        __atomic_add_fetch(&cse->quota->refused, 1, __ATOMIC_RELAXED);
        m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "request rate limit exceeded for %s; retry later",
                       peer->registree_id);
        goto done;
    }
    if (resolve(cse, req->to, &target, rsp) != 0)
        goto done;
    if (target.ty == M2M_TY_BRF) {
        pending = briefing_request(cse, peer, &o, req, &target, call, rsp);
        goto done;
    }

    if (target.ty == M2M_TY_CB) {
        /* The CSEBase: readable on any authenticated context, registered or not (a CSE reads it before it
         * registers); nothing is created under it but a registration and a <keyGeneration>. */
        switch (req->op) {
        case M2M_OP_RETRIEVE:
            rsp->rsc = M2M_RSC_OK;
            if ((rsp->pc = m2m_cse_represent(cse, &target, req->rvi)) == NULL)
                m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot represent the CSEBase");
            break;
        case M2M_OP_CREATE:
            if (req->ty != M2M_TY_KGN)
                m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_HAS_NO_PRIVILEGE, "%s may create resources only under its "
                               "own registration", o.id);
            else if (!registered || o.forwarded)
                m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "%s must be registered (CREATE <AE> or "
                               "<remoteCSE>) before it generates a key", o.id);
            else
                pending = m2m_cse_keygen(cse, peer, sec, req, call, rsp);
            break;
        default:
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "the CSEBase cannot be %s",
                           req->op == M2M_OP_UPDATE ? "updated" : "deleted");
        }
        goto done;
    }
    /* Anything else belongs to the Registree that created it. Another Registree's resource answers exactly as a
     * missing one (4004, same text): a device must not learn which other devices exist, or what they named their
     * data, by probing. Before registration, and after deregistration, nothing is anyone's: 4004 as well (what
     * TS-0004 answers a CSE that clears a stale <remoteCSE> before it registers). */
    if (!registered || !m2m_cse_may_access(peer, &o, target.owner, req->op == M2M_OP_CREATE)) {
        m2m_prim_error(rsp, M2M_RSC_NOT_FOUND, "no resource at %s", req->to);
        goto done;
    }

    switch (req->op) {
    case M2M_OP_RETRIEVE:
        rsp->rsc = M2M_RSC_OK;
        rsp->pc = m2m_cse_represent(cse, &target, req->rvi);
        if (rsp->pc == NULL)
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "cannot represent %s", target.ri);
        break;
    case M2M_OP_CREATE:
        if (req->ty == M2M_TY_AE || req->ty == M2M_TY_CSR || req->ty == M2M_TY_KGN)
            m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "resource type %d is created under the CSEBase",
                           req->ty);
        else
            pending = m2m_cse_create_child(cse, &o, req, &target, call, rsp);
        break;
    case M2M_OP_UPDATE:
        pending = m2m_cse_update(cse, req, &target, call, rsp);
        break;
    case M2M_OP_DELETE:
        /* Deleting <AE>/<remoteCSE> is deregistration: the subtree goes with it, in one unit. */
        if ((w = m2m_cse_write_new(M2M_W_DELETE)) == NULL) {
            m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "out of memory");
            break;
        }
        snprintf(w->r.ri, sizeof w->r.ri, "%s", target.ri);
        snprintf(w->r.rn, sizeof w->r.rn, "%.100s", req->to);
        m2m_cse_write_submit(cse, call, w);
        pending = 1;
        break;
    }
done:
    m2m_resource_clear(&target);
    m2m_resource_clear(&reg);
    return pending;
}

void m2m_cse_handle(m2m_cse *cse, const m2m_peer *peer, const m2m_secctx *sec, const m2m_prim_req *req,
                    m2m_cse_done done, void *arg)
{
    m2m_cse_call call = {done, arg, "", ""};
    m2m_prim_rsp rsp;

    memset(&rsp, 0, sizeof rsp);
    snprintf(call.rqi, sizeof call.rqi, "%s", req->rqi);
    snprintf(call.rvi, sizeof call.rvi, "%s", req->rvi);
    snprintf(rsp.rqi, sizeof rsp.rqi, "%s", req->rqi);
    if (handle(cse, peer, sec, req, &call, &rsp) == 0)
        done(arg, &rsp, NULL);
    m2m_prim_rsp_clear(&rsp);
}

/* The removal of an expired resource, logged once it is committed. */
static void expired(void *arg, m2m_prim_rsp *rsp, const m2m_peer *bind)
{
    m2m_cse *cse = arg;
    (void)bind;
    if (rsp->rsc == M2M_RSC_DELETED)
        m2m_logf(cse->log, "expiry: removed %s (its expirationTime passed) with everything under it", rsp->dbg);
}

int m2m_cse_expire(m2m_cse *cse, int max, int *found, m2m_err *err)
{
    char ri[32][M2M_RI_MAX];
    int n = 0;
    m2m_cse_call call = {expired, cse, "", ""};
    *found = 0;
    if (max > 32)
        max = 32;
    if (m2m_store_res_expired(cse->st, m2m_clock_now(), ri, max, &n, err) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        /* each in a unit of its own; one whose parent went a moment ago simply is not found */
        m2m_cse_write *w = m2m_cse_write_new(M2M_W_DELETE);
        if (w == NULL)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        memcpy(w->r.ri, ri[i], sizeof w->r.ri);
        w->r.ri[sizeof w->r.ri - 1] = '\0';
        memcpy(w->r.rn, ri[i], sizeof w->r.rn);
        w->r.rn[sizeof w->r.rn - 1] = '\0';
        m2m_cse_write_submit(cse, &call, w);
        ++*found;
    }
    return 0;
}
