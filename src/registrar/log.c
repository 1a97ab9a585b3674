#include <stdarg.h>
#include <time.h>

#include "registrar/server.h"

void m2m_log(const struct m2m_registrar *reg, const char *fmt, ...)
{
    char line[1024], ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;
    FILE *out = reg ? reg->cfg.log : stderr;

    if (out == NULL)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line keeps lines whole across worker threads (stdio locks the stream). */
    fprintf(out, "%s.%03ldZ registrar: %s\n", ts, now.tv_nsec / 1000000, line);
    fflush(out);
}

double m2m_ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}
