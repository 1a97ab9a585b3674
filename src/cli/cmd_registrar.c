/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach registrar init | serve */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "m2mattach/registrar.h"
#include "registrar/server.h"
#include "secctx/buffer_pages.h"
#include "store/store.h"

static void registrar_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach registrar init --db STORE --cse-id ID --cse-name NAME [--sp-id DOMAIN]\n"
            "                                [--cert PEM --key PEM [--chain PEM]]\n"
            "       m2mattach registrar serve --db STORE [--https HOST:PORT] [--coaps HOST[:PORT]] [--threads N]\n"
            "                                 [--cert PEM --key PEM [--chain PEM]]\n"
            "                                 [--ocsp-response DER | --ocsp-url http://HOST:PORT/] [--ocsp-issuer PEM]\n"
            "                                 [--ticket-key-period DURATION] [--rekey-grace DURATION]\n"
            "                                 [--admin [HOST:]PORT] [--handshake-timeout S] [--idle-timeout S] [--quiet]\n"
            "                                 [--max-connections N] [--max-per-address N] [--preauth-max N]\n"
            "                                 [--preauth-max-bytes SIZE] [--max-resources N] [--max-bytes SIZE]\n"
            "                                 [--max-request-rate N] [--poa URL]... [--allow-app-id PATTERN]...\n"
            "                                 [--registration-lifetime DURATION]\n"
            "                                 [--bsf https://HOST:PORT --bsf-root PEM --naf-cert PEM --naf-key PEM\n"
            "                                  --naf-fqdn NAME [--zn-timeout MS] [--zn-blocking]]\n"
            "                                 [--local-socket PATH --local-ae UID:AE-ID...] [--coaps-max-sessions N]\n\n"
            "STORE  where the Registrar keeps its state: a SQLite file (a path, or sqlite:PATH; the default, for one\n"
            "       machine) or a PostgreSQL database shared by several Registrar nodes: postgresql://USER@HOST/DB\n"
            "       (or postgres://...) or libpq's key=value form ('host=db1 dbname=m2m user=registrar'). Give a\n"
            "       password through ~/.pgpass or PGPASSFILE, not in STORE (ps shows arguments); it is never printed.\n"
            "init   creates the store (a SQLite file: mode 0600; PostgreSQL: the schema, in a database that exists)\n"
            "       with the Registrar's CSE-ID (e.g. /in-cse) and the name of its CSEBase resource, and records the\n"
            "       certificate paths for serve. Refuses to overwrite an existing store. Nodes sharing a PostgreSQL\n"
            "       store are initialised once; a newer build migrates the schema forward when a node starts.\n"
            "       --sp-id is the Service Provider's domain in absolute addresses //SP-ID/CSE-ID/... (default\n"
            "       m2m.localhost); addresses naming another SP-ID answer 4004.\n"
            "serve  serves the oneM2M HTTP binding over TLS (default --https 127.0.0.1:8443, one worker per core):\n"
            "       TLS-PSK always; with a certificate (subjectAltName DNS = the CSE's domain, URI = its CSE-ID) also\n"
            "       client-certificate and identity-token attachment on the same port. --ocsp-response staples a\n"
            "       DER OCSP response (re-read when the file changes); --ocsp-url fetches one from a responder and\n"
            "       refreshes it at half its validity. Enrolments are read live from the store. Logs one line per\n"
            "       attachment to stderr. Stops cleanly on SIGTERM or SIGINT. Refuses to start when another process\n"
            "       already listens on HOST:PORT, or when a certificate file recorded by init cannot be read.\n"
            "       SIGHUP re-reads the certificate, key and chain (and the OCSP response for them): connections\n"
            "       and CoAPS DTLS sessions made afterwards get the new certificate, open ones keep theirs; when the\n"
            "       files cannot be used (a key that does not match, say) the previous certificate stays and the log\n"
            "       says why.\n"
            "       Session resumption (x.y.4): TLS 1.2 and 1.3 tickets sealed with keys kept in the store, rotated\n"
            "       every --ticket-key-period (default 12h) and accepted for one more period. Key generation (x.y.8):\n"
            "       a generated key replaces the previous one when first used, or after --rekey-grace (default 7d).\n"
            "       --admin serves /metrics (Prometheus text) on HOST:PORT (a bare PORT means 127.0.0.1).\n"
            "       Limits: the descriptor limit is raised to its hard limit at start; --max-connections (default:\n"
            "       that limit less a reserve) caps open connections, --max-per-address (default 1024, 0 = none;\n"
            "       raise it for devices behind carrier-grade NAT) those from one address. Connections not yet\n"
            "       bound to a Registree share a pre-authentication budget: --preauth-max (default 1024) at once\n"
            "       and --preauth-max-bytes (default 16M) of buffered request bytes; when it is full the one that\n"
            "       waited longest is dropped. An unbound context may send 4 KiB of headers and 4 KiB of body.\n"
            "       Per Registree: --max-resources (default 10000), --max-bytes of stored attributes (default 64M),\n"
            "       --max-request-rate a second, bursts of twice that (default 100); 0 = no limit; over: 4005.\n"
            "       The CSEBase's pointOfAccess is each --poa URL (default https://HOST:PORT). --allow-app-id\n"
            "       PATTERN (a shell glob, repeatable) restricts the App-IDs an <AE> may register with (others: 4126).\n"
            "       A registration without expirationTime gets --registration-lifetime (default 365d); expired\n"
            "       registrations are removed with everything under them.\n"
            "       Same-equipment AEs: --local-socket PATH also serves the HTTP binding, without TLS, on a Unix\n"
            "       socket (mode 0660; never TCP). A process connecting there speaks as the AE-ID that --local-ae\n"
            "       UID:AE-ID (repeatable; UID a number or a user name) gives its uid, which the kernel reports\n"
            "       (SO_PEERCRED); any other uid gets 4107. Such an AE registers and works like any other, but has no\n"
            "       security context: no key generation, no identity token.\n"
            "       GBA (x.y.5): with --bsf the Registrar is a NAF. A TLS-PSK handshake whose psk_identity is\n"
            "       '3GPP-bootstrapping.<B-TID>' (or the bare B-TID) is keyed with Ks_NAF, which the BSF gives over\n"
            "       Zn (HTTPS, the BSF's certificate chained to --bsf-root, this NAF authenticated by --naf-cert and\n"
            "       --naf-key, whose subjectAltName must name --naf-fqdn) for NAF_Id = --naf-fqdn || the Ua id of the\n"
            "       negotiated suite; the connection is bound to the Registree enrolled for the B-TID's IMPI ('enrol\n"
            "       gba'). Keys are cached per B-TID and suite until the bootstrapping expires; a Zn request waits\n"
            "       at most --zn-timeout (default 2000 ms) and runs on the worker's event loop while that handshake\n"
            "       waits (other devices are served meanwhile); --zn-blocking, a diagnostic for measuring this,\n"
            "       asks Zn inside the TLS callback instead and blocks the worker for the round trip. TLS 1.2 PSK\n"
            "       handshakes carry the hint '3GPP-bootstrapping'.\n"
            "       --coaps HOST[:PORT] also serves the oneM2M CoAP binding (TS-0008) over DTLS 1.2 (default port\n"
            "       5684; 0 = any free port) from the same store, with the same enrolments, binding rules, logs\n"
            "       (binding=coap) and metrics: PSK (PSK-AES128-CCM8, PSK-AES128-GCM-SHA256, ECDHE-PSK), and with a\n"
            "       certificate ECDHE-ECDSA-AES128-CCM8/-GCM-SHA256 for client-certificate and token (tkns query)\n"
            "       attachment; session tickets and key generation as over TLS. Every new peer first proves its\n"
            "       address with a DTLS cookie; an unknown peer gets nothing larger than what it sent. DTLS\n"
            "       sessions hold no descriptor: --coaps-max-sessions (default 65536) bounds them; --max-per-address,\n"
            "       --preauth-max, --handshake-timeout and --idle-timeout apply to them as to TLS connections.\n"
            "       As many CoAPS workers as --threads, each with its own UDP sockets on the port (SO_REUSEPORT;\n"
            "       one per 512 sessions of its share of --coaps-max-sessions, at most 128).\n"
            "       GBA too (with --bsf): Zn runs on the worker's loop while the device's DTLS timer resends.\n"
            "       An attached session idle for 2 s gives OpenSSL's read and handshake buffers' memory back to the\n"
            "       kernel (about 16 KiB stay per idle session; /metrics: m2m_coap_idle_buffers_released_total).\n"
            "       Bodies in JSON or CBOR (Content-Format 50, 10001, 60, 10010; the answer in Accept's); a\n"
            "       write's answer goes on the request's ACK once durable, and a duplicate of an answered\n"
            "       write is answered again, not run twice.\n"
            "       Several nodes on one PostgreSQL store share enrolments, registrations, resources, token use and\n"
            "       ticket keys (any node resumes any node's ticket); a revoke or re-key on any node, or by 'enrol',\n"
            "       closes that Registree's connections on every node at once (LISTEN/NOTIFY). A node that loses its\n"
            "       database refuses new attachments and answers 5000 until it is back; it reconnects by itself.\n"
            "       DURATION: seconds, or a number with s, m, h or d. SIZE: bytes, or a number with k, M or G.\n");
}

