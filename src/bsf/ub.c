/* SPDX-License-Identifier: Apache-2.0 */
/* Ub (TS 24.109 section 4 and annex A, RFC 3310): bootstrapping over HTTP Digest AKA.
 *   1. GET with Authorization: Digest username=IMPI, nonce="" -> 401 with an AKA challenge
 *      (nonce = base64(RAND || AUTN || server data), algorithm=AKAv1-MD5, qop="auth-int").
 *   2. GET with the Digest response computed with RES as the password -> 200 with BootstrappingInfo (B-TID,
 *      lifetime); Ks = CK || IK is kept for Zn. Or, when the USIM found SQN out of range, auts=base64(AUTS) with a
 *      response over an empty password -> the HSS resynchronises (TS 33.102 6.3.5) and a new challenge follows.
 * Nothing an unauthenticated peer sends is unbounded: header sizes (evhttp and digest_header.c), one challenge
 * slot per request in a fixed ring, single-use nonces, failed answers counted per IMPI with a lock-out. An unknown
 * IMPI gets the same answers as a known one -- a challenge made with a random key, at the same cost, which no
 * response can satisfy, and the same failure counting -- so Ub tells nobody which IMPIs exist.
 * Writes to the store happen only after a response proved RES (or AUTS proved K), never for an unknown IMPI. */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "binding/digest_header.h"
#include "bsf/bsf_internal.h"
#include "crypto/digest_aka.h"
#include "crypto/gba_id.h"
#include "crypto/secret.h"
#include "util/base64.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/clock.h"
#include "util/hash.h"

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type, const char *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (b != NULL)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, reason, b);
    if (b != NULL)
        evbuffer_free(b);
}

static void plain(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    reply(req, code, reason, "text/plain", text);
}

/* ---- the per-IMPI table ---- */

static ub_peer *peer_of(m2m_bsf *b, const char *impi, int create)
{
    uint32_t h = m2m_fnv1a_str(M2M_FNV1A_INIT, impi);
    ub_peer *oldest = NULL;
    /* a short probe from the hash; the least recently seen of the probed slots makes room */
    for (int i = 0; i < 8; i++) {
        ub_peer *e = &b->peers[(h + (uint32_t)i) % M2M_UB_PEERS];
        if (strcmp(e->impi, impi) == 0)
            return e;
        if (oldest == NULL || e->impi[0] == '\0' || (oldest->impi[0] != '\0' && e->last_seen < oldest->last_seen))
            oldest = e;
    }
    if (!create)
        return NULL;
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->impi, sizeof oldest->impi, "%s", impi);
    return oldest;
}

static int locked(m2m_bsf *b, const char *impi)
{
    ub_peer *p = peer_of(b, impi, 0);
    return p != NULL && p->locked_until > m2m_bsf_mono();
}

/* A failed answer for impi: counted, and the IMPI locked once max_failures fall within the window. */
static void count_failure(m2m_bsf *b, const char *impi, const char *why)
{
    ub_peer *p = peer_of(b, impi, 1);
    int64_t now = m2m_bsf_mono();
    char q[300];
    if (now - p->window_start > M2M_UB_FAILURE_WINDOW) {
        p->window_start = now;
        p->failures = 0;
    }
    p->last_seen = now;
    b->failures++;
    if (++p->failures >= b->cfg.max_failures) {
        p->locked_until = now + b->cfg.lockout;
        p->failures = 0;
        p->window_start = now;
        m2m_bsf_log(b, "ub impi=%s result=refused reason=%s; locked for %llds after %d failed attempts",
                    m2m_log_quote(impi, q, sizeof q), why, (long long)b->cfg.lockout, b->cfg.max_failures);
    } else {
        m2m_bsf_log(b, "ub impi=%s result=refused reason=%s", m2m_log_quote(impi, q, sizeof q), why);
    }
}

/* ---- challenges ---- */

