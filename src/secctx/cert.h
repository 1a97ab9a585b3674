/* SPDX-License-Identifier: Apache-2.0 */
/* PKI with client certificate on the Registrar (x.y.6): its own certificate and chain, and the client-certificate
 * check that records a candidate for binding.c. */
#ifndef M2M_SECCTX_CERT_H
#define M2M_SECCTX_CERT_H

#include "secctx/tls_conn.h"

/* A no-op without cfg->cert. */
int m2m_cert_install(SSL_CTX *ctx, const m2m_tls_server_config *cfg, m2m_err *err);

#endif
