/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "util/harden.h"

int m2m_no_core_dumps(void)
{
    const char *allow = getenv("M2M_ALLOW_CORE_DUMPS");
    struct rlimit none = {0, 0};
    if (allow != NULL && strcmp(allow, "1") == 0)
        return 0;
    /* Both: RLIMIT_CORE alone can be raised again by the process; non-dumpable also keeps other users' ptrace
     * and /proc/PID/mem out. */
    if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -1;
}
