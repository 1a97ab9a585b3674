/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/fixture_store.h"
#include "harness.h"

int h_failures = 0;
SSL_SESSION *h_next_session = NULL;
const char *h_psk_ciphers = NULL;
const char *h_psk_ciphersuites = NULL;
int h_psk_allow_cert = 0;

const char *h_path(const char *dir, const char *name)
{
    static char bufs[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(bufs[i], sizeof bufs[i], "%s/%s", dir, name);
    return bufs[i];
}

int h_registrar_pki(const h_registrar *r, char root_crt[400], char reg_crt[400], char reg_key[400])
{
    snprintf(root_crt, 400, "%s/root.crt", r->dir);
    snprintf(reg_crt, 400, "%s/registrar.crt", r->dir);
    snprintf(reg_key, 400, "%s/registrar.key", r->dir);
    return h_make_cert(root_crt, h_path(r->dir, "root.key"), "Registrar Root", NULL, NULL, NULL, 1, -60, 86400) != 0 ||
                   h_make_cert(reg_crt, reg_key, "in-cse.m2m.localhost", "DNS:in-cse.m2m.localhost,URI:/in-cse",
                               root_crt, h_path(r->dir, "root.key"), 0, -60, 86400) != 0
               ? -1
               : 0;
}

const char *h_bin(void)
{
    const char *b = getenv("M2M_BIN");
    return b ? b : "m2mattach";
}

int h_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

int h_sh_out(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    FILE *p;
    size_t n = 0;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    while (n + 1 < cap) {
        size_t got = fread(out + n, 1, cap - 1 - n, p);
        if (got == 0)
            break;
        n += got;
    }
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A node's own directory (log, clock, files), and its store's location. */
static int node_dir(h_registrar *r)
{
    signal(SIGPIPE, SIG_IGN); /* a test writing to a connection the Registrar closed must see EPIPE, not die */
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/m2m-it-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        return -1;
    snprintf(r->log, sizeof r->log, "%s/registrar.log", r->dir);
    return 0;
}

int h_registrar_init(h_registrar *r)
{
    /* SQLite in the node's directory, or under tests/pg/with_cluster.sh a new PostgreSQL database */
    if (node_dir(r) != 0 || fixture_store_location(r->dir, "registrar", r->db, sizeof r->db) != 0)
        return -1;
    return h_sh("'%s' registrar init --db '%s' --cse-id /in-cse --cse-name cse-base >/dev/null", h_bin(), r->db);
}

int h_registrar_init_shared(h_registrar *r, const h_registrar *first)
{
    if (node_dir(r) != 0)
        return -1;
    snprintf(r->db, sizeof r->db, "%s", first->db);
    return 0;
}

int h_pg(void)
{
    return fixture_pg() != NULL;
}

int h_registrar_start(h_registrar *r, int threads, const char *extra)
{
    int pipefd[2];
    char line[256] = "", port[16];
    size_t n = 0;
    pid_t pid;

    if (pipe(pipefd) != 0)
        return -1;
    snprintf(port, sizeof port, "%d", r->port);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char hp[64], th[16], cmd[2048];
        FILE *log = fopen(r->log, "a");
        snprintf(hp, sizeof hp, "127.0.0.1:%s", port);
        snprintf(th, sizeof th, "%d", threads);
        dup2(pipefd[1], 1);
        if (log)
            dup2(fileno(log), 2);
        close(pipefd[0]);
        snprintf(cmd, sizeof cmd, "exec '%s' registrar serve --db '%s' --https %s --threads %s %s", h_bin(), r->db, hp,
                 th, extra ? extra : "");
        {
            /* the Registrar's clock, which h_clock_advance moves (util/clock.h) */
            char clock[400];
            snprintf(clock, sizeof clock, "%s/clock", r->dir);
            setenv("M2M_INSECURE_TEST_CLOCK_FILE", clock, 1);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    /* The server prints "listening https port N" once its sockets are bound, then "listening coaps port N" with
     * --coaps, then "listening admin port N" with --admin. */
    {
        int want = 1 + (extra && strstr(extra, "--coaps") != NULL) + (extra && strstr(extra, "--admin") != NULL);
        int have = 0, https = 0;
        r->coaps_port = 0;
        while (have < want) {
            n = 0;
            while (n + 1 < sizeof line) {
                ssize_t got = read(pipefd[0], line + n, 1);
                if (got <= 0 || line[n] == '\n')
                    break;
                n++;
            }
            line[n] = '\0';
            if (n == 0)
                break;
            have++;
            if (sscanf(line, "listening https port %d", &r->port) == 1)
                https = 1;
            sscanf(line, "listening coaps port %d", &r->coaps_port);
            sscanf(line, "listening admin port %d", &r->admin_port);
        }
        close(pipefd[0]);
        if (!https) {
            fprintf(stderr, "registrar did not start (stdout: '%s'); log %s\n", line, r->log);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
    }
    r->pid = pid;
    return 0;
}

int h_clock_advance(h_registrar *r, long seconds)
{
    char path[400];
    FILE *f;
    r->clock_offset += seconds;
    snprintf(path, sizeof path, "%s/clock", r->dir);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    fprintf(f, "%ld\n", r->clock_offset);
    return fclose(f) == 0 ? 0 : -1;
}

int h_registrar_stop(h_registrar *r, int sig)
{
    int st = 0;
    if (r->pid <= 0)
        return -1;
    kill(r->pid, sig);
    waitpid(r->pid, &st, 0);
    r->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void h_registrar_cleanup(h_registrar *r)
{
    if (r->pid > 0)
        h_registrar_stop(r, SIGKILL);
    if (r->dir[0] != '\0') {
        if (h_failures > 0)
            h_sh("echo '--- registrar log ---' >&2; tail -n 40 '%s' >&2", r->log);
        h_sh("rm -rf '%s'", r->dir);
    }
}

/* The key goes to `enrol psk --key -` through a pipe: never into an argv (the shell's or m2mattach's), where
 * ps would show it. */
int h_enrol(h_registrar *r, const char *id, const char *key_hex)
{
    char cmd[1024];
    FILE *p;
    int st;
    snprintf(cmd, sizeof cmd, "'%s' enrol psk --db '%s' --registree-id '%s' --key - >/dev/null", h_bin(), r->db, id);
    p = popen(cmd, "w");
    if (p == NULL)
        return -1;
    fprintf(p, "%s\n", key_hex);
    st = pclose(p);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int h_revoke(h_registrar *r, const char *id)
{
    return h_sh("'%s' enrol revoke --db '%s' --registree-id '%s' >/dev/null", h_bin(), r->db, id);
}

/* The key reaches `keyid --kca-file` (or --kcc-file) in a private temporary file, never through an argv. */
void h_keyid(const char *id, const char *key_hex, char out[33])
{
    char buf[128] = "", path[] = "/tmp/m2m-it-key-XXXXXX";
    int fd = mkstemp(path); /* mode 0600 */
    size_t len = strlen(key_hex);
    out[0] = '\0';
    if (fd < 0)
        return;
    if (write(fd, key_hex, len) == (ssize_t)len && write(fd, "\n", 1) == 1)
        h_sh_out(buf, sizeof buf, "'%s' keyid --%s-file '%s'", h_bin(), id[0] == '/' ? "kcc" : "kca", path);
    close(fd);
    unlink(path);
    snprintf(out, 33, "%.32s", buf);
}

static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    h_tls *t = SSL_get_app_data(ssl);
    (void)hint;
    if (strlen(t->identity) + 1 > max_identity_len || t->key_len > max_psk_len)
        return 0;
    memcpy(identity, t->identity, strlen(t->identity) + 1);
    memcpy(psk, t->key, t->key_len);
    return (unsigned int)t->key_len;
}

static int psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                              SSL_SESSION **sess)
{
    h_tls *t = SSL_get_app_data(ssl);
    static const unsigned char aes128gcm[] = {0x13, 0x01};
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, aes128gcm);
    SSL_SESSION *s;
    if (cipher == NULL || (md != NULL && md != SSL_CIPHER_get_handshake_digest(cipher))) {
        *sess = NULL;
        return 1;
    }
    s = SSL_SESSION_new();
    if (s == NULL || !SSL_SESSION_set1_master_key(s, t->key, t->key_len) || !SSL_SESSION_set_cipher(s, cipher) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return 0;
    }
    *sess = s;
    *id = (const unsigned char *)t->identity;
    *idlen = strlen(t->identity);
    return 1;
}

int h_tcp(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct timeval tv = {10, 0};
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int h_connect_psk_identity(h_tls *t, int port, const char *identity, const char *key_hex, int version)
{
    long len = 0;
    unsigned char *key = OPENSSL_hexstr2buf(key_hex, &len);
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (key == NULL || len <= 0 || (size_t)len > sizeof t->key)
        goto fail;
    memcpy(t->key, key, (size_t)len);
    t->key_len = (size_t)len;
    snprintf(t->identity, sizeof t->identity, "%s", identity);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(t->ctx, version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(t->ctx, version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_cipher_list(t->ctx, h_psk_ciphers ? h_psk_ciphers
                                                  : "PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:ECDHE-PSK-AES128-CBC-SHA256");
    if (h_psk_ciphersuites != NULL)
        SSL_CTX_set_ciphersuites(t->ctx, h_psk_ciphersuites);
    SSL_CTX_set_psk_client_callback(t->ctx, psk_client_cb);
    SSL_CTX_set_psk_use_session_callback(t->ctx, psk_use_session_cb);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    t->ssl = SSL_new(t->ctx);
    if (t->ssl != NULL && h_next_session != NULL) {
        SSL_set_session(t->ssl, h_next_session);
        SSL_SESSION_free(h_next_session);
        h_next_session = NULL;
    }
    t->fd = h_tcp(port);
    if (t->ssl == NULL || t->fd < 0)
        goto fail;
    SSL_set_app_data(t->ssl, t);
    SSL_set_fd(t->ssl, t->fd);
    if (SSL_connect(t->ssl) != 1)
        goto fail;
    /* A PSK client that ends up in a certificate handshake (TLS 1.3 falls back to one when the PSK is refused
     * and the Registrar has a certificate) did not authenticate with its key: count it as refused, as the
     * Registree does. */
    if (SSL_get0_peer_certificate(t->ssl) != NULL && !h_psk_allow_cert)
        goto fail;
    OPENSSL_free(key);
    return 0;
fail:
    ERR_clear_error();
    OPENSSL_free(key);
    h_close(t);
    return -1;
}

int h_connect_psk(h_tls *t, int port, const char *id, const char *key_hex, int version)
{
    char kid[33];
    h_keyid(id, key_hex, kid);
    return h_connect_psk_identity(t, port, kid, key_hex, version);
}

void h_close(h_tls *t)
{
    if (t->ssl) {
        SSL_shutdown(t->ssl);
        SSL_free(t->ssl);
    }
    if (t->fd >= 0)
        close(t->fd);
    SSL_CTX_free(t->ctx);
    memset(t, 0, sizeof *t);
    t->fd = -1;
}

static int read_response(h_tls *t, h_resp *out)
{
    static char buf[1 << 17];
    size_t n = 0;
    char *hdr_end = NULL;
    long clen = -1;
    memset(out, 0, sizeof *out);
    for (;;) {
        int got;
        if (hdr_end != NULL) {
            size_t have = n - (size_t)(hdr_end + 4 - buf);
            if (clen >= 0 && have >= (size_t)clen)
                break;
        }
        if (n + 1 >= sizeof buf)
            return -1;
        got = SSL_read(t->ssl, buf + n, (int)(sizeof buf - 1 - n));
        if (got <= 0)
            return out->status ? 0 : -1;
        n += (size_t)got;
        buf[n] = '\0';
        if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *line = buf, *eol;
            sscanf(buf, "HTTP/1.1 %d", &out->status);
            clen = 0;
            while ((eol = strstr(line, "\r\n")) != NULL && eol < hdr_end) {
                line = eol + 2;
                if (strncasecmp(line, "X-M2M-RSC:", 10) == 0)
                    out->rsc = atoi(line + 10);
                else if (strncasecmp(line, "Content-Length:", 15) == 0)
                    clen = atol(line + 15);
                else if (strncasecmp(line, "Content-Location:", 17) == 0)
                    sscanf(line + 17, " %511[^\r]", out->location);
                else if (strncasecmp(line, "Connection: close", 17) == 0)
                    out->closed = 1;
            }
        }
    }
    snprintf(out->body, sizeof out->body, "%.*s", (int)clen, hdr_end + 4);
    return 0;
}

int h_raw(h_tls *t, const char *bytes, size_t len, h_resp *out)
{
    if (t->ssl == NULL || SSL_write(t->ssl, bytes, (int)len) != (int)len) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return read_response(t, out);
}

int h_request(h_tls *t, const char *method, const char *path, const char *from, int ty, const char *body,
              h_resp *out)
{
    static unsigned long rqi = 0;
    size_t cap = (body ? strlen(body) : 0) + strlen(path) + 1024, n;
    char *req = malloc(cap);
    int rc;
    if (req == NULL)
        return -1;
    n = (size_t)snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-M2M-RI: rq%lu\r\nX-M2M-RVI: 3\r\n",
                         method, path, ++rqi);
    if (from != NULL)
        n += (size_t)snprintf(req + n, cap - n, "X-M2M-Origin: %s\r\n", from);
    if (body != NULL) {
        if (ty > 0)
            n += (size_t)snprintf(req + n, cap - n, "Content-Type: application/json;ty=%d\r\n", ty);
        else
            n += (size_t)snprintf(req + n, cap - n, "Content-Type: application/json\r\n");
        n += (size_t)snprintf(req + n, cap - n, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    } else {
        n += (size_t)snprintf(req + n, cap - n, "\r\n");
    }
    rc = n < cap ? h_raw(t, req, n, out) : -1;
    free(req);
    return rc;
}

int h_register_ae(h_tls *t, const char *from, const char *api, h_resp *out)
{
    char body[256];
    snprintf(body, sizeof body, "{\"m2m:ae\":{\"api\":\"%s\",\"rr\":false,\"srv\":[\"3\"]}}", api);
    if (h_request(t, "POST", "/~/in-cse", from, 2, body, out) != 0)
        return -1;
    return out->rsc;
}

int h_done(const char *name)
{
    if (h_failures == 0) {
        printf("%s: all checks passed\n", name);
        return 0;
    }
    printf("%s: %d check(s) failed\n", name, h_failures);
    return 1;
}

static int tls_setup(h_tls *t, int version, const char *cipher)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL)
        return -1;
    SSL_CTX_set_min_proto_version(t->ctx, version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(t->ctx, version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    if (cipher != NULL)
        SSL_CTX_set_cipher_list(t->ctx, cipher);
    return 0;
}

static int tls_finish(h_tls *t, int port)
{
    t->ssl = SSL_new(t->ctx);
    if (t->ssl != NULL && h_next_session != NULL) {
        SSL_set_session(t->ssl, h_next_session);
        SSL_SESSION_free(h_next_session);
        h_next_session = NULL;
    }
    t->fd = h_tcp(port);
    if (t->ssl == NULL || t->fd < 0)
        return -1;
    SSL_set_app_data(t->ssl, t);
    SSL_set_fd(t->ssl, t->fd);
    SSL_set_tlsext_host_name(t->ssl, "in-cse.m2m.localhost");
    if (SSL_connect(t->ssl) != 1)
        return -1;
    /* TLS 1.3: a refused client certificate shows only when the server's alert arrives; read it now. */
    if (SSL_version(t->ssl) == TLS1_3_VERSION) {
        char c;
        struct timeval tv = {0, 200 * 1000}, old = {10, 0};
        setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (SSL_peek(t->ssl, &c, 1) <= 0) {
            int e = SSL_get_error(t->ssl, 0);
            if (e != SSL_ERROR_WANT_READ && !(e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
                return -1;
        }
        setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &old, sizeof old);
    }
    return 0;
}

int h_connect_cert(h_tls *t, int port, const char *ca, const char *cert, const char *key, int version,
                   const char *cipher)
{
    if (tls_setup(t, version, cipher) != 0)
        goto fail;
    if (ca != NULL) {
        if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (cert != NULL && (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
                         SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1))
        goto fail;
    if (tls_finish(t, port) != 0)
        goto fail;
    return 0;
fail:
    ERR_clear_error();
    h_close(t);
    return -1;
}

/* An EC key whose public point is the certificate's and whose private scalar is random: OpenSSL's key/cert match
 * check compares public halves only, so the handshake goes out and CertificateVerify carries a bad signature. */
static EVP_PKEY *mismatched_key(X509 *x)
{
    EVP_PKEY *pub = X509_get0_pubkey(x), *out = NULL;
    unsigned char point[133], scalar[32];
    size_t plen = 0;
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    BIGNUM *priv = NULL;
    if (b == NULL || pc == NULL ||
        EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &plen) != 1)
        goto done;
    RAND_bytes(scalar, sizeof scalar);
    scalar[0] &= 0x7f;
    priv = BN_bin2bn(scalar, sizeof scalar, NULL);
    if (priv == NULL || !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, plen) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, priv) || (params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
        EVP_PKEY_fromdata_init(pc) != 1 || EVP_PKEY_fromdata(pc, &out, EVP_PKEY_KEYPAIR, params) != 1)
        out = NULL;
done:
    BN_free(priv);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(pc);
    return out;
}

int h_connect_cert_wrong_key(h_tls *t, int port, const char *cert, int version)
{
    BIO *b = BIO_new_file(cert, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = x ? mismatched_key(x) : NULL;
    int rc = -1;
    BIO_free(b);
    if (k == NULL || tls_setup(t, version, NULL) != 0 || SSL_CTX_use_certificate(t->ctx, x) != 1 ||
        SSL_CTX_use_PrivateKey(t->ctx, k) != 1) {
        fprintf(stderr, "harness: cannot build the mismatched key\n");
        h_failures++;
        goto done;
    }
    rc = tls_finish(t, port);
done:
    if (rc != 0)
        h_close(t);
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return rc;
}

int h_make_cert(const char *crt, const char *key, const char *cn, const char *san, const char *issuer_crt,
                const char *issuer_key, int is_ca, long from_s, long until_s)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256"), *ik = NULL;
    X509 *x = X509_new(), *issuer = NULL;
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    FILE *f;
    BIO *b;
    int rc = -1;
    unsigned char serial[8];

    if (pk == NULL || x == NULL)
        goto done;
    if (issuer_crt != NULL) {
        b = BIO_new_file(issuer_crt, "r");
        issuer = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        b = BIO_new_file(issuer_key, "r");
        ik = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (issuer == NULL || ik == NULL)
            goto done;
    }
    X509_set_version(x, 2);
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), ((uint64_t)serial[0] << 56) | ((uint64_t)serial[1] << 48) |
                                                          ((uint64_t)serial[2] << 40) | ((uint64_t)serial[3] << 24) | serial[4]);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), until_s);
    X509_set_pubkey(x, pk);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    if (is_ca) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (san != NULL) {
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        if (ext == NULL)
            goto done;
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (X509_sign(x, ik ? ik : pk, EVP_sha256()) == 0)
        goto done;
    f = fopen(crt, "w");
    if (f == NULL || PEM_write_X509(f, x) != 1) {
        if (f)
            fclose(f);
        goto done;
    }
    fclose(f);
    f = fopen(key, "w");
    if (f == NULL || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1) {
        if (f)
            fclose(f);
        goto done;
    }
    fclose(f);
    chmod(key, 0600);
    rc = 0;
done:
    if (rc != 0) {
        fprintf(stderr, "harness: cannot make certificate %s\n", crt);
        ERR_print_errors_fp(stderr);
    }
    EVP_PKEY_free(pk);
    EVP_PKEY_free(ik);
    X509_free(x);
    X509_free(issuer);
    return rc;
}

void h_pubkey_hash(const char *crt, char out[65])
{
    BIO *b = BIO_new_file(crt, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL, d[32];
    int n = x ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;
    unsigned int dl = 0;
    out[0] = '\0';
    if (n > 0 && EVP_Digest(der, (size_t)n, d, &dl, EVP_sha256(), NULL) == 1)
        for (int i = 0; i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", d[i]);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(b);
}

SSL_SESSION *h_session(h_tls *t)
{
    return t->ssl ? SSL_get1_session(t->ssl) : NULL;
}

int h_reused(h_tls *t)
{
    return t->ssl ? SSL_session_reused(t->ssl) : 0;
}

int h_exported_key(h_tls *t, char key_hex[65])
{
    static const char label[] = "EXPORTER-oneM2M-Connection";
    unsigned char out[48];
    if (t->ssl == NULL || SSL_export_keying_material(t->ssl, out, sizeof out, label, sizeof label - 1, NULL, 0, 0) != 1)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(key_hex + 2 * i, 3, "%02x", out[16 + i]);
    return 0;
}

long long h_metric(h_registrar *r, const char *name)
{
    static char out[65536];
    char *p;
    out[0] = '\0';
    if (r->admin_port <= 0 || h_sh_out(out, sizeof out, "curl -s --max-time 5 http://127.0.0.1:%d/metrics",
                                       r->admin_port) != 0)
        return -1;
    for (p = strstr(out, name); p != NULL; p = strstr(p + 1, name))
        if ((p == out || p[-1] == '\n') && p[strlen(name)] == ' ')
            return atoll(p + strlen(name) + 1);
    return -1;
}
