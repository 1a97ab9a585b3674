/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking TLS client, PSK or certificate mode (see tls_client.h). The socket is non-blocking underneath so that
 * every wait goes through poll() with a deadline: a dead Registrar costs the device a bounded time and a clear
 * message. In certificate mode the checks of the Registrar's certificate run inside the handshake (the
 * certificate-verify callback and the OCSP status callback), so a Registrar that fails one never sees the client
 * certificate (TLS 1.3) and never receives a request; they are checked once more after the handshake. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/secret.h"
#include "registree/tls_client.h"

#define PSK_IDENTITY_MAX 256 /* OpenSSL's PSK_MAX_IDENTITY_LEN */
/* sizeof(SSL_SESSION.master_key): the most SSL_SESSION_set1_master_key accepts for a TLS 1.3 external PSK. */
#define TLS13_PSK_MAX 48

struct m2m_tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
    int timeout_ms;
    double deadline;  /* 0, or when everything must be over (CLOCK_MONOTONIC ms) */
    int broken;       /* a fatal TLS or socket error: no close_notify may follow */
    int eof;          /* 1: peer closed; 2: cleanly, with close_notify */
    double handshake_ms;
    m2m_secret psk;
    int (*psk_derive)(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len);
    void *psk_arg;
    char identity[PSK_IDENTITY_MAX + 1];
    char peer[300];

    /* certificate mode */
    m2m_tls_auth auth;
    X509 *ocsp;            /* the OCSP responder certificate, or NULL */
    char root_name[300];
    char ocsp_name[300];
    char cse_id[256];
    int have_client_cert;
    int cert_requested;    /* the server sent a CertificateRequest */
    int peer_checked;      /* chain and CSE-ID passed in the verify callback */
    int ocsp_checked;      /* a good, fresh, correctly signed status was seen */
    char auth_msg[400];    /* why a check of the Registrar's certificate failed; "" when none did */

    /* resumption (x.y.4) */
    SSL_SESSION *offered;  /* the saved session offered, or NULL (a reference) */
    SSL_SESSION *newest;   /* the newest resumable session received, or NULL (a reference) */
    unsigned sessions;     /* how many were received */
    int keep_sessions;
    int resumed;
};

/* ---- time and signals ------------------------------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double m2m_tls_client_clock_ms(void)
{
    return now_ms();
}

/* When the current wait must end: the step's timeout, or the deadline if that comes first. */
static double wait_until(const m2m_tls_client *c)
{
    double t = now_ms() + c->timeout_ms;
    return c->deadline > 0 && c->deadline < t ? c->deadline : t;
}

static int deadline_passed(const m2m_tls_client *c)
{
    return c->deadline > 0 && now_ms() >= c->deadline;
}

/* A wait that ran out: M2M_E_TIMEOUT, saying whether the deadline or the step's own timeout ended it, e.g.
 * "PREFIXpeer: the deadline passed DURING" or "PREFIXpeer: STEP 10000 ms". */
static int timed_out(const m2m_tls_client *c, m2m_err *err, const char *prefix, const char *during,
                     const char *step)
{
    if (deadline_passed(c))
        return m2m_fail(err, M2M_E_TIMEOUT, "%s%s: the deadline passed %s", prefix, c->peer, during);
    return m2m_fail(err, M2M_E_TIMEOUT, "%s%s: %s %d ms", prefix, c->peer, step, c->timeout_ms);
}

/* A library must not change the process's signal disposition, yet a write to a reset TCP connection raises
 * SIGPIPE. So SIGPIPE is blocked in this thread for the duration of the call, and one raised by the call is
 * consumed before the mask is restored (the libpq technique). */
