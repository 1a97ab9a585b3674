/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach keyid (--kcc-file FILE | --kca-file FILE | --kcc - | --kca -) */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/key_input.h"
#include "crypto/secret.h"
#include "m2mattach/keyid.h"

static void keyid_usage(FILE *out)
{
    fprintf(out, "usage: m2mattach keyid (--kcc-file FILE | --kca-file FILE | --kcc - | --kca -)\n\n"
                 "Prints the key identifier of seed clause a.b as 32 lowercase hex characters:\n"
                 "  Kcc_ID = SHA-256(\"oneM2M-Kcc_ID-Generation\" || Kcc) truncated to 128 bits (CSE-CSE keys)\n"
                 "  Kca_ID = SHA-256(\"oneM2M-Kca_ID-Generation\" || Kca) truncated to 128 bits (AE-CSE keys)\n"
                 "The option says which kind of key it is and where it comes from: --kcc-file / --kca-file FILE\n"
                 "read the key as hex from FILE (white space around it ignored); --kcc - / --kca - read one line\n"
                 "of hex from standard input. Never put a key on the command line: ps and shell history show it to\n"
                 "others (--kcc HEX / --kca HEX still work, with a warning).\n");
}

int cmd_keyid(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kcc-file", required_argument, NULL, 'C'}, {"kca-file", required_argument, NULL, 'A'},
        {"kcc", required_argument, NULL, 'c'},      {"kca", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    const char *file = NULL;
    char *value = NULL;
    m2m_key_kind kind = 0;
    int c, sources = 0, rc = 1;
    m2m_secret key = {0};
    m2m_err err = {0};
    char id[M2M_KEYID_HEX_LEN + 1];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'C': file = optarg; kind = M2M_KEY_KCC; sources++; break;
        case 'A': file = optarg; kind = M2M_KEY_KCA; sources++; break;
        case 'c': value = optarg; kind = M2M_KEY_KCC; sources++; break;
        case 'a': value = optarg; kind = M2M_KEY_KCA; sources++; break;
        case 'h': keyid_usage(stdout); return 0;
        default: keyid_usage(stderr); return 2;
        }
    }
    if (sources != 1 || optind != argc) {
        if (sources > 1)
            fprintf(stderr, "m2mattach keyid: give exactly one key\n");
        keyid_usage(stderr);
        return 2;
    }
    if ((file != NULL ? cli_key_from_file(&key, kind == M2M_KEY_KCC ? "--kcc-file" : "--kca-file", file, &err)
                      : kind == M2M_KEY_KCC ? cli_key_from_arg(&key, "--kcc", "--kcc-file", value, &err)
                                            : cli_key_from_arg(&key, "--kca", "--kca-file", value, &err)) != 0 ||
        m2m_keyid(kind, key.bytes, key.len, id, &err) != 0) {
        fprintf(stderr, "m2mattach keyid: %s\n", err.msg);
        goto done;
    }
    printf("%s\n", id);
    rc = 0;
done:
    m2m_secret_clear(&key);
    return rc;
}
