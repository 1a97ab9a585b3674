/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach: one binary, a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "m2mattach/version.h"
#include "util/harden.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand COMMANDS[] = {
    {"keyid", cmd_keyid, "compute a Kcc_ID or Kca_ID from a key (seed a.b)"},
    {"registrar", cmd_registrar, "create and serve a Registrar CSE (init, serve)"},
    {"enrol", cmd_enrol, "Step 1 enrolment: add, list and revoke Registree credentials"},
    {"briefing", cmd_briefing, "Step 2 from the network: prepare, list and remove Registrees' briefings"},
    {"attach", cmd_attach, "Registree: attach to the Registrar from an attachment-details file"},
    {"request", cmd_request, "Registree: send one oneM2M request over an attached session"},
    {"pki", cmd_pki, "lab PKI: Registrar root, Registrar and device certificates, public-key hashes"},
    {"bsf", cmd_bsf, "GBA: a simulated HSS + BSF (Ub bootstrapping, Zn for the Registrar)"},
    {"demo", cmd_demo, "run every flow on loopback with a temporary store and print each step"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: m2mattach COMMAND [ARGS...]\n\n"
                 "oneM2M secure attachment: Registrar, enrolment and Registree.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n'm2mattach COMMAND --help' describes one command.\n"
                 "Every command runs without core dumps (keys must not end up in one); M2M_ALLOW_CORE_DUMPS=1 in the\n"
                 "environment allows them, for debugging only.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("m2mattach %s\n", M2M_VERSION);
        return 0;
    }
    /* Every command may hold a key (enrol, keyid, attach, the Registrar): none leaves in a core file. */
    if (m2m_no_core_dumps() != 0) {
        fprintf(stderr, "m2mattach: cannot disable core dumps; refusing to handle keys (set M2M_ALLOW_CORE_DUMPS=1 "
                        "to run anyway)\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "m2mattach: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