static int registrar_init(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"cse-id", required_argument, NULL, 'i'},
                                         {"cse-name", required_argument, NULL, 'n'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"chain", required_argument, NULL, 'C'},
                                         {"sp-id", required_argument, NULL, 'S'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *id = NULL, *name = NULL, *cert = NULL, *key = NULL, *chain = NULL, *sp = NULL;
    m2m_err err = {0};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'i': id = optarg; break;
        case 'n': name = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'C': chain = optarg; break;
        case 'S': sp = optarg; break;
        case 'h': registrar_usage(stdout); return 0;
        default: registrar_usage(stderr); return 2;
        }
    }
    if (db == NULL || id == NULL || name == NULL || optind != argc) {
        fprintf(stderr, "m2mattach registrar init: --db, --cse-id and --cse-name are required\n");
        return 2;
    }
    if (m2m_registrar_init_store(db, id, name, sp, cert, key, chain, &err) != 0) {
        fprintf(stderr, "m2mattach registrar init: %s\n", err.msg);
        return 1;
    }
    {
        char safe[256];
        m2m_store_location_safe(db, safe, sizeof safe);
        printf("created store %s for Registrar %s (CSEBase %s)\n", safe, id, name);
    }
    return 0;
}

/* long options without a letter of their own */
enum { OPT_COAPS = 2000, OPT_COAPS_MAX_SESSIONS };

