/* SPDX-License-Identifier: Apache-2.0 */
/* TLS-PSK mechanism (seed x.y.2 initial attachment, x.y.3 re-attachment; RFC 4279): psk_identity = Kcc_ID/Kca_ID,
 * psk = Kcc/Kca. The identity selects the enrolment in the store; what it finds is only a candidate until
 * binding.c sees that the finished handshake used that PSK. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "m2mattach/keyid.h"
#include "secctx/binding.h"
#include "secctx/gba.h"
#include "secctx/psk.h"
#include "util/log.h"
#include "util/hash.h"

/* ---- the loop's enrolment cache (tls_conn.h) ---- */

static m2m_psk_entry *cache_slot(m2m_psk_cache *pc, const char *key_id)
{
    /* key IDs are hash output, but an explicit KpsaID need not be */
    return &pc->slot[m2m_fnv1a_str(M2M_FNV1A_INIT, key_id) % M2M_PSK_CACHE_SLOTS];
}

static void cache_flush(m2m_psk_cache *pc)
{
    for (int i = 0; i < M2M_PSK_CACHE_SLOTS && pc->count > 0; i++)
        if (pc->slot[i].key_id[0] != '\0') {
            OPENSSL_cleanse(&pc->slot[i], sizeof pc->slot[i]);
            pc->count--;
        }
}

/* 1 when the cached entries may be used: the store's enrolment generation (bumped in the same transaction as every
 * enrol, re-key and revoke, by any process) is still the one they were read under. Empties the cache otherwise,
 * and whenever it cannot tell. Asked at every cache hit: SQLite answers from the WAL-index header while nothing
 * was committed (one pread), else with an indexed read; it replaced a check of the SQLite log file's times, whose
 * coarse clock could hide a revoke committed within the same tick. */
static int cache_fresh(m2m_tls_env *env)
{
    m2m_psk_cache *pc = &env->psk_cache;
    int64_t gen;
    m2m_err err;

    if (m2m_store_enrol_generation(env->st, &gen, &err) != 0) {
        cache_flush(pc);
        pc->have_gen = 0;
        return 0;
    }
    if (!pc->have_gen || gen != pc->gen)
        cache_flush(pc);
    pc->gen = gen;
    pc->have_gen = 1;
    return pc->count > 0;
}

void m2m_psk_cache_check(m2m_tls_env *env)
{
    if (env->psk_cache.count > 0)
        cache_fresh(env);
}

/* Looks the identity up in what the gate read ahead, the cache, then the store. 0 and e filled (wipe e after use),
 * or -1 with err. */
static int find_psk(m2m_tls_conn *tc, const char *identity, m2m_psk_entry *e, m2m_err *err)
{
    m2m_tls_env *env = tc->env;
    m2m_psk_cache *pc = &env->psk_cache;
    const m2m_psk_prefetch *pf = &tc->hs->prefetch;
    m2m_psk_entry *slot = cache_slot(pc, identity);
    m2m_enrolment en;
    /* A store whose generation may lag a commit (PostgreSQL's, fed by notifications) cannot vouch for a cached key:
     * a revoke applies to the next handshake on every back-end, so there every lookup reads the enrolment and
     * nothing is cached. */
    int exact = m2m_store_generation_exact(env->st);

    if (pf->have && strcmp(pf->e.key_id, identity) == 0) {
        if (pf->rc != 0) {
            m2m_fail(err, pf->code, "%s", pf->msg);
            return -1;
        }
        *e = pf->e;
        return 0;
    }
    if (exact && slot->key_id[0] != '\0' && strcmp(slot->key_id, identity) == 0 && cache_fresh(env) &&
        slot->key_id[0] != '\0') {
        *e = *slot;
        return 0;
    }
    /* The store's answer is current, so it may be cached whatever the cache's generation: if that is older, the
     * next hit finds a new generation and empties the cache. */
    if (m2m_store_find_psk(env->st, identity, &en, err) != 0)
        return -1;
    memset(e, 0, sizeof *e);
    snprintf(e->key_id, sizeof e->key_id, "%s", en.key_id);
    snprintf(e->registree_id, sizeof e->registree_id, "%s", en.registree_id);
    e->key = en.key;
    e->pending = en.pending;
    m2m_enrolment_clear(&en);
    if (exact && strcmp(e->key_id, identity) == 0) {
        if (slot->key_id[0] != '\0')
            OPENSSL_cleanse(slot, sizeof *slot);
        else
            pc->count++;
        *slot = *e;
    }
    return 0;
}

