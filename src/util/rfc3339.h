/* SPDX-License-Identifier: Apache-2.0 */
/* UTC timestamps as GBA carries them (xs:dateTime in BootstrappingInfo, Zn's key expiry): "2026-11-28T12:00:00Z". */
#ifndef M2M_UTIL_RFC3339_H
#define M2M_UTIL_RFC3339_H

#include <stdint.h>

#define M2M_RFC3339_LEN 20

/* out holds M2M_RFC3339_LEN + 1 characters. */
void m2m_rfc3339_format(int64_t t, char out[M2M_RFC3339_LEN + 1]);
/* "YYYY-MM-DDTHH:MM:SSZ" (optionally with fractional seconds) to unix seconds; -1 when malformed. */
int m2m_rfc3339_parse(const char *s, int64_t *t);

#endif
