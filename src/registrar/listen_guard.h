/* SPDX-License-Identifier: Apache-2.0 */
/* A Registrar refuses to start on an address another process already listens on. */
#ifndef M2M_REGISTRAR_LISTEN_GUARD_H
#define M2M_REGISTRAR_LISTEN_GUARD_H

#include "m2mattach/error.h"

/* 0 when nothing listens on host:port (resolved as the workers resolve it), or when port is 0 (the kernel then
 * picks a free port). -1 with an error naming the address when something already listens there. */
int m2m_listen_guard(const char *host, const char *port, m2m_err *err);
/* The same for the CoAPS (UDP) port: libcoap binds it with SO_REUSEADDR, which on Linux lets a second UDP socket
 * with SO_REUSEADDR bind the same address silently. */
int m2m_listen_guard_dgram(const char *host, const char *port, m2m_err *err);

#endif
