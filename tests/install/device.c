/* SPDX-License-Identifier: Apache-2.0 */
/* A device program as a device maker would write it, built by tests/install/install.sh against the *installed*
 * libm2mattach-registree with nothing but `pkg-config --cflags --libs m2mattach-registree`: it computes a key ID
 * through the public API (the seed's a.b vector Kca-128) and loads an attachment-details file. */
#include <stdio.h>
#include <string.h>

#include <m2mattach/keyid.h>
#include <m2mattach/registree.h>
#include <m2mattach/version.h>

int main(int argc, char **argv)
{
    static const unsigned char kca[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                          0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    char id[M2M_KEYID_HEX_LEN + 1];
    m2m_registree_config *cfg;
    m2m_err err = {0};

    if (argc != 2) {
        fprintf(stderr, "usage: device DETAILS.ini\n");
        return 2;
    }
    /* the headers it was compiled with and the library it runs with are one release */
    if (strcmp(m2m_version(), M2M_VERSION) != 0) {
        fprintf(stderr, "library %s, headers %s\n", m2m_version(), M2M_VERSION);
        return 1;
    }
    if (m2m_keyid(M2M_KEY_KCA, kca, sizeof kca, id, &err) != 0) {
        fprintf(stderr, "keyid: %s: %s\n", m2m_code_name(err.code), err.msg);
        return 1;
    }
    printf("version %s\nKca_ID %s\n", m2m_version(), id);
    cfg = m2m_registree_config_load(argv[1], &err);
    if (cfg == NULL) {
        fprintf(stderr, "details: %s: %s\n", m2m_code_name(err.code), err.msg);
        return 1;
    }
    printf("registrar %s\nstate %s\n", m2m_registree_config_cse_id(cfg), m2m_registree_config_state_path(cfg));
    m2m_registree_config_free(cfg);
    return 0;
}
