/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate issuance for the lab PKI (TS-0003 10.1 profile) and the checks run before anything is written. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"

/* RFC 5280 ub-common-name: OpenSSL refuses a longer CN, so say so before it does. */
#define CN_MAX 64
/* Certificates are backdated by this much so a peer whose clock is a little behind accepts them at once. */
#define BACKDATE_SECONDS 300

/* OpenSSL's last error as text, for messages that would otherwise only say "failed". */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : "unknown reason";
}

EVP_PKEY *m2m_pki_keygen(m2m_err *err)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL)
        m2m_fail(err, M2M_E_TLS, "P-256 key generation failed: %s", ossl_reason());
    return key;
}

int m2m_pki_valid_dns_name(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0, label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            /* empty label, or a label ending with '-' */
            if (label == 0 || name[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && name[n - 1] != '-';
}

int m2m_pki_is_self_signed(X509 *cert)
{
    return cert != NULL && X509_self_signed(cert, 1) == 1;
}

/* A GENERAL_NAME of an IA5String type (dNSName, URI) holding a copy of s. */
static GENERAL_NAME *ia5_name(int type, const char *s)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *str = ASN1_IA5STRING_new();
    if (gn == NULL || str == NULL || ASN1_STRING_set(str, s, (int)strlen(s)) != 1) {
        GENERAL_NAME_free(gn);
        ASN1_IA5STRING_free(str);
        return NULL;
    }
    GENERAL_NAME_set0_value(gn, type, str);
    return gn;
}

/* A fixed extension from OpenSSL's configuration syntax. Only constant strings come here: user input never does. */
static int add_fixed_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, m2m_err *err)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!ok)
        return m2m_fail(err, M2M_E_TLS, "cannot add %s = %s: %s", OBJ_nid2sn(nid), value, ossl_reason());
    return 0;
}

/* subjectAltName with an optional dNSName and a URI, built from ASN.1 objects (names are user input). It is not
 * critical: the subject carries a CN, so RFC 5280 4.2.1.6 does not ask for criticality. */
static int add_san(X509 *x, const char *dns, const char *uri, m2m_err *err)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = NULL;
    int rc = -1;

    if (gens == NULL)
        goto done;
    if (dns != NULL) {
        if ((gn = ia5_name(GEN_DNS, dns)) == NULL || sk_GENERAL_NAME_push(gens, gn) <= 0)
            goto done;
        gn = NULL;
    }
    if ((gn = ia5_name(GEN_URI, uri)) == NULL || sk_GENERAL_NAME_push(gens, gn) <= 0)
        goto done;
    gn = NULL;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        m2m_fail(err, M2M_E_TLS, "cannot add subjectAltName: %s", ossl_reason());
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    return rc;
}

/* Critical nameConstraints with one permitted dNSName subtree (RFC 5280 4.2.1.10 wants it critical). Only a DNS
 * subtree: OpenSSL checks URI names only against URI constraints, and a CSE-ID URI such as "/in-cse" has no host,
 * so any URI constraint would make every oneM2M certificate below this root fail with "unsupported name syntax". */
static int add_name_constraints(X509 *x, const char *dns, m2m_err *err)
{
    NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
    GENERAL_SUBTREE *sub = NULL;
    int rc = -1;

    if (nc == NULL || (nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL ||
        (sub = GENERAL_SUBTREE_new()) == NULL)
        goto done;
    GENERAL_NAME_free(sub->base); /* replace the empty default name */
    if ((sub->base = ia5_name(GEN_DNS, dns)) == NULL || sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, sub) <= 0)
        goto done;
    sub = NULL;
    if (X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) != 1)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        m2m_fail(err, M2M_E_TLS, "cannot add nameConstraints: %s", ossl_reason());
    GENERAL_SUBTREE_free(sub);
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

/* A positive 128-bit random serial (CA/B BR 7.1 asks for at least 64 random bits; RFC 5280 allows 20 octets). */
static int set_random_serial(X509 *x, m2m_err *err)
{
    unsigned char raw[16];
    BIGNUM *bn = NULL;
    int rc = -1;

    do {
        if (RAND_bytes(raw, sizeof raw) != 1) {
            m2m_fail(err, M2M_E_TLS, "no random serial number: %s", ossl_reason());
            goto done;
        }
        BN_free(bn);
        bn = BN_bin2bn(raw, sizeof raw, NULL);
    } while (bn != NULL && BN_is_zero(bn)); /* zero is not a valid serial (RFC 5280 4.1.2.2) */
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "cannot set the serial number");
        goto done;
    }
    rc = 0;
