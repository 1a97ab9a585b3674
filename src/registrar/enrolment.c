/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "crypto/gba_id.h"
#include "registrar/enrolment.h"
#include "secctx/token.h"
#include "store/store.h"

int m2m_valid_registree_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 100)
        return 0;
    if (id[0] == '/' && (n < 2 || strchr(id + 1, '/') != NULL))
        return 0;
    if (id[0] != '/' && strchr(id, '/') != NULL)
        return 0;
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    /* "C" and "S" alone ask the Registrar for a new AE-ID; they are not IDs. */
    return strcmp(id, "C") != 0 && strcmp(id, "S") != 0;
}

int m2m_enrol_psk(const char *db_path, const char *registree_id, const m2m_secret *key,
                  char key_id[M2M_KEYID_HEX_LEN + 1], m2m_err *err)
{
    m2m_store *st = NULL;
    int rc = -1;

    if (!m2m_valid_registree_id(registree_id))
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' is not an AE-ID or a CSE-ID ('/name')",
                        registree_id ? registree_id : "");
    if (key->len < M2M_KEY_MIN_LEN)
        return m2m_fail(err, M2M_E_ARG, "key of %zu octets is too short; use at least %d", key->len,
                        M2M_KEY_MIN_LEN);
    if (m2m_keyid(m2m_key_kind_for_id(registree_id), key->bytes, key->len, key_id, err) != 0)
        return -1;
    st = m2m_store_open(db_path, 0, err);
    if (st == NULL)
        goto done;
    rc = m2m_store_enrol_psk(st, registree_id, key, key_id, err);
done:
    m2m_store_close(st);
    return rc;
}

int m2m_enrol_revoke(const char *db_path, const char *registree_id, m2m_err *err)
{
    m2m_store *st = m2m_store_open(db_path, 0, err);
    int rc = st ? m2m_store_revoke(st, registree_id, err) : -1;
    m2m_store_close(st);
    return rc;
}

int m2m_read_root_pem(const char *path, char **pem, m2m_err *err)
{
    BIO *b = BIO_new_file(path, "r"), *out = NULL;
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BUF_MEM *mem = NULL;
    int rc = -1;

    *pem = NULL;
    if (x == NULL) {
        m2m_fail(err, M2M_E_PARSE, "--require-chain %s: not a PEM certificate", path);
        goto done;
    }
    if (X509_check_ca(x) == 0) {
        m2m_fail(err, M2M_E_ARG, "--require-chain %s: not a CA certificate", path);
        goto done;
    }
    out = BIO_new(BIO_s_mem());
    if (out == NULL || PEM_write_bio_X509(out, x) != 1 || BIO_get_mem_ptr(out, &mem) != 1 ||
        (*pem = strndup(mem->data, mem->length)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    rc = 0;
done:
    X509_free(x);
    BIO_free(b);
    BIO_free(out);
    ERR_clear_error();
    return rc;
}

int m2m_enrol_cert(const char *db_path, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                   m2m_err *err)
{
    m2m_store *st;
    int rc;
    if (!m2m_valid_registree_id(registree_id))
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' is not an AE-ID or a CSE-ID", registree_id);
    st = m2m_store_open(db_path, 0, err);
    rc = st ? m2m_store_enrol_cert(st, registree_id, pubkey_hash, root_pem, err) : -1;
    m2m_store_close(st);
    return rc;
}

int m2m_enrol_gba(const char *db_path, const char *registree_id, const char *impi, m2m_err *err)
{
    char impi_id[65];
    m2m_store *st;
    int rc;
    if (!m2m_valid_registree_id(registree_id))
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' is not an AE-ID or a CSE-ID", registree_id);
    if (!m2m_gba_impi_ok(impi) || m2m_gba_impi_id(impi, impi_id) != 0)
        return m2m_fail(err, M2M_E_ARG, "--impi: an IMPI is user@realm, 1 to %d printable characters without "
                                        "spaces, quotes, backslashes or commas", M2M_IMPI_MAX - 1);
    st = m2m_store_open(db_path, 0, err);
    rc = st ? m2m_store_enrol_gba(st, registree_id, impi_id, impi, err) : -1;
    m2m_store_close(st);
    return rc;
}

int m2m_enrol_token(const char *db_path, const char *registree_id, int64_t expires, char token[23], m2m_err *err)
{
    char hash[65];
    m2m_store *st;
    int rc = -1;
    if (!m2m_valid_registree_id(registree_id))
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' is not an AE-ID or a CSE-ID", registree_id);
    st = m2m_store_open(db_path, 0, err);
    if (st != NULL && m2m_token_new(token, hash, err) == 0)
        rc = m2m_store_enrol_token(st, registree_id, hash, expires, err);
    if (rc != 0)
        m2m_wipe(token, 23);
    m2m_store_close(st);
    return rc;
}
