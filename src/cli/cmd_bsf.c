/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach bsf init | subscriber add/list/remove | serve: the simulated HSS + BSF of GBA (x.y.5). */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bsf/bsf.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/key_input.h"
#include "crypto/gba_id.h"
#include "store/store.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/url.h"

static void bsf_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach bsf init --db STORE --domain DOMAIN\n"
            "       m2mattach bsf subscriber add --db STORE --impi IMPI (--k-file FILE | --k -)\n"
            "                                    (--opc-file FILE | --op-file FILE) [--sqn HEX] [--amf HEX]\n"
            "       m2mattach bsf subscriber list --db STORE\n"
            "       m2mattach bsf subscriber remove --db STORE --impi IMPI\n"
            "       m2mattach bsf serve --db STORE [--ub HOST:PORT] [--ub-cert PEM --ub-key PEM]\n"
            "                           --zn HOST:PORT --zn-cert PEM --zn-key PEM --zn-client-root PEM\n"
            "                           [--lifetime DURATION] [--max-failures N] [--lockout DURATION] [--quiet]\n\n"
            "A simulated HSS + BSF for GBA-based attachment (x.y.5), for test labs: the Registree bootstraps with\n"
            "it over Ub and the Registrar (the NAF) fetches the key for a B-TID over Zn.\n"
            "init        creates the BSF store (a SQLite file, mode 0600, or a PostgreSQL URL or key=value string\n"
            "            as for 'registrar serve --db'); DOMAIN is the Ub realm and the part of every B-TID after\n"
            "            '@' (e.g. bsf.m2m.localhost).\n"
            "subscriber  add: a USIM's IMPI (e.g. 001010000000001@ims.mnc001.mcc001.3gppnetwork.org), its key K\n"
            "            (16 octets hex, from a file or one line of standard input: never on the command line),\n"
            "            and OPc (or the operator's OP, from which OPc is computed), each 16 octets hex in a file.\n"
            "            --sqn is the HSS's last sequence number (48 bits hex, default 0), --amf the\n"
            "            authentication management field (default 8000). list shows IMPIs and SQNs, never keys.\n"
            "            remove deletes a subscriber and its bootstrappings.\n"
            "serve       Ub (TS 24.109, HTTP Digest AKA with Milenage, RFC 3310) on --ub (default 127.0.0.1:8080;\n"
            "            plain HTTP on loopback only, HTTPS with --ub-cert/--ub-key) and Zn (POST JSON over mutual\n"
            "            TLS, shaped after Nbsp_GBA: {btid, nafId} -> {btid, impi, ksNaf, keyExpiryTime}) on --zn.\n"
            "            Only NAFs whose client certificate chains to --zn-client-root and names the NAF_Id's FQDN\n"
            "            (subjectAltName DNS) get keys. A bootstrapping lives --lifetime (default 1h). Challenges are\n"
            "            single-use; --max-failures (default 5) failed answers for one IMPI lock it for --lockout\n"
            "            (default 5m), whether or not it exists. Prints 'listening ub port N' and 'listening zn\n"
            "            port N'; logs to stderr; stops on SIGTERM or SIGINT.\n"
            "DURATION: seconds, or a number with s, m, h or d.\n");
}

/* "HOST:PORT" or "[IPv6]:PORT" (util/url.h) into host and port, which must outlive the BSF. */
static int split_hostport(const char *s, const char *opt, char host[256], char port[6])
{
    m2m_err why = {0};
    if (m2m_hostport_parse(s, host, 256, port, &why) != 0) {
        fprintf(stderr, "m2mattach bsf: %s %s\n", opt, why.msg);
        return -1;
    }
    return 0;
}

static int bsf_init(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"domain", required_argument, NULL, 'D'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *domain = NULL;
    m2m_err err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'D': domain = optarg; break;
        case 'h': bsf_usage(stdout); return 0;
        default: bsf_usage(stderr); return 2;
        }
    }
    if (db == NULL || domain == NULL || optind != argc) {
        fprintf(stderr, "m2mattach bsf init: --db and --domain are required\n");
        return 2;
    }
    if (m2m_bsf_init_store(db, domain, &err) != 0) {
        fprintf(stderr, "m2mattach bsf init: %s\n", err.msg);
        return 1;
    }
    {
        char safe[256];
        m2m_store_location_safe(db, safe, sizeof safe);
        printf("created BSF store %s for domain %s\n", safe, domain);
    }
    return 0;
}

/* A 16-octet secret for opt. */
static int key16(m2m_secret *s, const char *opt, m2m_err *err)
{
    if (s->len != 16) {
        m2m_secret_clear(s);
        return m2m_fail(err, M2M_E_ARG, "%s: %zu octets; it must be 16 (32 hex characters)", opt, s->len);
    }
    return 0;
}

