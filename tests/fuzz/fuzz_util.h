/* SPDX-License-Identifier: Apache-2.0 */
/* What several fuzz harnesses share: FUZZ_CHECK, which aborts whatever NDEBUG says (libFuzzer and the CTest replay
 * both report an abort), and a private temporary directory for the parsers that only take paths. */
#ifndef M2M_FUZZ_UTIL_H
#define M2M_FUZZ_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline int fuzz_rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(path);
}

static inline char *fuzz_dir_path(void)
{
    static char dir[512];
    return dir;
}

static inline void fuzz_dir_remove(void)
{
    nftw(fuzz_dir_path(), fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* $TMPDIR/m2m-fuzz-XXXXXX (or under /tmp), made on first use and removed with everything in it at exit. */
static inline const char *fuzz_tmpdir(void)
{
    char *dir = fuzz_dir_path();
    if (dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(dir, 512, "%s/m2m-fuzz-XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
        FUZZ_CHECK(mkdtemp(dir) != NULL);
        atexit(fuzz_dir_remove);
    }
    return dir;
}

/* data as a NUL-terminated string in a buffer of exactly size + 1 octets (a sanitizer build catches an over-read);
 * the caller frees it. For the parsers that take C strings. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Writes data as the file name in the temporary directory, mode 0600, and returns its path (a static buffer). */
static inline const char *fuzz_write_file(const char *name, const void *data, size_t size)
{
    static char path[640];
    int fd;
    snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
    FUZZ_CHECK(close(fd) == 0);
    return path;
}

#endif
