#include <string.h>

#include "registrar/enrolment.h"
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
