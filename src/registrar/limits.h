/* SPDX-License-Identifier: Apache-2.0 */
/* Admission control: how many connections the Registrar holds, how many from one source address, how many may be
 * unauthenticated at once (the pre-authentication budget, in count and buffered bytes: the oldest unauthenticated
 * connection goes first), how much an unbound context may send, and what happens when the process runs out of
 * descriptors. Every refusal is counted (/metrics) and logged at most once per 10 s per reason. */
#ifndef M2M_REGISTRAR_LIMITS_H
#define M2M_REGISTRAR_LIMITS_H

#include "registrar/server.h"

enum { M2M_LIMIT_TOTAL, M2M_LIMIT_ADDRESS, M2M_LIMIT_PREAUTH, M2M_LIMIT_PREAUTH_BYTES, M2M_LIMIT_COUNT };
const char *m2m_limit_name(int reason);

/* What an unbound context may send: a registration, not a content upload (the evhttp defaults). Raised per
 * connection once it is bound. */
#define M2M_PREAUTH_MAX_HEADERS (4 * 1024)
#define M2M_PREAUTH_MAX_BODY (4 * 1024)
#define M2M_BOUND_MAX_HEADERS (16 * 1024)
#define M2M_BOUND_MAX_BODY (1024 * 1024)

/* Start-up: raises the descriptor limit to its hard limit, sizes the defaults from it, makes the address table. */
int m2m_limits_init(struct m2m_registrar *reg, m2m_err *err);
void m2m_limits_free(struct m2m_registrar *reg);
/* Per worker: the reserve descriptor, the accept error handler, the admission event. */
int m2m_limits_worker_init(struct worker *w, m2m_err *err);
void m2m_limits_worker_free(struct worker *w);
/* Binds the calling thread to w (the accept error callback finds its worker through it). */
void m2m_limits_enter_worker(struct worker *w);

/* A new connection: checked against the limits once evhttp has given it its socket, before it reads anything. */
void m2m_limits_admit_later(conn *c);
/* The connection is bound to a Registree now: it leaves the pre-authentication budget and may send full-size
 * requests. */
void m2m_limits_bound(conn *c);
/* The connection is closing or freed: releases what it counted. */
void m2m_limits_release(conn *c);
/* Once a second per worker: the pre-authentication byte budget; worker 0 also hands freed memory back. */
void m2m_limits_tick(struct worker *w);

/* For the CoAPS listener (registrar/coap_server.c), which has no descriptors to count but the same policy:
 * adds delta to the sessions counted for a source address (key: family + address) and returns the new count;
 * and the rate-limited warning, in slot M2M_LIMIT_WARN_COAP + reason. */
#define M2M_LIMIT_WARN_COAP 5
int m2m_limits_addr_add(struct m2m_registrar *reg, const unsigned char key[17], int delta);
void m2m_limits_warn(struct m2m_registrar *reg, int slot, const char *what, const char *addr);

#endif
