/* TLS-PSK mechanism (seed x.y.2 initial attachment, x.y.3 re-attachment; RFC 4279): psk_identity = Kcc_ID/Kca_ID,
 * psk = Kcc/Kca. The identity selects the enrolment in the store; the connection is bound to the enrolled
 * Registree ID only once the handshake has proved possession of the key. */
#include <openssl/crypto.h>
#include <string.h>

#include "m2mattach/keyid.h"
#include "registrar/server.h"

/* ---- the worker's enrolment cache (server.h) ---- */

static m2m_psk_entry *cache_slot(m2m_psk_cache *pc, const char *key_id)
{
    uint32_t h = 2166136261u; /* FNV-1a: key IDs are hash output, but an explicit KpsaID need not be */
    for (const unsigned char *p = (const unsigned char *)key_id; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return &pc->slot[h % M2M_PSK_CACHE_SLOTS];
}

static void cache_flush(m2m_psk_cache *pc)
{
    for (int i = 0; i < M2M_PSK_CACHE_SLOTS && pc->count > 0; i++)
        if (pc->slot[i].key_id[0] != '\0') {
            OPENSSL_cleanse(&pc->slot[i], sizeof pc->slot[i]);
            pc->count--;
        }
}

static int same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* 1 when the cached entries may be used: no commit since the enrolment generation was read, or the generation
 * read now is still that one. Empties the cache otherwise (and whenever it cannot tell). force: read the
 * generation even if the log looks untouched (the once-a-second backstop for coarse file times). */
static int cache_fresh(struct worker *w, int force)
{
    m2m_psk_cache *pc = &w->psk_cache;
    struct stat now;
    int64_t gen;
    m2m_err err;

    if (pc->wal[0] == '\0')
        snprintf(pc->wal, sizeof pc->wal, "%s-wal", w->reg->cfg.db);
    /* The log is stat()ed before the generation is read: a commit after this changes the file again. */
    if (stat(pc->wal, &now) != 0)
        goto unknown;
    if (!force && pc->have_sig && same_file_state(&now, &pc->wal_sig))
        return 1;
    if (m2m_store_enrol_generation(w->st, &gen, &err) != 0)
        goto unknown;
    if (gen != pc->gen)
        cache_flush(pc);
    pc->gen = gen;
    pc->wal_sig = now;
    pc->have_sig = 1;
    return pc->count > 0;
unknown:
    cache_flush(pc);
    pc->have_sig = 0;
    return 0;
}

void m2m_psk_cache_check(struct worker *w)
{
    if (w->psk_cache.count > 0)
        cache_fresh(w, 1);
}

/* Looks the identity up in the cache, then in the store. 0 and e filled (wipe e after use), or -1 with err. */
static int find_psk(struct worker *w, const char *identity, m2m_psk_entry *e, m2m_err *err)
{
    m2m_psk_cache *pc = &w->psk_cache;
    m2m_psk_entry *slot = cache_slot(pc, identity);
    m2m_enrolment en;

    if (slot->key_id[0] != '\0' && strcmp(slot->key_id, identity) == 0 && cache_fresh(w, 0) &&
        slot->key_id[0] != '\0') {
        *e = *slot;
        return 0;
    }
    /* The store's answer is current, so it may be cached whatever the cache's generation: if that is older, the
     * next hit finds the log changed and a new generation, and empties the cache. */
    if (m2m_store_find_psk(w->st, identity, &en, err) != 0)
        return -1;
    memset(e, 0, sizeof *e);
    snprintf(e->key_id, sizeof e->key_id, "%s", en.key_id);
    snprintf(e->registree_id, sizeof e->registree_id, "%s", en.registree_id);
    e->key = en.key;
    e->pending = en.pending;
    m2m_enrolment_clear(&en);
    if (strcmp(e->key_id, identity) == 0) {
        if (slot->key_id[0] != '\0')
            OPENSSL_cleanse(slot, sizeof *slot);
        else
            pc->count++;
        *slot = *e;
    }
    return 0;
}

/* Used for TLS 1.2, and by OpenSSL for TLS 1.3 external PSKs too (with SHA-256 suites), so one lookup serves
 * both versions. Returning 0 refuses the identity: unknown_psk_identity in TLS 1.2, no PSK (and no certificate
 * to fall back on) in TLS 1.3. */
static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
    conn *c = m2m_conn_of(ssl);
    m2m_psk_entry e;
    m2m_err err;
    unsigned int len = 0;

    if (c == NULL || identity == NULL)
        return 0;
    snprintf(c->peer.mechanism, sizeof c->peer.mechanism, "psk");
    if (strlen(identity) > M2M_KEYID_HEX_LEN) {
        snprintf(c->failure, sizeof c->failure, "psk_identity too long");
        return 0;
    }
    if (find_psk(c->w, identity, &e, &err) != 0) {
        snprintf(c->failure, sizeof c->failure, "%s", err.code == M2M_E_NOTFOUND ? "unknown or revoked psk_identity"
                                                                                  : "store failure");
        if (err.code != M2M_E_NOTFOUND)
            m2m_log(c->w->reg, "store error during PSK lookup: %s", err.msg);
        return 0;
    }
    if (e.key.len > max_psk_len) {
        snprintf(c->failure, sizeof c->failure, "enrolled key too long");
        goto done;
    }
    memcpy(psk, e.key.bytes, e.key.len);
    len = (unsigned int)e.key.len;
    c->psk_pending = e.pending;
    snprintf(c->peer.registree_id, sizeof c->peer.registree_id, "%s", e.registree_id);
    snprintf(c->peer.key_id, sizeof c->peer.key_id, "%s", e.key_id);
    snprintf(c->failure, sizeof c->failure, "wrong key for psk_identity");
done:
    OPENSSL_cleanse(&e, sizeof e);
    return len;
}

void m2m_psk_install(SSL_CTX *ctx)
{
    SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
}

void m2m_psk_promote(conn *c)
{
    m2m_err err;
    c->psk_pending = 0;
    if (m2m_store_promote_psk(c->w->st, c->peer.registree_id, c->peer.key_id, &err) != 0)
        m2m_log(c->w->reg, "promote generated key of %s: %s", c->peer.registree_id, err.msg);
    else
        m2m_log(c->w->reg, "key registree=%s key_id=%s result=generated key now current, previous key retired",
                c->peer.registree_id, c->peer.key_id);
}
