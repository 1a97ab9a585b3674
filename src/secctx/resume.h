/* SPDX-License-Identifier: Apache-2.0 */
/* TLS session resumption (x.y.4) on the Registrar: tickets sealed with store-kept keys, carrying the binding. */
#ifndef M2M_SECCTX_RESUME_H
#define M2M_SECCTX_RESUME_H

#include "secctx/tls_conn.h"

void m2m_resume_install(SSL_CTX *ctx, int64_t period);

/* Parses the binding a ticket carries (its appdata, as the ticket generation callback wrote it) into c->peer
 * (mechanism, Registree ID, credential ID, enrolment, not_after), c->version, c->suite, and the Registrar
 * certificate fingerprint into fp. 0, or -1 when it is not one this version
 * wrote. Internal: exposed for the fuzz harness (tests/fuzz/ticket_appdata.c). */
int m2m_resume_parse_appdata(const char *data, size_t len, m2m_candidate *c, char fp[65]);

#endif
