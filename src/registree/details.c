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

#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "crypto/milenage.h"
#include "registree/details.h"

enum field {
    F_POA, F_CSE_ID, F_ROOT_CERT, F_OCSP_CERT,
    F_ID, F_APP_ID, F_NAME, F_CSE_BASE,
    F_MECHANISM, F_KEY_FILE, F_KEY, F_CERT_FILE, F_CHAIN_FILE, F_TOKEN, F_TOKEN_FILE,
    F_TLS_VERSION, F_CIPHERS, F_TIMEOUT, F_DEADLINE, F_RESUMPTION,
    F_STATE_FILE, F_GEN_KEY_FILE,
    F_GBA_BSF, F_GBA_BSF_ROOT, F_GBA_IMPI, F_GBA_K_FILE, F_GBA_OPC, F_GBA_OP, F_GBA_OPC_FILE, F_GBA_OP_FILE,
    F_GBA_NAF_FQDN,
    F_COUNT
};

static const struct {
    const char *section, *key;
} FIELDS[F_COUNT] = {
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
    [F_GBA_BSF] = {"gba", "bsf"},           [F_GBA_BSF_ROOT] = {"gba", "bsf-root"},
    [F_GBA_IMPI] = {"gba", "impi"},         [F_GBA_K_FILE] = {"gba", "k-file"},
    [F_GBA_OPC] = {"gba", "opc"},           [F_GBA_OP] = {"gba", "op"},
    [F_GBA_OPC_FILE] = {"gba", "opc-file"}, [F_GBA_OP_FILE] = {"gba", "op-file"},
    [F_GBA_NAF_FQDN] = {"gba", "naf-fqdn"},
};

static const char *const SECTIONS[] = {"registrar", "registree", "credentials", "tls", "state", "gba"};

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

const char *m2m_mechanism_name(m2m_mechanism m)
{
    switch (m) {
    case M2M_MECH_PSK: return "psk";
    case M2M_MECH_CERT: return "cert";
    case M2M_MECH_TOKEN: return "token";
    case M2M_MECH_GBA: return "gba";
    }
    return "?";
}

int m2m_token_syntax_ok(const char *s)
{
    size_t n = 0, pad = 0;
    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        if (s[n] == '=') {
            pad++;
        } else if (pad > 0 || (!isalnum((unsigned char)s[n]) && strchr("-._~+/", s[n]) == NULL)) {
            return 0;
        }
    }
    return n >= M2M_TOKEN_MIN_LEN && n <= M2M_TOKEN_MAX_LEN && pad < n;
}

int m2m_is_plain_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && strchr("-._~", *s) == NULL)
            return 0;
    return 1;
}

static int parse_port(const char *s, size_t n, char port[6])
{
    unsigned long v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    snprintf(port, 6, "%lu", v);
    return 0;
}

static int valid_dns_name(const char *s, size_t n)
{
    int all_numeric = 1;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return 0;
        if (isalpha((unsigned char)s[i]) || s[i] == '-')
            all_numeric = 0;
    }
    /* "1.2.3" or "300.1.1.1" is neither a name nor an address: refuse rather than let the resolver guess. */
    return !all_numeric;
}

