/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree's commands:
 *   m2mattach attach --details FILE [--rekey] [--no-resume] [--quiet]
 *   m2mattach attach --briefing FILE --out NEWFILE [--cert F --cert-key F] [--quiet]
 *   m2mattach request --details FILE -X METHOD PATH [--ty N] [--data JSON | --data-file F] [--from ID] [--raw] */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "binding/coap_client.h"
#include "binding/http_client.h"
#include "cli/cli.h"
#include "m2mattach/registree.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "registree/details.h"
#include "util/file.h"

/* EX_TEMPFAIL of sysexits.h: the state lock is held by another attachment, and trying again later will work. */
#define EXIT_BUSY 75

static void attach_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach attach --details FILE [--rekey] [--no-resume] [--quiet]\n"
            "       m2mattach attach --briefing FILE --out NEWFILE [--cert CERT --cert-key KEY] [--quiet]\n\n"
            "Attaches this Registree to its Registrar as the attachment-details FILE describes\n"
            "(docs/attachment-details.md): the Step 4 handshake of its mechanism (psk: TLS-PSK; cert: the\n"
            "Registrar's certificate checked against root-cert and cse-id, the Registree's certificate presented;\n"
            "token: the same check of the Registrar) and, unless the state file says the Registree is registered\n"
            "already, the registration CREATE (Step 5; token: with the identity token), recorded in the state file.\n"
            "The newest session the Registrar issued is kept in the state file and resumed first (x.y.4); the\n"
            "output says whether it was, and the handshake time saved. A token is single-use: a registered token\n"
            "Registree gets back in only by resuming its TLS 1.3 session (or with a generated key).\n"
            "gba (x.y.5): without a valid B-TID in the state file, the Registree first bootstraps with the BSF\n"
            "over Ub (HTTP Digest AKA; its USIM's SQN is kept in the state file) and prints the B-TID and its\n"
            "lifetime, never a key; then TLS-PSK with identity 3GPP-bootstrapping.<B-TID> and Ks_NAF derived for\n"
            "the Registrar's FQDN and the suite negotiated. A B-TID the Registrar refuses is bootstrapped again,\n"
            "once.\n"
            "Once --rekey has generated a key, attach uses TLS-PSK with it (x.y.3) and falls back to the details\n"
            "file's credentials, saying so, if the Registrar refuses it.\n"
            "poa = https://HOST:PORT speaks HTTP over TLS (TS-0009); poa = coaps://HOST:PORT speaks CoAP over\n"
            "DTLS 1.2 (TS-0008): the same mechanisms with DTLS-PSK (PSK-AES128-CCM8 first) or ECDHE-ECDSA, the\n"
            "token in the tkns query parameter, DTLS 1.2 session resumption, and the [coap] timers for lossy\n"
            "links. Over DTLS a token Registree cannot resume (its ticket comes before the token binds it).\n\n"
            "With --briefing (Step 2 from the network), FILE is the details file of the Briefing Registrar the\n"
            "device was made for: attaches there (registering only if it asks for that), reads this Registree's\n"
            "<briefing>, writes the attachment-details file NEWFILE for the target Registrar it names (0600; the\n"
            "key, token and root certificate in 0600 files beside it: NEWFILE.key, .token, .root.crt) and then\n"
            "attaches to the target with NEWFILE, whose certificate and CSE-ID checks test what the briefing said.\n"
            "A one-time credential is handed out once: run again, the files written before are used. For mechanism\n"
            "cert at the target the device certificate is --cert/--cert-key (default: those of FILE).\n\n"
            "  -d, --details FILE   attachment-details INI file (required, unless --briefing)\n"
            "      --briefing FILE  the Briefing Registrar's details file; needs --out NEWFILE\n"
            "      --rekey          then generate a new Kca/Kcc (x.y.8) over a full, forward-secret handshake,\n"
            "                       store it (the generated-key file, 0600) and re-attach with it from now on;\n"
            "                       prints its ID, never the key\n"
            "      --no-resume      do not offer the saved session: a full handshake\n"
            "  -q, --quiet          print nothing on success\n"
            "  -h, --help           this text\n\n"
            "Exit status: 0 attached, 1 failed or refused, 2 usage error, 75 busy: another attach or request\n"
            "with the same state file is running (nothing was changed; try again).\n");
}