typedef struct sigpipe_guard {
    sigset_t old;
    int was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    struct timespec zero = {0, 0};
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- messages --------------------------------------------------------------------------------------------------- */

/* strerror with a lowercase first letter, to read well after "peer: ". */
static const char *errno_text(int e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* OpenSSL's reason for the failure of an SSL call: the last queued error (e.g. "tlsv1 alert unknown psk
 * identity"), else what the socket said. Clears the queue so a later call starts clean. */
static void ssl_reason(int ssl_err, int saved_errno, char *out, size_t cap)
{
    unsigned long e, last = 0;
    const char *r;
    char eb[128];

    while ((e = ERR_get_error()) != 0)
        last = e;
    if (last != 0) {
        r = ERR_reason_error_string(last);
        if (r != NULL)
            snprintf(out, cap, "%s", r);
        else
            ERR_error_string_n(last, out, cap);
    } else if (ssl_err == SSL_ERROR_SYSCALL && saved_errno != 0) {
        snprintf(out, cap, "%s", errno_text(saved_errno, eb, sizeof eb));
    } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        snprintf(out, cap, "the peer closed the connection");
    } else {
        snprintf(out, cap, "SSL error %d", ssl_err);
    }
}

/* ---- PSK callbacks ---------------------------------------------------------------------------------------------- */

/* The key for this handshake: the configured one, or the derived one (x.y.5) for its version and suite. */
static int key_for(const struct m2m_tls_client *c, SSL *ssl, int version, m2m_secret *out)
{
    const SSL_CIPHER *cipher;
    unsigned char buf[M2M_SECRET_MAX];
    size_t len = 0;
    int rc;
    if (c->psk_derive == NULL) {
        *out = c->psk;
        return 0;
    }
    cipher = SSL_get_pending_cipher(ssl);
    if (cipher == NULL)
        cipher = SSL_get_current_cipher(ssl);
    rc = version == TLS1_3_VERSION ? c->psk_derive(c->psk_arg, version, 0x1301, buf, &len)
         : cipher != NULL ? c->psk_derive(c->psk_arg, version, SSL_CIPHER_get_protocol_id(cipher), buf, &len) : -1;
    rc = rc == 0 ? m2m_secret_set(out, buf, len, NULL) : -1;
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* TLS 1.2 (RFC 4279): identity and key on request. The hint is ignored: a GBA Registrar's "3GPP-bootstrapping"
 * changes nothing for a Registree that was told to use GBA, and plain PSK needs none. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len)
{
    const struct m2m_tls_client *c = SSL_get_app_data(ssl);
    m2m_secret key = {0};
    size_t idlen;
    unsigned int rc = 0;
    (void)hint;
    if (c == NULL || key_for(c, ssl, TLS1_2_VERSION, &key) != 0)
        return 0;
    idlen = strlen(c->identity);
    if (idlen + 1 <= max_identity_len && key.len <= max_psk_len) {
        memcpy(identity, c->identity, idlen + 1);
        memcpy(psk, key.bytes, key.len);
        rc = (unsigned int)key.len;
    }
    m2m_secret_clear(&key);
    return rc;
}

/* TLS 1.3 external PSK: a session carrying the key, bound to TLS_AES_128_GCM_SHA256, i.e. to SHA-256. OpenSSL
 * calls again after a HelloRetryRequest with the chosen suite's digest (md); a PSK with another hash is not
 * offered then. OpenSSL takes the reference returned in *sess. */
static int psk_use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                              SSL_SESSION **sess)
{
    static const unsigned char tls_aes_128_gcm_sha256[] = {0x13, 0x01};
    const struct m2m_tls_client *c = SSL_get_app_data(ssl);
    const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls_aes_128_gcm_sha256);
    SSL_SESSION *s = NULL;

    *id = NULL;
    *idlen = 0;
    *sess = NULL;
    if (c == NULL || cipher == NULL)
        return 0;
    if (md != NULL && SSL_CIPHER_get_handshake_digest(cipher) != md)
        return 1;
    {
        m2m_secret key = {0};
        int ok = key_for(c, ssl, TLS1_3_VERSION, &key) == 0;
        s = ok ? SSL_SESSION_new() : NULL;
        ok = s != NULL && SSL_SESSION_set1_master_key(s, key.bytes, key.len) == 1 &&
             SSL_SESSION_set_cipher(s, cipher) == 1 && SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) == 1;
        m2m_secret_clear(&key);
        if (!ok) {
            SSL_SESSION_free(s);
            return 0;
        }
    }
    *sess = s;
    *id = (const unsigned char *)c->identity;
    *idlen = strlen(c->identity);
    return 1;
}

/* With mechanism psk the Registrar must prove the key. A TLS 1.3 Registrar that has a certificate and does not accept
 * the PSK goes on with a certificate handshake instead; say that, rather than OpenSSL's "certificate verify failed". */
static int psk_mode_refuse_cert(X509_STORE_CTX *ctx, void *arg)
{
    m2m_tls_client *c = arg;
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    if (c->auth_msg[0] == '\0')
        snprintf(c->auth_msg, sizeof c->auth_msg, "did not accept psk_identity %s and answered with a "
                 "certificate instead (key not enrolled, revoked or replaced?)", c->identity);
    return 0;
}

/* ---- resumption ------------------------------------------------------------------------------------------------- */

/* SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE: OpenSSL hands every new session here (TLS 1.2 at the
 * end of a full handshake, TLS 1.3 for each NewSessionTicket) and keeps none itself. Returning 1 keeps the
 * reference. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    m2m_tls_client *c = SSL_get_app_data(ssl);
    if (c == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    SSL_SESSION_free(c->newest);
    c->newest = sess;
    c->sessions++;
    return 1;
}

/* ---- certificate mode: checking the Registrar ------------------------------------------------------------------ */

static void auth_fail(m2m_tls_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void auth_fail(m2m_tls_client *c, const char *fmt, ...)
{
    va_list ap;
    if (c->auth_msg[0] != '\0')
        return; /* the first reason is the one that matters */
    va_start(ap, fmt);
    vsnprintf(c->auth_msg, sizeof c->auth_msg, fmt, ap);
    va_end(ap);
}

/* Copies an ASN.1 string for a message: printable ASCII kept, anything else as '?', at most cap-1 characters. */
static void printable(const ASN1_STRING *s, char *out, size_t cap)
{
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    size_t j = 0;
    for (int i = 0; i < n && j + 1 < cap; i++)
        out[j++] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
    out[j] = '\0';
}

static void asn1_time_text(const ASN1_TIME *t, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;
    out[0] = '\0';
    if (t == NULL) {
        snprintf(out, cap, "(none)");
    } else if (b != NULL && ASN1_TIME_print(b, t) == 1 && (n = BIO_read(b, out, (int)cap - 1)) > 0) {
        out[n] = '\0';
    } else {
        snprintf(out, cap, "(unreadable time)");
    }
    BIO_free(b);
}

static void name_text(const X509_NAME *name, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = 0;
    if (b != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
        (n = BIO_read(b, out, (int)cap - 1)) > 0)
        out[n] = '\0';
    else
        snprintf(out, cap, "(no name)");
    BIO_free(b);
}

static void serial_text(const X509 *x, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    snprintf(out, cap, "%s", hex != NULL ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
}

/* 1 when the certificate has a subjectAltName URI exactly equal to cse_id (same length, same bytes: no prefix,
 * case or embedded-NUL games). Otherwise 0, with the names it does carry in `seen` ("URI:/x, DNS:y"). */
static int carries_cse_id(X509 *x, const char *cse_id, char *seen, size_t cap)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t want = strlen(cse_id), used = 0, n;
    int found = 0, truncated = 0;

    seen[0] = '\0';
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char v[200] = "", item[220];
        const char *kind = "other";
        if (g->type == GEN_URI || g->type == GEN_DNS || g->type == GEN_EMAIL) {
            const ASN1_IA5STRING *s = g->d.ia5;
            kind = g->type == GEN_URI ? "URI" : g->type == GEN_DNS ? "DNS" : "email";
            printable(s, v, sizeof v);
            if (g->type == GEN_URI && (size_t)ASN1_STRING_length(s) == want &&
                memcmp(ASN1_STRING_get0_data(s), cse_id, want) == 0)
                found = 1;
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING *ip = g->d.iPAddress;
            kind = "IP";
            if (ASN1_STRING_length(ip) == 4 || ASN1_STRING_length(ip) == 16)
                inet_ntop(ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), v, sizeof v);
        }
        snprintf(item, sizeof item, "%s%s%s%s", i > 0 ? ", " : "", kind, v[0] != '\0' ? ":" : "", v);
        n = strlen(item);
        if (truncated)
            continue;
        if (used + n + 6 < cap) {
            memcpy(seen + used, item, n + 1);
            used += n;
        } else {
            snprintf(seen + used, cap - used, ", ...");
            truncated = 1;
        }
    }
    if (names == NULL || sk_GENERAL_NAME_num(names) == 0)
        snprintf(seen, cap, "none");
    GENERAL_NAMES_free(names);
    return found;
}

/* Replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback): the chain the Registrar sent must
 * verify to the one root in the store (no partial chains, validity dates checked), and the leaf must carry the
 * Registrar CSE-ID. Returning 0 aborts the handshake with an alert. */
static int verify_registrar(X509_STORE_CTX *ctx, void *arg)
{
    m2m_tls_client *c = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
    char seen[300];

    c->peer_checked = 0;
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
        char detail[400] = "";
        if (bad != NULL && (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)) {
            char subj[200], when[64];
            name_text(X509_get_subject_name(bad), subj, sizeof subj);
            asn1_time_text(e == X509_V_ERR_CERT_HAS_EXPIRED ? X509_get0_notAfter(bad) : X509_get0_notBefore(bad),
                           when, sizeof when);
            snprintf(detail, sizeof detail, " (%s, %s %s)", subj,
                     e == X509_V_ERR_CERT_HAS_EXPIRED ? "notAfter" : "notBefore", when);
        }
        auth_fail(c, "certificate chain does not verify to root-cert %s: %s%s", c->root_name,
                  X509_verify_cert_error_string(e), detail);
        return 0;
    }
    if (leaf == NULL || !carries_cse_id(leaf, c->cse_id, seen, sizeof seen)) {
        auth_fail(c, "certificate does not carry CSE-ID %s (subjectAltName: %s)", c->cse_id, seen);
        X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    c->peer_checked = 1;
    return 1;
}

/* The SingleResponse about `leaf`: the CertID is rebuilt with each response's own hash algorithm (SHA-1 is usual,
 * SHA-256 possible) from the leaf and its issuer in the verified chain. */
static OCSP_SINGLERESP *find_single(OCSP_BASICRESP *bs, X509 *leaf, X509 *issuer)
{
    for (int i = 0; i < OCSP_resp_count(bs); i++) {
        OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);
        const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(sr);
        ASN1_OBJECT *md_oid = NULL;
        const EVP_MD *md;
        OCSP_CERTID *mine;
        int same;
        if (cid == NULL || OCSP_id_get0_info(NULL, &md_oid, NULL, NULL, (OCSP_CERTID *)cid) != 1 ||
            (md = EVP_get_digestbyobj(md_oid)) == NULL)
            continue;
        mine = OCSP_cert_to_id(md, leaf, issuer);
        same = mine != NULL && OCSP_id_cmp(mine, cid) == 0;
        OCSP_CERTID_free(mine);
        if (same)
            return sr;
    }
    return NULL;
}

/* x.y.6 Step 4: a stapled OCSP response must be successful, signed by the configured responder certificate (and
 * nothing else), name the Registrar's leaf, say "good", and be fresh. 0 when all holds; -1 with auth_msg set. */
