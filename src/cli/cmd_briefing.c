/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach briefing add | list | remove: Step 2 from the network, the Service Provider's side. A briefing tells a
 * device enrolled at this (Briefing) Registrar where and how to attach for real (registrar/briefing.h). Secrets for
 * the target (a PSK, an identity token) come from files or standard input, never the command line, and are never
 * printed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/key_input.h"
#include "crypto/secret.h"
#include "m2mattach/keyid.h"
#include "registrar/briefing.h"
#include "registrar/enrolment.h"
#include "registree/details.h"
#include "store/store.h"

static void briefing_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach briefing add --db STORE --registree-id ID --target-poa URL --target-cse-id ID\n"
            "                              [--target-cse-name NAME] [--target-id ID] [--app-id APPID]\n"
            "                              --mechanism psk|cert|token|gba [--root-cert PEM]\n"
            "                              [--key-file FILE|- | --generate-key --target-db STORE]\n"
            "                              [--token-file FILE|-] [--bsf URL]\n"
            "       m2mattach briefing list --db STORE\n"
            "       m2mattach briefing remove --db STORE --registree-id ID\n\n"
            "A briefing (Step 2 from the network, resource <briefing>, root m2m:brf, ty 10101) tells a Registree\n"
            "enrolled at this Briefing Registrar (--db) where and how to attach for real: the target Registrar's\n"
            "point of access and CSE-ID, the ID to use there (--target-id, default the same ID), the App-ID, the\n"
            "mechanism and its material. Only that Registree can read it ('m2mattach attach --briefing'), registered\n"
            "here or not. A one-time credential in it -- the PSK or the identity token for the target -- is handed\n"
            "out by the first read only and then removed from the store.\n\n"
            "add     prepares (or replaces) the briefing of ID, which must be enrolled in STORE.\n"
            "        psk:   --key-file FILE (hex; '-' reads one line of standard input) with a key already enrolled\n"
            "               at the target for the target ID, or --generate-key --target-db TARGETSTORE: a fresh\n"
            "               32-octet key, enrolled at the target store (replacing the target ID's PSK) and put into\n"
            "               the briefing; it is never shown.\n"
            "        token: --token-file FILE|- with a token 'm2mattach enrol token' issued at the target, and\n"
            "               --root-cert, the target Registrar's root certificate (PEM).\n"
            "        cert:  --root-cert; the device presents its own certificate at the target.\n"
            "        gba:   --bsf URL, the BSF's Ub address.\n"
            "        --root-cert may be given with psk too (the device then keeps it).\n"
            "list    shows every briefing: Registree, target CSE-ID, mechanism, PoA and whether a one-time\n"
            "        credential is still waiting or when it was handed out. Never a secret.\n"
            "remove  removes the briefing of ID.\n");
}

/* The key for a psk briefing: from --key-file, or fresh for --generate-key; and its ID for the target ID. */
static int psk_material(const char *key_file, int generate, const char *target_id, m2m_secret *key, char kid[33],
                        m2m_err *err)
{
    char dash[] = "-";
    if ((generate ? m2m_secret_random(key, 32, err)
         : strcmp(key_file, "-") == 0 ? cli_key_from_arg(key, "--key-file", "--key-file", dash, err)
                                      : cli_key_from_file(key, "--key-file", key_file, err)) != 0)
        return -1;
    if (key->len < M2M_KEY_MIN_LEN)
        return m2m_fail(err, M2M_E_ARG, "--key-file: a key of %zu octets is too short; use at least %d", key->len,
                        M2M_KEY_MIN_LEN);
    return m2m_keyid(m2m_key_kind_for_id(target_id), key->bytes, key->len, kid, err);
}

