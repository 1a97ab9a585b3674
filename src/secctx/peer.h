/* SPDX-License-Identifier: Apache-2.0 */
/* Who is speaking on a security context, and what the request layer may ask of that context. The CSE core and
 * the bindings see only these two types; how the binding was decided is secctx/binding.c's business. */
#ifndef M2M_SECCTX_PEER_H
#define M2M_SECCTX_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The Registree a security context is bound to. registree_id == "" means the context is not bound (only the
 * Registrar was authenticated). */
typedef struct m2m_peer {
    char registree_id[M2M_ID_MAX];
    char key_id[M2M_CRED_ID_MAX]; /* the credential: key ID, public-key hash, token hash; gba: the B-TID's hash */
    char mechanism[16];           /* "psk", "cert", "token", "gba" */
    /* The enrolment whose revocation ends this binding, when it is not key_id: gba, the IMPI's credential ID. */
    char enrol_id[M2M_CRED_ID_MAX];
    int64_t not_after;            /* unix seconds after which the key is no longer valid (gba: the bootstrapping's
                                   * expiry); 0 = none */
} m2m_peer;

/* The credential ID of the enrolment behind a binding (m2m_store_enrolment_active takes it). */
static inline const char *m2m_peer_enrol_id(const m2m_peer *p)
{
    return p->enrol_id[0] != '\0' ? p->enrol_id : p->key_id;
}

/* What the CSE may ask of the security context a request arrived on. A NULL m2m_secctx means there is none. */
typedef struct m2m_secctx {
    /* RFC 5705 exporter: len octets for label, no context (x.y.8). */
    int (*export_key)(void *arg, const char *label, unsigned char *out, size_t len);
    /* 1 when this context may generate a key (x.y.8): its binding was proved in this connection by a full
     * handshake (or a token over one), not carried over by a resumption, and the handshake ran an ephemeral
     * (EC)DH exchange. Otherwise 0 and why says which is missing. */
    int (*keygen_allowed)(void *arg, char *why, size_t why_len);
    /* Binds an unbound context to the Registree an identity token authenticated (x.y.7 Step 5). 0, or -1 when
     * the context cannot be bound (it is bound already, or not established). */
    int (*bind_token)(void *arg, const m2m_peer *token_peer);
    void *arg;
} m2m_secctx;

#endif
