/* SPDX-License-Identifier: Apache-2.0 */
/* The binding decision (secctx/binding.c), driven through real OpenSSL handshakes in memory (BIO pairs): the
 * Registrar's own SSL_CTX and callbacks against a scripted client, a real SQLite store with enrolments, no sockets,
 * no daemon. Covers every mechanism, the candidate/outcome combinations, and the ticket and PSK-identity attacks
 * of issue 7 (most of which bound the victim before the fix). Two server contexts: the default one (SHA-256 TLS 1.3
 * suites only), and one that also allows TLS_AES_256_GCM_SHA384, so that the decision itself is tested without
 * that defence in depth. */
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "crypto/pubkey_hash.h"
#include "m2mattach/keyid.h"
#include "fixture_fake_bsf.h"
#include "pki_fixture.h"
#include "secctx/binding.h"
#include "secctx/gba.h"
#include "secctx/psk.h"
#include "secctx/tls_conn.h"
#include "secctx/zn_client.h"
#include "util/clock.h"

static char dir[128], logpath[300];
static m2m_store *st;
static m2m_tls_env env;
static m2m_tls_counters counters;
static SSL_CTX *srv_default, *srv_384;
static unsigned char K1[16], K2[16];
static char KID1[33], KID2[33], HASH_DEV[65];

/* x.y.5: this Registrar is the NAF cse.example.org. Its Ks_NAF cache is filled the way Zn fills it (Zn itself is
 * tested against the real BSF in tests/interop); the clock is the test's, so expiry needs no waiting. */
#define NAF_FQDN "cse.example.org"
#define IMPI1 "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"
#define IMPI2 "001010000000002@ims.mnc001.mcc001.3gppnetwork.org"
#define IMPI3 "001010000000003@ims.mnc001.mcc001.3gppnetwork.org"
/* Moves this process's clock (util/clock.h) so that it reads t; 0 puts it back. */
static void clock_at(int64_t t)
{
    m2m_clock_set_offset(0);
    if (t != 0)
        m2m_clock_set_offset(t - m2m_clock_now());
}
/* ---- the scripted client ---- */

typedef struct client_opts {
    int min_version, max_version;  /* TLS1_2_VERSION / TLS1_3_VERSION */
    const char *ciphers12;         /* NULL = PSK and ECDSA suites */
    const char *suites13;          /* NULL = the SHA-256 suites */
    const char *psk_identity;      /* external PSK (both versions), NULL = none */
    const unsigned char *psk;
    size_t psk_len;
    int psk_sha384;                /* TLS 1.3: the external PSK session uses TLS_AES_256_GCM_SHA384 */
    int cert;                      /* present the device certificate */
    SSL_SESSION *session;          /* a session (ticket) to offer */
    int verify;                    /* verify the Registrar's certificate (against no trust anchor: it fails) */
} client_opts;

static SSL_SESSION *last_session; /* the newest session the server issued to a client */

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    SSL_SESSION_free(last_session);
    last_session = sess;
    return 1; /* keep the reference */
}

static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    const client_opts *o = SSL_get_app_data(ssl);
    (void)hint;
    if (o->psk_identity == NULL || strlen(o->psk_identity) >= max_identity_len || o->psk_len > max_psk_len)
        return 0;
    strcpy(identity, o->psk_identity);
    memcpy(psk, o->psk, o->psk_len);
    return (unsigned int)o->psk_len;
}

static int psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                              SSL_SESSION **sess)
{
    static const unsigned char AES128GCM[] = {0x13, 0x01}, AES256GCM[] = {0x13, 0x02};
    const client_opts *o = SSL_get_app_data(ssl);
    SSL_SESSION *s;
    (void)md;
    *sess = NULL;
    if (o->psk_identity == NULL)
        return 1;
    s = SSL_SESSION_new();
    if (s == NULL || !SSL_SESSION_set1_master_key(s, o->psk, o->psk_len) ||
        !SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, o->psk_sha384 ? AES256GCM : AES128GCM)) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return 0;
    }
    *id = (const unsigned char *)o->psk_identity;
    *idlen = strlen(o->psk_identity);
    *sess = s;
    return 1;
}

