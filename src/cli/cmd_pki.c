/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach pki root | registrar | device | pubkey-hash: a lab PKI for PKI attachment (seed x.y.6), so the
 * mechanism can be tried without an existing CA, and the public-key hash that enrolment stores. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "crypto/pubkey_hash.h"
#include "pki/files.h"
#include "pki/pki.h"
#include "registrar/enrolment.h"

#define DEFAULT_ROOT_NAME "m2mattach lab Registrar Root"
#define DEFAULT_ROOT_DOMAIN "m2m.localhost"
#define DEFAULT_ROOT_DAYS 3650
#define DEFAULT_LEAF_DAYS 825
/* RFC 5280 ub-common-name; the CN of a Registrar is its domain, of a device its ID. */
#define CN_MAX 64

static void pki_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach pki root --out DIR [--name CN] [--domain FQDN] [--days N] [--force]\n"
            "       m2mattach pki registrar --root DIR --cse-id ID --domain FQDN --out DIR [--days N] [--force]\n"
            "       m2mattach pki device --out DIR --id ID [--root DIR] [--days N] [--force]\n"
            "       m2mattach pki pubkey-hash FILE\n\n"
            "root         a Registrar root (or a manufacturer root): DIR/root.key and DIR/root.crt, a self-signed\n"
            "             CA whose name constraints permit the SP domain --domain and the names below it\n"
            "registrar    the Registrar's TLS certificate, signed by the root in --root DIR: DIR/registrar.key,\n"
            "             DIR/registrar.crt; subjectAltName DNS = --domain, URI = --cse-id\n"
            "device       a Registree's certificate (self-signed, or signed by --root): DIR/device.key,\n"
            "             DIR/device.crt; subjectAltName URI = --id. Prints the public-key hash to enrol\n"
            "pubkey-hash  the SHA-256 of the DER SubjectPublicKeyInfo of a certificate, public key or private key\n"
            "             file (PEM or DER): the value of 'm2mattach enrol cert --pubkey-hash'\n\n"
            "Keys are ECDSA P-256 (mode 0600), signatures SHA-256. Existing files are never overwritten unless\n"
            "--force is given; --out is created (mode 0700) when missing. 'm2mattach pki ACTION --help' for more;\n"
            "docs/pki.md describes every file and how to use your own CA instead.\n");
}

static void root_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach pki root --out DIR [--name CN] [--domain FQDN] [--days N] [--force]\n\n"
            "Creates a Registrar root: DIR/root.key (P-256, mode 0600; keep it offline) and DIR/root.crt, a\n"
            "self-signed CA certificate with basicConstraints CA:TRUE, keyUsage keyCertSign+cRLSign and critical\n"
            "nameConstraints permitting the dNSName subtree --domain (the SP domain, default " DEFAULT_ROOT_DOMAIN
            "):\n"
            "certificates it signs may name that domain or any name below it (in-cse." DEFAULT_ROOT_DOMAIN ").\n"
            "Registrees are given DIR/root.crt in Step 2. The same command makes a manufacturer root for\n"
            "'pki device --root'.\n\n"
            "  --out DIR      where to write (created mode 0700 if missing)\n"
            "  --name CN      subject common name (default \"" DEFAULT_ROOT_NAME "\")\n"
            "  --domain FQDN  the permitted DNS subtree (default " DEFAULT_ROOT_DOMAIN ")\n"
            "  --days N       validity in days (default %d)\n"
            "  --force        replace existing files\n",
            DEFAULT_ROOT_DAYS);
}

static void registrar_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach pki registrar --root DIR --cse-id ID --domain FQDN --out DIR [--days N] [--force]\n\n"
            "Issues the Registrar CSE's TLS server certificate, signed by DIR/root.crt + DIR/root.key of --root:\n"
            "DIR/registrar.key (P-256, mode 0600) and DIR/registrar.crt (this certificate only). subjectAltName\n"
            "holds dNSName = --domain, the CSE's public domain name (TS-0003 10.1.1: <IN-CSE-ID>.<SP domain>, e.g.\n"
            "in-cse." DEFAULT_ROOT_DOMAIN "), which must lie inside the root's name constraints, and URI = --cse-id\n"
            "exactly as given (e.g. /in-cse); CN = --domain; extendedKeyUsage serverAuth.\n"
            "If --root holds an intermediate CA (root.crt not self-signed, optionally followed by its own chain),\n"
            "DIR/chain.pem receives the intermediates for 'registrar serve --chain'; with the lab root there are\n"
            "none, no chain.pem is written, and the Registrar sends its certificate alone.\n\n"
            "  --root DIR     directory holding root.crt and root.key (from 'pki root' or your own CA)\n"
            "  --cse-id ID    the Registrar's CSE-ID, '/' and its name\n"
            "  --domain FQDN  the CSE's public domain name\n"
            "  --out DIR      where to write (created mode 0700 if missing; may be the --root directory)\n"
            "  --days N       validity in days (default %d)\n"
            "  --force        replace existing files\n",
            DEFAULT_LEAF_DAYS);
}

