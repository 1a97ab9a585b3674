/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach enrol psk | list | revoke: Step 1 of the seed, the Service Provider's side. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/key_input.h"
#include "crypto/secret.h"
#include "m2mattach/keyid.h"
#include "crypto/pubkey_hash.h"
#include "registrar/enrolment.h"
#include "secctx/token.h"
#include "store/store.h"
#include "util/atomic_write.h"
#include "util/hex.h"

/* How a result line and an error line read in each mode. */
#define VERB(mode) ((mode) == M2M_ENROL_REPLACE ? "replaced the credential of" : "enrolled")
#define PREFIX(mode) ((mode) == M2M_ENROL_REPLACE ? "replace " : "")

static void enrol_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach enrol psk --db STORE --registree-id ID\n"
            "                           (--key-file FILE | --key - | --generate [--key-bytes 16|32]) [--key-out FILE]\n"
            "       m2mattach enrol cert --db STORE --registree-id ID --pubkey-hash HEX [--require-chain ROOTFILE]\n"
            "       m2mattach enrol token --db STORE --registree-id ID [--ttl DURATION]\n"
            "       m2mattach enrol gba --db STORE --registree-id ID --impi IMPI\n"
            "       m2mattach enrol replace --db STORE --registree-id ID (psk ... | cert ... | token ... | gba ...)\n"
            "       m2mattach enrol list --db STORE [--all]\n"
            "       m2mattach enrol revoke --db STORE --registree-id ID\n\n"
            "psk     enrols a Registree with a pre-shared key (Kca for an AE-ID, Kcc for a CSE-ID, i.e. an ID\n"
            "        starting with '/') and prints its key ID. The key is hex (16 to 64 octets): in a file\n"
            "        (--key-file FILE, white space around it ignored) or on one line of standard input (--key -).\n"
            "        Never put a key on the command line: ps and shell history show it to others (--key HEX still\n"
            "        works, with a warning). A generated key is shown once (or written to --key-out, mode 0600, and\n"
            "        not shown). Enrolling an ID again replaces its key.\n"
            "cert    enrols a Registree by the SHA-256 of its certificate's public key (see 'm2mattach pki\n"
            "        pubkey-hash'): whoever proves possession of that key is that Registree (x.y.6). A self-signed\n"
            "        certificate is fine; with --require-chain its chain must also verify to that root (PEM).\n"
            "token   issues a fresh 128-bit identity token for the Registree (x.y.7), shown once; the store keeps only\n"
            "        its SHA-256. It is single-use and expires after --ttl (default 7d; units s, m, h, d). It\n"
            "        replaces any unused token of that Registree.\n"
            "gba     x.y.5: the GBA subscriber IMPI (as the BSF knows it, e.g.\n"
            "        001010000000001@ims.mnc001.mcc001.3gppnetwork.org) may register as ID. No key is enrolled: the\n"
            "        Registrar (as NAF) gets Ks_NAF for the device's B-TID from the BSF. An IMPI names one Registree;\n"
            "        enrolling the ID again replaces its IMPI.\n"
            "replace device replacement: the ID gets the new credential (any mechanism, with that mechanism's\n"
            "        options) and, in the same transaction, loses every credential it had (pending generated keys\n"
            "        too). Its registration and resources stay; the old device's connections are closed on every\n"
            "        Registrar and its session tickets no longer resume. The ID must be enrolled already.\n"
            "list    shows enrolments (ID, mechanism, key ID, dates); never keys. --all includes revoked ones.\n"
            "        A PSK generated over a session (x.y.8) shows as pending beside the current one until the\n"
            "        Registree first uses it.\n"
            "revoke  revokes the Registree's enrolment: its next handshake fails and the Registrar closes its open\n"
            "        connections within a second (on PostgreSQL: every node sharing the store, at once).\n"
            "STORE   the Registrar's store: a SQLite file, or a PostgreSQL URL (postgresql://USER@HOST/DB) or\n"
            "        key=value string, as for 'registrar serve --db'. Passwords belong in ~/.pgpass, not in STORE.\n");
}

