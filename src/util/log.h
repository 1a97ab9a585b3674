/* SPDX-License-Identifier: Apache-2.0 */
/* One log line at a time, timestamped, to a stdio stream: the Registrar's attachment and refusal lines. Lines stay
 * whole across threads (one fprintf per line; stdio locks the stream). Never pass key material. */
#ifndef M2M_UTIL_LOG_H
#define M2M_UTIL_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util/clock.h"

/* "<UTC time> registrar: <line>\n" to out; nothing when out is NULL. Any byte of the line outside printable ASCII
 * (newline, ESC, BEL, non-ASCII) is written as \xHH: what a peer sent cannot forge a line or drive a terminal. */
/* The program name of every line ("registrar" unless set; the BSF says "bsf"). Call before any thread logs. */
void m2m_log_name(const char *name);
void m2m_logf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void m2m_vlogf(FILE *out, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* in as a quoted log field: "…" with \" and \\ escaped and cut to fit cap (always NUL-terminated). Use it for
 * anything a peer chose (From, To, request IDs, reasons quoting them). Returns buf. */
const char *m2m_log_quote(const char *in, char *buf, size_t cap);

#endif
