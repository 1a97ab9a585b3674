/* SPDX-License-Identifier: Apache-2.0 */
/* What one Registree may use: resources and stored bytes (read from the store's usage table) and a request rate
 * (a token bucket per Registree, shared by every worker). Over a limit the request gets 4005 OPERATION_NOT_ALLOWED
 * saying which limit, and the metric m2m_quota_refused_total counts it. */
#ifndef M2M_REGISTRAR_QUOTA_H
#define M2M_REGISTRAR_QUOTA_H

#include <stdint.h>

typedef struct m2m_rate_table m2m_rate_table;

/* per_s requests a second on average, bursts of up to burst; now_ms: a monotonic clock in milliseconds (NULL = the
 * system's), injectable for tests. NULL when out of memory. */
m2m_rate_table *m2m_rate_new(double per_s, double burst, int64_t (*now_ms)(void));
void m2m_rate_free(m2m_rate_table *t);
/* Takes one request of id: 1 allowed, 0 over the rate. */
int m2m_rate_take(m2m_rate_table *t, const char *id);

typedef struct m2m_quota {
    int64_t max_resources;       /* per Registree; 0 = no limit */
    int64_t max_bytes;           /* per Registree, stored attribute bytes; 0 = no limit */
    m2m_rate_table *rate;        /* NULL = no rate limit */
    unsigned long long refused;  /* requests refused by any of these (atomic) */
} m2m_quota;

#endif
