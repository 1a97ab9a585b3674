/* SPDX-License-Identifier: Apache-2.0 */
/* The GBA key derivation (3GPP TS 33.220 Annex B): S = FC || P0 || L0 || P1 || L1 ..., each Li the 2-octet
 * big-endian length of Pi; key = HMAC-SHA-256(Key, S). Ks_NAF = KDF(Ks, 0x01, "gba-me", RAND, IMPI, NAF_Id), 32
 * octets, used whole as the TLS PSK (TS 33.222). NAF_Id = NAF FQDN || the 5-octet Ua security protocol
 * identifier (TS 33.220 Annex H). */
#ifndef M2M_CRYPTO_GBA_KDF_H
#define M2M_CRYPTO_GBA_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "m2mattach/error.h"

#define M2M_GBA_KS_LEN 32      /* Ks = CK || IK */
#define M2M_GBA_KS_NAF_LEN 32
#define M2M_GBA_UA_ID_LEN 5
#define M2M_GBA_FQDN_MAX 253
#define M2M_GBA_NAF_ID_MAX (M2M_GBA_FQDN_MAX + M2M_GBA_UA_ID_LEN)

typedef struct m2m_kdf_param {
    const void *p;
    size_t len;            /* at most 65535 */
} m2m_kdf_param;

/* The generic KDF; out gets 32 octets. */
int m2m_gba_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const m2m_kdf_param *params, int nparams,
                uint8_t out[32], m2m_err *err);

/* Ks_NAF for one NAF (TS 33.220 4.5.2). */
int m2m_gba_ks_naf(const uint8_t ks[M2M_GBA_KS_LEN], const uint8_t rand[16], const char *impi,
                   const uint8_t *naf_id, size_t naf_id_len, uint8_t out[M2M_GBA_KS_NAF_LEN], m2m_err *err);

/* The Ua security protocol identifier (TS 33.220 Annex H): shared-key TLS 1.2 with the negotiated cipher suite
 * (01 00 01 yy zz), or shared-key TLS 1.3 (01 00 00 00 07). version is TLS1_2_VERSION or TLS1_3_VERSION. */
void m2m_gba_ua_id(int version, uint16_t suite, uint8_t out[M2M_GBA_UA_ID_LEN]);

/* NAF_Id = fqdn || ua_id into out (capacity M2M_GBA_NAF_ID_MAX); *len its length. -1 when the FQDN is empty, too
 * long, or not a host name (no port, no brackets). */
int m2m_gba_naf_id(const char *fqdn, const uint8_t ua_id[M2M_GBA_UA_ID_LEN], uint8_t *out, size_t *len,
                   m2m_err *err);

#endif
