/* SPDX-License-Identifier: Apache-2.0 */
/* The attachment-details INI file (registree/details.c, Step 2) through m2m_registree_config_load, which takes a
 * path: the input is written to fuzz.ini in a temporary directory that also holds files a details file may name,
 * by relative path: psk.key (a 32-octet key in hex), usim.k (a 16-octet USIM key in hex, for gba), token.txt (an
 * identity token), root.pem (a self-signed P-256 certificate, so also a root) and root.key (its private key, so
 * root.pem + root.key are a cert credential). */
#include <string.h>

#include "fuzz_util.h"
#include "registree/details.h"

static const char ROOT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBkDCCATWgAwIBAgIUBbUHg0OAPT62w5p6w9Ug+zzPRlAwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJZnV6eiByb290MCAXDTI2MTIwNDE3NTMyNFoYDzIxMjYxMTEw\n"
    "MTc1MzI0WjAUMRIwEAYDVQQDDAlmdXp6IHJvb3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAS6HwB8GA6O5Spff85btXDStfoAeN6RSbDVQ+a8tDWZpenQdIFUcLQO\n"
    "k6UrVLQgnuY8ik+Qp3Ps7eyw5qjWr1JVo2MwYTAdBgNVHQ4EFgQUPLX7QP/ZJ8Oz\n"
    "YbA0c1ukbys6rj0wHwYDVR0jBBgwFoAUPLX7QP/ZJ8OzYbA0c1ukbys6rj0wDwYD\n"
    "VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSQAwRgIh\n"
    "AKIqyL1TDJVyuFM5+40mp6U5QPBUm3fF2Co7q+uPeQriAiEA55Dgs5xcTtdgSOQW\n"
    "SgqijFGiG2RLpPqlU+m6E830Iko=\n"
    "-----END CERTIFICATE-----\n";

static const char ROOT_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGEIq1ZcBk+MZBCdp\n"
    "lHleXa3oLW1Pg0UFuF38i0tDEMOhRANCAAS6HwB8GA6O5Spff85btXDStfoAeN6R\n"
    "SbDVQ+a8tDWZpenQdIFUcLQOk6UrVLQgnuY8ik+Qp3Ps7eyw5qjWr1JV\n"
    "-----END PRIVATE KEY-----\n";

static const char PSK_KEY[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
static const char USIM_K[] = "465b5ce8b199b49faa5f0a2ee238a6bc\n";
static const char TOKEN[] = "q0Xr3n6Jd2Vw8sYbT1uKpA\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    m2m_registree_config *cfg;
    m2m_err err;

    if (!ready) {
        fuzz_write_file("root.pem", ROOT_PEM, strlen(ROOT_PEM));
        fuzz_write_file("root.key", ROOT_KEY, strlen(ROOT_KEY));
        fuzz_write_file("psk.key", PSK_KEY, strlen(PSK_KEY));
        fuzz_write_file("usim.k", USIM_K, strlen(USIM_K));
        fuzz_write_file("token.txt", TOKEN, strlen(TOKEN));
        ready = 1;
    }
    m2m_err_clear(&err);
    cfg = m2m_registree_config_load(fuzz_write_file("fuzz.ini", data, size), &err);
    if (cfg != NULL) {
        const char *cse_id = m2m_registree_config_cse_id(cfg);
        FUZZ_CHECK(cse_id != NULL && cse_id[0] == '/');
        FUZZ_CHECK(m2m_registree_config_state_path(cfg) != NULL);
        FUZZ_CHECK(m2m_registree_config_generated_key_path(cfg) != NULL);
        /* What the Registree will rely on, per mechanism. */
        FUZZ_CHECK(cfg->host != NULL && cfg->authority != NULL && cfg->id != NULL && cfg->name != NULL);
        if (cfg->mechanism == M2M_MECH_PSK)
            FUZZ_CHECK(cfg->key.len >= M2M_KEY_MIN_LEN && cfg->key.len <= M2M_KEY_MAX_LEN &&
                       strlen(cfg->key_id) == M2M_KEYID_HEX_LEN);
        if (cfg->mechanism == M2M_MECH_CERT)
            FUZZ_CHECK(cfg->root_cert != NULL && cfg->cert != NULL && cfg->cert_key != NULL);
        if (cfg->mechanism == M2M_MECH_TOKEN)
            FUZZ_CHECK(cfg->root_cert != NULL && m2m_token_syntax_ok(cfg->token));
        if (cfg->mechanism == M2M_MECH_GBA)
            FUZZ_CHECK(cfg->gba_bsf_host != NULL && cfg->gba_impi != NULL && cfg->gba_k.len == 16 &&
                       cfg->gba_opc.len == 16 && (!cfg->gba_bsf_tls || cfg->gba_bsf_root != NULL));
        m2m_registree_config_free(cfg);
    } else {
        FUZZ_CHECK(err.code != M2M_OK && err.msg[0] != '\0');
    }
    return 0;
}
