/* SPDX-License-Identifier: Apache-2.0 */
/* FNV-1a (32 bits): the bucket of an in-memory table keyed by IDs or addresses (quota, limits, the PSK and
 * resumption caches, the CoAPS session table). Not for anything an attacker must not steer: every such table is
 * bounded and degrades to longer chains, never to unbounded work. */
#ifndef M2M_UTIL_HASH_H
#define M2M_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define M2M_FNV1A_INIT 2166136261u

/* h continued over n octets at p. */
static inline uint32_t m2m_fnv1a(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* h continued over the string s (without its NUL). */
static inline uint32_t m2m_fnv1a_str(uint32_t h, const char *s)
{
    for (const unsigned char *b = (const unsigned char *)s; *b != '\0'; b++)
        h = (h ^ *b) * 16777619u;
    return h;
}

#endif
