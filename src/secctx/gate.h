/* SPDX-License-Identifier: Apache-2.0 */
/* Fetching Ks_NAF over Zn without stalling the worker (x.y.5).
 *
 * OpenSSL asks for a PSK inside a callback that must answer at once, and libevent 2.1's bufferevent_openssl cannot
 * pause a handshake from OpenSSL's side: its do_handshake treats SSL_ERROR_WANT_CLIENT_HELLO_CB (a client_hello
 * callback returning SSL_CLIENT_HELLO_RETRY) like any error and closes the connection (bufferevent_openssl.c,
 * release-2.1.12, do_handshake: only WANT_READ and WANT_WRITE are retried).
 *
 * So the pause happens below OpenSSL: a "gate" BIO between the SSL and its socket reads what the client sends and
 * looks at the plaintext handshake before OpenSSL does -- the TLS 1.3 ClientHello's pre_shared_key identities, and
 * the TLS 1.2 ClientKeyExchange's psk_identity once a PSK suite is negotiated (RFC 4279: the identity arrives only
 * there, after the ServerHello, so the suite and with it the Ua protocol id are known). When one carries a B-TID
 * whose Ks_NAF is not cached, the gate starts a Zn request on the worker's event loop and holds the bytes back:
 * OpenSSL sees "no data yet" (WANT_READ), libevent waits, other connections on the loop go on. When Zn answers, the
 * key goes into the cache, the gate releases the bytes and re-activates the connection's read event; the PSK
 * callback then finds the key in the cache. Concurrent handshakes with the same (B-TID, suite) share one request.
 * A failed or timed-out request is remembered as such for M2M_GBA_NEGATIVE_TTL, so the handshake fails
 * (unknown_psk_identity) without a second, blocking try.
 *
 * The same pause serves a store whose reads are round trips (PostgreSQL): a plain psk_identity (a key ID) has its
 * enrolment read through the loop's m2m_store_reader while the gate holds the bytes, and the PSK callback finds the
 * answer in the handshake's state (tls_conn.h: m2m_psk_prefetch) -- read during this handshake, so a revoke still
 * applies to the next handshake, and the loop serves other connections meanwhile. */
#ifndef M2M_SECCTX_GATE_H
#define M2M_SECCTX_GATE_H

#include <event2/event.h>

#include "secctx/gba.h"

/* Zn requests one worker runs at once; a handshake needing another one beyond this fails. */
#define M2M_GATE_MAX_PENDING 64

/* Puts the gate under tc's SSL (on its socket BIO) when tc's loop is a NAF with an event base, or has a store
 * reader (m2m_store_reader: PostgreSQL), and tc->wake is set (the owner's way to run the handshake again:
 * re-activate its read event). From then on the PSK callback never blocks on Zn for tc, and finds the enrolment of
 * a plain psk_identity (a key ID) read ahead, without the loop waiting for the store. Called when the handshake
 * starts. */
void m2m_gate_attach(m2m_tls_conn *tc);

/* Asks Zn for (btid, ua) on naf's loop without anyone waiting (or joins the request under way): the answer, or
 * that there is none, goes into naf's cache. The DTLS path (registrar/coap_server.c) drops the flight that needed
 * it, and the client's retransmission finds the cache filled. 0, or -1 when no request is possible. */
int m2m_gate_prefetch(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN]);

/* Cancels the requests under way on naf's loop (the worker stops). */
void m2m_gate_cancel_all(m2m_gba_naf *naf);

#endif
