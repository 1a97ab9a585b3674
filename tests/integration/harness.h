/* SPDX-License-Identifier: Apache-2.0 */
/* Test harness for integration tests: a real `m2mattach registrar serve` process on 127.0.0.1 with a real
 * store (SQLite in a temporary directory, or a PostgreSQL database), and a raw TLS-PSK + HTTP/1.1 client that can say anything (including
 * what a well-behaved Registree never would). */
#ifndef M2M_TEST_HARNESS_H
#define M2M_TEST_HARNESS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

extern int h_failures;

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                        \
            h_failures++;                                                                                          \
        }                                                                                                          \
    } while (0)
#define CHECK_EQ_INT(a, b)                                                                                         \
    do {                                                                                                           \
        long long _a = (a), _b = (b);                                                                              \
        if (_a != _b) {                                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b);            \
            h_failures++;                                                                                          \
        }                                                                                                          \
    } while (0)

typedef struct h_registrar {
    pid_t pid;
    int port;
    int admin_port;           /* when started with --admin */
    int coaps_port;           /* when started with --coaps */
    char dir[256];
    char db[320];
    char log[320];
    long clock_offset;        /* seconds the Registrar's clock is ahead (h_clock_advance) */
} h_registrar;

/* dir/name, in one of 8 buffers used in turn (so a call can take several). */
const char *h_path(const char *dir, const char *name);
/* The m2mattach binary under test ($M2M_BIN). */
const char *h_bin(void);
/* Runs a shell command (printf-style); returns its exit status, or -1. */
int h_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs a shell command and captures its stdout (NUL-terminated) into out. */
int h_sh_out(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Makes a temporary directory and a store with CSE-ID /in-cse and CSEBase cse-base: a SQLite file there, or,
 * under tests/pg/with_cluster.sh (M2M_TEST_PG), a new database in that PostgreSQL cluster. */
int h_registrar_init(h_registrar *r);
/* A second node on first's store: its own directory (log, clock), the same database. */
int h_registrar_init_shared(h_registrar *r, const h_registrar *first);
/* 1 when the tests run against PostgreSQL. */
int h_pg(void);
/* Starts `registrar serve` on 127.0.0.1:port (0 = a free port) and waits until it listens. extra: more args. */
int h_registrar_start(h_registrar *r, int threads, const char *extra);
/* Moves the Registrar's clock (expiry, rotation, timeouts) forward by seconds: tests never sleep for time to pass.
 * The Registrar reads the offset from a file in r->dir (M2M_INSECURE_TEST_CLOCK_FILE). */
int h_clock_advance(h_registrar *r, long seconds);
/* Sends sig and waits for the process. */
int h_registrar_stop(h_registrar *r, int sig);
/* Stops (if running) and removes the temporary directory. */
void h_registrar_cleanup(h_registrar *r);
/* Enrols a Registree with a hex key (given to `enrol psk --key -` on standard input); returns 0 on success. */
int h_enrol(h_registrar *r, const char *id, const char *key_hex);
int h_revoke(h_registrar *r, const char *id);
/* Computes the key ID (psk_identity) of key_hex for a Registree ID with `keyid --kca-file`/`--kcc-file`. */
void h_keyid(const char *id, const char *key_hex, char out[33]);

typedef struct h_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    char identity[128];
    unsigned char key[64];
    size_t key_len;
} h_tls;

/* TLS-PSK handshake; version 0 = negotiate, 12 = TLS 1.2 only, 13 = TLS 1.3 only. 0 on success. */
int h_connect_psk(h_tls *t, int port, const char *id, const char *key_hex, int version);
/* Same with an explicit psk_identity. */
int h_connect_psk_identity(h_tls *t, int port, const char *identity, const char *key_hex, int version);
void h_close(h_tls *t);

/* Certificate handshakes. ca: the Registrar root to verify the server against (NULL = no verification);
 * cert/key: the client certificate and key (NULL = none, server-authenticated only). version as above; cipher:
 * a TLS 1.2 suite or NULL. */
int h_connect_cert(h_tls *t, int port, const char *ca, const char *cert, const char *key, int version,
                   const char *cipher);
/* Like h_connect_cert, but signs with a private key that does NOT belong to cert (same public half, another
 * secret): what an attacker who copied a device certificate would try. */
int h_connect_cert_wrong_key(h_tls *t, int port, const char *cert, int version);

/* The Registrar's PKI in r->dir: root.crt and root.key (a CA), and registrar.crt and registrar.key it issued for
 * in-cse.m2m.localhost (DNS:in-cse.m2m.localhost, URI:/in-cse). Their paths into the three buffers (400 octets
 * each). 0 when all were made. */
int h_registrar_pki(const h_registrar *r, char root_crt[400], char reg_crt[400], char reg_key[400]);
/* Makes a P-256 key and certificate (PEM files). issuer_crt/issuer_key NULL = self-signed. san e.g.
 * "URI:Cdev" or "DNS:x,URI:/in-cse" (or NULL); is_ca adds CA:TRUE; valid from now+from_s to now+until_s. */
int h_make_cert(const char *crt, const char *key, const char *cn, const char *san, const char *issuer_crt,
                const char *issuer_key, int is_ca, long from_s, long until_s);
/* SHA-256 of the certificate's DER SubjectPublicKeyInfo, hex. */
void h_pubkey_hash(const char *crt, char out[65]);
/* For the next h_connect_*: offer this session for resumption (consumed), and/or use this TLS 1.2 cipher list
 * instead of the default PSK suites. */
extern SSL_SESSION *h_next_session;
extern const char *h_psk_ciphers;
/* TLS 1.3 suites for the next PSK connections (NULL = OpenSSL's default), and whether a PSK connection may end
 * in a certificate handshake (1: the attacker's view; 0, the default: counted as refused). */
extern const char *h_psk_ciphersuites;
extern int h_psk_allow_cert;
/* A counter from the Registrar's /metrics, e.g. "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\"}". */
long long h_metric(h_registrar *r, const char *name);
/* The connection's session (for resumption), after reading at least one response so TLS 1.3 tickets arrived. */
SSL_SESSION *h_session(h_tls *t);
int h_reused(h_tls *t);
/* RFC 5705 exporter on the client side, label "EXPORTER-oneM2M-Connection", 48 octets; key_hex gets the last 32
 * as hex (the x.y.8 key). */
int h_exported_key(h_tls *t, char key_hex[65]);
/* Opens a plain TCP connection to 127.0.0.1:port. */
int h_tcp(int port);

typedef struct h_resp {
    int status;       /* HTTP status, 0 when the connection closed first */
    int rsc;          /* X-M2M-RSC */
    char location[512];
    char body[65536];
    int closed;       /* server sent Connection: close */
} h_resp;

/* Sends one oneM2M request. from NULL = no X-M2M-Origin; ty 0 = none; body NULL = none. Returns 0 when a
 * response was read. */
int h_request(h_tls *t, const char *method, const char *path, const char *from, int ty, const char *body,
              h_resp *out);
/* Sends raw bytes and reads one response. */
int h_raw(h_tls *t, const char *bytes, size_t len, h_resp *out);
/* Registers an AE with the given From and App-ID; returns the RSC (or -1). */
int h_register_ae(h_tls *t, const char *from, const char *api, h_resp *out);

int h_done(const char *name);

#endif
