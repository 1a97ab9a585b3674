/* SPDX-License-Identifier: Apache-2.0 */
#include <time.h>

#include "util/hex.h"
#include "util/log.h"

/* Which program speaks: set once at start, before any thread logs. */
static const char *log_name = "registrar";

void m2m_log_name(const char *name)
{
    log_name = name;
}

/* Printable ASCII stays; everything else becomes \xHH (dst holds 4 * len + 1). */
static void escape(const char *src, char *dst)
{
    for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
        if (*p >= 0x20 && *p < 0x7f) {
            *dst++ = (char)*p;
            continue;
        }
        *dst++ = '\\';
        *dst++ = 'x';
        m2m_hex_encode(p, 1, dst); /* its NUL lands where the next character or the final NUL goes */
        dst += 2;
    }
    *dst = '\0';
}

const char *m2m_log_quote(const char *in, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap < 3) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[n++] = '"';
    for (const char *p = in ? in : ""; *p != '\0' && n + 3 < cap; p++) {
        if (*p == '"' || *p == '\\')
            buf[n++] = '\\';
        buf[n++] = *p;
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

void m2m_vlogf(FILE *out, const char *fmt, va_list ap)
{
    char line[1024], safe[4 * sizeof line], ts[32];
    struct timespec now;
    struct tm tm;

    if (out == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(line, sizeof line, fmt, ap);
    escape(line, safe);
    fprintf(out, "%s.%03ldZ %s: %s\n", ts, now.tv_nsec / 1000000, log_name, safe);
    fflush(out);
}

void m2m_logf(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2m_vlogf(out, fmt, ap);
    va_end(ap);
}