static SSL *client_new(const client_opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl;
    assert_non_null(ctx);
    SSL_CTX_set_min_proto_version(ctx, o->min_version ? o->min_version : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, o->max_version ? o->max_version : TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_set_cipher_list(ctx, o->ciphers12 ? o->ciphers12
                                                                : "ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:"
                                                                  "PSK-AES128-CBC-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
                                                                  "ECDHE-ECDSA-AES128-SHA256"),
                     1);
    assert_int_equal(SSL_CTX_set_ciphersuites(ctx, o->suites13 ? o->suites13
                                                                : "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"),
                     1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    if (o->cert) {
        char crt[300], key[300];
        snprintf(crt, sizeof crt, "%s/device.crt", dir);
        snprintf(key, sizeof key, "%s/device.key", dir);
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    }
    if (o->verify)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (o->psk_identity != NULL) {
        SSL_CTX_set_psk_client_callback(ctx, psk_client_cb);
        SSL_CTX_set_psk_use_session_callback(ctx, psk_use_session_cb);
    }
    ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL keeps a reference */
    assert_non_null(ssl);
    SSL_set_app_data(ssl, (void *)o);
    if (o->session != NULL)
        assert_int_equal(SSL_set_session(ssl, o->session), 1);
    return ssl;
}

/* ---- one handshake, and what the server decided ---- */

typedef struct outcome {
    int completed;         /* the handshake finished on both ends */
    int client_reused;     /* the client resumed its session (or used its external PSK in TLS 1.3) */
    int version;
    char id[M2M_ID_MAX];   /* the binding, "" = none */
    char mech[16];
    char cred[M2M_CRED_ID_MAX];
    m2m_proof proof;
    int keygen;            /* m2m_bind_keygen_allowed */
    char log[1024];        /* the last log line of the handshake */
} outcome;

static void last_log_line(char *out, size_t cap)
{
    char buf[1 << 14], *p, *line;
    FILE *f;
    size_t n;
    fflush(env.log);
    /* the end of the file: the whole log outgrows any buffer as the suite goes on */
    assert_non_null(f = fopen(logpath, "r"));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    if (ftell(f) > (long)sizeof buf - 1)
        assert_int_equal(fseek(f, -(long)(sizeof buf - 1), SEEK_END), 0);
    else
        rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    p = buf + strlen(buf);
    while (p > buf && p[-1] == '\n')
        *--p = '\0';
    line = strrchr(buf, '\n');
    snprintf(out, cap, "%s", line ? line + 1 : buf);
}

static int run_gated; /* the connection has a gate that asked Zn ahead (gate.c): the callbacks never ask Zn */

static outcome run(SSL_CTX *sctx, const client_opts *o)
{
    SSL *c = client_new(o), *s = SSL_new(sctx);
    m2m_tls_conn *tc = m2m_tls_conn_new(s, &env, sizeof *tc, NULL);
    BIO *bc = NULL, *bs = NULL;
    outcome out;
    int cdone = 0, sdone = 0;
    char why[160];
    unsigned char byte;

    memset(&out, 0, sizeof out);
    assert_non_null(tc);
    tc->gated = run_gated;
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (int i = 0, failed = 0; i < 50 && !(cdone && sdone) && !failed; i++) {
        int rc;
        if (!cdone) {
            rc = SSL_do_handshake(c);
            if (rc == 1)
                cdone = 1;
            else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
                failed = 1; /* the server still reads the client's alert below */
        }
        if (!sdone) {
            rc = SSL_do_handshake(s);
            if (rc == 1)
                sdone = 1;
            else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
                failed = 1;
        }
    }
    out.completed = cdone && sdone;
    if (out.completed) {
        /* the client reads what the server sent after its Finished (TLS 1.3 tickets) */
        SSL_read(c, &byte, 1);
        out.client_reused = SSL_session_reused(c);
        out.version = SSL_version(s);
        snprintf(out.id, sizeof out.id, "%s", tc->peer.registree_id);
        snprintf(out.mech, sizeof out.mech, "%s", tc->peer.mechanism);
        snprintf(out.cred, sizeof out.cred, "%s", tc->peer.key_id);
        out.proof = tc->proof;
        out.keygen = m2m_bind_keygen_allowed(tc, why, sizeof why);
        assert_int_equal(tc->established, 1);
        assert_null(tc->hs); /* the handshake state (every candidate) is gone once the outcome is logged */
    }
    last_log_line(out.log, sizeof out.log);
    if (getenv("M2M_TEST_VERBOSE") != NULL)
        fprintf(stderr, "completed=%d reused=%d id=%s proof=%d log: %s\n", out.completed, out.client_reused, out.id,
                (int)out.proof, out.log);
    ERR_clear_error();
    if (out.completed)
        SSL_shutdown(c); /* a session of a connection not shut down cleanly is not resumable */
    ERR_clear_error();
    SSL_free(c);
    SSL_free(s);
    return out;
}

/* A session for later resumption: the one the server issued in a full handshake with o. */
static SSL_SESSION *ticket_from(SSL_CTX *sctx, const client_opts *o, const char *expect_id)
{
    SSL_SESSION *sess;
    outcome r;
    SSL_SESSION_free(last_session);
    last_session = NULL;
    r = run(sctx, o);
    assert_true(r.completed);
    assert_string_equal(r.id, expect_id);
    assert_non_null(last_session);
    sess = last_session;
    last_session = NULL;
    if (getenv("M2M_TEST_VERBOSE") != NULL)
        fprintf(stderr, "ticket: has_ticket=%d resumable=%d version=%x\n", SSL_SESSION_has_ticket(sess),
                SSL_SESSION_is_resumable(sess), SSL_SESSION_get_protocol_version(sess));
    return sess;
}

/* A copy of sess as an eavesdropper holds it: the ticket (sent in clear) but not the secret. Optionally presented
 * as another version and suite. */
static SSL_SESSION *stolen(SSL_SESSION *sess, int version, const unsigned char *suite)
{
    unsigned char zero[48] = {0};
    SSL_SESSION *s = SSL_SESSION_dup(sess);
    SSL *tmp;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(s);
    assert_int_equal(SSL_SESSION_set1_master_key(s, zero, SSL_SESSION_get_master_key(sess, NULL, 0)), 1);
    if (version)
        assert_int_equal(SSL_SESSION_set_protocol_version(s, version), 1);
    if (suite != NULL) {
        tmp = SSL_new(ctx);
        assert_int_equal(SSL_SESSION_set_cipher(s, SSL_CIPHER_find(tmp, suite)), 1);
        SSL_free(tmp);
    }
    SSL_CTX_free(ctx);
    return s;
}

static const unsigned char TLS13_AES256_SHA384[] = {0x13, 0x02};
static const unsigned char TLS12_ECDSA_GCM[] = {0xc0, 0x2b};

/* ---- set-up ---- */

static SSL_CTX *server_ctx(const char *tls13_suites)
{
    char crt[300], key[300];
    m2m_tls_server_config cfg = {0};
    m2m_err err;
    SSL_CTX *ctx;
    snprintf(crt, sizeof crt, "%s/registrar.crt", dir);
    snprintf(key, sizeof key, "%s/registrar.key", dir);
    cfg.cert = crt;
    cfg.key = key;
    cfg.ticket_period = 3600;
    cfg.tls13_suites = tls13_suites;
    ctx = m2m_tls_server_ctx(&cfg, &err);
    if (ctx == NULL)
        fprintf(stderr, "server context: %s\n", err.msg);
    return ctx;
}

static const char *impi_id(const char *impi)
{
    static char id[4][65];
    static int n;
    char *out = id[n++ % 4];
    m2m_gba_impi_id(impi, out);
    return out;
}

static int setup(void **state)
{
    char db[300], path[300];
    m2m_secret k = {0};
    m2m_err err;
    (void)state;

    if (pki_make_tmp(dir, sizeof dir, "binding") != 0)
        return -1;
    snprintf(db, sizeof db, "%s/registrar.db", dir);
    snprintf(logpath, sizeof logpath, "%s/registrar.log", dir);
    st = m2m_store_open(db, 1, &err);
    if (st == NULL || m2m_store_set_identity(st, "/in-cse", "cse-base", &err) != 0)
        return -1;
    RAND_bytes(K1, sizeof K1);
    RAND_bytes(K2, sizeof K2);
    if (m2m_secret_set(&k, K1, sizeof K1, &err) != 0 || m2m_keyid(M2M_KEY_KCA, K1, sizeof K1, KID1, &err) != 0 ||
        m2m_store_enrol_psk(st, "Cpsk1", &k, KID1, &err) != 0 ||
        m2m_secret_set(&k, K2, sizeof K2, &err) != 0 || m2m_keyid(M2M_KEY_KCA, K2, sizeof K2, KID2, &err) != 0 ||
        m2m_store_enrol_psk(st, "Cpsk2", &k, KID2, &err) != 0)
        return -1;
    m2m_secret_clear(&k);
    snprintf(path, sizeof path, "%s/device.crt", dir);
    if (m2m_pubkey_hash_file(path, HASH_DEV, &err) != 0 ||
        m2m_store_enrol_cert(st, "Ccert", HASH_DEV, NULL, &err) != 0)
        return -1;
    env.st = st;
    env.log = fopen(logpath, "w+");
    env.ticket_period = 3600;
    env.counters = &counters;
    env.gba = m2m_gba_naf_new(NAF_FQDN, NULL, &err);
    if (env.gba == NULL || m2m_store_enrol_gba(st, "Cgba1", impi_id(IMPI1), IMPI1, &err) != 0 ||
        m2m_store_enrol_gba(st, "Cgba2", impi_id(IMPI2), IMPI2, &err) != 0)
        return -1;
    srv_default = server_ctx(NULL);
    srv_384 = server_ctx("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384");
    if (env.log == NULL || srv_default == NULL || srv_384 == NULL)
        return -1;
    m2m_tls_cert_fingerprint(srv_default, env.cert_fp);
    m2m_tls_env_rotate_keys(&env); /* no writer: at once */
    return env.nkeys > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    SSL_SESSION_free(last_session);
    SSL_CTX_free(srv_default);
    SSL_CTX_free(srv_384);
    m2m_gba_naf_free(env.gba);
    m2m_tls_env_clear(&env);
    if (env.log)
        fclose(env.log);
    m2m_store_close(st);
    fixture_rmdir(dir);
    return 0;
}

static client_opts psk(int version, const char *identity, const unsigned char *key)
{
    client_opts o = {.min_version = version, .max_version = version, .psk_identity = identity, .psk = key,
                     .psk_len = 16};
    return o;
}

static void assert_unbound(const outcome *r)
{
    if (r->completed) {
        assert_string_equal(r->id, "");
        assert_int_equal(r->proof, M2M_PROOF_NONE);
        assert_int_equal(r->keygen, 0);
        assert_null(strstr(r->log, "result=ok"));
    }
}

/* ---- the mechanisms, each way they can be proved ---- */

static void test_psk_full(void **state)
{
    (void)state;
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = psk(v, KID1, K1);
        outcome r = run(srv_default, &o);
        assert_true(r.completed);
        assert_string_equal(r.id, "Cpsk1");
        assert_string_equal(r.mech, "psk");
        assert_string_equal(r.cred, KID1);
        assert_int_equal(r.proof, M2M_PROOF_FULL);
        assert_non_null(strstr(r.log, "attach mechanism=psk registree=Cpsk1 "));
        assert_non_null(strstr(r.log, "handshake=full"));
        /* ECDHE-PSK in TLS 1.2, psk_dhe_ke in TLS 1.3: forward secret, proved here */
        assert_int_equal(r.keygen, 1);
    }
}

static void test_psk_wrong_key_or_unknown(void **state)
{
    unsigned char wrong[16];
    (void)state;
    RAND_bytes(wrong, sizeof wrong);
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = psk(v, KID1, wrong);
        outcome r = run(srv_default, &o);
        assert_false(r.completed); /* TLS 1.2: bad Finished; TLS 1.3: bad binder */
        assert_non_null(strstr(r.log, "result=refused"));
        /* an unknown identity: TLS 1.2 refuses it (unknown_psk_identity); TLS 1.3 ignores the PSK and, on a
         * Registrar with a certificate, completes a server-authenticated handshake that binds nobody */
        o = psk(v, "00112233445566778899aabbccddeeff", K1);
        r = run(srv_default, &o);
        assert_int_equal(r.completed, v == TLS1_3_VERSION);
        assert_unbound(&r);
        if (!r.completed)
            assert_non_null(strstr(r.log, "unknown or revoked psk_identity"));
    }
}

/* A client that gives up on the Registrar (here: its certificate does not verify) binds nobody, and the log says
 * the client ended it, with its alert -- not that the Registrar refused. */
static void test_client_aborts(void **state)
{
    (void)state;
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = {.min_version = v, .max_version = v, .cert = 1, .verify = 1};
        outcome r = run(srv_default, &o);
        assert_false(r.completed);
        assert_non_null(strstr(r.log, "result=aborted"));
        assert_non_null(strstr(r.log, "(sent by the client)"));
    }
}

/* A handshake on the Registrar's context for an SSL that has no connection record (an owner that did not make
 * one): every callback refuses rather than guess -- no PSK is found, no client certificate accepted, no ticket
 * opened. Returns 1 when the handshake completed; *reused when it resumed. */
