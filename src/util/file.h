/* SPDX-License-Identifier: Apache-2.0 */
/* THE bounded file reader: every file this project reads whole (keys, certificates, tokens, the Registree's state,
 * OCSP responses, request bodies) comes through here, so the limit, the wiping and the messages are the same. */
#ifndef M2M_UTIL_FILE_H
#define M2M_UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "m2mattach/error.h"

/* Certificate and key files are small; anything larger is refused rather than read. */
#define M2M_SMALL_FILE_MAX (1024 * 1024)

/* What was read. data is NUL-terminated (for text searches; len excludes the NUL) and may hold a key: release it
 * with m2m_file_buf_free, which wipes it. mode is the file's st_mode (0 for m2m_fd_read), so a caller can warn
 * about a key file that others may read. */
typedef struct m2m_file_buf {
    unsigned char *data;
    size_t len;
    mode_t mode;
} m2m_file_buf;

enum {
    M2M_FILE_MISSING_OK = 1, /* a file that does not exist: return 1 instead of failing (state, generated key) */
    M2M_FILE_EMPTY_OK = 2,   /* an empty file is returned (len 0) instead of refused */
    M2M_FILE_ANY_KIND = 4,   /* a FIFO or device is read too (request bodies from <(...)); else only regular files */
};

/* Reads all of path, at most max octets, into out. 0 on success; 1 when the file does not exist and flags has
 * M2M_FILE_MISSING_OK; -1 otherwise. Every message starts with the file name: "PATH: strerror", "PATH: not a
 * regular file", "PATH: larger than MAX octets" (M2M_E_PARSE), "PATH: empty file" (M2M_E_PARSE). */
int m2m_file_read(const char *path, size_t max, unsigned flags, m2m_file_buf *out, m2m_err *err);

/* The same from an open descriptor (standard input), name standing for it in messages; fd stays open. */
int m2m_fd_read(int fd, const char *name, size_t max, unsigned flags, m2m_file_buf *out, m2m_err *err);

/* Wipes and frees out->data; out may be NULL or empty. */
void m2m_file_buf_free(m2m_file_buf *out);

#endif
