/* SPDX-License-Identifier: Apache-2.0 */
/* What became of one step on a secured connection (the handshake, one exchange), as the attachment logic needs to
 * know it to decide what to do next: try the next credential, retry without the saved session, resend on a new
 * connection, or give up. The m2m_err beside it keeps the code family and the message for people; the logic
 * switches on this, never on the message text. */
#ifndef M2M_REGISTREE_OUTCOME_H
#define M2M_REGISTREE_OUTCOME_H

typedef enum m2m_outcome {
    M2M_OUTCOME_OK = 0,
    M2M_OUTCOME_LOCAL,          /* this end could not start: configuration, memory (M2M_E_ARG, M2M_E_NOMEM, ...) */
    M2M_OUTCOME_UNREACHABLE,    /* no connection: name resolution, connect refused, network down (M2M_E_IO) */
    M2M_OUTCOME_TIMEOUT,        /* the step's timeout or the call's deadline passed (M2M_E_TIMEOUT) */
    /* The handshake failed, and another credential might get in (M2M_E_TLS or M2M_E_AUTH): */
    M2M_OUTCOME_CRED_UNKNOWN,   /* the Registrar named the credential: unknown_psk_identity */
    M2M_OUTCOME_CRED_NOT_TAKEN, /* the Registrar went on with a certificate instead of the PSK (TLS 1.3) */
    M2M_OUTCOME_HANDSHAKE,      /* any other failure: an alert (a wrong key shows as decrypt_error), a close */
    M2M_OUTCOME_PEER_REFUSED,   /* the Registrar failed this end's checks: chain, CSE-ID, OCSP, PSK not proven */
    /* An exchange on an established connection: */
    M2M_OUTCOME_CLOSED_IDLE,    /* the Registrar had closed the connection before the request reached it: sending
                                 * it again on a new connection is safe */
    M2M_OUTCOME_BROKEN          /* the connection failed in the middle of the exchange, or the answer broke the
                                 * protocol: the request may have been acted on, never resent */
} m2m_outcome;

/* 1 for the handshake failures another credential might get past (the Registrar refused, or could not be
 * verified); a network failure or a timeout would fail again. */
static inline int m2m_outcome_refused(m2m_outcome o)
{
    return o == M2M_OUTCOME_CRED_UNKNOWN || o == M2M_OUTCOME_CRED_NOT_TAKEN || o == M2M_OUTCOME_HANDSHAKE ||
           o == M2M_OUTCOME_PEER_REFUSED;
}

/* 1 when the Registrar refused the credential itself (not a saved session offered with it). */
static inline int m2m_outcome_names_credential(m2m_outcome o)
{
    return o == M2M_OUTCOME_CRED_UNKNOWN || o == M2M_OUTCOME_CRED_NOT_TAKEN;
}

#endif
