/* SPDX-License-Identifier: Apache-2.0 */
/* THE atomic file writer: keys, certificates, the Registree's state and generated keys are all written this way, so
 * a crash or a full disk leaves either the old file or the new one, never half of one, and never a key readable by
 * others for an instant. */
#ifndef M2M_UTIL_ATOMIC_WRITE_H
#define M2M_UTIL_ATOMIC_WRITE_H

#include <stddef.h>
#include <sys/types.h>

#include "m2mattach/error.h"

enum {
    /* Never replace: fail with M2M_E_EXISTS ("PATH already exists; not overwriting it") when path exists, even if
     * it was created a moment ago by someone else (link(2), not a check before rename). */
    M2M_WRITE_NO_CLOBBER = 1,
};

/* Writes len octets of data to path with exactly mode (whatever the umask): a temporary file beside it (".NAME.XXXXXX",
 * 0600 from its creation), fsync, rename over path (or link, with M2M_WRITE_NO_CLOBBER), fsync of the directory.
 * On failure before the rename path is untouched; no temporary file is left in any case. *created (may be NULL)
 * is set to 1 once path is in place and did not exist before, so that a caller writing several files can remove
 * the ones it created when a later one fails. Every message names path. */
int m2m_write_atomic(const char *path, const void *data, size_t len, mode_t mode, unsigned flags, int *created,
                     m2m_err *err);

#endif
