/* SPDX-License-Identifier: Apache-2.0 */
/* Who a request on a bound context speaks for, and what that originator may touch (TS-0003 7.2.1, TS-0004 7.3.2.1).
 *
 * The context is bound to one Registree X (secctx/binding.c). From may name X in any of its forms -- "Cae1",
 * SP-relative "/in-cse/Cae1", absolute "//sp/in-cse/Cae1"; for a CSE "/id-mn" or "//sp/id-mn" -- and, on a CSE's
 * context, an AE registered with that CSE whose traffic the CSE carries: "/id-mn/Cae1" (SP-relative AE-ID under
 * the bound CSE-ID). Nothing else: another CSE part, an ID registered directly with us, or any other name is
 * refused (4106). */
#include <stdio.h>
#include <string.h>

#include "onem2m/status.h"
#include "registrar/cse.h"

/* From without our SP-ID prefix ("//sp/in-cse/x" -> "/in-cse/x"); NULL when it names another Service Provider. */
static const char *sp_relative(const m2m_cse *cse, const char *from)
{
    size_t n = strlen(cse->sp_id);
    if (from[0] != '/' || from[1] != '/')
        return from;
    if (strncmp(from + 2, cse->sp_id, n) != 0 || from[2 + n] != '/')
        return NULL;
    return from + 2 + n;
}

/* An AE-ID as TS-0001 7.2 writes it: C or S, then at least one more character, no '/'. */
static int ae_id_form(const char *s)
{
    return (s[0] == 'C' || s[0] == 'S') && s[1] != '\0' && strchr(s, '/') == NULL && strlen(s) < M2M_ID_MAX;
}

int m2m_cse_originator(m2m_cse *cse, const m2m_peer *peer, const m2m_prim_req *req, m2m_originator *out,
                       m2m_prim_rsp *rsp)
{
    const char *bound = peer->registree_id, *from;
    size_t cse_len = strlen(cse->cse_id), bound_len = strlen(bound);
    m2m_resource direct = {0};
    m2m_err err;

    memset(out, 0, sizeof *out);
    if (!req->has_fr)
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "missing originator (X-M2M-Origin)"), -1;
    from = sp_relative(cse, req->fr);
    if (from == NULL)
        goto refused;
    /* an AE registered with us, in its SP-relative form /in-cse/Cae1 */
    if (bound[0] != '/' && strncmp(from, cse->cse_id, cse_len) == 0 && from[cse_len] == '/')
        from += cse_len + 1;
    if (strcmp(from, bound) == 0) {
        snprintf(out->id, sizeof out->id, "%s", bound);
        return 0;
    }
    /* an AE behind the bound CSE: /id-mn/Cae1 */
    if (bound[0] == '/' && strncmp(from, bound, bound_len) == 0 && from[bound_len] == '/' &&
        ae_id_form(from + bound_len + 1)) {
        int rc = m2m_store_res_registration(cse->st, from + bound_len + 1, &direct, &err);
        m2m_resource_clear(&direct);
        if (rc == 0)
            return m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "originator %.64s: %.64s is registered "
                                  "with this CSE itself, not behind %.64s", req->fr, from + bound_len + 1, bound), -1;
        if (err.code != M2M_E_NOTFOUND)
            return m2m_prim_error(rsp, M2M_RSC_INTERNAL_SERVER_ERROR, "store failure"), -1;
        if (strlen(from) >= sizeof out->id)
            goto refused;
        memcpy(out->id, from, strlen(from) + 1);
        out->forwarded = 1;
        return 0;
    }
refused:
    m2m_prim_error(rsp, M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED,
                   "originator %.100s does not match the authenticated Registree of this connection", req->fr);
    return -1;
}

int m2m_cse_may_access(const m2m_peer *peer, const m2m_originator *o, const char *owner, int creating)
{
    size_t n = strlen(peer->registree_id);
    if (strcmp(owner, o->id) == 0)
        return 1;
    if (!o->forwarded)
        /* a CSE manages what the AEs behind it created */
        return peer->registree_id[0] == '/' && strncmp(owner, peer->registree_id, n) == 0 && owner[n] == '/';
    /* an AE behind a CSE creates under what its CSE owns (its <remoteCSE>), and touches only its own */
    return creating && strcmp(owner, peer->registree_id) == 0;
}
