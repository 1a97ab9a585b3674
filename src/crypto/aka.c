/* SPDX-License-Identifier: Apache-2.0 */
/* AKA on both ends, TS 33.102 6.3.2 (the HSS's vector), 6.3.3 (the USIM's checks) and 6.3.5 (resynchronisation). */
#include <openssl/crypto.h>
#include <string.h>

#include "crypto/aka.h"
#include "crypto/secret.h"

void m2m_aka_sqn_put(uint64_t sqn, uint8_t out[6])
{
    for (int i = 5; i >= 0; i--, sqn >>= 8)
        out[i] = (uint8_t)sqn;
}

uint64_t m2m_aka_sqn_get(const uint8_t in[6])
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | in[i];
    return v;
}

int m2m_aka_vector_make(const uint8_t k[16], const uint8_t opc[16], uint64_t sqn, const uint8_t amf[2],
                        const uint8_t rand[16], m2m_aka_vector *out, m2m_err *err)
{
    uint8_t sqn_b[6], ak[6];
    int rc = -1;

    memset(out, 0, sizeof *out);
    memcpy(out->rand, rand, 16);
    m2m_aka_sqn_put(sqn & M2M_AKA_SQN_MAX, sqn_b);
    if (m2m_milenage_f2345(k, opc, rand, out->xres, out->ck, out->ik, ak, NULL, err) != 0 ||
        m2m_milenage_f1(k, opc, rand, sqn_b, amf, out->autn + 8, NULL, err) != 0)
        goto done;
    for (int i = 0; i < 6; i++)
        out->autn[i] = sqn_b[i] ^ ak[i];
    memcpy(out->autn + 6, amf, 2);
    rc = 0;
done:
    OPENSSL_cleanse(ak, sizeof ak);
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof *out);
    return rc;
}

int m2m_aka_check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t autn[16],
                  uint64_t *sqn_ms, uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t auts[14],
                  m2m_aka_result *result, m2m_err *err)
{
    static const uint8_t AMF_RESYNC[2] = {0, 0}; /* 6.3.3: MAC-S is computed with a dummy AMF of zeros */
    uint8_t ak[6], akstar[6], sqn_b[6], xmac[8], mac_s[8], ms_b[6];
    uint64_t sqn;
    int rc = -1;

    *result = M2M_AKA_MAC_FAILURE;
    if (m2m_milenage_f2345(k, opc, rand, res, ck, ik, ak, akstar, err) != 0)
        goto done;
    for (int i = 0; i < 6; i++)
        sqn_b[i] = autn[i] ^ ak[i];
    if (m2m_milenage_f1(k, opc, rand, sqn_b, autn + 6, xmac, NULL, err) != 0)
        goto done;
    rc = 0;
    if (!m2m_secret_equal(xmac, sizeof xmac, autn + 8, 8)) {
        *result = M2M_AKA_MAC_FAILURE;
        goto done;
    }
    sqn = m2m_aka_sqn_get(sqn_b);
    if (sqn <= *sqn_ms || sqn - *sqn_ms > M2M_AKA_DELTA) {
        /* AUTS = SQN_MS xor AK* || MAC-S (6.3.3, 6.3.5) */
        m2m_aka_sqn_put(*sqn_ms, ms_b);
        if (m2m_milenage_f1(k, opc, rand, ms_b, AMF_RESYNC, NULL, mac_s, err) != 0) {
            rc = -1;
            goto done;
        }
        for (int i = 0; i < 6; i++)
            auts[i] = ms_b[i] ^ akstar[i];
        memcpy(auts + 6, mac_s, 8);
        *result = M2M_AKA_SYNC_FAILURE;
        goto done;
    }
    *sqn_ms = sqn;
    *result = M2M_AKA_OK;
done:
    if (*result != M2M_AKA_OK) {
        /* nothing derived from a refused challenge leaves */
        OPENSSL_cleanse(res, 8);
        OPENSSL_cleanse(ck, 16);
        OPENSSL_cleanse(ik, 16);
    }
    OPENSSL_cleanse(ak, sizeof ak);
    OPENSSL_cleanse(akstar, sizeof akstar);
    return rc;
}

int m2m_aka_resync(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t auts[14],
                   uint64_t *sqn_ms, m2m_err *err)
{
    static const uint8_t AMF_RESYNC[2] = {0, 0};
    uint8_t akstar[6], ms_b[6], mac_s[8];
    int rc = -1;

    if (m2m_milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, akstar, err) != 0)
        goto done;
    for (int i = 0; i < 6; i++)
        ms_b[i] = auts[i] ^ akstar[i];
    if (m2m_milenage_f1(k, opc, rand, ms_b, AMF_RESYNC, NULL, mac_s, err) != 0)
        goto done;
    if (!m2m_secret_equal(mac_s, sizeof mac_s, auts + 6, 8)) {
        m2m_fail(err, M2M_E_AUTH, "AUTS does not verify (MAC-S mismatch)");
        goto done;
    }
    *sqn_ms = m2m_aka_sqn_get(ms_b);
    rc = 0;
done:
    OPENSSL_cleanse(akstar, sizeof akstar);
    return rc;
}