static int run_without_record(const client_opts *o, int *reused)
{
    SSL *c = client_new(o), *s = SSL_new(srv_default);
    BIO *bc = NULL, *bs = NULL;
    int cdone = 0, sdone = 0;
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (int i = 0, failed = 0; i < 50 && !(cdone && sdone) && !failed; i++) {
        int rc;
        if (!cdone && (rc = SSL_do_handshake(c)) == 1)
            cdone = 1;
        else if (!cdone && SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
            failed = 1;
        if (!sdone && (rc = SSL_do_handshake(s)) == 1)
            sdone = 1;
        else if (!sdone && SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
            failed = 1;
    }
    *reused = cdone && sdone && SSL_session_reused(s);
    ERR_clear_error();
    SSL_free(c);
    SSL_free(s);
    return cdone && sdone;
}

static void test_no_connection_record(void **state)
{
    client_opts o = psk(TLS1_2_VERSION, KID1, K1), t = psk(TLS1_3_VERSION, KID1, K1);
    client_opts crt = {.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION, .cert = 1};
    int reused = 0;
    (void)state;
    assert_false(run_without_record(&o, &reused));   /* TLS 1.2 PSK: no key found */
    assert_false(run_without_record(&crt, &reused)); /* no certificate accepted */
    t.session = ticket_from(srv_default, &t, "Cpsk1");
    t.psk_identity = NULL;
    run_without_record(&t, &reused);                  /* a real ticket of Cpsk1: not opened */
    assert_false(reused);
    SSL_SESSION_free(t.session);
}

/* A psk_identity that cannot be a key ID (too long, empty) is refused before any lookup, in TLS 1.2 where the
 * identity decides the handshake; in TLS 1.3 the PSK is skipped and nobody is bound. */
static void test_psk_identity_not_a_key_id(void **state)
{
    (void)state;
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = psk(v, "00112233445566778899aabbccddeeff00", K1);
        outcome r = run(srv_default, &o);
        assert_unbound(&r);
        if (!r.completed)
            assert_non_null(strstr(r.log, "psk_identity is not a key ID"));
        else
            assert_int_equal(v, TLS1_3_VERSION);
    }
}

/* The earlier bug of this shape: a TLS 1.3 client names an enrolled key ID without holding the key and prefers a
 * SHA-384 suite. A server that allows SHA-384 skips the PSK and completes a certificate handshake: unbound. The
 * default server has no SHA-384 suite: no handshake at all. */
static void test_psk_identity_without_key(void **state)
{
    unsigned char wrong[16];
    client_opts o;
    outcome r;
    (void)state;
    RAND_bytes(wrong, sizeof wrong);
    o = psk(TLS1_3_VERSION, KID1, wrong);
    o.suites13 = "TLS_AES_256_GCM_SHA384";
    r = run(srv_384, &o);
    assert_true(r.completed);
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "result=unbound"));
    assert_non_null(strstr(r.log, "psk_identity of Cpsk1"));
    r = run(srv_default, &o);
    assert_false(r.completed);
    /* even the right key: the PSK cannot be used with the suite, so it proves nothing */
    o = psk(TLS1_3_VERSION, KID1, K1);
    o.suites13 = "TLS_AES_256_GCM_SHA384";
    r = run(srv_384, &o);
    assert_true(r.completed);
    assert_unbound(&r);
}

static void test_cert_full_and_unbound(void **state)
{
    (void)state;
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = {.min_version = v, .max_version = v, .cert = 1};
        outcome r = run(srv_default, &o);
        assert_true(r.completed);
        assert_string_equal(r.id, "Ccert");
        assert_string_equal(r.mech, "cert");
        assert_string_equal(r.cred, HASH_DEV);
        assert_int_equal(r.proof, M2M_PROOF_FULL);
        assert_int_equal(r.keygen, 1);
        assert_non_null(strstr(r.log, "attach mechanism=cert registree=Ccert "));
        /* no client certificate: server-authenticated, unbound (a token may bind it later) */
        o.cert = 0;
        r = run(srv_default, &o);
        assert_true(r.completed);
        assert_unbound(&r);
        assert_non_null(strstr(r.log, "result=server-authenticated"));
    }
}

/* SQL on the Registrar's store file through a connection of its own: a real fault of the store, made as another
 * process (an operator's sqlite3) would make it. */
static void store_sql(const char *sql)
{
    char db[300];
    sqlite3 *h = NULL;
    snprintf(db, sizeof db, "%s/registrar.db", dir);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(h, 10000);
    if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    sqlite3_close(h);
}

/* A certificate enrolment whose root (x.y.6 with a chain) is no certificate binds nobody: the chain cannot be
 * checked, so the certificate is refused, not taken on its key alone. */
static void test_cert_enrolled_root_unusable(void **state)
{
    client_opts o = {.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .cert = 1};
    outcome r;
    (void)state;
    store_sql("UPDATE enrolment SET chain_root = 'not a PEM certificate' WHERE registree_id = 'Ccert'");
    r = run(srv_default, &o);
    store_sql("UPDATE enrolment SET chain_root = NULL WHERE registree_id = 'Ccert'");
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "enrolled root certificate cannot be used"));
    r = run(srv_default, &o);
    assert_string_equal(r.id, "Ccert");
}

/* ---- resumption: the legitimate way ---- */

static void test_resumption(void **state)
{
    (void)state;
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = psk(v, KID1, K1), c = {.min_version = v, .max_version = v, .cert = 1};
        outcome r;
        o.session = ticket_from(srv_default, &o, "Cpsk1");
        r = run(srv_default, &o);
        assert_true(r.completed && r.client_reused);
        assert_string_equal(r.id, "Cpsk1");
        assert_int_equal(r.proof, M2M_PROOF_RESUMED);
        assert_int_equal(r.keygen, 0); /* x.y.8 needs a credential proved in this connection */
        assert_non_null(strstr(r.log, "attach mechanism=psk registree=Cpsk1 "));
        assert_non_null(strstr(r.log, "handshake=resumed"));
        SSL_SESSION_free(o.session);
        /* a certificate Registree resumes without sending its certificate */
        c.session = ticket_from(srv_default, &c, "Ccert");
        c.cert = 0;
        r = run(srv_default, &c);
        assert_true(r.completed && r.client_reused);
        assert_string_equal(r.id, "Ccert");
        assert_string_equal(r.mech, "cert");
        assert_int_equal(r.proof, M2M_PROOF_RESUMED);
        assert_non_null(strstr(r.log, "handshake=resumed"));
        SSL_SESSION_free(c.session);
    }
}

/* A fresh random 16-octet PSK enrolled for id in store s (a generated key, pending until used, when generated): its
 * key and key ID out. */
static void enrol_random(m2m_store *s, const char *id, int generated, unsigned char key[16], char kid[33])
{
    m2m_secret k = {0};
    m2m_err err;
    RAND_bytes(key, 16);
    assert_int_equal(m2m_keyid(M2M_KEY_KCA, key, 16, kid, &err), 0);
    assert_int_equal(m2m_secret_set(&k, key, 16, &err), 0);
    assert_int_equal(generated ? m2m_store_enrol_generated_psk(s, id, &k, kid, &err)
                               : m2m_store_enrol_psk(s, id, &k, kid, &err), 0);
    m2m_secret_clear(&k);
}

/* The store fails during the handshake: a credential that could not be looked up binds nobody -- not a PSK, not a
 * certificate, not a ticket whose enrolment cannot be checked -- and the refusal says the store failed, not that
 * the credential is unknown. Once the store is back, the same credentials bind. */
static void test_store_failure_binds_nobody(void **state)
{
    unsigned char k3[16];
    char kid3[33];
    client_opts c = {.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .cert = 1};
    outcome r;
    (void)state;
    /* a key no handshake has used yet: not in the worker's PSK cache, so the lookup goes to the store */
    enrol_random(st, "Cpsk3", 0, k3, kid3);
    c.session = ticket_from(srv_default, &c, "Ccert");
    c.cert = 0;

    store_sql("ALTER TABLE enrolment RENAME TO enrolment_gone");
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = psk(v, kid3, k3), crt = {.min_version = v, .max_version = v, .cert = 1};
        r = run(srv_default, &o);
        assert_unbound(&r);
        if (!r.completed) /* TLS 1.2; TLS 1.3 goes on without the PSK, server-authenticated and unbound */
            assert_non_null(strstr(r.log, "store failure"));
        r = run(srv_default, &crt);
        assert_unbound(&r);
        assert_non_null(strstr(r.log, "store failure"));
    }
    r = run(srv_default, &c); /* the ticket of Ccert: its enrolment cannot be checked */
    assert_unbound(&r);
    store_sql("ALTER TABLE enrolment_gone RENAME TO enrolment");

    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o = psk(v, kid3, k3);
        r = run(srv_default, &o);
        assert_string_equal(r.id, "Cpsk3");
    }
    r = run(srv_default, &c);
    assert_string_equal(r.id, "Ccert");
    assert_int_equal(r.proof, M2M_PROOF_RESUMED);
    SSL_SESSION_free(c.session);
}

/* The worker's PSK cache is trusted only while the store's enrolment generation says nothing changed. When the
 * generation cannot be read, the cache is not used: a key revoked behind it (here straight in the table, so no
 * generation could tell) is refused, read afresh from the store. */
