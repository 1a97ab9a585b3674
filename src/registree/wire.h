/* SPDX-License-Identifier: Apache-2.0 */
/* What lies under the Registree's secured connections: the clock of deadlines, bounded waits, the TCP connect, the
 * SIGPIPE guard, and the in-process peer of tests. Shared by the TLS client (tls_client.c) and the DTLS client
 * (dtls_client.c), so that both bound every wait the same way and word their timeouts alike.
 *
 * A wait is bounded twice: by the step's timeout ([tls] timeout: one connect, one handshake, one read) and by the
 * call's deadline ([tls] deadline: the whole attach, rekey or request), whichever comes first. */
#ifndef M2M_REGISTREE_WIRE_H
#define M2M_REGISTREE_WIRE_H

#include <signal.h>

#include "crypto/secret.h"
#include "m2mattach/error.h"

/* CLOCK_MONOTONIC in milliseconds: the clock of deadlines. */
double m2m_wire_clock_ms(void);

/* One bounded exchange with a peer: its step timeout, its deadline (0: none) and how messages name the peer. */
typedef struct m2m_budget {
    int timeout_ms;
    double deadline;
    const char *peer;
} m2m_budget;

/* When the current wait must end: now + the step's timeout, or the deadline if that comes first. */
double m2m_budget_until(const m2m_budget *b);
int m2m_budget_passed(const m2m_budget *b);
/* A wait that ran out: M2M_E_TIMEOUT, "PREFIXpeer: the deadline passed DURING" when the deadline ended it, else
 * "PREFIXpeer: STEP N ms". Returns -1. */
int m2m_budget_timed_out(const m2m_budget *b, m2m_err *err, const char *prefix, const char *during,
                         const char *step);

/* A peer that runs in this thread (tests: a Registrar on the other end of a BIO pair, or a CoAP server context).
 * Where the client would wait for the network, it calls run(arg) instead, which lets the peer process what it was
 * sent and answer. run returns 0 when the peer ran, -1 when it is gone (the client then sees its end close). */
typedef struct m2m_pump {
    int (*run)(void *arg);
    void *arg;
} m2m_pump;

/* Waits until fd is ready for events (POLLIN / POLLOUT) or until (m2m_wire_clock_ms) passes. 0 ready, -1 not. */
int m2m_wait_fd(int fd, short events, double until);

/* A non-blocking TCP connection to host:port (each address tried in turn, each within the budget), TCP_NODELAY.
 * *fd on success; M2M_E_IO naming the peer ("cannot resolve", "connection refused") or M2M_E_TIMEOUT. */
int m2m_tcp_connect(const char *host, const char *port, const m2m_budget *b, int *fd, m2m_err *err);

/* strerror with a lowercase first letter, to read well after "peer: ". */
const char *m2m_errno_text(int e, char *buf, size_t cap);

/* A library must not change the process's signal disposition, yet a write to a reset TCP connection raises
 * SIGPIPE. So SIGPIPE is blocked in this thread for the duration of a call, and one raised by the call is consumed
 * before the mask is restored (the libpq technique). */
typedef struct m2m_sigpipe_guard {
    sigset_t old;
    int was_pending;
} m2m_sigpipe_guard;

void m2m_sigpipe_block(m2m_sigpipe_guard *g);
void m2m_sigpipe_restore(m2m_sigpipe_guard *g);

/* The end of both clients' (D)TLS 1.2 PSK callbacks: copies the identity and the key into OpenSSL's buffers and
 * returns the key's length, or 0 (no PSK: the handshake fails) when either does not fit. */
unsigned int m2m_psk_client_out(const char *identity, const m2m_secret *key, char *id_out, unsigned int max_id,
                                unsigned char *psk_out, unsigned int max_psk);

#endif
