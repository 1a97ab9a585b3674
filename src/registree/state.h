/* The Registree state file: what the device must remember between runs so that re-attachment (x.y.3) skips
 * Step 5. Plain "key = value" lines, written atomically (temp file, fsync, rename, fsync of the directory) with
 * mode 0600. A missing file means "not registered"; a damaged one is an error, never a silent re-registration. */
#ifndef M2M_REGISTREE_STATE_H
#define M2M_REGISTREE_STATE_H

#include "m2mattach/error.h"
#include "m2mattach/keyid.h"

typedef struct m2m_reg_state {
    int registered;                     /* Step 5 succeeded with registrar_cse_id */
    char assigned_id[256];              /* the ID the Registrar assigned (aei / csi) */
    char resource[512];                 /* Content-Location of the registration */
    char registrar_cse_id[256];
    char key_id[M2M_KEYID_HEX_LEN + 1]; /* the key ID used last; "" if unknown */
} m2m_reg_state;

/* Fills st from path; a missing file gives an all-empty, not-registered state and returns 0. Errors name the
 * file and the line. */
int m2m_state_load(const char *path, m2m_reg_state *st, m2m_err *err);

/* Replaces path with st atomically, mode 0600. */
int m2m_state_save(const char *path, const m2m_reg_state *st, m2m_err *err);

#endif
