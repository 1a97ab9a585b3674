/* SPDX-License-Identifier: Apache-2.0 */
/* Step 2 from the network, the Registree's side (m2m_registree_brief, include/m2mattach/registree.h): attached to
 * its Briefing Registrar with the details it was made with, the Registree RETRIEVEs its <briefing> (root m2m:brf,
 * fields after TS-0022 [registration] and [authenticationProfile]) and turns it into the attachment-details file
 * for the target, with the secrets in 0600 files of their own beside it. Everything in a briefing is what one peer
 * said: each value is checked to be what its INI key can hold (no line breaks, no comment characters, the ID and
 * CSE-ID syntax the details reader wants) before a line is written, and the key's ID must be the one announced. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registree/registree_internal.h"
#include "util/atomic_write.h"
#include "util/file.h"
#include "util/hex.h"

#define BRIEF_TY 10101 /* <briefing>: the project's resource type (README) */

/* What a briefing says, checked. */
typedef struct brief {
    const char *poa, *cse_id, *id, *app_id, *mech, *key_id, *key_hex, *token, *root_pem, *handed_out;
} brief;

/* A value that can stand after "key = " on one line of the details file and mean exactly itself. */
static int ini_safe(const char *v)
{
    if (v == NULL || v[0] == '\0' || strlen(v) > 190)
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == ';' || *p == '#' || *p == '"' ||
            *p == '\\')
            return 0;
    return 1;
}

static const char *member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Reads the m2m:brf representation into b (pointing into doc). */
static int parse_brief(m2m_registree *r, const cJSON *doc, brief *b)
{
    const char *who = r->cfg->authority;
    const cJSON *brf = cJSON_GetObjectItemCaseSensitive(doc, "m2m:brf");
    const cJSON *reg = cJSON_GetObjectItemCaseSensitive(brf, "registration");
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(brf, "authenticationProfile");
    const cJSON *poa = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reg, "PoA"), 0);

    memset(b, 0, sizeof *b);
    if (!cJSON_IsObject(reg) || !cJSON_IsObject(auth))
        return m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: no m2m:brf with registration and "
                        "authenticationProfile", who);
    b->poa = cJSON_IsString(poa) ? poa->valuestring : NULL;
    b->cse_id = member(reg, "CSE-ID");
    b->id = member(reg, "originatorID");
    b->app_id = member(reg, "appID");
    b->mech = member(auth, "mechanism");
    b->key_id = member(auth, "symmKeyID");
    b->key_hex = member(auth, "symmKeyValue");
    b->token = member(auth, "token");
    b->root_pem = member(auth, "trustAnchorCerts");
    b->handed_out = member(brf, "credentialHandedOut");
    if (!ini_safe(b->poa) || !ini_safe(b->cse_id) || b->cse_id[0] != '/' || !m2m_is_plain_token(b->cse_id + 1))
        return m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: registration PoA and CSE-ID must be a "
                        "URL and a CSE-ID ('/name')", who);
    if (b->id == NULL || !m2m_is_plain_token(b->id[0] == '/' ? b->id + 1 : b->id) || strlen(b->id) > 100 ||
        (b->app_id != NULL && (!m2m_is_plain_token(b->app_id) || strlen(b->app_id) > 100)))
        return m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: registration originatorID or appID is "
                        "not a plain ID", who);
    if (b->mech == NULL || (strcmp(b->mech, "psk") != 0 && strcmp(b->mech, "cert") != 0 &&
                            strcmp(b->mech, "token") != 0 && strcmp(b->mech, "gba") != 0))
        return m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: unknown mechanism", who);
    if (strcmp(b->mech, "gba") == 0)
        return m2m_fail(&r->err, M2M_E_ARG, "briefing from Registrar %s: mechanism gba at the target is not "
                        "supported by this Registree (it needs the USIM's files); write its details by hand", who);
    if ((b->key_id != NULL && strlen(b->key_id) != M2M_KEYID_HEX_LEN) ||
        (b->token != NULL && !m2m_token_syntax_ok(b->token)))
        return m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: symmKeyID or token is malformed", who);
    return 0;
}