static int subscriber_add(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"impi", required_argument, NULL, 'i'},
        {"k-file", required_argument, NULL, 'K'}, {"k", required_argument, NULL, 'k'},
        {"opc-file", required_argument, NULL, 'O'}, {"op-file", required_argument, NULL, 'P'},
        {"opc", required_argument, NULL, 'o'},    {"op", required_argument, NULL, 'p'},
        {"sqn", required_argument, NULL, 's'},    {"amf", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *db = NULL, *impi = NULL, *sqn_hex = "0", *amf_hex = "8000";
    m2m_secret k = {0}, op = {0};
    int have_k = 0, have_op = 0, is_op = 0, c, rc = 2;
    unsigned char amf[2];
    size_t amf_len = 0;
    uint64_t sqn;
    char *end;
    m2m_err err = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': db = optarg; break;
        case 'i': impi = optarg; break;
        case 'K': bad = cli_key_from_file(&k, "--k-file", optarg, &err) || key16(&k, "--k-file", &err); have_k = 1; break;
        case 'k':
            if (strcmp(optarg, "-") != 0) {
                m2m_wipe(optarg, strlen(optarg));
                m2m_fail(&err, M2M_E_ARG, "--k takes '-' (one line of hex on standard input) or use --k-file FILE: "
                                          "K never goes on the command line");
                bad = 1;
            } else {
                bad = cli_key_from_arg(&k, "--k", "--k-file", optarg, &err) || key16(&k, "--k", &err);
            }
            have_k = 1;
            break;
        case 'O': case 'P':
            bad = cli_key_from_file(&op, c == 'O' ? "--opc-file" : "--op-file", optarg, &err) ||
                  key16(&op, c == 'O' ? "--opc-file" : "--op-file", &err);
            have_op++;
            is_op = c == 'P';
            break;
        case 'o': case 'p':
            /* the issue's --opc HEX / --op HEX: OPc and OP are secrets too, so only files are taken */
            m2m_wipe(optarg, strlen(optarg));
            m2m_fail(&err, M2M_E_ARG, "%s: give %s FILE (hex in a file): OPc and OP are secrets and never go on the "
                                      "command line", c == 'o' ? "--opc" : "--op", c == 'o' ? "--opc-file" : "--op-file");
            bad = 1;
            break;
        case 's': sqn_hex = optarg; break;
        case 'a': amf_hex = optarg; break;
        case 'h': bsf_usage(stdout); rc = 0; goto done;
        default: bsf_usage(stderr); goto done;
        }
        if (bad) {
            fprintf(stderr, "m2mattach bsf subscriber add: %s\n", err.msg);
            goto done;
        }
    }
    if (db == NULL || impi == NULL || !have_k || have_op != 1 || optind != argc) {
        fprintf(stderr, "m2mattach bsf subscriber add: --db, --impi, one of --k-file/--k - and one of "
                        "--opc-file/--op-file are required\n");
        goto done;
    }
    sqn = strtoull(sqn_hex, &end, 16);
    if (*sqn_hex == '\0' || *end != '\0' || strlen(sqn_hex) > 12) {
        fprintf(stderr, "m2mattach bsf subscriber add: --sqn '%s' is not 48 bits of hex\n", sqn_hex);
        goto done;
    }
    if (m2m_hex_decode(amf_hex, amf, sizeof amf, &amf_len, "--amf", &err) != 0 || amf_len != 2) {
        fprintf(stderr, "m2mattach bsf subscriber add: --amf must be 2 octets of hex (e.g. 8000)\n");
        goto done;
    }
    rc = 1;
    if (m2m_bsf_subscriber_add(db, impi, k.bytes, is_op ? op.bytes : NULL, is_op ? NULL : op.bytes, sqn, amf,
                               &err) != 0) {
        fprintf(stderr, "m2mattach bsf subscriber add: %s\n", err.msg);
        goto done;
    }
    printf("added subscriber %s (SQN %012llx, AMF %02x%02x)\n", impi, (unsigned long long)sqn, amf[0], amf[1]);
    rc = 0;
done:
    m2m_secret_clear(&k);
    m2m_secret_clear(&op);
    return rc;
}

static void print_subscriber(const m2m_gba_subscriber *s, void *ctx)
{
    char when[32];
    struct tm tm;
    time_t t = (time_t)s->created;
    (void)ctx;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-56s %012llx %02x%02x %s\n", s->impi, (unsigned long long)s->sqn, s->amf[0], s->amf[1], when);
}

