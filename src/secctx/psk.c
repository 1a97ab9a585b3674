/* TLS-PSK mechanism (seed x.y.2 initial attachment, x.y.3 re-attachment; RFC 4279): psk_identity = Kcc_ID/Kca_ID,
 * psk = Kcc/Kca. The identity selects the enrolment in the store; the connection is bound to the enrolled
 * Registree ID only once the handshake has proved possession of the key. */
#include <string.h>

#include "m2mattach/keyid.h"
#include "registrar/server.h"

/* Used for TLS 1.2, and by OpenSSL for TLS 1.3 external PSKs too (with SHA-256 suites), so one lookup serves
 * both versions. Returning 0 refuses the identity: unknown_psk_identity in TLS 1.2, no PSK (and no certificate
 * to fall back on) in TLS 1.3. */
static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
    conn *c = m2m_conn_of(ssl);
    m2m_enrolment e;
    m2m_err err;
    unsigned int len = 0;

    if (c == NULL || identity == NULL)
        return 0;
    snprintf(c->peer.mechanism, sizeof c->peer.mechanism, "psk");
    if (strlen(identity) > M2M_KEYID_HEX_LEN) {
        snprintf(c->failure, sizeof c->failure, "psk_identity too long");
        return 0;
    }
    if (m2m_store_find_psk(c->w->st, identity, &e, &err) != 0) {
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
    m2m_enrolment_clear(&e);
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
