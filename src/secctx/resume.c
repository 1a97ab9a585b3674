/* SPDX-License-Identifier: Apache-2.0 */
/* TLS session resumption (x.y.4): TLS 1.2 session tickets (RFC 5077) and TLS 1.3 tickets, sealed with keys that
 * live in the store (so any Registrar on the store resumes, and a restarted one too), rotated every period and
 * accepted for one more. The binding (Registree ID, mechanism, credential ID), the Registrar certificate, and the
 * protocol version and suite the ticket was issued under travel inside it. Decrypting a ticket proves nothing: a
 * ticket is sent in clear. The decrypt callback only checks the enrolment and records a candidate tied to the
 * session; binding.c binds it if OpenSSL really resumed that session (the client proved its secret). */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "secctx/binding.h"
#include "secctx/resume.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/hash.h"

/* v3 added the version and suite, v4 the enrolment behind the binding and the key's end of life (x.y.5: a GBA
 * binding lives no longer than its bootstrapping); tickets of earlier versions are not resumed (a full handshake
 * issues a new one). */
#define APPDATA_VERSION "m2m4"
#define APPDATA_FIELDS 9
#define APPDATA_MAX (4 + 1 + 16 + 1 + M2M_ID_MAX + 1 + M2M_CRED_ID_MAX + 1 + 65 + 1 + 11 + 1 + 11 + 1 + \
                     M2M_CRED_ID_MAX + 1 + 21)

void m2m_tls_cert_fingerprint(SSL_CTX *ctx, char out[65])
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    unsigned char md[32];
    unsigned int n = 0;
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != sizeof md) {
        snprintf(out, 65, "-");
        return;
    }
    m2m_hex_encode(md, sizeof md, out);
}

static void take_keys(m2m_tls_env *env, m2m_ticket_key *keys, int n, int log)
{
    if (log && n > 0 && (env->nkeys == 0 || memcmp(keys[0].name, env->keys[0].name, 16) != 0))
        m2m_logf(env->log, "ticket keys: current key created %lld, %d accepted", (long long)keys[0].created, n);
    OPENSSL_cleanse(env->keys, sizeof env->keys);
    memcpy(env->keys, keys, sizeof env->keys);
    env->nkeys = n;
}

void m2m_tls_env_read_keys(m2m_tls_env *env)
{
    m2m_ticket_key keys[M2M_TICKET_KEYS];
    int n = 0;
    m2m_err err;
    if (m2m_store_ticket_keys(env->st, m2m_clock_now(), env->ticket_period, 0, keys, M2M_TICKET_KEYS, &n, &err) !=
        0) {
        m2m_logf(env->log, "ticket keys: %s", err.msg);
        return;
    }
    take_keys(env, keys, n, 0);
    OPENSSL_cleanse(keys, sizeof keys);
}

typedef struct rotate_job {
    m2m_store_job job; /* first */
    m2m_tls_env *env;
    int64_t now, period;
    m2m_ticket_key keys[M2M_TICKET_KEYS];
    int n;
} rotate_job;

static int rotate_run(m2m_store *st, m2m_store_job *job, m2m_err *err)
{
    rotate_job *r = (rotate_job *)job;
    return m2m_store_ticket_keys(st, r->now, r->period, 1, r->keys, M2M_TICKET_KEYS, &r->n, err);
}

static void rotate_done(m2m_store_job *job, int rc, const m2m_err *err)
{
    rotate_job *r = (rotate_job *)job;
    r->env->rotating = 0;
    if (rc != 0)
        m2m_logf(r->env->log, "ticket keys: %s", err->msg);
    else
        take_keys(r->env, r->keys, r->n, 1);
    OPENSSL_clear_free(r, sizeof *r);
}

void m2m_tls_env_rotate_keys(m2m_tls_env *env)
{
    int64_t now = m2m_clock_now();
    rotate_job *r;
    if (env->rotating || (env->nkeys > 0 && env->keys[0].created + env->ticket_period > now))
        return;
    if ((r = OPENSSL_zalloc(sizeof *r)) == NULL)
        return;
    r->job.run = rotate_run;
    r->job.done = rotate_done;
    r->env = env;
    r->now = now;
    r->period = env->ticket_period;
    env->rotating = 1;
    m2m_store_submit(env->writer, env->st, env->queue, &r->job);
}

