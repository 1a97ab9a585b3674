/* Hex encoding for key material and IDs. Decoding checks every length before writing. */
#ifndef M2M_UTIL_HEX_H
#define M2M_UTIL_HEX_H

#include <stddef.h>
#include "m2mattach/error.h"

/* out must hold 2*len+1 bytes; lowercase. */
void m2m_hex_encode(const unsigned char *in, size_t len, char *out);
/* Decodes an even-length hex string (whitespace around it ignored) into out (capacity cap). what names the
 * field in the error message. */
int m2m_hex_decode(const char *hex, unsigned char *out, size_t cap, size_t *out_len, const char *what, m2m_err *err);

#endif