static int check_ocsp(m2m_tls_client *c, SSL *ssl)
{
    const unsigned char *der = NULL, *p;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *signers = NULL;
    X509_STORE *none = NULL;
    OCSP_SINGLERESP *sr;
    ASN1_GENERALIZEDTIME *revtime = NULL, *thisupd = NULL, *nextupd = NULL;
    X509 *leaf, *issuer;
    char serial[80], t1[64], t2[64];
    int st, reason = -1, rc = -1;

    if (der == NULL || len <= 0) {
        auth_fail(c, "no stapled OCSP response (ocsp-responder-cert %s requires a good status of the Registrar "
                  "certificate)", c->ocsp_name);
        return -1;
    }
    if (chain == NULL || sk_X509_num(chain) < 1) {
        auth_fail(c, "OCSP: no verified certificate chain to check the status against");
        return -1;
    }
    leaf = sk_X509_value(chain, 0);
    issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : leaf;
    serial_text(leaf, serial, sizeof serial);
    p = der;
    resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    if (resp == NULL || p != der + len) {
        auth_fail(c, "the stapled OCSP response is not a DER OCSPResponse");
        goto done;
    }
    st = OCSP_response_status(resp);
    if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        auth_fail(c, "the stapled OCSP response says %s (%d), not successful", OCSP_response_status_str(st), st);
        goto done;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        auth_fail(c, "the stapled OCSP response is not a basic OCSP response");
        goto done;
    }
    /* The configured responder is the only signer trusted: OCSP_NOINTERN ignores certificates inside the response,
     * OCSP_TRUSTOTHER makes the one given here trusted as it is (so no store is needed: the empty one). */
    signers = sk_X509_new_null();
    none = X509_STORE_new();
    if (signers == NULL || none == NULL || !sk_X509_push(signers, c->ocsp)) {
        auth_fail(c, "OCSP: out of memory");
        goto done;
    }
    ERR_clear_error();
    if (OCSP_basic_verify(bs, signers, none, OCSP_NOINTERN | OCSP_TRUSTOTHER) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
        auth_fail(c, "the stapled OCSP response is not signed by ocsp-responder-cert %s: %s", c->ocsp_name,
                  r != NULL ? r : "verification failed");
        ERR_clear_error();
        goto done;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(c->ocsp)) <= 0 ||
        X509_cmp_current_time(X509_get0_notBefore(c->ocsp)) >= 0) {
        asn1_time_text(X509_get0_notBefore(c->ocsp), t1, sizeof t1);
        asn1_time_text(X509_get0_notAfter(c->ocsp), t2, sizeof t2);
        auth_fail(c, "ocsp-responder-cert %s is not valid now (notBefore %s, notAfter %s)", c->ocsp_name, t1, t2);
        goto done;
    }
    if ((sr = find_single(bs, leaf, issuer)) == NULL) {
        auth_fail(c, "the stapled OCSP response has no status for the Registrar certificate (serial %s)", serial);
        goto done;
    }
    st = OCSP_single_get0_status(sr, &reason, &revtime, &thisupd, &nextupd);
    if (st == V_OCSP_CERTSTATUS_REVOKED) {
        asn1_time_text(revtime, t1, sizeof t1);
        auth_fail(c, "OCSP: the Registrar certificate (serial %s) is revoked (since %s%s%s)", serial, t1,
                  reason >= 0 ? ", reason " : "", reason >= 0 ? OCSP_crl_reason_str(reason) : "");
        goto done;
    }
    if (st != V_OCSP_CERTSTATUS_GOOD) {
        auth_fail(c, "OCSP: the responder does not know the Registrar certificate (serial %s): status %s", serial,
                  OCSP_cert_status_str(st));
        goto done;
    }
    ERR_clear_error();
    if (OCSP_check_validity(thisupd, nextupd, M2M_OCSP_SKEW_S, nextupd != NULL ? -1 : M2M_OCSP_MAXAGE_NO_NEXTUPDATE_S)
        != 1) {
        time_t now = time(NULL) - M2M_OCSP_SKEW_S;
        ERR_clear_error();
        asn1_time_text(thisupd, t1, sizeof t1);
        asn1_time_text(nextupd, t2, sizeof t2);
        if (nextupd != NULL && X509_cmp_time(nextupd, &now) < 0)
            auth_fail(c, "the stapled OCSP response is stale: nextUpdate %s has passed (thisUpdate %s)", t2, t1);
        else if (nextupd == NULL)
            auth_fail(c, "the stapled OCSP response has no nextUpdate and its thisUpdate %s is in the future or "
                      "older than %d s", t1, M2M_OCSP_MAXAGE_NO_NEXTUPDATE_S);
        else
            auth_fail(c, "the stapled OCSP response is not valid now (thisUpdate %s, nextUpdate %s)", t1, t2);
        goto done;
    }
    c->ocsp_checked = 1;
    rc = 0;
done:
    ERR_clear_error();
    sk_X509_free(signers); /* the certificate itself belongs to c */
    X509_STORE_free(none);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return rc;
}

/* Runs in the handshake once the server's certificates are verified (TLS 1.2: after ServerHelloDone; TLS 1.3:
 * after CertificateVerify), before the client sends its certificate. 0 aborts the handshake with
 * bad_certificate_status_response. */
static int ocsp_status_cb(SSL *ssl, void *arg)
{
    m2m_tls_client *c = arg;
    if (c->ocsp == NULL)
        return 1;
    return check_ocsp(c, ssl) == 0 ? 1 : 0;
}

/* Called on the client when the server sends a CertificateRequest. */
static int cert_requested_cb(SSL *ssl, void *arg)
{
    m2m_tls_client *c = arg;
    (void)ssl;
    c->cert_requested = 1;
    return 1;
}

/* ---- TCP -------------------------------------------------------------------------------------------------------- */

/* Waits until fd is ready for the direction OpenSSL asked for, or the deadline passes. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        double left = deadline - now_ms();
        int n;
        if (left <= 0)
            return -1;
        n = poll(&p, 1, (int)left + 1);
        if (n > 0)
            return 0;
        if (n == 0)
            continue; /* re-check the clock: poll may wake a little early */
        if (errno != EINTR)
            return -1;
    }
}