static int subscriber_list_or_remove(int argc, char **argv, int remove)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"impi", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *impi = NULL, *what = remove ? "remove" : "list";
    m2m_err err = {0};
    m2m_store *st;
    int c, rc = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'i': impi = optarg; break;
        case 'h': bsf_usage(stdout); return 0;
        default: bsf_usage(stderr); return 2;
        }
    }
    if (db == NULL || (remove && impi == NULL) || (!remove && impi != NULL) || optind != argc) {
        fprintf(stderr, "m2mattach bsf subscriber %s: --db%s required\n", what, remove ? " and --impi are" : " is");
        return 2;
    }
    if ((st = m2m_store_open(db, 0, &err)) != NULL) {
        if (remove) {
            rc = m2m_store_gba_subscriber_remove(st, impi, &err) == 0 ? 0 : 1;
            if (rc == 0)
                printf("removed subscriber %s\n", impi);
        } else {
            printf("%-56s %-12s %-4s %s\n", "IMPI", "SQN", "AMF", "ADDED");
            rc = m2m_store_gba_subscriber_list(st, print_subscriber, NULL, &err) == 0 ? 0 : 1;
        }
    }
    if (rc != 0)
        fprintf(stderr, "m2mattach bsf subscriber %s: %s\n", what, err.msg);
    m2m_store_close(st);
    return rc;
}

static int bsf_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},         {"ub", required_argument, NULL, 'u'},
        {"ub-cert", required_argument, NULL, 'c'},    {"ub-key", required_argument, NULL, 'k'},
        {"zn", required_argument, NULL, 'z'},         {"zn-cert", required_argument, NULL, 'C'},
        {"zn-key", required_argument, NULL, 'K'},     {"zn-client-root", required_argument, NULL, 'R'},
        {"lifetime", required_argument, NULL, 'l'},   {"max-failures", required_argument, NULL, 'm'},
        {"lockout", required_argument, NULL, 'L'},    {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    m2m_bsf_config cfg = {.ub_host = "127.0.0.1", .ub_port = "8080", .lifetime = M2M_BSF_DEFAULT_LIFETIME,
                          .max_failures = M2M_BSF_DEFAULT_MAX_FAILURES, .lockout = M2M_BSF_DEFAULT_LOCKOUT,
                          .log = stderr};
    char ub_host[256], ub_port[6], zn_host[256], zn_port[6];
    m2m_bsf *b;
    m2m_err err = {0};
    sigset_t set;
    int c, sig = 0;

    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'd': cfg.db = optarg; break;
        case 'u':
            if (split_hostport(optarg, "--ub", ub_host, ub_port) != 0)
                return 2;
            cfg.ub_host = ub_host, cfg.ub_port = ub_port;
            break;
        case 'c': cfg.ub_cert = optarg; break;
        case 'k': cfg.ub_key = optarg; break;
        case 'z':
            if (split_hostport(optarg, "--zn", zn_host, zn_port) != 0)
                return 2;
            cfg.zn_host = zn_host, cfg.zn_port = zn_port;
            break;
        case 'C': cfg.zn_cert = optarg; break;
        case 'K': cfg.zn_key = optarg; break;
        case 'R': cfg.zn_client_root = optarg; break;
        case 'l': if (cli_duration("bsf", "--lifetime", optarg, 3650, &cfg.lifetime) != 0) return 2; break;
        case 'L': if (cli_duration("bsf", "--lockout", optarg, 3650, &cfg.lockout) != 0) return 2; break;
        case 'm':
            if (cli_int("bsf serve", "--max-failures", optarg, 1, 1000, &cfg.max_failures) != 0)
                return 2;
            break;
        case 'q': cfg.log = NULL; break;
        case 'h': bsf_usage(stdout); return 0;
        default: bsf_usage(stderr); return 2;
        }
    }
    if (cfg.db == NULL || cfg.zn_host == NULL || optind != argc) {
        fprintf(stderr, "m2mattach bsf serve: --db and --zn (with --zn-cert, --zn-key, --zn-client-root) are "
                        "required\n");
        return 2;
    }
    m2m_log_name("bsf");
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((b = m2m_bsf_start(&cfg, &err)) == NULL) {
        fprintf(stderr, "m2mattach bsf serve: %s\n", err.msg);
        return 1;
    }
    printf("listening ub port %d\nlistening zn port %d\n", m2m_bsf_ub_port(b), m2m_bsf_zn_port(b));
    fflush(stdout);
    sigwait(&set, &sig);
    m2m_bsf_stop(b);
    return 0;
}

int cmd_bsf(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        bsf_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "init") == 0)
        return bsf_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return bsf_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "subscriber") == 0 && argc >= 3) {
        if (strcmp(argv[2], "add") == 0)
            return subscriber_add(argc - 2, argv + 2);
        if (strcmp(argv[2], "list") == 0)
            return subscriber_list_or_remove(argc - 2, argv + 2, 0);
        if (strcmp(argv[2], "remove") == 0)
            return subscriber_list_or_remove(argc - 2, argv + 2, 1);
        if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
            bsf_usage(stdout);
            return 0;
        }
    }
    fprintf(stderr, "m2mattach bsf: unknown action (init, subscriber add|list|remove, serve)\n");
    return 2;
}
