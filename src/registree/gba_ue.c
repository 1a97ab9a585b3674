/* SPDX-License-Identifier: Apache-2.0 */
/* x.y.5 on the Registree, the GBA UE (registree_internal.h): the bootstrapping to attach with (the saved one while
 * it lasts, else a new one over Ub, ub_client.c), and Ks_NAF derived for the suite the handshake negotiates. */
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "registree/registree_internal.h"
#include "registree/ub_client.h"
#include "util/clock.h"
#include "util/rfc3339.h"

/* Ks_NAF for this Registrar (TS 33.220 Annex B): NAF_Id = the Registrar's FQDN || the Ua id of the version and the
 * suite the handshake negotiates (the TLS or DTLS client asks once they are known). */
int m2m_rtee_gba_derive(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len)
{
    m2m_registree *r = arg;
    const m2m_gba_state *g = &r->state.gba;
    uint8_t ua[M2M_GBA_UA_ID_LEN], naf_id[M2M_GBA_NAF_ID_MAX];
    size_t len = 0;
    m2m_gba_ua_id(version, (uint16_t)suite, ua);
    if (m2m_gba_naf_id(r->cfg->gba_naf_fqdn, ua, naf_id, &len, NULL) != 0 ||
        m2m_gba_ks_naf(g->ks, g->rand, g->impi, naf_id, len, out, NULL) != 0)
        return -1;
    *out_len = M2M_GBA_KS_NAF_LEN;
    return 0;
}

/* A bootstrapping to attach with: the saved one while it lasts (and belongs to this IMPI and BSF), else a new one
 * over Ub (force: always a new one). The USIM's SQN is saved whatever Ub's outcome. */
int m2m_rtee_gba_ensure(m2m_registree *r, m2m_attach_info *info, int force)
{
    const m2m_registree_config *cfg = r->cfg;
    m2m_gba_state *g = &r->state.gba;
    m2m_err save_err;
    uint64_t sqn = g->sqn;
    int rc;

    if (force || g->btid[0] == '\0' || strcmp(g->impi, cfg->gba_impi) != 0 || strcmp(g->bsf, cfg->gba_bsf) != 0 ||
        g->expires <= m2m_clock_now() + M2M_GBA_EXPIRY_MARGIN_S) {
        OPENSSL_cleanse(g, sizeof *g);
        g->sqn = sqn;
        rc = m2m_ub_bootstrap(cfg, g, &r->err);
        if (rc != 0)
            OPENSSL_cleanse(g->btid, sizeof g->btid); /* no half bootstrapping stays */
        if (m2m_state_save(cfg->state_path, &r->state, rc == 0 ? &r->err : &save_err) != 0 || rc != 0)
            return -1;
        info->gba_bootstrapped = 1;
    }
    snprintf(r->gba_identity, sizeof r->gba_identity, M2M_GBA_IDENTITY_PREFIX "%s", g->btid);
    snprintf(info->gba_btid, sizeof info->gba_btid, "%s", g->btid);
    m2m_rfc3339_format(g->expires, info->gba_lifetime);
    return 0;
}
