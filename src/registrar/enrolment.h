/* SPDX-License-Identifier: Apache-2.0 */
/* Step 1, Enrolment, as one library call shared by the CLI and the demo. */
#ifndef M2M_REGISTRAR_ENROLMENT_H
#define M2M_REGISTRAR_ENROLMENT_H

#include "crypto/secret.h"
#include "m2mattach/error.h"
#include "m2mattach/keyid.h"
#include <stdint.h>

/* 1 when id is an AE-ID or a CSE-ID ("/name") that can be enrolled. */
int m2m_valid_registree_id(const char *id);
/* Step 1: what to enrol. mechanism "psk" (key), "cert" (pubkey_hash: 64 lowercase hex, root_pem or NULL), "token"
 * (expires, unix seconds; the token is made here) or "gba" (impi). ADD enrols, or re-keys within the mechanism;
 * REPLACE is device replacement (x.y seed note on Step 1): every credential the ID has, any mechanism, pending
 * generated keys too, is revoked in the same transaction, the ID keeps its registration and resources. */
typedef enum m2m_enrol_mode { M2M_ENROL_ADD, M2M_ENROL_REPLACE } m2m_enrol_mode;
typedef struct m2m_enrol_spec {
    const char *registree_id;
    const char *mechanism;
    m2m_enrol_mode mode;
    const m2m_secret *key;
    const char *pubkey_hash;
    const char *root_pem;
    int64_t expires;
    const char *impi;
} m2m_enrol_spec;
typedef struct m2m_enrol_result {
    char key_id[65];  /* psk: Kca_ID/Kcc_ID; cert: the public-key hash; token: its SHA-256; gba: the IMPI's ID */
    char token[23];   /* token: the token itself, to be shown once */
} m2m_enrol_result;
/* Enrols in the store at db_path. REPLACE fails with M2M_E_NOTFOUND when the ID has no active enrolment. */
int m2m_enrol(const char *db_path, const m2m_enrol_spec *spec, m2m_enrol_result *out, m2m_err *err);

/* Reads a root certificate file (PEM) given with option opt (--require-chain, --root-cert), checking that it is a CA
 * certificate; *pem is malloc'd. */
int m2m_read_root_pem(const char *opt, const char *path, char **pem, m2m_err *err);
/* Revokes the Registree's active enrolment (its key is wiped from the store). */
int m2m_enrol_revoke(const char *db_path, const char *registree_id, m2m_err *err);

#endif
