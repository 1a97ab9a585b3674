/* TLS session resumption (x.y.4): TLS 1.2 session tickets (RFC 5077) and TLS 1.3 tickets, sealed with keys that
 * live in the store (so any Registrar on the store resumes, and a restarted one too), rotated every period and
 * accepted for one more. The Registree ID, mechanism and credential ID travel inside the ticket; on every
 * resumption the enrolment is checked again, and a revoked or replaced one falls back to a full handshake. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "registrar/server.h"

#define APPDATA_VERSION "m2m2"

/* The Registrar certificate a ticket was issued under ("-" without one), computed once at start-up: a Registree
 * that resumes skips certificate verification, so a ticket must not carry it to a Registrar presenting another
 * certificate (a new CSE-ID, a new chain) even when the ticket keys are shared through the store. */
void m2m_resume_set_cert(struct m2m_registrar *reg)
{
    X509 *x = SSL_CTX_get0_certificate(reg->ctx);
    unsigned char md[32];
    unsigned int n = 0;
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != sizeof md) {
        snprintf(reg->cert_fp, sizeof reg->cert_fp, "-");
        return;
    }
    for (unsigned i = 0; i < sizeof md; i++)
        snprintf(reg->cert_fp + 2 * i, 3, "%02x", md[i]);
}

/* Per worker: refreshes the cached ticket keys; worker 0 also rotates them (any node may; one does per period). */
void m2m_resume_refresh_keys(struct worker *w, int rotate)
{
    m2m_ticket_key keys[M2M_TICKET_KEYS];
    int n = 0;
    m2m_err err;
    if (m2m_store_ticket_keys(w->st, (int64_t)time(NULL), w->reg->cfg.ticket_period, rotate, keys,
                              M2M_TICKET_KEYS, &n, &err) != 0) {
        m2m_log(w->reg, "ticket keys: %s", err.msg);
        return;
    }
    if (rotate && n > 0 && (w->nkeys == 0 || memcmp(keys[0].name, w->keys[0].name, 16) != 0))
        m2m_log(w->reg, "ticket keys: current key created %lld, %d accepted", (long long)keys[0].created, n);
    OPENSSL_cleanse(w->keys, sizeof w->keys);
    memcpy(w->keys, keys, sizeof keys);
    w->nkeys = n;
    OPENSSL_cleanse(keys, sizeof keys);
}

static int ticket_key_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
    conn *c = m2m_conn_of(ssl);
    struct worker *w = c ? c->w : NULL;
    const m2m_ticket_key *k = NULL;
    OSSL_PARAM params[2];
    int rc = 1;

    if (w == NULL || w->nkeys == 0)
        return enc ? -1 : 0;
    if (enc) {
        k = &w->keys[0];
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(key_name, k->name, 16);
    } else {
        for (int i = 0; i < w->nkeys && k == NULL; i++)
            if (CRYPTO_memcmp(key_name, w->keys[i].name, 16) == 0)
                k = &w->keys[i];
        if (k == NULL)
            return 0; /* unknown or expired key: full handshake */
        rc = k == &w->keys[0] ? 1 : 2; /* 2: still good, but renew the ticket under the current key */
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

/* The binding goes into the ticket. An unbound context (a token Registree before Step 5) gets an empty one,
 * which resumes into an unbound context again. */
static int gen_cb(SSL *ssl, void *arg)
{
    conn *c = m2m_conn_of(ssl);
    SSL_SESSION *sess = SSL_get0_session(ssl);
    char data[4 + 1 + 16 + 1 + M2M_ID_MAX + 1 + M2M_CRED_ID_MAX + 1 + 65];
    int n;
    (void)arg;
    if (c == NULL || sess == NULL)
        return 0;
    if (c->peer.registree_id[0] == '\0')
        return SSL_SESSION_set1_ticket_appdata(sess, "", 0);
    n = snprintf(data, sizeof data, "%s\n%s\n%s\n%s\n%s", APPDATA_VERSION, c->peer.mechanism,
                 c->peer.registree_id, c->peer.key_id, c->w->reg->cert_fp);
    if (n < 0 || (size_t)n >= sizeof data)
        return 0;
    return SSL_SESSION_set1_ticket_appdata(sess, data, (size_t)n);
}

static int parse_appdata(const char *data, size_t len, m2m_peer *out, char fp[65])
{
    char buf[4 + 1 + 16 + 1 + M2M_ID_MAX + 1 + M2M_CRED_ID_MAX + 1 + 65 + 1], *f[5], *save = NULL;
    int i = 0;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, data, len);
    buf[len] = '\0';
    for (char *t = strtok_r(buf, "\n", &save); t != NULL && i < 5; t = strtok_r(NULL, "\n", &save))
        f[i++] = t;
    if (i != 5 || strcmp(f[0], APPDATA_VERSION) != 0 || strlen(f[1]) >= sizeof out->mechanism ||
        strlen(f[2]) >= sizeof out->registree_id || strlen(f[3]) >= sizeof out->key_id || strlen(f[4]) >= 65)
        return -1;
    snprintf(fp, 65, "%s", f[4]);
    memset(out, 0, sizeof *out);
    snprintf(out->mechanism, sizeof out->mechanism, "%s", f[1]);
    snprintf(out->registree_id, sizeof out->registree_id, "%s", f[2]);
    snprintf(out->key_id, sizeof out->key_id, "%s", f[3]);
    return 0;
}

static SSL_TICKET_RETURN dec_cb(SSL *ssl, SSL_SESSION *ss, const unsigned char *keyname, size_t keyname_len,
                                SSL_TICKET_STATUS status, void *arg)
{
    conn *c = m2m_conn_of(ssl);
    void *data = NULL;
    size_t len = 0;
    m2m_peer p;
    m2m_err err;
    char fp[65];
    (void)keyname, (void)keyname_len, (void)arg;

    if (c == NULL)
        return SSL_TICKET_RETURN_ABORT;
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* no ticket, or one we cannot open: full handshake */
    if (SSL_SESSION_get0_ticket_appdata(ss, &data, &len) != 1 || len == 0)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* an unbound context is not worth resuming */
    if (parse_appdata(data, len, &p, fp) != 0) {
        snprintf(c->failure, sizeof c->failure, "ticket carries no valid binding");
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    if (strcmp(fp, c->w->reg->cert_fp) != 0)
        return SSL_TICKET_RETURN_IGNORE_RENEW; /* issued under another Registrar certificate: verify afresh */
    /* The enrolment is checked on every resumption, exactly as on a full handshake. */
    if (m2m_store_enrolment_active(c->w->st, p.registree_id, p.key_id, &err) != 1) {
        m2m_log(c->w->reg, "resume registree=%s mechanism=%s peer=%s result=refused reason=enrolment revoked or "
                           "replaced; full handshake required", p.registree_id, p.mechanism, c->addr);
        return SSL_TICKET_RETURN_IGNORE;
    }
    c->peer = p;
    c->resumed = 1;
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