/* A generated key, shown to nobody: 0600, never over an existing file (someone's other key), whole or not at all. */
static int write_key_file(const char *path, const m2m_secret *key, m2m_err *err)
{
    char hex[2 * M2M_SECRET_MAX + 2];
    m2m_err e = {0};
    size_t n;
    int rc;

    m2m_hex_encode(key->bytes, key->len, hex);
    n = strlen(hex);
    hex[n++] = '\n';
    rc = m2m_write_atomic(path, hex, n, 0600, M2M_WRITE_NO_CLOBBER, NULL, &e);
    m2m_wipe(hex, sizeof hex);
    if (rc != 0)
        return m2m_fail(err, e.code, "--key-out %s", e.msg);
    return 0;
}

static int enrol_psk(int argc, char **argv, m2m_enrol_mode mode)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},        {"registree-id", required_argument, NULL, 'r'},
        {"key-file", required_argument, NULL, 'f'},  {"key", required_argument, NULL, 'k'},
        {"generate", no_argument, NULL, 'g'},        {"key-bytes", required_argument, NULL, 'b'},
        {"key-out", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *db = NULL, *id = NULL, *key_file = NULL, *out = NULL;
    char *key_arg = NULL;
    int generate = 0, sources = 0, bytes = 32, c, rc = 1;
    m2m_secret key = {0};
    m2m_err err = {0};
    char kid[M2M_KEYID_HEX_LEN + 1];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': id = optarg; break;
        case 'k': key_arg = optarg; sources++; break;
        case 'f': key_file = optarg; sources++; break;
        case 'g': generate = 1; sources++; break;
        case 'b': bytes = atoi(optarg); break;
        case 'o': out = optarg; break;
        case 'h': enrol_usage(stdout); return 0;
        default: enrol_usage(stderr); return 2;
        }
    }
    if (db == NULL || id == NULL || sources != 1 || optind != argc) {
        fprintf(stderr, "m2mattach enrol psk: --db, --registree-id and exactly one of --key-file FILE, --key - "
                        "(standard input) or --generate are required\n");
        return 2;
    }
    if (!m2m_valid_registree_id(id)) {
        fprintf(stderr, "m2mattach enrol psk: --registree-id '%s' is not an AE-ID or a CSE-ID ('/name')\n", id);
        return 2;
    }
    if (generate && bytes != 16 && bytes != 32) {
        fprintf(stderr, "m2mattach enrol psk: --key-bytes must be 16 or 32\n");
        return 2;
    }
    if ((generate     ? m2m_secret_random(&key, (size_t)bytes, &err)
         : key_file ? cli_key_from_file(&key, "--key-file", key_file, &err)
                    : cli_key_from_arg(&key, "--key", "--key-file", key_arg, &err)) != 0)
        goto done;
    /* The key file is written first so that a full disk cannot leave an enrolled key nobody holds. */
    if (out != NULL && write_key_file(out, &key, &err) != 0)
        goto done;
    {
        m2m_enrol_spec spec = {.registree_id = id, .mechanism = "psk", .mode = mode, .key = &key};
        m2m_enrol_result res;
        if (m2m_enrol(db, &spec, &res, &err) != 0) {
            if (out != NULL)
                unlink(out);
            goto done;
        }
        memcpy(kid, res.key_id, sizeof kid - 1); /* a key ID is 32 hex */
        kid[sizeof kid - 1] = '\0';
    }
    printf("%s %s (psk, %s_ID %s)\n", VERB(mode), id, id[0] == '/' ? "Kcc" : "Kca", kid);
    if (generate && out == NULL) {
        char khex[2 * M2M_SECRET_MAX + 1];
        m2m_hex_encode(key.bytes, key.len, khex);
        printf("key %s\n(shown once: give it to the Registree; the Registrar keeps its own copy)\n", khex);
        m2m_wipe(khex, sizeof khex);
    } else if (out != NULL) {
        printf("key written to %s (mode 0600)\n", out);
    }
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "m2mattach enrol %spsk: %s\n", PREFIX(mode), err.msg);
    m2m_secret_clear(&key);
    return rc;
}

