/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree (include/m2mattach/registree.h): Step 4 over tls_client (PSK, or the Registrar's certificate for
 * the PKI mechanisms), Step 5 as an HTTP CREATE built and parsed by binding/http_client (with the identity token for
 * x.y.7), and the state file that lets re-attachment (x.y.3, x.y.6) skip Step 5.
 *
 * Issue 4 adds two things:
 *  - resumption (x.y.4): the newest session the Registrar issued is kept in the state file, bound to the
 *    credential and Registrar it came from, and offered first; the Registrar may decline it (expired ticket key,
 *    revoked enrolment), and the handshake is then a full one in the same round trips;
 *  - key generation (x.y.8, m2m_registree_rekey): a <keyGeneration> CREATE over a full, forward-secret handshake,
 *    the key derived from the TLS exporter at both ends and checked against the ID the Registrar reports, kept in
 *    a file of its own; from then on the Registree re-attaches with TLS-PSK and that key (x.y.3).
 *
 * The ways in, tried in this order (never locking the device out):
 *   1. the generated key (generated-key file);
 *   2. the generated key it replaced ("<generated-key file>.previous"), kept until the new one has worked once;
 *   3. the credentials of the details file (psk key, cert, or for token a resumable session).
 * A way the Registrar refuses during the handshake makes the next one be tried (a network failure does not). When
 * an older way gets in after a generated key was refused, the refused key cannot be of use any more (the
 * Registrar would have accepted it alongside the old credential until it was first used) and is discarded. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "binding/http_client.h"
#include "crypto/pubkey_hash.h"
#include "crypto/secret.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registree/details.h"
#include "registree/state.h"
#include "registree/state_lock.h"
#include "registree/tls_client.h"
#include "registree/ub_client.h"
#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "util/hex.h"
#include "util/rfc3339.h"
#include "util/clock.h"

/* x.y.8 on the wire: the <keyGeneration> resource type of this project (README), the exporter of TS-0003 10.3. */
#define KGN_TY 10100
#define EXPORTER_LABEL "EXPORTER-oneM2M-Connection"
#define EXPORTER_LEN 48
#define GENERATED_KEY_OFFSET 16 /* the key is the last 32 octets */
/* TLS 1.2 key generation needs an ephemeral (EC)DH exchange: with the default PSK list only this suite is offered
 * (TLS 1.3 handshakes always have one). */
#define REKEY_TLS12_PSK_CIPHERS "ECDHE-PSK-AES128-CBC-SHA256"
/* A generated-key file holds 32 octets as hex and a newline. */
#define GENERATED_KEY_FILE_MAX 1024
/* TLS 1.3 tickets come after the handshake: how long a handshake-only attach waits for one, at least. */
#define AWAIT_SESSION_MIN_MS 250
/* x.y.5: a B-TID this close to its expiry is not used; the UE bootstraps again first. */
#define GBA_EXPIRY_MARGIN_S 30

typedef enum cred_kind { CRED_GENERATED = 0, CRED_PREVIOUS = 1, CRED_DETAILS = 2, CRED_COUNT = 3 } cred_kind;

/* One way in. */
typedef struct cred {
    int present;                         /* the way exists: a generated-key file, or the details credentials */
    char unusable[300];                  /* why it cannot be used (a damaged file); "" when it can */
    char refused[300];                   /* why the Registrar refused it in this attach; "" when it did not */
    m2m_mechanism mech;                  /* generated keys: psk */
    m2m_secret key;                      /* generated keys; the details key stays in the configuration */
    char key_id[M2M_KEYID_HEX_LEN + 1];  /* the PSK identity; "" for cert and token */
    char binding[M2M_SESSION_FOR_MAX];   /* what a saved session must name to be offered with it */
    m2m_session_slot slot;
} cred;

