/* SPDX-License-Identifier: Apache-2.0 */
/* Hex encoding for key material and IDs. Decoding checks every length before writing. */
#ifndef M2M_UTIL_HEX_H
#define M2M_UTIL_HEX_H

#include <stddef.h>
#include "m2mattach/error.h"

/* out must hold 2*len+1 bytes; lowercase. */
void m2m_hex_encode(const unsigned char *in, size_t len, char *out);
/* Decodes an even-length hex string (whitespace around it ignored) into out (capacity cap). what names the
 * field or file in the error message. Meant for keys: the time taken does not depend on the digits' values, and
 * an error says where the first bad character is, never which character it is; out is wiped on failure. */
/* The value of one hex digit (0-9, a-f, A-F), or -1: for percent-decoding (RFC 3986) in the bindings, so that
 * there is one table of hex digits, the constant-time one below. */
int m2m_hex_digit(int c);
int m2m_hex_decode(const char *hex, unsigned char *out, size_t cap, size_t *out_len, const char *what, m2m_err *err);

#endif