static int enrol_cert(int argc, char **argv, m2m_enrol_mode mode)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"registree-id", required_argument, NULL, 'r'},
                                         {"pubkey-hash", required_argument, NULL, 'p'},
                                         {"require-chain", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *id = NULL, *hash = NULL, *root = NULL;
    char *pem = NULL, lower[M2M_PUBKEY_HASH_HEX_LEN + 1];
    int c, rc = 1;
    m2m_err err = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': id = optarg; break;
        case 'p': hash = optarg; break;
        case 'c': root = optarg; break;
        case 'h': enrol_usage(stdout); return 0;
        default: enrol_usage(stderr); return 2;
        }
    }
    if (db == NULL || id == NULL || hash == NULL || optind != argc) {
        fprintf(stderr, "m2mattach enrol cert: --db, --registree-id and --pubkey-hash are required\n");
        return 2;
    }
    if (!m2m_valid_registree_id(id)) {
        fprintf(stderr, "m2mattach enrol cert: --registree-id '%s' is not an AE-ID or a CSE-ID ('/name')\n", id);
        return 2;
    }
    if (!m2m_pubkey_hash_valid(hash)) {
        fprintf(stderr, "m2mattach enrol cert: --pubkey-hash must be 64 hex characters (SHA-256 of the DER "
                        "SubjectPublicKeyInfo; 'm2mattach pki pubkey-hash FILE' computes it)\n");
        return 2;
    }
    for (size_t i = 0; i <= M2M_PUBKEY_HASH_HEX_LEN; i++)
        lower[i] = (char)tolower((unsigned char)hash[i]);
    if (root != NULL && m2m_read_root_pem("--require-chain", root, &pem, &err) != 0)
        goto done;
    {
        m2m_enrol_spec spec = {.registree_id = id, .mechanism = "cert", .mode = mode, .pubkey_hash = lower,
                               .root_pem = pem};
        m2m_enrol_result res;
        if (m2m_enrol(db, &spec, &res, &err) != 0)
            goto done;
    }
    printf("%s %s (cert, public-key hash %s%s%s)\n", VERB(mode), id, lower, root ? ", chain to " : "",
           root ? root : "");
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "m2mattach enrol %scert: %s\n", PREFIX(mode), err.msg);
    free(pem);
    return rc;
}

static int enrol_token(int argc, char **argv, m2m_enrol_mode mode)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"registree-id", required_argument, NULL, 'r'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *id = NULL;
    int64_t ttl = 7 * 86400, expires;
    char token[M2M_TOKEN_LEN + 1], when[32];
    int c, rc = 1;
    m2m_err err = {0};
    struct tm tm;
    time_t t;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': id = optarg; break;
        case 't':
            if (cli_duration("enrol token", "--ttl", optarg, 3650, &ttl) != 0)
                return 2;
            break;
        case 'h': enrol_usage(stdout); return 0;
        default: enrol_usage(stderr); return 2;
        }
    }
    if (db == NULL || id == NULL || optind != argc) {
        fprintf(stderr, "m2mattach enrol token: --db and --registree-id are required\n");
        return 2;
    }
    if (!m2m_valid_registree_id(id)) {
        fprintf(stderr, "m2mattach enrol token: --registree-id '%s' is not an AE-ID or a CSE-ID ('/name')\n", id);
        return 2;
    }
    expires = (int64_t)time(NULL) + ttl;
    {
        m2m_enrol_spec spec = {.registree_id = id, .mechanism = "token", .mode = mode, .expires = expires};
        m2m_enrol_result res;
        int erc = m2m_enrol(db, &spec, &res, &err);
        memcpy(token, res.token, sizeof token < sizeof res.token ? sizeof token : sizeof res.token);
        m2m_wipe(&res, sizeof res);
        if (erc != 0) {
            fprintf(stderr, "m2mattach enrol %stoken: %s\n", PREFIX(mode), err.msg);
            goto done;
        }
    }
    t = (time_t)expires;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s %s (token, single use, expires %s)\n", VERB(mode), id, when);
    printf("token %s\n(shown once: give it to the Registree; the Registrar keeps only its hash)\n", token);
    rc = 0;
