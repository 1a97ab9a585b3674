/* SPDX-License-Identifier: Apache-2.0 */
/* The per-connection state of a Registrar TLS context: its life tied to the SSL's, its peer address, and the
 * operations the CSE may use on it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include "secctx/binding.h"
#include "secctx/tls_conn.h"
#include "util/clock.h"

static const char *const MECH_NAMES[M2M_MECH_COUNT] = {"psk", "cert", "token", "gba"};

int m2m_mech_index(const char *mechanism)
{
    for (int i = 0; i < M2M_MECH_COUNT; i++)
        if (strcmp(mechanism, MECH_NAMES[i]) == 0)
            return i;
    return -1;
}

const char *m2m_mech_name(int index)
{
    return index >= 0 && index < M2M_MECH_COUNT ? MECH_NAMES[index] : "?";
}

static int conn_index = -1, session_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void conn_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    m2m_tls_conn *tc = ptr;
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (tc == NULL)
        return;
    /* Runs on the thread that frees the SSL. */
    if (tc->on_free != NULL)
        tc->on_free(tc);
    m2m_tls_conn_handshake_over(tc);
    OPENSSL_clear_free(tc, tc->size);
}

static void make_indexes(void)
{
    conn_index = SSL_get_ex_new_index(0, "m2m tls conn", NULL, NULL, conn_free_cb);
    /* No free or dup function: the value points into a connection's candidates, which it does not own. */
    session_index = SSL_SESSION_get_ex_new_index(0, "m2m candidate", NULL, NULL, NULL);
}

static int index_of(int which)
{
    pthread_once(&index_once, make_indexes);
    return which ? session_index : conn_index;
}

int m2m_tls_session_index(void)
{
    return index_of(1);
}

m2m_tls_conn *m2m_tls_conn_new(SSL *ssl, m2m_tls_env *env, size_t size, void (*on_free)(m2m_tls_conn *tc))
{
    m2m_tls_conn *tc;
    if (ssl == NULL || size < sizeof *tc || index_of(0) < 0 || index_of(1) < 0)
        return NULL;
    tc = OPENSSL_zalloc(size);
    if (tc == NULL)
        return NULL;
    tc->hs = OPENSSL_zalloc(sizeof *tc->hs);
    if (tc->hs == NULL) {
        OPENSSL_free(tc);
        return NULL;
    }
    tc->env = env;
    tc->ssl = ssl;
    tc->size = size;
    tc->local_fd = -1;
    snprintf(tc->addr, sizeof tc->addr, "?");
    m2m_clock_mark(&tc->t0);
    if (SSL_set_ex_data(ssl, index_of(0), tc) != 1) {
        OPENSSL_free(tc->hs);
        OPENSSL_free(tc);
        return NULL;
    }
    /* Set last: a failure above frees tc here, not through the owner. */
    tc->on_free = on_free;
    return tc;
}

m2m_tls_conn *m2m_tls_conn_new_local(int fd, m2m_tls_env *env, size_t size, void (*on_free)(m2m_tls_conn *tc))
{
    m2m_tls_conn *tc;
    if (fd < 0 || size < sizeof *tc || (tc = OPENSSL_zalloc(size)) == NULL)
        return NULL;
    if ((tc->hs = OPENSSL_zalloc(sizeof *tc->hs)) == NULL) {
        OPENSSL_free(tc);
        return NULL;
    }
    tc->env = env;
    tc->size = size;
    tc->local_fd = fd;
    tc->on_free = on_free;
    snprintf(tc->addr, sizeof tc->addr, "local");
    m2m_clock_mark(&tc->t0);
    return tc;
}

void m2m_tls_conn_free_local(m2m_tls_conn *tc)
{
    if (tc == NULL)
        return;
    if (tc->on_free != NULL)
        tc->on_free(tc);
    m2m_tls_conn_handshake_over(tc);
    OPENSSL_clear_free(tc, tc->size);
}

void m2m_tls_conn_handshake_over(m2m_tls_conn *tc)
{
    if (tc->hs != NULL) {
        OPENSSL_clear_free(tc->hs, sizeof *tc->hs);
        tc->hs = NULL;
    }
}

m2m_tls_conn *m2m_tls_conn_of(const SSL *ssl)
{
    return ssl ? SSL_get_ex_data(ssl, index_of(0)) : NULL;
}

void m2m_tls_conn_set_addr(m2m_tls_conn *tc, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(tc->addr, sizeof tc->addr, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(tc->addr, sizeof tc->addr, "[%s]:%u", host, ntohs(in6->sin6_port));
    }
}

void m2m_tls_conn_fill_addr(m2m_tls_conn *tc)
{
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof ss;
    int fd = tc->ssl != NULL && tc->addr[0] == '?' ? SSL_get_fd(tc->ssl) : -1;

    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    m2m_tls_conn_set_addr(tc, (const struct sockaddr *)&ss);
}

static int export_key(void *arg, const char *label, unsigned char *out, size_t len)
{
    m2m_tls_conn *tc = arg;
    if (tc->ssl == NULL) /* same equipment: no security context, nothing to export */
        return -1;
    return SSL_export_keying_material(tc->ssl, out, len, label, strlen(label), NULL, 0, 0) == 1 ? 0 : -1;
}

static int keygen_allowed(void *arg, char *why, size_t why_len)
{
    return m2m_bind_keygen_allowed(arg, why, why_len);
}

static int bind_token(void *arg, const m2m_peer *token_peer)
{
    return m2m_bind_decide(arg, token_peer) == 0 ? 0 : -1;
}

void m2m_tls_conn_secctx(m2m_tls_conn *tc, m2m_secctx *out)
{
    out->export_key = export_key;
    out->keygen_allowed = keygen_allowed;
    out->bind_token = bind_token;
    out->arg = tc;
}

void m2m_tls_env_clear(m2m_tls_env *env)
{
    OPENSSL_cleanse(env->keys, sizeof env->keys);
    env->nkeys = 0;
    OPENSSL_cleanse(&env->psk_cache, sizeof env->psk_cache);
}
