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
/* Enrols (or re-keys) a Registree with a PSK in the store at db_path; writes the key ID (Kca_ID for an AE-ID,
 * Kcc_ID for a CSE-ID) to key_id. */
int m2m_enrol_psk(const char *db_path, const char *registree_id, const m2m_secret *key,
                  char key_id[M2M_KEYID_HEX_LEN + 1], m2m_err *err);

/* Reads a root certificate file (PEM) for --require-chain, checking that it is one; *pem is malloc'd. */
int m2m_read_root_pem(const char *path, char **pem, m2m_err *err);
/* Enrols a Registree by the SHA-256 of its public key (64 lowercase hex); root_pem may be NULL. */
int m2m_enrol_cert(const char *db_path, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                   m2m_err *err);
/* Issues an identity token for the Registree, valid until expires (unix seconds); token gets the text. */
int m2m_enrol_token(const char *db_path, const char *registree_id, int64_t expires, char token[23], m2m_err *err);
/* x.y.5 Step 1: the GBA subscriber impi may register as registree_id (replacing an earlier IMPI of that ID). */
int m2m_enrol_gba(const char *db_path, const char *registree_id, const char *impi, m2m_err *err);
/* Revokes the Registree's active enrolment (its key is wiped from the store). */
int m2m_enrol_revoke(const char *db_path, const char *registree_id, m2m_err *err);

#endif