done:
    m2m_wipe(token, sizeof token);
    return rc;
}

static int enrol_gba(int argc, char **argv, m2m_enrol_mode mode)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"registree-id", required_argument, NULL, 'r'},
                                         {"impi", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *id = NULL, *impi = NULL;
    m2m_err err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': id = optarg; break;
        case 'i': impi = optarg; break;
        case 'h': enrol_usage(stdout); return 0;
        default: enrol_usage(stderr); return 2;
        }
    }
    if (db == NULL || id == NULL || impi == NULL || optind != argc) {
        fprintf(stderr, "m2mattach enrol gba: --db, --registree-id and --impi are required\n");
        return 2;
    }
    {
        m2m_enrol_spec spec = {.registree_id = id, .mechanism = "gba", .mode = mode, .impi = impi};
        m2m_enrol_result res;
        if (m2m_enrol(db, &spec, &res, &err) != 0) {
            fprintf(stderr, "m2mattach enrol %sgba: %s\n", PREFIX(mode), err.msg);
            return 1;
        }
    }
    printf("%s %s (gba, IMPI %s)\n", VERB(mode), id, impi);
    return 0;
}

static void print_enrolment(const m2m_enrolment *e, void *ctx)
{
    char created[32], revoked[32] = "-", note[96] = "";
    struct tm tm;
    time_t t = (time_t)e->created;
    (void)ctx;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (e->revoked) {
        t = (time_t)e->revoked;
        gmtime_r(&t, &tm);
        strftime(revoked, sizeof revoked, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (strcmp(e->mechanism, "token") == 0) {
        char exp[32] = "never";
        if (e->expires) {
            t = (time_t)e->expires;
            gmtime_r(&t, &tm);
            strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        snprintf(note, sizeof note, "%s, expires %s", e->used ? "used" : "unused", exp);
    } else if (strcmp(e->mechanism, "psk") == 0 && !e->revoked) {
        snprintf(note, sizeof note, "%s", e->pending ? "pending: generated over a session (x.y.8), not used yet"
                                                     : "current");
    } else if (strcmp(e->mechanism, "gba") == 0) {
        snprintf(note, sizeof note, "IMPI %.80s", e->impi);
    } else if (strcmp(e->mechanism, "cert") == 0 && e->chain_root != NULL) {
        snprintf(note, sizeof note, "chain to enrolled root required");
    }
    printf("%-24s %-6s %-64s %-20s %-20s %s\n", e->registree_id, e->mechanism, e->key_id, created, revoked, note);
}

static int enrol_list(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL;
    int all = 0, c, rc = 1;
    m2m_err err = {0};
    m2m_store *st;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'a': all = 1; break;
        case 'h': enrol_usage(stdout); return 0;
        default: enrol_usage(stderr); return 2;
        }
    }
    if (db == NULL || optind != argc) {
        fprintf(stderr, "m2mattach enrol list: --db is required\n");
        return 2;
    }
    st = m2m_store_open(db, 0, &err);
    if (st != NULL) {
        printf("%-24s %-6s %-64s %-20s %-20s %s\n", "REGISTREE", "MECH", "CREDENTIAL ID (key ID / public-key hash / token hash)",
               "ENROLLED", "REVOKED", "NOTE");
        rc = m2m_store_list(st, all, print_enrolment, NULL, &err) == 0 ? 0 : 1;
    }
    if (rc != 0)
        fprintf(stderr, "m2mattach enrol list: %s\n", err.msg);
    m2m_store_close(st);
    return rc;
}

static int enrol_revoke(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"registree-id", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *id = NULL;
    int c, rc = 1;
    m2m_err err = {0};
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': id = optarg; break;
        case 'h': enrol_usage(stdout); return 0;
        default: enrol_usage(stderr); return 2;
        }
    }
    if (db == NULL || id == NULL || optind != argc) {
        fprintf(stderr, "m2mattach enrol revoke: --db and --registree-id are required\n");
        return 2;
    }
    if (m2m_enrol_revoke(db, id, &err) == 0) {
        printf("revoked %s\n", id);
        rc = 0;
    }
    if (rc != 0)
        fprintf(stderr, "m2mattach enrol revoke: %s\n", err.msg);
    return rc;
}

