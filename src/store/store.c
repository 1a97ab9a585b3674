/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface: picks the back-end from the store's location and dispatches every call to its table of
 * operations (backend.h). Nothing here knows how a back-end keeps its data. */
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

m2m_store *m2m_store_open(const char *location, int create, m2m_err *err)
{
    if (location == NULL || location[0] == '\0') {
        m2m_fail(err, M2M_E_ARG, "no store given");
        return NULL;
    }
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0) {
        m2m_fail(err, M2M_E_ARG, "store %.*s...: this build has no PostgreSQL back-end", 11, location);
        return NULL;
    }
    if (strncmp(location, "sqlite:", 7) == 0)
        location += 7;
    return m2m_sqlite_open(location, create, err);
}

void m2m_enrolment_clear(m2m_enrolment *e)
{
    if (e != NULL) {
        free(e->chain_root);
        m2m_secret_clear(&e->key);
        memset(e, 0, sizeof *e);
    }
}

void m2m_resource_clear(m2m_resource *r)
{
    if (r != NULL) {
        free(r->attrs);
        memset(r, 0, sizeof *r);
    }
}

void m2m_store_close(m2m_store *st)
{
    if (st)
        st->ops->close(st);
}

int m2m_store_set_identity(m2m_store *st, const char *cse_id, const char *cse_name, m2m_err *err)
{
    return st->ops->set_identity(st, cse_id, cse_name, err);
}

int m2m_store_get_identity(m2m_store *st, char cse_id[M2M_ID_MAX], char cse_name[M2M_ID_MAX], m2m_err *err)
{
    return st->ops->get_identity(st, cse_id, cse_name, err);
}

int m2m_store_set_meta(m2m_store *st, const char *key, const char *value, m2m_err *err)
{
    return st->ops->set_meta(st, key, value, err);
}

int m2m_store_get_meta(m2m_store *st, const char *key, char *out, size_t cap, m2m_err *err)
{
    return st->ops->get_meta(st, key, out, cap, err);
}

int m2m_store_enrol_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                        m2m_err *err)
{
    return st->ops->enrol_psk(st, registree_id, key, key_id, err);
}

int m2m_store_enrol_cert(m2m_store *st, const char *registree_id, const char *pubkey_hash, const char *root_pem,
                         m2m_err *err)
{
    return st->ops->enrol_cert(st, registree_id, pubkey_hash, root_pem, err);
}

int m2m_store_find_cert(m2m_store *st, const char *pubkey_hash, m2m_enrolment *out, m2m_err *err)
{
    return st->ops->find_cert(st, pubkey_hash, out, err);
}

int m2m_store_enrol_token(m2m_store *st, const char *registree_id, const char *token_hash, int64_t expires,
                          m2m_err *err)
{
    return st->ops->enrol_token(st, registree_id, token_hash, expires, err);
}

int m2m_store_consume_token(m2m_store *st, const char *token_hash, int64_t now, m2m_enrolment *out, m2m_err *err)
{
    return st->ops->consume_token(st, token_hash, now, out, err);
}

int m2m_store_find_token(m2m_store *st, const char *token_hash, m2m_enrolment *out, m2m_err *err)
{
    return st->ops->find_token(st, token_hash, out, err);
}

int m2m_store_release_token(m2m_store *st, const char *token_hash, m2m_err *err)
{
    return st->ops->release_token(st, token_hash, err);
}

int m2m_store_find_psk(m2m_store *st, const char *key_id, m2m_enrolment *out, m2m_err *err)
{
    return st->ops->find_psk(st, key_id, out, err);
}

int m2m_store_enrolment_active(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    return st->ops->enrolment_active(st, registree_id, key_id, err);
}

int m2m_store_revoke(m2m_store *st, const char *registree_id, m2m_err *err)
{
    return st->ops->revoke(st, registree_id, err);
}

int m2m_store_list(m2m_store *st, int include_revoked, m2m_enrolment_cb cb, void *ctx, m2m_err *err)
{
    return st->ops->list(st, include_revoked, cb, ctx, err);
}

int m2m_store_enrol_generation(m2m_store *st, int64_t *gen, m2m_err *err)
{
    return st->ops->enrol_generation(st, gen, err);
}

int m2m_store_enrol_generated_psk(m2m_store *st, const char *registree_id, const m2m_secret *key, const char *key_id,
                                  m2m_err *err)
{
    return st->ops->enrol_generated_psk(st, registree_id, key, key_id, err);
}

int m2m_store_promote_psk(m2m_store *st, const char *registree_id, const char *key_id, m2m_err *err)
{
    return st->ops->promote_psk(st, registree_id, key_id, err);
}

int m2m_store_expire_pending(m2m_store *st, int64_t older_than, int *promoted, m2m_err *err)
{
    return st->ops->expire_pending(st, older_than, promoted, err);
}