static void device_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach pki device --out DIR --id ID [--root DIR] [--days N] [--force]\n\n"
            "Makes a Registree's key and certificate: DIR/device.key (P-256, mode 0600) and DIR/device.crt,\n"
            "self-signed (the Registrar recognises the key by its hash, x.y.6) or, with --root, signed by a\n"
            "manufacturer root made with 'pki root'. subjectAltName URI = --id as given (an AE-ID such as Csensor1\n"
            "or a CSE-ID such as /mn-cse), CN = --id, extendedKeyUsage clientAuth. Prints the public-key hash to\n"
            "pass to 'm2mattach enrol cert --pubkey-hash'. An intermediate --root CA puts its chain in\n"
            "DIR/device-chain.pem.\n\n"
            "  --out DIR   where to write (created mode 0700 if missing)\n"
            "  --id ID     the Registree's AE-ID or CSE-ID\n"
            "  --root DIR  directory holding root.crt and root.key of the issuing CA (default: self-signed)\n"
            "  --days N    validity in days (default %d)\n"
            "  --force     replace existing files\n",
            DEFAULT_LEAF_DAYS);
}

static void hash_usage(FILE *out)
{
    fprintf(out, "usage: m2mattach pki pubkey-hash FILE\n\n"
                 "Prints the public-key identifier of x.y.6: SHA-256 of the DER SubjectPublicKeyInfo (RFC 6920\n"
                 "sha-256), 64 lowercase hex characters. FILE holds a certificate, a public key or an unencrypted\n"
                 "private key, PEM or DER (in a PEM file with several blocks, the first certificate or key). The\n"
                 "same value as: openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin -outform DER |\n"
                 "openssl dgst -sha256\n");
}

/* A DNS name given as --domain: a host name that also fits a CN. */
static int check_domain(const char *cmd, const char *domain)
{
    if (!m2m_pki_valid_dns_name(domain)) {
        fprintf(stderr, "m2mattach pki %s: --domain '%s' is not a DNS name (letters, digits, '-' and dots)\n", cmd,
                domain);
        return -1;
    }
    if (strlen(domain) > CN_MAX) {
        fprintf(stderr, "m2mattach pki %s: --domain '%s' is longer than %d characters, the limit of a CN\n", cmd,
                domain, CN_MAX);
        return -1;
    }
    return 0;
}

/* The CA that signs: every certificate of DIR/root.crt (the issuer first) and DIR/root.key. */
typedef struct issuer {
    char crt_path[PATH_MAX];
    char key_path[PATH_MAX];
    STACK_OF(X509) *certs;
    EVP_PKEY *key;
} issuer;

static void issuer_free(issuer *iss)
{
    sk_X509_pop_free(iss->certs, X509_free);
    EVP_PKEY_free(iss->key);
    iss->certs = NULL;
    iss->key = NULL;
}

