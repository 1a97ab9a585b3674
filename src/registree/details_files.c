/* SPDX-License-Identifier: Apache-2.0 */
/* The files an attachment-details file names (details_internal.h): PSK and USIM key files (hex, bounded, wiped,
 * a warning when others may read them), PEM certificates and keys, the identity token. Paths are relative to the
 * details file's directory; every message names the details file, the line, the key and the path. */
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registree/details_internal.h"

/* Relative paths in the file are relative to the file's own directory, so a details file and its key can move
 * together. */
char *m2m_details_resolve(const char *details_path, const char *rel)
{
    const char *slash = strrchr(details_path, '/');
    char *out = NULL;
    if (rel[0] == '/' || slash == NULL)
        return strdup(rel);
    if (asprintf(&out, "%.*s/%s", (int)(slash - details_path), details_path, rel) < 0)
        return NULL;
    return out;
}

/* The hex key in the file field f names, into dst. */
int m2m_details_load_key_file(struct parse_ctx *c, enum field f, m2m_secret *dst, m2m_err *err)
{
    char loc[600], *path = NULL, buf[KEY_FILE_MAX + 1];
    FILE *fp = NULL;
    struct stat st;
    size_t n;
    int rc = -1;

    m2m_details_where(c, f, loc, sizeof loc);
    path = m2m_details_resolve(c->path, c->value[f]);
    if (path == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    fp = fopen(path, "re");
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot open %s: %s", loc, path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        m2m_fail(err, M2M_E_IO, "%s: %s is not a regular file", loc, path);
        goto done;
    }
    /* Readable by others is a leak that already happened, not a reason to stop the device; say it loudly. */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: key file %s is accessible by group or others (mode %04o); "
                        "chmod 600 it\n", path, (unsigned)(st.st_mode & 07777));
    n = fread(buf, 1, KEY_FILE_MAX + 1, fp);
    if (ferror(fp)) {
        m2m_fail(err, M2M_E_IO, "%s: cannot read %s", loc, path);
        goto done;
    }
    if (n > KEY_FILE_MAX) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s is larger than %d bytes; it should hold one hex key", loc, path,
                 KEY_FILE_MAX);
        goto done;
    }
    buf[n] = '\0';
    if (m2m_secret_from_hex(dst, buf, path, err) != 0)
        goto done;
    rc = 0;
done:
    m2m_wipe(buf, sizeof buf);
    if (fp != NULL)
        fclose(fp);
    free(path);
    return rc;
}


/* Opens a file a key names (path resolved against the details file) for reading: a regular file, at most max
 * bytes. secret: warn when group or others may access it. *path_out is malloc'd. */
FILE *m2m_details_open_named(struct parse_ctx *c, enum field f, size_t max, int secret, char **path_out, m2m_err *err)
{
    char loc[600];
    struct stat st;
    FILE *fp;

    m2m_details_where(c, f, loc, sizeof loc);
    *path_out = m2m_details_resolve(c->path, c->value[f]);
    if (*path_out == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    fp = fopen(*path_out, "re");
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot open %s: %s", loc, *path_out, strerror(errno));
        if (fp != NULL)
            fclose(fp);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        m2m_fail(err, M2M_E_IO, "%s: %s is not a regular file", loc, *path_out);
        fclose(fp);
        return NULL;
    }
    if ((size_t)st.st_size > max) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s is larger than %zu bytes", loc, *path_out, max);
        fclose(fp);
        return NULL;
    }
    /* Readable by others is a leak that already happened, not a reason to stop the device; say it loudly. */
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: %s file %s is accessible by group or others (mode %04o); "
                        "chmod 600 it\n", f == F_TOKEN_FILE ? "token" : "key", *path_out,
                (unsigned)(st.st_mode & 07777));
    return fp;
}

/* All PEM certificates of the file f names, in order (at least one). */
STACK_OF(X509) *m2m_details_load_certs(struct parse_ctx *c, enum field f, char **path_out, m2m_err *err)
{
    char loc[600];
    STACK_OF(X509) *certs = NULL;
    FILE *fp = m2m_details_open_named(c, f, PEM_FILE_MAX, 0, path_out, err);
    X509 *x;

    if (fp == NULL)
        return NULL;
    m2m_details_where(c, f, loc, sizeof loc);
    if ((certs = sk_X509_new_null()) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto fail;
    }
    ERR_clear_error();
    while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            m2m_fail(err, M2M_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    /* The loop ends at the end of the file (PEM_R_NO_START_LINE) or at something that is not a certificate. */
    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(certs) == 0) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s: %s", loc, *path_out,
                 sk_X509_num(certs) == 0 ? "no PEM certificate in it"
                                         : "unreadable PEM data after the certificates");
        goto fail;
    }
    ERR_clear_error();
    fclose(fp);
    return certs;
fail:
    ERR_clear_error();
    sk_X509_pop_free(certs, X509_free);
    fclose(fp);
    return NULL;
}

