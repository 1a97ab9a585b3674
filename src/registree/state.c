/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree state file (see state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "registree/state.h"
#include "util/atomic_write.h"
#include "util/file.h"
#include "util/hex.h"

/* A state file is a few hundred bytes, plus two saved sessions in base64; a bigger one is not ours. */
#define STATE_MAX (4 * (M2M_SESSION_DER_MAX / 3 + 1) * M2M_SLOTS + 16384)

static const char HEADER[] = "# m2mattach Registree state: written by m2mattach, do not edit while it runs\n";

enum state_key {
    K_REGISTERED, K_ASSIGNED_ID, K_RESOURCE, K_REGISTRAR, K_KEY_ID, K_GEN_KEY_ID, K_PREV_GEN_KEY_ID,
    K_SESSION, K_SESSION_FOR, K_SESSION_MS, K_GSESSION, K_GSESSION_FOR, K_GSESSION_MS,
    K_GBA_SQN, K_GBA_BTID, K_GBA_IMPI, K_GBA_BSF, K_GBA_EXPIRES, K_GBA_RAND, K_GBA_KS, K_COUNT
};
static const char *const KEYS[K_COUNT] = {
    "registered", "assigned-id", "resource", "registrar-cse-id", "key-id", "generated-key-id",
    "previous-generated-key-id", "session", "session-for", "session-full-handshake-ms", "generated-session",
    "generated-session-for", "generated-session-full-handshake-ms", "gba-sqn", "gba-btid", "gba-impi", "gba-bsf",
    "gba-expires", "gba-rand", "gba-ks"};

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

static int is_key_id(const char *v)
{
    if (strlen(v) != M2M_KEYID_HEX_LEN)
        return 0;
    for (; *v != '\0'; v++)
        if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'f')))
            return 0;
    return 1;
}

/* A saved session in base64 (RFC 4648, one line). */
static int set_session(m2m_saved_session *s, const char *v, const char *path, int line, const char *key,
                       m2m_err *err)
{
    size_t n = strlen(v), pad = 0;
    int got;

    s->der_len = 0;
    if (n == 0)
        return 0;
    if (n % 4 != 0 || n / 4 * 3 > M2M_SESSION_DER_MAX)
        return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s is not a saved session (base64 of at most %d octets)", path,
                        line, key, M2M_SESSION_DER_MAX);
    while (pad < 2 && v[n - 1 - pad] == '=')
        pad++;
    got = EVP_DecodeBlock(s->der, (const unsigned char *)v, (int)n);
    if (got < 0 || (size_t)got < pad + 1 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                      "0123456789+/") != n - pad) {
        OPENSSL_cleanse(s->der, sizeof s->der);
        return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s is not valid base64", path, line, key);
    }
    s->der_len = (size_t)got - pad;
    return 0;
}

static int set_ms(double *out, const char *v, const char *path, int line, const char *key, m2m_err *err)
{
    char *end;
    double d;
    if (v[0] == '\0') {
        *out = 0;
        return 0;
    }
    errno = 0;
    d = strtod(v, &end);
    if (errno != 0 || *end != '\0' || end == v || !(d >= 0 && d < 1e7))
        return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s must be a number of milliseconds, not '%.40s'", path, line,
                        key, v);
    *out = d;
    return 0;
}

/* Exactly len octets of hex into out. */
static int set_hex(unsigned char *out, size_t len, const char *v, const char *path, int line, const char *key,
                   m2m_err *err)
{
    size_t got = 0;
    if (m2m_hex_decode(v, out, len, &got, key, NULL) != 0 || got != len)
        return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s must be %zu octets of hex", path, line, key, len);
    return 0;
}

static int set_number(int64_t *out, int64_t max, const char *v, const char *path, int line, const char *key,
                      m2m_err *err)
{
    char *end;
    long long n;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || n < 0 || n > max)
        return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s must be a number from 0 to %lld, not '%.40s'", path, line, key,
                        (long long)max, v);
    *out = n;
    return 0;
}

