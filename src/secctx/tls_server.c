/* The Registrar's TLS context: TLS 1.2 and 1.3 only, the oneM2M suites of DESIGN.md section 2, no resumption
 * until x.y.4 is implemented (a resumed session would skip the enrolment check). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <string.h>
#include <sys/socket.h>

#include "registrar/server.h"

/* The server's order decides. TLS 1.2 PSK suites: forward secrecy (ECDHE-PSK) first, then GCM, then the oneM2M
 * mandatory PSK-AES128-CBC-SHA256 for clients that offer nothing else. */
static const char TLS12_PSK_SUITES[] = "ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256";
/* With a Registrar certificate: the oneM2M mandatory certificate suite (OpenSSL's name for
 * TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256) and its GCM sibling as well, after the PSK ones, so that a client
 * offering both authenticates with its key. */
static const char TLS12_ALL_SUITES[] = "ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256:"
                                       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256";
/* TLS 1.3 external PSKs are bound to SHA-256: SHA-256 suites first, or a client that prefers a SHA-384 suite would
 * have its PSK ignored. */
static const char TLS13_SUITES[] = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

/* The PSK callback runs before the key is proved. In TLS 1.3 OpenSSL may still go on without the PSK (e.g. when
 * the chosen suite's hash does not match it) and complete a certificate handshake instead; the identity the
 * callback saw must then not bind anything. A handshake really authenticated by the PSK is a PSK suite in TLS
 * 1.2, and a PSK ("reused") handshake in TLS 1.3. */
static int psk_was_used(const SSL *ssl)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    if (SSL_version(ssl) == TLS1_3_VERSION)
        return SSL_session_reused(ssl) == 1;
    return cipher != NULL && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_psk;
}

static int conn_index = -1;
static pthread_once_t conn_index_once = PTHREAD_ONCE_INIT;

static void conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    conn *c = ptr;
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (c == NULL)
        return;
    /* Runs on the worker thread that frees the SSL: unlink from that worker's list. */
    if (c->prev)
        c->prev->next = c->next;
    else if (c->w && c->w->conns == c)
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->w != NULL)
        __atomic_sub_fetch(&c->w->reg->metrics.open_connections, 1, __ATOMIC_RELAXED);
    OPENSSL_cleanse(&c->peer, sizeof c->peer);
    OPENSSL_free(c);
}

static void make_index(void)
{
    conn_index = SSL_get_ex_new_index(0, "m2m conn", NULL, NULL, conn_free_cb);
}

int m2m_conn_ex_index(void)
{
    pthread_once(&conn_index_once, make_index);
    return conn_index;
}

conn *m2m_conn_of(SSL *ssl)
{
    return ssl ? SSL_get_ex_data(ssl, m2m_conn_ex_index()) : NULL;
}

static void tls_error(m2m_err *err, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    m2m_fail(err, M2M_E_TLS, "%s: %s", what, e ? buf : "unknown OpenSSL error");
    ERR_clear_error();
}

/* One log line per attachment: when the handshake completes or a fatal alert is sent during it. */
static void info_cb(const SSL *ssl, int where, int ret)
{
    conn *c = m2m_conn_of((SSL *)ssl);
    if (c == NULL)
        return;
    if ((where & SSL_CB_HANDSHAKE_START) && !c->established) {
        /* Responses go out as several TLS records; without NODELAY, Nagle and delayed ACKs add 40 ms. */
        int one = 1, fd = SSL_get_fd(ssl);
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (where & (SSL_CB_HANDSHAKE_DONE | SSL_CB_WRITE_ALERT))
        m2m_conn_fill_addr(c);
    if (where & SSL_CB_HANDSHAKE_DONE) {
        if (c->established)
            return; /* TLS 1.3 post-handshake messages */
        c->established = 1;
        if (!c->resumed && strcmp(c->peer.mechanism, "psk") == 0 && c->peer.registree_id[0] != '\0' &&
            !psk_was_used(ssl)) {
            m2m_log(c->w->reg, "attach mechanism=psk registree=%s peer=%s result=refused reason=psk_identity offered "
                               "but the handshake did not use the PSK; context left unbound", c->peer.registree_id,
                    c->addr);
            OPENSSL_cleanse(&c->peer, sizeof c->peer);
            c->psk_pending = 0;
        }
        if (c->peer.registree_id[0] != '\0') {
            int mech = m2m_mech_index(c->peer.mechanism);
            m2m_metrics *m = &c->w->reg->metrics;
            if (mech >= 0)
                __atomic_add_fetch(c->resumed ? &m->resumed[mech] : &m->full[mech], 1, __ATOMIC_RELAXED);
            m2m_log(c->w->reg, "attach mechanism=%s registree=%s key_id=%s peer=%s result=ok handshake=%s "
                               "version=%s cipher=%s ms=%.2f", c->peer.mechanism, c->peer.registree_id,
                    c->peer.key_id, c->addr, c->resumed ? "resumed" : "full", SSL_get_version(ssl),
                    SSL_get_cipher_name(ssl), m2m_ms_since(&c->t0));
            if (c->psk_pending)
                m2m_psk_promote(c);
        } else
            m2m_log(c->w->reg, "handshake peer=%s result=server-authenticated (unbound until a token registers) "
                               "version=%s cipher=%s ms=%.2f", c->addr, SSL_get_version(ssl),
                    SSL_get_cipher_name(ssl), m2m_ms_since(&c->t0));
    } else if ((where & SSL_CB_WRITE_ALERT) && (ret >> 8) == 2 /* fatal */ && !c->established) {
        __atomic_add_fetch(&c->w->reg->metrics.refused, 1, __ATOMIC_RELAXED);
        m2m_log(c->w->reg, "attach mechanism=%s registree=%s peer=%s result=refused alert=%s reason=%s ms=%.2f",
                c->peer.mechanism[0] ? c->peer.mechanism : "-",
                c->peer.registree_id[0] ? c->peer.registree_id : "-", c->addr, SSL_alert_desc_string_long(ret),
                c->failure[0] ? c->failure : "handshake failed", m2m_ms_since(&c->t0));
    }
}

SSL_CTX *m2m_tls_server_ctx(const m2m_registrar_config *cfg, m2m_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_error(err, "cannot create the TLS context");
        return NULL;
    }
    if (m2m_conn_ex_index() < 0) {
        tls_error(err, "cannot allocate SSL ex_data");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, cfg->cert[0] ? TLS12_ALL_SUITES : TLS12_PSK_SUITES) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1) {
        tls_error(err, "cannot set cipher suites");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Resumption must not depend on which worker or node issued the ticket. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"m2mattach", 9);
    m2m_resume_install(ctx, cfg->ticket_period);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_info_callback(ctx, info_cb);
    m2m_psk_install(ctx);
    if (m2m_cert_install(ctx, cfg, err) != 0)
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