static int briefing_add(int argc, char **argv)
{
    enum { O_DB = 256, O_ID, O_POA, O_CSE, O_NAME, O_TID, O_APP, O_MECH, O_ROOT, O_KEY, O_GEN, O_TDB, O_TOKEN, O_BSF };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},           {"registree-id", required_argument, NULL, O_ID},
        {"target-poa", required_argument, NULL, O_POA},  {"target-cse-id", required_argument, NULL, O_CSE},
        {"target-cse-name", required_argument, NULL, O_NAME}, {"target-id", required_argument, NULL, O_TID},
        {"app-id", required_argument, NULL, O_APP},      {"mechanism", required_argument, NULL, O_MECH},
        {"root-cert", required_argument, NULL, O_ROOT},  {"key-file", required_argument, NULL, O_KEY},
        {"generate-key", no_argument, NULL, O_GEN},      {"target-db", required_argument, NULL, O_TDB},
        {"token-file", required_argument, NULL, O_TOKEN}, {"bsf", required_argument, NULL, O_BSF},
        {"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0}};
    const char *db = NULL, *key_file = NULL, *target_db = NULL, *token_file = NULL, *root = NULL;
    char *pem = NULL, token[M2M_TOKEN_MAX_LEN + 1] = "", kid[33] = "", target_safe[512] = "";
    m2m_briefing_spec spec = {0};
    m2m_secret key = {0};
    m2m_err err = {0};
    int generate = 0, c, rc = 1, enrolled = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: db = optarg; break;
        case O_ID: spec.registree_id = optarg; break;
        case O_POA: spec.target_poa = optarg; break;
        case O_CSE: spec.target_cse_id = optarg; break;
        case O_NAME: spec.target_cse_name = optarg; break;
        case O_TID: spec.target_id = optarg; break;
        case O_APP: spec.app_id = optarg; break;
        case O_MECH: spec.mechanism = optarg; break;
        case O_ROOT: root = optarg; break;
        case O_KEY: key_file = optarg; break;
        case O_GEN: generate = 1; break;
        case O_TDB: target_db = optarg; m2m_store_location_safe(optarg, target_safe, sizeof target_safe); break;
        case O_TOKEN: token_file = optarg; break;
        case O_BSF: spec.bsf = optarg; break;
        case 'h': briefing_usage(stdout); return 0;
        default: briefing_usage(stderr); return 2;
        }
    }
    if (db == NULL || spec.registree_id == NULL || spec.target_poa == NULL || spec.target_cse_id == NULL ||
        spec.mechanism == NULL || optind != argc) {
        fprintf(stderr, "m2mattach briefing add: --db, --registree-id, --target-poa, --target-cse-id and --mechanism "
                        "are required\n");
        return 2;
    }
    if ((key_file != NULL) + generate > 1 || (generate != (target_db != NULL))) {
        fprintf(stderr, "m2mattach briefing add: give either --key-file FILE|- or --generate-key --target-db STORE "
                        "(both of these)\n");
        return 2;
    }
    if (strcmp(spec.mechanism, "psk") == 0 && key_file == NULL && !generate) {
        fprintf(stderr, "m2mattach briefing add: mechanism psk needs --key-file FILE|- or --generate-key --target-db "
                        "STORE\n");
        return 2;
    }
    if (strcmp(spec.mechanism, "token") == 0 && token_file == NULL) {
        fprintf(stderr, "m2mattach briefing add: mechanism token needs --token-file FILE|- (a token 'm2mattach enrol "
                        "token' issued at the target)\n");
        return 2;
    }
    if ((key_file != NULL || generate) && strcmp(spec.mechanism, "psk") != 0) {
        fprintf(stderr, "m2mattach briefing add: --key-file and --generate-key belong to mechanism psk\n");
        return 2;
    }
    if (token_file != NULL && strcmp(spec.mechanism, "token") != 0) {
        fprintf(stderr, "m2mattach briefing add: --token-file belongs to mechanism token\n");
        return 2;
    }
    if (!m2m_valid_registree_id(spec.target_id ? spec.target_id : spec.registree_id)) {
        fprintf(stderr, "m2mattach briefing add: the target ID is not an AE-ID or a CSE-ID ('/name')\n");
        return 2;
    }
    if (root != NULL && m2m_read_root_pem("--root-cert", root, &pem, &err) != 0)
        goto done;
    spec.root_pem = pem;
    if (key_file != NULL || generate) {
        if (psk_material(key_file, generate, spec.target_id ? spec.target_id : spec.registree_id, &key, kid,
                         &err) != 0)
            goto done;
        spec.key = &key;
        spec.key_id = kid;
    }
    if (token_file != NULL) {
        if (cli_token_input(token, sizeof token, "--token-file", token_file, &err) != 0)
            goto done;
        if (!m2m_token_syntax_ok(token)) {
            m2m_fail(&err, M2M_E_PARSE, "--token-file %s: not an identity token (%d to %d characters of letters, "
                     "digits, '-', '.', '_', '~', '+', '/', then '=')", token_file, M2M_TOKEN_MIN_LEN,
                     M2M_TOKEN_MAX_LEN);
            goto done;
        }
        spec.token = token;
    }
    if (generate) {
        /* everything the briefing store can refuse is checked before the target's PSK is replaced */
        m2m_enrol_spec es = {.registree_id = spec.target_id ? spec.target_id : spec.registree_id,
                             .mechanism = "psk", .mode = M2M_ENROL_ADD, .key = &key};
        m2m_enrol_result res;
        if (m2m_briefing_check(db, &spec, &err) != 0 || m2m_enrol(target_db, &es, &res, &err) != 0)
            goto done;
        enrolled = 1;
    }
    if (m2m_briefing_add(db, &spec, &err) != 0)
        goto done;
    printf("briefing for %s: attach to %s at %s as %s (%s%s%s%s)\n", spec.registree_id, spec.target_cse_id,
           spec.target_poa, spec.target_id ? spec.target_id : spec.registree_id, spec.mechanism,
           kid[0] ? ", key ID " : "", kid, spec.token || kid[0] ? ", one-time credential waiting" : "");
    if (enrolled)
        printf("generated key enrolled at %s for %s (never shown: the Registree gets it from its briefing)\n",
               target_safe, spec.target_id ? spec.target_id : spec.registree_id);
    rc = 0;