static void request_usage(FILE *out)
{
    fprintf(out,
            "usage: m2mattach request --details FILE -X METHOD PATH [--ty N] [--data JSON | --data-file F]\n"
            "                         [--from ID] [--raw]\n\n"
            "Attaches as 'm2mattach attach' does (resuming the saved session; with a generated key once there is\n"
            "one), then sends one oneM2M request over the attached session and prints 'RSC <code> (HTTP\n"
            "<status>)' (over coaps://: '(CoAP <code>)'), the Content-Location (CoAP: the Location-Path) if any,\n"
            "and the response body.\n\n"
            "  -d, --details FILE    attachment-details INI file (required)\n"
            "  -X, --method METHOD   POST, GET, PUT, DELETE (or CREATE, RETRIEVE, UPDATE, DELETE)\n"
            "  PATH                  path of the target, e.g. /~/in-cse (SP-relative) or /in-cse/cnt1; over CoAP\n"
            "                        each segment becomes a Uri-Path option (\"~\" and \"_\" included)\n"
            "  -t, --ty N            resource type of a CREATE (e.g. 3 container, 4 contentInstance)\n"
            "      --data JSON       request body\n"
            "      --data-file F     request body from file F ('-' for standard input)\n"
            "  -f, --from ID         originator; default: the ID the session is bound to; '' omits it\n"
            "      --raw             print the body as received instead of re-indented JSON\n"
            "  -h, --help            this text\n\n"
            "Exit status: 0 when the RSC is 2xxx, 1 otherwise or on failure, 2 usage error, 75 busy: another\n"
            "attach or request with the same state file is running (nothing was sent; try again).\n");
}

/* "psk", "psk with generated key ID, session resumed", "cert, full handshake: the saved session was not resumed" */
static void how(const m2m_attach_info *info, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s", info->mechanism);
    if (info->generated_key && n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, " with generated key %s", info->key_id);
    if (n >= 0 && (size_t)n < cap) {
        if (info->resumed)
            snprintf(out + n, cap - (size_t)n, ", session resumed");
        else if (info->session_offered)
            snprintf(out + n, cap - (size_t)n, ", full handshake: the saved session was not resumed");
    }
}

/* "handshake 0.4 ms; the last full one took 1.2 ms: 0.8 ms saved" */
static void timing(const m2m_attach_info *info, char *out, size_t cap)
{
    if (info->resumed && info->full_handshake_ms > info->handshake_ms)
        snprintf(out, cap, "handshake %.1f ms; the last full one took %.1f ms: %.1f ms saved", info->handshake_ms,
                 info->full_handshake_ms, info->full_handshake_ms - info->handshake_ms);
    else if (info->resumed && info->full_handshake_ms > 0)
        snprintf(out, cap, "handshake %.1f ms; the last full one took %.1f ms", info->handshake_ms,
                 info->full_handshake_ms);
    else
        snprintf(out, cap, "handshake %.1f ms", info->handshake_ms);
}

static void print_attached(const m2m_attach_info *i, const m2m_registree_config *cfg, int rekey);

/* A failed attachment of r on stderr (what the message cannot say: context, the fallback notice); the exit status. */
static int attach_failed(const m2m_registree *r, const m2m_attach_info *info, const char *context, const char *hint)
{
    /* a fallback that happened before the failure (a refused generated key) is worth knowing too */
    if (info != NULL && info->notice[0] != '\0')
        fprintf(stderr, "m2mattach attach: note: %s\n", info->notice);
    fprintf(stderr, "m2mattach attach: %s%s%s\n", context, m2m_registree_error(r), hint);
    return m2m_registree_error_code(r) == M2M_E_BUSY ? EXIT_BUSY : 1;
}

