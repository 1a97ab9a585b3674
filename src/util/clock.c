/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util/clock.h"

static int64_t offset_set; /* m2m_clock_set_offset */

/* The offset in the test clock file, re-read when the file's mtime or size changes (only with the variable set:
 * a production process never looks). */
static int64_t file_offset(void)
{
    static const char *path;
    static int looked;
    static struct stat seen;
    static int64_t offset;
    struct stat now;
    FILE *f;

    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        path = getenv("M2M_INSECURE_TEST_CLOCK_FILE");
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    if (path == NULL || stat(path, &now) != 0)
        return 0;
    if (now.st_mtim.tv_sec != seen.st_mtim.tv_sec || now.st_mtim.tv_nsec != seen.st_mtim.tv_nsec ||
        now.st_size != seen.st_size) {
        long long v = 0;
        if ((f = fopen(path, "r")) != NULL) {
            if (fscanf(f, "%lld", &v) == 1)
                __atomic_store_n(&offset, (int64_t)v, __ATOMIC_RELAXED);
            fclose(f);
        }
        seen = now; /* benign race between workers: each computes the same value */
    }
    return __atomic_load_n(&offset, __ATOMIC_RELAXED);
}

static int64_t offset(void)
{
    return __atomic_load_n(&offset_set, __ATOMIC_RELAXED) + file_offset();
}

void m2m_clock_set_offset(int64_t seconds)
{
    __atomic_store_n(&offset_set, seconds, __ATOMIC_RELAXED);
}

int64_t m2m_clock_now(void)
{
    return (int64_t)time(NULL) + offset();
}

/* The monotonic clock moved by the offset in force: a mark taken after the clock was moved does not count the
 * move as time that passed. */
void m2m_clock_mark(struct timespec *t0)
{
    clock_gettime(CLOCK_MONOTONIC, t0);
    t0->tv_sec += (time_t)offset();
}

double m2m_ms_since(const struct timespec *t0)
{
    struct timespec now;
    m2m_clock_mark(&now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}