done:
    if (rc != 0) {
        fprintf(stderr, "m2mattach briefing add: %s\n", err.msg);
        if (enrolled)
            fprintf(stderr, "m2mattach briefing add: note: the generated key is enrolled at %s but no briefing "
                            "carries it; run the command again (it replaces that key)\n", target_safe);
    }
    m2m_secret_clear(&key);
    m2m_wipe(token, sizeof token);
    free(pem);
    return rc;
}

static void print_briefing(const char *registree_id, const char *target_cse_id, const char *target_poa,
                           const char *mechanism, const char *credential, void *ctx)
{
    (void)ctx;
    printf("%-24s %-16s %-6s %-32s %s\n", registree_id, target_cse_id, mechanism, target_poa, credential);
}

/* The options of list (--db) and remove (--db, --registree-id): 0, or the exit status of a usage error or --help
 * (then *done is set). */
static int db_and_id(int argc, char **argv, const char *action, const char **db, const char **id, int *done)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"registree-id", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, want_id = id != NULL;
    const char *given_id = NULL;

    *done = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': *db = optarg; break;
        case 'r': given_id = optarg; break;
        case 'h': briefing_usage(stdout); return 0;
        default: briefing_usage(stderr); return 2;
        }
    }
    if (*db == NULL || (want_id ? given_id == NULL : given_id != NULL) || optind != argc) {
        fprintf(stderr, "m2mattach briefing %s: --db%s %s required\n", action, want_id ? " and --registree-id" : "",
                want_id ? "are" : "is");
        return 2;
    }
    if (want_id)
        *id = given_id;
    *done = 0;
    return 0;
}

static int briefing_list(int argc, char **argv)
{
    const char *db = NULL;
    m2m_err err = {0};
    int done, rc = db_and_id(argc, argv, "list", &db, NULL, &done);

    if (done)
        return rc;
    printf("%-24s %-16s %-6s %-32s %s\n", "REGISTREE", "TARGET CSE-ID", "MECH", "TARGET POA", "ONE-TIME CREDENTIAL");
    if (m2m_briefing_list(db, print_briefing, NULL, &err) != 0) {
        fprintf(stderr, "m2mattach briefing list: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int briefing_remove(int argc, char **argv)
{
    const char *db = NULL, *id = NULL;
    m2m_err err = {0};
    int done, rc = db_and_id(argc, argv, "remove", &db, &id, &done);

    if (done)
        return rc;
    if (m2m_briefing_remove(db, id, &err) != 0) {
        fprintf(stderr, "m2mattach briefing remove: %s\n", err.msg);
        return 1;
    }
    printf("removed the briefing of %s\n", id);
    return 0;
}

int cmd_briefing(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        briefing_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return briefing_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return briefing_list(argc - 1, argv + 1);
    if (strcmp(argv[1], "remove") == 0)
        return briefing_remove(argc - 1, argv + 1);
    fprintf(stderr, "m2mattach briefing: unknown action '%s' (add, list, remove)\n", argv[1]);
    return 2;
}