/* One certificate, alone in its file (root-cert, ocsp-responder-cert). */
X509 *m2m_details_load_one_cert(struct parse_ctx *c, enum field f, const char *what, char **path_out, m2m_err *err)
{
    STACK_OF(X509) *certs = m2m_details_load_certs(c, f, path_out, err);
    char loc[600];
    X509 *x;

    if (certs == NULL)
        return NULL;
    if (sk_X509_num(certs) != 1) {
        m2m_details_where(c, f, loc, sizeof loc);
        m2m_fail(err, M2M_E_PARSE, "%s: %s holds %d certificates; give only %s", loc, *path_out,
                 sk_X509_num(certs), what);
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    x = sk_X509_shift(certs);
    sk_X509_free(certs);
    return x;
}

int m2m_details_check_root_cert(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];

    cfg->root_cert = m2m_details_load_one_cert(c, F_ROOT_CERT, "the Registrar Root Certificate", &cfg->root_cert_path, err);
    if (cfg->root_cert == NULL)
        return -1;
    /* Only a chain that ends at this very certificate verifies (no partial chains): it must be a root. */
    if (X509_check_issued(cfg->root_cert, cfg->root_cert) != X509_V_OK) {
        m2m_details_where(c, F_ROOT_CERT, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: %s is not self-signed; give the Registrar Root Certificate, not an "
                        "intermediate or the Registrar's own certificate", loc, cfg->root_cert_path);
    }
    return 0;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/* cert: the Registree certificate (the first in cert-file; any others there, then chain-file, are its chain) and
 * its unencrypted PEM key. */
int m2m_details_load_cert_credentials(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    STACK_OF(X509) *certs, *more;
    char loc[600], *chain_path = NULL;
    int encrypted = 0;
    FILE *fp;

    if ((certs = m2m_details_load_certs(c, F_CERT_FILE, &cfg->cert_path, err)) == NULL)
        return -1;
    cfg->cert = sk_X509_shift(certs);
    cfg->chain = certs;
    if (c->value[F_CHAIN_FILE] != NULL) {
        more = m2m_details_load_certs(c, F_CHAIN_FILE, &chain_path, err);
        free(chain_path);
        if (more == NULL)
            return -1;
        while (sk_X509_num(more) > 0) {
            X509 *x = sk_X509_shift(more);
            if (!sk_X509_push(cfg->chain, x)) {
                X509_free(x);
                sk_X509_pop_free(more, X509_free);
                return m2m_fail(err, M2M_E_NOMEM, "out of memory");
            }
        }
        sk_X509_free(more);
    }
    if (sk_X509_num(cfg->chain) == 0) {
        sk_X509_free(cfg->chain);
        cfg->chain = NULL;
    }

    if ((fp = m2m_details_open_named(c, F_KEY_FILE, PEM_FILE_MAX, 1, &cfg->cert_key_path, err)) == NULL)
        return -1;
    ERR_clear_error();
    cfg->cert_key = PEM_read_PrivateKey(fp, NULL, no_password, &encrypted);
    fclose(fp);
    ERR_clear_error();
    m2m_details_where(c, F_KEY_FILE, loc, sizeof loc);
    if (cfg->cert_key == NULL && encrypted)
        return m2m_fail(err, M2M_E_PARSE, "%s: %s is encrypted; m2mattach needs the key unencrypted (protect it "
                        "with chmod 600 instead)", loc, cfg->cert_key_path);
    if (cfg->cert_key == NULL)
        return m2m_fail(err, M2M_E_PARSE, "%s: no PEM private key in %s (with mechanism cert, key-file is the "
                        "private key of cert-file)", loc, cfg->cert_key_path);
    if (X509_check_private_key(cfg->cert, cfg->cert_key) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_PARSE, "%s: %s is not the private key of cert-file %s", loc, cfg->cert_key_path,
                        cfg->cert_path);
    }
    return 0;
}

int m2m_details_load_token(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600], *path = NULL, buf[TOKEN_FILE_MAX + 1], *start, *end;
    enum field f = c->value[F_TOKEN] != NULL ? F_TOKEN : F_TOKEN_FILE;
    const char *from;
    FILE *fp;
    size_t n;
    int rc = -1;

    m2m_details_where(c, f, loc, sizeof loc);
    if (f == F_TOKEN) {
        from = c->value[F_TOKEN];
    } else {
        if ((fp = m2m_details_open_named(c, F_TOKEN_FILE, TOKEN_FILE_MAX, 1, &path, err)) == NULL)
            goto done;
        n = fread(buf, 1, TOKEN_FILE_MAX, fp);
        if (ferror(fp)) {
            fclose(fp);
            m2m_fail(err, M2M_E_IO, "%s: cannot read %s", loc, path);
            goto done;
        }
        fclose(fp);
        buf[n] = '\0';
        for (start = buf; *start != '\0' && isspace((unsigned char)*start); start++)
            ;
        for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
            ;
        *end = '\0';
        from = start;
    }
    /* The token is a secret: the message describes it, never shows it. */
    if (!m2m_token_syntax_ok(from)) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s is not an identity token (%d to %d characters: letters, digits, '-', "
                 "'_', '.', '~', '+', '/', then '=' padding; as `m2mattach enrol token` printed it)", loc,
                 f == F_TOKEN ? "the value" : path, M2M_TOKEN_MIN_LEN, M2M_TOKEN_MAX_LEN);
        goto done;
    }
    if ((cfg->token = strdup(from)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    rc = 0;
done:
    m2m_wipe(buf, sizeof buf);
    free(path);
    return rc;
}
