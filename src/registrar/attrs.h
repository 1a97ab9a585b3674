/* SPDX-License-Identifier: Apache-2.0 */
/* Which attributes a client may set on each resource type, of which JSON kind, and when (TS-0004 7.4). */
#ifndef M2M_REGISTRAR_ATTRS_H
#define M2M_REGISTRAR_ATTRS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Checks the attributes of a CREATE (create = 1) or UPDATE body against the table of type ty: unknown or
 * server-set attributes, wrong JSON kinds, missing mandatory ones (CREATE) and non-updatable ones (UPDATE) are
 * refused with a reason written to why. Returns 0 when acceptable. */
int m2m_attrs_check(int ty, const cJSON *attrs, int create, char *why, size_t why_len);

#endif
