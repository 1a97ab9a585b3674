/* SPDX-License-Identifier: Apache-2.0 */
/* The one decision of who is speaking on a TLS connection (see binding.h for why it is made here and only here). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/pubkey_hash.h"
#include "crypto/secret.h"
#include "secctx/binding.h"
#include "secctx/gba.h"

m2m_candidate *m2m_bind_candidate(m2m_tls_conn *tc, m2m_cand_kind kind)
{
    m2m_candidate *c;
    if (tc->established || tc->hs == NULL || tc->hs->ncand >= M2M_TLS_CANDIDATES)
        return NULL;
    c = &tc->hs->cand[tc->hs->ncand++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    return c;
}

int m2m_bind_vouch(SSL_SESSION *sess, const m2m_candidate *c)
{
    return SSL_SESSION_set_ex_data(sess, m2m_tls_session_index(), (void *)c) == 1 ? 0 : -1;
}

/* The candidate that vouched for the session in use: only a pointer into this connection's own slots counts (the
 * slot is set by our callbacks on sessions they made or accepted; ex_data never travels inside a ticket). */
static const m2m_candidate *voucher(const m2m_tls_conn *tc, const SSL_SESSION *sess)
{
    const m2m_candidate *c = SSL_SESSION_get_ex_data(sess, m2m_tls_session_index());
    for (int i = 0; c != NULL && tc->hs != NULL && i < tc->hs->ncand; i++)
        if (c == &tc->hs->cand[i])
            return c->kind != M2M_CAND_FREE ? c : NULL;
    return NULL;
}

/* The most recent candidate of kind whose credential ID is cred_id. */
static const m2m_candidate *find(const m2m_tls_conn *tc, m2m_cand_kind kind, const char *cred_id)
{
    for (int i = tc->hs != NULL ? tc->hs->ncand - 1 : -1; i >= 0; i--)
        if (tc->hs->cand[i].kind == kind && strcmp(tc->hs->cand[i].peer.key_id, cred_id) == 0)
            return &tc->hs->cand[i];
    return NULL;
}

/* The value a ticket records to be resumed only under the same suite: the TLS 1.2 suite itself (a resumed TLS 1.2
 * session keeps its suite), or the TLS 1.3 handshake digest (TLS 1.3 resumes across suites of one hash). */
int m2m_bind_suite_of(const SSL *ssl)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    if (cipher == NULL)
        cipher = SSL_get_pending_cipher(ssl);
    if (cipher == NULL)
        return 0;
    if (SSL_version(ssl) == TLS1_3_VERSION) {
        const EVP_MD *md = SSL_CIPHER_get_handshake_digest(cipher);
        return md != NULL ? EVP_MD_get_type(md) : 0;
    }
    return (int)SSL_CIPHER_get_protocol_id(cipher);
}

static int refuse(char *why, size_t why_len, const char *reason)
{
    snprintf(why, why_len, "%s", reason);
    return 0;
}

/* Same equipment: the kernel says which local user is at the other end of the Unix socket (SO_PEERCRED, taken
 * when it connected); --local-ae says which AE that user speaks as. Nothing the peer sent takes part. */
static int evaluate_local(const m2m_tls_conn *tc, m2m_peer *out, m2m_proof *proof, char *why, size_t why_len)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(tc->local_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
        return refuse(why, why_len, "the local peer's credentials cannot be read (SO_PEERCRED)");
    for (int i = 0; i < tc->env->nlocal_aes; i++) {
        if (tc->env->local_aes[i].uid != (unsigned)cred.uid)
            continue;
        snprintf(out->registree_id, sizeof out->registree_id, "%s", tc->env->local_aes[i].ae_id);
        snprintf(out->mechanism, sizeof out->mechanism, "local");
        snprintf(out->key_id, sizeof out->key_id, "uid:%u", (unsigned)cred.uid);
        *proof = M2M_PROOF_LOCAL;
        return 1;
    }
    snprintf(why, why_len, "local uid %u is not a --local-ae", (unsigned)cred.uid);
    return 0;
}

