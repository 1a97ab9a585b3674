/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar's TLS context: TLS 1.2 and 1.3 only, the oneM2M suites of DESIGN.md section 2, every mechanism's
 * callbacks, and the moment the handshake completes, when binding.c decides who is speaking and one log line says
 * what the handshake did. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <string.h>
#include <sys/socket.h>

#include "secctx/binding.h"
#include "secctx/cert.h"
#include "secctx/gate.h"
#include "secctx/psk.h"
#include "secctx/resume.h"
#include "util/log.h"

/* The server's order decides. TLS 1.2 PSK suites: forward secrecy (ECDHE-PSK) first, then GCM, then the oneM2M
 * mandatory PSK-AES128-CBC-SHA256 for clients that offer nothing else. */
static const char TLS12_PSK_SUITES[] = "ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256";
/* With a Registrar certificate: the oneM2M mandatory certificate suite (OpenSSL's name for
 * TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256) and its GCM sibling as well, after the PSK ones, so that a client
 * offering both authenticates with its key. */
static const char TLS12_ALL_SUITES[] = "ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:PSK-AES128-CBC-SHA256:"
                                       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256";
/* TLS 1.3 external PSKs and our tickets are SHA-256: offering only SHA-256 suites means OpenSSL never has a
 * reason to skip an offered PSK or ticket for its hash and fall back to a certificate handshake. (The binding
 * decision does not rely on it; this removes the fallback for everyone.) */
static const char TLS13_SUITES[] = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
/* DTLS 1.2 (TS-0003 10.2 and DESIGN.md section 2): forward secrecy first -- OpenSSL has ECDHE-PSK only with
 * ChaCha20-Poly1305 (an AEAD) and CBC-SHA256, no ECDHE-PSK AES-GCM or CCM -- then PSK-AES128-GCM-SHA256, then the
 * oneM2M mandatory PSK-AES128-CCM8 that constrained devices offer alone. */
static const char DTLS12_PSK_SUITES[] = "ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256:"
                                        "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8";
/* With a Registrar certificate also ECDHE-ECDSA-AES128-CCM8 (the oneM2M mandatory DTLS certificate suite) and its
 * GCM sibling, after the PSK ones. */
static const char DTLS12_ALL_SUITES[] = "ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256:"
                                        "PSK-AES128-GCM-SHA256:PSK-AES128-CCM8:"
                                        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8";

static void tls_error(m2m_err *err, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    m2m_fail(err, M2M_E_TLS, "%s: %s", what, e ? buf : "unknown OpenSSL error");
    ERR_clear_error();
}

static void count(m2m_tls_env *env, unsigned long long *field)
{
    if (env->counters != NULL)
        __atomic_add_fetch(field, 1, __ATOMIC_RELAXED);
}

/* " binding=coap" or "" */
static const char *binding_of(const m2m_tls_env *env, char *buf, size_t cap)
{
    if (env->binding == NULL)
        return "";
    snprintf(buf, cap, " binding=%s", env->binding);
    return buf;
}

/* The handshake completed: decide, count, log, and promote a generated key on its first use. */
static void decide_and_log(m2m_tls_conn *tc)
{
    m2m_tls_env *env = tc->env;
    m2m_tls_counters *m = env->counters;
    SSL *ssl = tc->ssl;
    const char *kind;
    char b[32];

    if (m2m_bind_decide(tc, NULL) < 0)
        return;
    if (tc->on_established != NULL)
        tc->on_established(tc);
    kind = tc->proof == M2M_PROOF_RESUMED ? "resumed" : "full";
    if (tc->peer.registree_id[0] != '\0') {
        int mech = m2m_mech_index(tc->peer.mechanism);
        if (m != NULL && mech >= 0)
            count(env, tc->proof == M2M_PROOF_RESUMED ? &m->resumed[mech] : &m->full[mech]);
        m2m_logf(env->log, "attach mechanism=%s registree=%s key_id=%s peer=%s result=ok handshake=%s version=%s "
                           "cipher=%s ms=%.2f%s", tc->peer.mechanism, tc->peer.registree_id, tc->peer.key_id, tc->addr,
                 kind, SSL_get_version(ssl), SSL_get_cipher_name(ssl), m2m_ms_since(&tc->t0),
                 binding_of(env, b, sizeof b));
        m2m_psk_promote(tc);
        return;
    }
    if (m != NULL)
        count(env, &m->unbound);
    if (tc->hs->failure[0] != '\0')
        m2m_logf(env->log, "handshake peer=%s result=unbound reason=%s; server-authenticated only version=%s "
                           "cipher=%s session_reused=%d ms=%.2f%s", tc->addr, tc->hs->failure, SSL_get_version(ssl),
                 SSL_get_cipher_name(ssl), SSL_session_reused(ssl), m2m_ms_since(&tc->t0),
                 binding_of(env, b, sizeof b));
    else
        m2m_logf(env->log, "handshake peer=%s result=server-authenticated (unbound until a token registers) "
                           "version=%s cipher=%s ms=%.2f%s", tc->addr, SSL_get_version(ssl), SSL_get_cipher_name(ssl),
                 m2m_ms_since(&tc->t0), binding_of(env, b, sizeof b));
}

