/* SPDX-License-Identifier: Apache-2.0 */
/* Process-wide protections of key material. */
#ifndef M2M_UTIL_HARDEN_H
#define M2M_UTIL_HARDEN_H

/* Keys live in this process's memory (the Registrar's PSK cache and ticket keys, a device's key): no core dump may
 * carry them. Marks the process non-dumpable and sets RLIMIT_CORE to 0, unless the environment says
 * M2M_ALLOW_CORE_DUMPS=1 (debugging, profiling as another user). 0, or -1 when the kernel refused. */
int m2m_no_core_dumps(void);

#endif
