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

#include "pki/files.h"
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
    if (f == NULL)
        return;
    if (f->data != NULL) {
        OPENSSL_cleanse(f->data, f->len);
        free(f->data);
    }
    f->data = NULL;
    f->len = 0;
}

/* Moves a memory BIO's contents into f->data. */
static int take_bio(m2m_pki_file *f, BIO *bio, m2m_err *err)
{
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    if (n <= 0 || mem == NULL)
        return m2m_fail(err, M2M_E_TLS, "%s: nothing to write", f->path);
    f->data = malloc((size_t)n);
    if (f->data == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", f->path);
    memcpy(f->data, mem, (size_t)n);
    f->len = (size_t)n;
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

static int fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    char *slash;
    int fd, rc;
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* One file: temporary sibling with the final mode from the start, then link (no clobber) or rename (force). */
static int write_one(m2m_pki_file *f, int force, m2m_err *err)
{
    char tmp[PATH_MAX];
    char *slash;
    int fd = -1, rc = -1, n;
    size_t off = 0;
    struct stat st;

    slash = strrchr(f->path, '/');
    n = slash != NULL ? snprintf(tmp, sizeof tmp, "%.*s/.%s.XXXXXX", (int)(slash - f->path), f->path, slash + 1)
                      : snprintf(tmp, sizeof tmp, ".%s.XXXXXX", f->path);
    if (n < 0 || n >= (int)sizeof tmp) {
        m2m_fail(err, M2M_E_ARG, "%s: path too long", f->path);
        return -1;
    }
    fd = mkstemp(tmp); /* mode 0600: a key is never readable by others, not even before fchmod */
    if (fd < 0) {
        tmp[0] = '\0';
        m2m_fail(err, M2M_E_IO, "%s: cannot create a temporary file: %s", f->path, strerror(errno));
        goto done;
    }
    if (fchmod(fd, f->mode) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: %s", f->path, strerror(errno));
        goto done;
    }
    while (off < f->len) {
        ssize_t w = write(fd, f->data + off, f->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            m2m_fail(err, M2M_E_IO, "%s: %s", f->path, w < 0 ? strerror(errno) : "short write");
            goto done;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: %s", f->path, strerror(errno));
        goto done;
    }
    n = close(fd);
    fd = -1;
    if (n != 0) {
        m2m_fail(err, M2M_E_IO, "%s: %s", f->path, strerror(errno));
        goto done;
    }
    if (force) {
        f->created = lstat(f->path, &st) != 0;
        if (rename(tmp, f->path) != 0) {
            f->created = 0;
            m2m_fail(err, M2M_E_IO, "%s: %s", f->path, strerror(errno));
            goto done;
        }
    } else {
        /* link() fails with EEXIST if someone created the file since the check: never clobbers. */
        if (link(tmp, f->path) != 0) {
            int e = errno;
            m2m_fail(err, e == EEXIST ? M2M_E_EXISTS : M2M_E_IO, "%s: %s", f->path,
                     e == EEXIST ? "already exists; not overwriting it (--force replaces it)" : strerror(e));
            goto done;
        }
        f->created = 1;
        unlink(tmp);
    }
    tmp[0] = '\0'; /* nothing left to remove */
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    return rc;
}

int m2m_pki_files_write(m2m_pki_file *files, size_t n, int force, m2m_err *err)
{
    size_t i;
    int rc = -1;

    for (i = 0; i < n; i++) {
        files[i].created = 0;
        if (write_one(&files[i], force, err) != 0)
            goto done;
    }
    /* The directory entries too must reach the disk, or a crash could lose a key whose certificate survived. */
    for (i = 0; i < n; i++)
        if (fsync_parent(files[i].path) != 0) {
            m2m_fail(err, M2M_E_IO, "%s: cannot sync its directory: %s", files[i].path, strerror(errno));
            goto done;
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


/* Refuses to ask for a passphrase: a tool run from scripts must not block on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* PKCS#8 EncryptedPrivateKeyInfo (PEM or DER) or a legacy "Proc-Type: 4,ENCRYPTED" PEM block. Detected before
 * parsing, so OpenSSL is never asked to decrypt and never looks for a passphrase. */
static int looks_encrypted(const unsigned char *buf, size_t len)
{
    const unsigned char *p = buf;
    X509_SIG *sig;
    int yes;

    if (strstr((const char *)buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
        strstr((const char *)buf, "Proc-Type: 4,ENCRYPTED") != NULL)
        return 1;
    ERR_set_mark();
    sig = d2i_X509_SIG(NULL, &p, (long)len);
    yes = sig != NULL && p == buf + len;
    X509_SIG_free(sig);
    ERR_pop_to_mark();
    return yes;
}

EVP_PKEY *m2m_pki_load_key(const char *path, m2m_err *err)
{
    size_t len = 0;
    unsigned char *buf = m2m_read_small_file(path, &len, err);
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;

    if (buf == NULL)
        goto done;
    if (looks_encrypted(buf, len)) {
        m2m_fail(err, M2M_E_PARSE, "%s: the private key is encrypted; decrypt it first (openssl pkey -in %s -out "
                                   "plain.key) and keep the result mode 0600", path, path);
        goto done;
    }
    ERR_set_mark();
    if (strstr((const char *)buf, "-----BEGIN ") != NULL) {
        bio = BIO_new_mem_buf(buf, (int)len);
        if (bio != NULL)
            key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    } else {
        const unsigned char *p = buf;
        key = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (key != NULL && p != buf + len) {
            EVP_PKEY_free(key);
            key = NULL;
        }
    }
    ERR_pop_to_mark();
    if (key == NULL)
        m2m_fail(err, M2M_E_PARSE, "%s: not an unencrypted private key (PEM or DER)", path);
done:
    BIO_free(bio);
    if (buf != NULL)
        OPENSSL_cleanse(buf, len);
    free(buf);
    return key;
}

STACK_OF(X509) *m2m_pki_load_certs(const char *path, m2m_err *err)
{
    size_t len = 0;
    unsigned char *buf = m2m_read_small_file(path, &len, err);
    STACK_OF(X509) *certs = NULL, *ret = NULL;
    BIO *bio = NULL;
    X509 *x = NULL;

    if (buf == NULL)
        goto done;
    certs = sk_X509_new_null();
    if (certs == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    ERR_set_mark();
    if (strstr((const char *)buf, "-----BEGIN ") != NULL) {
        bio = BIO_new_mem_buf(buf, (int)len);
        while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
            if (sk_X509_push(certs, x) <= 0)
                break;
            x = NULL;
        }
    } else {
        const unsigned char *p = buf;
        x = d2i_X509(NULL, &p, (long)len);
        if (x != NULL && p == buf + len && sk_X509_push(certs, x) > 0)
            x = NULL;
    }
    ERR_pop_to_mark();
    if (sk_X509_num(certs) <= 0) {
        m2m_fail(err, M2M_E_PARSE, "%s: no certificate in it (PEM or DER expected)", path);
        goto done;
    }
    ret = certs;
    certs = NULL;
done:
    X509_free(x);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    free(buf);
    return ret;
}
