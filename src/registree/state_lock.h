/* SPDX-License-Identifier: Apache-2.0 */
/* The lock of a Registree's state: one attachment at a time per state file. Two `attach --rekey` at once would
 * otherwise each generate a key at the Registrar, and the one that writes the generated-key file last need not be
 * the one the Registrar kept (each generation replaces the pending key), leaving the device with a key the Registrar
 * does not have. So attach, rekey and send hold this lock from their first read of the state file to their last
 * write of it and of the generated-key files.
 *
 * The lock is flock(LOCK_EX) on "<state file>.lock" (created 0600 beside it, never removed: removing a lock file
 * lets two holders lock two different files). It is taken without waiting: a second holder fails at once with
 * M2M_E_BUSY and changes nothing, and the caller decides whether to retry. The kernel drops the lock with the
 * descriptor, so a crashed holder never leaves it taken. flock locks belong to an open file, so two handles in one
 * process exclude each other too. */
#ifndef M2M_REGISTREE_STATE_LOCK_H
#define M2M_REGISTREE_STATE_LOCK_H

#include "m2mattach/error.h"

/* Takes the lock of state_path. Returns its descriptor (>= 0), or -1 with err: M2M_E_BUSY when another holder has
 * it (the message names the lock file), M2M_E_NOMEM, or M2M_E_IO when the lock file cannot be opened. */
int m2m_state_lock(const char *state_path, m2m_err *err);

/* Releases a lock m2m_state_lock returned; -1 is a no-op. */
void m2m_state_unlock(int fd);

#endif