struct m2m_registree {
    const m2m_registree_config *cfg; /* borrowed: the caller keeps it alive */
    m2m_tls_client *tls;
    m2m_http_parser *parser;
    unsigned exchanges;              /* on the current connection: a reused one may have been closed idle */
    m2m_reg_state state;
    m2m_err err;
    cred creds[CRED_COUNT];
    int active;                      /* the way of the current connection, -1 before any */
    int offer_sessions;              /* 0: m2m_registree_set_resumption(r, 0) */
    unsigned saved_sessions;         /* m2m_tls_client_sessions() when the state was last saved */
    char notice[512];                /* the last attachment's fallback (m2m_attach_info.notice) */
    double deadline;                 /* when the current public call must be over ([tls] deadline), or 0 */
    int lock_fd;                     /* the state lock while a public call holds it, else -1 */
    char gba_identity[M2M_GBA_IDENTITY_MAX + 1]; /* x.y.5: "3GPP-bootstrapping." B-TID */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void wipe_creds(m2m_registree *r)
{
    for (int i = 0; i < CRED_COUNT; i++) {
        m2m_secret_clear(&r->creds[i].key);
        memset(&r->creds[i], 0, sizeof r->creds[i]);
    }
    r->active = -1;
}

m2m_registree *m2m_registree_new(const m2m_registree_config *cfg, m2m_err *err)
{
    m2m_registree *r;

    if (cfg == NULL) {
        m2m_fail(err, M2M_E_ARG, "no Registree configuration");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL || (r->parser = m2m_http_parser_new()) == NULL) {
        free(r);
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    r->active = -1;
    r->offer_sessions = 1;
    r->lock_fd = -1;
    return r;
}

void m2m_registree_free(m2m_registree *r)
{
    if (r == NULL)
        return;
    m2m_registree_disconnect(r);
    m2m_http_parser_free(r->parser);
    wipe_creds(r);
    m2m_state_wipe(&r->state);
    free(r);
}

void m2m_registree_set_resumption(m2m_registree *r, int enabled)
{
    if (r != NULL)
        r->offer_sessions = enabled != 0;
}

const char *m2m_registree_notice(const m2m_registree *r)
{
    return r != NULL ? r->notice : "";
}

const char *m2m_registree_error(const m2m_registree *r)
{
    return r != NULL ? r->err.msg : "";
}

m2m_code m2m_registree_error_code(const m2m_registree *r)
{
    return r != NULL ? r->err.code : M2M_E_ARG;
}

void m2m_registree_disconnect(m2m_registree *r)
{
    if (r == NULL)
        return;
    m2m_tls_client_close(r->tls);
    r->tls = NULL;
    r->exchanges = 0;
    r->saved_sessions = 0;
}

void m2m_reply_free(m2m_reply *reply)
{
    if (reply == NULL)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}

/* 1 when the state file records a registration with this configuration's Registrar. */
static int registered_here(const m2m_registree *r)
{
    return r->state.registered && strcmp(r->state.registrar_cse_id, r->cfg->cse_id) == 0;
}

/* A bounded copy (messages, bindings). */
static void copy_msg(char *out, size_t cap, const char *msg)
{
    size_t n = strnlen(msg, cap - 1);
    memmove(out, msg, n);
    out[n] = '\0';
}

/* ---- the ways in ------------------------------------------------------------------------------------------------ */

static char *previous_path(const m2m_registree_config *cfg)
{
    char *p = NULL;
    if (asprintf(&p, "%s.previous", cfg->generated_key_path) < 0)
        return NULL;
    return p;
}

/* Reads a generated-key file into c (a PSK of 16 to 64 octets, hex). 0: loaded; 1: no such file; -1: unusable,
 * with the reason in c->unusable. The key itself never appears in a message. */
static int load_generated(const m2m_registree_config *cfg, const char *path, cred *c)
{
    char buf[GENERATED_KEY_FILE_MAX + 1];
    struct stat st;
    m2m_err e = {0};
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

    if (fd < 0 && errno == ENOENT)
        return 1;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(c->unusable, sizeof c->unusable, "cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > GENERATED_KEY_FILE_MAX) {
        snprintf(c->unusable, sizeof c->unusable, "%s is not a generated-key file", path);
        goto done;
    }
    while (len < GENERATED_KEY_FILE_MAX && (n = read(fd, buf + len, GENERATED_KEY_FILE_MAX - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(c->unusable, sizeof c->unusable, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (m2m_secret_from_hex(&c->key, buf, path, &e) != 0) {
        copy_msg(c->unusable, sizeof c->unusable, e.msg);
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
    m2m_wipe(buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* "MECHANISM REGISTREE-ID CSE-ID CREDENTIAL-ID ROOT-ID": a saved session is offered only with the very credential
 * and Registrar it was made with (the Registrar put the binding inside the ticket; this end must not resume it
 * for another identity or another Registrar). The Registrar is its CSE-ID, not its point of access: every node
 * sharing the Registrar's store resumes. cert: the SHA-256 of its public key; token: a hash of it (the token
 * itself never goes to the state file); cert and token also name the Registrar root they verified. */
static int make_binding(const m2m_registree_config *cfg, cred *c, m2m_err *err)
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
static int load_creds(m2m_registree *r)
{
    const m2m_registree_config *cfg = r->cfg;
    char *prev = NULL;
    int rc = -1;

    wipe_creds(r);
    if (registered_here(r)) {
        const char *paths[2] = {cfg->generated_key_path, prev = previous_path(cfg)};
        const char *ids[2] = {r->state.generated_key_id, r->state.previous_generated_key_id};
        if (prev == NULL)
            return m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        for (int i = CRED_GENERATED; i <= CRED_PREVIOUS; i++) {
            cred *c = &r->creds[i];
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
static void cred_name(const m2m_registree *r, int i, char *out, size_t cap)
{
    const cred *c = &r->creds[i];
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

/* ---- sessions --------------------------------------------------------------------------------------------------- */

/* With ocsp-responder-cert the Registree wants a fresh, good OCSP status of the Registrar at every attachment,
 * and a resumed handshake has none: cert and token then do full handshakes (a PSK, generated or not, involves no
 * certificate). */
static int resumable_mech(const m2m_registree_config *cfg, m2m_mechanism mech)
{
    return mech == M2M_MECH_PSK || mech == M2M_MECH_GBA || cfg->ocsp_cert == NULL;
}

/* ---- x.y.5: the GBA UE ----------------------------------------------------------------------------------------- */

/* Ks_NAF for this Registrar (TS 33.220 Annex B): NAF_Id = the Registrar's FQDN || the Ua id of the version and the
 * suite the handshake negotiates (tls_client asks once they are known). */
static int gba_derive(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len)
{
    m2m_registree *r = arg;
    const m2m_gba_state *g = &r->state.gba;
    uint8_t ua[M2M_GBA_UA_ID_LEN], naf_id[M2M_GBA_NAF_ID_MAX];
    size_t len = 0;
    m2m_gba_ua_id(version, (uint16_t)suite, ua);
    if (m2m_gba_naf_id(r->cfg->gba_naf_fqdn, ua, naf_id, &len, NULL) != 0 ||
        m2m_gba_ks_naf(g->ks, g->rand, g->impi, naf_id, len, out, NULL) != 0)
        return -1;
    *out_len = M2M_GBA_KS_NAF_LEN;
    return 0;
}

/* A bootstrapping to attach with: the saved one while it lasts (and belongs to this IMPI and BSF), else a new one
 * over Ub (force: always a new one). The USIM's SQN is saved whatever Ub's outcome. */
static int gba_ensure(m2m_registree *r, m2m_attach_info *info, int force)
{
    const m2m_registree_config *cfg = r->cfg;
    m2m_gba_state *g = &r->state.gba;
    m2m_err save_err;
    uint64_t sqn = g->sqn;
    int rc;

    if (force || g->btid[0] == '\0' || strcmp(g->impi, cfg->gba_impi) != 0 || strcmp(g->bsf, cfg->gba_bsf) != 0 ||
        g->expires <= m2m_clock_now() + GBA_EXPIRY_MARGIN_S) {
        OPENSSL_cleanse(g, sizeof *g);
        g->sqn = sqn;
        rc = m2m_ub_bootstrap(cfg, g, &r->err);
        if (rc != 0)
            OPENSSL_cleanse(g->btid, sizeof g->btid); /* no half bootstrapping stays */
        if (m2m_state_save(cfg->state_path, &r->state, rc == 0 ? &r->err : &save_err) != 0 || rc != 0)
            return -1;
        info->gba_bootstrapped = 1;
    }
    snprintf(r->gba_identity, sizeof r->gba_identity, M2M_GBA_IDENTITY_PREFIX "%s", g->btid);
    snprintf(info->gba_btid, sizeof info->gba_btid, "%s", g->btid);
    m2m_rfc3339_format(g->expires, info->gba_lifetime);
    return 0;
}

/* The saved session to offer with way i, or NULL. rekey: none -- the Registrar generates a key only over a full
 * handshake that proves the credential in that very connection (a resumed session proves only that someone holds
 * the ticket's secret, and a TLS 1.2 resumption has no key exchange either). */
static SSL_SESSION *session_for(const m2m_registree *r, int i, int rekey)
{
    const cred *c = &r->creds[i];
    const m2m_saved_session *s = &r->state.session[c->slot];
    const unsigned char *p = s->der;
    SSL_SESSION *sess;

    if (!r->cfg->resumption || !r->offer_sessions || s->der_len == 0 || strcmp(s->binding, c->binding) != 0 ||
        !resumable_mech(r->cfg, c->mech))
        return NULL;
    if (rekey)
        return NULL;
    sess = d2i_SSL_SESSION(NULL, &p, (long)s->der_len);
    ERR_clear_error();
    /* a session of a version the details file no longer allows would not be sent anyway */
    if (sess != NULL && (!SSL_SESSION_is_resumable(sess) ||
                         (r->cfg->tls_range == M2M_TLS_ONLY_1_2 &&
                          SSL_SESSION_get_protocol_version(sess) != TLS1_2_VERSION) ||
                         (r->cfg->tls_range == M2M_TLS_ONLY_1_3 &&
                          SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION) ||
                         (c->mech == M2M_MECH_TOKEN && SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION))) {
        SSL_SESSION_free(sess);
        sess = NULL;
    }
    return sess;
}

/* Keeps the newest session of the connection in the state file (in the slot of its way) and, after a full
 * handshake, its time. *changed is set when the state needs saving. */
static void remember_session(m2m_registree *r, int *changed)
{
    const m2m_registree_config *cfg = r->cfg;
    const cred *c;
    m2m_saved_session *slot;
    SSL_SESSION *sess;
    unsigned char *p;
    int len;

    if (!cfg->resumption || (r->active >= 0 && !resumable_mech(cfg, r->creds[r->active].mech))) {
        /* resumption = no (or not with this mechanism): no resumption secret stays on the device */
        for (int i = 0; i < M2M_SLOTS; i++)
            if ((!cfg->resumption || (int)r->creds[r->active].slot == i) &&
                (r->state.session[i].der_len > 0 || r->state.session[i].binding[0] != '\0')) {
                OPENSSL_cleanse(&r->state.session[i], sizeof r->state.session[i]);
                *changed = 1;
            }
        return;
    }
    if (r->tls == NULL || r->active < 0)
        return;
    c = &r->creds[r->active];
    slot = &r->state.session[c->slot];
    if (m2m_tls_client_sessions(r->tls) != r->saved_sessions && (sess = m2m_tls_client_get1_session(r->tls)) != NULL) {
        r->saved_sessions = m2m_tls_client_sessions(r->tls);
        len = i2d_SSL_SESSION(sess, NULL);
        /* TLS 1.2 tickets of a token connection are issued before the token binds it: they cannot resume */
        if (len > 0 && len <= M2M_SESSION_DER_MAX &&
            (c->mech != M2M_MECH_TOKEN || SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION)) {
            if (strcmp(slot->binding, c->binding) != 0)
                slot->full_ms = 0; /* another credential: its time says nothing about this one */
            p = slot->der;
            slot->der_len = (size_t)i2d_SSL_SESSION(sess, &p);
            copy_msg(slot->binding, sizeof slot->binding, c->binding);
            *changed = 1;
        }
        SSL_SESSION_free(sess);
    }
    if (!m2m_tls_client_resumed(r->tls) && strcmp(slot->binding, c->binding) == 0 &&
        slot->full_ms != m2m_tls_client_handshake_ms(r->tls)) {
        slot->full_ms = m2m_tls_client_handshake_ms(r->tls);
        *changed = 1;
    }
}

/* ---- Step 4 ----------------------------------------------------------------------------------------------------- */

/* The handshake with way i, offering sess when not NULL. */
static int connect_cred(m2m_registree *r, int i, SSL_SESSION *sess, int rekey)
{
    const m2m_registree_config *cfg = r->cfg;
    const cred *c = &r->creds[i];
    m2m_tls_client_config tc = {
        .host = cfg->host,
        .port = cfg->port,
        .peer_name = cfg->authority,
        .range = cfg->tls_range,
        .ciphers12 = cfg->ciphers,
        .timeout_ms = cfg->timeout_ms,
        .deadline = r->deadline,
        .session = sess,
        .keep_sessions = cfg->resumption,
    };
    m2m_registree_disconnect(r);
    if (c->mech == M2M_MECH_GBA) {
        /* x.y.5: TLS-PSK, identity "3GPP-bootstrapping." B-TID, key Ks_NAF derived for the suite negotiated */
        tc.auth = M2M_TLS_AUTH_PSK;
        tc.psk_identity = r->gba_identity;
        tc.psk_derive = gba_derive;
        tc.psk_arg = r;
        if (rekey && !cfg->ciphers_set)
            tc.ciphers12 = REKEY_TLS12_PSK_CIPHERS;
    } else if (c->mech == M2M_MECH_PSK) {
        tc.auth = M2M_TLS_AUTH_PSK;
        tc.psk_identity = c->key_id;
        tc.psk = i == CRED_DETAILS ? cfg->key.bytes : c->key.bytes;
        tc.psk_len = i == CRED_DETAILS ? cfg->key.len : c->key.len;
        /* the default list starts with the oneM2M mandatory suite, which has no ephemeral key exchange */
        if (rekey && !cfg->ciphers_set)
            tc.ciphers12 = REKEY_TLS12_PSK_CIPHERS;
        /* a generated key goes with the default PSK suites whatever the details file's mechanism says */
        if (i != CRED_DETAILS && cfg->mechanism != M2M_MECH_PSK)
            tc.ciphers12 = rekey ? REKEY_TLS12_PSK_CIPHERS : M2M_DEFAULT_TLS12_PSK_CIPHERS;
    } else {
        tc.auth = M2M_TLS_AUTH_CERT;
        tc.root = cfg->root_cert;
        tc.root_name = cfg->root_cert_path;
        tc.cse_id = cfg->cse_id;
        tc.ocsp_responder = cfg->ocsp_cert;
        tc.ocsp_responder_name = cfg->ocsp_cert_path;
        if (c->mech == M2M_MECH_CERT) {
            tc.client_cert = cfg->cert;
            tc.client_key = cfg->cert_key;
            tc.client_chain = cfg->chain;
        }
    }
    r->tls = m2m_tls_client_connect(&tc, &r->err);
    if (r->tls == NULL)
        return -1;
    r->active = i;
    return 0;
}

/* A failed handshake that another credential might get past: the Registrar refused or could not be verified. A
 * failed TCP connect or a timeout (M2M_E_IO, M2M_E_TIMEOUT) would fail again. */
static int was_refused(const m2m_err *e)
{
    return e->code == M2M_E_TLS || e->code == M2M_E_AUTH;
}

/* x.y.7: the Registrar binds a token context at the CREATE, and the token works once; a registered token
 * Registree gets back in only by resuming a session of a bound context (TLS 1.3). */
static int token_single_use(m2m_registree *r, const char *why)
{
    const m2m_registree_config *cfg = r->cfg;
    return m2m_fail(&r->err, M2M_E_EXISTS,
                    "token attachment is single-use: %s is already registered with %s (state file %s)%s; "
                    "re-attach with a key generated in the registering attachment (the first attach --rekey) or "
                    "enrol a new token",
                    r->state.assigned_id[0] != '\0' ? r->state.assigned_id : cfg->id, cfg->cse_id,
                    cfg->state_path, why);
}

/* One try of way i: 0 connected (r->tls), -1 with r->err. A token Registree that is registered needs a session
 * the Registrar resumes: without one nothing is sent, and a connection that did not resume is dropped unused. */
static int try_cred(m2m_registree *r, int i, int rekey, int *offered)
{
    const cred *c = &r->creds[i];
    SSL_SESSION *sess = session_for(r, i, rekey);
    int token_registered = c->mech == M2M_MECH_TOKEN && registered_here(r), rc;

    *offered = sess != NULL;
    if (token_registered && rekey)
        return m2m_fail(&r->err, M2M_E_EXISTS,
                        "key generation needs a full handshake that proves the credential in the same connection, "
                        "and %s is already registered with %s by its single-use token (state file %s): a token "
                        "Registree generates its key in the attachment that registers (the first attach "
                        "--rekey); enrol a new token to do so now",
                        r->state.assigned_id[0] != '\0' ? r->state.assigned_id : r->cfg->id, r->cfg->cse_id,
                        r->cfg->state_path);
    if (token_registered && sess == NULL) {
        const m2m_saved_session *s = &r->state.session[M2M_SLOT_DETAILS];
        return token_single_use(r, !r->cfg->resumption ? " and resumption is off ([tls] resumption = no)"
                                   : !resumable_mech(r->cfg, c->mech)
                                       ? " and resumption is off (ocsp-responder-cert asks for a fresh OCSP status "
                                         "at every attachment)"
                                   : !r->offer_sessions ? " and resumption is off for this attach (--no-resume)"
                                   : r->cfg->tls_range == M2M_TLS_ONLY_1_2 || (s->der_len > 0 &&
                                                                             strcmp(s->binding, c->binding) == 0)
                                       ? " and TLS 1.2 cannot resume a token session (its tickets are issued "
                                         "before the token binds the connection; use TLS 1.3)"
                                       : " and no session of it is saved");
    }
    rc = connect_cred(r, i, sess, rekey);
    SSL_SESSION_free(sess);
    if (rc != 0 && *offered && !token_registered && was_refused(&r->err) &&
        strstr(r->err.msg, "unknown psk identity") == NULL &&
        strstr(r->err.msg, "did not accept psk_identity") == NULL) {
        /* A Registrar should ignore a session it cannot resume and go on with a full handshake; one that fails
         * the handshake instead must not lock the device out: the session is dropped and the handshake tried
         * once more without it (unless the refusal named the PSK: then the credential is what was refused). */
        m2m_err first = r->err, ignored;
        m2m_saved_session *slot = &r->state.session[c->slot];
        OPENSSL_cleanse(slot, sizeof *slot);
        m2m_state_save(r->cfg->state_path, &r->state, &ignored);
        *offered = 0;
        rc = connect_cred(r, i, NULL, rekey);
        if (rc != 0 && r->err.code == first.code && strcmp(r->err.msg, first.msg) == 0)
            *offered = 1; /* the same refusal: the credential, not the session, is what the Registrar refuses */
    }
    if (rc == 0 && token_registered && !m2m_tls_client_resumed(r->tls)) {
        m2m_registree_disconnect(r);
        return token_single_use(r, ", and the Registrar did not resume its saved session (expired, or the "
                                   "enrolment was revoked or replaced)");
    }
    return rc;
}

/* The reason of a handshake failure without the peer it names (the message around it names it once). */
static const char *bare_reason(const m2m_registree *r, const char *msg)
{
    char prefix[400];
    snprintf(prefix, sizeof prefix, "TLS handshake with %s failed: ", r->cfg->authority);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        return msg + strlen(prefix);
    snprintf(prefix, sizeof prefix, "Registrar %s: ", r->cfg->authority);
    if (strncmp(msg, prefix, strlen(prefix)) == 0)
        return msg + strlen(prefix);
    return msg;
}

/* The message of a failed Step 4. One way tried: its own message, with a word on what a refused PSK most likely
 * means. Several: each way and its reason. */
static void explain_failure(m2m_registree *r, int last, int offered)
{
    char why[sizeof r->err.msg], list[sizeof r->err.msg] = "", name[200];
    int ways = 0, psk = 0;

    copy_msg(why, sizeof why, r->err.msg);
    copy_msg(r->creds[last].refused, sizeof r->creds[last].refused, why);
    for (int j = 0, prev = -1; j <= last; j++) {
        const cred *c = &r->creds[j];
        const char *m = c->refused[0] ? c->refused : c->unusable;
        if (!c->present || m[0] == '\0')
            continue;
        ways++;
        psk |= c->mech == M2M_MECH_PSK && c->refused[0] != '\0';
        cred_name(r, j, name, sizeof name);
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s: %.160s", list[0] ? "; " : "", name,
                 prev >= 0 && strcmp(bare_reason(r, m), bare_reason(r, r->creds[prev].refused[0]
                                                                      ? r->creds[prev].refused
                                                                      : r->creds[prev].unusable)) == 0
                     ? "the same"
                     : bare_reason(r, m));
        prev = j;
    }
    if (r->err.code == M2M_E_EXISTS || !was_refused(&r->err))
        ways = 1; /* not a refusal: the reason is what matters */
    if (ways > 1)
        m2m_fail(&r->err, r->err.code, "Registrar %s refused every credential: %.400s%s", r->cfg->authority, list,
                 psk && strstr(list, "revoked") == NULL ? " (not enrolled, revoked or replaced?)" : "");
    else if (r->creds[last].mech == M2M_MECH_PSK && r->err.code == M2M_E_TLS && was_refused(&r->err))
        m2m_fail(&r->err, M2M_E_TLS, "%.340s (psk_identity %s refused: not enrolled, revoked or replaced?%s)", why,
                 r->creds[last].key_id, offered ? " The saved session was not resumed either" : "");
}

/* Removes a generated key the Registrar refused (or a damaged file) once an older way got in. */
static void discard_generated(m2m_registree *r, int i)
{
    char *prev = previous_path(r->cfg);
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

/* Step 4 with the first way that gets in (see the top of this file); fills the handshake part of info. */
static int establish(m2m_registree *r, m2m_attach_info *info, int rekey)
{
    const m2m_registree_config *cfg = r->cfg;
    char name[200], notes[sizeof info->notice] = "";
    int chosen = -1, offered = 0;

    for (int i = 0; i < CRED_COUNT && chosen < 0; i++) {
        cred *c = &r->creds[i];
        if (!c->present)
            continue;
        if (c->unusable[0] != '\0')
            continue;
        if (try_cred(r, i, rekey, &offered) == 0) {
            chosen = i;
            break;
        }
        if (r->err.code == M2M_E_EXISTS || !was_refused(&r->err) || i == CRED_DETAILS) {
            explain_failure(r, i, offered);
            return -1;
        }
        copy_msg(c->refused, sizeof c->refused, r->err.msg);
    }
    if (chosen < 0)
        return m2m_fail(&r->err, M2M_E_ARG, "no credentials to attach with");

    /* The ways before the one that got in: refused or damaged generated keys, useless from now on. */
    for (int j = 0; j < chosen; j++) {
        cred *c = &r->creds[j];
        if (!c->present)
            continue;
        cred_name(r, j, name, sizeof name);
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "%s %s (%.150s), discarded; ", name,
                 c->refused[0] ? "was refused by the Registrar" : "cannot be used",
                 c->refused[0] ? bare_reason(r, c->refused) : c->unusable);
        discard_generated(r, j);
    }
    if (chosen == CRED_PREVIOUS) {
        /* the previous key is the one the Registrar holds: it becomes the generated key again */
        char *prev = previous_path(cfg);
        if (prev == NULL || rename(prev, cfg->generated_key_path) != 0) {
            free(prev);
            return m2m_fail(&r->err, M2M_E_IO, "%s: cannot restore the previous generated key: %s",
                            cfg->generated_key_path, strerror(errno));
        }
        free(prev);
        memcpy(&r->creds[CRED_GENERATED], &r->creds[CRED_PREVIOUS], sizeof r->creds[CRED_GENERATED]);
        memset(&r->creds[CRED_PREVIOUS], 0, sizeof r->creds[CRED_PREVIOUS]);
        snprintf(r->state.generated_key_id, sizeof r->state.generated_key_id, "%s",
                 r->creds[CRED_GENERATED].key_id);
        r->state.previous_generated_key_id[0] = '\0';
        chosen = CRED_GENERATED;
        r->active = CRED_GENERATED;
    } else if (chosen == CRED_GENERATED && r->creds[CRED_PREVIOUS].present) {
        /* the new key has worked once: the Registrar retired the old one, so does the device */
        discard_generated(r, CRED_PREVIOUS);
    }
    if (chosen == CRED_GENERATED)
        snprintf(r->state.generated_key_id, sizeof r->state.generated_key_id, "%s", r->creds[chosen].key_id);
    if (notes[0] != '\0') {
        cred_name(r, chosen, name, sizeof name);
        snprintf(info->notice, sizeof info->notice, "%.330sattached with the %.150s instead", notes, name);
    }

    snprintf(info->mechanism, sizeof info->mechanism, "%s", m2m_mechanism_name(r->creds[chosen].mech));
    snprintf(info->tls_version, sizeof info->tls_version, "%s", m2m_tls_client_version(r->tls));
    snprintf(info->cipher, sizeof info->cipher, "%s", m2m_tls_client_cipher(r->tls));
    snprintf(info->key_id, sizeof info->key_id, "%s", r->creds[chosen].key_id);
    info->handshake_ms = m2m_tls_client_handshake_ms(r->tls);
    info->ocsp_checked = m2m_tls_client_ocsp_checked(r->tls);
    info->generated_key = chosen != CRED_DETAILS;
    info->session_offered = offered;
    info->resumed = m2m_tls_client_resumed(r->tls);
    if (strcmp(r->state.session[r->creds[chosen].slot].binding, r->creds[chosen].binding) == 0)
        info->full_handshake_ms = r->state.session[r->creds[chosen].slot].full_ms;
    return 0;
}

/* Reads one response into the parser. *closed_idle is set when the server had closed the (reused) connection
 * before answering at all: the request can then be sent again on a new connection. */
static int read_response(m2m_registree *r, int *closed_idle)
{
    char buf[16384];
    size_t got, used;
    int pr;

    *closed_idle = 0;
    m2m_http_parser_reset(r->parser);
    for (;;) {
        if (m2m_tls_client_read(r->tls, buf, sizeof buf, &got, &r->err) != 0)
            return -1;
        if (got == 0) {
            if (m2m_http_parser_idle(r->parser)) {
                *closed_idle = 1;
                return m2m_fail(&r->err, M2M_E_IO, "%s: the Registrar closed the connection without answering",
                                r->cfg->authority);
            }
            pr = m2m_http_parser_eof(r->parser, &r->err);
            /* A body that runs to the end of the connection must end with close_notify, or it may be cut. */
            if (pr == M2M_HTTP_COMPLETE && !m2m_tls_client_closed_cleanly(r->tls))
                return m2m_fail(&r->err, M2M_E_PROTO, "%s: the response ended without TLS close_notify",
                                r->cfg->authority);
        } else {
            pr = m2m_http_parser_feed(r->parser, buf, got, &used, &r->err);
        }
        if (pr < 0) {
            char why[sizeof r->err.msg];
            snprintf(why, sizeof why, "%s", r->err.msg);
            return m2m_fail(&r->err, M2M_E_PROTO, "%s: %s", r->cfg->authority, why);
        }
        if (pr == M2M_HTTP_COMPLETE)
            return 0;
    }
}

/* One request and its response on the current connection. may_retry: a reused keep-alive connection that the
 * server closed while idle is replaced once (handshake only) and the request sent again; it never reached the
 * Registrar. */
static int exchange(m2m_registree *r, const m2m_request *req, m2m_reply *reply, int may_retry)
{
    unsigned char rnd[8];
    char rqi[2 * sizeof rnd + 1];
    char *bytes = NULL;
    size_t len = 0;
    const char *ri, *loc;
    int rc = -1, closed_idle = 0;

    memset(reply, 0, sizeof *reply);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        m2m_fail(&r->err, M2M_E_TLS, "the random generator failed");
        goto done;
    }
    m2m_hex_encode(rnd, sizeof rnd, rqi);
    if (m2m_http_build_request(req, r->cfg->authority, rqi, &bytes, &len, &r->err) != 0)
        goto done;
    for (int attempt = 0;; attempt++) {
        int reused = r->exchanges > 0, sent;
        if (r->tls == NULL) {
            int offered;
            /* the way in of this attach again (a token Registree: only by resuming) */
            if (r->active < 0 || try_cred(r, r->active, 0, &offered) != 0)
                goto fail_conn;
        }
        /* a connection kept from an earlier call still has that call's deadline */
        m2m_tls_client_set_deadline(r->tls, r->deadline);
        sent = m2m_tls_client_write(r->tls, bytes, len, &r->err) == 0;
        if (sent && read_response(r, &closed_idle) == 0)
            break;
        if (!(reused && may_retry && attempt == 0 && (!sent || closed_idle)))
            goto fail_conn;
        m2m_registree_disconnect(r);
    }
    r->exchanges++;
    /* The request ID is how a oneM2M originator matches an answer to its question. */
    ri = m2m_http_parser_header(r->parser, "X-M2M-RI");
    if (ri != NULL && strcmp(ri, rqi) != 0) {
        m2m_fail(&r->err, M2M_E_PROTO, "%s: the response carries request ID %.40s, not %s", r->cfg->authority, ri,
                 rqi);
        goto fail_conn;
    }
    loc = m2m_http_parser_header(r->parser, "Content-Location");
    if (loc != NULL && strlen(loc) >= sizeof reply->location) {
        m2m_fail(&r->err, M2M_E_PROTO, "%s: Content-Location is longer than %zu characters", r->cfg->authority,
                 sizeof reply->location - 1);
        goto fail_conn;
    }
    reply->http_status = m2m_http_parser_status(r->parser);
    reply->rsc = m2m_http_parser_rsc(r->parser);
    snprintf(reply->location, sizeof reply->location, "%s", loc != NULL ? loc : "");
    reply->body = m2m_http_parser_take_body(r->parser, &reply->body_len);
    if (reply->body == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (!m2m_http_parser_keep_alive(r->parser))
        m2m_registree_disconnect(r); /* Connection: close: the next request reconnects */
    rc = 0;
    goto done;
fail_conn:
    /* After a failed exchange the byte stream may be out of step: never reuse it. */
    m2m_registree_disconnect(r);
done:
    if (bytes != NULL && req->authorization != NULL)
        m2m_wipe(bytes, len); /* it held a credential */
    free(bytes);
    return rc;
}

/* The registration CREATE of TS-0004 7.4.4.2.1 (<AE>) or 7.4.5.2.1 (<remoteCSE>). */
static char *registration_body(const m2m_registree_config *cfg)
{
    cJSON *root = cJSON_CreateObject(), *res = cJSON_CreateObject(), *srv = cJSON_CreateArray();
    char *text = NULL, cb[600];

    if (root == NULL || res == NULL || srv == NULL || !cJSON_AddItemToArray(srv, cJSON_CreateString("3"))) {
        cJSON_Delete(srv);
        cJSON_Delete(res);
        goto done;
    }
    cJSON_AddItemToObject(root, cfg->is_cse ? "m2m:csr" : "m2m:ae", res);
    cJSON_AddStringToObject(res, "rn", cfg->name);
    if (cfg->is_cse) {
        snprintf(cb, sizeof cb, "%s/%s", cfg->id, cfg->cse_base);
        cJSON_AddStringToObject(res, "cb", cb);
        cJSON_AddStringToObject(res, "csi", cfg->id);
        cJSON_AddNumberToObject(res, "cst", 2); /* MN-CSE: a CSE that registers with another is not an IN */
        cJSON_AddTrueToObject(res, "rr");
    } else {
        cJSON_AddStringToObject(res, "api", cfg->app_id);
        cJSON_AddFalseToObject(res, "rr");
    }
    cJSON_AddItemToObject(res, "srv", srv);
    text = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(root);
    return text;
}

/* The Registrar's reason for an error: {"m2m:dbg": "..."} when it sent one, else the start of the body. */
static void debug_text(const m2m_reply *reply, char *out, size_t cap)
{
    /* not strict JSON (a duplicate m2m:dbg, a NUL in it): the raw start of the body, as it came */
    cJSON *doc = m2m_json_parse_strict(reply->body, reply->body_len, NULL);
    const cJSON *dbg = cJSON_GetObjectItemCaseSensitive(doc, "m2m:dbg");
    if (cJSON_IsString(dbg))
        snprintf(out, cap, "%s", dbg->valuestring);
    else if (reply->body_len > 0)
        snprintf(out, cap, "%.200s", reply->body);
    else
        snprintf(out, cap, "no reason given");
    cJSON_Delete(doc);
}

/* A value the peer chose, for a message: printable ASCII, the rest as '?', at most 60 characters. */
static void shown(const char *v, char *out, size_t cap)
{
    size_t j = 0;
    for (; v[j] != '\0' && j < 60 && j + 4 < cap; j++)
        out[j] = v[j] >= 0x20 && v[j] < 0x7f ? v[j] : '?';
    snprintf(out + j, cap - j, "%s", v[j] != '\0' ? "..." : "");
}

/* 1 when the details file asks the Registrar to assign the AE-ID: id "C" (CSE-relative) or "S" (SP-relative). */
static int asks_assignment(const m2m_registree_config *cfg)
{
    return !cfg->is_cse && (strcmp(cfg->id, "C") == 0 || strcmp(cfg->id, "S") == 0);
}

/* The assigned ID from the CREATE response: aei of an <AE>, csi of a <remoteCSE>. It must be the ID this Registree
 * may take: the enrolled one exactly (seed R02: the enrolment fixes the ID; a Registrar that hands out another
 * would make every later request speak for someone else), or, when the details file asks for assignment ("C" or
 * "S"), a well-formed AE-ID of that kind. */
static int assigned_id(m2m_registree *r, const m2m_reply *reply, char *out, size_t cap)
{
    const m2m_registree_config *cfg = r->cfg;
    m2m_err why = {0};
    cJSON *doc = m2m_json_parse_strict(reply->body, reply->body_len, &why);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(doc, cfg->is_cse ? "m2m:csr" : "m2m:ae");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, cfg->is_cse ? "csi" : "aei");
    const char *v = cJSON_IsString(id) ? id->valuestring : NULL;
    const char *kind = cfg->is_cse ? "CSE-ID" : "AE-ID";
    char seen[80];
    int rc = -1;

    if (doc == NULL) {
        m2m_fail(&r->err, why.code == M2M_E_NOMEM ? M2M_E_NOMEM : M2M_E_PROTO,
                 "registration with Registrar %s: the 2001 response body: %s", cfg->authority, why.msg);
        goto done;
    }
    /* csi is optional in the answer; TS-0004 makes it the From of the CREATE, which is our CSE-ID. */
    if (v == NULL && cfg->is_cse && cJSON_IsObject(res))
        v = cfg->id;
    if (v == NULL) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: the 2001 response has no %s", cfg->authority,
                 cfg->is_cse ? "m2m:csr" : "m2m:ae aei");
        goto done;
    }
    shown(v, seen, sizeof seen);
    if (asks_assignment(cfg)) {
        if (strlen(v) < 2 || strlen(v) >= cap || v[0] != cfg->id[0] || !m2m_is_plain_token(v)) {
            m2m_fail(&r->err, M2M_E_AUTH, "registration with Registrar %s: it assigned AE-ID '%s', but [registree] "
                     "id = %s of %s asks for an AE-ID that starts with %s (then letters, digits, '-', '.', '_', '~'); "
                     "nothing recorded", cfg->authority, seen, cfg->id, cfg->details_path, cfg->id);
            goto done;
        }
    } else if (strcmp(v, cfg->id) != 0) {
        m2m_fail(&r->err, M2M_E_AUTH, "registration with Registrar %s: it assigned %s '%s', not %s, the ID enrolled "
                 "for this Registree ([registree] id of %s); nothing recorded", cfg->authority, kind, seen, cfg->id,
                 cfg->details_path);
        goto done;
    }
    snprintf(out, cap, "%s", v);
    rc = 0;
done:
    cJSON_Delete(doc);
    return rc;
}

/* Generated keys belong to a registration: a new one makes those of an earlier one (with another Registrar, or
 * before the state file was reset) useless. */
static void forget_generated(m2m_registree *r, m2m_reg_state *st)
{
    char *prev = previous_path(r->cfg);
    unlink(r->cfg->generated_key_path);
    if (prev != NULL)
        unlink(prev);
    free(prev);
    st->generated_key_id[0] = st->previous_generated_key_id[0] = '\0';
    OPENSSL_cleanse(&st->session[M2M_SLOT_GENERATED], sizeof st->session[M2M_SLOT_GENERATED]);
}

/* Step 5, and its record in the state file. */
static int do_register(m2m_registree *r, m2m_attach_info *info)
{
    const m2m_registree_config *cfg = r->cfg;
    char path[300], dbg[300], bearer[M2M_TOKEN_MAX_LEN + 16];
    m2m_reply reply = {0};
    m2m_request req = {0};
    m2m_reg_state *st = malloc(sizeof *st);
    char *body = registration_body(cfg);
    double start;
    int rc = -1;

    bearer[0] = '\0';
    if (body == NULL || st == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    *st = r->state;
    snprintf(path, sizeof path, "/~%s", cfg->cse_id); /* the Registrar's CSEBase, SP-relative */
    req.method = "POST";
    req.path = path;
    req.ty = cfg->is_cse ? 16 : 2;
    req.body = body;
    req.from = cfg->id; /* the ID agreed at enrolment; the Registrar binds it to the key, certificate or token */
    if (cfg->mechanism == M2M_MECH_TOKEN && r->creds[r->active].mech == M2M_MECH_TOKEN) {
        /* x.y.7 Step 5.a: the identity token, in the HTTP binding's Authorization header (TS-0009 6.4.19) */
        snprintf(bearer, sizeof bearer, "Bearer %s", cfg->token);
        req.authorization = bearer;
    }
    start = now_ms();
    if (exchange(r, &req, &reply, 0) != 0)
        goto done;
    info->registration_ms = now_ms() - start;
    if (reply.rsc != M2M_RSC_CREATED) {
        debug_text(&reply, dbg, sizeof dbg);
        if (reply.rsc == 0)
            m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s failed: HTTP %d without X-M2M-RSC: %s",
                     cfg->authority, reply.http_status, dbg);
        else
            m2m_fail(&r->err, M2M_E_REFUSED, "registration refused by Registrar %s: %d %s: %s%s", cfg->authority,
                     reply.rsc, m2m_rsc_name(reply.rsc), dbg,
                     reply.rsc == M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED
                         ? " (the Registrar holds a registration that the state file does not record)"
                     : reply.rsc == M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED && cfg->mechanism == M2M_MECH_TOKEN
                         ? " (the identity token was not accepted: wrong, already used or expired)"
                         : "");
        m2m_registree_disconnect(r);
        goto done;
    }
    if (assigned_id(r, &reply, st->assigned_id, sizeof st->assigned_id) != 0) {
        m2m_registree_disconnect(r); /* the Registrar bound this connection to an ID this Registree does not take */
        goto done;
    }
    if (strlen(reply.location) >= sizeof st->resource) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: Content-Location is too long",
                 cfg->authority);
        goto done;
    }
    st->registered = 1;
    snprintf(st->resource, sizeof st->resource, "%s", reply.location);
    snprintf(st->registrar_cse_id, sizeof st->registrar_cse_id, "%s", cfg->cse_id);
    snprintf(st->key_id, sizeof st->key_id, "%s", r->creds[r->active].key_id);
    forget_generated(r, st);
    r->state = *st;
    {
        int changed = 0;
        remember_session(r, &changed); /* TLS 1.3: the ticket the CREATE bound (token) came with the answer */
    }
    if (m2m_state_save(cfg->state_path, &r->state, &r->err) != 0) {
        /* The Registrar now holds the registration; say so, or the next run's 4117 would be a mystery. */
        char why[sizeof r->err.msg];
        snprintf(why, sizeof why, "%s", r->err.msg);
        m2m_fail(&r->err, M2M_E_IO, "registered as %s, but the state file could not record it: %s",
                 st->assigned_id, why);
        goto done;
    }
    info->created = 1;
    snprintf(info->assigned_id, sizeof info->assigned_id, "%s", r->state.assigned_id);
    rc = 0;
done:
    m2m_wipe(bearer, sizeof bearer);
    m2m_reply_free(&reply);
    if (st != NULL) {
        m2m_state_wipe(st);
        free(st);
    }
    free(body);
    return rc;
}

/* Saves the state when the connection brought a new session (or a full handshake's time) or the bookkeeping of
 * this attach changed it. */
static int save_state(m2m_registree *r, int changed)
{
    remember_session(r, &changed);
    if (!changed)
        return 0;
    return m2m_state_save(r->cfg->state_path, &r->state, &r->err);
}

/* Step 4 with the first way in that works, then Step 5 unless registered; the state file records the outcome.
 * await: a handshake-only attach waits (briefly) for the TLS 1.3 ticket the Registrar sends after it. */
static int attach(m2m_registree *r, m2m_attach_info *info, int rekey, int await)
{
    const m2m_registree_config *cfg = r->cfg;
    char old_gen[M2M_KEYID_HEX_LEN + 1], old_prev[M2M_KEYID_HEX_LEN + 1];
    int changed;

    memset(info, 0, sizeof *info);
    m2m_err_clear(&r->err);
    m2m_registree_disconnect(r);
    r->notice[0] = '\0';
    snprintf(info->mechanism, sizeof info->mechanism, "%s", m2m_mechanism_name(cfg->mechanism));
    if (m2m_state_load(cfg->state_path, &r->state, &r->err) != 0 ||
        (cfg->mechanism == M2M_MECH_GBA && gba_ensure(r, info, 0) != 0) || load_creds(r) != 0)
        return -1;
    memcpy(old_gen, r->state.generated_key_id, sizeof old_gen);
    memcpy(old_prev, r->state.previous_generated_key_id, sizeof old_prev);
    /* a failed attach discards nothing: a refused key is discarded only once another way got in */
    if (establish(r, info, rekey) != 0) {
        char first[sizeof r->err.msg];
        /* x.y.5: a B-TID the Registrar refuses (expired at the BSF, or unknown there) is bootstrapped again, once */
        if (cfg->mechanism != M2M_MECH_GBA || info->gba_bootstrapped || !was_refused(&r->err) ||
            r->err.code == M2M_E_EXISTS)
            return -1;
        if (gba_ensure(r, info, 1) != 0 || load_creds(r) != 0)
            return -1;
        if (establish(r, info, rekey) != 0) {
            copy_msg(first, sizeof first, r->err.msg);
            return m2m_fail(&r->err, r->err.code, "%.300s -- with B-TID %.80s bootstrapped just now: is IMPI %.80s "
                            "enrolled for %.60s ('enrol gba'), and is the Registrar the NAF %.60s of this BSF?",
                            first, r->state.gba.btid, cfg->gba_impi, cfg->id, cfg->gba_naf_fqdn);
        }
    }
    copy_msg(r->notice, sizeof r->notice, info->notice);

    /* A registration is with one Registrar: a state file that names another (the details file was pointed
     * elsewhere) does not spare Step 5 with this one. */
    if (!registered_here(r))
        return do_register(r, info);

    /* x.y.3 / x.y.4 re-attachment (and x.y.6's "subsequent attachments use the same flow"): the handshake was all;
     * Step 5 is skipped. */
    info->created = 0;
    snprintf(info->assigned_id, sizeof info->assigned_id, "%s", r->state.assigned_id);
    changed = strcmp(old_gen, r->state.generated_key_id) != 0 ||
              strcmp(old_prev, r->state.previous_generated_key_id) != 0;
    if (strcmp(r->state.key_id, r->creds[r->active].key_id) != 0) {
        snprintf(r->state.key_id, sizeof r->state.key_id, "%s", r->creds[r->active].key_id);
        changed = 1;
    }
    if (await && cfg->resumption && resumable_mech(cfg, r->creds[r->active].mech) &&
        m2m_tls_client_sessions(r->tls) == 0) {
        /* After a full handshake the Registrar sends a ticket about a round trip later: wait for it (at least
         * AWAIT_SESSION_MIN_MS, longer on a slow link). After a resumption it sends one only when it renews the
         * ticket (its ticket key is getting old): a short look, the old ticket stays good until then. */
        double wait = info->resumed ? 2 * info->handshake_ms + 5 : 4 * info->handshake_ms;
        if (info->resumed ? wait > AWAIT_SESSION_MIN_MS : wait < AWAIT_SESSION_MIN_MS)
            wait = AWAIT_SESSION_MIN_MS;
        if (wait > cfg->timeout_ms)
            wait = cfg->timeout_ms;
        m2m_tls_client_await_session(r->tls, (int)wait);
    }
    return save_state(r, changed);
}

/* ---- the public calls: one deadline and the state lock each ----------------------------------------------------- */

/* The start of a public call: its deadline ([tls] deadline from now), and the state lock (state_lock.h), held until
 * end_call. -1 with M2M_E_BUSY when another call (another handle, another process) holds it: nothing is read,
 * sent or written then. */
static int begin_call(m2m_registree *r)
{
    m2m_err_clear(&r->err);
    r->deadline = m2m_tls_client_clock_ms() + r->cfg->deadline_ms;
    r->lock_fd = m2m_state_lock(r->cfg->state_path, &r->err);
    return r->lock_fd >= 0 ? 0 : -1;
}

/* The end of a public call: the lock released, and a timeout that the deadline caused says which setting bounds
 * the exchange (the message already names the Registrar). Returns rc. */
static int end_call(m2m_registree *r, int rc)
{
    m2m_state_unlock(r->lock_fd);
    r->lock_fd = -1;
    if (rc != 0 && r->err.code == M2M_E_TIMEOUT && m2m_tls_client_clock_ms() >= r->deadline) {
        char why[sizeof r->err.msg];
        copy_msg(why, sizeof why, r->err.msg);
        m2m_fail(&r->err, M2M_E_TIMEOUT, "%.300s (the whole exchange with the Registrar may take %d s: [tls] "
                 "deadline of %.120s)", why, r->cfg->deadline_ms / 1000, r->cfg->details_path);
    }
    return rc;
}

int m2m_registree_attach(m2m_registree *r, m2m_attach_info *info)
{
    m2m_attach_info local;
    int rc = -1;

    if (r == NULL)
        return -1;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    if (begin_call(r) == 0)
        rc = attach(r, info, 0, 1);
    return end_call(r, rc);
}

/* ---- Step 6: Kcc/Kca generation (x.y.8) ------------------------------------------------------------------------ */

/* The key ID the Registrar reported: {"m2m:kgn":{"ty":10100,"kcaid"|"kccid":ID,"kid":ID}}. */
static int reported_kid(m2m_registree *r, const m2m_reply *reply, char out[M2M_KEYID_HEX_LEN + 1])
{
    m2m_err why = {0};
    cJSON *doc = m2m_json_parse_strict(reply->body, reply->body_len, &why);
    const cJSON *kgn = cJSON_GetObjectItemCaseSensitive(doc, "m2m:kgn");
    const cJSON *kid = cJSON_GetObjectItemCaseSensitive(kgn, "kid");
    const cJSON *typed = cJSON_GetObjectItemCaseSensitive(kgn, r->cfg->is_cse ? "kccid" : "kcaid");
    const char *v = cJSON_IsString(kid) ? kid->valuestring : cJSON_IsString(typed) ? typed->valuestring : NULL;
    int rc = -1;

    if (doc == NULL) {
        m2m_fail(&r->err, why.code == M2M_E_NOMEM ? M2M_E_NOMEM : M2M_E_PROTO,
                 "key generation with Registrar %s: the 2001 response body: %s", r->cfg->authority, why.msg);
        goto done;
    }
    if (v == NULL || strlen(v) != M2M_KEYID_HEX_LEN || strspn(v, "0123456789abcdef") != M2M_KEYID_HEX_LEN) {
        m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s: the 2001 response has no valid key ID "
                 "(m2m:kgn kid)", r->cfg->authority);
        goto done;
    }
    if (cJSON_IsString(typed) && strcmp(typed->valuestring, v) != 0) {
        m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s: the response names two key IDs",
                 r->cfg->authority);
        goto done;
    }
    snprintf(out, M2M_KEYID_HEX_LEN + 1, "%s", v);
    rc = 0;
done:
    cJSON_Delete(doc);
    return rc;
}

/* Stores the new key: the generated key in use (if the connection used one) moves to "<file>.previous", where it
 * stays until the new one has worked once, and the new one is written atomically (0600). Then the state. A crash
 * in between leaves the files, which attach reads before the state's IDs. */
static int store_generated(m2m_registree *r, const m2m_secret *key, const char *kid)
{
    const m2m_registree_config *cfg = r->cfg;
    char hex[2 * M2M_SECRET_MAX + 2], *prev = previous_path(cfg);
    int rc = -1;

    if (prev == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    m2m_hex_encode(key->bytes, key->len, hex);
    strcat(hex, "\n");
    if (r->active == CRED_GENERATED) {
        if (rename(cfg->generated_key_path, prev) != 0) {
            m2m_fail(&r->err, M2M_E_IO, "%s: cannot keep the key in use as %s: %s", cfg->generated_key_path, prev,
                     strerror(errno));
            goto done;
        }
        snprintf(r->state.previous_generated_key_id, sizeof r->state.previous_generated_key_id, "%s",
                 r->creds[CRED_GENERATED].key_id);
    } else {
        unlink(prev);
        r->state.previous_generated_key_id[0] = '\0';
    }
    if (m2m_file_replace(cfg->generated_key_path, hex, strlen(hex), &r->err) != 0)
        goto done;
    snprintf(r->state.generated_key_id, sizeof r->state.generated_key_id, "%s", kid);
    rc = 0;
done:
    m2m_wipe(hex, sizeof hex);
    free(prev);
    return rc;
}

int m2m_registree_rekey(m2m_registree *r, m2m_attach_info *info)
{
    const m2m_registree_config *cfg;
    m2m_attach_info local;
    unsigned char material[EXPORTER_LEN];
    char path[300], dbg[300], kid[M2M_KEYID_HEX_LEN + 1], mine[M2M_KEYID_HEX_LEN + 1];
    m2m_request req = {0};
    m2m_reply reply = {0};
    m2m_secret key = {0};
    m2m_err e = {0};
    int rc = -1;

    if (r == NULL)
        return -1;
    cfg = r->cfg;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    /* the lock spans the generation and both writes: another rekey in between would leave the generated-key file
     * holding a key the Registrar replaced (state_lock.h) */
    if (begin_call(r) != 0)
        goto done;
    /* a full handshake (a token Registree: its TLS 1.3 session) and, if needed, Step 5 on the same connection */
    if (attach(r, info, 1, 0) != 0)
        goto done;
    snprintf(path, sizeof path, "/~%s", cfg->cse_id);
    req.method = "POST";
    req.path = path;
    req.ty = KGN_TY;
    req.body = "{\"m2m:kgn\":{}}";
    req.from = r->state.assigned_id;
    if (exchange(r, &req, &reply, 0) != 0)
        goto done;
    if (reply.rsc != M2M_RSC_CREATED) {
        debug_text(&reply, dbg, sizeof dbg);
        if (reply.rsc == 0)
            m2m_fail(&r->err, M2M_E_PROTO, "key generation with Registrar %s failed: HTTP %d without X-M2M-RSC: %s",
                     cfg->authority, reply.http_status, dbg);
        else
            m2m_fail(&r->err, M2M_E_REFUSED, "key generation refused by Registrar %s: %d %s: %s (this connection: "
                     "%s %s%s)", cfg->authority, reply.rsc, m2m_rsc_name(reply.rsc), dbg, info->tls_version,
                     info->cipher, info->resumed ? ", resumed" : "");
        goto done;
    }
    if (reported_kid(r, &reply, kid) != 0)
        goto done;
    /* Both ends derive the key from this connection; only its ID crossed the wire. */
    if (m2m_tls_client_export(r->tls, EXPORTER_LABEL, material, sizeof material, &r->err) != 0)
        goto done;
    if (m2m_secret_set(&key, material + GENERATED_KEY_OFFSET, EXPORTER_LEN - GENERATED_KEY_OFFSET, &e) != 0 ||
        m2m_keyid(m2m_key_kind_for_id(cfg->id), key.bytes, key.len, mine, &e) != 0) {
        m2m_fail(&r->err, e.code, "key generation: %s", e.msg);
        goto done;
    }
    if (strcmp(kid, mine) != 0) {
        m2m_fail(&r->err, M2M_E_AUTH, "key generation with Registrar %s: it reports key ID %s, this end derived %s; "
                 "the key is not stored (the old credentials stay in use)", cfg->authority, kid, mine);
        goto done;
    }
    if (store_generated(r, &key, kid) != 0)
        goto done;
    snprintf(r->state.key_id, sizeof r->state.key_id, "%s", r->creds[r->active].key_id);
    if (save_state(r, 1) != 0) {
        char why[sizeof r->err.msg];
        copy_msg(why, sizeof why, r->err.msg);
        m2m_fail(&r->err, M2M_E_IO, "generated key %s is in %s, but the state file could not record it: %s", kid,
                 cfg->generated_key_path, why);
        goto done;
    }
    snprintf(info->generated_key_id, sizeof info->generated_key_id, "%s", kid);
    rc = 0;
done:
    m2m_wipe(material, sizeof material);
    m2m_secret_clear(&key);
    m2m_reply_free(&reply);
    return end_call(r, rc);
}

/* A call on a connection kept from an earlier one: the state file may have changed since this handle read it
 * (another process attached or generated a key while the lock was free), and the file is what counts. */
static int reload_state(m2m_registree *r)
{
    m2m_reg_state *fresh = malloc(sizeof *fresh);
    int rc = -1;

    if (fresh == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (m2m_state_load(r->cfg->state_path, fresh, &r->err) != 0)
        goto done;
    m2m_state_wipe(&r->state);
    r->state = *fresh;
    rc = 0;
done:
    if (fresh != NULL) {
        m2m_state_wipe(fresh);
        free(fresh);
    }
    return rc;
}

int m2m_registree_send(m2m_registree *r, const m2m_request *req, m2m_reply *reply)
{
    m2m_attach_info info;
    m2m_request q;
    int rc = -1;

    if (reply != NULL)
        memset(reply, 0, sizeof *reply);
    if (r == NULL)
        return -1;
    if (req == NULL || reply == NULL)
        return m2m_fail(&r->err, M2M_E_ARG, "no request or no reply");
    if (begin_call(r) != 0)
        goto done;
    if (r->tls != NULL ? reload_state(r) != 0 : attach(r, &info, 0, 0) != 0)
        goto done;
    q = *req;
    if (q.from == NULL)
        q.from = r->state.registered ? r->state.assigned_id : r->cfg->id; /* the ID the context is bound to */
    rc = exchange(r, &q, reply, 1);
    /* TLS 1.3 tickets come with the answers: keep the newest (a failure to save is not the request's) */
    if (rc == 0 && r->cfg->resumption) {
        m2m_err keep = r->err;
        if (save_state(r, 0) != 0)
            r->err = keep;
    }
done:
    return end_call(r, rc);
}