static const m2m_ticket_key *find_key(const m2m_tls_env *env, const unsigned char name[16])
{
    for (int i = 0; i < env->nkeys; i++)
        if (CRYPTO_memcmp(name, env->keys[i].name, 16) == 0)
            return &env->keys[i];
    return NULL;
}

static int ticket_key_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    m2m_tls_env *env = tc ? tc->env : NULL;
    const m2m_ticket_key *k = NULL;
    OSSL_PARAM params[2];
    int rc = 1;

    if (env == NULL)
        return enc ? -1 : 0;
    /* The copy is refreshed once a second. A ticket sealed now uses the newest key the store has; if its period is
     * over, a rotation goes to the writer, and while it is committed the key is still good for one more period
     * (tickets are accepted for two): no write ever waits on the handshake. */
    if (enc && (env->nkeys == 0 || env->keys[0].created + env->ticket_period <= m2m_clock_now())) {
        m2m_tls_env_read_keys(env);
        m2m_tls_env_rotate_keys(env);
    }
    if (enc && (env->nkeys == 0 || env->keys[0].created + 2 * env->ticket_period <= m2m_clock_now()))
        return 0; /* no key a Registrar would still accept: no ticket this time */
    if (enc) {
        k = &env->keys[0];
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(key_name, k->name, 16);
    } else {
        k = find_key(env, key_name);
        if (k == NULL) {
            /* Perhaps a key another worker or node created since this copy was read: look in the store again (a
             * read of a table of at most a few rows, far cheaper than the handshake an unknown name costs anyway;
             * a time limit here would refuse a fresh key right after a rotation). */
            m2m_tls_env_read_keys(env);
            k = find_key(env, key_name);
        }
        /* Unknown, or older than two periods now (the copy is refreshed once a second; the age is exact): full
         * handshake. */
        if (k == NULL || k->created + 2 * env->ticket_period <= m2m_clock_now())
            return 0;
        rc = k == &env->keys[0] ? 1 : 2; /* 2: still good, but renew the ticket under the current key */
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(hctx, k->hmac, sizeof k->hmac, params) != 1)
        return -1;
    if (enc ? EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1
            : EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
        return -1;
    return rc;
}

/* The binding goes into the ticket: the one the connection was given (a TLS 1.3 ticket sent after a token bound
 * it), or during the handshake what binding.c finds the handshake proves -- OpenSSL issues tickets after the
 * client's Finished, except for a resumed TLS 1.2 session, whose new ticket carries the same binding and the same
 * secret as the one it resumed. An unbound context gets an empty ticket, which is never resumed. */
static int gen_cb(SSL *ssl, void *arg)
{
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    SSL_SESSION *sess = SSL_get0_session(ssl);
    char data[APPDATA_MAX], why[128];
    m2m_peer p;
    m2m_proof proof;
    int pending, bound, n;
    (void)arg;

    if (tc == NULL || sess == NULL)
        return 0;
    if (tc->established) {
        p = tc->peer;
        bound = p.registree_id[0] != '\0';
    } else
        bound = m2m_bind_evaluate(tc, &p, &proof, &pending, why, sizeof why);
    if (!bound)
        return SSL_SESSION_set1_ticket_appdata(sess, "", 0);
    if (p.not_after != 0) {
        /* OpenSSL's own check too: the ticket's lifetime (and hint) ends with the key's */
        int64_t left = p.not_after - m2m_clock_now();
        if (left < (int64_t)SSL_SESSION_get_timeout(sess))
            SSL_SESSION_set_timeout(sess, left > 0 ? (long)left : 1);
    }
    n = snprintf(data, sizeof data, "%s\n%s\n%s\n%s\n%s\n%d\n%d\n%s\n%lld", APPDATA_VERSION, p.mechanism,
                 p.registree_id, p.key_id, tc->env->cert_fp, SSL_version(ssl), m2m_bind_suite_of(ssl),
                 p.enrol_id[0] ? p.enrol_id : "-", (long long)p.not_after);
    OPENSSL_cleanse(&p, sizeof p);
    if (n < 0 || (size_t)n >= sizeof data)
        return 0;
    n = SSL_SESSION_set1_ticket_appdata(sess, data, (size_t)n);
    OPENSSL_cleanse(data, sizeof data);
    return n;
}

