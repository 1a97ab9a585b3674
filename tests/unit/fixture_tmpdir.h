/* SPDX-License-Identifier: Apache-2.0 */
/* Throw-away directories and whole-file reads for the unit tests. Header-only: every function is static inline, so
 * a test program that uses only some of them builds without unused-function warnings. */
#ifndef M2M_TEST_FIXTURE_TMPDIR_H
#define M2M_TEST_FIXTURE_TMPDIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* Makes a new, empty directory /tmp/m2m-NAME-XXXXXX and puts its path into dir (cap bytes). 0, or -1. */
static inline int fixture_mkdtemp(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "/tmp/m2m-%s-XXXXXX", name);
    return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Removes dir and everything in it. 0, or -1. */
static inline int fixture_rmdir(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Reads the file at path into out (at most cap - 1 bytes, NUL-terminated); the file must exist. */
static inline void fixture_read_file(const char *path, char *out, size_t cap)
{
    FILE *in = fopen(path, "r");
    size_t n;
    assert_non_null(in);
    n = fread(out, 1, cap - 1, in);
    out[n] = '\0';
    fclose(in);
}

#endif