done:
    BN_free(bn);
    return rc;
}

static int check_spec(const m2m_cert_spec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, m2m_err *err)
{
    size_t cn_len = spec != NULL && spec->common_name != NULL ? strlen(spec->common_name) : 0;

    if (spec == NULL || key == NULL || (issuer == NULL) != (issuer_key == NULL))
        return m2m_fail(err, M2M_E_ARG, "a certificate needs a spec, a key, and an issuer with its key or neither");
    if (cn_len == 0 || cn_len > CN_MAX)
        return m2m_fail(err, M2M_E_ARG, "common name '%s' must be 1 to %d characters (RFC 5280 ub-common-name)",
                        spec->common_name != NULL ? spec->common_name : "", CN_MAX);
    if (spec->days < 1 || spec->days > M2M_PKI_MAX_DAYS)
        return m2m_fail(err, M2M_E_ARG, "validity of %d days is outside 1..%d", spec->days, M2M_PKI_MAX_DAYS);
    switch (spec->role) {
    case M2M_CERT_ROOT:
        if (issuer != NULL)
            return m2m_fail(err, M2M_E_ARG, "a root is self-signed: it takes no issuer");
        if (!m2m_pki_valid_dns_name(spec->dns_name))
            return m2m_fail(err, M2M_E_ARG, "'%s' is not a DNS name for the permitted subtree",
                            spec->dns_name != NULL ? spec->dns_name : "");
        break;
    case M2M_CERT_REGISTRAR:
        if (issuer == NULL)
            return m2m_fail(err, M2M_E_ARG, "a Registrar certificate is issued by the Registrar root");
        if (!m2m_pki_valid_dns_name(spec->dns_name))
            return m2m_fail(err, M2M_E_ARG, "'%s' is not a DNS name", spec->dns_name ? spec->dns_name : "");
        break;
    case M2M_CERT_DEVICE: break;
    default: return m2m_fail(err, M2M_E_ARG, "unknown certificate role %d", (int)spec->role);
    }
    if (spec->role != M2M_CERT_ROOT) {
        if (spec->uri == NULL || spec->uri[0] == '\0')
            return m2m_fail(err, M2M_E_ARG, "the certificate needs an ID for its URI subjectAltName");
        for (const char *p = spec->uri; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                return m2m_fail(err, M2M_E_ARG, "ID '%s' has a character a URI (IA5String) cannot hold",
                                spec->uri);
    }
    if (issuer != NULL) {
        if (X509_check_ca(issuer) == 0 || (X509_get_key_usage(issuer) & KU_KEY_CERT_SIGN) == 0)
            return m2m_fail(err, M2M_E_ARG, "the issuer certificate is not a CA allowed to sign certificates");
        if (X509_check_private_key(issuer, issuer_key) != 1) {
            ERR_clear_error();
            return m2m_fail(err, M2M_E_ARG, "the issuer's private key does not match its certificate");
        }
    }
    return 0;
}

X509 *m2m_pki_issue(const m2m_cert_spec *spec, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, m2m_err *err)
{
    X509 *x = NULL, *ret = NULL;
    X509_NAME *subject = NULL;
    X509V3_CTX ctx;
    int ca = 0;

    if (check_spec(spec, key, issuer, issuer_key, err) != 0)
        goto done;
    ca = spec->role == M2M_CERT_ROOT;
    x = X509_new();
    subject = X509_NAME_new();
    if (x == NULL || subject == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory building a certificate");
        goto done;
    }
    if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)spec->common_name, -1, -1, 0) != 1) {
        m2m_fail(err, M2M_E_ARG, "common name '%s': %s", spec->common_name, ossl_reason());
        goto done;
    }
    if (set_random_serial(x, err) != 0)
        goto done;
    if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_SECONDS) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), spec->days, 0, NULL) == NULL || X509_set_pubkey(x, key) != 1) {
        m2m_fail(err, M2M_E_TLS, "cannot fill in the certificate: %s", ossl_reason());
        goto done;
    }
    /* The issuer certificate gives the authorityKeyIdentifier; a self-signed certificate is its own issuer. */
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    if (add_fixed_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE", err) != 0 ||
        add_fixed_ext(x, &ctx, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature",
                      err) != 0 ||
        add_fixed_ext(x, &ctx, NID_subject_key_identifier, "hash", err) != 0)
        goto done;
    if (issuer != NULL && add_fixed_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err) != 0)
        goto done;
    switch (spec->role) {
    case M2M_CERT_ROOT:
        if (add_name_constraints(x, spec->dns_name, err) != 0)
            goto done;
        break;
    case M2M_CERT_REGISTRAR:
        if (add_fixed_ext(x, &ctx, NID_ext_key_usage, "serverAuth", err) != 0 ||
            add_san(x, spec->dns_name, spec->uri, err) != 0)
            goto done;
        break;
    case M2M_CERT_DEVICE:
        if (add_fixed_ext(x, &ctx, NID_ext_key_usage, "clientAuth", err) != 0 || add_san(x, NULL, spec->uri, err) != 0)
            goto done;
        break;
    }
    if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0) {
        m2m_fail(err, M2M_E_TLS, "signing the certificate failed: %s", ossl_reason());
        goto done;
    }
    ret = x;
    x = NULL;