int m2m_resume_parse_appdata(const char *data, size_t len, m2m_candidate *c, char fp[65])
{
    char buf[APPDATA_MAX + 1], *f[APPDATA_FIELDS], *save = NULL, *end, *t;
    long version, suite;
    long long not_after;
    int i = 0;

    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, data, len);
    buf[len] = '\0';
    /* t is the field after the last one taken: NULL when there are exactly APPDATA_FIELDS (asking strtok_r once
     * more after the loop would skip the field the loop's last step already consumed) */
    for (t = strtok_r(buf, "\n", &save); t != NULL && i < APPDATA_FIELDS; t = strtok_r(NULL, "\n", &save))
        f[i++] = t;
    if (i != APPDATA_FIELDS || t != NULL || strcmp(f[0], APPDATA_VERSION) != 0 ||
        m2m_mech_index(f[1]) < 0 || strlen(f[2]) >= sizeof c->peer.registree_id ||
        strlen(f[3]) >= sizeof c->peer.key_id || strlen(f[4]) >= 65)
        return -1;
    version = strtol(f[5], &end, 10);
    if (*end != '\0' || version <= 0 || version > 0xffff)
        return -1;
    suite = strtol(f[6], &end, 10);
    if (*end != '\0' || suite <= 0 || suite > 0xffffff)
        return -1;
    not_after = strtoll(f[8], &end, 10);
    if (*end != '\0' || not_after < 0 || strlen(f[7]) >= sizeof c->peer.enrol_id)
        return -1;
    if (strcmp(f[7], "-") != 0)
        snprintf(c->peer.enrol_id, sizeof c->peer.enrol_id, "%s", f[7]);
    c->peer.not_after = not_after;
    snprintf(fp, 65, "%s", f[4]);
    snprintf(c->peer.mechanism, sizeof c->peer.mechanism, "%s", f[1]);
    snprintf(c->peer.registree_id, sizeof c->peer.registree_id, "%s", f[2]);
    snprintf(c->peer.key_id, sizeof c->peer.key_id, "%s", f[3]);
    c->version = (int)version;
    c->suite = (int)suite;
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

/* Whether registree_id's enrolment enrol_id is active: the store's answer, or (exact stores) what it answered
 * under the enrolment generation still current -- one cheap check instead of a read (SQLite: a pread of the
 * WAL-index header while nothing was committed). Only "active" is remembered; anything else asks the store. */
static unsigned active_slot(const char *registree_id, const char *enrol_id)
{
    return m2m_fnv1a_str(m2m_fnv1a_str(M2M_FNV1A_INIT, registree_id), enrol_id) % M2M_ACTIVE_CACHE_SLOTS;
}

static int enrolment_active(m2m_tls_env *env, const char *registree_id, const char *enrol_id, m2m_err *err)
{
    m2m_active_cache *ac = &env->active_cache;
    m2m_active_entry *e = &ac->slot[active_slot(registree_id, enrol_id)];
    int exact = m2m_store_generation_exact(env->st), rc;
    int64_t gen = 0;

    if (exact && m2m_store_enrol_generation(env->st, &gen, err) == 0) {
        if (!ac->have_gen || gen != ac->gen)
            memset(ac->slot, 0, sizeof ac->slot); /* a change somewhere: everything is asked again */
        ac->gen = gen;
        ac->have_gen = 1;
        if (e->registree_id[0] != '\0' && strcmp(e->registree_id, registree_id) == 0 &&
            strcmp(e->enrol_id, enrol_id) == 0)
            return 1;
    } else {
        exact = 0;
        ac->have_gen = 0;
    }
    rc = m2m_store_enrolment_active(env->st, registree_id, enrol_id, err);
    /* remembered under the generation read before the store's answer: a change in between shows next time */
    if (rc == 1 && exact && strlen(registree_id) < sizeof e->registree_id && strlen(enrol_id) < sizeof e->enrol_id) {
        snprintf(e->registree_id, sizeof e->registree_id, "%s", registree_id);
        snprintf(e->enrol_id, sizeof e->enrol_id, "%s", enrol_id);
    }
    return rc == 1;
}