int m2m_bind_evaluate(const m2m_tls_conn *tc, m2m_peer *out, m2m_proof *proof, int *pending, char *why,
                      size_t why_len)
{
    SSL *ssl = tc->ssl;
    const SSL_CIPHER *cipher;
    SSL_SESSION *sess;
    int version, psk_suite;
    const m2m_candidate *c;
    X509 *cert;
    char hash[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err;

    memset(out, 0, sizeof *out);
    *proof = M2M_PROOF_NONE;
    *pending = 0;
    why[0] = '\0';
    if (ssl == NULL)
        return tc->local_fd >= 0 ? evaluate_local(tc, out, proof, why, why_len)
                                 : refuse(why, why_len, "no security context");
    cipher = SSL_get_current_cipher(ssl);
    sess = SSL_get0_session(ssl);
    version = SSL_version(ssl);
    if (cipher == NULL || sess == NULL)
        return refuse(why, why_len, "no negotiated session");
    psk_suite = version != TLS1_3_VERSION && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_psk;

    if (SSL_session_reused(ssl)) {
        /* A session OpenSSL resumed: a TLS 1.3 external PSK or one of our tickets. Its binder or Finished proved
         * the session's secret; the session must be one a callback of this connection vouched for. */
        c = voucher(tc, sess);
        if (c == NULL)
            return refuse(why, why_len, "the session resumed was vouched for by no credential of this handshake");
        /* a TLS 1.3 external PSK: an enrolled key, or Ks_NAF of a B-TID (x.y.5) */
        if ((c->kind == M2M_CAND_PSK || c->kind == M2M_CAND_GBA) && version == TLS1_3_VERSION) {
            *out = c->peer;
            *proof = M2M_PROOF_FULL;
            *pending = c->pending;
            return 1;
        }
        if (c->kind != M2M_CAND_TICKET)
            return refuse(why, why_len, "the session resumed is not a session ticket");
        if (c->version != version)
            return refuse(why, why_len, "session ticket issued for another protocol version");
        if (c->suite != m2m_bind_suite_of(ssl))
            return refuse(why, why_len, "session ticket issued for another cipher suite");
        /* TLS 1.2 resumes the issuing suite: a PSK binding on a PSK suite, a certificate or token binding on a
         * certificate suite (the check above makes this hold; it is kept as the rule it is). */
        if (version != TLS1_3_VERSION &&
            psk_suite != (strcmp(c->peer.mechanism, "psk") == 0 || strcmp(c->peer.mechanism, "gba") == 0))
            return refuse(why, why_len, "session ticket mechanism does not match the cipher suite");
        *out = c->peer;
        *proof = M2M_PROOF_RESUMED;
        return 1;
    }

    if (psk_suite) {
        /* A full TLS 1.2 PSK handshake: the Finished messages proved the key of the identity the client sent. */
        const char *identity = SSL_get_psk_identity(ssl);
        char btid[M2M_BTID_MAX], kid[33];
        c = identity != NULL ? find(tc, M2M_CAND_PSK, identity) : NULL;
        /* a GBA identity: the candidate of its B-TID (either form of the identity names the same B-TID) */
        if (c == NULL && identity != NULL &&
            m2m_gba_identity_btid((const unsigned char *)identity, strlen(identity), btid)) {
            m2m_gba_btid_key_id(btid, kid);
            c = find(tc, M2M_CAND_GBA, kid);
        }
        if (c == NULL)
            return refuse(why, why_len, "PSK suite negotiated without an enrolled psk_identity");
        *out = c->peer;
        *proof = M2M_PROOF_FULL;
        *pending = c->pending;
        return 1;
    }

    /* A certificate-authenticated Registrar: bound only if the client proved a certificate key (CertificateVerify)
     * that an enrolment names. Otherwise a server-authenticated context, for a token in Step 5. */
    cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL)
        return 0;
    if (SSL_get_verify_result(ssl) != X509_V_OK)
        return refuse(why, why_len, "client certificate not verified");
    if (m2m_pubkey_hash_x509(cert, hash, &err) != 0 || (c = find(tc, M2M_CAND_CERT, hash)) == NULL)
        return refuse(why, why_len, "client certificate matches no enrolment");
    *out = c->peer;
    *proof = M2M_PROOF_FULL;
    return 1;
}

/* A short account of the candidates the handshake did not use, for the log. */
static void unused_candidates(const m2m_tls_conn *tc, const m2m_peer *bound, char *out, size_t cap)
{
    static const char *const KIND[] = {"", "psk_identity", "client certificate", "session ticket",
                                       "GBA psk_identity (B-TID)"};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < tc->hs->ncand && n < cap; i++) {
        const m2m_candidate *c = &tc->hs->cand[i];
        if (c->kind == M2M_CAND_FREE || (bound != NULL && memcmp(&c->peer, bound, sizeof *bound) == 0))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s of %.64s", n ? ", " : "", KIND[c->kind],
                              c->peer.registree_id);
    }
}

