/* SPDX-License-Identifier: Apache-2.0 */
/* The NAF's Ks_NAF cache and the lookup behind a GBA psk_identity (see gba.h). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secctx/binding.h"
#include "secctx/gba.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/hash.h"

m2m_gba_naf *m2m_gba_naf_new(const char *fqdn, m2m_zn_client *zn, m2m_err *err)
{
    static const uint8_t ua[M2M_GBA_UA_ID_LEN] = {1, 0, 0, 0, 7};
    uint8_t probe[M2M_GBA_NAF_ID_MAX];
    size_t len;
    m2m_gba_naf *naf;

    if (m2m_gba_naf_id(fqdn, ua, probe, &len, err) != 0)
        return NULL;
    naf = OPENSSL_zalloc(sizeof *naf);
    if (naf == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(naf->fqdn, sizeof naf->fqdn, "%s", fqdn);
    naf->zn = zn;
    return naf;
}

void m2m_gba_naf_free(m2m_gba_naf *naf)
{
    if (naf == NULL)
        return;
    m2m_zn_client_free(naf->zn);
    OPENSSL_clear_free(naf, sizeof *naf);
}

static m2m_gba_entry *slot_of(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN])
{
    uint32_t h = m2m_fnv1a(m2m_fnv1a_str(M2M_FNV1A_INIT, btid), ua, M2M_GBA_UA_ID_LEN);
    return &naf->slot[h % M2M_GBA_CACHE_SLOTS];
}

static void drop(m2m_gba_naf *naf, m2m_gba_entry *e)
{
    if (e->btid[0] != '\0')
        naf->count--;
    OPENSSL_cleanse(e, sizeof *e);
}

void m2m_gba_naf_expire(m2m_gba_naf *naf, int64_t now)
{
    for (int i = 0; i < M2M_GBA_CACHE_SLOTS && naf->count > 0; i++)
        if (naf->slot[i].btid[0] != '\0' && naf->slot[i].expires <= now)
            drop(naf, &naf->slot[i]);
}

const m2m_gba_entry *m2m_gba_cache_get(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN],
                                       int64_t now)
{
    m2m_gba_entry *e = slot_of(naf, btid, ua);
    if (e->btid[0] == '\0' || strcmp(e->btid, btid) != 0 || memcmp(e->ua, ua, M2M_GBA_UA_ID_LEN) != 0)
        return NULL;
    if (e->expires <= now) {
        drop(naf, e); /* a key past its lifetime is never used, and never kept */
        return NULL;
    }
    return e;
}

void m2m_gba_cache_put(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN], int found,
                       const m2m_secret *ks_naf, const char *impi, int64_t expires, int failed)
{
    m2m_gba_entry *e = slot_of(naf, btid, ua);
    drop(naf, e);
    snprintf(e->btid, sizeof e->btid, "%s", btid);
    memcpy(e->ua, ua, M2M_GBA_UA_ID_LEN);
    e->found = found;
    e->failed = failed;
    if (found) {
        e->ks_naf = *ks_naf;
        snprintf(e->impi, sizeof e->impi, "%s", impi);
    }
    e->expires = expires;
    naf->count++;
}

void m2m_gba_ua_of(const SSL *ssl, uint8_t ua[M2M_GBA_UA_ID_LEN])
{
    const SSL_CIPHER *c = SSL_get_pending_cipher(ssl);
    if (c == NULL)
        c = SSL_get_current_cipher(ssl);
    m2m_gba_ua_id(SSL_version(ssl), c != NULL ? (uint16_t)SSL_CIPHER_get_protocol_id(c) : 0, ua);
}

int m2m_gba_naf_id_of(const m2m_gba_naf *naf, const uint8_t ua[M2M_GBA_UA_ID_LEN], uint8_t *out, size_t *len)
{
    return m2m_gba_naf_id(naf->fqdn, ua, out, len, NULL);
}