static int load_issuer(const char *dir, issuer *iss, m2m_err *err)
{
    X509 *ca;
    if (m2m_pki_path(iss->crt_path, dir, "root.crt", err) != 0 ||
        m2m_pki_path(iss->key_path, dir, "root.key", err) != 0)
        return -1;
    iss->certs = m2m_pki_load_certs(iss->crt_path, err);
    if (iss->certs == NULL)
        return -1;
    iss->key = m2m_pki_load_key(iss->key_path, err);
    if (iss->key == NULL)
        return -1;
    ca = sk_X509_value(iss->certs, 0);
    if (X509_check_private_key(ca, iss->key) != 1)
        return m2m_fail(err, M2M_E_ARG, "%s does not belong to the first certificate of %s", iss->key_path,
                        iss->crt_path);
    if (X509_check_ca(ca) == 0 || (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0)
        return m2m_fail(err, M2M_E_ARG, "%s: the first certificate is not a CA that may sign certificates",
                        iss->crt_path);
    return 0;
}

/* The certificates a peer needs between the new leaf and the trust anchor: root.crt's certificates without the
 * self-signed one(s). Empty (no file to write) when the issuer is the root itself. Shallow: owned by iss. */
static STACK_OF(X509) *intermediates(const issuer *iss)
{
    STACK_OF(X509) *out = sk_X509_new_null();
    if (out == NULL)
        return NULL;
    for (int i = 0; i < sk_X509_num(iss->certs); i++) {
        X509 *c = sk_X509_value(iss->certs, i);
        if (!m2m_pki_is_self_signed(c) && sk_X509_push(out, c) <= 0) {
            sk_X509_free(out);
            return NULL;
        }
    }
    return out;
}

static void format_time(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "?");
}

/* Writes key + certificate (+ chain) into out_dir, refusing existing files unless force. */
static int write_set(const char *out_dir, const char *key_name, EVP_PKEY *key, const char *crt_name, X509 *cert,
                     const char *chain_name, STACK_OF(X509) *chain, int force, m2m_err *err)
{
    m2m_pki_file files[3];
    STACK_OF(X509) *one = sk_X509_new_null();
    size_t n = 0;
    int rc = -1;

    memset(files, 0, sizeof files);
    if (one == NULL || sk_X509_push(one, cert) <= 0) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (m2m_pki_file_key(&files[n++], out_dir, key_name, key, err) != 0 ||
        m2m_pki_file_certs(&files[n++], out_dir, crt_name, one, err) != 0)
        goto done;
    if (chain != NULL && sk_X509_num(chain) > 0 &&
        m2m_pki_file_certs(&files[n++], out_dir, chain_name, chain, err) != 0)
        goto done;
    if (m2m_pki_files_check(files, n, force, err) != 0 || m2m_pki_make_dir(out_dir, err) != 0 ||
        m2m_pki_files_write(files, n, force, err) != 0)
        goto done;
    rc = 0;
done:
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        m2m_pki_file_clear(&files[i]);
    sk_X509_free(one); /* shallow: cert belongs to the caller */
    return rc;
}

/* Fails early, before a key is generated, when a target file exists: the common mistake gets a quick answer.
 * m2m_pki_files_write checks again atomically. */
static int precheck(const char *out_dir, const char *const *names, int force, m2m_err *err)
{
    m2m_pki_file f;
    for (; *names != NULL; names++) {
        memset(&f, 0, sizeof f);
        if (m2m_pki_path(f.path, out_dir, *names, err) != 0 || m2m_pki_files_check(&f, 1, force, err) != 0)
            return -1;
    }
    return 0;
}

