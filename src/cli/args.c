/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/args.h"

int cli_int(const char *cmd, const char *opt, const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "m2mattach %s: %s '%s' is not a whole number from %d to %d\n", cmd, opt, s, min, max);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* A number with at most one unit letter after it. */
static int number_unit(const char *s, long long *v, char *unit)
{
    char *end;
    *v = strtoll(s, &end, 10);
    if (end == s || *v < 0 || (*end != '\0' && end[1] != '\0'))
        return -1;
    *unit = *end;
    return 0;
}

int cli_duration(const char *cmd, const char *opt, const char *s, int64_t max_days, int64_t *out)
{
    long long v, mult;
    char unit;
    if (number_unit(s, &v, &unit) != 0 || v == 0)
        goto bad;
    switch (unit) {
    case '\0': case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    default: goto bad;
    }
    if (v > max_days * 86400 / mult)
        goto bad;
    *out = v * mult;
    return 0;
bad:
    fprintf(stderr, "m2mattach %s: %s '%s' is not a duration like 90, 30m, 12h or 7d (at most %lld days)\n", cmd,
            opt, s, (long long)max_days);
    return -1;
}

int cli_size(const char *cmd, const char *opt, const char *s, long long *out)
{
    long long v, mult;
    char unit;
    if (number_unit(s, &v, &unit) != 0)
        goto bad;
    switch (unit) {
    case '\0': mult = 1; break;
    case 'k': case 'K': mult = 1024; break;
    case 'M': mult = 1024 * 1024; break;
    case 'G': mult = 1024LL * 1024 * 1024; break;
    default: goto bad;
    }
    if (v > (1LL << 40) / mult)
        goto bad;
    *out = v * mult;
    return 0;
bad:
    fprintf(stderr, "m2mattach %s: %s '%s' is not a size like 65536, 64k, 16M or 1G\n", cmd, opt, s);
    return -1;
}
