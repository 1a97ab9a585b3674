/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of `m2mattach demo` kept out of the main flow. */
#ifndef M2M_CLI_DEMO_H
#define M2M_CLI_DEMO_H

#include "m2mattach/error.h"

/* A lab PKI in dir: root.crt/.key (Registrar Root, name-constrained to m2m.localhost), registrar.crt/.key
 * (dNSName in-cse.m2m.localhost, URI /in-cse) and <device_file>.crt/.key, a self-signed device certificate for
 * device_id; pubkey_hash gets the device key's SHA-256 SPKI hash (what the operator enrols). */
int demo_make_pki(const char *dir, const char *device_id, const char *device_file, char pubkey_hash[65],
                  m2m_err *err);

#endif