/* --briefing: Step 2 from the Briefing Registrar, then the attachment to the target with what it said. */
static int attach_briefing(const char *details, const char *out, const char *cert, const char *cert_key, int quiet)
{
    m2m_registree_config *bcfg = NULL, *tcfg = NULL;
    m2m_registree *b = NULL, *t = NULL;
    m2m_brief_info bi;
    m2m_attach_info info;
    m2m_err err = {0};
    int rc = 1;

    bcfg = m2m_registree_config_load(details, &err);
    if (bcfg == NULL || (b = m2m_registree_new(bcfg, &err)) == NULL) {
        fprintf(stderr, "m2mattach attach: %s\n", err.msg);
        goto done;
    }
    if (m2m_registree_brief(b, out, cert, cert_key, &bi) != 0) {
        rc = attach_failed(b, NULL, "", "");
        goto done;
    }
    m2m_registree_free(b); /* done with the Briefing Registrar: close_notify before the next attachment */
    b = NULL;
    if (!quiet)
        printf("briefed by %s as %s%s: attach to %s at %s as %s (%s%s%s); details written to %s\n", bcfg->cse_id,
               bi.attach.assigned_id, bi.attach.created ? ", registered there first" : "", bi.target_cse_id,
               bi.target_poa, bi.target_id, bi.mechanism, bi.credential_received ? ", one-time credential received"
               : "", bi.root_cert ? ", with the Registrar root certificate" : "", out);
    tcfg = m2m_registree_config_load(out, &err);
    if (tcfg == NULL || (t = m2m_registree_new(tcfg, &err)) == NULL) {
        fprintf(stderr, "m2mattach attach: the details from the briefing of %s: %s\n", bcfg->cse_id, err.msg);
        goto done;
    }
    if (m2m_registree_attach(t, &info) != 0) {
        char context[300];
        snprintf(context, sizeof context, "target %s named by the briefing of %s: ", bi.target_cse_id, bcfg->cse_id);
        /* the target's certificate checks use the briefing's root and CSE-ID: a mismatch is the briefing's */
        rc = attach_failed(t, &info, context, m2m_registree_error_code(t) == M2M_E_TLS ||
                           m2m_registree_error_code(t) == M2M_E_AUTH
                               ? " (the root certificate and CSE-ID checked came from the briefing)" : "");
        goto done;
    }
    if (info.notice[0] != '\0')
        fprintf(stderr, "m2mattach attach: note: %s\n", info.notice);
    if (!quiet)
        print_attached(&info, tcfg, 0);
    rc = 0;
done:
    m2m_registree_free(t);
    m2m_registree_free(b);
    m2m_registree_config_free(tcfg);
    m2m_registree_config_free(bcfg);
    return rc;
}

int cmd_attach(int argc, char **argv)
{
    enum { OPT_REKEY = 256, OPT_NO_RESUME, OPT_BRIEFING, OPT_OUT, OPT_CERT, OPT_CERT_KEY };
    static const struct option opts[] = {{"details", required_argument, NULL, 'd'},
                                         {"briefing", required_argument, NULL, OPT_BRIEFING},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"cert", required_argument, NULL, OPT_CERT},
                                         {"cert-key", required_argument, NULL, OPT_CERT_KEY},
                                         {"rekey", no_argument, NULL, OPT_REKEY},
                                         {"no-resume", no_argument, NULL, OPT_NO_RESUME},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *details = NULL, *briefing = NULL, *out = NULL, *cert = NULL, *cert_key = NULL;
    int quiet = 0, rekey = 0, no_resume = 0, c, rc = 1;
    m2m_registree_config *cfg = NULL;
    m2m_registree *r = NULL;
    m2m_attach_info info;
    m2m_err err = {0};

    optind = 0; /* glibc: start afresh, the demo may run several commands in one process */
    while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': details = optarg; break;
        case 'q': quiet = 1; break;
        case OPT_REKEY: rekey = 1; break;
        case OPT_NO_RESUME: no_resume = 1; break;
        case OPT_BRIEFING: briefing = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_CERT_KEY: cert_key = optarg; break;
        case 'h': attach_usage(stdout); return 0;
        default: attach_usage(stderr); return 2;
        }
    }
    if (briefing != NULL) {
        if (details != NULL || out == NULL || rekey || no_resume || (cert == NULL) != (cert_key == NULL) ||
            optind != argc) {
            fprintf(stderr, "m2mattach attach: --briefing FILE needs --out NEWFILE (and --cert with --cert-key), "
                            "without --details, --rekey or --no-resume\n");
            return 2;
        }
        return attach_briefing(briefing, out, cert, cert_key, quiet);
    }
    if (details == NULL || out != NULL || cert != NULL || cert_key != NULL || optind != argc) {
        attach_usage(stderr);
        return 2;
    }
    cfg = m2m_registree_config_load(details, &err);
    if (cfg == NULL || (r = m2m_registree_new(cfg, &err)) == NULL) {
        fprintf(stderr, "m2mattach attach: %s\n", err.msg);
        goto done;
    }
    if (no_resume)
        m2m_registree_set_resumption(r, 0);
    if ((rekey ? m2m_registree_rekey(r, &info) : m2m_registree_attach(r, &info)) != 0) {
        rc = attach_failed(r, &info, "", "");
        goto done;
    }
    if (info.notice[0] != '\0')
        fprintf(stderr, "m2mattach attach: note: %s\n", info.notice);
    if (!quiet)
        print_attached(&info, cfg, rekey);
    rc = 0;