void m2m_tls_conn_refused(m2m_tls_conn *tc, const char *what)
{
    /* What was offered, for the operator: nothing here was proved. */
    const m2m_tls_hs *hs = tc->hs;
    const m2m_peer *offered = hs != NULL && hs->ncand > 0 ? &hs->cand[hs->ncand - 1].peer : NULL;
    char b[32];
    if (tc->refused || tc->established)
        return;
    tc->refused = 1;
    if (tc->env->counters != NULL)
        count(tc->env, &tc->env->counters->refused);
    m2m_logf(tc->env->log, "attach mechanism=%s registree=%s peer=%s result=refused %s reason=%s ms=%.2f%s",
             offered && offered->mechanism[0] ? offered->mechanism : "-",
             offered && offered->registree_id[0] ? offered->registree_id : "-", tc->addr, what,
             hs != NULL && hs->failure[0] ? hs->failure : "handshake failed", m2m_ms_since(&tc->t0),
             binding_of(tc->env, b, sizeof b));
}

static void established(m2m_tls_conn *tc)
{
    decide_and_log(tc);
    m2m_tls_conn_handshake_over(tc);
}

void m2m_tls_info_cb(const SSL *ssl, int where, int ret)
{
    m2m_tls_conn *tc = m2m_tls_conn_of(ssl);
    if (tc == NULL)
        return;
    if ((where & SSL_CB_HANDSHAKE_START) && !tc->established) {
        /* Responses go out as several TLS records; without NODELAY, Nagle and delayed ACKs add 40 ms. */
        int one = 1, fd = SSL_get_fd(ssl);
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* the socket is set now: Zn requests for GBA identities (x.y.5), and PSK lookups on a store whose reads are
         * round trips, will not block the loop */
        if (tc->env->gba != NULL || tc->env->reader != NULL)
            m2m_gate_attach(tc);
    }
    if (where & (SSL_CB_HANDSHAKE_DONE | SSL_CB_WRITE_ALERT))
        m2m_tls_conn_fill_addr(tc);
    if (where & SSL_CB_HANDSHAKE_DONE) {
        if (!tc->established) /* later ones are TLS 1.3 post-handshake messages */
            established(tc);
    } else if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT && (ret >> 8) == 2 /* fatal */ &&
               !tc->established) {
        /* (SSL_CB_WRITE_ALERT and SSL_CB_READ_ALERT share the SSL_CB_ALERT bit: both bits must match, or a
         * client's alert would read as the Registrar refusing) */
        char what[80];
        snprintf(what, sizeof what, "alert=%s", SSL_alert_desc_string_long(ret));
        m2m_tls_conn_refused(tc, what);
    } else if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT && (ret >> 8) == 2 && !tc->established) {
        /* The client gave up (it could not verify us, or a resumption it attempted without the secret). */
        char b[32];
        m2m_tls_conn_fill_addr(tc);
        tc->refused = 1;
        m2m_logf(tc->env->log, "attach peer=%s result=aborted alert=%s (sent by the client) ms=%.2f%s", tc->addr,
                 SSL_alert_desc_string_long(ret), m2m_ms_since(&tc->t0), binding_of(tc->env, b, sizeof b));
    }
}

int m2m_tls_server_setup(SSL_CTX *ctx, const m2m_tls_server_config *cfg, m2m_err *err)
{
    int has_cert = cfg->cert != NULL && cfg->cert[0] != '\0';
    const char *suites = cfg->dtls ? (has_cert ? DTLS12_ALL_SUITES : DTLS12_PSK_SUITES)
                                   : (has_cert ? TLS12_ALL_SUITES : TLS12_PSK_SUITES);

    if (m2m_tls_session_index() < 0) {
        tls_error(err, "cannot allocate SSL ex_data");
        return -1;
    }
    if (cfg->dtls ? SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
                        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1
                  : SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        tls_error(err, "cannot set the protocol version");
        return -1;
    }
    if (SSL_CTX_set_cipher_list(ctx, suites) != 1 ||
        (!cfg->dtls && SSL_CTX_set_ciphersuites(ctx, cfg->tls13_suites ? cfg->tls13_suites : TLS13_SUITES) != 1)) {
        tls_error(err, "cannot set cipher suites");
        return -1;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Resumption must not depend on which worker or node issued the ticket. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"m2mattach", 9);
    m2m_resume_install(ctx, cfg->ticket_period > 0 ? cfg->ticket_period : 12 * 3600);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    /* No read-ahead, although it would save half the read() calls (a PSK re-attachment makes 12): libevent 2.1's
     * bufferevent_openssl asks SSL_pending, which does not count bytes read ahead but not yet decrypted, so a request
     * that arrives with the client's Finished waits for the idle timeout (seen with GBA's gate, 10 s). (libcoap turns
     * read-ahead on for its DTLS context; it reads datagrams itself.) */
    if (!cfg->dtls)
        SSL_CTX_set_info_callback(ctx, m2m_tls_info_cb);
    if (cfg->dtls) {
        /* Every record fits one of libcoap's datagrams (COAP_DEFAULT_MTU, 1152 octets: larger handshake messages
         * are fragmented, larger CoAP bodies go block-wise), so no session needs OpenSSL's 17 KiB send buffer, kept
         * for the session's life (SSL_MODE_RELEASE_BUFFERS does nothing for DTLS in OpenSSL 3.0): 1.4 KiB of
         * record and 0.3 KiB less for the empty fragments that only CBC in TLS 1.0 uses. */
        SSL_CTX_set_max_send_fragment(ctx, M2M_DTLS_MAX_RECORD);
        SSL_CTX_set_options(ctx, SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS);
    }
    m2m_psk_install(ctx, cfg->gba);
    return m2m_cert_install(ctx, cfg, err);
}

SSL_CTX *m2m_tls_server_ctx(const m2m_tls_server_config *cfg, m2m_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(cfg->dtls ? DTLS_server_method() : TLS_server_method());
    if (ctx == NULL) {
        tls_error(err, "cannot create the TLS context");
        return NULL;
    }
    if (m2m_tls_server_setup(ctx, cfg, err) != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}
