/* SPDX-License-Identifier: Apache-2.0 */
/* The state lock (see state_lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "registree/state_lock.h"

int m2m_state_lock(const char *state_path, m2m_err *err)
{
    char *path = NULL;
    int fd = -1, rc = -1;

    if (asprintf(&path, "%s.lock", state_path) < 0) {
        path = NULL;
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    /* O_NOFOLLOW: a symbolic link planted in its place must not make us create or lock another file */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot open the state lock: %s", path, strerror(errno));
        goto done;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            m2m_fail(err, M2M_E_BUSY, "%s is locked: another attach, rekey or request with state file %s is "
                     "running (nothing was changed; try again when it has finished)", path, state_path);
        else
            m2m_fail(err, M2M_E_IO, "%s: cannot lock it: %s", path, strerror(errno));
        goto done;
    }
    rc = fd;
done:
    if (rc < 0 && fd >= 0)
        close(fd);
    free(path);
    return rc;
}

void m2m_state_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the only descriptor of the open file releases its flock */
}
