/* SPDX-License-Identifier: Apache-2.0 */
/* Forced into every file of the scan-build build only (scripts/check.sh, -include): what clang's analyzer cannot
 * see across files. m2m_fail always returns -1 (util/err.c); not knowing it, the analyzer follows paths on which a
 * `return m2m_fail(...)` returns 0 and then reports the caller reading outputs the callee never wrote. The shipped
 * headers and the normal build are untouched. */
#include "../include/m2mattach/error.h" /* relative to this file: CMake's compiler probe has no -I */

static inline int m2m_fail_returns_minus_one(int rc)
{
    (void)rc;
    return -1;
}
#define m2m_fail(...) m2m_fail_returns_minus_one(m2m_fail(__VA_ARGS__))
