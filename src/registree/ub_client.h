/* SPDX-License-Identifier: Apache-2.0 */
/* The GBA UE's Ub (TS 24.109, RFC 3310): bootstrapping with the BSF by HTTP Digest AKA, the USIM's side computed
 * here with Milenage (K and OPc from the details file, SQN_MS from the state file). Blocking, every wait bounded by
 * the timeout; every message names the BSF. Nothing secret (K, OPc, RES, Ks) ever appears in one. */
#ifndef M2M_REGISTREE_UB_CLIENT_H
#define M2M_REGISTREE_UB_CLIENT_H

#include "registree/details.h"
#include "registree/state.h"

/* Bootstraps cfg's IMPI with cfg's BSF. gba->sqn (SQN_MS) is read and advanced whatever the outcome (save it);
 * on success the rest of *gba holds the new bootstrapping (B-TID, RAND, Ks, expiry). A BSF that cannot prove K
 * (AUTN does not verify) is M2M_E_AUTH; a refusal (wrong RES, locked IMPI) M2M_E_REFUSED. At most one
 * resynchronisation (AUTS) per call. */
int m2m_ub_bootstrap(const m2m_registree_config *cfg, m2m_gba_state *gba, m2m_err *err);

#endif
