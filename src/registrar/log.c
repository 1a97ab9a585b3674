/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>

#include "registrar/server.h"

void m2m_log(const struct m2m_registrar *reg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2m_vlogf(reg ? reg->cfg.log : stderr, fmt, ap);
    va_end(ap);
}