int m2m_https_poa_parse(const char *poa, char **host_out, char port_out[6], char **auth_out, m2m_err *err)
{
    const char *p, *hs, *he, *rest;
    char host[256], port[6] = "443";
    unsigned char addr[16];
    int bracketed = 0;
    size_t hlen;

    *host_out = NULL;
    *auth_out = NULL;
    if (strncasecmp(poa, "https://", 8) != 0) {
        if (strncasecmp(poa, "coaps://", 8) == 0)
            return m2m_fail(err, M2M_E_PARSE, "coaps:// is not supported yet, use https://HOST:PORT");
        return m2m_fail(err, M2M_E_PARSE, "'%s' is not an https://HOST:PORT address", poa);
    }
    p = poa + 8;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (he == NULL)
            return m2m_fail(err, M2M_E_PARSE, "'%s': '[' without ']' around the IPv6 address", poa);
        rest = he + 1;
        bracketed = 1;
    } else {
        hs = p;
        he = p + strcspn(p, ":/?#@[]");
        rest = he;
    }
    hlen = (size_t)(he - hs);
    if (hlen == 0)
        return m2m_fail(err, M2M_E_PARSE, "'%s' has no host", poa);
    if (hlen >= sizeof host)
        return m2m_fail(err, M2M_E_PARSE, "'%s': host name is too long", poa);
    memcpy(host, hs, hlen);
    host[hlen] = '\0';
    if (bracketed) {
        if (inet_pton(AF_INET6, host, addr) != 1)
            return m2m_fail(err, M2M_E_PARSE, "'%s': '%s' is not an IPv6 address", poa, host);
    } else if (inet_pton(AF_INET, host, addr) != 1 && !valid_dns_name(host, hlen)) {
        return m2m_fail(err, M2M_E_PARSE, "'%s': '%s' is neither an IPv4 address nor a host name", poa, host);
    }
    if (*rest == ':') {
        size_t n = strcspn(rest + 1, "/?#");
        if (parse_port(rest + 1, n, port) != 0)
            return m2m_fail(err, M2M_E_PARSE, "'%s': port must be a number from 1 to 65535", poa);
        rest += 1 + n;
    }
    /* A point of access names a CSE's endpoint; the Registrar's resources are addressed by cse-id, not by path. */
    if (!(rest[0] == '\0' || (rest[0] == '/' && rest[1] == '\0')))
        return m2m_fail(err, M2M_E_PARSE, "'%s': unexpected '%s' after the host and port", poa, rest);

    *host_out = strdup(host);
    if (*host_out == NULL || asprintf(auth_out, "%s%s%s:%s", bracketed ? "[" : "", host, bracketed ? "]" : "",
                                      port) < 0) {
        free(*host_out);
        *host_out = NULL;
        *auth_out = NULL;
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    memcpy(port_out, port, sizeof port);
    return 0;
}

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
                     "credentials, tls, state, gba)", c->path, c->line, (int)end, str + 1);
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
        if (strcmp(FIELDS[f].section, section) == 0 && strcmp(FIELDS[f].key, name) == 0)
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
static void where(const struct parse_ctx *c, enum field f, char *out, size_t cap)
{
    if (c->at_line[f] != 0)
        snprintf(out, cap, "%s:%d: [%s] %s", c->path, c->at_line[f], FIELDS[f].section, FIELDS[f].key);
    else
        snprintf(out, cap, "%s: [%s] %s", c->path, FIELDS[f].section, FIELDS[f].key);
}

static int require(const struct parse_ctx *c, enum field f, m2m_err *err)
{
    if (c->value[f] != NULL)
        return 0;
    return m2m_fail(err, M2M_E_PARSE, "%s: [%s] %s: missing (required)", c->path, FIELDS[f].section,
                    FIELDS[f].key);
}

/* Relative paths in the file are relative to the file's own directory, so a details file and its key can move
 * together. */
static char *resolve(const char *details_path, const char *rel)
{
    const char *slash = strrchr(details_path, '/');
    char *out = NULL;
    if (rel[0] == '/' || slash == NULL)
        return strdup(rel);
    if (asprintf(&out, "%.*s/%s", (int)(slash - details_path), details_path, rel) < 0)
        return NULL;
    return out;
}

/* The hex key in the file field f names, into dst. */
static int load_key_file(struct parse_ctx *c, enum field f, m2m_secret *dst, m2m_err *err)
{
    char loc[600], *path = NULL, buf[KEY_FILE_MAX + 1];
    FILE *fp = NULL;
    struct stat st;
    size_t n;
    int rc = -1;

    where(c, f, loc, sizeof loc);
    path = resolve(c->path, c->value[f]);
    if (path == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    fp = fopen(path, "re");
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot open %s: %s", loc, path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        m2m_fail(err, M2M_E_IO, "%s: %s is not a regular file", loc, path);
        goto done;
    }
    /* Readable by others is a leak that already happened, not a reason to stop the device; say it loudly. */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: key file %s is accessible by group or others (mode %04o); "
                        "chmod 600 it\n", path, (unsigned)(st.st_mode & 07777));
    n = fread(buf, 1, KEY_FILE_MAX + 1, fp);
    if (ferror(fp)) {
        m2m_fail(err, M2M_E_IO, "%s: cannot read %s", loc, path);
        goto done;
    }
    if (n > KEY_FILE_MAX) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s is larger than %d bytes; it should hold one hex key", loc, path,
                 KEY_FILE_MAX);
        goto done;
    }
    buf[n] = '\0';
    if (m2m_secret_from_hex(dst, buf, path, err) != 0)
        goto done;
    rc = 0;
