/* SPDX-License-Identifier: Apache-2.0 */
/* TS 33.220 Annex B key derivation and the NAF identifier of Annex H. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "crypto/gba_kdf.h"

int m2m_gba_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const m2m_kdf_param *params, int nparams,
                uint8_t out[32], m2m_err *err)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
    size_t n = 0;
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, p) == 1 && EVP_MAC_update(ctx, &fc, 1) == 1;

    for (int i = 0; ok && i < nparams; i++) {
        uint8_t l[2] = {(uint8_t)(params[i].len >> 8), (uint8_t)params[i].len};
        ok = params[i].len <= 0xffff && EVP_MAC_update(ctx, params[i].p, params[i].len) == 1 &&
             EVP_MAC_update(ctx, l, 2) == 1;
    }
    ok = ok && EVP_MAC_final(ctx, out, &n, 32) == 1 && n == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    if (!ok) {
        OPENSSL_cleanse(out, 32);
        return m2m_fail(err, M2M_E_TLS, "GBA key derivation failed (HMAC-SHA-256 unavailable or a parameter over "
                                        "65535 octets)");
    }
    return 0;
}

int m2m_gba_ks_naf(const uint8_t ks[M2M_GBA_KS_LEN], const uint8_t rand[16], const char *impi,
                   const uint8_t *naf_id, size_t naf_id_len, uint8_t out[M2M_GBA_KS_NAF_LEN], m2m_err *err)
{
    static const char GBA_ME[] = "gba-me";
    m2m_kdf_param p[4] = {
        {GBA_ME, sizeof GBA_ME - 1}, {rand, 16}, {impi, strlen(impi)}, {naf_id, naf_id_len},
    };
    return m2m_gba_kdf(ks, M2M_GBA_KS_LEN, 0x01, p, 4, out, err);
}

void m2m_gba_ua_id(int version, uint16_t suite, uint8_t out[M2M_GBA_UA_ID_LEN])
{
    /* 0x0304 is TLS 1.3 on the wire; no other version has an identifier here */
    out[0] = 0x01;
    out[1] = 0x00;
    if (version == 0x0304) {
        out[2] = 0x00;
        out[3] = 0x00;
        out[4] = 0x07;
    } else {
        out[2] = 0x01;
        out[3] = (uint8_t)(suite >> 8);
        out[4] = (uint8_t)suite;
    }
}

int m2m_gba_naf_id(const char *fqdn, const uint8_t ua_id[M2M_GBA_UA_ID_LEN], uint8_t *out, size_t *len,
                   m2m_err *err)
{
    size_t n = fqdn ? strlen(fqdn) : 0;
    if (n == 0 || n > M2M_GBA_FQDN_MAX ||
        strspn(fqdn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
        return m2m_fail(err, M2M_E_ARG, "NAF FQDN '%.64s' is not a host name (letters, digits, '.', '-'; no port)",
                        fqdn ? fqdn : "");
    memcpy(out, fqdn, n);
    memcpy(out + n, ua_id, M2M_GBA_UA_ID_LEN);
    *len = n + M2M_GBA_UA_ID_LEN;
    return 0;
}