static void test_psk_cache_not_trusted_blind(void **state)
{
    client_opts o = psk(TLS1_2_VERSION, KID2, K2);
    outcome r;
    (void)state;
    r = run(srv_default, &o); /* KID2 now in the cache */
    assert_string_equal(r.id, "Cpsk2");
    store_sql("ALTER TABLE meta RENAME TO meta_gone");
    store_sql("UPDATE enrolment SET revoked = 1 WHERE registree_id = 'Cpsk2' AND mechanism = 'psk'");
    r = run(srv_default, &o);
    assert_unbound(&r);
    assert_false(r.completed);
    store_sql("UPDATE enrolment SET revoked = 0 WHERE registree_id = 'Cpsk2' AND mechanism = 'psk'");
    store_sql("ALTER TABLE meta_gone RENAME TO meta");
    r = run(srv_default, &o);
    assert_string_equal(r.id, "Cpsk2");
}

/* A generated key (x.y.8) is promoted once it is used; a promotion the store cannot commit is logged and leaves the
 * key pending -- still accepted, promoted again by its next use -- rather than half-done. */
static void test_promotion_store_failure(void **state)
{
    unsigned char kg[16];
    char kidg[33], line[1024];
    m2m_secret k = {0};
    m2m_err err;
    m2m_tls_conn tc;
    m2m_enrolment e;
    (void)state;
    enrol_random(st, "Cpsk2", 1, kg, kidg);
    memset(&tc, 0, sizeof tc);
    tc.env = &env;
    snprintf(tc.addr, sizeof tc.addr, "?");
    snprintf(tc.peer.registree_id, sizeof tc.peer.registree_id, "Cpsk2");
    snprintf(tc.peer.key_id, sizeof tc.peer.key_id, "%s", kidg);

    store_sql("CREATE TRIGGER fault BEFORE UPDATE ON enrolment BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
    tc.pending_key = 1;
    m2m_psk_promote(&tc); /* no writer here: the job runs at once */
    store_sql("DROP TRIGGER fault");
    last_log_line(line, sizeof line);
    assert_non_null(strstr(line, "promote generated key of Cpsk2"));
    assert_int_equal(m2m_store_find_psk(st, kidg, &e, &err), 0);
    assert_int_equal(e.pending, 1);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), 0); /* the previous key too */
    m2m_enrolment_clear(&e);

    tc.pending_key = 1;
    m2m_psk_promote(&tc);
    last_log_line(line, sizeof line);
    assert_non_null(strstr(line, "generated key now current"));
    assert_int_equal(m2m_store_find_psk(st, kidg, &e, &err), 0);
    assert_int_equal(e.pending, 0);
    m2m_enrolment_clear(&e);
    assert_int_equal(m2m_store_find_psk(st, KID2, &e, &err), -1); /* retired */
    /* put Cpsk2 back on KID2 for the tests after this one */
    assert_int_equal(m2m_secret_set(&k, K2, sizeof K2, &err), 0);
    assert_int_equal(m2m_store_enrol_psk(st, "Cpsk2", &k, KID2, &err), 0);
    m2m_secret_clear(&k);
}

/* Ticket keys that cannot be read or rotated: the Registrar keeps the keys it has (tickets sealed with them still
 * resume) and says why in the log; it neither drops them nor makes up new ones of its own. */
static void test_ticket_keys_store_failure(void **state)
{
    m2m_ticket_key before[M2M_TICKET_KEYS];
    client_opts o = psk(TLS1_2_VERSION, KID1, K1);
    char line[1024];
    int n = env.nkeys;
    outcome r;
    (void)state;
    memcpy(before, env.keys, sizeof before);
    o.session = ticket_from(srv_default, &o, "Cpsk1");

    store_sql("ALTER TABLE ticket_key RENAME TO ticket_key_gone");
    m2m_tls_env_read_keys(&env);
    last_log_line(line, sizeof line);
    assert_non_null(strstr(line, "ticket keys: "));
    assert_int_equal(env.nkeys, n);
    assert_memory_equal(env.keys, before, sizeof before);
    /* past the rotation period: the rotation fails (no writer here: it runs at once) and changes nothing */
    clock_at(m2m_clock_now() + 2 * env.ticket_period);
    m2m_tls_env_rotate_keys(&env);
    clock_at(0);
    last_log_line(line, sizeof line);
    assert_non_null(strstr(line, "ticket keys: "));
    assert_int_equal(env.rotating, 0);
    assert_int_equal(env.nkeys, n);
    assert_memory_equal(env.keys, before, sizeof before);
    /* past two periods every key it holds is one no Registrar accepts: it attaches, but seals no ticket */
    {
        client_opts fresh = psk(TLS1_3_VERSION, KID1, K1);
        SSL_SESSION_free(last_session);
        last_session = NULL;
        clock_at(m2m_clock_now() + 3 * env.ticket_period);
        r = run(srv_default, &fresh);
        clock_at(0);
        assert_string_equal(r.id, "Cpsk1");
        assert_true(last_session == NULL || !SSL_SESSION_has_ticket(last_session));
    }
    store_sql("ALTER TABLE ticket_key_gone RENAME TO ticket_key");

    r = run(srv_default, &o);
    assert_true(r.completed && r.client_reused);
    assert_string_equal(r.id, "Cpsk1");
    assert_int_equal(r.proof, M2M_PROOF_RESUMED);
    SSL_SESSION_free(o.session);
}

/* A server-authenticated (unbound) TLS 1.3 context gets a ticket with no binding; offered later it resumes
 * nothing: a full handshake, unbound again. */
static void test_unbound_ticket_not_resumed(void **state)
{
    client_opts o = {.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION};
    outcome r;
    (void)state;
    o.session = ticket_from(srv_default, &o, "");
    r = run(srv_default, &o);
    assert_true(r.completed);
    assert_false(r.client_reused);
    assert_unbound(&r);
    SSL_SESSION_free(o.session);
}

/* A revoked enrolment does not resume: the ticket is refused and a full handshake follows. */
static void test_resumption_after_revoke(void **state)
{
    unsigned char k3[16];
    char kid3[33];
    m2m_err err;
    client_opts o, first;
    outcome r;
    (void)state;
    enrol_random(st, "Crev", 0, k3, kid3);
    o = psk(TLS1_3_VERSION, kid3, k3);
    first = o;
    first.session = ticket_from(srv_default, &first, "Crev");
    o.session = ticket_from(srv_default, &o, "Crev");
    first.psk_identity = o.psk_identity = NULL; /* the tickets alone (two: a TLS 1.3 client uses each once) */
    /* resumed while enrolled: the server remembers the enrolment active (resume.c) ... */
    r = run(srv_default, &first);
    assert_true(r.completed);
    assert_true(r.client_reused);
    SSL_SESSION_free(first.session);
    /* ... and forgets it when the enrolments change: the very next resumption is refused */
    assert_int_equal(m2m_store_revoke(st, "Crev", &err), 0);
    r = run(srv_default, &o);
    assert_true(r.completed);
    assert_unbound(&r);
    assert_false(r.client_reused);
    SSL_SESSION_free(o.session);
}

/* A revoke or re-key committed by another process applies to the very next handshake, however soon: the PSK cache
 * re-reads the store's enrolment generation on every hit (it used to trust the log file's coarse times). */
static void test_revoke_applies_to_next_handshake(void **state)
{
    char db[300];
    unsigned char k4[16], k5[16];
    char kid4[33], kid5[33];
    m2m_secret k = {0};
    m2m_err err;
    m2m_store *other;
    client_opts o;
    outcome r;
    (void)state;
    snprintf(db, sizeof db, "%s/registrar.db", dir);
    other = m2m_store_open(db, 0, &err);
    assert_non_null(other);
    RAND_bytes(k4, sizeof k4);
    RAND_bytes(k5, sizeof k5);
    assert_int_equal(m2m_secret_set(&k, k4, sizeof k4, &err), 0);
    assert_int_equal(m2m_keyid(M2M_KEY_KCA, k4, sizeof k4, kid4, &err), 0);
    assert_int_equal(m2m_store_enrol_psk(other, "Clive", &k, kid4, &err), 0);
    for (int round = 0; round < 20; round++) {
        o = psk(TLS1_2_VERSION, kid4, k4);
        r = run(srv_default, &o); /* fills the cache */
        assert_string_equal(r.id, "Clive");
        r = run(srv_default, &o); /* a cache hit */
        assert_string_equal(r.id, "Clive");
        /* re-key from another connection, then at once the old key again: refused */
        assert_int_equal(m2m_secret_set(&k, k5, sizeof k5, &err), 0);
        assert_int_equal(m2m_keyid(M2M_KEY_KCA, k5, sizeof k5, kid5, &err), 0);
        assert_int_equal(m2m_store_enrol_psk(other, "Clive", &k, kid5, &err), 0);
        r = run(srv_default, &o);
        assert_false(r.completed);
        /* and back, for the next round */
        assert_int_equal(m2m_secret_set(&k, k4, sizeof k4, &err), 0);
        assert_int_equal(m2m_store_enrol_psk(other, "Clive", &k, kid4, &err), 0);
    }
    m2m_secret_clear(&k);
    m2m_store_close(other);
}

