/* SPDX-License-Identifier: Apache-2.0 */
#include <time.h>

#include "util/log.h"

void m2m_vlogf(FILE *out, const char *fmt, va_list ap)
{
    char line[1024], ts[32];
    struct timespec now;
    struct tm tm;

    if (out == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(out, "%s.%03ldZ registrar: %s\n", ts, now.tv_nsec / 1000000, line);
    fflush(out);
}

void m2m_logf(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2m_vlogf(out, fmt, ap);
    va_end(ap);
}

double m2m_ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}
