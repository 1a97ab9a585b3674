/* SPDX-License-Identifier: Apache-2.0 */
/* TLS session resumption (x.y.4) on the Registrar: tickets sealed with store-kept keys, carrying the binding. */
#ifndef M2M_SECCTX_RESUME_H
#define M2M_SECCTX_RESUME_H

#include "secctx/tls_conn.h"

void m2m_resume_install(SSL_CTX *ctx, int64_t period);

#endif