done:
    m2m_registree_free(r); /* close_notify */
    m2m_registree_config_free(cfg);
    return rc;
}

static void print_attached(const m2m_attach_info *i, const m2m_registree_config *cfg, int rekey)
{
    const m2m_attach_info info = *i;
    {
        /* What was proven about the Registrar: with a PSK, knowing the key; with PKI, its certificate (in a resumed
         * session: at the full handshake that created it). */
        char proof[400] = "", mode[200], times[160];
        if (info.gba_btid[0] != '\0')
            printf("%s B-TID %s, valid until %s\n", info.gba_bootstrapped ? "bootstrapped with the BSF (Ub):"
                                                                           : "GBA: saved bootstrapping,",
                   info.gba_btid, info.gba_lifetime);
        if (strcmp(info.mechanism, "psk") != 0 && strcmp(info.mechanism, "gba") != 0)
            snprintf(proof, sizeof proof, ", Registrar %s verified against root%s%s", m2m_registree_config_cse_id(cfg),
                     info.resumed ? " when the session was made" : "", info.ocsp_checked ? ", OCSP good" : "");
        how(&info, mode, sizeof mode);
        timing(&info, times, sizeof times);
        if (info.created)
            printf("attached: initial attachment (%s), registered as %s (%s %s%s, %s, registration %.1f ms)\n", mode,
                   info.assigned_id, info.tls_version, info.cipher, proof, times, info.registration_ms);
        else
            printf("attached: re-attachment (%s) as %s, no registration needed (%s %s%s, %s)\n", mode,
                   info.assigned_id, info.tls_version, info.cipher, proof, times);
        if (rekey)
            printf("key generated: %s %s (x.y.8 over %s %s), stored in %s; later attachments use %s-PSK with it "
                   "(x.y.3)\n", info.assigned_id[0] == '/' ? "Kcc_ID" : "Kca_ID", info.generated_key_id,
                   info.tls_version, info.cipher, m2m_registree_config_generated_key_path(cfg),
                   cfg->binding == M2M_BINDING_COAP ? "DTLS" : "TLS");
    }
}

static const char *http_method(const char *m)
{
    static const char *const MAP[][2] = {{"POST", "POST"},     {"GET", "GET"},       {"PUT", "PUT"},
                                         {"DELETE", "DELETE"}, {"CREATE", "POST"},   {"RETRIEVE", "GET"},
                                         {"UPDATE", "PUT"}};
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcasecmp(m, MAP[i][0]) == 0)
            return MAP[i][1];
    return NULL;
}

/* Reads a request body; the HTTP cap applies here too, so the failure is local and early. Any kind of file: a body
 * may come from a pipe (<(...)) as well as from standard input ("-"). */
static char *read_body_file(const char *path)
{
    m2m_file_buf f;
    m2m_err e = {0};
    int rc = strcmp(path, "-") == 0
                 ? m2m_fd_read(STDIN_FILENO, "standard input", M2M_HTTP_BODY_MAX, M2M_FILE_EMPTY_OK, &f, &e)
                 : m2m_file_read(path, M2M_HTTP_BODY_MAX, M2M_FILE_EMPTY_OK | M2M_FILE_ANY_KIND, &f, &e);
    if (rc != 0) {
        fprintf(stderr, "m2mattach request: %s\n", e.msg);
        return NULL;
    }
    return (char *)f.data;
}

/* coap: the reply came over the CoAP binding, and its status is a CoAP code (2.05), not an HTTP one */
static void print_reply(const m2m_reply *reply, int raw, int coap)
{
    const char *name = m2m_rsc_name(reply->rsc);
    cJSON *doc = NULL;
    char *pretty = NULL, status[32], code[8];

    if (coap) {
        m2m_coap_code_text(reply->http_status, code);
        snprintf(status, sizeof status, "CoAP %s", code);
    } else {
        snprintf(status, sizeof status, "HTTP %d", reply->http_status);
    }
    if (reply->rsc == 0)
        printf("RSC none (%s)\n", status);
    else if (strcmp(name, "UNKNOWN") == 0)
        printf("RSC %d (%s)\n", reply->rsc, status);
    else
        printf("RSC %d %s (%s)\n", reply->rsc, name, status);
    if (reply->location[0] != '\0')
        printf("Content-Location: %s\n", reply->location);
    if (reply->body_len == 0)
        return;
    /* a body that is not strict JSON (a duplicate member, a NUL in a string) is shown as it came, never as the
     * cleaned-up tree cJSON would make of it */
    if (!raw && (doc = m2m_json_parse_strict(reply->body, reply->body_len, NULL)) != NULL)
        pretty = cJSON_Print(doc);
    if (pretty != NULL)
        printf("%s\n", pretty);
    else
        printf("%s%s", reply->body, reply->body[reply->body_len - 1] == '\n' ? "" : "\n");
    free(pretty);
    cJSON_Delete(doc);
}

