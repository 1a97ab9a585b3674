/* SPDX-License-Identifier: Apache-2.0 */
#ifndef M2M_UTIL_FILE_H
#define M2M_UTIL_FILE_H

#include <stddef.h>
#include "m2mattach/error.h"

/* Certificate and key files are small; anything larger is refused rather than read. */
#define M2M_SMALL_FILE_MAX (1024 * 1024)

/* Reads a whole regular file of at most M2M_SMALL_FILE_MAX octets, NUL-terminated for text searches; *len
 * excludes the NUL. Errors name the file. The caller wipes (OPENSSL_cleanse, *len octets) and frees the buffer:
 * it may hold a private key. */
unsigned char *m2m_read_small_file(const char *path, size_t *len, m2m_err *err);

#endif
