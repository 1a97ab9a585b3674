/* SPDX-License-Identifier: Apache-2.0 */
/* The NAF's side of Zn: one request to the BSF over HTTPS with the NAF's client certificate, shaped after
 * Nbsp_GBA (bsf/zn.c is the other side): {"btid", "nafId"} -> {"btid", "impi", "ksNaf", "keyExpiryTime"}.
 *
 * An operation is a non-blocking state machine on one socket, so it can be driven either way:
 *   - on an event loop (gba.c): m2m_zn_op_start, then m2m_zn_op_step whenever m2m_zn_op_fd is ready for what the
 *     last step asked, until it says done;
 *   - blocking with a deadline (m2m_zn_fetch): the same steps under poll().
 * The BSF's certificate must chain to the configured root and name the URL's host. The client keeps the last TLS
 * session it got and offers it next time (a resumed handshake needs no certificates). Not thread-safe: one client
 * per worker. */
#ifndef M2M_SECCTX_ZN_CLIENT_H
#define M2M_SECCTX_ZN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/secret.h"
#include "m2mattach/error.h"
#include "store/store.h"

typedef struct m2m_zn_client m2m_zn_client;
typedef struct m2m_zn_op m2m_zn_op;

typedef struct m2m_zn_answer {
    int found;                 /* 1: the BSF gave a key; 0: it said the B-TID is unknown or expired (404) */
    m2m_secret ks_naf;         /* 32 octets */
    char impi[M2M_IMPI_MAX];
    int64_t expires;           /* unix seconds */
} m2m_zn_answer;

/* url = "https://HOST:PORT"; root = the PEM the BSF's certificate must chain to; cert/key = the NAF's. */
m2m_zn_client *m2m_zn_client_new(const char *url, const char *root, const char *cert, const char *key,
                                 int timeout_ms, m2m_err *err);
void m2m_zn_client_free(m2m_zn_client *zc);
int m2m_zn_client_timeout_ms(const m2m_zn_client *zc);
/* A second client with the same configuration (its own session), for another worker. */
m2m_zn_client *m2m_zn_client_dup(const m2m_zn_client *zc, m2m_err *err);

enum { M2M_ZN_WANT_READ = 1, M2M_ZN_WANT_WRITE = 2, M2M_ZN_DONE = 3 };

/* Starts the request (a non-blocking connect). NULL with err. */
m2m_zn_op *m2m_zn_op_start(m2m_zn_client *zc, const char *btid, const uint8_t *naf_id, size_t naf_id_len,
                           m2m_err *err);
int m2m_zn_op_fd(const m2m_zn_op *op);
/* Advances: M2M_ZN_WANT_READ / M2M_ZN_WANT_WRITE (wait for that on the fd, then step again), M2M_ZN_DONE (call
 * m2m_zn_op_finish), or -1 with err (the BSF cannot be reached or answered nonsense). */
int m2m_zn_op_step(m2m_zn_op *op, m2m_err *err);
/* The answer of a done operation: 0 and out filled (wipe out->ks_naf), or -1 with err. */
int m2m_zn_op_finish(m2m_zn_op *op, m2m_zn_answer *out, m2m_err *err);
void m2m_zn_op_free(m2m_zn_op *op);

/* The whole request, blocking up to the client's timeout. */
int m2m_zn_fetch(m2m_zn_client *zc, const char *btid, const uint8_t *naf_id, size_t naf_id_len, m2m_zn_answer *out,
                 m2m_err *err);

#endif
