/* SPDX-License-Identifier: Apache-2.0 */
/* One error convention for all of m2mattach: functions return 0 (or a pointer) on success and -1 (or NULL) on
 * failure, and fill an m2m_err that the caller owns (or that the handle keeps). The code family is stable; the
 * message names the file, field or peer at fault and is meant for people. */
#ifndef M2MATTACH_ERROR_H
#define M2MATTACH_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the library is built with hidden visibility: only this API leaves it */

typedef enum m2m_code {
    M2M_OK = 0,
    M2M_E_ARG,      /* a caller passed something invalid */
    M2M_E_NOMEM,
    M2M_E_IO,       /* file or socket I/O failed */
    M2M_E_PARSE,    /* input (INI, JSON, HTTP, hex) is malformed */
    M2M_E_TLS,      /* the TLS handshake or record layer failed */
    M2M_E_AUTH,     /* a security check refused something */
    M2M_E_STORE,    /* the enrolment / resource store failed */
    M2M_E_NOTFOUND,
    M2M_E_EXISTS,
    M2M_E_PROTO,    /* the peer answered something the protocol does not allow */
    M2M_E_REFUSED,  /* the peer answered with a oneM2M error status */
    M2M_E_TIMEOUT,  /* the peer did not answer in time: a step's timeout or the whole exchange's deadline passed */
    M2M_E_BUSY      /* another holder has the resource (the Registree's state lock); retrying later may work */
} m2m_code;

typedef struct m2m_err {
    m2m_code code;
    char msg[512];
} m2m_err;

/* Sets err (when not NULL) and returns -1, so a failure path reads `return m2m_fail(err, ...)`. */
int m2m_fail(m2m_err *err, m2m_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void m2m_err_clear(m2m_err *err);
const char *m2m_code_name(m2m_code code);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
