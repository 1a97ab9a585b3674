/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "crypto/gba_id.h"
#include "crypto/load.h"
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

int m2m_enrol_revoke(const char *db_path, const char *registree_id, m2m_err *err)
{
    m2m_store *st = m2m_store_open(db_path, 0, err);
    int rc = st ? m2m_store_revoke(st, registree_id, err) : -1;
    m2m_store_close(st);
    return rc;
}

int m2m_read_root_pem(const char *opt, const char *path, char **pem, m2m_err *err)
{
    BIO *out = NULL;
    X509 *x = NULL;
    BUF_MEM *mem = NULL;
    m2m_loaded got;
    m2m_err why = {0};
    int rc = -1;

    *pem = NULL;
    if (m2m_load_file(path, &got, &why) != 0) {
        m2m_fail(err, why.code, "--require-chain %s", why.msg);
        goto done;
    }
    x = got.certs != NULL ? sk_X509_shift(got.certs) : NULL;
    m2m_loaded_free(&got);
    if (x == NULL) {
        m2m_fail(err, M2M_E_PARSE, "%s %s: not a PEM certificate", opt, path);
        goto done;
    }
    if (X509_check_ca(x) == 0) {
        m2m_fail(err, M2M_E_ARG, "%s %s: not a CA certificate", opt, path);
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
    BIO_free(out);
    ERR_clear_error();
    return rc;
}

/* One enrolment in the open store, inside the caller's unit. */
static int enrol_one(m2m_store *st, const m2m_enrol_spec *spec, m2m_enrol_result *out, m2m_err *err)
{
    const char *mech = spec->mechanism ? spec->mechanism : "";
    char hash[65], impi_id[65];

    if (strcmp(mech, "psk") == 0) {
        if (spec->key == NULL || spec->key->len < M2M_KEY_MIN_LEN)
            return m2m_fail(err, M2M_E_ARG, "key of %zu octets is too short; use at least %d",
                            spec->key ? spec->key->len : 0, M2M_KEY_MIN_LEN);
        if (m2m_keyid(m2m_key_kind_for_id(spec->registree_id), spec->key->bytes, spec->key->len, out->key_id,
                      err) != 0)
            return -1;
        return m2m_store_enrol_psk(st, spec->registree_id, spec->key, out->key_id, err);
    }
    if (strcmp(mech, "cert") == 0) {
        if (spec->pubkey_hash == NULL || strlen(spec->pubkey_hash) != 64)
            return m2m_fail(err, M2M_E_ARG, "a certificate enrolment needs the 64-hex public-key hash");
        snprintf(out->key_id, sizeof out->key_id, "%s", spec->pubkey_hash);
        return m2m_store_enrol_cert(st, spec->registree_id, spec->pubkey_hash, spec->root_pem, err);
    }
    if (strcmp(mech, "token") == 0) {
        if (m2m_token_new(out->token, hash, err) != 0)
            return -1;
        snprintf(out->key_id, sizeof out->key_id, "%s", hash);
        return m2m_store_enrol_token(st, spec->registree_id, hash, spec->expires, err);
    }
    if (strcmp(mech, "gba") == 0) {
        if (spec->impi == NULL || !m2m_gba_impi_ok(spec->impi) || m2m_gba_impi_id(spec->impi, impi_id) != 0)
            return m2m_fail(err, M2M_E_ARG, "--impi: an IMPI is user@realm, 1 to %d printable characters without "
                                            "spaces, quotes, backslashes or commas", M2M_IMPI_MAX - 1);
        snprintf(out->key_id, sizeof out->key_id, "%s", impi_id);
        return m2m_store_enrol_gba(st, spec->registree_id, impi_id, spec->impi, err);
    }
    return m2m_fail(err, M2M_E_ARG, "unknown mechanism '%s' (psk, cert, token or gba)", mech);
}

int m2m_enrol(const char *db_path, const m2m_enrol_spec *spec, m2m_enrol_result *out, m2m_err *err)
{
    m2m_store *st = NULL;
    int rc = -1, sp = 0, in_unit = 0;

    memset(out, 0, sizeof *out);
    if (!m2m_valid_registree_id(spec->registree_id))
        return m2m_fail(err, M2M_E_ARG, "registree ID '%s' is not an AE-ID or a CSE-ID ('/name')",
                        spec->registree_id ? spec->registree_id : "");
    st = m2m_store_open(db_path, 0, err);
    if (st == NULL || m2m_store_unit_begin(st, &sp, err) != 0)
        goto done;
    in_unit = 1;
    /* Device replacement: the old device's every credential goes in the same transaction as the new one comes,
     * so there is no moment with both or neither. The revoke bumps the enrolment generation: every node closes
     * the old device's connections, and its tickets and pending generated keys no longer resume or promote. */
    if (spec->mode == M2M_ENROL_REPLACE && m2m_store_revoke(st, spec->registree_id, err) != 0) {
        if (err != NULL && err->code == M2M_E_NOTFOUND)
            m2m_fail(err, M2M_E_NOTFOUND, "Registree %s has no active enrolment to replace (enrol it instead)",
                     spec->registree_id);
        goto done;
    }
    if (enrol_one(st, spec, out, err) != 0)
        goto done;
    in_unit = 0;
    rc = m2m_store_unit_end(st, sp, 1, err);
done:
    if (in_unit)
        m2m_store_unit_end(st, sp, 0, NULL);
    if (rc != 0)
        m2m_wipe(out->token, sizeof out->token);
    m2m_store_close(st);
    return rc;
}
