/* SPDX-License-Identifier: Apache-2.0 */
/* m2m-bench: load generator and raw-OpenSSL ceiling server for the Registrar's attachment benchmark
 * (bench/README.md): TLS-PSK, client certificates, identity tokens and session resumption. Everything runs on
 * loopback; nothing here links into the Registrar. */
#ifndef M2M_BENCH_H
#define M2M_BENCH_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_ID_MAX 128
#define BENCH_KEY_MAX 64

/* How a Registree authenticates (--mech): TLS-PSK (x.y.2/3), client certificate (x.y.6), identity token (x.y.7). */
enum bench_mech { MECH_PSK, MECH_CERT, MECH_TOKEN };

/* One Registree credential. psk: psk_identity = key_id, psk = key (a GBA Registree: psk_identity =
 * "3GPP-bootstrapping." B-TID, psk = Ks_NAF for the suite the run uses). cert: the device certificate and key.
 * token: the identity token sent in the registration CREATE. */
typedef struct bench_cred {
    char id[BENCH_ID_MAX];
    char key_id[257];
    unsigned char key[BENCH_KEY_MAX];
    size_t key_len;
    SSL_SESSION *sess13; /* the TLS 1.3 external PSK as a session (client side only) */
    X509 *cert;          /* cert */
    EVP_PKEY *pkey;
    char token[64];      /* token */
} bench_cred;

typedef struct bench_creds {
    bench_cred *v;
    size_t n;
} bench_creds;

/* Options shared by the subcommands (not every one uses every field). */
typedef struct bench_opts {
    const char *host;
    const char *source; /* client: local address to connect from (several 127.0.0.x spread idle connections) */
    int port;
    double seconds;
    int clients;
    int tls;            /* 12 or 13 */
    const char *cipher; /* TLS 1.2 cipher list or TLS 1.3 ciphersuite */
    const char *id, *key_hex, *ids_file;
    const char *cse;    /* CSE-ID of the Registrar, for request targets: default /in-cse */
    int server_pid;
    int threads;        /* server threads */
    int blocking;       /* ceiling server: blocking accept loop instead of epoll */
    long count;         /* idle: connections to hold; attach: at most this many IDs (0 = all) */
    const char *label;
    int linger0;        /* close with RST (no TIME_WAIT) after close_notify */
    int quickack;       /* diagnostic: TCP_QUICKACK before each response read */
    int mech;           /* enum bench_mech: how --ids-file lines read and how clients authenticate */
    int resume;         /* client: resumption modes (tickets on) */
    /* ceiling server */
    const char *cert_file, *key_file; /* server certificate and key (PEM): certificate handshakes too */
    int verify_client;  /* request a client certificate and accept any (mutual authentication) */
    int tickets;        /* issue stateless session tickets (TLS 1.2 when asked, one per TLS 1.3 handshake) */
} bench_opts;

/* creds.c */
int bench_creds_add(bench_creds *c, const char *id, const char *key_hex, const char *key_id);
/* cert: "ID CERTFILE KEYFILE"; token: "ID TOKEN". */
int bench_creds_add_cert(bench_creds *c, const char *id, const char *cert_file, const char *key_file);
int bench_creds_add_token(bench_creds *c, const char *id, const char *token);
int bench_creds_load(bench_creds *c, const char *path, long max, int mech);
/* Loads --ids-file or --id/--key into c. */
int bench_creds_from_opts(bench_creds *c, const bench_opts *o);
const bench_cred *bench_creds_find(const bench_creds *c, const char *key_id);
void bench_creds_free(bench_creds *c);

/* util.c */
double bench_now(void);
/* CPU seconds (user + system) of a process, all threads; -1 if unknown. */
double bench_proc_cpu(int pid);
/* VmRSS of a process in KiB; -1 if unknown. */
long bench_proc_rss_kib(int pid);
double bench_self_cpu(void);
void bench_raise_nofile(void);
void bench_ssl_error(char *buf, size_t cap, const char *what);

/* client.c */
SSL_CTX *bench_client_ctx(const bench_opts *o, bench_creds *creds);
int bench_connect(const bench_opts *o);
/* One attachment on a fresh connection: TCP connect, TLS handshake as cred (resuming sess when given), then the
 * request (if any) and its response. On success returns the connected SSL (fd inside) for the caller to close or
 * keep. */
SSL *bench_attach_once(SSL_CTX *ctx, const bench_opts *o, const bench_cred *cred, SSL_SESSION *sess, const char *req,
                       size_t req_len, int want_status, const char *want_rsc, char *errbuf, size_t errcap);
void bench_close(SSL *ssl, int send_close_notify, int linger0);
int cmd_load(const char *mode, bench_opts *o);
int cmd_idle(bench_opts *o);

/* ceiling_server.c */
int cmd_ceiling_server(bench_opts *o);

#endif
