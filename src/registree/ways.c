/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree's ways in (registree_internal.h): the generated key of x.y.8, the one it replaced, and the details
 * file's credentials, each with the binding a saved session must name to be offered with it. Generated keys live
 * in files of their own (hex, 0600), never in the state file. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/pubkey_hash.h"
#include "registree/registree_internal.h"
#include "util/file.h"
#include "util/hex.h"

/* A generated-key file holds 32 octets as hex and a newline. */
#define GENERATED_KEY_FILE_MAX 1024

void m2m_rtee_wipe_ways(m2m_registree *r)
{
    for (int i = 0; i < CRED_COUNT; i++) {
        m2m_secret_clear(&r->creds[i].key);
        memset(&r->creds[i], 0, sizeof r->creds[i]);
    }
    r->active = -1;
}

char *m2m_rtee_previous_path(const m2m_registree_config *cfg)
{
    char *p = NULL;
    if (asprintf(&p, "%s.previous", cfg->generated_key_path) < 0)
        return NULL;
    return p;
}

/* Reads a generated-key file into c (a PSK of 16 to 64 octets, hex). 0: loaded; 1: no such file; -1: unusable,
 * with the reason in c->unusable. The key itself never appears in a message. */
static int load_generated(const m2m_registree_config *cfg, const char *path, m2m_cred *c)
{
    m2m_file_buf f;
    m2m_err e = {0};
    int rc = m2m_file_read(path, GENERATED_KEY_FILE_MAX, M2M_FILE_MISSING_OK | M2M_FILE_EMPTY_OK, &f, &e);

    if (rc == 1)
        return 1;
    if (rc != 0) {
        m2m_rtee_copy(c->unusable, sizeof c->unusable, e.msg);
        return -1;
    }
    rc = -1;
    if (m2m_secret_from_hex(&c->key, (const char *)f.data, path, &e) != 0) {
        m2m_rtee_copy(c->unusable, sizeof c->unusable, e.msg);
        goto done;
    }
    if (c->key.len < M2M_KEY_MIN_LEN || c->key.len > M2M_KEY_MAX_LEN ||
        m2m_keyid(m2m_key_kind_for_id(cfg->id), c->key.bytes, c->key.len, c->key_id, &e) != 0) {
        snprintf(c->unusable, sizeof c->unusable, "%s does not hold a key of %d to %d octets", path,
                 M2M_KEY_MIN_LEN, M2M_KEY_MAX_LEN);
        m2m_secret_clear(&c->key);
        goto done;
    }
    rc = 0;
done:
    m2m_file_buf_free(&f);
    return rc;
}

/* "MECHANISM REGISTREE-ID CSE-ID CREDENTIAL-ID ROOT-ID": a saved session is offered only with the very credential
 * and Registrar it was made with (the Registrar put the binding inside the ticket; this end must not resume it
 * for another identity or another Registrar). The Registrar is its CSE-ID, not its point of access: every node
 * sharing the Registrar's store resumes. cert: the SHA-256 of its public key; token: a hash of it (the token
 * itself never goes to the state file); cert and token also name the Registrar root they verified. */
static int make_binding(const m2m_registree_config *cfg, m2m_cred *c, m2m_err *err)
{
    char cred_id[M2M_PUBKEY_HASH_HEX_LEN + 1] = "", root_id[33] = "-";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (c->mech == M2M_MECH_PSK || c->mech == M2M_MECH_GBA) {
        /* gba: the key ID is the B-TID's: a session never outlives its bootstrapping */
        snprintf(cred_id, sizeof cred_id, "%s", c->key_id);
    } else {
        if (c->mech == M2M_MECH_CERT) {
            if (m2m_pubkey_hash_x509(cfg->cert, cred_id, err) != 0)
                return -1;
            cred_id[32] = '\0';
        } else {
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            static const char label[] = "m2mattach session binding\n";
            int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                     EVP_DigestUpdate(ctx, label, sizeof label - 1) == 1 &&
                     EVP_DigestUpdate(ctx, cfg->token, strlen(cfg->token)) == 1 &&
                     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
            EVP_MD_CTX_free(ctx);
            if (!ok)
                return m2m_fail(err, M2M_E_TLS, "SHA-256 failed");
            m2m_hex_encode(md, 16, cred_id);
        }
        if (X509_digest(cfg->root_cert, EVP_sha256(), md, &mdlen) != 1)
            return m2m_fail(err, M2M_E_TLS, "SHA-256 of the root certificate failed");
        m2m_hex_encode(md, 16, root_id);
    }
    snprintf(c->binding, sizeof c->binding, "%s %s %s %s %s", m2m_mechanism_name(c->mech), cfg->id, cfg->cse_id,
             cred_id, root_id);
    return 0;
}

/* The ways in of this attach, from the state just loaded and the generated-key files. Generated keys count only
 * for the Registrar the Registree is registered with. */
