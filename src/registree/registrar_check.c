/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar's certificate checks of the Registree (registrar_check.h), shared by the TLS and the DTLS client. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "registree/registrar_check.h"

void m2m_registrar_check_fail(m2m_registrar_check *c, const char *fmt, ...)
{
    va_list ap;
    if (c->msg[0] != '\0')
        return; /* the first reason is the one that matters */
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
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
    m2m_registrar_check *c = arg;
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
        m2m_registrar_check_fail(c, "certificate chain does not verify to root-cert %s: %s%s", c->root_name,
                  X509_verify_cert_error_string(e), detail);
        return 0;
    }
    if (leaf == NULL || !carries_cse_id(leaf, c->cse_id, seen, sizeof seen)) {
        m2m_registrar_check_fail(c, "certificate does not carry CSE-ID %s (subjectAltName: %s)", c->cse_id, seen);
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
static int check_ocsp(m2m_registrar_check *c, SSL *ssl)
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
        m2m_registrar_check_fail(c, "no stapled OCSP response (ocsp-responder-cert %s requires a good status of the Registrar "
                  "certificate)", c->ocsp_name);
        return -1;
    }
    if (chain == NULL || sk_X509_num(chain) < 1) {
        m2m_registrar_check_fail(c, "OCSP: no verified certificate chain to check the status against");
        return -1;
    }
    leaf = sk_X509_value(chain, 0);
    issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : leaf;
    serial_text(leaf, serial, sizeof serial);
    p = der;
    resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    if (resp == NULL || p != der + len) {
        m2m_registrar_check_fail(c, "the stapled OCSP response is not a DER OCSPResponse");
        goto done;
    }
    st = OCSP_response_status(resp);
    if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        m2m_registrar_check_fail(c, "the stapled OCSP response says %s (%d), not successful", OCSP_response_status_str(st), st);
        goto done;
    }
    if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
        m2m_registrar_check_fail(c, "the stapled OCSP response is not a basic OCSP response");
        goto done;
    }
    /* The configured responder is the only signer trusted: OCSP_NOINTERN ignores certificates inside the response,
     * OCSP_TRUSTOTHER makes the one given here trusted as it is (so no store is needed: the empty one). */
    signers = sk_X509_new_null();
    none = X509_STORE_new();
    if (signers == NULL || none == NULL || !sk_X509_push(signers, c->ocsp)) {
        m2m_registrar_check_fail(c, "OCSP: out of memory");
        goto done;
    }
    ERR_clear_error();
    if (OCSP_basic_verify(bs, signers, none, OCSP_NOINTERN | OCSP_TRUSTOTHER) != 1) {
        unsigned long e = ERR_peek_last_error();
        const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
        m2m_registrar_check_fail(c, "the stapled OCSP response is not signed by ocsp-responder-cert %s: %s", c->ocsp_name,
                  r != NULL ? r : "verification failed");
        ERR_clear_error();
        goto done;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(c->ocsp)) <= 0 ||
        X509_cmp_current_time(X509_get0_notBefore(c->ocsp)) >= 0) {
        asn1_time_text(X509_get0_notBefore(c->ocsp), t1, sizeof t1);
        asn1_time_text(X509_get0_notAfter(c->ocsp), t2, sizeof t2);
        m2m_registrar_check_fail(c, "ocsp-responder-cert %s is not valid now (notBefore %s, notAfter %s)", c->ocsp_name, t1, t2);
        goto done;
    }
    if ((sr = find_single(bs, leaf, issuer)) == NULL) {
        m2m_registrar_check_fail(c, "the stapled OCSP response has no status for the Registrar certificate (serial %s)", serial);
        goto done;
    }
    st = OCSP_single_get0_status(sr, &reason, &revtime, &thisupd, &nextupd);
    if (st == V_OCSP_CERTSTATUS_REVOKED) {
        asn1_time_text(revtime, t1, sizeof t1);
        m2m_registrar_check_fail(c, "OCSP: the Registrar certificate (serial %s) is revoked (since %s%s%s)", serial, t1,
                  reason >= 0 ? ", reason " : "", reason >= 0 ? OCSP_crl_reason_str(reason) : "");
        goto done;
    }
    if (st != V_OCSP_CERTSTATUS_GOOD) {
        m2m_registrar_check_fail(c, "OCSP: the responder does not know the Registrar certificate (serial %s): status %s", serial,
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
            m2m_registrar_check_fail(c, "the stapled OCSP response is stale: nextUpdate %s has passed (thisUpdate %s)", t2, t1);
        else if (nextupd == NULL)
            m2m_registrar_check_fail(c, "the stapled OCSP response has no nextUpdate and its thisUpdate %s is in the future or "
                      "older than %d s", t1, M2M_OCSP_MAXAGE_NO_NEXTUPDATE_S);
        else
            m2m_registrar_check_fail(c, "the stapled OCSP response is not valid now (thisUpdate %s, nextUpdate %s)", t1, t2);
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
    m2m_registrar_check *c = arg;
    if (c->ocsp == NULL)
        return 1;
    return check_ocsp(c, ssl) == 0 ? 1 : 0;
}

/* Called on the client when the server sends a CertificateRequest. */
static int cert_requested_cb(SSL *ssl, void *arg)
{
    m2m_registrar_check *c = arg;
    (void)ssl;
    c->cert_requested = 1;
    return 1;
}


int m2m_registrar_check_init(m2m_registrar_check *k, const m2m_tls_client_config *cfg, m2m_err *err)
{
    memset(k, 0, sizeof *k);
    if (cfg->root == NULL || cfg->cse_id == NULL || cfg->cse_id[0] == '\0')
        return m2m_fail(err, M2M_E_ARG, "TLS client: certificate mode needs the Registrar root and CSE-ID");
    if ((cfg->client_cert == NULL) != (cfg->client_key == NULL))
        return m2m_fail(err, M2M_E_ARG, "TLS client: a client certificate needs its key, and a key its certificate");
    if (strlen(cfg->cse_id) >= sizeof k->cse_id)
        return m2m_fail(err, M2M_E_ARG, "TLS client: CSE-ID is longer than %zu characters", sizeof k->cse_id - 1);
    snprintf(k->cse_id, sizeof k->cse_id, "%s", cfg->cse_id);
    snprintf(k->root_name, sizeof k->root_name, "%s",
             cfg->root_name != NULL ? cfg->root_name : "(the configured root)");
    if (cfg->ocsp_responder != NULL) {
        if (X509_up_ref(cfg->ocsp_responder) != 1)
            return m2m_fail(err, M2M_E_TLS, "cannot reference the OCSP responder certificate");
        k->ocsp = cfg->ocsp_responder;
        snprintf(k->ocsp_name, sizeof k->ocsp_name, "%s",
                 cfg->ocsp_responder_name != NULL ? cfg->ocsp_responder_name : "(the configured responder)");
    }
    return 0;
}

void m2m_registrar_check_clear(m2m_registrar_check *k)
{
    if (k == NULL)
        return;
    X509_free(k->ocsp);
    memset(k, 0, sizeof *k);
}

int m2m_registrar_check_ctx(SSL_CTX *ctx, const m2m_tls_client_config *cfg, m2m_registrar_check *k, m2m_err *err)
{
    X509_STORE *store;

    /* The Registrar Root Certificate of Step 2 is the only trust anchor: a store of its own, no default paths,
     * and X509_V_FLAG_PARTIAL_CHAIN off so that only a chain ending at that self-signed root verifies. */
    store = X509_STORE_new();
    if (store == NULL || X509_STORE_add_cert(store, cfg->root) != 1) {
        X509_STORE_free(store);
        ERR_clear_error();
        return m2m_fail(err, M2M_E_TLS, "cannot build the trust store from root-cert %s", k->root_name);
    }
    SSL_CTX_set_cert_store(ctx, store); /* the context owns it now */
    X509_VERIFY_PARAM_clear_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_registrar, k);
    /* Renegotiation could bring another certificate after the checks; the Registrar has no need for it. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (k->ocsp != NULL) {
        SSL_CTX_set_tlsext_status_cb(ctx, ocsp_status_cb);
        SSL_CTX_set_tlsext_status_arg(ctx, k);
    }
    if (cfg->client_cert != NULL) {
        if (SSL_CTX_use_certificate(ctx, cfg->client_cert) != 1 || SSL_CTX_use_PrivateKey(ctx, cfg->client_key) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1 ||
            (cfg->client_chain != NULL && SSL_CTX_set1_chain(ctx, cfg->client_chain) != 1)) {
            unsigned long e = ERR_peek_last_error();
            const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
            m2m_fail(err, M2M_E_TLS, "cannot use the Registree certificate: %s", r != NULL ? r : "rejected");
            ERR_clear_error();
            return -1;
        }
        k->have_client_cert = 1;
    }
    SSL_CTX_set_cert_cb(ctx, cert_requested_cb, k);
    return 0;
}

int m2m_registrar_check_ssl(SSL *ssl, m2m_registrar_check *k, m2m_err *err)
{
    if (k->ocsp != NULL && SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp) != 1)
        return m2m_fail(err, M2M_E_TLS, "cannot request OCSP stapling");
    return 0;
}

int m2m_registrar_check_after(SSL *ssl, m2m_registrar_check *c, int resumed)
{
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    int auth_nid = cipher != NULL ? SSL_CIPHER_get_auth_nid(cipher) : NID_undef;

    if (resumed) {
        /* x.y.4: the Registrar proved the secret of a session whose full handshake passed every check below (a
         * session is kept only from a connection that did); no certificate is exchanged now. It must have been a
         * certificate session, though. */
        if (SSL_get0_peer_certificate(ssl) == NULL || auth_nid == NID_auth_psk || auth_nid == NID_auth_null)
            m2m_registrar_check_fail(c, "the resumed session was not one authenticated with the Registrar's "
                                        "certificate");
    } else if (SSL_get0_peer_certificate(ssl) == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
               !c->peer_checked)
        m2m_registrar_check_fail(c, "certificate was not verified against root-cert %s", c->root_name);
    else if (auth_nid == NID_auth_psk || auth_nid == NID_auth_null || SSL_session_reused(ssl))
        m2m_registrar_check_fail(c, "the handshake was not authenticated with the Registrar's certificate");
    else if (c->ocsp != NULL && !c->ocsp_checked)
        check_ocsp(c, ssl);
    if (c->msg[0] == '\0' && c->have_client_cert && !c->cert_requested && !resumed)
        m2m_registrar_check_fail(c, "did not ask for the Registree certificate (x.y.6 needs a certificate handshake "
                                    "with client authentication)");
    return c->msg[0] != '\0' ? -1 : 0;
}