static int registrar_serve(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"https", required_argument, NULL, 's'},
                                         {"coaps", required_argument, NULL, OPT_COAPS},
                                         {"coaps-max-sessions", required_argument, NULL, OPT_COAPS_MAX_SESSIONS},
                                         {"threads", required_argument, NULL, 't'},
                                         {"handshake-timeout", required_argument, NULL, 'H'},
                                         {"idle-timeout", required_argument, NULL, 'I'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"chain", required_argument, NULL, 'C'},
                                         {"ocsp-response", required_argument, NULL, 'O'},
                                         {"ocsp-url", required_argument, NULL, 'U'},
                                         {"ocsp-issuer", required_argument, NULL, 'J'},
                                         {"ticket-key-period", required_argument, NULL, 'P'},
                                         {"rekey-grace", required_argument, NULL, 'G'},
                                         {"admin", required_argument, NULL, 'A'},
                                         {"max-connections", required_argument, NULL, 'M'},
                                         {"max-per-address", required_argument, NULL, 'N'},
                                         {"preauth-max", required_argument, NULL, 'B'},
                                         {"preauth-max-bytes", required_argument, NULL, 'Y'},
                                         {"max-resources", required_argument, NULL, 'R'},
                                         {"max-bytes", required_argument, NULL, 'Z'},
                                         {"max-request-rate", required_argument, NULL, 'Q'},
                                         {"poa", required_argument, NULL, 'W'},
                                         {"allow-app-id", required_argument, NULL, 'X'},
                                         {"registration-lifetime", required_argument, NULL, 'L'},
                                         {"bsf", required_argument, NULL, 'b'},
                                         {"bsf-root", required_argument, NULL, 'r'},
                                         {"naf-cert", required_argument, NULL, 'x'},
                                         {"naf-key", required_argument, NULL, 'y'},
                                         {"naf-fqdn", required_argument, NULL, 'f'},
                                         {"zn-timeout", required_argument, NULL, 'z'},
                                         {"zn-blocking", no_argument, NULL, 1001},
                                         {"local-socket", required_argument, NULL, 1002},
                                         {"local-ae", required_argument, NULL, 1003},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    m2m_registrar_config *cfg = m2m_registrar_config_new();
    m2m_registrar *reg = NULL;
    m2m_err err = {0};
    const char *cert = NULL, *key = NULL, *chain = NULL, *ocsp_file = NULL, *ocsp_url = NULL, *ocsp_issuer = NULL;
    const char *bsf = NULL, *bsf_root = NULL, *naf_cert = NULL, *naf_key = NULL, *naf_fqdn = NULL;
    int zn_timeout = 0;
    sigset_t set;
    int c, n, sig = 0, rc = 2, max_conn = 0, max_addr = -1, preauth = 0;
    long long preauth_bytes = 0, max_bytes = 64LL * 1024 * 1024;
    int max_res = 10000, max_rate = 100;

    if (cfg == NULL)
        return 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': bad = m2m_registrar_config_set_db(cfg, optarg, &err); break;
        case 's': bad = m2m_registrar_config_set_https(cfg, optarg, &err); break;
        case OPT_COAPS: bad = m2m_registrar_config_set_coaps(cfg, optarg, &err); break;
        case OPT_COAPS_MAX_SESSIONS:
            bad = cli_int("registrar", "--coaps-max-sessions", optarg, 1, 1 << 24, &n) ||
                  m2m_registrar_config_set_coaps_max_sessions(cfg, n, &err);
            break;
        case 't': bad = cli_int("registrar", "--threads", optarg, 0, 1000000, &n) || m2m_registrar_config_set_threads(cfg, n, &err); break;
        case 'H':
            bad = cli_int("registrar", "--handshake-timeout", optarg, 0, 1000000, &n) ||
                  m2m_registrar_config_set_handshake_timeout(cfg, n, &err);
            break;
        case 'I':
            bad = cli_int("registrar", "--idle-timeout", optarg, 0, 1000000, &n) || m2m_registrar_config_set_idle_timeout(cfg, n, &err);
            break;
        case 'q': m2m_registrar_config_set_log(cfg, NULL); break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'C': chain = optarg; break;
        case 'O': ocsp_file = optarg; break;
        case 'U': ocsp_url = optarg; break;
        case 'J': ocsp_issuer = optarg; break;
        case 'P': {
            int64_t s;
            bad = cli_duration("registrar", "--ticket-key-period", optarg, 36500, &s) ||
                  m2m_registrar_config_set_ticket_period(cfg, s, &err);
            break;
        }
        case 'G': {
            int64_t s;
            bad = cli_duration("registrar", "--rekey-grace", optarg, 36500, &s) || m2m_registrar_config_set_rekey_grace(cfg, s, &err);
            break;
        }
        case 'A': bad = m2m_registrar_config_set_admin(cfg, optarg, &err); break;
        case 'M': bad = cli_int("registrar", "--max-connections", optarg, 0, 1000000, &max_conn); break;
        case 'N': bad = cli_int("registrar", "--max-per-address", optarg, 0, 1000000, &max_addr); break;
        case 'B': bad = cli_int("registrar", "--preauth-max", optarg, 0, 1000000, &preauth); break;
        case 'Y': bad = cli_size("registrar", "--preauth-max-bytes", optarg, &preauth_bytes); break;
        case 'R': bad = cli_int("registrar", "--max-resources", optarg, 0, 1000000, &max_res); break;
        case 'Z': bad = cli_size("registrar", "--max-bytes", optarg, &max_bytes); break;
        case 'Q': bad = cli_int("registrar", "--max-request-rate", optarg, 0, 1000000, &max_rate); break;
        case 'W': bad = m2m_registrar_config_add_poa(cfg, optarg, &err); break;
        case 'X': bad = m2m_registrar_config_allow_app_id(cfg, optarg, &err); break;
        case 1002: bad = m2m_registrar_config_set_local_socket(cfg, optarg, &err); break;
        case 1003: bad = m2m_registrar_config_add_local_ae(cfg, optarg, &err); break;
        case 'L': {
            int64_t s;
            bad = cli_duration("registrar", "--registration-lifetime", optarg, 36500, &s) ||
                  m2m_registrar_config_set_registration_lifetime(cfg, s, &err);
            break;
        }
        case 'b': bsf = optarg; break;
        case 'r': bsf_root = optarg; break;
        case 'x': naf_cert = optarg; break;
        case 'y': naf_key = optarg; break;
        case 'f': naf_fqdn = optarg; break;
        case 'z': bad = cli_int("registrar", "--zn-timeout", optarg, 0, 1000000, &zn_timeout); break;
        case 1001: m2m_registrar_config_set_zn_blocking(cfg, 1); break;
        case 'h': registrar_usage(stdout); rc = 0; goto done;
        default: registrar_usage(stderr); goto done;
        }
        if (bad) {
            if (err.msg[0])
                fprintf(stderr, "m2mattach registrar serve: %s\n", err.msg);
            goto done;
        }
    }
    if (optind != argc) {
        registrar_usage(stderr);
        goto done;
    }
    if (m2m_registrar_config_set_limits(cfg, max_conn, max_addr, preauth, preauth_bytes, &err) != 0 ||
        m2m_registrar_config_set_quota(cfg, max_res, max_bytes, max_rate, &err) != 0 ||
        (cert != NULL && m2m_registrar_config_set_cert(cfg, cert, key, chain, &err) != 0) ||
        ((ocsp_file != NULL || ocsp_url != NULL || ocsp_issuer != NULL) &&
         m2m_registrar_config_set_ocsp(cfg, ocsp_file, ocsp_url, ocsp_issuer, &err) != 0) ||
        ((bsf != NULL || bsf_root != NULL || naf_cert != NULL || naf_key != NULL || naf_fqdn != NULL) &&
         m2m_registrar_config_set_gba(cfg, bsf, bsf_root, naf_cert, naf_key, naf_fqdn, zn_timeout, &err) != 0)) {
        fprintf(stderr, "m2mattach registrar serve: %s\n", err.msg);
        goto done;
    }
    /* With CoAPS, OpenSSL's big buffers live in slots of their own, so that idle DTLS sessions give theirs back
     * (secctx/buffer_pages.h): two per session, and some for TLS connections (beyond, they are malloc'd as usual).
     * Nothing has used OpenSSL yet in this process; if something had, it all stays on malloc. */
    if (cfg->coaps_host[0] != '\0' && m2m_pages_install_openssl((size_t)cfg->coaps_max_sessions * 2 + 4096) != 0)
        fprintf(stderr, "m2mattach registrar serve: note: idle DTLS sessions keep their OpenSSL buffers (the "
                        "page arena could not be set up)\n");
    /* Block the stop and reload signals in every thread; this one waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    reg = m2m_registrar_start(cfg, &err);
    if (reg == NULL) {
        fprintf(stderr, "m2mattach registrar serve: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    printf("listening https port %d\n", m2m_registrar_https_port(reg));
    if (m2m_registrar_coaps_port(reg) > 0)
        printf("listening coaps port %d\n", m2m_registrar_coaps_port(reg));
    if (m2m_registrar_admin_port(reg) > 0)
        printf("listening admin port %d\n", m2m_registrar_admin_port(reg));
    fflush(stdout);
    /* SIGHUP: the certificate was renewed (logrotate-style tools, certbot hooks, systemctl reload). The Registrar
     * logs what it now presents, or why it kept the previous certificate; either way serving goes on. */
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        m2m_registrar_reload(reg, NULL);
    m2m_registrar_stop(reg);
    rc = 0;
done:
    m2m_registrar_config_free(cfg);
    return rc;
}

int cmd_registrar(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        registrar_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "init") == 0)
        return registrar_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return registrar_serve(argc - 1, argv + 1);
    fprintf(stderr, "m2mattach registrar: unknown action '%s' (init, serve)\n", argv[1]);
    return 2;
}