done:
    X509_free(x);
    X509_NAME_free(subject);
    return ret;
}

/* OpenSSL's nc_dns(): an empty base matches everything; otherwise the name equals the base or ends with it after
 * a '.' (or the base itself starts with '.'); case-insensitive. Mirrored so the CLI refuses what OpenSSL would. */
static int dns_in_subtree(const char *name, const ASN1_IA5STRING *base)
{
    size_t nlen = strlen(name), blen = (size_t)ASN1_STRING_length(base);
    const char *b = (const char *)ASN1_STRING_get0_data(base);

    if (blen == 0)
        return 1;
    if (nlen < blen || memchr(b, '\0', blen) != NULL)
        return 0;
    if (nlen > blen && b[0] != '.' && name[nlen - blen - 1] != '.')
        return 0;
    return strncasecmp(name + nlen - blen, b, blen) == 0;
}

/* Appends "DNS:base" to a human-readable list. */
static void list_add(char *list, size_t cap, const ASN1_IA5STRING *base)
{
    size_t used = strlen(list);
    if (used < cap)
        snprintf(list + used, cap - used, "%s%.*s", used ? ", " : "", ASN1_STRING_length(base),
                 (const char *)ASN1_STRING_get0_data(base));
}

static int check_one_ca(X509 *ca, const char *dns_name, m2m_err *err)
{
    char subj[256], permitted[256] = "";
    int crit = -1, rc = -1, n_permitted = 0, matched = 0;
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(ca, NID_name_constraints, &crit, NULL);

    X509_NAME_oneline(X509_get_subject_name(ca), subj, sizeof subj);
    if (nc == NULL) {
        if (crit == -1)
            return 0; /* no nameConstraints: every name is allowed */
        ERR_clear_error();
        return m2m_fail(err, M2M_E_PARSE, "CA '%s' has an unreadable nameConstraints extension", subj);
    }
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->excludedSubtrees); i++) {
        GENERAL_SUBTREE *s = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i);
        if (s->base->type == GEN_DNS && dns_in_subtree(dns_name, s->base->d.dNSName)) {
            m2m_fail(err, M2M_E_AUTH, "'%s' is in a subtree the CA '%s' excludes (%.*s)", dns_name, subj,
                     ASN1_STRING_length(s->base->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(s->base->d.dNSName));
            goto done;
        }
    }
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); i++) {
        GENERAL_SUBTREE *s = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
        if (s->base->type != GEN_DNS)
            continue;
        n_permitted++;
        list_add(permitted, sizeof permitted, s->base->d.dNSName);
        if (dns_in_subtree(dns_name, s->base->d.dNSName))
            matched = 1;
    }
    /* RFC 5280: with no permitted subtree of a name type, names of that type are unconstrained. */
    if (n_permitted > 0 && !matched) {
        m2m_fail(err, M2M_E_AUTH,
                 "'%s' is outside the DNS names the CA '%s' may certify: its nameConstraints permit %s and the "
                 "names below it",
                 dns_name, subj, permitted);
        goto done;
    }
    rc = 0;
done:
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