/* enrol replace [--db F --registree-id ID] MECH [the options of enrol MECH]: the mechanism word may stand anywhere
 * except as an option's value; the rest is parsed by that mechanism's own parser, in replace mode. */
static int enrol_replace(int argc, char **argv)
{
    static const char *const VALUED[] = {"--db", "--registree-id", "--key-file", "--key", "--key-bytes", "--key-out",
                                         "--pubkey-hash", "--require-chain", "--ttl", "--impi"};
    static const char *const MECH[] = {"psk", "cert", "token", "gba"};
    char *args[64];
    int at = -1, m = -1, n = 0;

    for (int i = 1; i < argc && at < 0; i++) {
        int valued = 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            enrol_usage(stdout);
            return 0;
        }
        for (size_t k = 0; k < sizeof VALUED / sizeof VALUED[0]; k++)
            valued |= strcmp(argv[i - 1], VALUED[k]) == 0;
        for (int k = 0; k < 4 && !valued; k++)
            if (strcmp(argv[i], MECH[k]) == 0)
                at = i, m = k;
    }
    if (at < 0 || argc > (int)(sizeof args / sizeof args[0])) {
        fprintf(stderr, "m2mattach enrol replace: name the new credential's mechanism: psk, cert, token or gba "
                        "(e.g. enrol replace --db F --registree-id ID cert --pubkey-hash HEX)\n");
        return 2;
    }
    /* argv without the mechanism word, argv[0] standing for the mechanism */
    args[n++] = argv[at];
    for (int i = 1; i < argc; i++)
        if (i != at)
            args[n++] = argv[i];
    args[n] = NULL;
    optind = 0;
    switch (m) {
    case 0: return enrol_psk(n, args, M2M_ENROL_REPLACE);
    case 1: return enrol_cert(n, args, M2M_ENROL_REPLACE);
    case 2: return enrol_token(n, args, M2M_ENROL_REPLACE);
    default: return enrol_gba(n, args, M2M_ENROL_REPLACE);
    }
}

int cmd_enrol(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        enrol_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "replace") == 0)
        return enrol_replace(argc - 1, argv + 1);
    if (strcmp(argv[1], "psk") == 0)
        return enrol_psk(argc - 1, argv + 1, M2M_ENROL_ADD);
    if (strcmp(argv[1], "cert") == 0)
        return enrol_cert(argc - 1, argv + 1, M2M_ENROL_ADD);
    if (strcmp(argv[1], "token") == 0)
        return enrol_token(argc - 1, argv + 1, M2M_ENROL_ADD);
    if (strcmp(argv[1], "gba") == 0)
        return enrol_gba(argc - 1, argv + 1, M2M_ENROL_ADD);
    if (strcmp(argv[1], "list") == 0)
        return enrol_list(argc - 1, argv + 1);
    if (strcmp(argv[1], "revoke") == 0)
        return enrol_revoke(argc - 1, argv + 1);
    fprintf(stderr, "m2mattach enrol: unknown action '%s' (psk, cert, token, gba, replace, list, revoke)\n", argv[1]);
    return 2;
}