/* "<out>.<suffix>" into path, and its last component into name (what the details file names: relative paths are
 * read against the file's own directory). */
static int side_path(m2m_registree *r, const char *out, const char *suffix, char path[PATH_MAX], const char **name)
{
    const char *slash;
    if (snprintf(path, PATH_MAX, "%s.%s", out, suffix) >= PATH_MAX)
        return m2m_fail(&r->err, M2M_E_ARG, "%s: path too long", out);
    slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (!ini_safe(*name))
        return m2m_fail(&r->err, M2M_E_ARG, "%s: a file name with blanks, ';' or '#' cannot go into the details "
                        "file", path);
    return 0;
}

/* psk: the key file, from the briefing's one-time key; or, when a read before took it, a key file an earlier run
 * wrote with the same ID (a target attach that failed after the briefing was read can be run again). */
static int write_key(m2m_registree *r, const brief *b, const char *path)
{
    m2m_secret key = {0};
    char kid[M2M_KEYID_HEX_LEN + 1], hex[2 * M2M_SECRET_MAX + 2];
    m2m_file_buf old = {0};
    m2m_err e = {0};
    int rc = -1;

    if (b->key_hex == NULL) {
        if (b->key_id != NULL && m2m_file_read(path, M2M_SMALL_FILE_MAX, 0, &old, &e) == 0 &&
            m2m_secret_from_hex(&key, (const char *)old.data, path, &e) == 0 &&
            m2m_keyid(m2m_key_kind_for_id(b->id), key.bytes, key.len, kid, &e) == 0 && strcmp(kid, b->key_id) == 0)
            rc = 0; /* kept */
        else
            m2m_fail(&r->err, M2M_E_NOTFOUND, "briefing from Registrar %s: its one-time key was handed out before "
                     "(%s) and %s does not hold it: ask the Service Provider for a new briefing", r->cfg->authority,
                     b->handed_out ? b->handed_out : "time unknown", path);
        goto done;
    }
    if (m2m_secret_from_hex(&key, b->key_hex, "briefing symmKeyValue", &r->err) != 0 ||
        m2m_keyid(m2m_key_kind_for_id(b->id), key.bytes, key.len, kid, &r->err) != 0)
        goto done;
    if (b->key_id != NULL && strcmp(kid, b->key_id) != 0) {
        m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: symmKeyValue has key ID %s, not the symmKeyID %s "
                 "it announces", r->cfg->authority, kid, b->key_id);
        goto done;
    }
    m2m_hex_encode(key.bytes, key.len, hex);
    strcat(hex, "\n");
    rc = m2m_write_atomic(path, hex, strlen(hex), 0600, 0, NULL, &r->err);
done:
    m2m_file_buf_free(&old);
    m2m_wipe(hex, sizeof hex);
    m2m_secret_clear(&key);
    return rc;
}

/* token: the token file, from the briefing's one-time token, or kept from an earlier run. */
static int write_token(m2m_registree *r, const brief *b, const char *path)
{
    char line[M2M_TOKEN_MAX_LEN + 2];
    int rc;
    if (b->token == NULL) {
        if (access(path, R_OK) == 0)
            return 0;
        return m2m_fail(&r->err, M2M_E_NOTFOUND, "briefing from Registrar %s: its one-time token was handed out "
                        "before (%s) and %s does not exist: ask the Service Provider for a new briefing",
                        r->cfg->authority, b->handed_out ? b->handed_out : "time unknown", path);
    }
    snprintf(line, sizeof line, "%s\n", b->token);
    rc = m2m_write_atomic(path, line, strlen(line), 0600, 0, NULL, &r->err);
    m2m_wipe(line, sizeof line);
    return rc;
}

