/* SPDX-License-Identifier: Apache-2.0 */
/* OCSP stapling on the Registrar (x.y.6 Step 4, RFC 6066 status_request): the status of its own certificate,
 * from a DER response file (re-read when it changes) or fetched from an OCSP responder (refreshed at half its
 * validity), handed to every client that asks. */
#ifndef M2M_SECCTX_OCSP_STAPLE_H
#define M2M_SECCTX_OCSP_STAPLE_H

#include <openssl/ssl.h>
#include <stdio.h>

#include "m2mattach/error.h"

typedef struct m2m_stapler m2m_stapler;

/* file or url (exactly one). leaf/issuer: the Registrar certificate and its issuer (for the request, and to
 * check that a response is about this certificate). log_to: where refresh failures are logged (may be NULL). */
m2m_stapler *m2m_stapler_new(const char *file, const char *url, X509 *leaf, X509 *issuer,
                             FILE *log_to, m2m_err *err);
/* Loads or fetches when due; returns 0 when a usable response is held afterwards. */
int m2m_stapler_refresh(m2m_stapler *s, int force, m2m_err *err);
/* Runs refreshes in a thread of its own until m2m_stapler_free. */
int m2m_stapler_start(m2m_stapler *s, m2m_err *err);
void m2m_stapler_install(SSL_CTX *ctx, m2m_stapler *s);
/* Stops refreshing (joins the thread) and keeps the response held: for a stapler whose certificate was replaced
 * (m2m_registrar_reload), which handshakes already under way may still ask, but which must no longer re-read a file
 * that now holds the new certificate's response. */
void m2m_stapler_stop(m2m_stapler *s);
void m2m_stapler_free(m2m_stapler *s);

#endif
