/* m2mattach keyid --kcc HEX | --kca HEX */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/secret.h"
#include "m2mattach/keyid.h"

static void keyid_usage(FILE *out)
{
    fprintf(out, "usage: m2mattach keyid (--kcc HEX | --kca HEX)\n\n"
                 "Prints the key identifier of seed clause a.b as 32 lowercase hex characters:\n"
                 "  Kcc_ID = SHA-256(\"oneM2M-Kcc_ID-Generation\" || Kcc) truncated to 128 bits (CSE-CSE keys)\n"
                 "  Kca_ID = SHA-256(\"oneM2M-Kca_ID-Generation\" || Kca) truncated to 128 bits (AE-CSE keys)\n");
}

int cmd_keyid(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kcc", required_argument, NULL, 'c'}, {"kca", required_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *hex = NULL;
    m2m_key_kind kind = 0;
    int c, rc = 1;
    m2m_secret key = {0};
    m2m_err err = {0};
    char id[M2M_KEYID_HEX_LEN + 1];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': hex = optarg; kind = M2M_KEY_KCC; break;
        case 'a': hex = optarg; kind = M2M_KEY_KCA; break;
        case 'h': keyid_usage(stdout); return 0;
        default: keyid_usage(stderr); return 2;
        }
    }
    if (hex == NULL || optind != argc) {
        keyid_usage(stderr);
        return 2;
    }
    if (m2m_secret_from_hex(&key, hex, kind == M2M_KEY_KCC ? "--kcc" : "--kca", &err) != 0 ||
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
