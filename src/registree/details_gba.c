/* SPDX-License-Identifier: Apache-2.0 */
/* The [gba] section of the attachment-details file (x.y.5, details_internal.h): the BSF's Ub, the IMPI, the USIM's
 * K and OPc (or OP), the Registrar's name in NAF_Id. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "crypto/milenage.h"
#include "registree/details_internal.h"
#include "util/url.h"

/* x.y.5: [gba] bsf (Ub), impi, the USIM's K (k-file) and OPc (opc, opc-file, or op / op-file from which OPc is
 * computed), optionally bsf-root (for an https BSF) and naf-fqdn (the Registrar's name in NAF_Id when the poa does
 * not carry it, e.g. an IP address). */
int m2m_details_check_gba(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    static const enum field OPS[4] = {F_GBA_OPC, F_GBA_OPC_FILE, F_GBA_OP, F_GBA_OP_FILE};
    static const enum field NEED[3] = {F_GBA_BSF, F_GBA_IMPI, F_GBA_K_FILE};
    m2m_secret op = {0};
    static const m2m_url_scheme UB_SCHEMES[] = {{"http", "80"}, {"https", "443"}};
    char loc[600];
    enum field which = F_COUNT;
    m2m_url ub;
    m2m_err why = {0};
    int rc = -1;

    for (int i = 0; i < 3; i++)
        if (c->value[NEED[i]] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [gba] %s: missing (required for mechanism gba)", c->path,
                            m2m_details_fields[NEED[i]].key);
    for (int i = 0; i < 4; i++)
        if (c->value[OPS[i]] != NULL) {
            if (which != F_COUNT) {
                m2m_details_where(c, OPS[i], loc, sizeof loc);
                return m2m_fail(err, M2M_E_PARSE, "%s: and [gba] %s (line %d) are both set; keep one", loc,
                                m2m_details_fields[which].key, c->at_line[which]);
            }
            which = OPS[i];
        }
    if (which == F_COUNT)
        return m2m_fail(err, M2M_E_PARSE, "%s: [gba] opc, opc-file, op or op-file: missing (required for mechanism "
                        "gba: the USIM's OPc, or the operator's OP)", c->path);
    /* Ub: http:// is for a BSF on the device's own host or a lab; the BSF is authenticated by AUTN either way */
    rc = m2m_url_parse(c->value[F_GBA_BSF], UB_SCHEMES, 2, "http://HOST[:PORT] or https://HOST[:PORT]", &ub, &why);
    if (rc == 0) {
        cfg->gba_bsf_tls = ub.scheme == 1;
        memcpy(cfg->gba_bsf_port, ub.port, sizeof ub.port);
        if ((cfg->gba_bsf_host = strdup(ub.host)) == NULL)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    if (rc != 0) {
        m2m_details_where(c, F_GBA_BSF, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%.100s' is not http://HOST[:PORT] or https://HOST[:PORT]%s%s", loc,
                        c->value[F_GBA_BSF], why.msg[0] ? ": " : "", why.msg);
    }
    rc = -1;
    cfg->gba_bsf = c->value[F_GBA_BSF];
    c->value[F_GBA_BSF] = NULL;
    if (cfg->gba_bsf_tls && c->value[F_GBA_BSF_ROOT] == NULL)
        return m2m_fail(err, M2M_E_PARSE, "%s: [gba] bsf-root: missing (required for an https BSF)", c->path);
    if (c->value[F_GBA_BSF_ROOT] != NULL) {
        char *ignored = NULL;
        cfg->gba_bsf_root = m2m_details_load_one_cert(c, F_GBA_BSF_ROOT, "the BSF's root certificate", &ignored, err);
        free(ignored);
        if (cfg->gba_bsf_root == NULL)
            return -1;
    }
    if (!m2m_gba_impi_ok(c->value[F_GBA_IMPI])) {
        m2m_details_where(c, F_GBA_IMPI, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: not an IMPI (user@realm, printable, no spaces, quotes or commas)", loc);
    }
    cfg->gba_impi = c->value[F_GBA_IMPI];
    c->value[F_GBA_IMPI] = NULL;
    cfg->gba_naf_fqdn = strdup(c->value[F_GBA_NAF_FQDN] != NULL ? c->value[F_GBA_NAF_FQDN] : cfg->host);
    if (cfg->gba_naf_fqdn == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    {
        uint8_t id[M2M_GBA_NAF_ID_MAX], ua[M2M_GBA_UA_ID_LEN] = {1, 0, 0, 0, 7};
        size_t len;
        if (m2m_gba_naf_id(cfg->gba_naf_fqdn, ua, id, &len, NULL) != 0) {
            m2m_details_where(c, c->value[F_GBA_NAF_FQDN] != NULL ? F_GBA_NAF_FQDN : F_POA, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%.100s' cannot be a NAF FQDN (a host name, no brackets); set "
                            "[gba] naf-fqdn to the name the Registrar serves as NAF", loc, cfg->gba_naf_fqdn);
        }
    }
    if (m2m_details_load_key_file(c, F_GBA_K_FILE, &cfg->gba_k, err) != 0)
        goto done;
    if (which == F_GBA_OPC_FILE || which == F_GBA_OP_FILE) {
        if (m2m_details_load_key_file(c, which, which == F_GBA_OPC_FILE ? &cfg->gba_opc : &op, err) != 0)
            goto done;
    } else if (m2m_secret_from_hex(which == F_GBA_OPC ? &cfg->gba_opc : &op, c->value[which], m2m_details_fields[which].key,
                                   err) != 0) {
        goto done;
    }
    if (cfg->gba_k.len != 16 || (which == F_GBA_OP || which == F_GBA_OP_FILE ? op.len : cfg->gba_opc.len) != 16) {
        m2m_details_where(c, cfg->gba_k.len != 16 ? F_GBA_K_FILE : which, loc, sizeof loc);
        m2m_fail(err, M2M_E_PARSE, "%s: Milenage takes 16 octets (32 hex characters)", loc);
        goto done;
    }
    if (op.len == 16) {
        cfg->gba_opc.len = 16;
        if (m2m_milenage_opc(cfg->gba_k.bytes, op.bytes, cfg->gba_opc.bytes, err) != 0)
            goto done;
    }
    rc = 0;
done:
    m2m_secret_clear(&op);
    return rc;
}