/* ---- the ticket attacks of issue 7 (an eavesdropper holds the ticket, not its secret) ---- */

/* 1. A TLS 1.3 ticket offered with a suite of another hash: OpenSSL decrypts it, skips it, completes a
 *    certificate handshake. Before the fix this bound the victim ("handshake=resumed"). */
static void test_attack_ticket_other_hash(void **state)
{
    client_opts o = psk(TLS1_3_VERSION, KID1, K1), a = {.min_version = TLS1_3_VERSION,
                                                       .max_version = TLS1_3_VERSION,
                                                       .suites13 = "TLS_AES_256_GCM_SHA384"};
    outcome r;
    SSL_SESSION *t = ticket_from(srv_default, &o, "Cpsk1");
    (void)state;
    a.session = stolen(t, 0, NULL);
    r = run(srv_384, &a);
    assert_true(r.completed);
    assert_false(r.client_reused);
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "session ticket of Cpsk1"));
    r = run(srv_default, &a); /* the default Registrar has no SHA-384 suite */
    assert_false(r.completed);
    /* the same ticket with a SHA-256 suite: OpenSSL checks the binder, which needs the secret */
    a.suites13 = NULL;
    r = run(srv_default, &a);
    assert_false(r.completed);
    SSL_SESSION_free(a.session);
    SSL_SESSION_free(t);
}

/* 1b. A TLS 1.2 ticket re-offered as a TLS 1.3 identity. */
static void test_attack_tls12_ticket_as_tls13(void **state)
{
    client_opts o = psk(TLS1_2_VERSION, KID1, K1), a = {.min_version = TLS1_3_VERSION,
                                                       .max_version = TLS1_3_VERSION};
    SSL_SESSION *t = ticket_from(srv_default, &o, "Cpsk1");
    outcome r;
    (void)state;
    a.session = stolen(t, TLS1_3_VERSION, TLS13_AES256_SHA384);
    a.suites13 = "TLS_AES_256_GCM_SHA384";
    r = run(srv_384, &a);
    assert_unbound(&r);
    SSL_SESSION_free(a.session);
    a.session = stolen(t, TLS1_3_VERSION, (const unsigned char *)"\x13\x01");
    a.suites13 = NULL;
    r = run(srv_default, &a);
    assert_unbound(&r);
    assert_false(r.completed && r.client_reused);
    SSL_SESSION_free(a.session);
    SSL_SESSION_free(t);
}

/* 1c. A certificate Registree's TLS 1.3 ticket, with no client certificate. */
static void test_attack_cert_ticket_without_cert(void **state)
{
    client_opts o = {.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION, .cert = 1},
                a = {.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION,
                     .suites13 = "TLS_AES_256_GCM_SHA384"};
    SSL_SESSION *t = ticket_from(srv_default, &o, "Ccert");
    outcome r;
    (void)state;
    a.session = stolen(t, 0, NULL);
    r = run(srv_384, &a);
    assert_true(r.completed);
    assert_unbound(&r);
    SSL_SESSION_free(a.session);
    SSL_SESSION_free(t);
}

/* 1d. A TLS 1.2 (PSK) ticket offered on a TLS 1.2 certificate suite. */
static void test_attack_tls12_ticket_cert_suite(void **state)
{
    client_opts o = psk(TLS1_2_VERSION, KID1, K1),
                a = {.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
                     .ciphers12 = "ECDHE-ECDSA-AES128-GCM-SHA256"};
    SSL_SESSION *t = ticket_from(srv_default, &o, "Cpsk1");
    outcome r;
    (void)state;
    a.session = stolen(t, 0, NULL);
    r = run(srv_default, &a);
    assert_unbound(&r);
    SSL_SESSION_free(a.session);
    /* and with the suite rewritten to the certificate suite */
    a.session = stolen(t, 0, TLS12_ECDSA_GCM);
    r = run(srv_default, &a);
    assert_unbound(&r);
    SSL_SESSION_free(a.session);
    SSL_SESSION_free(t);
}

/* 1e. A TLS 1.3 ticket inside a TLS 1.2 ClientHello: OpenSSL drops it for the version; the certificate handshake
 *     that follows used to stay bound as the ticket's Registree. */
static void test_attack_tls13_ticket_in_tls12(void **state)
{
    client_opts o = psk(TLS1_3_VERSION, KID1, K1), c = {.min_version = TLS1_3_VERSION,
                                                       .max_version = TLS1_3_VERSION, .cert = 1},
                a = {.min_version = TLS1_2_VERSION, .max_version = TLS1_2_VERSION,
                     .ciphers12 = "ECDHE-ECDSA-AES128-GCM-SHA256"};
    SSL_SESSION *t = ticket_from(srv_default, &o, "Cpsk1"), *tc = ticket_from(srv_default, &c, "Ccert");
    outcome r;
    (void)state;
    a.session = stolen(t, TLS1_2_VERSION, TLS12_ECDSA_GCM);
    r = run(srv_default, &a);
    assert_true(r.completed);
    assert_false(r.client_reused);
    assert_unbound(&r);
    SSL_SESSION_free(a.session);
    a.session = stolen(tc, TLS1_2_VERSION, TLS12_ECDSA_GCM);
    r = run(srv_default, &a);
    assert_true(r.completed);
    assert_unbound(&r);
    SSL_SESSION_free(a.session);
    SSL_SESSION_free(t);
    SSL_SESSION_free(tc);
}

/* 2. A ticket offered first and another Registree's key ID (sent in clear in every PSK handshake) with a random
 *    key second. Before the fix the PSK callback overwrote the ticket's candidate and the "resumed" flag stayed:
 *    bound as the other Registree, who never used resumption. */
static void test_attack_ticket_then_other_kid(void **state)
{
    unsigned char random_key[16];
    client_opts o = psk(TLS1_3_VERSION, KID1, K1), a;
    SSL_SESSION *t = ticket_from(srv_default, &o, "Cpsk1");
    outcome r;
    (void)state;
    RAND_bytes(random_key, sizeof random_key);
    a = psk(TLS1_3_VERSION, KID2, random_key);
    a.psk_sha384 = 1;
    a.suites13 = "TLS_AES_256_GCM_SHA384";
    a.session = stolen(t, 0, NULL);
    r = run(srv_384, &a);
    assert_unbound(&r);
    if (r.completed)
        assert_null(strstr(r.log, "registree=Cpsk2 "));
    /* with SHA-256 everywhere the binders are checked: no handshake */
    a.psk_sha384 = 0;
    a.suites13 = NULL;
    r = run(srv_default, &a);
    assert_false(r.completed);
    SSL_SESSION_free(a.session);
    SSL_SESSION_free(t);
}

/* A ticket of a session issued under v2 of the binding format (or any unknown one) is not resumed. A client may
 * also offer garbage as a ticket: full handshake with its real credential, bound as that. */
static void test_garbage_ticket_then_real_credential(void **state)
{
    client_opts o = psk(TLS1_3_VERSION, KID2, K2), g = psk(TLS1_2_VERSION, KID2, K2);
    SSL_SESSION *t = ticket_from(srv_default, &o, "Cpsk2");
    SSL_SESSION *s = stolen(t, 0, NULL);
    unsigned char junk[200];
    outcome r;
    (void)state;
    RAND_bytes(junk, sizeof junk);
    assert_int_equal(SSL_SESSION_set1_ticket_appdata(s, "x", 1), 1); /* client-side only: does not change the ticket */
    o.session = s;
    r = run(srv_default, &o); /* the ticket's binder fails (zero secret): refused as a whole */
    assert_false(r.completed);
    SSL_SESSION_free(s);
    SSL_SESSION_free(t);
    /* TLS 1.2: an undecryptable ticket is ignored and the PSK handshake binds */
    t = ticket_from(srv_default, &g, "Cpsk2");
    s = stolen(t, 0, NULL);
    g.session = s;
    r = run(srv_default, &g);
    /* OpenSSL resumes only with the secret: the zeroed one makes the Finished fail, or the server ignores it */
    if (r.completed) {
        assert_string_equal(r.id, "Cpsk2");
        assert_int_equal(r.proof, M2M_PROOF_FULL);
    }
    SSL_SESSION_free(s);
    SSL_SESSION_free(t);
}

/* ---- the property: whatever the client does, the binding is the credential the handshake proved ---- */

