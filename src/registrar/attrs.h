/* SPDX-License-Identifier: Apache-2.0 */
/* Which attributes a client may set on each resource type, of which JSON kind, in which release, and when
 * (TS-0004 7.4); and the values some of them must have (timestamps, release versions). */
#ifndef M2M_REGISTRAR_ATTRS_H
#define M2M_REGISTRAR_ATTRS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Checks the attributes of a CREATE (create = 1) or UPDATE body against the table of type ty, for the release the
 * request speaks (rvi: "" or "1" = Release 1, "2", "2a", "3", ...): unknown or server-set attributes, wrong JSON
 * kinds or values (srv: real releases; et: a oneM2M timestamp after now), missing mandatory ones (CREATE; srv only
 * from Release 2a on) and non-updatable ones (UPDATE) are refused with a reason in why. 0 when acceptable. */
int m2m_attrs_check(int ty, const cJSON *attrs, int create, const char *rvi, int64_t now, char *why,
                    size_t why_len);
/* "YYYYMMDDTHHMMSS" with an optional ",ffffff" (TS-0004 6.3.3 timestamp, UTC) -> unix seconds; -1 if malformed. */
int64_t m2m_attrs_parse_time(const char *s);
/* The timestamp form of t. */
void m2m_attrs_format_time(int64_t t, char out[16]);

#endif
