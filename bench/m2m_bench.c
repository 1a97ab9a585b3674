/* SPDX-License-Identifier: Apache-2.0 */
/* m2m-bench: the attachment benchmark's client and ceiling server. bench/run.sh drives it; bench/README.md
 * explains the numbers. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: m2m-bench MODE [OPTIONS]\n\n"
            "modes:\n"
            "  handshakes         TLS handshake + close_notify per connection, for --seconds (either server)\n"
            "  reattach           handshake + GET /~CSE/ID (200 / 2000) per connection, for --seconds\n"
            "  attach             handshake + CREATE <AE> (201 / 2001) per connection, each ID of --ids-file once,\n"
            "                     until the IDs run out or --seconds pass (token: with Authorization: Bearer)\n"
            "  resume             resumed handshake + GET per connection: each client thread attaches once in full\n"
            "                     (handshake + one request; a token Registree registers there), keeps the session\n"
            "                     and offers it on every later connection (TLS 1.2 ticket / TLS 1.3 resumption)\n"
            "  resume-handshakes  the same, handshake + close_notify only (for the ceiling)\n"
            "  stream-retrieve    one attached keep-alive connection per client thread (handshake + GET once, not\n"
            "                     measured), then GET /~CSE/ID on it, each after the previous response\n"
            "  stream-create      the same, each thread first making its own <container> under its <AE> (not\n"
            "                     measured), then CREATE <contentInstance> in it (201 / 2001: durable), one by one\n"
            "  idle               opens --count attached connections (handshake + GET each), prints\n"
            "                     'READY opened=N ...', holds them for --seconds or until SIGTERM\n"
            "  ceiling-server     raw OpenSSL TLS server (handshake, wait for close_notify, close); prints\n"
            "                     'listening port N'; stops on SIGTERM\n"
            "  dtls mem|attach|ceiling ...  DTLS-PSK against the CoAPS listener and its raw-OpenSSL ceiling\n"
            "                     (bench/dtls_bench.c; `m2m-bench dtls` prints its options)\n\n"
            "options:\n"
            "  --host ADDR        numeric address (default 127.0.0.1)\n"
            "  --source ADDR      connect from this local IPv4 address (e.g. 127.0.0.11; default: the kernel's)\n"
            "  --port N           server port (ceiling-server: 0 picks one)\n"
            "  --mech M           psk (default), cert or token: how Registrees authenticate and how --ids-file\n"
            "                     lines read: psk 'ID KEYHEX [KEYID]', cert 'ID CERTFILE KEYFILE', token 'ID TOKEN'\n"
            "  --id ID --key HEX  one PSK Registree (psk_identity = its Kca_ID, or Kcc_ID for '/...')\n"
            "  --ids-file FILE    many, one per line\n"
            "  --tls 1.2|1.3      protocol version (default 1.2)\n"
            "  --cipher NAME      TLS 1.2 cipher (default PSK-AES128-CBC-SHA256, or ECDHE-ECDSA-AES128-GCM-SHA256\n"
            "                     for cert and token) or TLS 1.3 suite (default TLS_AES_128_GCM_SHA256)\n"
            "  --seconds S        measuring time (default 5); idle: how long to hold (default 3600)\n"
            "  --clients N        client threads (default 4)\n"
            "  --count N          idle: connections to open; attach: use at most N IDs\n"
            "  --server-pid PID   measure this process's CPU time (and RSS for idle) around the run\n"
            "  --cse CSE-ID       Registrar's CSE-ID for request targets (default /in-cse)\n"
            "  --label TEXT       label for the RESULT line\n"
            "  --no-linger0       close connections gracefully (default: close_notify, then RST)\n"
            "  --quickack         diagnostic: set TCP_QUICKACK before reading each response, which hides\n"
            "                     a server's Nagle/delayed-ACK stall (not what a device does)\n"
            "ceiling-server options:\n"
            "  --threads N        worker threads (default 1)\n"
            "  --blocking         blocking accept loop instead of epoll\n"
            "  --cert F --key-file F  server certificate and key (PEM): certificate handshakes besides PSK\n"
            "  --verify-client    request a client certificate and accept any (mutual authentication)\n"
            "  --tickets          issue stateless session tickets (TLS 1.2 when the client asks; one per TLS 1.3\n"
            "                     handshake), so clients can resume\n\n"
            "Load modes print one line: RESULT label=.. mode=.. mech=.. ops=N errors=N resumed=N seconds=S\n"
            "rate=OPS_PER_S server_cpu_us_per_op=.. server_cpu_util=.. client_cpu_us_per_op=..; exit 0 only\n"
            "without errors. resumed counts connections whose handshake OpenSSL reports as reused (always all for\n"
            "TLS 1.3 PSK, external or resumption: ask the Registrar's /metrics which it was).\n");
}

static int parse_num(const char *s, const char *opt, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "m2m-bench: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int m2m_dtls_bench(int argc, char **argv); /* bench/dtls_bench.c */

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},    {"port", required_argument, NULL, 'p'},
        {"source", required_argument, NULL, 'S'},
        {"id", required_argument, NULL, 'i'},      {"key", required_argument, NULL, 'k'},
        {"ids-file", required_argument, NULL, 'f'}, {"tls", required_argument, NULL, 'T'},
        {"cipher", required_argument, NULL, 'c'},  {"seconds", required_argument, NULL, 's'},
        {"clients", required_argument, NULL, 'C'}, {"count", required_argument, NULL, 'n'},
        {"server-pid", required_argument, NULL, 'P'}, {"cse", required_argument, NULL, 'E'},
        {"label", required_argument, NULL, 'l'},   {"no-linger0", no_argument, NULL, 'L'},
        {"threads", required_argument, NULL, 't'}, {"blocking", no_argument, NULL, 'b'},
        {"quickack", no_argument, NULL, 'Q'},     {"mech", required_argument, NULL, 'm'},
        {"cert", required_argument, NULL, 'X'},    {"key-file", required_argument, NULL, 'K'},
        {"verify-client", no_argument, NULL, 'V'}, {"tickets", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    bench_opts o = {.host = "127.0.0.1", .seconds = -1, .clients = 4, .tls = 12, .cse = "/in-cse", .threads = 1,
                    .linger0 = 1};
    const char *mode;
    double v;
    int c;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    mode = argv[1];
    /* DTLS-PSK against the CoAPS listener (bench/dtls_bench.c: its own options) */
    if (strcmp(mode, "dtls") == 0)
        return m2m_dtls_bench(argc - 1, argv + 1);
    argc--, argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': o.host = optarg; break;
        case 'S': o.source = optarg; break;
        case 'p': if (parse_num(optarg, "--port", 0, 65535, &v)) return 2; o.port = (int)v; break;
        case 'i': o.id = optarg; break;
        case 'k': o.key_hex = optarg; break;
        case 'f': o.ids_file = optarg; break;
        case 'T':
            if (strcmp(optarg, "1.2") == 0) o.tls = 12;
            else if (strcmp(optarg, "1.3") == 0) o.tls = 13;
            else { fprintf(stderr, "m2m-bench: --tls is 1.2 or 1.3\n"); return 2; }
            break;
        case 'c': o.cipher = optarg; break;
        case 's': if (parse_num(optarg, "--seconds", 0.1, 86400, &v)) return 2; o.seconds = v; break;
        case 'C': if (parse_num(optarg, "--clients", 1, 1024, &v)) return 2; o.clients = (int)v; break;
        case 'n': if (parse_num(optarg, "--count", 1, 1000000, &v)) return 2; o.count = (long)v; break;
        case 'P': if (parse_num(optarg, "--server-pid", 1, 1 << 30, &v)) return 2; o.server_pid = (int)v; break;
        case 'E': o.cse = optarg; break;
        case 'l': o.label = optarg; break;
        case 'L': o.linger0 = 0; break;
        case 't': if (parse_num(optarg, "--threads", 1, 256, &v)) return 2; o.threads = (int)v; break;
        case 'b': o.blocking = 1; break;
        case 'Q': o.quickack = 1; break;
        case 'm':
            if (strcmp(optarg, "psk") == 0) o.mech = MECH_PSK;
            else if (strcmp(optarg, "cert") == 0) o.mech = MECH_CERT;
            else if (strcmp(optarg, "token") == 0) o.mech = MECH_TOKEN;
            else { fprintf(stderr, "m2m-bench: --mech is psk, cert or token\n"); return 2; }
            break;
        case 'X': o.cert_file = optarg; break;
        case 'K': o.key_file = optarg; break;
        case 'V': o.verify_client = 1; break;
        case 'R': o.tickets = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(mode, "handshakes") == 0 || strcmp(mode, "reattach") == 0 || strcmp(mode, "attach") == 0 ||
        strcmp(mode, "resume") == 0 || strcmp(mode, "resume-handshakes") == 0 || strcmp(mode, "stream-retrieve") == 0 ||
        strcmp(mode, "stream-create") == 0) {
        if (o.seconds < 0)
            o.seconds = 5;
        return cmd_load(mode, &o);
    }
    if (strcmp(mode, "idle") == 0) {
        if (o.seconds < 0)
            o.seconds = 3600;
        return cmd_idle(&o);
    }
    if (strcmp(mode, "ceiling-server") == 0)
        return cmd_ceiling_server(&o);
    fprintf(stderr, "m2m-bench: unknown mode '%s'\n\n", mode);
    usage(stderr);
    return 2;
}
