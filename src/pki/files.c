/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a CA's files and writing new keys and certificates without ever exposing or clobbering one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto/load.h"
#include "pki/files.h"
#include "util/atomic_write.h"
#include "util/file.h"


int m2m_pki_path(char out[PATH_MAX], const char *dir, const char *name, m2m_err *err)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX)
        return m2m_fail(err, M2M_E_ARG, "%s/%s: path too long", dir, name);
    return 0;
}

void m2m_pki_file_clear(m2m_pki_file *f)
{
    if (f != NULL)
        m2m_file_buf_free(&f->contents); /* wipes: it may be a private key */
}

/* Copies a memory BIO's contents into f->contents. */
static int take_bio(m2m_pki_file *f, BIO *bio, m2m_err *err)
{
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    if (n <= 0 || mem == NULL)
        return m2m_fail(err, M2M_E_TLS, "%s: nothing to write", f->path);
    f->contents.data = malloc((size_t)n);
    if (f->contents.data == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", f->path);
    memcpy(f->contents.data, mem, (size_t)n);
    f->contents.len = (size_t)n;
    return 0;
}

int m2m_pki_file_key(m2m_pki_file *f, const char *dir, const char *name, EVP_PKEY *key, m2m_err *err)
{
    BIO *bio = NULL;
    int rc = -1;

    memset(f, 0, sizeof *f);
    f->mode = 0600;
    if (m2m_pki_path(f->path, dir, name, err) != 0)
        goto done;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        m2m_fail(err, M2M_E_TLS, "%s: cannot encode the private key", f->path);
        goto done;
    }
    rc = take_bio(f, bio, err);
done:
    /* A memory BIO does not wipe its buffer when freed, and this one holds the PEM private key. */
    if (bio != NULL) {
        char *mem = NULL;
        long n = BIO_get_mem_data(bio, &mem);
        if (n > 0 && mem != NULL)
            OPENSSL_cleanse(mem, (size_t)n);
    }
    BIO_free(bio);
    return rc;
}

int m2m_pki_file_certs(m2m_pki_file *f, const char *dir, const char *name, STACK_OF(X509) *certs, m2m_err *err)
{
    BIO *bio = NULL;
    int rc = -1;

    memset(f, 0, sizeof *f);
    f->mode = 0644;
    if (m2m_pki_path(f->path, dir, name, err) != 0)
        goto done;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", f->path);
        goto done;
    }
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (PEM_write_bio_X509(bio, sk_X509_value(certs, i)) != 1) {
            m2m_fail(err, M2M_E_TLS, "%s: cannot encode certificate %d", f->path, i + 1);
            goto done;
        }
    rc = take_bio(f, bio, err);
done:
    BIO_free(bio);
    return rc;
}

int m2m_pki_files_check(const m2m_pki_file *files, size_t n, int force, m2m_err *err)
{
    struct stat st;
    for (size_t i = 0; i < n; i++) {
        if (lstat(files[i].path, &st) == 0) {
            if (!force)
                return m2m_fail(err, M2M_E_EXISTS, "%s already exists; not overwriting it (--force replaces it)",
                                files[i].path);
            if (!S_ISREG(st.st_mode))
                return m2m_fail(err, M2M_E_EXISTS, "%s exists and is not a regular file", files[i].path);
        } else if (errno != ENOENT) {
            return m2m_fail(err, M2M_E_IO, "%s: %s", files[i].path, strerror(errno));
        }
    }
    return 0;
}

int m2m_pki_files_write(m2m_pki_file *files, size_t n, int force, m2m_err *err)
{
    size_t i;
    int rc = -1;

    /* Each file through the one atomic writer (util/atomic_write.h); this adds only the set: a failed file removes
     * the ones created before it, so a key never survives without its certificate or the other way round. */
    for (i = 0; i < n; i++) {
        if (m2m_write_atomic(files[i].path, files[i].contents.data, files[i].contents.len, files[i].mode,
                             force ? 0 : M2M_WRITE_NO_CLOBBER, &files[i].created, err) != 0) {
            if (err != NULL && err->code == M2M_E_EXISTS) {
                char msg[sizeof err->msg];
                snprintf(msg, sizeof msg, "%s", err->msg);
                m2m_fail(err, M2M_E_EXISTS, "%s (--force replaces it)", msg);
            }
            goto done;
        }
    }
    rc = 0;
done:
    if (rc != 0)
        for (i = 0; i < n; i++)
            if (files[i].created) {
                unlink(files[i].path);
                files[i].created = 0;
            }
    return rc;
}

int m2m_pki_make_dir(const char *dir, m2m_err *err)
{
    char buf[PATH_MAX];
    struct stat st;
    size_t len = dir != NULL ? strlen(dir) : 0;

    if (len == 0 || len >= sizeof buf)
        return m2m_fail(err, M2M_E_ARG, "'%s': not a usable directory name", dir != NULL ? dir : "");
    memcpy(buf, dir, len + 1);
    /* Each missing component, parents first; the final one decides the mode that matters (0700). */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return m2m_fail(err, M2M_E_IO, "cannot create directory %s: %s", buf, strerror(errno));
        buf[i] = dir[i];
    }
    if (stat(dir, &st) != 0)
        return m2m_fail(err, M2M_E_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return m2m_fail(err, M2M_E_IO, "%s: not a directory", dir);
    return 0;
}


/* Both readers go through crypto/load.c (OSSL_STORE): PEM or DER, never a passphrase prompt. */
EVP_PKEY *m2m_pki_load_key(const char *path, m2m_err *err)
{
    m2m_loaded got;
    EVP_PKEY *key = NULL;

    if (m2m_load_file(path, &got, err) != 0)
        return NULL;
    if (got.key != NULL) {
        key = got.key;
        got.key = NULL;
    } else if (got.encrypted) {
        m2m_fail(err, M2M_E_PARSE, "%s: the private key is encrypted; decrypt it first (openssl pkey -in %s -out "
                                   "plain.key) and keep the result mode 0600", path, path);
    } else {
        m2m_fail(err, M2M_E_PARSE, "%s: not an unencrypted private key (PEM or DER)", path);
    }
    m2m_loaded_free(&got);
    return key;
}

STACK_OF(X509) *m2m_pki_load_certs(const char *path, m2m_err *err)
{
    m2m_loaded got;
    STACK_OF(X509) *certs = NULL;

    if (m2m_load_file(path, &got, err) != 0)
        return NULL;
    if (got.certs != NULL) {
        certs = got.certs;
        got.certs = NULL;
    } else {
        m2m_fail(err, M2M_E_PARSE, "%s: no certificate in it (PEM or DER expected)", path);
    }
    m2m_loaded_free(&got);
    return certs;
}
