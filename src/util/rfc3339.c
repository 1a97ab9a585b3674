/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/rfc3339.h"

void m2m_rfc3339_format(int64_t t, char out[M2M_RFC3339_LEN + 1])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, M2M_RFC3339_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int m2m_rfc3339_parse(const char *s, int64_t *t)
{
    struct tm tm;
    const char *end;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        return -1;
    if (*end == '.') /* fractional seconds: accepted, dropped */
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    if (strcmp(end, "Z") != 0)
        return -1;
    *t = (int64_t)timegm(&tm);
    return 0;
}