/* Makes a challenge for impi in the next ring slot and answers 401 with it. */
static void challenge(m2m_bsf *b, struct evhttp_request *req, const char *impi)
{
    m2m_gba_subscriber sub;
    m2m_err err;
    unsigned slot = b->next_slot++ % M2M_UB_CHALLENGES;
    ub_challenge *c = &b->ch[slot];
    unsigned char raw[M2M_UB_NONCE_RAW], op[16], rnd[16];
    char hdr[512];
    ub_peer *p = peer_of(b, impi, 1);
    int known;

    OPENSSL_cleanse(c, sizeof *c);
    known = m2m_store_gba_subscriber_get(b->st, impi, &sub, &err) == 0;
    if (!known && err.code != M2M_E_NOTFOUND) {
        m2m_bsf_log(b, "ub store error: %s", err.msg);
        plain(req, 503, "Service Unavailable", "the BSF cannot read its subscribers\n");
        return;
    }
    if (!known) {
        /* the same work with a key nobody has: the answer looks and costs the same */
        RAND_bytes(sub.k, sizeof sub.k);
        RAND_bytes(op, sizeof op);
        m2m_milenage_opc(sub.k, op, sub.opc, NULL);
        sub.amf[0] = 0x80;
        sub.amf[1] = 0x00;
        sub.sqn = 0;
    }
    c->sqn = (p->last_sqn > sub.sqn ? p->last_sqn : sub.sqn) + 1;
    if (RAND_bytes(rnd, sizeof rnd) != 1 ||
        m2m_aka_vector_make(sub.k, sub.opc, c->sqn, sub.amf, rnd, &c->av, &err) != 0 ||
        RAND_bytes(raw + 34, sizeof raw - 34) != 1) {
        OPENSSL_cleanse(&sub, sizeof sub);
        OPENSSL_cleanse(c, sizeof *c);
        plain(req, 500, "Internal Server Error", "the BSF cannot make a challenge\n");
        return;
    }
    OPENSSL_cleanse(&sub, sizeof sub);
    memcpy(raw, c->av.rand, 16);
    memcpy(raw + 16, c->av.autn, 16);
    raw[32] = (unsigned char)(slot >> 8);
    raw[33] = (unsigned char)slot;
    m2m_b64_encode(raw, sizeof raw, c->nonce);
    m2m_hex_encode(raw + 34, 14, c->opaque); /* not secret: echoed by the client */
    snprintf(c->impi, sizeof c->impi, "%s", impi);
    c->unknown = !known;
    c->in_use = 1;
    c->expires = m2m_bsf_mono() + M2M_UB_CHALLENGE_TTL;
    p->last_sqn = c->sqn;
    p->last_seen = m2m_bsf_mono();
    snprintf(hdr, sizeof hdr, "Digest realm=\"%s\", nonce=\"%s\", algorithm=AKAv1-MD5, qop=\"auth-int\", opaque=\"%s\"",
             b->domain, c->nonce, c->opaque);
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", hdr);
    plain(req, 401, "Unauthorized", "answer the AKA challenge\n");
}

/* The outstanding challenge a nonce names, or NULL (unknown, used or expired). */
static ub_challenge *find_challenge(m2m_bsf *b, const char *nonce)
{
    unsigned char raw[M2M_UB_NONCE_RAW + 3];
    size_t len = 0;
    ub_challenge *c;
    if (strlen(nonce) != M2M_UB_NONCE_LEN || m2m_b64_decode(nonce, raw, sizeof raw, &len) != 0 ||
        len != M2M_UB_NONCE_RAW)
        return NULL;
    c = &b->ch[((unsigned)raw[32] << 8 | raw[33]) % M2M_UB_CHALLENGES];
    if (!c->in_use || CRYPTO_memcmp(c->nonce, nonce, M2M_UB_NONCE_LEN) != 0 || c->expires < m2m_bsf_mono())
        return NULL;
    return c;
}

/* ---- answers ---- */

static void bootstrapped(m2m_bsf *b, struct evhttp_request *req, const ub_challenge *c)
{
    m2m_gba_bootstrap rec;
    m2m_err err;
    char body[800], life[M2M_RFC3339_LEN + 1], q[300];
    int64_t now = m2m_clock_now();

    memset(&rec, 0, sizeof rec);
    m2m_b64_encode(c->av.rand, 16, rec.btid);
    snprintf(rec.btid + strlen(rec.btid), sizeof rec.btid - strlen(rec.btid), "@%s", b->domain);
    snprintf(rec.impi, sizeof rec.impi, "%s", c->impi);
    memcpy(rec.rand, c->av.rand, 16);
    memcpy(rec.ks, c->av.ck, 16);
    memcpy(rec.ks + 16, c->av.ik, 16);
    rec.created = now;
    rec.expires = now + b->cfg.lifetime;
    /* committed before the answer: Zn may be asked for this B-TID as soon as the UE has it */
    if (m2m_store_gba_bootstrap_put(b->st, &rec, &err) != 0 ||
        m2m_store_gba_subscriber_set_sqn(b->st, c->impi, c->sqn, 1, &err) != 0) {
        OPENSSL_cleanse(&rec, sizeof rec);
        m2m_bsf_log(b, "ub store error: %s", err.msg);
        plain(req, 503, "Service Unavailable", "the BSF cannot record the bootstrapping\n");
        return;
    }
    m2m_rfc3339_format(rec.expires, life);
    snprintf(body, sizeof body,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<BootstrappingInfo xmlns=\"uri:3gpp-gba\"><btid>%s</btid><lifetime>%s</lifetime></BootstrappingInfo>\n",
             rec.btid, life);
    b->bootstraps++;
    m2m_bsf_log(b, "ub impi=%s result=ok btid=%s lifetime=%s", m2m_log_quote(c->impi, q, sizeof q), rec.btid, life);
    OPENSSL_cleanse(&rec, sizeof rec);
    reply(req, 200, "OK", "application/vnd.3gpp.bsf+xml", body);
}

