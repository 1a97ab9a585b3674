/* SPDX-License-Identifier: Apache-2.0 */
/* The one clock every expiry, rotation and timeout is measured with, so that tests move time instead of
 * sleeping. In-process tests set an offset; a daemon under test reads it from the file named by
 * M2M_INSECURE_TEST_CLOCK_FILE (an integer number of seconds, re-read when the file changes). Without either,
 * this is the system's clock. */
#ifndef M2M_UTIL_CLOCK_H
#define M2M_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since the epoch (UTC). */
int64_t m2m_clock_now(void);
/* Milliseconds since t0, which m2m_clock_mark took (the monotonic clock, moved as the clock is). */
void m2m_clock_mark(struct timespec *t0);
double m2m_ms_since(const struct timespec *t0);
/* Moves this process's clock by seconds (tests). */
void m2m_clock_set_offset(int64_t seconds);

#endif