static void test_property_binding_equals_proof(void **state)
{
    enum { MECH_PSK, MECH_CERT, MECH_NONE };
    SSL_CTX *servers[2] = {srv_default, srv_384};
    int runs = 0;
    (void)state;
    for (int srv = 0; srv < 2; srv++)
        for (int mech = MECH_PSK; mech <= MECH_NONE; mech++)
            for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++)
                for (int resume = 0; resume <= 1; resume++)
                    for (int variant = 0; variant < 4; variant++) {
                        client_opts o = {.min_version = v, .max_version = v};
                        SSL_SESSION *own = NULL, *foreign = NULL;
                        const char *want_id = "", *want_mech = "";
                        outcome r;
                        if (mech == MECH_PSK) {
                            o = psk(v, KID1, K1);
                            want_id = "Cpsk1";
                            want_mech = "psk";
                        } else if (mech == MECH_CERT) {
                            o.cert = 1;
                            want_id = "Ccert";
                            want_mech = "cert";
                        }
                        if (resume && mech != MECH_NONE)
                            own = ticket_from(servers[srv], &o, want_id);
                        /* variants: 0 plain; 1 prefers SHA-384; 2 offers a stolen ticket of Cpsk2 first (when
                         * not resuming its own); 3 both */
                        if (variant & 1)
                            o.suites13 = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
                        if ((variant & 2) && own == NULL) {
                            client_opts f = psk(v, KID2, K2);
                            SSL_SESSION *t = ticket_from(servers[srv], &f, "Cpsk2");
                            foreign = stolen(t, 0, NULL);
                            SSL_SESSION_free(t);
                        }
                        o.session = own != NULL ? own : foreign;
                        r = run(servers[srv], &o);
                        runs++;
                        if (!r.completed) {
                            /* refusing is always allowed (a stolen ticket's binder, or a resumption the client
                             * cannot finish without the ticket's secret, ends it) */
                            assert_true(strstr(r.log, "result=refused") != NULL ||
                                        strstr(r.log, "result=aborted") != NULL);
                        } else if (r.id[0] != '\0') {
                            /* bound: exactly the credential the client holds, never the stolen ticket's */
                            assert_string_equal(r.id, want_id);
                            assert_string_equal(r.mech, want_mech);
                            assert_int_equal(r.proof == M2M_PROOF_RESUMED,
                                             r.client_reused && !(mech == MECH_PSK && v == TLS1_3_VERSION &&
                                                                  own == NULL));
                            assert_non_null(strstr(r.log, r.proof == M2M_PROOF_RESUMED ? "handshake=resumed"
                                                                                     : "handshake=full"));
                            {
                                char m[64];
                                snprintf(m, sizeof m, "mechanism=%s registree=%s ", want_mech, want_id);
                                assert_non_null(strstr(r.log, m));
                            }
                        } else {
                            /* unbound: only when the client proved nothing it holds (no credential, or a PSK that
                             * the suite it forced cannot use) */
                            assert_true(mech == MECH_NONE ||
                                        (mech == MECH_PSK && v == TLS1_3_VERSION && srv == 1 && (variant & 1)));
                            assert_int_equal(r.keygen, 0);
                        }
                        SSL_SESSION_free(own);
                        SSL_SESSION_free(foreign);
                    }
    assert_int_equal(runs, 2 * 3 * 2 * 2 * 4);
}


/* ---- x.y.5: GBA, the Registrar as NAF ---- */

typedef struct gba_dev {
    char impi[M2M_IMPI_MAX];
    char btid[M2M_BTID_MAX];
    char identity[M2M_BTID_MAX + 32]; /* "3GPP-bootstrapping." B-TID */
    uint8_t ks[32], rand[16];
    int64_t expires;
} gba_dev;

/* The TLS 1.2 PSK suites this Registrar offers, by their Ua ids. */
static const struct { const char *name; uint16_t id; } GBA_SUITES[] = {
    {"PSK-AES128-CBC-SHA256", 0x00ae}, {"PSK-AES128-GCM-SHA256", 0x00a8}, {"ECDHE-PSK-AES128-CBC-SHA256", 0xc037}};

/* Ks_NAF of dev for this NAF under (version, suite), as the UE derives it. */
static void gba_key(const gba_dev *d, int version, uint16_t suite, uint8_t out[32])
{
    uint8_t ua[5], naf_id[M2M_GBA_NAF_ID_MAX];
    size_t len;
    m2m_err err;
    m2m_gba_ua_id(version, suite, ua);
    assert_int_equal(m2m_gba_naf_id(NAF_FQDN, ua, naf_id, &len, &err), 0);
    assert_int_equal(m2m_gba_ks_naf(d->ks, d->rand, d->impi, naf_id, len, out, &err), 0);
}

/* A bootstrapping of impi valid for lifetime seconds, that this NAF has not heard of. */
static void gba_dev_new(gba_dev *d, const char *impi, int64_t lifetime)
{
    static int n;
    memset(d, 0, sizeof *d);
    snprintf(d->impi, sizeof d->impi, "%s", impi);
    RAND_bytes(d->ks, sizeof d->ks);
    RAND_bytes(d->rand, sizeof d->rand);
    EVP_EncodeBlock((unsigned char *)d->btid, d->rand, 16);
    snprintf(d->btid + 24, sizeof d->btid - 24, "@bsf%d.example.org", n++);
    snprintf(d->identity, sizeof d->identity, "3GPP-bootstrapping.%s", d->btid);
    d->expires = m2m_clock_now() + lifetime;
}

/* A bootstrapping of impi valid for lifetime seconds, and what Zn would have told this NAF about it. */
static void gba_bootstrap(gba_dev *d, const char *impi, int64_t lifetime)
{
    uint8_t ks_naf[32], ua[5];
    m2m_secret k = {0};
    m2m_err err;
    gba_dev_new(d, impi, lifetime);
    for (int i = -1; i < 3; i++) {
        int v = i < 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
        uint16_t suite = i < 0 ? 0x1301 : GBA_SUITES[i].id;
        gba_key(d, v, suite, ks_naf);
        m2m_gba_ua_id(v, suite, ua);
        assert_int_equal(m2m_secret_set(&k, ks_naf, 32, &err), 0);
        m2m_gba_cache_put(env.gba, d->btid, ua, 1, &k, impi, d->expires, 0);
    }
    m2m_secret_clear(&k);
}

static client_opts gba_opts(int version, int suite, const char *identity, const uint8_t *key)
{
    client_opts o = {.min_version = version, .max_version = version, .psk_identity = identity, .psk = key,
                     .psk_len = 32, .ciphers12 = version == TLS1_2_VERSION ? GBA_SUITES[suite].name : NULL};
    return o;
}

static void assert_gba_bound(const outcome *r, const char *id, const gba_dev *d)
{
    char kid[33], m[96];
    m2m_gba_btid_key_id(d->btid, kid);
    assert_true(r->completed);
    assert_string_equal(r->id, id);
    assert_string_equal(r->mech, "gba");
    assert_string_equal(r->cred, kid);
    assert_int_equal(r->proof, M2M_PROOF_FULL);
    snprintf(m, sizeof m, "attach mechanism=gba registree=%s ", id);
    assert_non_null(strstr(r->log, m));
}

/* The right Ks_NAF binds the IMPI's Registree, with either form of the identity, under every suite: TLS 1.3
 * (Ua 01 00 00 00 07) and each TLS 1.2 PSK suite (01 00 01 yy zz, a key of its own). */
static void test_gba_bound(void **state)
{
    gba_dev d;
    uint8_t key[32], other[32];
    outcome r;
    (void)state;
    gba_bootstrap(&d, IMPI1, 3600);
    for (int form = 0; form < 2; form++) {
        const char *identity = form ? d.btid : d.identity;
        client_opts o;
        gba_key(&d, TLS1_3_VERSION, 0x1301, key);
        o = gba_opts(TLS1_3_VERSION, 0, identity, key);
        r = run(srv_default, &o);
        assert_gba_bound(&r, "Cgba1", &d);
        assert_int_equal(r.keygen, 1); /* psk_dhe_ke: forward secret, proved here */
        for (int i = 0; i < 3; i++) {
            gba_key(&d, TLS1_2_VERSION, GBA_SUITES[i].id, key);
            o = gba_opts(TLS1_2_VERSION, i, identity, key);
            r = run(srv_default, &o);
            assert_gba_bound(&r, "Cgba1", &d);
            assert_non_null(strstr(r.log, GBA_SUITES[i].name));
            /* the key of another suite is another key */
            gba_key(&d, TLS1_2_VERSION, GBA_SUITES[(i + 1) % 3].id, other);
            assert_memory_not_equal(key, other, 32);
        }
    }
}

/* A wrong Ks_NAF (a random one, another suite's, another NAF's) proves nothing: no handshake. */
static void test_gba_wrong_key(void **state)
{
    gba_dev d;
    uint8_t key[32];
    client_opts o;
    outcome r;
    (void)state;
    gba_bootstrap(&d, IMPI1, 3600);
    RAND_bytes(key, sizeof key);
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        o = gba_opts(v, 0, d.identity, key);
        r = run(srv_default, &o);
        assert_false(r.completed);
        assert_non_null(strstr(r.log, "result=refused"));
    }
    /* TLS 1.2: the GCM suite's key offered on the CBC suite */
    gba_key(&d, TLS1_2_VERSION, GBA_SUITES[1].id, key);
    o = gba_opts(TLS1_2_VERSION, 0, d.identity, key);
    r = run(srv_default, &o);
    assert_false(r.completed);
    assert_non_null(strstr(r.log, "wrong key (Ks_NAF)"));
    /* the TLS 1.2 key under TLS 1.3 */
    gba_key(&d, TLS1_2_VERSION, GBA_SUITES[0].id, key);
    o = gba_opts(TLS1_3_VERSION, 0, d.identity, key);
    r = run(srv_default, &o);
    assert_false(r.completed);
}