static int tcp_connect(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL, *ai;
    int gai, last = ECONNREFUSED, one = 1;
    char eb[128];

    gai = getaddrinfo(cfg->host, cfg->port, &hints, &res);
    if (gai != 0)
        return m2m_fail(err, M2M_E_IO, "%s: cannot resolve %s: %s", c->peer, cfg->host,
                        gai == EAI_SYSTEM ? errno_text(errno, eb, sizeof eb) : gai_strerror(gai));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        double deadline = wait_until(c);
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            c->fd = fd;
            break;
        }
        if (errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (wait_fd(fd, POLLOUT, deadline) != 0)
                soerr = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
                soerr = errno;
            if (soerr == 0) {
                c->fd = fd;
                break;
            }
            last = soerr;
        } else {
            last = errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        if (last == ETIMEDOUT)
            return timed_out(c, err, "", "during the TCP connect", "no answer to the TCP connect within");
        return m2m_fail(err, M2M_E_IO, "%s: %s", c->peer, errno_text(last, eb, sizeof eb));
    }
    /* Requests are small and each waits for its answer: Nagle would add a round trip's delay. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

/* ---- TLS -------------------------------------------------------------------------------------------------------- */

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int make_psk_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    if (SSL_CTX_set_cipher_list(c->ctx, cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_PSK_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(c->ctx, M2M_TLS13_PSK_CIPHERSUITES) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot set the TLS versions or cipher suites");
    }
    /* The Registrar proves itself by knowing the key; a certificate is never an acceptable substitute. With
     * VERIFY_PEER and an empty trust store any certificate fails, and connect() checks the outcome again. */
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(c->ctx, psk_mode_refuse_cert, c);
    SSL_CTX_set_psk_client_callback(c->ctx, psk_client_cb);
    SSL_CTX_set_psk_use_session_callback(c->ctx, psk_use_session_cb);
    return 0;
}

static int make_cert_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    X509_STORE *store;
    char *list = NULL;
    int ok;

    /* No PSK callback is installed, so OpenSSL offers no PSK suite and no TLS 1.3 PSK; the exclusion in the list
     * says the same once more. */
    if (asprintf(&list, "%s" M2M_TLS12_CERT_EXCLUDE,
                 cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_CERT_CIPHERS) < 0)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    ok = SSL_CTX_set_cipher_list(c->ctx, list) == 1 &&
         SSL_CTX_set_ciphersuites(c->ctx, M2M_TLS13_CERT_CIPHERSUITES) == 1;
    free(list);
    if (!ok) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "no certificate cipher suite in '%s'",
                        cfg->ciphers12 != NULL ? cfg->ciphers12 : M2M_DEFAULT_TLS12_CERT_CIPHERS);
    }
    /* The Registrar Root Certificate of Step 2 is the only trust anchor: a store of its own, no default paths,
     * and X509_V_FLAG_PARTIAL_CHAIN off so that only a chain ending at that self-signed root verifies. */
    store = X509_STORE_new();
    if (store == NULL || X509_STORE_add_cert(store, cfg->root) != 1) {
        X509_STORE_free(store);
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot build the trust store from root-cert %s", c->root_name);
    }
    SSL_CTX_set_cert_store(c->ctx, store); /* the context owns it now */
    X509_VERIFY_PARAM_clear_flags(SSL_CTX_get0_param(c->ctx), X509_V_FLAG_PARTIAL_CHAIN);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(c->ctx, verify_registrar, c);
    /* Renegotiation could bring another certificate after the checks; the Registrar has no need for it. */
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
    if (c->ocsp != NULL) {
        SSL_CTX_set_tlsext_status_cb(c->ctx, ocsp_status_cb);
        SSL_CTX_set_tlsext_status_arg(c->ctx, c);
    }
    if (cfg->client_cert != NULL) {
        if (SSL_CTX_use_certificate(c->ctx, cfg->client_cert) != 1 ||
            SSL_CTX_use_PrivateKey(c->ctx, cfg->client_key) != 1 || SSL_CTX_check_private_key(c->ctx) != 1 ||
            (cfg->client_chain != NULL && SSL_CTX_set1_chain(c->ctx, cfg->client_chain) != 1)) {
            char why[256];
            ssl_reason(SSL_ERROR_SSL, 0, why, sizeof why);
            return m2m_fail(err, M2M_E_TLS, "cannot use the Registree certificate: %s", why);
        }
        c->have_client_cert = 1;
    }
    SSL_CTX_set_cert_cb(c->ctx, cert_requested_cb, c);
    return 0;
}

/* The TLS context, before any connection is made, so that a configuration error costs no connect. */
static int make_ctx(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    int min = TLS1_2_VERSION, max = TLS1_3_VERSION;

    if (cfg->range == M2M_TLS_ONLY_1_2)
        max = TLS1_2_VERSION;
    else if (cfg->range == M2M_TLS_ONLY_1_3)
        min = TLS1_3_VERSION;
    if (c->auth == M2M_TLS_AUTH_PSK && c->psk.len > TLS13_PSK_MAX)
        max = TLS1_2_VERSION; /* connect() refused this already when only TLS 1.3 was allowed */
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL)
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS context");
    if (SSL_CTX_set_min_proto_version(c->ctx, min) != 1 || SSL_CTX_set_max_proto_version(c->ctx, max) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot set the TLS versions or cipher suites");
    }
    if (cfg->keep_sessions) {
        SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(c->ctx, new_session_cb);
    } else if (cfg->session == NULL) {
        SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
    }
    return c->auth == M2M_TLS_AUTH_PSK ? make_psk_ctx(c, cfg, err) : make_cert_ctx(c, cfg, err);
}

