/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto/secret.h"
#include "util/clock.h"
#include "secctx/token.h"
#include "util/hex.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int m2m_token_hash(const char *token, char hash_hex[65], m2m_err *err)
{
    unsigned char d[32];
    unsigned int n = 0;
    if (EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return m2m_fail(err, M2M_E_TLS, "SHA-256 failed");
    m2m_hex_encode(d, 32, hash_hex);
    return 0;
}

int m2m_token_new(char out[M2M_TOKEN_LEN + 1], char hash_hex[65], m2m_err *err)
{
    unsigned char rnd[16];
    unsigned bits = 0, acc = 0;
    size_t n = 0;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return m2m_fail(err, M2M_E_TLS, "the random generator failed");
    for (size_t i = 0; i < sizeof rnd; i++) {
        acc = acc << 8 | rnd[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = B64URL[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[n++] = B64URL[(acc << (6 - bits)) & 63];
    out[n] = '\0';
    m2m_wipe(rnd, sizeof rnd);
    return m2m_token_hash(out, hash_hex, err);
}

int m2m_token_check(m2m_store *st, const m2m_prim_req *req, m2m_peer *peer, char hash[65], char *why,
                    size_t why_len)
{
    m2m_enrolment e;
    m2m_err err;
    int rc = -1;

    memset(&e, 0, sizeof e);
    hash[0] = '\0';
    if (req->token[0] == '\0') {
        snprintf(why, why_len, "no identity token: send the registration with 'Authorization: Bearer <token>'");
        return -1;
    }
    if (strlen(req->token) != M2M_TOKEN_LEN || strspn(req->token, B64URL) != M2M_TOKEN_LEN) {
        snprintf(why, why_len, "identity token is not valid");
        return -1;
    }
    /* The store is keyed by the token's SHA-256: a lookup by hash leaks nothing usable through timing. */
    if (m2m_token_hash(req->token, hash, &err) != 0) {
        snprintf(why, why_len, "identity token is not valid");
        return -1;
    }
    if (m2m_store_find_token(st, hash, &e, &err) != 0) {
        snprintf(why, why_len, "identity token is not valid");
        goto done;
    }
    if (e.used != 0) {
        snprintf(why, why_len, "identity token for %.64s was already used", e.registree_id);
        goto done;
    }
    if (e.expires != 0 && m2m_clock_now() >= e.expires) {
        snprintf(why, why_len, "identity token for %.64s has expired", e.registree_id);
        goto done;
    }
    /* Issued for one Registree: a From naming anyone else is refused (C, S or absent ask for the enrolled ID). */
    if (req->has_fr && strcmp(req->fr, "C") != 0 && strcmp(req->fr, "S") != 0 &&
        strcmp(req->fr, e.registree_id) != 0) {
        snprintf(why, why_len, "identity token was not issued for %.64s", req->fr);
        goto done;
    }
    snprintf(peer->registree_id, sizeof peer->registree_id, "%s", e.registree_id);
    snprintf(peer->key_id, sizeof peer->key_id, "%s", hash);
    snprintf(peer->mechanism, sizeof peer->mechanism, "token");
    rc = 0;
done:
    if (rc != 0)
        m2m_wipe(hash, 65);
    m2m_enrolment_clear(&e);
    return rc;
}
