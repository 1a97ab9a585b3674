/* SPDX-License-Identifier: Apache-2.0 */
/* Who is speaking is decided here, once, from what the finished handshake did.
 *
 * The mechanism callbacks (PSK lookup, client-certificate verification, ticket decryption) run before anything is
 * proved, and OpenSSL may still decide not to use what they saw: a TLS 1.3 PSK whose hash does not match the suite,
 * a ticket for another version or suite, a ticket offered beside a certificate. So they only record candidates
 * (m2m_bind_candidate). When the handshake completes, m2m_bind_decide asks OpenSSL what it used -- whether a
 * session was resumed and which (the session in use carries the candidate that vouched for it), whether the
 * negotiated suite authenticates with a PSK and with which identity, the verified client certificate -- and binds
 * exactly that credential's Registree, or nobody, and wipes every candidate. The token path (x.y.7 Step 5) binds
 * through the same function. Nothing else writes m2m_tls_conn.peer. */
#ifndef M2M_SECCTX_BINDING_H
#define M2M_SECCTX_BINDING_H

#include "secctx/tls_conn.h"

/* A slot for what a callback saw, or NULL when this handshake has offered too many credentials already. */
m2m_candidate *m2m_bind_candidate(m2m_tls_conn *tc, m2m_cand_kind kind);
/* Ties a session OpenSSL may use to the candidate that vouched for it (an external PSK session, a decrypted
 * ticket). */
int m2m_bind_vouch(SSL_SESSION *sess, const m2m_candidate *c);

/* What a ticket records so that it resumes only under the suite it was issued for: the TLS 1.2 suite ID, or the
 * TLS 1.3 handshake digest NID. 0 when no suite is negotiated yet. */
int m2m_bind_suite_of(const SSL *ssl);

/* What the handshake as it stands proves, without changing anything: 1 and *out, *proof (M2M_PROOF_FULL or
 * M2M_PROOF_RESUMED) filled when it proved one credential; 0 when it proves none (why says why, "" for a plain
 * server-authenticated context). Used by the decision, and for what a ticket issued during the handshake carries. */
int m2m_bind_evaluate(const m2m_tls_conn *tc, m2m_peer *out, m2m_proof *proof, int *pending, char *why,
                      size_t why_len);

/* The decision. token == NULL: the handshake has completed; binds what m2m_bind_evaluate finds (or nobody),
 * marks the connection established and wipes the candidates; 1 bound, 0 unbound (tc->hs->failure says why), -1 when
 * called twice. token != NULL: an identity token authenticated token->registree_id in a registration on this
 * established, unbound context; binds it (0), or -1 when the context is not in that state. */
int m2m_bind_decide(m2m_tls_conn *tc, const m2m_peer *token);

/* The rule for <keyGeneration> (x.y.8): 1 when the binding was proved in this connection -- a full handshake, or
 * an identity token over a handshake that was not a resumption -- and the handshake ran an ephemeral (EC)DH
 * exchange; 0 and why otherwise. */
int m2m_bind_keygen_allowed(const m2m_tls_conn *tc, char *why, size_t why_len);

#endif
