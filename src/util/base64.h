/* SPDX-License-Identifier: Apache-2.0 */
/* Standard base64 (RFC 4648 section 4, with padding) for GBA's nonces, B-TIDs, AUTS and Zn's keys. Decoding is
 * strict: a length that is not a multiple of 4, a character outside the alphabet or misplaced padding is refused. */
#ifndef M2M_UTIL_BASE64_H
#define M2M_UTIL_BASE64_H

#include <stddef.h>

/* Characters needed for len octets, without the NUL. */
#define M2M_B64_LEN(len) ((((len) + 2) / 3) * 4)

/* out must hold M2M_B64_LEN(len) + 1 characters. */
void m2m_b64_encode(const unsigned char *in, size_t len, char *out);
/* 0 and *len, or -1 when in is not strict base64 or would not fit in cap. */
int m2m_b64_decode(const char *in, unsigned char *out, size_t cap, size_t *len);

#endif