static int set_value(m2m_reg_state *st, enum state_key k, const char *v, const char *path, int line, m2m_err *err)
{
    char *dst = NULL;
    size_t cap = 0;
    int64_t n = 0; /* set_number sets it on success; -O3 cannot tell (-Werror=maybe-uninitialized) */

    switch (k) {
    case K_GBA_SQN:
        if (set_number(&n, 0xffffffffffffLL, v, path, line, KEYS[k], err) != 0)
            return -1;
        st->gba.sqn = (uint64_t)n;
        return 0;
    case K_GBA_EXPIRES: return set_number(&st->gba.expires, INT64_MAX, v, path, line, KEYS[k], err);
    case K_GBA_RAND: return set_hex(st->gba.rand, sizeof st->gba.rand, v, path, line, KEYS[k], err);
    case K_GBA_KS: return set_hex(st->gba.ks, sizeof st->gba.ks, v, path, line, KEYS[k], err);
    case K_GBA_BTID: dst = st->gba.btid; cap = sizeof st->gba.btid; break;
    case K_GBA_IMPI: dst = st->gba.impi; cap = sizeof st->gba.impi; break;
    case K_GBA_BSF: dst = st->gba.bsf; cap = sizeof st->gba.bsf; break;
    case K_REGISTERED:
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: registered must be 0 or 1, not '%s'", path, line, v);
        st->registered = v[0] == '1';
        return 0;
    case K_KEY_ID:
    case K_GEN_KEY_ID:
    case K_PREV_GEN_KEY_ID:
        if (v[0] != '\0' && !is_key_id(v))
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s must be %d lowercase hex characters", path, line, KEYS[k],
                            M2M_KEYID_HEX_LEN);
        dst = k == K_KEY_ID ? st->key_id : k == K_GEN_KEY_ID ? st->generated_key_id : st->previous_generated_key_id;
        cap = M2M_KEYID_HEX_LEN + 1;
        break;
    case K_ASSIGNED_ID: dst = st->assigned_id; cap = sizeof st->assigned_id; break;
    case K_RESOURCE: dst = st->resource; cap = sizeof st->resource; break;
    case K_REGISTRAR: dst = st->registrar_cse_id; cap = sizeof st->registrar_cse_id; break;
    case K_SESSION: return set_session(&st->session[M2M_SLOT_DETAILS], v, path, line, KEYS[k], err);
    case K_GSESSION: return set_session(&st->session[M2M_SLOT_GENERATED], v, path, line, KEYS[k], err);
    case K_SESSION_MS: return set_ms(&st->session[M2M_SLOT_DETAILS].full_ms, v, path, line, KEYS[k], err);
    case K_GSESSION_MS: return set_ms(&st->session[M2M_SLOT_GENERATED].full_ms, v, path, line, KEYS[k], err);
    case K_SESSION_FOR:
        dst = st->session[M2M_SLOT_DETAILS].binding;
        cap = M2M_SESSION_FOR_MAX;
        break;
    case K_GSESSION_FOR:
        dst = st->session[M2M_SLOT_GENERATED].binding;
        cap = M2M_SESSION_FOR_MAX;
        break;
    case K_COUNT: break;
    }
    if (dst == NULL || strlen(v) >= cap)
        return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s is longer than %zu characters", path, line, KEYS[k],
                        cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* Not inih, though the details file uses it: Debian's libinih (55) is built with INI_MAX_LINE 200 and no heap, so it
 * cuts every line at 199 characters, and a saved session is one line of up to 16 KiB of base64 (ini_parse_string
 * on such a file gives "error on line 2"). Splitting sessions over several keys would change the format devices in
 * the field have on disk. This file is also simpler than INI: written only by state_save, no sections, no comments
 * but the header, no continuation lines, and a line without its newline is a torn write, which inih cannot tell. */
