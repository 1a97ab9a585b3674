/* Step 2: reading the attachment-details INI file with inih. Every message names the file, the line and the key,
 * because the person who reads it is fixing a file on a device. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "registree/details.h"

enum field {
    F_POA, F_CSE_ID,
    F_ID, F_APP_ID, F_NAME, F_CSE_BASE,
    F_MECHANISM, F_KEY_FILE, F_KEY,
    F_TLS_VERSION, F_CIPHERS, F_TIMEOUT,
    F_STATE_FILE,
    F_COUNT
};

static const struct {
    const char *section, *key;
} FIELDS[F_COUNT] = {
    [F_POA] = {"registrar", "poa"},         [F_CSE_ID] = {"registrar", "cse-id"},
    [F_ID] = {"registree", "id"},           [F_APP_ID] = {"registree", "app-id"},
    [F_NAME] = {"registree", "name"},       [F_CSE_BASE] = {"registree", "cse-base"},
    [F_MECHANISM] = {"credentials", "mechanism"}, [F_KEY_FILE] = {"credentials", "key-file"},
    [F_KEY] = {"credentials", "key"},       [F_TLS_VERSION] = {"tls", "version"},
    [F_CIPHERS] = {"tls", "ciphers"},       [F_TIMEOUT] = {"tls", "timeout"},
    [F_STATE_FILE] = {"state", "file"},
};

static const char *const SECTIONS[] = {"registrar", "registree", "credentials", "tls", "state"};

/* A key file holds at most 64 octets as hex; anything much longer is not a key file. */
#define KEY_FILE_MAX 1024

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
                     "credentials, tls, state)", c->path, c->line, (int)end, str + 1);
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

static int load_key_file(struct parse_ctx *c, m2m_err *err)
{
    char loc[600], *path = NULL, buf[KEY_FILE_MAX + 1];
    FILE *fp = NULL;
    struct stat st;
    size_t n;
    int rc = -1;

    where(c, F_KEY_FILE, loc, sizeof loc);
    path = resolve(c->path, c->value[F_KEY_FILE]);
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
    if (m2m_secret_from_hex(&c->cfg->key, buf, path, err) != 0)
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

static int check_credentials(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];

    if (c->value[F_MECHANISM] != NULL && strcmp(c->value[F_MECHANISM], "psk") != 0) {
        where(c, F_MECHANISM, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: mechanism '%s' is not supported (only psk for now)", loc,
                        c->value[F_MECHANISM]);
    }
    cfg->mechanism = M2M_MECH_PSK;
    if (c->at_line[F_KEY] != 0 && c->value[F_KEY_FILE] != NULL) {
        where(c, F_KEY_FILE, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: both key (line %d) and key-file are set; keep one", loc,
                        c->at_line[F_KEY]);
    }
    if (c->at_line[F_KEY] == 0 && c->value[F_KEY_FILE] == NULL)
        return m2m_fail(err, M2M_E_PARSE, "%s: [credentials] key or key-file: missing (required for psk)",
                        c->path);
    if (c->value[F_KEY_FILE] != NULL && load_key_file(c, err) != 0)
        return -1;
    if (cfg->key.len < M2M_KEY_MIN_LEN || cfg->key.len > M2M_KEY_MAX_LEN) {
        where(c, c->at_line[F_KEY] != 0 ? F_KEY : F_KEY_FILE, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: the key is %zu octets; a PSK has %d to %d", loc, cfg->key.len,
                        M2M_KEY_MIN_LEN, M2M_KEY_MAX_LEN);
    }
    cfg->key_kind = m2m_key_kind_for_id(cfg->id);
    return m2m_keyid(cfg->key_kind, cfg->key.bytes, cfg->key.len, cfg->key_id, err);
}

/* The cipher list is checked here, against the OpenSSL that will use it, so a typo is reported with its line
 * rather than as a failed handshake. */
static int ciphers_known(const char *list)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int ok = ctx != NULL && SSL_CTX_set_cipher_list(ctx, list) == 1;
    SSL_CTX_free(ctx);
    return ok;
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
        (c->value[F_CIPHERS] = strdup(M2M_DEFAULT_TLS12_PSK_CIPHERS)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    ERR_clear_error();
    if (!ciphers_known(c->value[F_CIPHERS])) {
        ERR_clear_error();
        where(c, F_CIPHERS, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: OpenSSL knows no cipher suite in '%s'", loc, c->value[F_CIPHERS]);
    }
    cfg->ciphers = c->value[F_CIPHERS];
    c->value[F_CIPHERS] = NULL;

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

    if (c->value[F_STATE_FILE] != NULL)
        cfg->state_path = resolve(c->path, c->value[F_STATE_FILE]);
    else if (asprintf(&cfg->state_path, "%s.state", c->path) < 0)
        cfg->state_path = NULL;
    if (cfg->state_path == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
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
    if (c.at_line[F_KEY] != 0 && fstat(fileno(c.fp), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        fprintf(stderr, "m2mattach: warning: %s holds a key inline and is accessible by group or others "
                        "(mode %04o); chmod 600 it\n", details_path, (unsigned)(st.st_mode & 07777));
    ok = 1;
done:
    if (c.fp != NULL)
        fclose(c.fp);
    if (c.linebuf != NULL) {
        m2m_wipe(c.linebuf, c.linecap);
        free(c.linebuf);
    }
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
    free(cfg->id);
    free(cfg->app_id);
    free(cfg->name);
    free(cfg->cse_base);
    free(cfg->ciphers);
    free(cfg->state_path);
    free(cfg);
}

const char *m2m_registree_config_state_path(const m2m_registree_config *cfg)
{
    return cfg != NULL ? cfg->state_path : NULL;
}
