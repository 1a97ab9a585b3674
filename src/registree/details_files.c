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

#include "crypto/load.h"
#include "registree/details_internal.h"
#include "util/file.h"

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

/* Reads the file field f names through the bounded reader (util/file.h), at most max octets. secret: warn when group
 * or others may access it. *path_out is malloc'd. Messages: "FILE:LINE: [section] key: cannot open PATH: why". */
static int read_named(struct parse_ctx *c, enum field f, size_t max, int secret, char **path_out, m2m_file_buf *out,
                      m2m_err *err)
{
    char loc[600];
    m2m_err e = {0};

    m2m_details_where(c, f, loc, sizeof loc);
    *path_out = m2m_details_resolve(c->path, c->value[f]);
    if (*path_out == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (m2m_file_read(*path_out, max, M2M_FILE_EMPTY_OK, out, &e) != 0)
        return m2m_fail(err, e.code, "%s: %s%s", loc, e.code == M2M_E_IO ? "cannot open " : "", e.msg);
    /* Readable by others is a leak that already happened, not a reason to stop the device; say it loudly. */
    if (secret && (out->mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: %s file %s is accessible by group or others (mode %04o); "
                        "chmod 600 it\n", f == F_TOKEN_FILE ? "token" : "key", *path_out,
                (unsigned)(out->mode & 07777));
    return 0;
}

/* The hex key in the file field f names, into dst. */
int m2m_details_load_key_file(struct parse_ctx *c, enum field f, m2m_secret *dst, m2m_err *err)
{
    char *path = NULL;
    m2m_file_buf buf = {0};
    int rc = -1;

    if (read_named(c, f, KEY_FILE_MAX, 1, &path, &buf, err) != 0)
        goto done;
    if (m2m_secret_from_hex(dst, (const char *)buf.data, path, err) != 0)
        goto done;
    rc = 0;
done:
    m2m_file_buf_free(&buf);
    free(path);
    return rc;
}

/* Decodes the file field f names with crypto/load.c (OSSL_STORE); *path_out (malloc'd) is its resolved path. */
static int load_named(struct parse_ctx *c, enum field f, int secret, char **path_out, m2m_loaded *got, m2m_err *err)
{
    m2m_file_buf buf = {0};
    int rc;

    memset(got, 0, sizeof *got);
    if (read_named(c, f, PEM_FILE_MAX, secret, path_out, &buf, err) != 0)
        return -1;
    rc = m2m_load_mem(buf.data, buf.len, got, err);
    m2m_file_buf_free(&buf); /* it may have held a private key */
    return rc;
}

/* All certificates of the file f names, in order (at least one). */
static STACK_OF(X509) *load_certs(struct parse_ctx *c, enum field f, char **path_out, m2m_err *err)
{
    char loc[600];
    STACK_OF(X509) *certs = NULL;
    m2m_loaded got;

    if (load_named(c, f, 0, path_out, &got, err) != 0)
        return NULL;
    m2m_details_where(c, f, loc, sizeof loc);
    /* Other blocks (a key beside the certificate) are fine; something undecodable is a damaged file. */
    if (got.certs == NULL || got.damaged)
        m2m_fail(err, M2M_E_PARSE, "%s: %s: %s", loc, *path_out,
                 got.certs == NULL ? "no PEM certificate in it" : "unreadable PEM data after the certificates");
    else
        certs = got.certs, got.certs = NULL;
    m2m_loaded_free(&got);
    return certs;
}

/* One certificate, alone in its file (root-cert, ocsp-responder-cert). */
X509 *m2m_details_load_one_cert(struct parse_ctx *c, enum field f, const char *what, char **path_out, m2m_err *err)
{
    STACK_OF(X509) *certs = load_certs(c, f, path_out, err);
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

/* cert: the Registree certificate (the first in cert-file; any others there, then chain-file, are its chain) and
 * its unencrypted PEM key. */
int m2m_details_load_cert_credentials(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    STACK_OF(X509) *certs, *more;
    char loc[600], *chain_path = NULL;
    int encrypted = 0;
    m2m_loaded got;

    if ((certs = load_certs(c, F_CERT_FILE, &cfg->cert_path, err)) == NULL)
        return -1;
    cfg->cert = sk_X509_shift(certs);
    cfg->chain = certs;
    if (c->value[F_CHAIN_FILE] != NULL) {
        more = load_certs(c, F_CHAIN_FILE, &chain_path, err);
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

    if (load_named(c, F_KEY_FILE, 1, &cfg->cert_key_path, &got, err) != 0)
        return -1;
    cfg->cert_key = got.key;
    got.key = NULL;
    encrypted = got.encrypted;
    m2m_loaded_free(&got);
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
    char loc[600], *path = NULL, *start, *end;
    enum field f = c->value[F_TOKEN] != NULL ? F_TOKEN : F_TOKEN_FILE;
    const char *from;
    m2m_file_buf buf = {0};
    int rc = -1;

    m2m_details_where(c, f, loc, sizeof loc);
    if (f == F_TOKEN) {
        from = c->value[F_TOKEN];
    } else {
        if (read_named(c, F_TOKEN_FILE, TOKEN_FILE_MAX, 1, &path, &buf, err) != 0)
            goto done;
        for (start = (char *)buf.data; *start != '\0' && isspace((unsigned char)*start); start++)
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
    m2m_file_buf_free(&buf);
    free(path);
    return rc;
}