/* The Digest response the client should have sent for challenge c, with password pw. */
static int expected(const m2m_digest_params *d, struct evhttp_request *req, const unsigned char *pw, size_t pw_len,
                    char out[M2M_DIGEST_HEX_LEN + 1])
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    m2m_digest_input di = {.username = d->username, .realm = d->realm, .password = pw, .password_len = pw_len,
                           .method = "GET", .uri = d->uri, .nonce = d->nonce, .nc = d->nc, .cnonce = d->cnonce,
                           .qop = "auth-int", .body = blen ? (const void *)evbuffer_pullup(in, -1) : "", .body_len = blen};
    return m2m_digest_response(&di, out, NULL);
}

/* A response to challenge c (already taken out of the ring). */
static void answer(m2m_bsf *b, struct evhttp_request *req, const m2m_digest_params *d, ub_challenge *c)
{
    static const unsigned MUST = M2M_DP_REALM | M2M_DP_URI | M2M_DP_RESPONSE | M2M_DP_QOP | M2M_DP_NC |
                                 M2M_DP_CNONCE | M2M_DP_OPAQUE | M2M_DP_ALGORITHM;
    char want[M2M_DIGEST_HEX_LEN + 1];
    const char *uri = evhttp_request_get_uri(req);
    m2m_gba_subscriber sub;
    m2m_err err;
    int ok;

    if ((d->seen & MUST) != MUST || strcmp(d->username, c->impi) != 0 || strcmp(d->realm, b->domain) != 0 ||
        strcmp(d->uri, uri) != 0 || strcasecmp(d->algorithm, "AKAv1-MD5") != 0 || strcmp(d->qop, "auth-int") != 0 ||
        strcmp(d->opaque, c->opaque) != 0 || strlen(d->nc) != 8) {
        count_failure(b, d->username, "Digest parameters do not match the challenge");
        challenge(b, req, d->username);
        return;
    }
    if (d->seen & M2M_DP_AUTS) {
        unsigned char auts[M2M_AKA_AUTS_LEN + 2];
        size_t alen = 0;
        uint64_t sqn_ms = 0;
        /* RFC 3310 3.4: a resynchronisation request is signed with an empty password */
        ok = expected(d, req, (const unsigned char *)"", 0, want) == 0 &&
             m2m_secret_equal(want, strlen(want), d->response, strlen(d->response)) && !c->unknown &&
             m2m_b64_decode(d->auts, auts, sizeof auts, &alen) == 0 && alen == M2M_AKA_AUTS_LEN &&
             m2m_store_gba_subscriber_get(b->st, c->impi, &sub, &err) == 0;
        if (ok) {
            ok = m2m_aka_resync(sub.k, sub.opc, c->av.rand, auts, &sqn_ms, &err) == 0 &&
                 m2m_store_gba_subscriber_set_sqn(b->st, c->impi, sqn_ms, 0, &err) == 0;
            OPENSSL_cleanse(&sub, sizeof sub);
        }
        if (!ok) {
            count_failure(b, d->username, "resynchronisation refused (AUTS does not verify)");
        } else {
            ub_peer *p = peer_of(b, c->impi, 1);
            char q[300];
            p->last_sqn = sqn_ms;
            m2m_bsf_log(b, "ub impi=%s result=resynchronised sqn=%llu", m2m_log_quote(c->impi, q, sizeof q),
                        (unsigned long long)sqn_ms);
        }
        challenge(b, req, d->username);
        return;
    }
    ok = expected(d, req, c->av.xres, sizeof c->av.xres, want) == 0 &&
         m2m_secret_equal(want, strlen(want), d->response, strlen(d->response)) && !c->unknown;
    OPENSSL_cleanse(want, sizeof want);
    if (!ok) {
        count_failure(b, d->username, "wrong Digest response (RES)");
        if (locked(b, d->username))
            plain(req, 403, "Forbidden", "too many failed attempts for this identity; try again later\n");
        else
            challenge(b, req, d->username);
        return;
    }
    bootstrapped(b, req, c);
}

void m2m_ub_handle(struct evhttp_request *req, void *arg)
{
    m2m_bsf *b = arg;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    m2m_digest_params d;
    m2m_err err;
    ub_challenge *c;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        plain(req, 405, "Method Not Allowed", "Ub takes GET\n");
        return;
    }
    if (auth == NULL || m2m_digest_parse(auth, &d, &err) != 0 || !(d.seen & M2M_DP_USERNAME) ||
        !m2m_gba_impi_ok(d.username)) {
        plain(req, 400, "Bad Request", "Ub needs Authorization: Digest with username=\"IMPI\" (TS 24.109)\n");
        return;
    }
    if (locked(b, d.username)) {
        plain(req, 403, "Forbidden", "too many failed attempts for this identity; try again later\n");
        return;
    }
    if (d.nonce[0] == '\0') {
        challenge(b, req, d.username);
        return;
    }
    c = find_challenge(b, d.nonce);
    if (c == NULL) {
        /* a nonce used before, expired, or never issued: refused, and counted like a wrong answer */
        count_failure(b, d.username, "unknown, expired or already used nonce");
        challenge(b, req, d.username);
        return;
    }
    {
        ub_challenge taken = *c; /* single use: the slot is free before anything is checked */
        OPENSSL_cleanse(c, sizeof *c);
        answer(b, req, &d, &taken);
        OPENSSL_cleanse(&taken, sizeof taken);
    }
}