static int parse(char *text, size_t len, const char *path, m2m_reg_state *st, m2m_err *err)
{
    int seen[K_COUNT] = {0};
    char *p = text, *end = text + len;
    int line = 0;

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eq, *key, *val;
        int k;
        line++;
        /* Every line we write ends in '\n'; one that does not is where a torn write stopped. */
        if (nl == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: truncated line (no newline at the end of the file)", path,
                            line);
        if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: NUL byte; this is not a state file", path, line);
        key = trim(p, nl);
        p = nl + 1;
        if (key[0] == '\0' || key[0] == '#')
            continue;
        eq = strchr(key, '=');
        if (eq == NULL)
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: expected key = value", path, line);
        val = trim(eq + 1, eq + 1 + strlen(eq + 1));
        key = trim(key, eq);
        for (k = 0; k < K_COUNT; k++)
            if (strcmp(key, KEYS[k]) == 0)
                break;
        if (k == K_COUNT)
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: unknown key '%.60s'", path, line, key);
        if (seen[k])
            return m2m_fail(err, M2M_E_PARSE, "%s:%d: %s appears twice", path, line, key);
        seen[k] = line;
        if (set_value(st, (enum state_key)k, val, path, line, err) != 0)
            return -1;
    }
    if (!seen[K_REGISTERED])
        return m2m_fail(err, M2M_E_PARSE, "%s: no 'registered' line: the file is truncated or not a state file",
                        path);
    if (st->gba.btid[0] != '\0' && (!seen[K_GBA_RAND] || !seen[K_GBA_KS] || !seen[K_GBA_EXPIRES]))
        return m2m_fail(err, M2M_E_PARSE, "%s: gba-btid without gba-rand, gba-ks and gba-expires: the file is "
                        "damaged", path);
    if (st->registered && (st->assigned_id[0] == '\0' || st->registrar_cse_id[0] == '\0'))
        return m2m_fail(err, M2M_E_PARSE, "%s: registered = 1 without assigned-id and registrar-cse-id: the file "
                        "is damaged", path);
    for (int i = 0; i < M2M_SLOTS; i++)
        if ((st->session[i].der_len == 0) != (st->session[i].binding[0] == '\0'))
            return m2m_fail(err, M2M_E_PARSE, "%s: %s without %s: the file is damaged", path,
                            KEYS[i == 0 ? (st->session[i].der_len ? K_SESSION : K_SESSION_FOR)
                                        : (st->session[i].der_len ? K_GSESSION : K_GSESSION_FOR)],
                            KEYS[i == 0 ? (st->session[i].der_len ? K_SESSION_FOR : K_SESSION)
                                        : (st->session[i].der_len ? K_GSESSION_FOR : K_GSESSION)]);
    return 0;
}

void m2m_state_wipe(m2m_reg_state *st)
{
    if (st != NULL)
        OPENSSL_cleanse(st, sizeof *st);
}

int m2m_state_load(const char *path, m2m_reg_state *st, m2m_err *err)
{
    m2m_file_buf text = {0};
    m2m_err e = {0};
    int rc;

    memset(st, 0, sizeof *st);
    /* missing: never registered (or the state was deliberately removed); empty: parse says what is missing */
    rc = m2m_file_read(path, STATE_MAX, M2M_FILE_MISSING_OK | M2M_FILE_EMPTY_OK, &text, &e);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return m2m_fail(err, e.code, "%s (the Registree's state file)", e.msg);
    rc = parse((char *)text.data, text.len, path, st, err);
    if (rc != 0)
        m2m_state_wipe(st);
    m2m_file_buf_free(&text); /* it held the saved sessions */
    return rc;
}

static int printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* base64 of a saved session, malloc'd ("" when there is none); NULL when out of memory. */
static char *session_text(const m2m_saved_session *s)
{
    char *out = malloc(4 * (s->der_len / 3 + 1) + 1);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    if (s->der_len > 0)
        EVP_EncodeBlock((unsigned char *)out, s->der, (int)s->der_len);
    return out;
}

