/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the reading of the attachment-details file (details.c): the fields, the parse context and the helpers the
 * files of this reader share -- details.c (the INI file, the registrar, registree, tls and state sections),
 * details_files.c (the files it names: keys, certificates, the token), details_gba.c (the [gba] section),
 * details_tls.c (the [tls], [coap] and [state] sections) and
 * details_syntax.c (what a point of access, an ID or a token may look like). */
#ifndef M2M_REGISTREE_DETAILS_INTERNAL_H
#define M2M_REGISTREE_DETAILS_INTERNAL_H

#include <stdio.h>

#include <openssl/x509.h>

#include "crypto/secret.h"
#include "registree/details.h"

enum field {
    F_POA, F_CSE_ID, F_ROOT_CERT, F_OCSP_CERT,
    F_ID, F_APP_ID, F_NAME, F_CSE_BASE,
    F_MECHANISM, F_KEY_FILE, F_KEY, F_CERT_FILE, F_CHAIN_FILE, F_TOKEN, F_TOKEN_FILE,
    F_TLS_VERSION, F_CIPHERS, F_TIMEOUT, F_DEADLINE, F_RESUMPTION,
    F_STATE_FILE, F_GEN_KEY_FILE,
    F_COAP_ACK_TIMEOUT, F_COAP_MAX_RETRANSMIT, F_COAP_DTLS_TIMER, F_COAP_CONTENT_FORMAT,
    F_GBA_BSF, F_GBA_BSF_ROOT, F_GBA_IMPI, F_GBA_K_FILE, F_GBA_OPC, F_GBA_OP, F_GBA_OPC_FILE, F_GBA_OP_FILE,
    F_GBA_NAF_FQDN,
    F_COUNT
};


typedef struct m2m_field_name {
    const char *section, *key;
} m2m_field_name;
extern const m2m_field_name m2m_details_fields[F_COUNT];

/* A key file holds at most 64 octets as hex; anything much longer is not a key file. */
#define KEY_FILE_MAX 1024
/* A token file holds one token and maybe a newline. */
#define TOKEN_FILE_MAX 4096
/* PEM files: a certificate chain or a key is a few KiB; a bigger file is not what the key names. */
#define PEM_FILE_MAX (256 * 1024)

struct parse_ctx {
    const char *path;
    FILE *fp;
    int line;              /* the line inih is working on: our reader counts them, inih 55 does not pass them */
    char *linebuf;         /* getline buffer; may hold the inline key, so it is wiped */
    size_t linecap;
    int failed;
    m2m_err *err;
    m2m_registree_config *cfg;
    char *value[F_COUNT];  /* key is not kept here: it goes straight into cfg->key */
    int at_line[F_COUNT];  /* 0 = not set */
};

/* "FILE:LINE: [section] key" for a key that was set, "FILE: [section] key" for one that was not. */
void m2m_details_where(const struct parse_ctx *c, enum field f, char *out, size_t cap);
/* 0 when field f is set; else "FILE: [section] key: missing (required)". */
int m2m_details_require(const struct parse_ctx *c, enum field f, m2m_err *err);
/* A path in the file, relative to the file's own directory (malloc'd; NULL when out of memory). */
char *m2m_details_resolve(const char *details_path, const char *rel);
/* The hex key in the file field f names, into dst. */
int m2m_details_load_key_file(struct parse_ctx *c, enum field f, m2m_secret *dst, m2m_err *err);
/* Exactly one PEM certificate from the file field f names; *path_out (malloc'd) is its resolved path. */
X509 *m2m_details_load_one_cert(struct parse_ctx *c, enum field f, const char *what, char **path_out, m2m_err *err);
/* [registrar] root-cert: one self-signed certificate. */
int m2m_details_check_root_cert(struct parse_ctx *c, m2m_err *err);
/* cert: the Registree certificate, its chain and its unencrypted key. */
int m2m_details_load_cert_credentials(struct parse_ctx *c, m2m_err *err);
/* token: from token or token-file, checked for its syntax. */
int m2m_details_load_token(struct parse_ctx *c, m2m_err *err);
/* [tls] and [state]; then [coap] (coaps:// only). */
int m2m_details_check_tls_and_state(struct parse_ctx *c, m2m_err *err);
int m2m_details_check_coap(struct parse_ctx *c, m2m_err *err);
/* gba: the [gba] section. */
int m2m_details_check_gba(struct parse_ctx *c, m2m_err *err);

#endif