int m2m_store_ticket_keys(m2m_store *st, int64_t now, int64_t period, int rotate, m2m_ticket_key *out, int max, int *n,
                          m2m_err *err)
{
    return st->ops->ticket_keys(st, now, period, rotate, out, max, n, err);
}

int m2m_store_unit_begin(m2m_store *st, int *sp, m2m_err *err)
{
    return st->ops->unit_begin(st, sp, err);
}

int m2m_store_unit_end(m2m_store *st, int sp, int ok, m2m_err *err)
{
    return st->ops->unit_end(st, sp, ok, err);
}

int m2m_store_res_get(m2m_store *st, const char *ri, m2m_resource *out, m2m_err *err)
{
    return st->ops->res_get(st, ri, out, err);
}

int m2m_store_res_child(m2m_store *st, const char *pi, const char *rn, m2m_resource *out, m2m_err *err)
{
    return st->ops->res_child(st, pi, rn, out, err);
}

int m2m_store_res_registration(m2m_store *st, const char *reg_id, m2m_resource *out, m2m_err *err)
{
    return st->ops->res_registration(st, reg_id, out, err);
}

int m2m_store_res_insert(m2m_store *st, const m2m_resource *r, m2m_err *err)
{
    return st->ops->res_insert(st, r, err);
}

int m2m_store_res_update(m2m_store *st, const char *ri, const char *attrs, int64_t lt, int64_t et, m2m_err *err)
{
    return st->ops->res_update(st, ri, attrs, lt, et, err);
}

int m2m_store_res_expired(m2m_store *st, int64_t now, char (*ri)[M2M_RI_MAX], int max, int *n, m2m_err *err)
{
    return st->ops->res_expired(st, now, ri, max, n, err);
}

int m2m_store_res_delete(m2m_store *st, const char *ri, m2m_err *err)
{
    return st->ops->res_delete(st, ri, err);
}

int m2m_store_res_count_children(m2m_store *st, const char *pi, int ty, int64_t *count, m2m_err *err)
{
    return st->ops->res_count_children(st, pi, ty, count, err);
}

int m2m_store_res_usage(m2m_store *st, const char *owner, int64_t *count, int64_t *bytes, m2m_err *err)
{
    return st->ops->res_usage(st, owner, count, bytes, err);
}

int m2m_store_res_children_stats(m2m_store *st, const char *pi, int ty, int64_t min_ct, int64_t *count, int64_t *bytes,
                                 m2m_err *err)
{
    return st->ops->res_children_stats(st, pi, ty, min_ct, count, bytes, err);
}

int m2m_store_res_insert_capped(m2m_store *st, const m2m_resource *r, int64_t max_count, int64_t max_bytes,
                                int64_t min_ct, int *removed, m2m_err *err)
{
    return st->ops->res_insert_capped(st, r, max_count, max_bytes, min_ct, removed, err);
}

int m2m_store_res_expire_children(m2m_store *st, const char *pi, int ty, int64_t min_ct, int *removed, m2m_err *err)
{
    return st->ops->res_expire_children(st, pi, ty, min_ct, removed, err);
}

int m2m_store_registree_known(m2m_store *st, const char *registree_id, m2m_err *err)
{
    return st->ops->registree_known(st, registree_id, err);
}

int m2m_store_res_children(m2m_store *st, const char *pi, m2m_resource_cb cb, void *ctx, m2m_err *err)
{
    return st->ops->res_children(st, pi, cb, ctx, err);
}

/* ---- x.y.5 ---- */

int m2m_store_enrol_gba(m2m_store *st, const char *registree_id, const char *impi_id, const char *impi,
                        m2m_err *err)
{
    return st->ops->enrol_gba(st, registree_id, impi_id, impi, err);
}

int m2m_store_find_gba(m2m_store *st, const char *impi_id, m2m_enrolment *out, m2m_err *err)
{
    return st->ops->find_gba(st, impi_id, out, err);
}

int m2m_store_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *s, m2m_err *err)
{
    return st->ops->gba_subscriber_add(st, s, err);
}

int m2m_store_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err)
{
    return st->ops->gba_subscriber_get(st, impi, out, err);
}

int m2m_store_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only, m2m_err *err)
{
    return st->ops->gba_subscriber_set_sqn(st, impi, sqn, raise_only, err);
}

int m2m_store_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err)
{
    return st->ops->gba_subscriber_remove(st, impi, err);
}

int m2m_store_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                                  m2m_err *err)
{
    return st->ops->gba_subscriber_list(st, cb, ctx, err);
}

int m2m_store_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err)
{
    return st->ops->gba_bootstrap_put(st, b, err);
}

int m2m_store_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out, m2m_err *err)
{
    return st->ops->gba_bootstrap_get(st, btid, now, out, err);
}

int m2m_store_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err)
{
    return st->ops->gba_bootstrap_expire(st, now, removed, err);
}
