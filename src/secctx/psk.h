/* SPDX-License-Identifier: Apache-2.0 */
/* TLS-PSK on the Registrar (x.y.2, x.y.3): the TLS 1.2 PSK callback and the TLS 1.3 external-PSK session callback,
 * both recording candidates for binding.c. */
#ifndef M2M_SECCTX_PSK_H
#define M2M_SECCTX_PSK_H

#include "secctx/tls_conn.h"

/* gba: this Registrar is a NAF (x.y.5): its TLS 1.2 PSK handshakes carry the hint "3GPP-bootstrapping". */
void m2m_psk_install(SSL_CTX *ctx, int gba);
/* The same for one SSL made before its context was set up (libcoap makes its first DTLS SSL early). */
void m2m_psk_install_ssl(SSL *ssl);
/* The first handshake bound by a generated key (x.y.8) makes it current and retires the old key; logged with the
 * peer address. A no-op unless tc->pending_key. */
void m2m_psk_promote(m2m_tls_conn *tc);

#endif
