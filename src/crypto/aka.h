/* SPDX-License-Identifier: Apache-2.0 */
/* UMTS AKA on Milenage (TS 33.102 6.3): the HSS's authentication vector, the USIM's check of AUTN with the
 * sequence-number freshness window, and resynchronisation with AUTS (6.3.5). SQNs are 48-bit counters carried in
 * a uint64_t. The HSS increments SQN by one per vector (the simplest scheme of Annex C: no IND array), the USIM
 * accepts a SQN above the highest it has seen and at most M2M_AKA_DELTA beyond it. */
#ifndef M2M_CRYPTO_AKA_H
#define M2M_CRYPTO_AKA_H

#include <stdint.h>

#include "crypto/milenage.h"

#define M2M_AKA_SQN_MAX 0xffffffffffffULL
/* Annex C.2.1: the limit on how far ahead of the USIM's SQN a network SQN may be, 2^28. */
#define M2M_AKA_DELTA (1ULL << 28)

typedef struct m2m_aka_vector {
    uint8_t rand[M2M_AKA_RAND_LEN];
    uint8_t autn[M2M_AKA_AUTN_LEN];
    uint8_t xres[M2M_AKA_RES_LEN];
    uint8_t ck[M2M_AKA_CK_LEN];
    uint8_t ik[M2M_AKA_IK_LEN];
} m2m_aka_vector;

void m2m_aka_sqn_put(uint64_t sqn, uint8_t out[6]);
uint64_t m2m_aka_sqn_get(const uint8_t in[6]);

/* The HSS: the vector for rand and sqn (AUTN = SQN xor AK || AMF || MAC-A). Wipe it after use. */
int m2m_aka_vector_make(const uint8_t k[16], const uint8_t opc[16], uint64_t sqn, const uint8_t amf[2],
                        const uint8_t rand[16], m2m_aka_vector *out, m2m_err *err);

typedef enum m2m_aka_result {
    M2M_AKA_OK = 0,        /* AUTN is genuine and fresh: res, ck, ik filled, *sqn_ms advanced */
    M2M_AKA_MAC_FAILURE,   /* AUTN was not made with this K: the network is not authentic */
    M2M_AKA_SYNC_FAILURE   /* genuine but not fresh: auts filled for resynchronisation */
} m2m_aka_result;

/* The USIM: checks AUTN for rand against the highest SQN accepted so far (*sqn_ms). 0 with *result set, or -1 when
 * the cipher fails. */
int m2m_aka_check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t autn[16],
                  uint64_t *sqn_ms, uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t auts[14],
                  m2m_aka_result *result, m2m_err *err);

/* The HSS on a resynchronisation request: recovers SQN_MS from AUTS (made for rand) and checks MAC-S. 0 and
 * *sqn_ms filled; -1 with M2M_E_AUTH when MAC-S is wrong. */
int m2m_aka_resync(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t auts[14],
                   uint64_t *sqn_ms, m2m_err *err);

#endif
