/* SPDX-License-Identifier: Apache-2.0 */
/* The atomic writer (atomic_write.h). Why each step: the temporary file is a sibling, because rename(2) is atomic
 * only within one file system; mkostemp creates it 0600, so a key is never readable by others, not even before
 * fchmod sets the final mode (fchmod, not the umask, decides: a 0644 certificate stays 0644 under umask 077 and a
 * 0600 key stays 0600 under umask 0); fsync before the rename, or a crash could leave the new name on empty
 * contents; link(2) instead of rename(2) for no-clobber, because it fails with EEXIST atomically where a check
 * before a rename would race; fsync of the directory after, because the rename itself is only durable once the
 * directory entry is on disk. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic_write.h"

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int m2m_write_atomic(const char *path, const void *data, size_t len, mode_t mode, unsigned flags, int *created,
                     m2m_err *err)
{
    const char *slash = strrchr(path, '/');
    char tmp[PATH_MAX];
    struct stat st;
    int fd = -1, rc = -1, n, existed;

    if (created != NULL)
        *created = 0;
    n = slash != NULL ? snprintf(tmp, sizeof tmp, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)
                      : snprintf(tmp, sizeof tmp, ".%s.XXXXXX", path);
    if (n < 0 || n >= (int)sizeof tmp)
        return m2m_fail(err, M2M_E_ARG, "%s: path too long", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        tmp[0] = '\0';
        m2m_fail(err, M2M_E_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        goto done;
    }
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    n = close(fd);
    fd = -1;
    if (n != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    if (flags & M2M_WRITE_NO_CLOBBER) {
        if (link(tmp, path) != 0) {
            int e = errno;
            if (e == EEXIST)
                m2m_fail(err, M2M_E_EXISTS, "%s already exists; not overwriting it", path);
            else
                m2m_fail(err, M2M_E_IO, "%s: %s", path, strerror(e));
            goto done;
        }
        existed = 0;
        unlink(tmp);
    } else {
        existed = lstat(path, &st) == 0;
        if (rename(tmp, path) != 0) {
            m2m_fail(err, M2M_E_IO, "%s: cannot replace it: %s", path, strerror(errno));
            goto done;
        }
    }
    tmp[0] = '\0'; /* in place: nothing left to remove */
    if (created != NULL)
        *created = !existed;
    if (sync_dir_of(path) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot sync its directory: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    return rc;
}