/* The device's own certificate for mechanism cert at the target: as given, else the briefing details' own. */
static int cert_lines(m2m_registree *r, const char *cert, const char *key, char *out, size_t cap)
{
    char c[PATH_MAX], k[PATH_MAX];
    if (cert == NULL && r->cfg->mechanism == M2M_MECH_CERT) {
        cert = r->cfg->cert_path;
        key = r->cfg->cert_key_path;
    }
    if (cert == NULL || key == NULL)
        return m2m_fail(&r->err, M2M_E_ARG, "the briefing says mechanism cert: give the device certificate and its "
                        "key (the briefing details file %s does not use one)", r->cfg->details_path);
    /* absolute: the new details file may live elsewhere */
    if (realpath(cert, c) == NULL || realpath(key, k) == NULL || !ini_safe(c) || !ini_safe(k))
        return m2m_fail(&r->err, M2M_E_ARG, "certificate %s or key %s: not found, or its path has blanks, ';' or "
                        "'#'", cert, key);
    snprintf(out, cap, "cert-file = %s\nkey-file = %s\n", c, k);
    return 0;
}

/* Writes the secrets' files first and the details file last, so that the details never name a missing file. */
static int write_details(m2m_registree *r, const brief *b, const char *out, const char *cert, const char *cert_key)
{
    char path[PATH_MAX], cred[2 * PATH_MAX + 64] = "", root_line[PATH_MAX + 16] = "", app[160] = "";
    char text[4096];
    const char *name, *api = b->app_id ? b->app_id : r->cfg->app_id;
    int n;

    if (b->id[0] != '/' && (api == NULL || api[0] == '\0'))
        return m2m_fail(&r->err, M2M_E_PROTO, "briefing from Registrar %s: no appID for AE %s", r->cfg->authority,
                        b->id);

    if (strcmp(b->mech, "psk") == 0) {
        if (side_path(r, out, "key", path, &name) != 0 || write_key(r, b, path) != 0)
            return -1;
        snprintf(cred, sizeof cred, "key-file = %s\n", name);
    } else if (strcmp(b->mech, "token") == 0) {
        if (side_path(r, out, "token", path, &name) != 0 || write_token(r, b, path) != 0)
            return -1;
        snprintf(cred, sizeof cred, "token-file = %s\n", name);
    } else if (cert_lines(r, cert, cert_key, cred, sizeof cred) != 0) {
        return -1;
    }
    if (b->root_pem != NULL) {
        /* only written here; the details reader checks it is one self-signed certificate */
        if (side_path(r, out, "root.crt", path, &name) != 0 ||
            m2m_write_atomic(path, b->root_pem, strlen(b->root_pem), 0600, 0, NULL, &r->err) != 0)
            return -1;
        snprintf(root_line, sizeof root_line, "root-cert = %s\n", name);
    }
    if (b->id[0] != '/')
        snprintf(app, sizeof app, "app-id = %s\n", api);
    n = snprintf(text, sizeof text,
                 "; attachment details from the briefing of %s (Step 2), written by m2mattach attach --briefing\n"
                 "[registrar]\npoa = %s\ncse-id = %s\n%s\n[registree]\nid = %s\n%s\n[credentials]\nmechanism = %s\n%s",
                 r->cfg->cse_id, b->poa, b->cse_id, root_line, b->id, app, b->mech, cred);
    if (n < 0 || (size_t)n >= sizeof text)
        return m2m_fail(&r->err, M2M_E_ARG, "%s: details too long", out);
    return m2m_write_atomic(out, text, (size_t)n, 0600, 0, NULL, &r->err);
}

/* 1 when a and b name the same file (the same string, or the same existing inode). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return 1;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The new details (and the state file beside them) must not replace the ones the device was made with: it would
 * lose its way to the Briefing Registrar. */
static int check_out(m2m_registree *r, const char *out)
{
    char state[PATH_MAX];
    if (snprintf(state, sizeof state, "%s.state", out) >= (int)sizeof state)
        return m2m_fail(&r->err, M2M_E_ARG, "%s: path too long", out);
    if (same_file(out, r->cfg->details_path) || same_file(out, r->cfg->state_path) ||
        same_file(state, r->cfg->state_path) || same_file(state, r->cfg->details_path))
        return m2m_fail(&r->err, M2M_E_ARG, "%s: the details written from a briefing may not replace %s or its state "
                        "file; choose another file", out, r->cfg->details_path);
    return 0;
}

