/* SPDX-License-Identifier: Apache-2.0 */
/* Milenage (3GPP TS 35.206), the AKA algorithm set of the simulated HSS and of the GBA UE, on OpenSSL's AES-128.
 * Every function takes the subscriber key K and OPc (TS 35.206 4.1: OPc = E_K(OP) xor OP). 0, or -1 when the
 * cipher cannot be used (err says so). Outputs are secrets except MAC-A/MAC-S: the caller wipes them. */
#ifndef M2M_CRYPTO_MILENAGE_H
#define M2M_CRYPTO_MILENAGE_H

#include <stdint.h>

#include "m2mattach/error.h"

#define M2M_AKA_K_LEN 16
#define M2M_AKA_RAND_LEN 16
#define M2M_AKA_SQN_LEN 6
#define M2M_AKA_AMF_LEN 2
#define M2M_AKA_MAC_LEN 8
#define M2M_AKA_RES_LEN 8
#define M2M_AKA_CK_LEN 16
#define M2M_AKA_IK_LEN 16
#define M2M_AKA_AK_LEN 6
#define M2M_AKA_AUTN_LEN 16
#define M2M_AKA_AUTS_LEN 14

/* OPc = E_K(OP) xor OP. */
int m2m_milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16], m2m_err *err);

/* f1 and f1*: MAC-A (network authentication) and MAC-S (resynchronisation). Either output may be NULL. */
int m2m_milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t sqn[6],
                    const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8], m2m_err *err);

/* f2 (RES), f3 (CK), f4 (IK), f5 (AK) and f5* (AK for resynchronisation). Any output may be NULL. */
int m2m_milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], uint8_t res[8],
                       uint8_t ck[16], uint8_t ik[16], uint8_t ak[6], uint8_t akstar[6], m2m_err *err);

/* The intermediate TEMP = E_K(RAND xor OPc), published with the conformance sets (a check of the first step). */
int m2m_milenage_temp(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], uint8_t temp[16],
                      m2m_err *err);

#endif