done:
    m2m_wipe(buf, sizeof buf);
    if (fp != NULL)
        fclose(fp);
    free(path);
    return rc;
}

static int check_registrar(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    m2m_err why = {0};

    if (require(c, F_POA, err) != 0 || require(c, F_CSE_ID, err) != 0)
        return -1;
    if (m2m_https_poa_parse(c->value[F_POA], &cfg->host, cfg->port, &cfg->authority, &why) != 0) {
        where(c, F_POA, loc, sizeof loc);
        return m2m_fail(err, why.code, "%s: %s", loc, why.msg);
    }
    if (c->value[F_CSE_ID][0] != '/' || !m2m_is_plain_token(c->value[F_CSE_ID] + 1)) {
        where(c, F_CSE_ID, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a CSE-ID ('/' then letters, digits, '-', '.', '_', "
                        "'~')", loc, c->value[F_CSE_ID]);
    }
    cfg->poa = c->value[F_POA];
    cfg->binding = M2M_BINDING_HTTP;
    cfg->cse_id = c->value[F_CSE_ID];
    c->value[F_POA] = c->value[F_CSE_ID] = NULL;
    return 0;
}

static int check_registree(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    const char *id;

    if (require(c, F_ID, err) != 0)
        return -1;
    id = c->value[F_ID];
    cfg->is_cse = id[0] == '/';
    if (!m2m_is_plain_token(cfg->is_cse ? id + 1 : id)) {
        where(c, F_ID, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is neither an AE-ID nor a CSE-ID (allowed: letters, digits, "
                        "'-', '.', '_', '~'; a CSE-ID starts with '/')", loc, id);
    }
    if (cfg->is_cse) {
        if (c->value[F_APP_ID] != NULL) {
            where(c, F_APP_ID, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: only an AE has an App-ID, and %s is a CSE-ID", loc, id);
        }
        if (c->value[F_CSE_BASE] == NULL && (c->value[F_CSE_BASE] = strdup("cb")) == NULL)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        if (!m2m_is_plain_token(c->value[F_CSE_BASE])) {
            where(c, F_CSE_BASE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a resource name", loc, c->value[F_CSE_BASE]);
        }
    } else {
        if (c->value[F_CSE_BASE] != NULL) {
            where(c, F_CSE_BASE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: only a CSE has a CSEBase, and %s is an AE-ID", loc, id);
        }
        if (c->value[F_APP_ID] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [registree] app-id: missing (required for an AE)", c->path);
        /* TS-0001: an App-ID starts with R (registered), r or N (non-registered); the Registrar answers 4000. */
        if (strchr("RrN", c->value[F_APP_ID][0]) == NULL || !m2m_is_plain_token(c->value[F_APP_ID])) {
            where(c, F_APP_ID, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not an App-ID (it must start with R, r or N)", loc,
                            c->value[F_APP_ID]);
        }
    }
    if (c->value[F_NAME] == NULL && (c->value[F_NAME] = strdup(cfg->is_cse ? id + 1 : id)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (!m2m_is_plain_token(c->value[F_NAME])) {
        where(c, F_NAME, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a resource name", loc, c->value[F_NAME]);
    }
    cfg->id = c->value[F_ID];
    cfg->app_id = c->value[F_APP_ID];
    cfg->name = c->value[F_NAME];
    cfg->cse_base = c->value[F_CSE_BASE];
    c->value[F_ID] = c->value[F_APP_ID] = c->value[F_NAME] = c->value[F_CSE_BASE] = NULL;
    return 0;
}

/* Opens a file a key names (path resolved against the details file) for reading: a regular file, at most max
 * bytes. secret: warn when group or others may access it. *path_out is malloc'd. */
static FILE *open_named(struct parse_ctx *c, enum field f, size_t max, int secret, char **path_out, m2m_err *err)
{
    char loc[600];
    struct stat st;
    FILE *fp;

    where(c, f, loc, sizeof loc);
    *path_out = resolve(c->path, c->value[f]);
    if (*path_out == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    fp = fopen(*path_out, "re");
    if (fp == NULL || fstat(fileno(fp), &st) != 0) {
        m2m_fail(err, M2M_E_IO, "%s: cannot open %s: %s", loc, *path_out, strerror(errno));
        if (fp != NULL)
            fclose(fp);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        m2m_fail(err, M2M_E_IO, "%s: %s is not a regular file", loc, *path_out);
        fclose(fp);
        return NULL;
    }
    if ((size_t)st.st_size > max) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s is larger than %zu bytes", loc, *path_out, max);
        fclose(fp);
        return NULL;
    }
    /* Readable by others is a leak that already happened, not a reason to stop the device; say it loudly. */
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: %s file %s is accessible by group or others (mode %04o); "
                        "chmod 600 it\n", f == F_TOKEN_FILE ? "token" : "key", *path_out,
                (unsigned)(st.st_mode & 07777));
    return fp;
}

/* All PEM certificates of the file f names, in order (at least one). */
static STACK_OF(X509) *load_certs(struct parse_ctx *c, enum field f, char **path_out, m2m_err *err)
{
    char loc[600];
    STACK_OF(X509) *certs = NULL;
    FILE *fp = open_named(c, f, PEM_FILE_MAX, 0, path_out, err);
    X509 *x;

    if (fp == NULL)
        return NULL;
    where(c, f, loc, sizeof loc);
    if ((certs = sk_X509_new_null()) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto fail;
    }
    ERR_clear_error();
    while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            m2m_fail(err, M2M_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    /* The loop ends at the end of the file (PEM_R_NO_START_LINE) or at something that is not a certificate. */
    if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(certs) == 0) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s: %s", loc, *path_out,
                 sk_X509_num(certs) == 0 ? "no PEM certificate in it"
                                         : "unreadable PEM data after the certificates");
        goto fail;
    }
    ERR_clear_error();
    fclose(fp);
    return certs;
fail:
    ERR_clear_error();
    sk_X509_pop_free(certs, X509_free);
    fclose(fp);
    return NULL;
}

/* One certificate, alone in its file (root-cert, ocsp-responder-cert). */
static X509 *load_one_cert(struct parse_ctx *c, enum field f, const char *what, char **path_out, m2m_err *err)
{
    STACK_OF(X509) *certs = load_certs(c, f, path_out, err);
    char loc[600];
    X509 *x;

    if (certs == NULL)
        return NULL;
    if (sk_X509_num(certs) != 1) {
        where(c, f, loc, sizeof loc);
        m2m_fail(err, M2M_E_PARSE, "%s: %s holds %d certificates; give only %s", loc, *path_out,
                 sk_X509_num(certs), what);
        sk_X509_pop_free(certs, X509_free);
        return NULL;
    }
    x = sk_X509_shift(certs);
    sk_X509_free(certs);
    return x;
}

static int check_root_cert(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];

    cfg->root_cert = load_one_cert(c, F_ROOT_CERT, "the Registrar Root Certificate", &cfg->root_cert_path, err);
    if (cfg->root_cert == NULL)
        return -1;
    /* Only a chain that ends at this very certificate verifies (no partial chains): it must be a root. */
    if (X509_check_issued(cfg->root_cert, cfg->root_cert) != X509_V_OK) {
        where(c, F_ROOT_CERT, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: %s is not self-signed; give the Registrar Root Certificate, not an "
                        "intermediate or the Registrar's own certificate", loc, cfg->root_cert_path);
    }
    return 0;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/* cert: the Registree certificate (the first in cert-file; any others there, then chain-file, are its chain) and
 * its unencrypted PEM key. */
static int load_cert_credentials(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    STACK_OF(X509) *certs, *more;
    char loc[600], *chain_path = NULL;
    int encrypted = 0;
    FILE *fp;

    if ((certs = load_certs(c, F_CERT_FILE, &cfg->cert_path, err)) == NULL)
        return -1;
    cfg->cert = sk_X509_shift(certs);
    cfg->chain = certs;
    if (c->value[F_CHAIN_FILE] != NULL) {
        more = load_certs(c, F_CHAIN_FILE, &chain_path, err);
        free(chain_path);
        if (more == NULL)
            return -1;
        while (sk_X509_num(more) > 0) {
            X509 *x = sk_X509_shift(more);
            if (!sk_X509_push(cfg->chain, x)) {
                X509_free(x);
                sk_X509_pop_free(more, X509_free);
                return m2m_fail(err, M2M_E_NOMEM, "out of memory");
            }
        }
        sk_X509_free(more);
    }
    if (sk_X509_num(cfg->chain) == 0) {
        sk_X509_free(cfg->chain);
        cfg->chain = NULL;
    }

    if ((fp = open_named(c, F_KEY_FILE, PEM_FILE_MAX, 1, &cfg->cert_key_path, err)) == NULL)
        return -1;
    ERR_clear_error();
    cfg->cert_key = PEM_read_PrivateKey(fp, NULL, no_password, &encrypted);
    fclose(fp);
    ERR_clear_error();
    where(c, F_KEY_FILE, loc, sizeof loc);
    if (cfg->cert_key == NULL && encrypted)
        return m2m_fail(err, M2M_E_PARSE, "%s: %s is encrypted; m2mattach needs the key unencrypted (protect it "
                        "with chmod 600 instead)", loc, cfg->cert_key_path);
    if (cfg->cert_key == NULL)
        return m2m_fail(err, M2M_E_PARSE, "%s: no PEM private key in %s (with mechanism cert, key-file is the "
                        "private key of cert-file)", loc, cfg->cert_key_path);
    if (X509_check_private_key(cfg->cert, cfg->cert_key) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_PARSE, "%s: %s is not the private key of cert-file %s", loc, cfg->cert_key_path,
                        cfg->cert_path);
    }
    return 0;
}

static int load_token(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600], *path = NULL, buf[TOKEN_FILE_MAX + 1], *start, *end;
    enum field f = c->value[F_TOKEN] != NULL ? F_TOKEN : F_TOKEN_FILE;
    const char *from;
    FILE *fp;
    size_t n;
    int rc = -1;

    where(c, f, loc, sizeof loc);
    if (f == F_TOKEN) {
        from = c->value[F_TOKEN];
    } else {
        if ((fp = open_named(c, F_TOKEN_FILE, TOKEN_FILE_MAX, 1, &path, err)) == NULL)
            goto done;
        n = fread(buf, 1, TOKEN_FILE_MAX, fp);
        if (ferror(fp)) {
            fclose(fp);
            m2m_fail(err, M2M_E_IO, "%s: cannot read %s", loc, path);
            goto done;
        }
        fclose(fp);
        buf[n] = '\0';
        for (start = buf; *start != '\0' && isspace((unsigned char)*start); start++)
            ;
        for (end = start + strlen(start); end > start && isspace((unsigned char)end[-1]); end--)
            ;
        *end = '\0';
        from = start;
    }
    /* The token is a secret: the message describes it, never shows it. */
    if (!m2m_token_syntax_ok(from)) {
        m2m_fail(err, M2M_E_PARSE, "%s: %s is not an identity token (%d to %d characters: letters, digits, '-', "
                 "'_', '.', '~', '+', '/', then '=' padding; as `m2mattach enrol token` printed it)", loc,
                 f == F_TOKEN ? "the value" : path, M2M_TOKEN_MIN_LEN, M2M_TOKEN_MAX_LEN);
        goto done;
    }
    if ((cfg->token = strdup(from)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    rc = 0;
done:
    m2m_wipe(buf, sizeof buf);
    free(path);
    return rc;
}

/* x.y.5: [gba] bsf (Ub), impi, the USIM's K (k-file) and OPc (opc, opc-file, or op / op-file from which OPc is
 * computed), optionally bsf-root (for an https BSF) and naf-fqdn (the Registrar's name in NAF_Id when the poa does
 * not carry it, e.g. an IP address). */
static int check_gba(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    static const enum field OPS[4] = {F_GBA_OPC, F_GBA_OPC_FILE, F_GBA_OP, F_GBA_OP_FILE};
    static const enum field NEED[3] = {F_GBA_BSF, F_GBA_IMPI, F_GBA_K_FILE};
    m2m_secret op = {0};
    char loc[600], *authority = NULL;
    enum field which = F_COUNT;
    m2m_err why = {0};
    int rc = -1;

    for (int i = 0; i < 3; i++)
        if (c->value[NEED[i]] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [gba] %s: missing (required for mechanism gba)", c->path,
                            FIELDS[NEED[i]].key);
    for (int i = 0; i < 4; i++)
        if (c->value[OPS[i]] != NULL) {
            if (which != F_COUNT) {
                where(c, OPS[i], loc, sizeof loc);
                return m2m_fail(err, M2M_E_PARSE, "%s: and [gba] %s (line %d) are both set; keep one", loc,
                                FIELDS[which].key, c->at_line[which]);
            }
            which = OPS[i];
        }
    if (which == F_COUNT)
        return m2m_fail(err, M2M_E_PARSE, "%s: [gba] opc, opc-file, op or op-file: missing (required for mechanism "
                        "gba: the USIM's OPc, or the operator's OP)", c->path);
    /* Ub: http:// is for a BSF on the device's own host or a lab; the BSF is authenticated by AUTN either way */
    if (strncmp(c->value[F_GBA_BSF], "http://", 7) == 0 || strncmp(c->value[F_GBA_BSF], "https://", 8) == 0) {
        char *as_https = NULL;
        cfg->gba_bsf_tls = c->value[F_GBA_BSF][4] == 's';
        if (asprintf(&as_https, "https://%s", c->value[F_GBA_BSF] + (cfg->gba_bsf_tls ? 8 : 7)) < 0)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        rc = m2m_https_poa_parse(as_https, &cfg->gba_bsf_host, cfg->gba_bsf_port, &authority, &why);
        free(as_https);
        free(authority);
        if (!cfg->gba_bsf_tls && rc == 0 && strcmp(cfg->gba_bsf_port, "443") == 0 &&
            strstr(c->value[F_GBA_BSF] + 7, ":443") == NULL)
            snprintf(cfg->gba_bsf_port, sizeof cfg->gba_bsf_port, "80");
    }
    if (rc != 0) {
        where(c, F_GBA_BSF, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%.100s' is not http://HOST[:PORT] or https://HOST[:PORT]%s%s", loc,
                        c->value[F_GBA_BSF], why.msg[0] ? ": " : "", why.msg);
    }
    rc = -1;
    cfg->gba_bsf = c->value[F_GBA_BSF];
    c->value[F_GBA_BSF] = NULL;
    if (cfg->gba_bsf_tls && c->value[F_GBA_BSF_ROOT] == NULL)
        return m2m_fail(err, M2M_E_PARSE, "%s: [gba] bsf-root: missing (required for an https BSF)", c->path);
    if (c->value[F_GBA_BSF_ROOT] != NULL) {
        char *ignored = NULL;
        cfg->gba_bsf_root = load_one_cert(c, F_GBA_BSF_ROOT, "the BSF's root certificate", &ignored, err);
        free(ignored);
        if (cfg->gba_bsf_root == NULL)
            return -1;
    }
    if (!m2m_gba_impi_ok(c->value[F_GBA_IMPI])) {
        where(c, F_GBA_IMPI, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: not an IMPI (user@realm, printable, no spaces, quotes or commas)", loc);
    }
    cfg->gba_impi = c->value[F_GBA_IMPI];
    c->value[F_GBA_IMPI] = NULL;
    cfg->gba_naf_fqdn = strdup(c->value[F_GBA_NAF_FQDN] != NULL ? c->value[F_GBA_NAF_FQDN] : cfg->host);
    if (cfg->gba_naf_fqdn == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    {
        uint8_t id[M2M_GBA_NAF_ID_MAX], ua[M2M_GBA_UA_ID_LEN] = {1, 0, 0, 0, 7};
        size_t len;
        if (m2m_gba_naf_id(cfg->gba_naf_fqdn, ua, id, &len, NULL) != 0) {
            where(c, c->value[F_GBA_NAF_FQDN] != NULL ? F_GBA_NAF_FQDN : F_POA, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%.100s' cannot be a NAF FQDN (a host name, no brackets); set "
                            "[gba] naf-fqdn to the name the Registrar serves as NAF", loc, cfg->gba_naf_fqdn);
        }
    }
    if (load_key_file(c, F_GBA_K_FILE, &cfg->gba_k, err) != 0)
        goto done;
    if (which == F_GBA_OPC_FILE || which == F_GBA_OP_FILE) {
        if (load_key_file(c, which, which == F_GBA_OPC_FILE ? &cfg->gba_opc : &op, err) != 0)
            goto done;
    } else if (m2m_secret_from_hex(which == F_GBA_OPC ? &cfg->gba_opc : &op, c->value[which], FIELDS[which].key,
                                   err) != 0) {
        goto done;
    }
    if (cfg->gba_k.len != 16 || (which == F_GBA_OP || which == F_GBA_OP_FILE ? op.len : cfg->gba_opc.len) != 16) {
        where(c, cfg->gba_k.len != 16 ? F_GBA_K_FILE : which, loc, sizeof loc);
        m2m_fail(err, M2M_E_PARSE, "%s: Milenage takes 16 octets (32 hex characters)", loc);
        goto done;
    }
    if (op.len == 16) {
        cfg->gba_opc.len = 16;
        if (m2m_milenage_opc(cfg->gba_k.bytes, op.bytes, cfg->gba_opc.bytes, err) != 0)
            goto done;
    }
    rc = 0;
done:
    m2m_secret_clear(&op);
    return rc;
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
        where(c, F_MECHANISM, loc, sizeof loc);
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
        where(c, (enum field)f, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: not used with %s; it belongs to mechanism = %s", loc, mech, belongs);
    }

    if (cfg->mechanism == M2M_MECH_PSK) {
        if (c->at_line[F_KEY] != 0 && c->value[F_KEY_FILE] != NULL) {
            where(c, F_KEY_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: both key (line %d) and key-file are set; keep one", loc,
                            c->at_line[F_KEY]);
        }
        if (c->at_line[F_KEY] == 0 && c->value[F_KEY_FILE] == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s: [credentials] key or key-file: missing (required for psk)",
                            c->path);
        /* Step 2 may hand a root certificate to a PSK device too; it is checked, and not used. */
        if (c->value[F_ROOT_CERT] != NULL && check_root_cert(c, err) != 0)
            return -1;
        if (c->value[F_KEY_FILE] != NULL && load_key_file(c, F_KEY_FILE, &cfg->key, err) != 0)
            return -1;
        if (cfg->key.len < M2M_KEY_MIN_LEN || cfg->key.len > M2M_KEY_MAX_LEN) {
            where(c, c->at_line[F_KEY] != 0 ? F_KEY : F_KEY_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: the key is %zu octets; a PSK has %d to %d", loc, cfg->key.len,
                            M2M_KEY_MIN_LEN, M2M_KEY_MAX_LEN);
        }
        cfg->key_kind = m2m_key_kind_for_id(cfg->id);
        return m2m_keyid(cfg->key_kind, cfg->key.bytes, cfg->key.len, cfg->key_id, err);
    }

    if (cfg->mechanism == M2M_MECH_GBA)
        return check_gba(c, err);

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
            where(c, F_TOKEN_FILE, loc, sizeof loc);
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
    if (check_root_cert(c, err) != 0)
        return -1;
    if (c->value[F_OCSP_CERT] != NULL &&
        (cfg->ocsp_cert = load_one_cert(c, F_OCSP_CERT, "the OCSP responder certificate", &cfg->ocsp_cert_path,
                                        err)) == NULL)
        return -1;
    return cfg->mechanism == M2M_MECH_CERT ? load_cert_credentials(c, err) : load_token(c, err);
}

/* The cipher list is checked here, against the OpenSSL that will use it, so a typo is reported with its line
 * rather than as a failed handshake. OpenSSL itself accepts a list in which only some names are known and drops
 * the rest silently, so each name is tried on its own too. */
static int ciphers_known(const char *list)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int ok = ctx != NULL && SSL_CTX_set_cipher_list(ctx, list) == 1;
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* The first name in list that OpenSSL does not know (copied to out), or 0 when all are known. Operators ('!', '-',
 * '+') and @-commands are not names. */
static int unknown_cipher(const char *list, char *out, size_t cap)
{
    const char *p = list;
    while (*p != '\0') {
        size_t n = strcspn(p, ": ,;");
        if (n > 0 && strchr("!-+@", p[0]) == NULL) {
            char one[128];
            snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
            if (!ciphers_known(one)) {
                snprintf(out, cap, "%s", one);
                return 1;
            }
        }
        p += n;
        p += strspn(p, ": ,;");
    }
    return 0;
}

static int check_tls_and_state(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    const char *v;

    v = c->value[F_TLS_VERSION];
    if (v == NULL || strcmp(v, "auto") == 0) {
        cfg->tls_range = M2M_TLS_AUTO;
    } else if (strcmp(v, "1.2") == 0) {
        cfg->tls_range = M2M_TLS_ONLY_1_2;
    } else if (strcmp(v, "1.3") == 0) {
        cfg->tls_range = M2M_TLS_ONLY_1_3;
    } else {
        where(c, F_TLS_VERSION, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not one of auto, 1.2, 1.3", loc, v);
    }
    if (c->value[F_CIPHERS] == NULL &&
        (c->value[F_CIPHERS] = strdup(cfg->mechanism == M2M_MECH_PSK || cfg->mechanism == M2M_MECH_GBA
                                          ? M2M_DEFAULT_TLS12_PSK_CIPHERS
                                                                     : M2M_DEFAULT_TLS12_CERT_CIPHERS)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (!ciphers_known(c->value[F_CIPHERS])) {
        where(c, F_CIPHERS, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: OpenSSL knows no cipher suite in '%s'", loc, c->value[F_CIPHERS]);
    }
    {
        char bad[128];
        if (unknown_cipher(c->value[F_CIPHERS], bad, sizeof bad)) {
            where(c, F_CIPHERS, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: OpenSSL knows no cipher suite named '%s' (OpenSSL names, e.g. "
                            "ECDHE-ECDSA-AES128-SHA256 for TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256)", loc, bad);
        }
    }
    if (cfg->mechanism != M2M_MECH_PSK && cfg->mechanism != M2M_MECH_GBA) {
        char *with = NULL;
        int ok;
        if (asprintf(&with, "%s" M2M_TLS12_CERT_EXCLUDE, c->value[F_CIPHERS]) < 0)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        ok = ciphers_known(with);
        free(with);
        if (!ok) {
            where(c, F_CIPHERS, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: no certificate cipher suite in '%s' (mechanism %s uses "
                            "ECDHE-ECDSA suites, never PSK)", loc, c->value[F_CIPHERS],
                            m2m_mechanism_name(cfg->mechanism));
        }
    }
    cfg->ciphers_set = c->at_line[F_CIPHERS] != 0;
    cfg->ciphers = c->value[F_CIPHERS];
    c->value[F_CIPHERS] = NULL;

    cfg->resumption = 1;
    if ((v = c->value[F_RESUMPTION]) != NULL) {
        if (strcmp(v, "yes") == 0) {
            cfg->resumption = 1;
        } else if (strcmp(v, "no") == 0) {
            cfg->resumption = 0;
        } else {
            where(c, F_RESUMPTION, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not one of yes, no", loc, v);
        }
    }

    cfg->timeout_ms = M2M_DEFAULT_IO_TIMEOUT_S * 1000;
    if ((v = c->value[F_TIMEOUT]) != NULL) {
        char *end;
        long s;
        errno = 0;
        s = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || end == v || s < 1 || s > 3600) {
            where(c, F_TIMEOUT, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number of seconds from 1 to 3600", loc, v);
        }
        cfg->timeout_ms = (int)s * 1000;
    }
    /* timeout bounds each wait; a peer that answers one byte at a time never lets a wait run out, so the whole
     * exchange has a budget of its own */
    cfg->deadline_ms = M2M_DEADLINE_TIMEOUTS * cfg->timeout_ms;
    if ((v = c->value[F_DEADLINE]) != NULL) {
        char *end;
        long s;
        errno = 0;
        s = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || end == v || s < 1 || s > M2M_DEADLINE_MAX_S) {
            where(c, F_DEADLINE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number of seconds from 1 to %d", loc, v,
                            M2M_DEADLINE_MAX_S);
        }
        cfg->deadline_ms = (int)s * 1000;
    }

    if (c->value[F_STATE_FILE] != NULL)
        cfg->state_path = resolve(c->path, c->value[F_STATE_FILE]);
    else if (asprintf(&cfg->state_path, "%s.state", c->path) < 0)
        cfg->state_path = NULL;
    if (cfg->state_path == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (c->value[F_GEN_KEY_FILE] != NULL)
        cfg->generated_key_path = resolve(c->path, c->value[F_GEN_KEY_FILE]);
    else if (asprintf(&cfg->generated_key_path, "%s.generated.key", c->path) < 0)
        cfg->generated_key_path = NULL;
    if (cfg->generated_key_path == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (strcmp(cfg->generated_key_path, cfg->state_path) == 0) {
        where(c, F_GEN_KEY_FILE, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: the generated-key file cannot be the state file", loc);
    }
    /* rekey replaces the generated-key file: it must never be the credential the Registree falls back to */
    if (c->value[F_KEY_FILE] != NULL) {
        char *key_path = resolve(c->path, c->value[F_KEY_FILE]);
        int same = key_path != NULL && strcmp(key_path, cfg->generated_key_path) == 0;
        free(key_path);
        if (same) {
            where(c, F_GEN_KEY_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: the generated-key file cannot be [credentials] key-file", loc);
        }
    }
    return 0;
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
        check_tls_and_state(&c, err) != 0)
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