int m2m_bind_decide(m2m_tls_conn *tc, const m2m_peer *token)
{
    m2m_peer p;
    m2m_proof proof;
    int pending, ok;
    char why[128], unused[256];

    if (token != NULL) {
        /* a token authenticates over a server-authenticated TLS context only (not a local socket) */
        if (!tc->established || tc->ssl == NULL || tc->proof != M2M_PROOF_NONE || tc->peer.registree_id[0] != '\0' ||
            token->registree_id[0] == '\0' || strcmp(token->mechanism, "token") != 0)
            return -1;
        tc->peer = *token;
        tc->proof = M2M_PROOF_TOKEN;
        return 0;
    }
    if (tc->established || tc->hs == NULL)
        return -1;
    ok = m2m_bind_evaluate(tc, &p, &proof, &pending, why, sizeof why);
    unused_candidates(tc, ok ? &p : NULL, unused, sizeof unused);
    tc->established = 1;
    tc->reused = tc->ssl != NULL && SSL_session_reused(tc->ssl) == 1;
    OPENSSL_cleanse(&tc->peer, sizeof tc->peer);
    tc->proof = M2M_PROOF_NONE;
    tc->pending_key = 0;
    if (ok) {
        tc->peer = p;
        tc->proof = proof;
        tc->pending_key = pending;
        tc->hs->failure[0] = '\0';
    } else {
        /* why, then the credentials offered but not used; cut to fit */
        const char *parts[] = {why, why[0] && unused[0] ? "; " : "", unused[0] ? "not used by the handshake: " : "",
                               unused};
        size_t n = 0;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            size_t len = strlen(parts[i]);
            if (len > sizeof tc->hs->failure - 1 - n)
                len = sizeof tc->hs->failure - 1 - n;
            memcpy(tc->hs->failure + n, parts[i], len);
            n += len;
        }
        tc->hs->failure[n] = '\0';
    }
    OPENSSL_cleanse(tc->hs->cand, sizeof tc->hs->cand);
    tc->hs->ncand = 0;
    OPENSSL_cleanse(&p, sizeof p);
    return ok;
}

int m2m_bind_keygen_allowed(const m2m_tls_conn *tc, char *why, size_t why_len)
{
    SSL *ssl = tc->ssl;
    const SSL_CIPHER *cipher;

    if (ssl == NULL) {
        snprintf(why, why_len, "a same-equipment AE has no security context to generate a key from");
        return 0;
    }
    cipher = SSL_get_current_cipher(ssl);

    if (tc->proof == M2M_PROOF_RESUMED || tc->reused) {
        if (tc->proof != M2M_PROOF_FULL || SSL_version(ssl) != TLS1_3_VERSION) {
            snprintf(why, why_len, "this connection resumed an earlier session, so its credential was not proved "
                                   "in this handshake; attach with a full handshake");
            return 0;
        }
        /* a TLS 1.3 external PSK is a full proof of the key (OpenSSL reports it as a reused session) */
    }
    if (tc->proof == M2M_PROOF_NONE) {
        snprintf(why, why_len, "this connection is not bound to a Registree");
        return 0;
    }
    if (SSL_version(ssl) == TLS1_3_VERSION) {
        /* TLS 1.3 certificate handshakes always run (EC)DHE; a PSK one only in psk_dhe_ke mode. */
        if (SSL_get_negotiated_group(ssl) > 0)
            return 1;
        snprintf(why, why_len, "no forward secrecy: this TLS 1.3 handshake used psk_ke (no (EC)DHE)");
        return 0;
    }
    switch (cipher ? SSL_CIPHER_get_kx_nid(cipher) : NID_undef) {
    case NID_kx_ecdhe: case NID_kx_ecdhe_psk: case NID_kx_dhe: case NID_kx_dhe_psk:
        return 1;
    default:
        snprintf(why, why_len, "no forward secrecy: cipher suite %s has no ephemeral (EC)DH exchange",
                 cipher ? SSL_CIPHER_get_name(cipher) : "?");
        return 0;
    }
}