/* After the TCP connect: the connection object on the socket. */
static int make_ssl(m2m_tls_client *c, const m2m_tls_client_config *cfg, m2m_err *err)
{
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_app_data(c->ssl, c) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot create a TLS connection object");
    if (!is_ip_literal(cfg->host) && SSL_set_tlsext_host_name(c->ssl, cfg->host) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot set the server name %s", cfg->host);
    if (c->ocsp != NULL && SSL_set_tlsext_status_type(c->ssl, TLSEXT_STATUSTYPE_ocsp) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot request OCSP stapling");
    if (cfg->session != NULL) {
        /* A session OpenSSL cannot use here (another protocol version, not resumable) is simply not offered. */
        if (SSL_set_session(c->ssl, cfg->session) != 1 || SSL_SESSION_up_ref(cfg->session) != 1) {
            ERR_clear_error();
            return m2m_fail(err, M2M_E_TLS, "cannot offer the saved session");
        }
        c->offered = cfg->session;
    }
    return 0;
}

/* After SSL_connect: was the offered session resumed? TLS 1.2: SSL_session_reused (a PSK key exchange is not a
 * resumption there). TLS 1.3: OpenSSL says "reused" for an external PSK too; when the Registrar selects the
 * resumption ticket the connection keeps the very session object offered, when it selects the external PSK (or no
 * PSK) the connection gets another one. Checked before any post-handshake ticket replaces it. */
static void note_resumption(m2m_tls_client *c)
{
    c->resumed = 0;
    if (c->offered != NULL && SSL_session_reused(c->ssl) == 1)
        c->resumed = SSL_version(c->ssl) == TLS1_3_VERSION ? SSL_get0_session(c->ssl) == c->offered : 1;
    /* TLS 1.2: the session (with a ticket renewed in this handshake, which the new-session callback does not see
     * on a resumption) is final now. */
    if (c->keep_sessions && SSL_version(c->ssl) != TLS1_3_VERSION) {
        SSL_SESSION *s = SSL_get1_session(c->ssl);
        if (s != NULL && SSL_SESSION_is_resumable(s) && s != c->newest) {
            SSL_SESSION_free(c->newest);
            c->newest = s;
            c->sessions++;
        } else {
            SSL_SESSION_free(s);
        }
    }
}

/* Certificate mode, after SSL_connect succeeded: the same checks once more from the outcome, so that a callback
 * that did not run (e.g. no status callback without a staple) cannot let a connection through. */
static int after_cert_handshake(m2m_tls_client *c, m2m_err *err)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
    int auth_nid = cipher != NULL ? SSL_CIPHER_get_auth_nid(cipher) : NID_undef;

    if (c->resumed) {
        /* x.y.4: the Registrar proved the secret of a session whose full handshake passed every check below (a
         * session is kept only from a connection that did); no certificate is exchanged now. It must have been a
         * certificate session, though. */
        if (SSL_get0_peer_certificate(c->ssl) == NULL || auth_nid == NID_auth_psk || auth_nid == NID_auth_null)
            auth_fail(c, "the resumed session was not one authenticated with the Registrar's certificate");
    } else if (SSL_get0_peer_certificate(c->ssl) == NULL || SSL_get_verify_result(c->ssl) != X509_V_OK ||
        !c->peer_checked)
        auth_fail(c, "certificate was not verified against root-cert %s", c->root_name);
    else if (auth_nid == NID_auth_psk || auth_nid == NID_auth_null || SSL_session_reused(c->ssl))
        auth_fail(c, "the handshake was not authenticated with the Registrar's certificate");
    else if (c->ocsp != NULL && !c->ocsp_checked)
        check_ocsp(c, c->ssl);
    if (c->auth_msg[0] == '\0' && c->have_client_cert && !c->cert_requested && !c->resumed)
        auth_fail(c, "did not ask for the Registree certificate (x.y.6 needs a certificate handshake with client "
                  "authentication)");
    if (c->auth_msg[0] != '\0') {
        c->broken = 1; /* no close_notify, no request: the connection is dropped */
        return m2m_fail(err, M2M_E_AUTH, "Registrar %s: %s", c->peer, c->auth_msg);
    }
    return 0;
}

static int handshake(m2m_tls_client *c, m2m_err *err)
{
    double start = now_ms(), deadline = wait_until(c);
    char why[256];

    for (;;) {
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_connect(c->ssl);
        if (r == 1)
            break;
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != 0) {
                c->broken = 1;
                return timed_out(c, err, "TLS handshake with ", "during the handshake", "no answer within");
            }
            continue;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        if (c->auth_msg[0] != '\0')
            return m2m_fail(err, M2M_E_AUTH, "Registrar %s: %s", c->peer, c->auth_msg);
        return m2m_fail(err, M2M_E_TLS, "TLS handshake with %s failed: %s", c->peer, why);
    }
    c->handshake_ms = now_ms() - start;
    note_resumption(c);
    if (c->auth == M2M_TLS_AUTH_CERT)
        return after_cert_handshake(c, err);
    /* Belt and braces for the verify setting above: the suite must be a PSK one (TLS 1.2) or the external PSK
     * must have been accepted (TLS 1.3), and no certificate may have been involved. */
    {
        const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
        const X509 *cert = SSL_get0_peer_certificate(c->ssl);
        int psk_used = SSL_version(c->ssl) == TLS1_3_VERSION
                           ? SSL_session_reused(c->ssl) == 1
                           : cipher != NULL && SSL_CIPHER_get_auth_nid(cipher) == NID_auth_psk;
        if (cert != NULL || !psk_used) {
            c->broken = 1;
            return m2m_fail(err, M2M_E_AUTH, "TLS handshake with %s: the peer did not authenticate with the PSK",
                            c->peer);
        }
    }
    return 0;
}

