/* SPDX-License-Identifier: Apache-2.0 */
/* Step 2: reading the attachment-details INI file with inih. Every message names the file, the line and the key,
 * because the person who reads it is fixing a file on a device. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "registree/details_internal.h"
#include "registree/dtls_client.h"

const m2m_field_name m2m_details_fields[F_COUNT] = {
    [F_POA] = {"registrar", "poa"},         [F_CSE_ID] = {"registrar", "cse-id"},
    [F_ROOT_CERT] = {"registrar", "root-cert"}, [F_OCSP_CERT] = {"registrar", "ocsp-responder-cert"},
    [F_ID] = {"registree", "id"},           [F_APP_ID] = {"registree", "app-id"},
    [F_NAME] = {"registree", "name"},       [F_CSE_BASE] = {"registree", "cse-base"},
    [F_MECHANISM] = {"credentials", "mechanism"}, [F_KEY_FILE] = {"credentials", "key-file"},
    [F_KEY] = {"credentials", "key"},       [F_CERT_FILE] = {"credentials", "cert-file"},
    [F_CHAIN_FILE] = {"credentials", "chain-file"}, [F_TOKEN] = {"credentials", "token"},
    [F_TOKEN_FILE] = {"credentials", "token-file"}, [F_TLS_VERSION] = {"tls", "version"},
    [F_CIPHERS] = {"tls", "ciphers"},       [F_TIMEOUT] = {"tls", "timeout"},
    [F_DEADLINE] = {"tls", "deadline"},     [F_RESUMPTION] = {"tls", "resumption"},
    [F_STATE_FILE] = {"state", "file"},     [F_GEN_KEY_FILE] = {"state", "generated-key-file"},
    [F_COAP_ACK_TIMEOUT] = {"coap", "ack-timeout"}, [F_COAP_MAX_RETRANSMIT] = {"coap", "max-retransmit"},
    [F_COAP_DTLS_TIMER] = {"coap", "handshake-timer"}, [F_COAP_CONTENT_FORMAT] = {"coap", "content-format"},
    [F_GBA_BSF] = {"gba", "bsf"},           [F_GBA_BSF_ROOT] = {"gba", "bsf-root"},
    [F_GBA_IMPI] = {"gba", "impi"},         [F_GBA_K_FILE] = {"gba", "k-file"},
    [F_GBA_OPC] = {"gba", "opc"},           [F_GBA_OP] = {"gba", "op"},
    [F_GBA_OPC_FILE] = {"gba", "opc-file"}, [F_GBA_OP_FILE] = {"gba", "op-file"},
    [F_GBA_NAF_FQDN] = {"gba", "naf-fqdn"},
};

static const char *const SECTIONS[] = {"registrar", "registree", "credentials", "tls", "state", "gba", "coap"};

/* Which mechanisms each credential key belongs to (bits 1 << m2m_mechanism); 0: every mechanism. */
#define MECH_BIT(m) (1u << (m))
static const unsigned FIELD_MECHS[F_COUNT] = {
    [F_KEY] = MECH_BIT(M2M_MECH_PSK),
    [F_KEY_FILE] = MECH_BIT(M2M_MECH_PSK) | MECH_BIT(M2M_MECH_CERT),
    [F_CERT_FILE] = MECH_BIT(M2M_MECH_CERT),
    [F_CHAIN_FILE] = MECH_BIT(M2M_MECH_CERT),
    [F_TOKEN] = MECH_BIT(M2M_MECH_TOKEN),
    [F_TOKEN_FILE] = MECH_BIT(M2M_MECH_TOKEN),
    [F_OCSP_CERT] = MECH_BIT(M2M_MECH_CERT) | MECH_BIT(M2M_MECH_TOKEN),
    [F_GBA_BSF] = MECH_BIT(M2M_MECH_GBA),   [F_GBA_BSF_ROOT] = MECH_BIT(M2M_MECH_GBA),
    [F_GBA_IMPI] = MECH_BIT(M2M_MECH_GBA),  [F_GBA_K_FILE] = MECH_BIT(M2M_MECH_GBA),
    [F_GBA_OPC] = MECH_BIT(M2M_MECH_GBA),   [F_GBA_OP] = MECH_BIT(M2M_MECH_GBA),
    [F_GBA_OPC_FILE] = MECH_BIT(M2M_MECH_GBA), [F_GBA_OP_FILE] = MECH_BIT(M2M_MECH_GBA),
    [F_GBA_NAF_FQDN] = MECH_BIT(M2M_MECH_GBA),
};