int m2m_rtee_load_ways(m2m_registree *r)
{
    const m2m_registree_config *cfg = r->cfg;
    char *prev = NULL;
    int rc = -1;

    m2m_rtee_wipe_ways(r);
    if (m2m_rtee_registered_here(r)) {
        const char *paths[2] = {cfg->generated_key_path, prev = m2m_rtee_previous_path(cfg)};
        const char *ids[2] = {r->state.generated_key_id, r->state.previous_generated_key_id};
        if (prev == NULL)
            return m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        for (int i = CRED_GENERATED; i <= CRED_PREVIOUS; i++) {
            m2m_cred *c = &r->creds[i];
            int got = load_generated(cfg, paths[i], c);
            c->mech = M2M_MECH_PSK;
            c->slot = M2M_SLOT_GENERATED;
            if (got == 1 && ids[i][0] != '\0')
                snprintf(c->unusable, sizeof c->unusable, "%s is missing", paths[i]);
            c->present = got != 1 || ids[i][0] != '\0';
            /* the file may be newer than the state (a crash between the two writes): the file is what counts */
            if (c->present && c->key_id[0] == '\0')
                snprintf(c->key_id, sizeof c->key_id, "%s", ids[i]);
            if (got == 0 && make_binding(cfg, c, &r->err) != 0)
                goto done;
        }
        /* the same key twice (an interrupted rotation): one try is enough */
        if (r->creds[CRED_PREVIOUS].present && r->creds[CRED_GENERATED].present &&
            strcmp(r->creds[CRED_PREVIOUS].key_id, r->creds[CRED_GENERATED].key_id) == 0) {
            m2m_secret_clear(&r->creds[CRED_PREVIOUS].key);
            memset(&r->creds[CRED_PREVIOUS], 0, sizeof r->creds[CRED_PREVIOUS]);
        }
    }
    r->creds[CRED_DETAILS].present = 1;
    r->creds[CRED_DETAILS].mech = cfg->mechanism;
    r->creds[CRED_DETAILS].slot = M2M_SLOT_DETAILS;
    snprintf(r->creds[CRED_DETAILS].key_id, sizeof r->creds[CRED_DETAILS].key_id, "%s", cfg->key_id);
    if (cfg->mechanism == M2M_MECH_GBA)
        m2m_gba_btid_key_id(r->state.gba.btid, r->creds[CRED_DETAILS].key_id);
    if (make_binding(cfg, &r->creds[CRED_DETAILS], &r->err) != 0)
        goto done;
    rc = 0;
done:
    free(prev);
    return rc;
}

/* How a way is named in messages. */
void m2m_rtee_way_name(const m2m_registree *r, int i, char *out, size_t cap)
{
    const m2m_cred *c = &r->creds[i];
    if (i == CRED_GENERATED)
        snprintf(out, cap, "generated key %s", c->key_id[0] ? c->key_id : "(unreadable)");
    else if (i == CRED_PREVIOUS)
        snprintf(out, cap, "previous generated key %s", c->key_id[0] ? c->key_id : "(unreadable)");
    else if (c->mech == M2M_MECH_PSK)
        snprintf(out, cap, "psk key %s of %s", c->key_id, r->cfg->details_path);
    else if (c->mech == M2M_MECH_GBA)
        snprintf(out, cap, "GBA B-TID %.120s", r->state.gba.btid);
    else
        snprintf(out, cap, "%s credentials of %s", m2m_mechanism_name(c->mech), r->cfg->details_path);
}

/* Removes a generated key the Registrar refused (or a damaged file) once an older way got in. */
void m2m_rtee_discard_generated(m2m_registree *r, int i)
{
    char *prev = m2m_rtee_previous_path(r->cfg);
    const char *path = i == CRED_GENERATED ? r->cfg->generated_key_path : prev;
    char *id = i == CRED_GENERATED ? r->state.generated_key_id : r->state.previous_generated_key_id;
    m2m_saved_session *s = &r->state.session[M2M_SLOT_GENERATED];

    if (path != NULL)
        unlink(path);
    if (r->creds[i].binding[0] != '\0' && strcmp(s->binding, r->creds[i].binding) == 0)
        OPENSSL_cleanse(s, sizeof *s);
    id[0] = '\0';
    m2m_secret_clear(&r->creds[i].key);
    r->creds[i].present = 0;
    free(prev);
}

/* Generated keys belong to a registration: a new one makes those of an earlier one (with another Registrar, or
 * before the state file was reset) useless. */
void m2m_rtee_forget_generated(m2m_registree *r, m2m_reg_state *st)
{
    char *prev = m2m_rtee_previous_path(r->cfg);
    unlink(r->cfg->generated_key_path);
    if (prev != NULL)
        unlink(prev);
    free(prev);
    st->generated_key_id[0] = st->previous_generated_key_id[0] = '\0';
    OPENSSL_cleanse(&st->session[M2M_SLOT_GENERATED], sizeof st->session[M2M_SLOT_GENERATED]);
}
