/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded reader (file.h). Shaped by what it reads: key material, so read(2) straight into a buffer that is
 * wiped (no stdio buffer that fclose would free with the key still in it); attacker-sized input, so the limit is
 * enforced on what was actually read (max + 1 octets asked for), not only on st_size, which a FIFO, a file in /proc
 * or a file growing meanwhile do not tell truthfully; and the file name in every message, because whoever reads it
 * is fixing that file. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

void m2m_file_buf_free(m2m_file_buf *out)
{
    if (out == NULL)
        return;
    if (out->data != NULL) {
        OPENSSL_cleanse(out->data, out->len);
        free(out->data);
    }
    out->data = NULL;
    out->len = 0;
}

int m2m_fd_read(int fd, const char *name, size_t max, unsigned flags, m2m_file_buf *out, m2m_err *err)
{
    /* Grows as it reads, up to max + 1: an oversized input costs at most that much memory. */
    size_t cap = max < 4096 ? max + 1 : 4096, len = 0;
    unsigned char *buf = malloc(cap + 1);
    int rc = -1;

    out->data = NULL;
    out->len = 0;
    if (buf == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", name);
        goto done;
    }
    for (;;) {
        ssize_t n;
        if (len == cap) {
            size_t ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
            unsigned char *nb;
            if (ncap == cap)
                break; /* max + 1 octets read: too large */
            if ((nb = malloc(ncap + 1)) == NULL) {
                m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", name);
                goto done;
            }
            /* not realloc: the old buffer may hold part of a key and must be wiped, not handed back as it is */
            memcpy(nb, buf, len);
            OPENSSL_cleanse(buf, len);
            free(buf);
            buf = nb;
            cap = ncap;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            m2m_fail(err, M2M_E_IO, "%s: %s", name, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max) {
        m2m_fail(err, M2M_E_PARSE, "%s: larger than %zu octets", name, max);
        goto done;
    }
    if (len == 0 && !(flags & M2M_FILE_EMPTY_OK)) {
        m2m_fail(err, M2M_E_PARSE, "%s: empty file", name);
        goto done;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    buf = NULL;
    rc = 0;
done:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, len); /* it may hold part of a private key */
        free(buf);
    }
    return rc;
}

int m2m_file_read(const char *path, size_t max, unsigned flags, m2m_file_buf *out, m2m_err *err)
{
    struct stat st;
    int fd, rc = -1;

    out->data = NULL;
    out->len = 0;
    out->mode = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == ENOENT && (flags & M2M_FILE_MISSING_OK))
        return 1;
    if (fd < 0 || fstat(fd, &st) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode) && !(flags & M2M_FILE_ANY_KIND)) {
        m2m_fail(err, M2M_E_IO, "%s: not a regular file", path);
        goto done;
    }
    /* Refused before reading when the size says so already; m2m_fd_read checks again what it really reads. */
    if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
        m2m_fail(err, M2M_E_PARSE, "%s: larger than %zu octets", path, max);
        goto done;
    }
    rc = m2m_fd_read(fd, path, max, flags, out, err);
    out->mode = st.st_mode;
done:
    if (fd >= 0)
        close(fd);
    return rc;
}
