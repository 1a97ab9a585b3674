/* SPDX-License-Identifier: Apache-2.0 */
/* TS 33.220 Annex B: every Ks_NAF vector of ../shared/vectors/gba-ksnaf.txt (S and Ks_NAF), the Ua protocol
 * identifiers, and the NAF_Id checks. */
#include "fixture_vectors.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/gba_kdf.h"

static void test_ks_naf_vectors(void **state)
{
    vec_section v[VEC_SECTIONS];
    int n = vec_load("gba-ksnaf.txt", v, VEC_SECTIONS);
    (void)state;
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++) {
        uint8_t ck[16], ik[16], ks[32], rnd[16], naf_id[300], want[32], got[32], s[600], fqdn_id[300];
        char impi[256], fqdn[256];
        size_t naf_len = vec_bytes(&v[i], "NAF_Id", naf_id, sizeof naf_id, 0), len;
        m2m_err err;
        vec_bytes(&v[i], "CK", ck, 16, 16);
        vec_bytes(&v[i], "IK", ik, 16, 16);
        vec_bytes(&v[i], "Ks", ks, 32, 32);
        assert_memory_equal(ks, ck, 16); /* Ks = CK || IK */
        assert_memory_equal(ks + 16, ik, 16);
        vec_bytes(&v[i], "RAND", rnd, 16, 16);
        vec_text(&v[i], "IMPI_utf8", impi, sizeof impi);
        vec_bytes(&v[i], "Ks_NAF", want, 32, 32);
        assert_int_equal(m2m_gba_ks_naf(ks, rnd, impi, naf_id, naf_len, got, &err), 0);
        assert_memory_equal(got, want, 32);
        /* S itself, through the generic KDF */
        len = vec_bytes(&v[i], "S", s, sizeof s, 0);
        assert_int_equal(s[0], 0x01);
        {
            EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
            uint8_t h[32];
            size_t hl = 0;
            EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
            OSSL_PARAM p[2] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                               OSSL_PARAM_construct_end()};
            assert_int_equal(EVP_MAC_init(c, ks, 32, p), 1);
            assert_int_equal(EVP_MAC_update(c, s, len), 1);
            assert_int_equal(EVP_MAC_final(c, h, &hl, 32), 1);
            assert_memory_equal(h, want, 32);
            EVP_MAC_CTX_free(c);
            EVP_MAC_free(mac);
        }
        /* NAF_Id = "cse.example.org" || Ua id, rebuilt from its parts */
        memcpy(fqdn, naf_id, naf_len - 5);
        fqdn[naf_len - 5] = '\0';
        assert_string_equal(fqdn, "cse.example.org");
        assert_int_equal(m2m_gba_naf_id(fqdn, naf_id + naf_len - 5, fqdn_id, &len, &err), 0);
        assert_int_equal(len, naf_len);
        assert_memory_equal(fqdn_id, naf_id, naf_len);
    }
}

static void test_ua_ids(void **state)
{
    uint8_t id[5];
    (void)state;
    m2m_gba_ua_id(0x0303, 0x00ae, id);
    assert_memory_equal(id, "\x01\x00\x01\x00\xae", 5);
    m2m_gba_ua_id(0x0303, 0xc0a8, id);
    assert_memory_equal(id, "\x01\x00\x01\xc0\xa8", 5);
    m2m_gba_ua_id(0x0304, 0x1301, id);
    assert_memory_equal(id, "\x01\x00\x00\x00\x07", 5);
}

static void test_naf_id_refuses_non_hosts(void **state)
{
    static const uint8_t ua[5] = {1, 0, 0, 0, 7};
    uint8_t out[M2M_GBA_NAF_ID_MAX];
    size_t len;
    char longname[300];
    m2m_err err;
    (void)state;
    assert_int_equal(m2m_gba_naf_id("", ua, out, &len, &err), -1);
    assert_int_equal(m2m_gba_naf_id("cse.example.org:443", ua, out, &len, &err), -1);
    assert_int_equal(m2m_gba_naf_id("[::1]", ua, out, &len, &err), -1);
    memset(longname, 'a', sizeof longname);
    longname[254] = '\0';
    assert_int_equal(m2m_gba_naf_id(longname, ua, out, &len, &err), -1);
    longname[253] = '\0';
    assert_int_equal(m2m_gba_naf_id(longname, ua, out, &len, &err), 0);
    assert_int_equal(len, 258);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ks_naf_vectors),
        cmocka_unit_test(test_ua_ids),
        cmocka_unit_test(test_naf_id_refuses_non_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