int m2m_state_save(const char *path, const m2m_reg_state *st, m2m_err *err)
{
    char *text = NULL, *sess[M2M_SLOTS] = {NULL, NULL}, ms[M2M_SLOTS][32];
    char gba[M2M_BTID_MAX + M2M_IMPI_MAX + 300 + 300], rand_hex[33], ks_hex[65];
    int rc = -1, len = -1;

    /* The values come partly from the Registrar: a line break in one would forge another key. */
    if (!printable(st->assigned_id) || !printable(st->resource) || !printable(st->registrar_cse_id) ||
        !printable(st->key_id) || !printable(st->generated_key_id) || !printable(st->previous_generated_key_id) ||
        !printable(st->session[0].binding) || !printable(st->session[1].binding) || !printable(st->gba.btid) ||
        !printable(st->gba.impi) || !printable(st->gba.bsf)) {
        m2m_fail(err, M2M_E_ARG, "%s: refusing to store a value with control characters", path);
        goto done;
    }
    for (int i = 0; i < M2M_SLOTS; i++) {
        const m2m_saved_session *s = &st->session[i];
        if (s->der_len > M2M_SESSION_DER_MAX || (s->der_len == 0) != (s->binding[0] == '\0')) {
            m2m_fail(err, M2M_E_ARG, "%s: refusing to store a session without its binding", path);
            goto done;
        }
        if ((sess[i] = session_text(s)) == NULL) {
            m2m_fail(err, M2M_E_NOMEM, "out of memory");
            goto done;
        }
        if (s->full_ms > 0 && s->full_ms < 1e7)
            snprintf(ms[i], sizeof ms[i], "%.3f", s->full_ms);
        else
            ms[i][0] = '\0';
    }
    /* x.y.5: the USIM's SQN once it has one, the bootstrapping while there is one */
    gba[0] = '\0';
    if (st->gba.sqn != 0 || st->gba.btid[0] != '\0')
        snprintf(gba, sizeof gba, "gba-sqn = %llu\n", (unsigned long long)st->gba.sqn);
    if (st->gba.btid[0] != '\0') {
        m2m_hex_encode(st->gba.rand, sizeof st->gba.rand, rand_hex);
        m2m_hex_encode(st->gba.ks, sizeof st->gba.ks, ks_hex);
        snprintf(gba + strlen(gba), sizeof gba - strlen(gba),
                 "gba-btid = %s\ngba-impi = %s\ngba-bsf = %s\ngba-expires = %lld\ngba-rand = %s\ngba-ks = %s\n",
                 st->gba.btid, st->gba.impi, st->gba.bsf, (long long)st->gba.expires, rand_hex, ks_hex);
        OPENSSL_cleanse(ks_hex, sizeof ks_hex);
    }
    len = asprintf(&text, "%sregistered = %d\nassigned-id = %s\nresource = %s\nregistrar-cse-id = %s\nkey-id = %s\n"
                          "generated-key-id = %s\nprevious-generated-key-id = %s\n"
                          "%s%s%s%s%s%s%s%s%s" "%s%s%s%s%s%s%s%s%s" "%s",
                   HEADER, st->registered ? 1 : 0, st->assigned_id, st->resource, st->registrar_cse_id,
                   st->key_id, st->generated_key_id, st->previous_generated_key_id,
                   sess[0][0] ? "session-for = " : "", st->session[0].binding, sess[0][0] ? "\n" : "",
                   sess[0][0] && ms[0][0] ? "session-full-handshake-ms = " : "", sess[0][0] ? ms[0] : "",
                   sess[0][0] && ms[0][0] ? "\n" : "",
                   sess[0][0] ? "session = " : "", sess[0], sess[0][0] ? "\n" : "",
                   sess[1][0] ? "generated-session-for = " : "", st->session[1].binding, sess[1][0] ? "\n" : "",
                   sess[1][0] && ms[1][0] ? "generated-session-full-handshake-ms = " : "", sess[1][0] ? ms[1] : "",
                   sess[1][0] && ms[1][0] ? "\n" : "",
                   sess[1][0] ? "generated-session = " : "", sess[1], sess[1][0] ? "\n" : "", gba);
    OPENSSL_cleanse(gba, sizeof gba);
    if (len < 0) {
        text = NULL;
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (m2m_write_atomic(path, text, (size_t)len, 0600, 0, NULL, err) != 0)
        goto done;
    rc = 0;
done:
    for (int i = 0; i < M2M_SLOTS; i++)
        if (sess[i] != NULL) {
            OPENSSL_cleanse(sess[i], strlen(sess[i]));
            free(sess[i]);
        }
    if (text != NULL) {
        OPENSSL_cleanse(text, (size_t)len);
        free(text);
    }
    return rc;
}