static int pki_root(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},  {"name", required_argument, NULL, 'n'},
        {"domain", required_argument, NULL, 'D'}, {"days", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char *const names[] = {"root.key", "root.crt", NULL};
    const char *out = NULL, *name = DEFAULT_ROOT_NAME, *domain = DEFAULT_ROOT_DOMAIN;
    int days = DEFAULT_ROOT_DAYS, force = 0, c, rc = 1;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    m2m_err err = {0};
    char until[32];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': name = optarg; break;
        case 'D': domain = optarg; break;
        case 'd':
            if (cli_int("pki root", "--days", optarg, 1, M2M_PKI_MAX_DAYS, &days) != 0)
                return 2;
            break;
        case 'f': force = 1; break;
        case 'h': root_usage(stdout); return 0;
        default: root_usage(stderr); return 2;
        }
    }
    if (out == NULL || optind != argc) {
        fprintf(stderr, "m2mattach pki root: --out DIR is required (and takes no other arguments)\n");
        return 2;
    }
    if (check_domain("root", domain) != 0)
        return 2;
    if (name[0] == '\0' || strlen(name) > CN_MAX) {
        fprintf(stderr, "m2mattach pki root: --name must be 1 to %d characters\n", CN_MAX);
        return 2;
    }
    if (precheck(out, names, force, &err) != 0)
        goto done;
    {
        m2m_cert_spec spec = {.role = M2M_CERT_ROOT, .common_name = name, .dns_name = domain, .days = days};
        if ((key = m2m_pki_keygen(&err)) == NULL || (cert = m2m_pki_issue(&spec, key, NULL, NULL, &err)) == NULL ||
            m2m_pki_self_check(cert, NULL, M2M_CERT_ROOT, &err) != 0)
            goto done;
    }
    if (write_set(out, "root.key", key, "root.crt", cert, NULL, NULL, force, &err) != 0)
        goto done;
    format_time(X509_get0_notAfter(cert), until, sizeof until);
    printf("wrote %s/root.key (private key, mode 0600: keep it offline)\n", out);
    printf("wrote %s/root.crt (CA \"%s\", nameConstraints permitted DNS:%s, valid until %s)\n", out, name, domain,
           until);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "m2mattach pki root: %s\n", err.msg);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static int pki_registrar(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},  {"cse-id", required_argument, NULL, 'i'},
        {"domain", required_argument, NULL, 'D'}, {"out", required_argument, NULL, 'o'},
        {"days", required_argument, NULL, 'd'},  {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    static const char *const names[] = {"registrar.key", "registrar.crt", NULL};
    const char *root = NULL, *cse_id = NULL, *domain = NULL, *out = NULL;
    int days = DEFAULT_LEAF_DAYS, force = 0, c, rc = 1;
    issuer iss = {0};
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    m2m_err err = {0};
    char until[32];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': root = optarg; break;
        case 'i': cse_id = optarg; break;
        case 'D': domain = optarg; break;
        case 'o': out = optarg; break;
        case 'd':
            if (cli_int("pki registrar", "--days", optarg, 1, M2M_PKI_MAX_DAYS, &days) != 0)
                return 2;
            break;
        case 'f': force = 1; break;
        case 'h': registrar_usage(stdout); return 0;
        default: registrar_usage(stderr); return 2;
        }
    }
    if (root == NULL || cse_id == NULL || domain == NULL || out == NULL || optind != argc) {
        fprintf(stderr, "m2mattach pki registrar: --root, --cse-id, --domain and --out are required\n");
        return 2;
    }
    if (cse_id[0] != '/' || !m2m_valid_registree_id(cse_id)) {
        fprintf(stderr, "m2mattach pki registrar: --cse-id '%s' is not a CSE-ID ('/' and the CSE's name, e.g. "
                        "/in-cse)\n", cse_id);
        return 2;
    }
    if (check_domain("registrar", domain) != 0)
        return 2;
    if (load_issuer(root, &iss, &err) != 0)
        goto done;
    /* Refuse here, with the reason, what every Registree would refuse later with "permitted subtree violation". */
    if (m2m_pki_check_dns_name(iss.certs, domain, &err) != 0) {
        char inner[sizeof err.msg];
        snprintf(inner, sizeof inner, "%s", err.msg);
        m2m_fail(&err, err.code, "--domain: %s", inner);
        goto done;
    }
    if ((chain = intermediates(&iss)) == NULL) {
        m2m_fail(&err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (precheck(out, names, force, &err) != 0)
        goto done;
    {
        m2m_cert_spec spec = {.role = M2M_CERT_REGISTRAR, .common_name = domain, .dns_name = domain,
                              .uri = cse_id, .days = days};
        if ((key = m2m_pki_keygen(&err)) == NULL ||
            (cert = m2m_pki_issue(&spec, key, sk_X509_value(iss.certs, 0), iss.key, &err)) == NULL ||
            m2m_pki_self_check(cert, iss.certs, M2M_CERT_REGISTRAR, &err) != 0)
            goto done;
    }
    if (write_set(out, "registrar.key", key, "registrar.crt", cert, "chain.pem", chain, force, &err) != 0)
        goto done;
    format_time(X509_get0_notAfter(cert), until, sizeof until);
    printf("wrote %s/registrar.key (private key, mode 0600)\n", out);
    printf("wrote %s/registrar.crt (DNS:%s, URI:%s, issued by %s, valid until %s)\n", out, domain, cse_id,
           iss.crt_path, until);
    if (sk_X509_num(chain) > 0)
        printf("wrote %s/chain.pem (%d intermediate CA certificate(s): give it to 'registrar serve --chain')\n", out,
               sk_X509_num(chain));
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "m2mattach pki registrar: %s\n", err.msg);
    sk_X509_free(chain);
    issuer_free(&iss);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static int pki_device(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},  {"id", required_argument, NULL, 'i'},
        {"root", required_argument, NULL, 'r'}, {"days", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char *const names[] = {"device.key", "device.crt", NULL};
    const char *out = NULL, *id = NULL, *root = NULL;
    int days = DEFAULT_LEAF_DAYS, force = 0, c, rc = 1;
    issuer iss = {0};
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    m2m_err err = {0};
    char until[32], hash[M2M_PUBKEY_HASH_HEX_LEN + 1];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'i': id = optarg; break;
        case 'r': root = optarg; break;
        case 'd':
            if (cli_int("pki device", "--days", optarg, 1, M2M_PKI_MAX_DAYS, &days) != 0)
                return 2;
            break;
        case 'f': force = 1; break;
        case 'h': device_usage(stdout); return 0;
        default: device_usage(stderr); return 2;
        }
    }
    if (out == NULL || id == NULL || optind != argc) {
        fprintf(stderr, "m2mattach pki device: --out and --id are required\n");
        return 2;
    }
    if (!m2m_valid_registree_id(id)) {
        fprintf(stderr, "m2mattach pki device: --id '%s' is not an AE-ID or a CSE-ID ('/name')\n", id);
        return 2;
    }
    if (strlen(id) > CN_MAX) {
        fprintf(stderr, "m2mattach pki device: --id '%s' is longer than %d characters, the limit of a CN\n", id,
                CN_MAX);
        return 2;
    }
    if (root != NULL) {
        if (load_issuer(root, &iss, &err) != 0)
            goto done;
        if ((chain = intermediates(&iss)) == NULL) {
            m2m_fail(&err, M2M_E_NOMEM, "out of memory");
            goto done;
        }
    }
    if (precheck(out, names, force, &err) != 0)
        goto done;
    {
        m2m_cert_spec spec = {.role = M2M_CERT_DEVICE, .common_name = id, .uri = id, .days = days};
        X509 *ca = root != NULL ? sk_X509_value(iss.certs, 0) : NULL;
        if ((key = m2m_pki_keygen(&err)) == NULL || (cert = m2m_pki_issue(&spec, key, ca, iss.key, &err)) == NULL ||
            m2m_pki_self_check(cert, iss.certs, M2M_CERT_DEVICE, &err) != 0 ||
            m2m_pubkey_hash_x509(cert, hash, &err) != 0)
            goto done;
    }
    if (write_set(out, "device.key", key, "device.crt", cert, "device-chain.pem", chain, force, &err) != 0)
        goto done;
    format_time(X509_get0_notAfter(cert), until, sizeof until);
    printf("wrote %s/device.key (private key, mode 0600)\n", out);
    printf("wrote %s/device.crt (URI:%s, %s%s, valid until %s)\n", out, id, root != NULL ? "issued by " : "self-signed",
           root != NULL ? iss.crt_path : "", until);
    if (sk_X509_num(chain) > 0)
        printf("wrote %s/device-chain.pem (%d intermediate CA certificate(s) the device must send)\n", out,
               sk_X509_num(chain));
    printf("pubkey-hash %s\n", hash);
    printf("enrol it with: m2mattach enrol cert --db FILE --registree-id %s --pubkey-hash %s\n", id, hash);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "m2mattach pki device: %s\n", err.msg);
    sk_X509_free(chain);
    issuer_free(&iss);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static int pki_pubkey_hash(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    char hash[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': hash_usage(stdout); return 0;
        default: hash_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "m2mattach pki pubkey-hash: exactly one FILE is required\n");
        return 2;
    }
    if (m2m_pubkey_hash_file(argv[optind], hash, &err) != 0) {
        fprintf(stderr, "m2mattach pki pubkey-hash: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", hash);
    return 0;
}

int cmd_pki(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        pki_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "root") == 0)
        return pki_root(argc - 1, argv + 1);
    if (strcmp(argv[1], "registrar") == 0)
        return pki_registrar(argc - 1, argv + 1);
    if (strcmp(argv[1], "device") == 0)
        return pki_device(argc - 1, argv + 1);
    if (strcmp(argv[1], "pubkey-hash") == 0)
        return pki_pubkey_hash(argc - 1, argv + 1);
    fprintf(stderr, "m2mattach pki: unknown action '%s' (root, registrar, device, pubkey-hash)\n", argv[1]);
    return 2;
}
