/* SPDX-License-Identifier: Apache-2.0 */
/* PKI with identity token (x.y.7): tokens issued at enrolment (Step 1), presented in the registration CREATE
 * (Step 5) as `Authorization: Bearer <token>`. */
#ifndef M2M_SECCTX_TOKEN_H
#define M2M_SECCTX_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "onem2m/primitive.h"
#include "secctx/peer.h"
#include "store/store.h"

/* 128-bit tokens in base64url without padding: 22 characters. */
#define M2M_TOKEN_LEN 22

/* A fresh token (out: M2M_TOKEN_LEN + 1) and the hash the store keeps (64 hex + NUL). */
int m2m_token_new(char out[M2M_TOKEN_LEN + 1], char hash_hex[65], m2m_err *err);
/* SHA-256 of the token text, hex. */
int m2m_token_hash(const char *token, char hash_hex[65], m2m_err *err);
/* Checks the request's token against the store without using it up: valid, unused, unexpired, and issued for the
 * ID in From (or From is C, S or absent). On success fills peer (mechanism "token") -- a candidate: the binding
 * happens once the registration it came with is committed, with the token used up in the same unit
 * (m2m_store_consume_token, registrar/cse_write.c) -- and hash, the token's SHA-256 (hex). why gets a reason
 * otherwise. */
int m2m_token_check(m2m_store *st, const m2m_prim_req *req, m2m_peer *peer, char hash[65], char *why,
                    size_t why_len);

#endif