/* RETRIEVE of the briefing, From the ID the connection is bound to. */
static int retrieve(m2m_registree *r, m2m_reply *reply)
{
    char path[400];
    m2m_request req = {0};
    const char *id = r->cfg->id;
    snprintf(path, sizeof path, "/~%s/brf-%s", r->cfg->cse_id, id[0] == '/' ? id + 1 : id);
    req.method = "GET";
    req.path = path;
    req.from = m2m_rtee_registered_here(r) ? r->state.assigned_id : id;
    return m2m_rtee_exchange(r, &req, NULL, reply, 1);
}

static void reply_wipe(m2m_reply *reply)
{
    if (reply->body != NULL)
        m2m_wipe(reply->body, reply->body_len);
    m2m_reply_free(reply);
}

int m2m_registree_brief(m2m_registree *r, const char *out, const char *cert, const char *cert_key,
                        m2m_brief_info *info)
{
    m2m_reply reply = {0};
    cJSON *doc = NULL;
    brief b;
    char dbg[300];
    int rc = -1;

    if (r == NULL)
        return -1;
    memset(info, 0, sizeof *info);
    if (out == NULL || out[0] == '\0')
        return m2m_fail(&r->err, M2M_E_ARG, "no path for the new details file");
    if (check_out(r, out) != 0)
        return -1;
    if (m2m_rtee_begin_call(r) != 0)
        goto done;
    /* Step 4 only: a Briefing Registrar may answer without a registration; Step 5 only if it wants one */
    r->handshake_only = 1;
    rc = m2m_rtee_attach(r, &info->attach, 0, 0);
    r->handshake_only = 0;
    if (rc != 0 || (rc = retrieve(r, &reply)) != 0)
        goto done;
    if (reply.rsc != M2M_RSC_OK && !m2m_rtee_registered_here(r) &&
        (reply.rsc == M2M_RSC_NOT_FOUND || reply.rsc == M2M_RSC_SECURITY_ASSOCIATION_REQUIRED ||
         reply.rsc == M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED || reply.rsc == M2M_RSC_ORIGINATOR_HAS_NO_PRIVILEGE)) {
        reply_wipe(&reply);
        if ((rc = m2m_rtee_register(r, &info->attach)) != 0 || (rc = retrieve(r, &reply)) != 0)
            goto done;
    }
    rc = -1;
    if (reply.rsc != M2M_RSC_OK) {
        m2m_rtee_debug_text(&reply, dbg, sizeof dbg);
        m2m_fail(&r->err, reply.rsc == M2M_RSC_NOT_FOUND ? M2M_E_NOTFOUND : M2M_E_REFUSED, "briefing from Registrar "
                 "%s (%s): %d %s: %s", r->cfg->authority, r->cfg->cse_id, reply.rsc, m2m_rsc_name(reply.rsc), dbg);
        goto done;
    }
    if ((doc = m2m_json_parse_strict(reply.body, reply.body_len, &r->err)) == NULL || parse_brief(r, doc, &b) != 0 ||
        write_details(r, &b, out, cert, cert_key) != 0)
        goto done;
    snprintf(info->target_cse_id, sizeof info->target_cse_id, "%s", b.cse_id);
    snprintf(info->target_poa, sizeof info->target_poa, "%s", b.poa);
    snprintf(info->target_id, sizeof info->target_id, "%s", b.id);
    snprintf(info->mechanism, sizeof info->mechanism, "%s", b.mech);
    info->credential_received = b.key_hex != NULL || b.token != NULL;
    info->root_cert = b.root_pem != NULL;
    rc = 0;
done:
    if (doc != NULL) {
        /* the one-time credential: gone from memory as from the Registrar's store */
        cJSON *auth = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "m2m:brf"),
                                                       "authenticationProfile");
        const char *secrets[] = {"symmKeyValue", "token"};
        for (size_t i = 0; i < 2; i++) {
            cJSON *s = cJSON_GetObjectItemCaseSensitive(auth, secrets[i]);
            if (cJSON_IsString(s))
                m2m_wipe(s->valuestring, strlen(s->valuestring));
        }
        cJSON_Delete(doc);
    }
    reply_wipe(&reply);
    return m2m_rtee_end_call(r, rc);
}