m2m_tls_client *m2m_tls_client_connect(const m2m_tls_client_config *cfg, m2m_err *err)
{
    m2m_tls_client *c = NULL;
    sigpipe_guard g;
    int ok = 0;

    sigpipe_block(&g);
    if (cfg == NULL || cfg->host == NULL || cfg->port == NULL) {
        m2m_fail(err, M2M_E_ARG, "TLS client: host and port are required");
        goto done;
    }
    if (cfg->auth == M2M_TLS_AUTH_PSK) {
        if (cfg->psk_identity == NULL || (cfg->psk == NULL && cfg->psk_derive == NULL)) {
            m2m_fail(err, M2M_E_ARG, "TLS client: PSK identity and PSK are required");
            goto done;
        }
        if (strlen(cfg->psk_identity) > PSK_IDENTITY_MAX || cfg->psk_identity[0] == '\0') {
            m2m_fail(err, M2M_E_ARG, "TLS client: the PSK identity must have 1 to %d characters", PSK_IDENTITY_MAX);
            goto done;
        }
    } else if (cfg->auth == M2M_TLS_AUTH_CERT) {
        if (cfg->root == NULL || cfg->cse_id == NULL || cfg->cse_id[0] == '\0') {
            m2m_fail(err, M2M_E_ARG, "TLS client: certificate mode needs the Registrar root and CSE-ID");
            goto done;
        }
        if ((cfg->client_cert == NULL) != (cfg->client_key == NULL)) {
            m2m_fail(err, M2M_E_ARG, "TLS client: a client certificate needs its key, and a key its certificate");
            goto done;
        }
    } else {
        m2m_fail(err, M2M_E_ARG, "TLS client: unknown authentication mode %d", (int)cfg->auth);
        goto done;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    c->fd = -1;
    c->auth = cfg->auth;
    c->keep_sessions = cfg->keep_sessions != 0;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : M2M_TLS_DEFAULT_TIMEOUT_MS;
    c->deadline = cfg->deadline;
    if (cfg->peer_name != NULL)
        snprintf(c->peer, sizeof c->peer, "%s", cfg->peer_name);
    else
        snprintf(c->peer, sizeof c->peer, strchr(cfg->host, ':') ? "[%s]:%s" : "%s:%s", cfg->host, cfg->port);
    if (c->auth == M2M_TLS_AUTH_CERT) {
        if (strlen(cfg->cse_id) >= sizeof c->cse_id) {
            m2m_fail(err, M2M_E_ARG, "TLS client: CSE-ID is longer than %zu characters", sizeof c->cse_id - 1);
            goto done;
        }
        snprintf(c->cse_id, sizeof c->cse_id, "%s", cfg->cse_id);
        snprintf(c->root_name, sizeof c->root_name, "%s", cfg->root_name != NULL ? cfg->root_name
                                                                                : "(the configured root)");
        if (cfg->ocsp_responder != NULL) {
            if (X509_up_ref(cfg->ocsp_responder) != 1) {
                m2m_fail(err, M2M_E_TLS, "cannot reference the OCSP responder certificate");
                goto done;
            }
            c->ocsp = cfg->ocsp_responder;
            snprintf(c->ocsp_name, sizeof c->ocsp_name, "%s",
                     cfg->ocsp_responder_name != NULL ? cfg->ocsp_responder_name : "(the configured responder)");
        }
    } else {
        snprintf(c->identity, sizeof c->identity, "%s", cfg->psk_identity);
        c->psk_derive = cfg->psk_derive;
        c->psk_arg = cfg->psk_arg;
        if (c->psk_derive == NULL && m2m_secret_set(&c->psk, cfg->psk, cfg->psk_len, err) != 0)
            goto done;
        if (c->psk.len == 0 && c->psk_derive == NULL) {
            m2m_fail(err, M2M_E_ARG, "TLS client: empty PSK");
            goto done;
        }
        if (c->psk.len > TLS13_PSK_MAX && cfg->range == M2M_TLS_ONLY_1_3) {
            m2m_fail(err, M2M_E_ARG, "a %zu-octet PSK cannot be used with TLS 1.3 (OpenSSL takes at most %d "
                     "octets); allow TLS 1.2", c->psk.len, TLS13_PSK_MAX);
            goto done;
        }
    }
    if (make_ctx(c, cfg, err) != 0 || tcp_connect(c, cfg, err) != 0 || make_ssl(c, cfg, err) != 0 ||
        handshake(c, err) != 0)
        goto done;
    ok = 1;
done:
    if (!ok) {
        m2m_tls_client_close(c);
        c = NULL;
    }
    ERR_clear_error();
    sigpipe_restore(&g);
    return c;
}

int m2m_tls_client_write(m2m_tls_client *c, const void *buf, size_t len, m2m_err *err)
{
    const unsigned char *p = buf;
    sigpipe_guard g;
    char why[256];
    int rc = -1;

    sigpipe_block(&g);
    if (c == NULL || c->ssl == NULL || c->broken) {
        m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
        goto done;
    }
    while (len > 0) {
        double deadline = wait_until(c);
        size_t n = 0;
        int r, e, saved;
        if (deadline_passed(c)) {
            c->broken = 1; /* a request cut short: the stream is out of step */
            timed_out(c, err, "", "while sending", "");
            goto done;
        }
        ERR_clear_error();
        errno = 0;
        r = SSL_write_ex(c->ssl, p, len, &n);
        if (r == 1) {
            p += n;
            len -= n;
            continue;
        }
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 0)
                continue; /* OpenSSL wants the same arguments again */
            c->broken = 1;
            timed_out(c, err, "", "while sending", "sending stalled for");
            goto done;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        m2m_fail(err, M2M_E_IO, "%s: cannot send: %s", c->peer, why);
        goto done;
    }
    rc = 0;
done:
    sigpipe_restore(&g);
    return rc;
}

