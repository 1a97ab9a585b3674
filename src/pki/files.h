/* SPDX-License-Identifier: Apache-2.0 */
/* Files of the lab PKI: reading a CA's certificate and key, and writing new keys and certificates so that an
 * existing file is never overwritten unless asked, a key is never readable by others even for an instant, and a
 * failed run leaves no half-written set behind. */
#ifndef M2M_PKI_FILES_H
#define M2M_PKI_FILES_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "m2mattach/error.h"
#include "util/file.h"

/* One file to write: contents assembled in memory first, so nothing is written until everything is ready. */
typedef struct m2m_pki_file {
    char path[PATH_MAX];
    mode_t mode;
    m2m_file_buf contents; /* owned; wiped when cleared (it may be a private key) */
    int created; /* set by m2m_pki_files_write for files it created (not replaced), for rollback */
} m2m_pki_file;

/* dir/name as a PKCS#8 PEM private key, mode 0600. */
int m2m_pki_file_key(m2m_pki_file *f, const char *dir, const char *name, EVP_PKEY *key, m2m_err *err);
/* dir/name as PEM certificates (in the order given), mode 0644. */
int m2m_pki_file_certs(m2m_pki_file *f, const char *dir, const char *name, STACK_OF(X509) *certs, m2m_err *err);
void m2m_pki_file_clear(m2m_pki_file *f);

/* Fails (M2M_E_EXISTS, naming the file) when one of files already exists and force is 0. */
int m2m_pki_files_check(const m2m_pki_file *files, size_t n, int force, m2m_err *err);
/* Writes each file with m2m_write_atomic (util/atomic_write.h): refusing an existing file, or with force replacing
 * it. On failure the files this call created are removed again. */
int m2m_pki_files_write(m2m_pki_file *files, size_t n, int force, m2m_err *err);

/* Creates dir and missing parents with mode 0700; an existing directory is fine. */
int m2m_pki_make_dir(const char *dir, m2m_err *err);

/* An unencrypted private key, PEM or DER. Never prompts for a passphrase. Errors name the file. */
EVP_PKEY *m2m_pki_load_key(const char *path, m2m_err *err);
/* Every certificate of a PEM file (in order), or the one certificate of a DER file. Errors name the file. */
STACK_OF(X509) *m2m_pki_load_certs(const char *path, m2m_err *err);

/* Joins dir and name into out (capacity PATH_MAX); fails naming both when the result would not fit. */
int m2m_pki_path(char out[PATH_MAX], const char *dir, const char *name, m2m_err *err);

#endif