/* A B-TID this NAF cannot get a key for: refused (TLS 1.2: unknown_psk_identity), or in TLS 1.3 a
 * server-authenticated handshake that binds nobody, as for an unknown key ID. */
static void test_gba_unknown_btid(void **state)
{
    gba_dev d, never;
    uint8_t key[32];
    (void)state;
    gba_bootstrap(&d, IMPI1, 3600);
    memcpy(&never, &d, sizeof never);
    never.btid[0] = never.btid[0] == 'A' ? 'B' : 'A'; /* a B-TID no BSF issued */
    snprintf(never.identity, sizeof never.identity, "3GPP-bootstrapping.%s", never.btid);
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o;
        outcome r;
        gba_key(&never, v, v == TLS1_3_VERSION ? 0x1301 : GBA_SUITES[0].id, key);
        o = gba_opts(v, 0, never.identity, key);
        r = run(srv_default, &o);
        assert_int_equal(r.completed, v == TLS1_3_VERSION);
        assert_unbound(&r);
        if (!r.completed) {
            assert_non_null(strstr(r.log, "unknown or expired B-TID"));
            assert_non_null(strstr(r.log, "alert=unknown PSK identity"));
        }
    }
}

/* A bootstrapping whose subscriber no enrolment names binds nobody; one enrolled for another Registree binds that
 * one, whatever the client wants to be (the registration then refuses any other From: 4106). */
/* Zn asked in the handshake (no gate: the PSK callback asks the BSF itself), against a BSF on loopback: a BSF
 * that fails binds nobody and is counted, a 404 is an unknown B-TID (kept as such, not asked again), and only the
 * Ks_NAF the BSF gives binds the IMPI's Registree. */
static void test_gba_zn_in_handshake(void **state)
{
    struct fake_bsf bsf;
    m2m_gba_counters counters_gba = {0};
    m2m_zn_client *zn, *saved = env.gba->zn;
    m2m_gba_counters *saved_counters = env.gba->counters;
    gba_dev d, unknown;
    uint8_t key[32];
    char b64[64], body[512];
    client_opts o;
    outcome r;
    m2m_err err;
    (void)state;
    assert_int_equal(fake_bsf_start(&bsf, dir), 0);
    zn = m2m_zn_client_new(bsf.url, bsf.crt, bsf.naf_crt, bsf.naf_key, 3000, &err);
    assert_non_null(zn);
    env.gba->zn = zn;
    env.gba->counters = &counters_gba;
    gba_dev_new(&d, IMPI1, 3600);
    gba_key(&d, TLS1_2_VERSION, GBA_SUITES[0].id, key);
    o = gba_opts(TLS1_2_VERSION, 0, d.identity, key);

    /* the BSF fails: refused, counted, and not cached as an answer */
    r = run(srv_default, &o);
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "the BSF could not be asked"));
    assert_int_equal(counters_gba.zn_failures, 1);

    /* the BSF gives the key of this B-TID for this NAF and suite: bound */
    EVP_EncodeBlock((unsigned char *)b64, key, 32);
    snprintf(body, sizeof body, "{\"btid\":\"%s\",\"impi\":\"%s\",\"ksNaf\":\"%s\","
             "\"keyExpiryTime\":\"2099-01-01T00:00:00Z\"}", d.btid, IMPI1, b64);
    fake_bsf_answer(&bsf, "200 OK", body);
    r = run(srv_default, &o);
    assert_gba_bound(&r, "Cgba1", &d);
    assert_int_equal(fake_server_count(&bsf.srv, &bsf.asked), 2);
    r = run(srv_default, &o); /* cached now: the BSF is not asked again */
    assert_gba_bound(&r, "Cgba1", &d);
    assert_int_equal(fake_server_count(&bsf.srv, &bsf.asked), 2);

    /* a B-TID the BSF does not know */
    gba_dev_new(&unknown, IMPI1, 3600);
    gba_key(&unknown, TLS1_2_VERSION, GBA_SUITES[0].id, key);
    o = gba_opts(TLS1_2_VERSION, 0, unknown.identity, key);
    fake_bsf_answer(&bsf, "404 Not Found", "{}");
    r = run(srv_default, &o);
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "unknown or expired B-TID"));
    r = run(srv_default, &o);
    assert_unbound(&r);
    assert_int_equal(fake_server_count(&bsf.srv, &bsf.asked), 3); /* the "unknown" answer is kept a while */

    env.gba->zn = saved;
    env.gba->counters = saved_counters;
    m2m_zn_client_free(zn);
    fake_bsf_stop(&bsf);
}

/* GBA identities where they cannot be served: a Registrar that is no NAF, and a store that fails when the IMPI's
 * enrolment is read (the Ks_NAF is known, the Registree it binds is not). Nobody is bound, and each says why. */
static void test_gba_not_served(void **state)
{
    gba_dev d;
    uint8_t key[32];
    client_opts o;
    outcome r;
    m2m_gba_naf *naf = env.gba;
    (void)state;
    gba_bootstrap(&d, IMPI2, 3600);
    gba_key(&d, TLS1_2_VERSION, GBA_SUITES[0].id, key);
    o = gba_opts(TLS1_2_VERSION, 0, d.identity, key);

    env.gba = NULL;
    r = run(srv_default, &o);
    env.gba = naf;
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "this Registrar is no NAF"));

    store_sql("ALTER TABLE enrolment RENAME TO enrolment_gone");
    r = run(srv_default, &o);
    store_sql("ALTER TABLE enrolment_gone RENAME TO enrolment");
    assert_unbound(&r);
    assert_non_null(strstr(r.log, "store failure"));
    r = run(srv_default, &o);
    assert_gba_bound(&r, "Cgba2", &d);

    /* behind a gate (Zn asked ahead of OpenSSL), a B-TID the gate did not get a key for is refused at once:
     * the callback never blocks on Zn itself */
    {
        gba_dev fresh;
        gba_dev_new(&fresh, IMPI2, 3600);
        gba_key(&fresh, TLS1_2_VERSION, GBA_SUITES[0].id, key);
        o = gba_opts(TLS1_2_VERSION, 0, fresh.identity, key);
        run_gated = 1;
        r = run(srv_default, &o);
        run_gated = 0;
        assert_unbound(&r);
        assert_non_null(strstr(r.log, "Zn gave none in time"));
    }
}

static void test_gba_enrolment(void **state)
{
    gba_dev d3, d2;
    uint8_t key[32];
    client_opts o;
    outcome r;
    (void)state;
    gba_bootstrap(&d3, IMPI3, 3600);
    gba_key(&d3, TLS1_2_VERSION, GBA_SUITES[0].id, key);
    o = gba_opts(TLS1_2_VERSION, 0, d3.identity, key);
    r = run(srv_default, &o);
    assert_false(r.completed);
    assert_non_null(strstr(r.log, "subscriber (IMPI) is not enrolled"));
    gba_bootstrap(&d2, IMPI2, 3600);
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        gba_key(&d2, v, v == TLS1_3_VERSION ? 0x1301 : GBA_SUITES[0].id, key);
        o = gba_opts(v, 0, d2.identity, key);
        r = run(srv_default, &o);
        assert_gba_bound(&r, "Cgba2", &d2);
    }
}

/* Resumption of a GBA binding: it resumes as gba, the enrolment of the IMPI is checked again, and no ticket
 * outlives the bootstrapping (Ks_NAF's lifetime). The clock is moved, not waited for. */