/* The lookup both versions share: the enrolment of identity as a new PSK candidate, its key into key. 0, or -1
 * (unknown, revoked, too long, too many offered: tc->hs->failure says which). */
static int lookup(m2m_tls_conn *tc, const unsigned char *identity, size_t len, m2m_secret *key,
                  m2m_candidate **out)
{
    char id[M2M_CRED_ID_MAX];
    m2m_psk_entry e;
    m2m_err err;
    m2m_candidate *c;
    int rc = -1;

    /* A key ID is 32 hex characters; an explicit KpsaID is no longer. Tickets offered as TLS 1.3 identities are
     * longer and go to the ticket callback. */
    if (len == 0 || len > M2M_KEYID_HEX_LEN || memchr(identity, '\0', len) != NULL) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "psk_identity is not a key ID");
        return -1;
    }
    if (++tc->hs->lookups > M2M_TLS_CANDIDATES) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many psk_identities offered");
        return -1;
    }
    memcpy(id, identity, len);
    id[len] = '\0';
    if (find_psk(tc, id, &e, &err) != 0) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "%s", err.code == M2M_E_NOTFOUND ? "unknown or revoked psk_identity"
                                                                                   : "store failure");
        if (err.code != M2M_E_NOTFOUND)
            m2m_logf(tc->env->log, "store error during PSK lookup: %s", err.msg);
        return -1;
    }
    if ((c = m2m_bind_candidate(tc, M2M_CAND_PSK)) == NULL) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many credentials offered");
        goto done;
    }
    if (m2m_secret_set(key, e.key.bytes, e.key.len, &err) != 0) {
        c->kind = M2M_CAND_FREE;
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "enrolled key cannot be used");
        goto done;
    }
    snprintf(c->peer.mechanism, sizeof c->peer.mechanism, "psk");
    snprintf(c->peer.registree_id, sizeof c->peer.registree_id, "%s", e.registree_id);
    snprintf(c->peer.key_id, sizeof c->peer.key_id, "%s", e.key_id);
    c->pending = e.pending;
    snprintf(tc->hs->failure, sizeof tc->hs->failure, "wrong key for psk_identity");
    *out = c;
    rc = 0;
done:
    OPENSSL_cleanse(&e, sizeof e);
    return rc;
}

/* A psk_identity carrying a B-TID (x.y.5) goes to the NAF (gba.c); any other to the enrolments. */
static int lookup_any(m2m_tls_conn *tc, const unsigned char *identity, size_t len, m2m_secret *key,
                      m2m_candidate **out)
{
    char btid[M2M_BTID_MAX];
    if (m2m_gba_identity_btid(identity, len, btid))
        return m2m_gba_lookup(tc, btid, key, out);
    return lookup(tc, identity, len, key, out);
}

/* TLS 1.2 (RFC 4279). Returning 0 refuses the identity: unknown_psk_identity. TLS 1.3 external PSKs go through
 * find_session_cb below, which can vouch for the session it makes; this one never serves TLS 1.3. */
static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    m2m_secret key = {0};
    m2m_candidate *c;
    unsigned int len = 0;

    if (tc == NULL || tc->hs == NULL || identity == NULL || SSL_version(ssl) == TLS1_3_VERSION)
        return 0;
    if (lookup_any(tc, (const unsigned char *)identity, strlen(identity), &key, &c) != 0)
        return 0;
    if (key.len > max_psk_len) {
        c->kind = M2M_CAND_FREE;
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "enrolled key too long");
    } else {
        memcpy(psk, key.bytes, key.len);
        len = (unsigned int)key.len;
    }
    m2m_secret_clear(&key);
    return len;
}

