/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a small file that may hold key material: bounded, NUL-terminated, wiped on failure. */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/file.h"

unsigned char *m2m_read_small_file(const char *path, size_t *len, m2m_err *err)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *ret = NULL;
    struct stat st;
    size_t n, cap = 0;

    if (f == NULL) {
        m2m_fail(err, M2M_E_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    /* Unbuffered: fread then reads straight into buf, which is wiped, instead of through a stdio buffer that
     * fclose would free with the key still in it. */
    setvbuf(f, NULL, _IONBF, 0);
    if (fstat(fileno(f), &st) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        m2m_fail(err, M2M_E_IO, "%s: not a regular file", path);
        goto done;
    }
    if (st.st_size > M2M_SMALL_FILE_MAX) {
        m2m_fail(err, M2M_E_PARSE, "%s: %lld octets is too large for a certificate or key file (limit %d)", path,
                 (long long)st.st_size, M2M_SMALL_FILE_MAX);
        goto done;
    }
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    /* Ask for one octet more than st_size: a file that grew since fstat is noticed instead of cut short. */
    n = fread(buf, 1, cap, f);
    if (ferror(f)) {
        m2m_fail(err, M2M_E_IO, "%s: read error", path);
        goto done;
    }
    if (n == cap) {
        m2m_fail(err, M2M_E_IO, "%s: the file grew while being read", path);
        goto done;
    }
    if (n == 0) {
        m2m_fail(err, M2M_E_PARSE, "%s: empty file", path);
        goto done;
    }
    buf[n] = '\0';
    *len = n;
    ret = buf;
    buf = NULL;
done:
    if (buf != NULL)
        OPENSSL_cleanse(buf, cap); /* it may hold part of a private key */
    free(buf);
    if (f != NULL)
        fclose(f);
    return ret;
}