int cmd_request(int argc, char **argv)
{
    enum { OPT_DATA = 256, OPT_DATA_FILE, OPT_RAW };
    static const struct option opts[] = {{"details", required_argument, NULL, 'd'},
                                         {"method", required_argument, NULL, 'X'},
                                         {"ty", required_argument, NULL, 't'},
                                         {"data", required_argument, NULL, OPT_DATA},
                                         {"data-file", required_argument, NULL, OPT_DATA_FILE},
                                         {"from", required_argument, NULL, 'f'},
                                         {"raw", no_argument, NULL, OPT_RAW},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *details = NULL, *method = NULL, *data = NULL, *data_file = NULL;
    char *file_body = NULL, *end;
    int c, rc = 1, raw = 0;
    long ty = 0;
    m2m_request req = {0};
    m2m_reply reply = {0};
    m2m_registree_config *cfg = NULL;
    m2m_registree *r = NULL;
    m2m_err err = {0};

    optind = 0;
    while ((c = getopt_long(argc, argv, "d:X:t:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': details = optarg; break;
        case 'X':
            if ((method = http_method(optarg)) == NULL) {
                fprintf(stderr, "m2mattach request: unknown method '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            errno = 0;
            ty = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || ty < 1 || ty > 65535) {
                fprintf(stderr, "m2mattach request: --ty '%s' is not a resource type number\n", optarg);
                return 2;
            }
            break;
        case OPT_DATA: data = optarg; break;
        case OPT_DATA_FILE: data_file = optarg; break;
        case 'f': req.from = optarg; break;
        case OPT_RAW: raw = 1; break;
        case 'h': request_usage(stdout); return 0;
        default: request_usage(stderr); return 2;
        }
    }
    if (details == NULL || method == NULL || optind + 1 != argc) {
        request_usage(stderr);
        return 2;
    }
    if (data != NULL && data_file != NULL) {
        fprintf(stderr, "m2mattach request: --data and --data-file exclude each other\n");
        return 2;
    }
    if (ty != 0 && strcmp(method, "POST") != 0) {
        fprintf(stderr, "m2mattach request: --ty belongs to a CREATE (-X POST)\n");
        return 2;
    }
    if (argv[optind][0] != '/') {
        fprintf(stderr, "m2mattach request: PATH must start with '/' (e.g. /~/in-cse)\n");
        return 2;
    }
    if (data_file != NULL && (data = file_body = read_body_file(data_file)) == NULL)
        goto done;
    req.method = method;
    req.path = argv[optind];
    req.ty = (int)ty;
    req.body = data;

    cfg = m2m_registree_config_load(details, &err);
    if (cfg == NULL || (r = m2m_registree_new(cfg, &err)) == NULL) {
        fprintf(stderr, "m2mattach request: %s\n", err.msg);
        goto done;
    }
    if (m2m_registree_send(r, &req, &reply) != 0) {
        if (m2m_registree_notice(r)[0] != '\0')
            fprintf(stderr, "m2mattach request: note: %s\n", m2m_registree_notice(r));
        fprintf(stderr, "m2mattach request: %s\n", m2m_registree_error(r));
        if (m2m_registree_error_code(r) == M2M_E_BUSY)
            rc = EXIT_BUSY;
        goto done;
    }
    if (m2m_registree_notice(r)[0] != '\0')
        fprintf(stderr, "m2mattach request: note: %s\n", m2m_registree_notice(r));
    print_reply(&reply, raw, cfg->binding == M2M_BINDING_COAP);
    rc = reply.rsc >= 2000 && reply.rsc < 3000 ? 0 : 1;
done:
    m2m_reply_free(&reply);
    m2m_registree_free(r);
    m2m_registree_config_free(cfg);
    free(file_body);
    return rc;
}