static void count(unsigned long long *field, unsigned long long n)
{
    __atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

/* Asks Zn for (btid, ua) on the spot, blocking this loop up to the Zn timeout: the path for what the gate could
 * not fetch ahead (gate.c). 0 and the entry cached, or -1 with tc->hs->failure. */
static int fetch_now(m2m_tls_conn *tc, m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN])
{
    uint8_t naf_id[M2M_GBA_NAF_ID_MAX];
    size_t len = 0;
    m2m_zn_answer a;
    m2m_err err;
    struct timespec t0;
    double ms;
    int rc;

    if (naf->zn == NULL) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "unknown or expired B-TID");
        return -1;
    }
    m2m_gba_naf_id_of(naf, ua, naf_id, &len);
    m2m_clock_mark(&t0);
    rc = m2m_zn_fetch(naf->zn, btid, naf_id, len, &a, &err);
    ms = m2m_ms_since(&t0);
    if (naf->counters != NULL) {
        count(&naf->counters->zn_blocking, 1);
        count(&naf->counters->zn_fetches, 1);
        count(&naf->counters->zn_blocked_us, (unsigned long long)(ms * 1000));
    }
    if (rc != 0) {
        if (naf->counters != NULL)
            count(&naf->counters->zn_failures, 1);
        m2m_logf(tc->env->log, "zn btid=%s result=failed reason=%s ms=%.2f", btid, err.msg, ms);
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "the BSF could not be asked for this B-TID (Zn)");
        return -1;
    }
    m2m_gba_cache_put(naf, btid, ua, a.found, &a.ks_naf, a.impi,
                      a.found ? a.expires : m2m_clock_now() + M2M_GBA_NEGATIVE_TTL, 0);
    m2m_secret_clear(&a.ks_naf);
    return 0;
}

int m2m_gba_lookup(m2m_tls_conn *tc, const char *btid, m2m_secret *key, m2m_candidate **out)
{
    m2m_gba_naf *naf = tc->env->gba;
    int64_t now = m2m_clock_now();
    const m2m_gba_entry *e;
    m2m_enrolment en;
    m2m_candidate *c;
    m2m_err err;
    char impi_id[65];
    uint8_t ua[M2M_GBA_UA_ID_LEN];

    if (tc->hs == NULL) /* the handshake is over: nothing more is offered on this connection */
        return -1;
    if (naf == NULL) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "GBA psk_identity, and this Registrar is no NAF (no --bsf)");
        return -1;
    }
    if (++tc->hs->lookups > M2M_TLS_CANDIDATES) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many psk_identities offered");
        return -1;
    }
    m2m_gba_ua_of(tc->ssl, ua);
    e = m2m_gba_cache_get(naf, btid, ua, now);
    if (e != NULL && naf->counters != NULL)
        count(&naf->counters->cache_hits, 1);
    if (e == NULL && tc->gated) {
        /* the gate asks Zn ahead of OpenSSL without blocking; what it did not get, this handshake does not get */
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "no Ks_NAF for this B-TID (Zn gave none in time)");
        return -1;
    }
    if (e == NULL && (fetch_now(tc, naf, btid, ua) != 0 || (e = m2m_gba_cache_get(naf, btid, ua, now)) == NULL))
        return -1;
    if (!e->found) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "%s", e->failed ? "the BSF could not be asked for this B-TID (Zn)"
                                                                  : "unknown or expired B-TID");
        return -1;
    }
    /* Step 1 of x.y.5: the IMPI's enrolment says which Registree this subscriber is; read live, so a revoke applies
     * to the next handshake */
    if (m2m_gba_impi_id(e->impi, impi_id) != 0) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "the B-TID's subscriber (IMPI) is not a valid IMPI");
        return -1;
    }
    if (m2m_store_find_gba(tc->env->st, impi_id, &en, &err) != 0) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "%s", err.code == M2M_E_NOTFOUND
                                                            ? "the B-TID's subscriber (IMPI) is not enrolled"
                                                            : "store failure");
        if (err.code != M2M_E_NOTFOUND)
            m2m_logf(tc->env->log, "store error during GBA lookup: %s", err.msg);
        return -1;
    }
    if ((c = m2m_bind_candidate(tc, M2M_CAND_GBA)) == NULL) {
        m2m_enrolment_clear(&en);
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many credentials offered");
        return -1;
    }
    snprintf(c->peer.mechanism, sizeof c->peer.mechanism, "gba");
    snprintf(c->peer.registree_id, sizeof c->peer.registree_id, "%s", en.registree_id);
    m2m_gba_btid_key_id(btid, c->peer.key_id);
    snprintf(c->peer.enrol_id, sizeof c->peer.enrol_id, "%s", impi_id);
    c->peer.not_after = e->expires;
    m2m_enrolment_clear(&en);
    if (m2m_secret_set(key, e->ks_naf.bytes, e->ks_naf.len, &err) != 0) {
        c->kind = M2M_CAND_FREE;
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "Ks_NAF cannot be used");
        return -1;
    }
    snprintf(tc->hs->failure, sizeof tc->hs->failure, "wrong key (Ks_NAF) for the B-TID");
    *out = c;
    return 0;
}
