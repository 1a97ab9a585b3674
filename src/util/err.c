/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "m2mattach/error.h"

int (m2m_fail)(m2m_err *err, m2m_code code, const char *fmt, ...) /* (name): scripts/scan-build-hints.h */
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void m2m_err_clear(m2m_err *err)
{
    if (err != NULL) {
        err->code = M2M_OK;
        err->msg[0] = '\0';
    }
}

const char *m2m_code_name(m2m_code code)
{
    static const char *const names[] = {"ok", "invalid argument", "out of memory", "i/o error", "parse error",
                                        "tls error", "authentication refused", "store error", "not found",
                                        "already exists", "protocol error", "refused by peer", "timed out",
                                        "busy"};
    if ((size_t)code < sizeof names / sizeof names[0])
        return names[code];
    return "unknown error";
}