static void test_gba_resumption_and_expiry(void **state)
{
    gba_dev d;
    uint8_t key[32];
    m2m_err err;
    (void)state;
    gba_bootstrap(&d, IMPI1, 600);
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        client_opts o;
        outcome r;
        SSL_SESSION *t[3];
        gba_key(&d, v, v == TLS1_3_VERSION ? 0x1301 : GBA_SUITES[0].id, key);
        o = gba_opts(v, 0, d.identity, key);
        /* three tickets issued now (a TLS 1.3 client offers each one once) */
        for (int i = 0; i < 3; i++)
            t[i] = ticket_from(srv_default, &o, "Cgba1");
        if (v == TLS1_3_VERSION)
            o.psk_identity = NULL; /* the ticket alone (a TLS 1.2 client needs its PSK suites' callback) */
        o.session = t[0];
        r = run(srv_default, &o);
        assert_true(r.completed && r.client_reused);
        assert_string_equal(r.id, "Cgba1");
        assert_string_equal(r.mech, "gba");
        assert_int_equal(r.proof, M2M_PROOF_RESUMED);
        assert_non_null(strstr(r.log, "handshake=resumed"));
        /* one second before the bootstrapping ends it still resumes; at the end it does not, nor does the full
         * handshake (an expired B-TID is an unknown one) */
        clock_at(d.expires - 1);
        o.session = t[1];
        r = run(srv_default, &o);
        assert_true(r.completed && r.client_reused);
        clock_at(d.expires);
        o.session = t[2];
        r = run(srv_default, &o);
        assert_false(r.completed && r.client_reused);
        assert_unbound(&r);
        if (r.completed)
            assert_non_null(strstr(r.log, "result=server-authenticated"));
        o.psk_identity = d.identity;
        o.session = NULL;
        r = run(srv_default, &o);
        assert_int_equal(r.completed, v == TLS1_3_VERSION);
        assert_unbound(&r);
        for (int i = 0; i < 3; i++)
            SSL_SESSION_free(t[i]);
        clock_at(0);
        gba_bootstrap(&d, IMPI1, 600);
    }
    /* revoking the IMPI's enrolment ends resumption and new handshakes alike */
    {
        client_opts o;
        outcome r;
        gba_key(&d, TLS1_3_VERSION, 0x1301, key);
        o = gba_opts(TLS1_3_VERSION, 0, d.identity, key);
        o.session = ticket_from(srv_default, &o, "Cgba1");
        assert_int_equal(m2m_store_revoke(st, "Cgba1", &err), 0);
        r = run(srv_default, &o);
        assert_false(r.completed && r.client_reused);
        assert_unbound(&r);
        SSL_SESSION_free(o.session);
        o.session = NULL;
        gba_key(&d, TLS1_2_VERSION, GBA_SUITES[0].id, key);
        o = gba_opts(TLS1_2_VERSION, 0, d.identity, key);
        r = run(srv_default, &o);
        assert_false(r.completed);
        assert_non_null(strstr(r.log, "not enrolled"));
        assert_int_equal(m2m_store_enrol_gba(st, "Cgba1", impi_id(IMPI1), IMPI1, &err), 0);
        r = run(srv_default, &o);
        assert_gba_bound(&r, "Cgba1", &d);
    }
}

/* ---- the token path and the decision's own rules ---- */

static void test_token_binds_through_the_decision(void **state)
{
    client_opts o = {.min_version = TLS1_3_VERSION, .max_version = TLS1_3_VERSION};
    SSL *s = SSL_new(srv_default);
    m2m_tls_conn *tc = m2m_tls_conn_new(s, &env, sizeof *tc, NULL);
    m2m_peer tok = {.registree_id = "Ctok", .key_id = "ab", .mechanism = "token"}, bad = tok;
    SSL *c = client_new(&o);
    BIO *bc, *bs;
    char why[160];
    (void)state;

    /* not established: refused */
    assert_int_equal(m2m_bind_decide(tc, &tok), -1);
    assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    for (int i = 0; i < 20; i++) {
        SSL_do_handshake(c);
        SSL_do_handshake(s);
    }
    assert_int_equal(tc->established, 1);
    assert_string_equal(tc->peer.registree_id, "");
    /* the handshake decision cannot be made twice */
    assert_int_equal(m2m_bind_decide(tc, NULL), -1);
    snprintf(bad.mechanism, sizeof bad.mechanism, "psk");
    assert_int_equal(m2m_bind_decide(tc, &bad), -1);
    assert_int_equal(m2m_bind_decide(tc, &tok), 0);
    assert_string_equal(tc->peer.registree_id, "Ctok");
    assert_int_equal(tc->proof, M2M_PROOF_TOKEN);
    /* a token over a full handshake proved the Registree in this connection */
    assert_int_equal(m2m_bind_keygen_allowed(tc, why, sizeof why), 1);
    /* bound now: no second token */
    snprintf(tok.registree_id, sizeof tok.registree_id, "Cother");
    assert_int_equal(m2m_bind_decide(tc, &tok), -1);
    assert_string_equal(tc->peer.registree_id, "Ctok");
    SSL_free(c);
    SSL_free(s);
}

/* A handshake offering more credentials than the bound allows is refused unexamined past it. */
/* Same equipment: the kernel's uid of the other end of a Unix socket decides, through the same m2m_bind_decide. */
static void test_local_socket_binding(void **state)
{
    m2m_tls_env lenv;
    m2m_local_ae aes[2];
    m2m_tls_conn *tc;
    m2m_peer token;
    char why[160];
    int sv[2];
    (void)state;

    memset(&lenv, 0, sizeof lenv);
    memset(aes, 0, sizeof aes);
    aes[0].uid = (unsigned)getuid() + 1; /* someone else */
    snprintf(aes[0].ae_id, sizeof aes[0].ae_id, "Cother");
    aes[1].uid = (unsigned)getuid();
    snprintf(aes[1].ae_id, sizeof aes[1].ae_id, "Cme");
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    lenv.local_aes = aes;
    lenv.nlocal_aes = 2;
    tc = m2m_tls_conn_new_local(sv[0], &lenv, sizeof *tc, NULL);
    assert_non_null(tc);
    assert_int_equal(m2m_bind_decide(tc, NULL), 1);
    assert_string_equal(tc->peer.registree_id, "Cme");
    assert_string_equal(tc->peer.mechanism, "local");
    assert_int_equal(tc->proof, M2M_PROOF_LOCAL);
    assert_int_equal(m2m_bind_decide(tc, NULL), -1); /* decided once */
    assert_int_equal(m2m_bind_keygen_allowed(tc, why, sizeof why), 0);
    m2m_tls_conn_free_local(tc);

    /* this uid is not listed: nobody, and a token cannot bind such a context either */
    lenv.nlocal_aes = 1;
    tc = m2m_tls_conn_new_local(sv[0], &lenv, sizeof *tc, NULL);
    assert_non_null(tc);
    assert_int_equal(m2m_bind_decide(tc, NULL), 0);
    assert_string_equal(tc->peer.registree_id, "");
    assert_non_null(strstr(tc->hs->failure, "is not a --local-ae"));
    memset(&token, 0, sizeof token);
    snprintf(token.registree_id, sizeof token.registree_id, "Cme");
    snprintf(token.mechanism, sizeof token.mechanism, "token");
    assert_int_equal(m2m_bind_decide(tc, &token), -1);
    assert_string_equal(tc->peer.registree_id, "");
    m2m_tls_conn_free_local(tc);
    close(sv[0]);
    close(sv[1]);
}

static void test_candidates_are_bounded(void **state)
{
    m2m_tls_conn tc;
    m2m_tls_hs hs;
    (void)state;
    memset(&tc, 0, sizeof tc);
    memset(&hs, 0, sizeof hs);
    assert_null(m2m_bind_candidate(&tc, M2M_CAND_PSK)); /* the handshake is over: nothing is taken */
    tc.hs = &hs;
    for (int i = 0; i < M2M_TLS_CANDIDATES; i++)
        assert_non_null(m2m_bind_candidate(&tc, M2M_CAND_PSK));
    assert_null(m2m_bind_candidate(&tc, M2M_CAND_TICKET));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psk_full),
        cmocka_unit_test(test_psk_wrong_key_or_unknown),
        cmocka_unit_test(test_psk_identity_without_key),
        cmocka_unit_test(test_psk_identity_not_a_key_id),
        cmocka_unit_test(test_client_aborts),
        cmocka_unit_test(test_no_connection_record),
        cmocka_unit_test(test_cert_full_and_unbound),
        cmocka_unit_test(test_cert_enrolled_root_unusable),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_resumption_after_revoke),
        cmocka_unit_test(test_store_failure_binds_nobody),
        cmocka_unit_test(test_psk_cache_not_trusted_blind),
        cmocka_unit_test(test_promotion_store_failure),
        cmocka_unit_test(test_unbound_ticket_not_resumed),
        cmocka_unit_test(test_ticket_keys_store_failure),
        cmocka_unit_test(test_revoke_applies_to_next_handshake),
        cmocka_unit_test(test_attack_ticket_other_hash),
        cmocka_unit_test(test_attack_tls12_ticket_as_tls13),
        cmocka_unit_test(test_attack_cert_ticket_without_cert),
        cmocka_unit_test(test_attack_tls12_ticket_cert_suite),
        cmocka_unit_test(test_attack_tls13_ticket_in_tls12),
        cmocka_unit_test(test_attack_ticket_then_other_kid),
        cmocka_unit_test(test_garbage_ticket_then_real_credential),
        cmocka_unit_test(test_property_binding_equals_proof),
        cmocka_unit_test(test_gba_bound),
        cmocka_unit_test(test_gba_wrong_key),
        cmocka_unit_test(test_gba_unknown_btid),
        cmocka_unit_test(test_gba_enrolment),
        cmocka_unit_test(test_gba_zn_in_handshake),
        cmocka_unit_test(test_gba_not_served),
        cmocka_unit_test(test_gba_resumption_and_expiry),
        cmocka_unit_test(test_token_binds_through_the_decision),
        cmocka_unit_test(test_candidates_are_bounded),
        cmocka_unit_test(test_local_socket_binding),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
