/* SPDX-License-Identifier: Apache-2.0 */
/* The library's version at run time, from the same generated header as the compile-time M2M_VERSION. */
#include "m2mattach/version.h"

const char *m2m_version(void)
{
    return M2M_VERSION;
}