/* ---- reading the file ------------------------------------------------------------------------------------------- */

static int known_section(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof SECTIONS / sizeof SECTIONS[0]; i++)
        if (strlen(SECTIONS[i]) == n && strncmp(SECTIONS[i], name, n) == 0)
            return 1;
    return 0;
}

/* inih's line reader, so that we know the line number (inih 55 is built without INI_HANDLER_LINENO), can check
 * section names even for empty sections (inih reports only keys), and can strip leading blanks: inih would take an
 * indented line as the continuation of the previous value, which hides typos. */
static char *read_line(char *str, int num, void *stream)
{
    struct parse_ctx *c = stream;
    ssize_t n;
    size_t skip, len;

    if (c->failed)
        return NULL;
    n = getline(&c->linebuf, &c->linecap, c->fp);
    if (n < 0)
        return NULL;
    c->line++;
    /* The UTF-8 byte order mark some editors write. */
    skip = c->line == 1 && strncmp(c->linebuf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    skip += strspn(c->linebuf + skip, " \t");
    len = strlen(c->linebuf + skip);
    if (len + 1 > (size_t)num) {
        c->failed = 1;
        m2m_fail(c->err, M2M_E_PARSE, "%s:%d: line is longer than %d characters", c->path, c->line, num - 3);
        return NULL;
    }
    memcpy(str, c->linebuf + skip, len + 1);
    if (str[0] == '[') {
        size_t end = strcspn(str + 1, "]");
        if (str[1 + end] == ']' && !known_section(str + 1, end)) {
            c->failed = 1;
            m2m_fail(c->err, M2M_E_PARSE, "%s:%d: unknown section [%.*s] (known: registrar, registree, "
                     "credentials, tls, state, gba, coap)", c->path, c->line, (int)end, str + 1);
            return NULL;
        }
    }
    return str;
}

/* inih goes on calling after a 0; the first message is the one kept and the rest are ignored. */
static int reject(struct parse_ctx *c)
{
    c->failed = 1;
    return 0;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct parse_ctx *c = user;
    int f;

    if (c->failed)
        return 0;
    if (section[0] == '\0') {
        m2m_fail(c->err, M2M_E_PARSE, "%s:%d: %s: key outside any [section]", c->path, c->line, name);
        return reject(c);
    }
    for (f = 0; f < F_COUNT; f++)
        if (strcmp(m2m_details_fields[f].section, section) == 0 && strcmp(m2m_details_fields[f].key, name) == 0)
            break;
    if (f == F_COUNT) {
        m2m_fail(c->err, M2M_E_PARSE, "%s:%d: [%s] %s: unknown key", c->path, c->line, section, name);
        return reject(c);
    }
    if (c->at_line[f] != 0) {
        m2m_fail(c->err, M2M_E_PARSE, "%s:%d: [%s] %s: set twice (first on line %d)", c->path, c->line, section,
                 name, c->at_line[f]);
        return reject(c);
    }
    if (value[0] == '\0') {
        m2m_fail(c->err, M2M_E_PARSE, "%s:%d: [%s] %s: empty value", c->path, c->line, section, name);
        return reject(c);
    }
    c->at_line[f] = c->line;
    if (f == F_KEY) {
        char what[600];
        snprintf(what, sizeof what, "%s:%d: [credentials] key", c->path, c->line);
        if (m2m_secret_from_hex(&c->cfg->key, value, what, c->err) != 0)
            return reject(c);
    } else if ((c->value[f] = strdup(value)) == NULL) {
        m2m_fail(c->err, M2M_E_NOMEM, "out of memory");
        return reject(c);
    }
    return 1;
}

/* ---- checking what was read ------------------------------------------------------------------------------------- */

/* "FILE:LINE: [section] key" for a key that was set, "FILE: [section] key" for one that was not. */
void m2m_details_where(const struct parse_ctx *c, enum field f, char *out, size_t cap)
{
    if (c->at_line[f] != 0)
        snprintf(out, cap, "%s:%d: [%s] %s", c->path, c->at_line[f], m2m_details_fields[f].section, m2m_details_fields[f].key);
    else
        snprintf(out, cap, "%s: [%s] %s", c->path, m2m_details_fields[f].section, m2m_details_fields[f].key);
}

int m2m_details_require(const struct parse_ctx *c, enum field f, m2m_err *err)
{
    if (c->value[f] != NULL)
        return 0;
    return m2m_fail(err, M2M_E_PARSE, "%s: [%s] %s: missing (required)", c->path, m2m_details_fields[f].section,
                    m2m_details_fields[f].key);
}


static int check_registrar(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    m2m_err why = {0};

    if (m2m_details_require(c, F_POA, err) != 0 || m2m_details_require(c, F_CSE_ID, err) != 0)
        return -1;
    if (m2m_poa_parse(c->value[F_POA], &cfg->binding, &cfg->host, cfg->port, &cfg->authority, &why) != 0) {
        m2m_details_where(c, F_POA, loc, sizeof loc);
        return m2m_fail(err, why.code, "%s: %s", loc, why.msg);
    }
    if (c->value[F_CSE_ID][0] != '/' || !m2m_is_plain_token(c->value[F_CSE_ID] + 1)) {
        m2m_details_where(c, F_CSE_ID, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a CSE-ID ('/' then letters, digits, '-', '.', '_', "
                        "'~')", loc, c->value[F_CSE_ID]);
    }
    cfg->poa = c->value[F_POA];
    cfg->cse_id = c->value[F_CSE_ID];
    c->value[F_POA] = c->value[F_CSE_ID] = NULL;
    return 0;
}

static int check_registree(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    const char *id;

    if (m2m_details_require(c, F_ID, err) != 0)
        return -1;
    id = c->value[F_ID];
    cfg->is_cse = id[0] == '/';
    if (!m2m_is_plain_token(cfg->is_cse ? id + 1 : id)) {
        m2m_details_where(c, F_ID, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is neither an AE-ID nor a CSE-ID (allowed: letters, digits, "
                        "'-', '.', '_', '~'; a CSE-ID starts with '/')", loc, id);
    }
    if (cfg->is_cse) {
        if (c->value[F_APP_ID] != NULL) {
            m2m_details_where(c, F_APP_ID, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: only an AE has an App-ID, and %s is a CSE-ID", loc, id);
        }
        if (c->value[F_CSE_BASE] == NULL && (c->value[F_CSE_BASE] = strdup("cb")) == NULL)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        if (!m2m_is_plain_token(c->value[F_CSE_BASE])) {
            m2m_details_where(c, F_CSE_BASE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a resource name", loc, c->value[F_CSE_BASE]);
        }
    } else {
        if (c->value[F_CSE_BASE] != NULL) {
            m2m_details_where(c, F_CSE_BASE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: only a CSE has a CSEBase, and %s is an AE-ID", loc, id);
        }
        if (c->value[F_APP_ID] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [registree] app-id: missing (required for an AE)", c->path);
        /* TS-0001: an App-ID starts with R (registered), r or N (non-registered); the Registrar answers 4000. */
        if (strchr("RrN", c->value[F_APP_ID][0]) == NULL || !m2m_is_plain_token(c->value[F_APP_ID])) {
            m2m_details_where(c, F_APP_ID, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not an App-ID (it must start with R, r or N)", loc,
                            c->value[F_APP_ID]);
        }
    }
    if (c->value[F_NAME] == NULL && (c->value[F_NAME] = strdup(cfg->is_cse ? id + 1 : id)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (!m2m_is_plain_token(c->value[F_NAME])) {
        m2m_details_where(c, F_NAME, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a resource name", loc, c->value[F_NAME]);
    }
    cfg->id = c->value[F_ID];
    cfg->app_id = c->value[F_APP_ID];
    cfg->name = c->value[F_NAME];
    cfg->cse_base = c->value[F_CSE_BASE];
    c->value[F_ID] = c->value[F_APP_ID] = c->value[F_NAME] = c->value[F_CSE_BASE] = NULL;
    return 0;
}


/* "mechanism = cert (line 7)" or "mechanism psk (the default: no mechanism is set)" */
static void mechanism_text(const struct parse_ctx *c, char *out, size_t cap)
{
    if (c->at_line[F_MECHANISM] != 0)
        snprintf(out, cap, "mechanism = %s (line %d)", m2m_mechanism_name(c->cfg->mechanism),
                 c->at_line[F_MECHANISM]);
    else
        snprintf(out, cap, "mechanism psk (the default: no mechanism is set)");
}

static int check_credentials(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600], mech[80];
    const char *m = c->value[F_MECHANISM];

    if (m == NULL || strcmp(m, "psk") == 0) {
        cfg->mechanism = M2M_MECH_PSK;
    } else if (strcmp(m, "cert") == 0) {
        cfg->mechanism = M2M_MECH_CERT;
    } else if (strcmp(m, "token") == 0) {
        cfg->mechanism = M2M_MECH_TOKEN;
    } else if (strcmp(m, "gba") == 0) {
        cfg->mechanism = M2M_MECH_GBA;
    } else {
        m2m_details_where(c, F_MECHANISM, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not one of psk, cert, token, gba", loc, m);
    }
    mechanism_text(c, mech, sizeof mech);

    /* A key of another mechanism is a mistake in the file, not something to ignore. */
    for (int f = 0; f < F_COUNT; f++) {
        unsigned allowed = FIELD_MECHS[f];
        char belongs[64] = "";
        if (c->at_line[f] == 0 || allowed == 0 || (allowed & MECH_BIT(cfg->mechanism)) != 0)
            continue;
        for (int k = M2M_MECH_PSK; k <= M2M_MECH_GBA; k++)
            if (allowed & MECH_BIT(k))
                snprintf(belongs + strlen(belongs), sizeof belongs - strlen(belongs), "%s%s",
                         belongs[0] != '\0' ? " or " : "", m2m_mechanism_name((m2m_mechanism)k));
        m2m_details_where(c, (enum field)f, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: not used with %s; it belongs to mechanism = %s", loc, mech, belongs);
    }

    if (cfg->mechanism == M2M_MECH_PSK) {
        if (c->at_line[F_KEY] != 0 && c->value[F_KEY_FILE] != NULL) {
            m2m_details_where(c, F_KEY_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: both key (line %d) and key-file are set; keep one", loc,
                            c->at_line[F_KEY]);
        }
        if (c->at_line[F_KEY] == 0 && c->value[F_KEY_FILE] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [credentials] key or key-file: missing (required for psk)",
                            c->path);
        /* Step 2 may hand a root certificate to a PSK device too; it is checked, and not used. */
        if (c->value[F_ROOT_CERT] != NULL && m2m_details_check_root_cert(c, err) != 0)
            return -1;
        if (c->value[F_KEY_FILE] != NULL && m2m_details_load_key_file(c, F_KEY_FILE, &cfg->key, err) != 0)
            return -1;
        if (cfg->key.len < M2M_KEY_MIN_LEN || cfg->key.len > M2M_KEY_MAX_LEN) {
            m2m_details_where(c, c->at_line[F_KEY] != 0 ? F_KEY : F_KEY_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: the key is %zu octets; a PSK has %d to %d", loc, cfg->key.len,
                            M2M_KEY_MIN_LEN, M2M_KEY_MAX_LEN);
        }
        cfg->key_kind = m2m_key_kind_for_id(cfg->id);
        return m2m_keyid(cfg->key_kind, cfg->key.bytes, cfg->key.len, cfg->key_id, err);
    }

    if (cfg->mechanism == M2M_MECH_GBA)
        return m2m_details_check_gba(c, err);

    /* cert and token: the Registrar shows a certificate chained to the root of Step 2. */
    if (cfg->mechanism == M2M_MECH_CERT) {
        if (c->value[F_CERT_FILE] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [credentials] cert-file: missing (required for mechanism cert: "
                            "the Registree certificate)", c->path);
        if (c->value[F_KEY_FILE] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [credentials] key-file: missing (required for mechanism cert: "
                            "the private key of cert-file)", c->path);
    } else {
        if (c->value[F_TOKEN] != NULL && c->value[F_TOKEN_FILE] != NULL) {
            m2m_details_where(c, F_TOKEN_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: both token (line %d) and token-file are set; keep one", loc,
                            c->at_line[F_TOKEN]);
        }
        if (c->value[F_TOKEN] == NULL && c->value[F_TOKEN_FILE] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [credentials] token or token-file: missing (required for "
                            "mechanism token: the identity token from enrolment)", c->path);
    }
    if (c->value[F_ROOT_CERT] == NULL)
        return m2m_fail(err, M2M_E_PARSE, "%s: [registrar] root-cert: missing (required for mechanism %s: the "
                        "Registrar Root Certificate)", c->path, m2m_mechanism_name(cfg->mechanism));
    if (m2m_details_check_root_cert(c, err) != 0)
        return -1;
    if (c->value[F_OCSP_CERT] != NULL &&
        (cfg->ocsp_cert = m2m_details_load_one_cert(c, F_OCSP_CERT, "the OCSP responder certificate", &cfg->ocsp_cert_path,
                                        err)) == NULL)
        return -1;
    return cfg->mechanism == M2M_MECH_CERT ? m2m_details_load_cert_credentials(c, err) : m2m_details_load_token(c, err);
}

m2m_registree_config *m2m_registree_config_load(const char *details_path, m2m_err *err)
{
    struct parse_ctx c = {0};
    m2m_registree_config *cfg = NULL;
    struct stat st;
    int rc;
    int ok = 0;

    if (details_path == NULL || details_path[0] == '\0') {
        m2m_fail(err, M2M_E_ARG, "no attachment-details file given");
        goto done;
    }
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL || (cfg->details_path = strdup(details_path)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    c.path = details_path;
    c.err = err;
    c.cfg = cfg;
    c.fp = fopen(details_path, "re");
    if (c.fp == NULL) {
        m2m_fail(err, M2M_E_IO, "%s: cannot open: %s", details_path, strerror(errno));
        goto done;
    }
    rc = ini_parse_stream(read_line, &c, on_value, &c);
    if (c.failed)
        goto done;
    if (ferror(c.fp)) {
        m2m_fail(err, M2M_E_IO, "%s: read error after line %d", details_path, c.line);
        goto done;
    }
    if (rc != 0) {
        /* inih found a line that is neither [section], key = value nor a comment. */
        m2m_fail(err, M2M_E_PARSE, "%s:%d: expected [section], key = value or a comment", details_path, rc);
        goto done;
    }
    if (check_registrar(&c, err) != 0 || check_registree(&c, err) != 0 || check_credentials(&c, err) != 0 ||
        m2m_details_check_tls_and_state(&c, err) != 0 || m2m_details_check_coap(&c, err) != 0)
        goto done;
    if ((c.at_line[F_KEY] != 0 || c.at_line[F_TOKEN] != 0 || c.at_line[F_GBA_OPC] != 0 || c.at_line[F_GBA_OP] != 0) &&
        fstat(fileno(c.fp), &st) == 0 &&
        (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: %s holds a %s inline and is accessible by group or others "
                        "(mode %04o); chmod 600 it\n", details_path,
                c.at_line[F_KEY] != 0 ? "key" : c.at_line[F_TOKEN] != 0 ? "token" : "Milenage OP/OPc",
                (unsigned)(st.st_mode & 07777));
    ok = 1;
done:
    if (c.fp != NULL)
        fclose(c.fp);
    if (c.linebuf != NULL) {
        m2m_wipe(c.linebuf, c.linecap);
        free(c.linebuf);
    }
    for (int f = 0; f < F_COUNT; f++)
        if ((f == F_TOKEN || f == F_GBA_OPC || f == F_GBA_OP) && c.value[f] != NULL)
            m2m_wipe(c.value[f], strlen(c.value[f]));
    for (int f = 0; f < F_COUNT; f++)
        free(c.value[f]);
    if (!ok) {
        m2m_registree_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void m2m_registree_config_free(m2m_registree_config *cfg)
{
    if (cfg == NULL)
        return;
    m2m_secret_clear(&cfg->key);
    free(cfg->details_path);
    free(cfg->poa);
    free(cfg->host);
    free(cfg->authority);
    free(cfg->cse_id);
    free(cfg->root_cert_path);
    X509_free(cfg->root_cert);
    free(cfg->ocsp_cert_path);
    X509_free(cfg->ocsp_cert);
    free(cfg->cert_path);
    free(cfg->cert_key_path);
    X509_free(cfg->cert);
    EVP_PKEY_free(cfg->cert_key);
    sk_X509_pop_free(cfg->chain, X509_free);
    if (cfg->token != NULL) {
        m2m_wipe(cfg->token, strlen(cfg->token));
        free(cfg->token);
    }
    free(cfg->id);
    free(cfg->app_id);
    free(cfg->name);
    free(cfg->cse_base);
    free(cfg->ciphers);
    free(cfg->state_path);
    free(cfg->generated_key_path);
    free(cfg->gba_bsf);
    free(cfg->gba_bsf_host);
    X509_free(cfg->gba_bsf_root);
    free(cfg->gba_impi);
    free(cfg->gba_naf_fqdn);
    m2m_secret_clear(&cfg->gba_k);
    m2m_secret_clear(&cfg->gba_opc);
    free(cfg);
}

const char *m2m_registree_config_state_path(const m2m_registree_config *cfg)
{
    return cfg != NULL ? cfg->state_path : NULL;
}

const char *m2m_registree_config_cse_id(const m2m_registree_config *cfg)
{
    return cfg != NULL ? cfg->cse_id : NULL;
}

const char *m2m_registree_config_generated_key_path(const m2m_registree_config *cfg)
{
    return cfg != NULL ? cfg->generated_key_path : NULL;
}
