/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3310 AKAv1-MD5 against ../shared/vectors/digest-aka.txt (qop=auth, nc=00000001, method REGISTER, uri
 * 'sip:' + realm, password = RES octets), and auth-int over a body. */
#include "fixture_vectors.h"

#include <openssl/evp.h>

#include "crypto/digest_aka.h"

static void test_vectors(void **state)
{
    vec_section v[VEC_SECTIONS];
    int n = vec_load("digest-aka.txt", v, VEC_SECTIONS);
    (void)state;
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++) {
        char user[256], realm[256], cnonce[64], nonce[256], uri[300], got[33];
        uint8_t res[16], nonce_raw[64], rand_autn[32];
        size_t res_len = vec_bytes(&v[i], "RES", res, sizeof res, 0);
        m2m_err err;
        m2m_digest_input in = {0};
        vec_text(&v[i], "username_ascii", user, sizeof user);
        vec_text(&v[i], "realm_ascii", realm, sizeof realm);
        vec_text(&v[i], "cnonce_ascii", cnonce, sizeof cnonce);
        vec_text(&v[i], "nonce_ascii", nonce, sizeof nonce);
        snprintf(uri, sizeof uri, "sip:%s", realm);
        /* the nonce is base64(RAND || AUTN) */
        assert_int_equal(EVP_DecodeBlock(nonce_raw, (const unsigned char *)nonce, (int)strlen(nonce)), 33);
        vec_bytes(&v[i], "RAND", rand_autn, 16, 16);
        vec_bytes(&v[i], "AUTN", rand_autn + 16, 16, 16);
        assert_memory_equal(nonce_raw, rand_autn, 32);
        in.username = user;
        in.realm = realm;
        in.password = res;
        in.password_len = res_len;
        in.method = "REGISTER";
        in.uri = uri;
        in.nonce = nonce;
        in.nc = "00000001";
        in.cnonce = cnonce;
        in.qop = "auth";
        assert_int_equal(m2m_digest_response(&in, got, &err), 0);
        {
            /* the file's response line is plain hex of the digest */
            int k = 0;
            for (; k < v[i].n && strcmp(v[i].field[k], "response") != 0; k++)
                ;
            assert_string_equal(got, v[i].value[k]);
        }
    }
}

/* auth-int covers the body: a different body, a different response; RES as text (hex) is not the password. */
static void test_auth_int_and_password_octets(void **state)
{
    static const uint8_t res[8] = {0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf};
    char a[33], b[33], c[33], d[33];
    m2m_err err;
    m2m_digest_input in = {.username = "u@x", .realm = "bsf.example", .password = res, .password_len = 8,
                           .method = "GET", .uri = "/", .nonce = "n", .nc = "00000001", .cnonce = "c",
                           .qop = "auth-int", .body = "", .body_len = 0};
    (void)state;
    assert_int_equal(m2m_digest_response(&in, a, &err), 0);
    in.body = "x";
    in.body_len = 1;
    assert_int_equal(m2m_digest_response(&in, b, &err), 0);
    assert_string_not_equal(a, b);
    in.qop = "auth";
    assert_int_equal(m2m_digest_response(&in, c, &err), 0);
    assert_string_not_equal(a, c);
    in.password = (const unsigned char *)"a54211d5e3ba50bf";
    in.password_len = 16;
    assert_int_equal(m2m_digest_response(&in, d, &err), 0);
    assert_string_not_equal(c, d);
    in.qop = "auth-conf";
    assert_int_equal(m2m_digest_response(&in, d, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_auth_int_and_password_octets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