int m2m_pki_check_dns_name(STACK_OF(X509) *cas, const char *dns_name, m2m_err *err)
{
    if (dns_name == NULL)
        return m2m_fail(err, M2M_E_ARG, "no DNS name to check");
    for (int i = 0; i < sk_X509_num(cas); i++)
        if (check_one_ca(sk_X509_value(cas, i), dns_name, err) != 0)
            return -1;
    return 0;
}

static int setup_failed(m2m_err *err)
{
    return m2m_fail(err, M2M_E_TLS, "cannot set up certificate verification: %s", ossl_reason());
}

/* One X509_verify_cert run; 1 = verified, 0 = refused (*error, *depth say why and where), -1 = setup failed. */
static int verify_once(X509_STORE *store, X509 *cert, STACK_OF(X509) *cas, unsigned long flags, int purpose,
                       int *error, int *depth)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;

    if (ctx == NULL || X509_STORE_CTX_init(ctx, store, cert, cas) != 1)
        goto done;
    X509_STORE_CTX_set_flags(ctx, flags);
    if (purpose != 0 && X509_STORE_CTX_set_purpose(ctx, purpose) != 1)
        goto done;
    rc = X509_verify_cert(ctx) == 1;
    *error = X509_STORE_CTX_get_error(ctx);
    *depth = X509_STORE_CTX_get_error_depth(ctx);
done:
    X509_STORE_CTX_free(ctx);
    return rc;
}

int m2m_pki_self_check(X509 *cert, STACK_OF(X509) *cas, m2m_cert_role role, m2m_err *err)
{
    X509_STORE *store = X509_STORE_new();
    unsigned long flags = 0;
    int anchors = 0, rc = -1, ok, error = 0, depth = 0;
    int purpose = role == M2M_CERT_REGISTRAR ? X509_PURPOSE_SSL_SERVER
                  : role == M2M_CERT_DEVICE  ? X509_PURPOSE_SSL_CLIENT
                                             : 0;

    if (store == NULL || cert == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "cannot set up certificate verification");
        goto done;
    }
    for (int i = 0; i < sk_X509_num(cas); i++) {
        X509 *c = sk_X509_value(cas, i);
        if (m2m_pki_is_self_signed(c)) {
            if (X509_STORE_add_cert(store, c) != 1) {
                setup_failed(err);
                goto done;
            }
            anchors++;
        }
    }
    if (sk_X509_num(cas) <= 0) {
        /* A root or a self-signed device: the peer pins the certificate (or its key hash) itself. */
        if (X509_STORE_add_cert(store, cert) != 1) {
            setup_failed(err);
            goto done;
        }
    } else if (anchors == 0) {
        /* The issuer is an intermediate whose own root we were not given: trust it as the end of the chain. */
        if (X509_STORE_add_cert(store, sk_X509_value(cas, 0)) != 1) {
            setup_failed(err);
            goto done;
        }
        flags |= X509_V_FLAG_PARTIAL_CHAIN;
    }
    /* What we issue is held to strict RFC 5280 (OpenSSL checks the chain from the leaf up, so a strict error
     * reported above depth 0 means the new certificate itself passed). A CA brought by the user is held only to
     * what peers enforce by default: openssl-made roots often lack keyUsage, which strict mode refuses. */
    ok = verify_once(store, cert, cas, flags | X509_V_FLAG_X509_STRICT, purpose, &error, &depth);
    if (ok == 0 && depth > 0 && sk_X509_num(cas) > 0)
        ok = verify_once(store, cert, cas, flags, purpose, &error, &depth);
    if (ok < 0) {
        setup_failed(err);
        goto done;
    }
    if (ok == 0) {
        /* OpenSSL checks a CN that looks like a host name (it has a '.') against DNS name constraints when the
         * certificate has no dNSName, which is how a device ID with a dot trips a root's subtree. */
        int cn_hint = error == X509_V_ERR_PERMITTED_VIOLATION && role == M2M_CERT_DEVICE;
        m2m_fail(err, M2M_E_AUTH, "the new certificate does not verify (depth %d): %s%s", depth,
                 X509_verify_cert_error_string(error),
                 cn_hint ? " (OpenSSL treats a CN containing '.' as a DNS name under the root's nameConstraints: "
                           "use an ID without '.' or a root whose --domain covers it)"
                         : "");
        goto done;
    }
    rc = 0;
done:
    ERR_clear_error(); /* verification failures leave queue entries the caller has no use for */
    X509_STORE_free(store);
    return rc;
}