static SSL_TICKET_RETURN dec_cb(SSL *ssl, SSL_SESSION *ss, const unsigned char *keyname, size_t keyname_len,
                                SSL_TICKET_STATUS status, void *arg)
{
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    void *data = NULL;
    size_t len = 0;
    m2m_candidate parsed, *c;
    m2m_err err;
    char fp[65];
    (void)keyname, (void)keyname_len, (void)arg;

    if (tc == NULL || tc->hs == NULL)
        return SSL_TICKET_RETURN_ABORT;
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* no ticket, or one we cannot open: full handshake */
    if (SSL_SESSION_get0_ticket_appdata(ss, &data, &len) != 1 || len == 0)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* an unbound context is not worth resuming */
    memset(&parsed, 0, sizeof parsed);
    if (m2m_resume_parse_appdata(data, len, &parsed, fp) != 0) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "ticket carries no valid binding");
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    if (strcmp(fp, tc->env->cert_fp) != 0)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* issued under another Registrar certificate: verify afresh */
    /* OpenSSL would decline a TLS 1.2 session in TLS 1.3 and the reverse itself; refusing it here means no
     * candidate is recorded for it at all. */
    if (parsed.version != SSL_version(ssl) || SSL_SESSION_get_protocol_version(ss) != SSL_version(ssl)) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "ticket issued for another protocol version");
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    if (++tc->hs->lookups > M2M_TLS_CANDIDATES) {
        snprintf(tc->hs->failure, sizeof tc->hs->failure, "too many credentials offered");
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    /* A key past its lifetime (a GBA bootstrapping that expired) resumes nothing: the Registree bootstraps
     * again. */
    if (parsed.peer.not_after != 0 && m2m_clock_now() >= parsed.peer.not_after) {
        m2m_logf(tc->env->log, "resume registree=%s mechanism=%s peer=%s result=refused reason=the key's lifetime "
                               "(bootstrapping) is over; full handshake required", parsed.peer.registree_id,
                 parsed.peer.mechanism, tc->addr);
        return SSL_TICKET_RETURN_IGNORE;
    }
    /* The enrolment is checked on every resumption, exactly as on a full handshake. */
    if (!enrolment_active(tc->env, parsed.peer.registree_id, m2m_peer_enrol_id(&parsed.peer), &err)) {
        m2m_logf(tc->env->log, "resume registree=%s mechanism=%s peer=%s result=refused reason=enrolment revoked or "
                               "replaced; full handshake required", parsed.peer.registree_id, parsed.peer.mechanism,
                 tc->addr);
        return SSL_TICKET_RETURN_IGNORE;
    }
    if ((c = m2m_bind_candidate(tc, M2M_CAND_TICKET)) == NULL)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    parsed.kind = M2M_CAND_TICKET;
    *c = parsed;
    if (m2m_bind_vouch(ss, c) != 0) {
        c->kind = M2M_CAND_FREE;
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    return status == SSL_TICKET_SUCCESS_RENEW ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

void m2m_resume_install(SSL_CTX *ctx, int64_t period)
{
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    /* Stateless tickets only: no server-side cache, so resumption works across nodes and restarts. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    /* A session lives as long as the key that seals its ticket can be accepted, not OpenSSL's 2 h default. */
    SSL_CTX_set_timeout(ctx, (long)(2 * period));
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
    SSL_CTX_set_session_ticket_cb(ctx, gen_cb, dec_cb, NULL);
}