/* TLS 1.3 external PSK: the session OpenSSL will use if this identity is chosen, marked as vouched for by the
 * candidate. Returning 1 with *sess NULL declines the identity (OpenSSL then tries it as a ticket). External PSKs
 * are SHA-256 (RFC 8446 4.2.11 default), so the session's suite is TLS_AES_128_GCM_SHA256. */
static int find_session_cb(SSL *ssl, const unsigned char *identity, size_t len, SSL_SESSION **sess)
{
    static const unsigned char AES128GCM_SHA256[] = {0x13, 0x01};
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    m2m_secret key = {0};
    m2m_candidate *c = NULL;
    SSL_SESSION *s = NULL;
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, AES128GCM_SHA256);
    char btid[M2M_BTID_MAX];

    *sess = NULL;
    if (tc == NULL || tc->hs == NULL || cipher == NULL)
        return 1;
    /* a GBA identity, or a key ID; anything longer is a ticket, for the ticket callback */
    if (m2m_gba_identity_btid(identity, len, btid) ? m2m_gba_lookup(tc, btid, &key, &c) != 0
                                                   : len > M2M_KEYID_HEX_LEN || lookup(tc, identity, len, &key, &c) != 0)
        return 1;
    s = SSL_SESSION_new();
    if (s == NULL || SSL_SESSION_set1_master_key(s, key.bytes, key.len) != 1 ||
        SSL_SESSION_set_cipher(s, cipher) != 1 || SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1 ||
        m2m_bind_vouch(s, c) != 0) {
        SSL_SESSION_free(s);
        s = NULL;
        c->kind = M2M_CAND_FREE;
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "cannot make the PSK session");
    }
    m2m_secret_clear(&key);
    *sess = s;
    return 1;
}

void m2m_psk_install(SSL_CTX *ctx, int gba)
{
    /* TS 33.222: a NAF's hint tells the UE to use GBA (OpenSSL sends a ServerKeyExchange only with a hint) */
    if (gba)
        SSL_CTX_use_psk_identity_hint(ctx, M2M_GBA_HINT);
    SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
    SSL_CTX_set_psk_find_session_callback(ctx, find_session_cb);
}

void m2m_psk_install_ssl(SSL *ssl)
{
    SSL_set_psk_server_callback(ssl, psk_server_cb);
    SSL_set_psk_find_session_callback(ssl, find_session_cb);
}

typedef struct promote_job {
    m2m_store_job job; /* first */
    m2m_tls_env *env;
    char registree_id[M2M_ID_MAX];
    char key_id[M2M_CRED_ID_MAX];
    char addr[64];
} promote_job;

static int promote_run(m2m_store *st, m2m_store_job *job, m2m_err *err)
{
    promote_job *p = (promote_job *)job;
    return m2m_store_promote_psk(st, p->registree_id, p->key_id, err);
}

static void promote_done(m2m_store_job *job, int rc, const m2m_err *err)
{
    promote_job *p = (promote_job *)job;
    if (rc != 0)
        m2m_logf(p->env->log, "promote generated key of %s: %s", p->registree_id, err->msg);
    else
        m2m_logf(p->env->log, "key registree=%s key_id=%s peer=%s result=generated key now current, previous key "
                              "retired", p->registree_id, p->key_id, p->addr);
    free(p);
}

void m2m_psk_promote(m2m_tls_conn *tc)
{
    promote_job *p;
    if (!tc->pending_key)
        return;
    tc->pending_key = 0;
    /* The writer commits it with the other workers' writes; the handshake does not wait for a disk. If it is lost
     * (a crash first), the key stays pending and the next handshake with it promotes it again. */
    if ((p = calloc(1, sizeof *p)) == NULL)
        return;
    p->job.run = promote_run;
    p->job.done = promote_done;
    p->env = tc->env;
    snprintf(p->registree_id, sizeof p->registree_id, "%s", tc->peer.registree_id);
    snprintf(p->key_id, sizeof p->key_id, "%s", tc->peer.key_id);
    snprintf(p->addr, sizeof p->addr, "%s", tc->addr);
    m2m_store_submit(tc->env->writer, tc->env->st, tc->env->queue, &p->job);
}