int m2m_tls_client_read(m2m_tls_client *c, void *buf, size_t cap, size_t *got, m2m_err *err)
{
    double deadline;
    sigpipe_guard g;
    char why[256];
    int rc = -1;

    *got = 0;
    sigpipe_block(&g);
    if (c == NULL || c->ssl == NULL || c->broken) {
        m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
        goto done;
    }
    if (c->eof) {
        rc = 0;
        goto done;
    }
    /* A peer that trickles bytes keeps every single wait short: the deadline is checked before each read too. */
    if (deadline_passed(c)) {
        timed_out(c, err, "", "while receiving", "");
        goto done;
    }
    deadline = wait_until(c);
    for (;;) {
        int r, e, saved;
        ERR_clear_error();
        errno = 0;
        r = SSL_read_ex(c->ssl, buf, cap, got);
        if (r == 1)
            break;
        *got = 0;
        saved = errno;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            c->eof = 2;
            break;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 0)
                continue;
            timed_out(c, err, "", "while receiving", "no answer within");
            goto done; /* not broken: the caller may still close politely */
        }
        /* A TCP FIN without close_notify: OpenSSL 3 calls it a protocol error; the caller decides whether the data
         * it has is complete (an HTTP message with a length is), so report it as an end of stream. */
        if ((e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
            (e == SSL_ERROR_SYSCALL && saved == 0 && ERR_peek_error() == 0)) {
            ERR_clear_error();
            c->eof = 1;
            c->broken = 1;
            break;
        }
        c->broken = 1;
        ssl_reason(e, saved, why, sizeof why);
        m2m_fail(err, M2M_E_IO, "%s: cannot receive: %s", c->peer, why);
        goto done;
    }
    rc = 0;
done:
    sigpipe_restore(&g);
    return rc;
}

void m2m_tls_client_set_deadline(m2m_tls_client *c, double deadline)
{
    if (c != NULL)
        c->deadline = deadline;
}

int m2m_tls_client_closed_cleanly(const m2m_tls_client *c)
{
    return c != NULL && c->eof == 2;
}

void m2m_tls_client_close(m2m_tls_client *c)
{
    sigpipe_guard g;

    if (c == NULL)
        return;
    sigpipe_block(&g);
    /* One SSL_shutdown sends our close_notify; waiting for the peer's would only cost the device time. */
    if (c->ssl != NULL && !c->broken && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    ERR_clear_error();
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    m2m_secret_clear(&c->psk);
    X509_free(c->ocsp);
    SSL_SESSION_free(c->offered);
    SSL_SESSION_free(c->newest);
    free(c);
    sigpipe_restore(&g);
}

const char *m2m_tls_client_version(const m2m_tls_client *c)
{
    return c != NULL && c->ssl != NULL ? SSL_get_version(c->ssl) : "";
}

const char *m2m_tls_client_cipher(const m2m_tls_client *c)
{
    const char *name = c != NULL && c->ssl != NULL ? SSL_get_cipher_name(c->ssl) : NULL;
    return name != NULL ? name : "";
}

const char *m2m_tls_client_peer(const m2m_tls_client *c)
{
    return c != NULL ? c->peer : "";
}

double m2m_tls_client_handshake_ms(const m2m_tls_client *c)
{
    return c != NULL ? c->handshake_ms : 0.0;
}

int m2m_tls_client_ocsp_checked(const m2m_tls_client *c)
{
    return c != NULL && c->ocsp_checked;
}

int m2m_tls_client_sent_certificate(const m2m_tls_client *c)
{
    return c != NULL && c->have_client_cert && c->cert_requested;
}

int m2m_tls_client_resumed(const m2m_tls_client *c)
{
    return c != NULL && c->resumed;
}

SSL_SESSION *m2m_tls_client_get1_session(m2m_tls_client *c)
{
    if (c == NULL || c->newest == NULL || SSL_SESSION_up_ref(c->newest) != 1)
        return NULL;
    return c->newest;
}

unsigned m2m_tls_client_sessions(const m2m_tls_client *c)
{
    return c != NULL ? c->sessions : 0;
}

int m2m_tls_client_await_session(m2m_tls_client *c, int max_ms)
{
    double deadline = now_ms() + max_ms;
    unsigned before;
    sigpipe_guard g;
    int got = 0;

    if (c == NULL || c->ssl == NULL || c->broken || c->eof || !c->keep_sessions ||
        SSL_version(c->ssl) != TLS1_3_VERSION)
        return 0;
    if (c->deadline > 0 && c->deadline < deadline)
        deadline = c->deadline; /* the wait for a ticket is part of the exchange too */
    before = c->sessions;
    sigpipe_block(&g);
    for (;;) {
        unsigned char b;
        size_t n = 0;
        int r, e;
        ERR_clear_error();
        /* SSL_peek processes the records that arrive (NewSessionTicket among them) and leaves application data
         * where it is. */
        r = SSL_peek_ex(c->ssl, &b, 1, &n);
        if (c->sessions != before) {
            got = 1;
            break;
        }
        if (r == 1)
            break; /* application data came first; the caller reads it */
        e = SSL_get_error(c->ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 0)
            continue;
        if (e == SSL_ERROR_ZERO_RETURN)
            c->eof = 2;
        else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            c->broken = 1; /* the next read or write reports it */
        break;
    }
    ERR_clear_error();
    sigpipe_restore(&g);
    return got;
}

int m2m_tls_client_export(m2m_tls_client *c, const char *label, unsigned char *out, size_t len, m2m_err *err)
{
    if (c == NULL || c->ssl == NULL || c->broken || label == NULL)
        return m2m_fail(err, M2M_E_ARG, "TLS client: not connected");
    if (SSL_export_keying_material(c->ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "%s: the TLS exporter failed", c->peer);
    }
    return 0;
}
