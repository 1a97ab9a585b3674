/* SPDX-License-Identifier: Apache-2.0 */
/* The public-key identifier of x.y.6: SHA-256 of the DER SubjectPublicKeyInfo. A known answer computed with the
 * openssl CLI, the in-process definition, every file form of one key giving one hash, and every refusal naming
 * the file at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/pubkey_hash.h"
#include "fixture_tmpdir.h"
#include "util/hex.h"

/* `openssl pkey -pubout -outform DER | sha256sum` of this key, computed outside this code base. */
static const char KAT_PUB_PEM[] = "-----BEGIN PUBLIC KEY-----\n"
                                  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEuR7behI2Tflkvk9T8073zGz9sEf/\n"
                                  "pLf/vK2IxZffQ0PC/JerI+V2+upPz4uaabt8WLPto2gvHNrKe5vC5yrsDA==\n"
                                  "-----END PUBLIC KEY-----\n";
static const char KAT_HASH[] = "74b92022cee4dd50135727231937d52b7f77cb3de2ee6601b8aeacacbe595069";

typedef struct fixture {
    char dir[64];
    EVP_PKEY *key;
    X509 *cert;
    char expect[M2M_PUBKEY_HASH_HEX_LEN + 1];
} fixture;

/* The definition, computed here independently of the code under test. */
static void spki_sha256(EVP_PKEY *key, char out[M2M_PUBKEY_HASH_HEX_LEN + 1])
{
    unsigned char *der = NULL, md[32];
    unsigned int mdlen = 0;
    int len = i2d_PUBKEY(key, &der);
    assert_true(len > 0);
    assert_int_equal(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL), 1);
    m2m_hex_encode(md, sizeof md, out);
    OPENSSL_free(der);
}

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_get_subject_name(x);
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    if (fixture_mkdtemp(f->dir, sizeof f->dir, "pkh") != 0)
        return -1;
    f->key = EVP_EC_gen("P-256");
    if (f->key == NULL)
        return -1;
    f->cert = self_signed(f->key, "Csensor1");
    spki_sha256(f->key, f->expect);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (fixture_rmdir(f->dir) != 0)
        return -1;
    X509_free(f->cert);
    EVP_PKEY_free(f->key);
    free(f);
    return 0;
}

static void path_in(const fixture *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", f->dir, name);
}

/* Writes a file through a BIO-writing callback. */
typedef int (*writer)(BIO *bio, const fixture *f);

static void write_with(const fixture *f, const char *name, writer w, char *path, size_t cap)
{
    BIO *bio;
    path_in(f, name, path, cap);
    bio = BIO_new_file(path, "wb");
    assert_non_null(bio);
    assert_int_equal(w(bio, f), 1);
    BIO_free(bio);
}

static void write_text(const fixture *f, const char *name, const void *data, size_t len, char *path, size_t cap)
{
    FILE *fp;
    path_in(f, name, path, cap);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void assert_file_hash(const char *path, const char *expect)
{
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    int rc = m2m_pubkey_hash_file(path, got, &err);
    if (rc != 0)
        fail_msg("%s: %s", path, err.msg);
    assert_string_equal(got, expect);
    /* The trial parses must not leave errors behind for the next TLS call to trip over. */
    assert_int_equal(ERR_peek_error(), 0);
}

static void assert_file_refused(const char *path, m2m_code code, const char *needle)
{
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    assert_int_equal(m2m_pubkey_hash_file(path, got, &err), -1);
    assert_int_equal(err.code, code);
    if (strstr(err.msg, path) == NULL)
        fail_msg("error does not name the file %s: %s", path, err.msg);
    if (needle != NULL && strstr(err.msg, needle) == NULL)
        fail_msg("error does not say '%s': %s", needle, err.msg);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_known_answer(void **state)
{
    fixture *f = *state;
    char path[128], got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    BIO *bio = BIO_new_mem_buf(KAT_PUB_PEM, -1);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    m2m_err err = {0};
    assert_non_null(pub);
    assert_int_equal(m2m_pubkey_hash_pkey(pub, got, &err), 0);
    assert_string_equal(got, KAT_HASH);
    write_text(f, "kat.pub", KAT_PUB_PEM, strlen(KAT_PUB_PEM), path, sizeof path);
    assert_file_hash(path, KAT_HASH);
    EVP_PKEY_free(pub);
    BIO_free(bio);
}

static void test_pkey_is_sha256_of_spki(void **state)
{
    fixture *f = *state;
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    assert_int_equal(m2m_pubkey_hash_pkey(f->key, got, &err), 0);
    assert_int_equal(strlen(got), M2M_PUBKEY_HASH_HEX_LEN);
    assert_string_equal(got, f->expect);
    for (const char *p = got; *p; p++)
        assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
}

static void test_x509_equals_pkey(void **state)
{
    fixture *f = *state;
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    assert_int_equal(m2m_pubkey_hash_x509(f->cert, got, &err), 0);
    assert_string_equal(got, f->expect);
}

/* A different key gives a different hash (the hash is of the key, not a constant of the format). */
static void test_other_key_differs(void **state)
{
    fixture *f = *state;
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    EVP_PKEY *other = EVP_EC_gen("P-256");
    m2m_err err = {0};
    assert_non_null(other);
    assert_int_equal(m2m_pubkey_hash_pkey(other, got, &err), 0);
    assert_string_not_equal(got, f->expect);
    EVP_PKEY_free(other);
}

static int w_cert_pem(BIO *b, const fixture *f) { return PEM_write_bio_X509(b, f->cert); }
static int w_cert_der(BIO *b, const fixture *f) { return i2d_X509_bio(b, f->cert); }
static int w_pub_pem(BIO *b, const fixture *f) { return PEM_write_bio_PUBKEY(b, f->key); }
static int w_pub_der(BIO *b, const fixture *f) { return i2d_PUBKEY_bio(b, f->key); }
static int w_pkcs8_pem(BIO *b, const fixture *f)
{
    return PEM_write_bio_PrivateKey(b, f->key, NULL, NULL, 0, NULL, NULL);
}
static int w_pkcs8_der(BIO *b, const fixture *f)
{
    return i2d_PKCS8PrivateKey_bio(b, f->key, NULL, NULL, 0, NULL, NULL);
}
static int w_trad_pem(BIO *b, const fixture *f)
{
    return PEM_write_bio_PrivateKey_traditional(b, f->key, NULL, NULL, 0, NULL, NULL); /* EC PRIVATE KEY */
}
static int w_trad_der(BIO *b, const fixture *f) { return i2d_PrivateKey_bio(b, f->key); }
/* `openssl x509 -text` output, then the certificate: text before PEM is allowed. */
static int w_text_then_cert(BIO *b, const fixture *f)
{
    return X509_print(b, f->cert) == 1 && PEM_write_bio_X509(b, f->cert) == 1;
}
/* `openssl ecparam -genkey` output: EC PARAMETERS, then EC PRIVATE KEY. */
static int w_params_then_key(BIO *b, const fixture *f)
{
    static const char params[] = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    return BIO_write(b, params, (int)strlen(params)) > 0 && w_trad_pem(b, f) == 1;
}
static int w_enc_pkcs8_pem(BIO *b, const fixture *f)
{
    return PEM_write_bio_PKCS8PrivateKey(b, f->key, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret");
}
static int w_enc_pkcs8_der(BIO *b, const fixture *f)
{
    return i2d_PKCS8PrivateKey_bio(b, f->key, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret");
}
static int w_enc_legacy_pem(BIO *b, const fixture *f)
{
    return PEM_write_bio_PrivateKey_traditional(b, f->key, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"secret");
}

static void test_every_file_form_same_hash(void **state)
{
    static const struct {
        const char *name;
        writer w;
    } forms[] = {{"cert.pem", w_cert_pem},         {"cert.der", w_cert_der},       {"pub.pem", w_pub_pem},
                 {"pub.der", w_pub_der},           {"pkcs8.pem", w_pkcs8_pem},     {"pkcs8.der", w_pkcs8_der},
                 {"ec.pem", w_trad_pem},           {"ec.der", w_trad_der},         {"text.pem", w_text_then_cert},
                 {"ecparam.pem", w_params_then_key}};
    fixture *f = *state;
    char path[128];
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        write_with(f, forms[i].name, forms[i].w, path, sizeof path);
        assert_file_hash(path, f->expect);
    }
}

/* A chain file: the first certificate (the leaf) counts. */
static void test_chain_file_gives_leaf(void **state)
{
    fixture *f = *state;
    EVP_PKEY *other = EVP_EC_gen("P-256");
    X509 *ca = self_signed(other, "ca");
    char path[128];
    BIO *bio;
    path_in(f, "chain.pem", path, sizeof path);
    bio = BIO_new_file(path, "wb");
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_X509(bio, f->cert), 1);
    assert_int_equal(PEM_write_bio_X509(bio, ca), 1);
    BIO_free(bio);
    assert_file_hash(path, f->expect);
    X509_free(ca);
    EVP_PKEY_free(other);
}

/* Not only EC: an RSA key in certificate, SPKI, PKCS#1 public and private form. */
static void test_rsa_forms(void **state)
{
    fixture *f = *state;
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *cert;
    char expect[M2M_PUBKEY_HASH_HEX_LEN + 1], path[128];
    BIO *bio;
    assert_non_null(rsa);
    cert = self_signed(rsa, "rsa");
    spki_sha256(rsa, expect);
    path_in(f, "rsa.crt", path, sizeof path);
    bio = BIO_new_file(path, "wb");
    assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
    BIO_free(bio);
    assert_file_hash(path, expect);
    path_in(f, "rsa.key", path, sizeof path);
    bio = BIO_new_file(path, "wb");
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, rsa, NULL, NULL, 0, NULL, NULL), 1);
    BIO_free(bio);
    assert_file_hash(path, expect);
    path_in(f, "rsa-pkcs1.pub", path, sizeof path);
    bio = BIO_new_file(path, "wb");
    {
        /* "RSA PUBLIC KEY" (PKCS#1), as `openssl rsa -RSAPublicKey_out` writes it. */
        unsigned char *der = NULL;
        int len = i2d_PublicKey(rsa, &der);
        assert_true(len > 0);
        assert_true(PEM_write_bio(bio, "RSA PUBLIC KEY", "", der, len) > 0);
        OPENSSL_free(der);
    }
    BIO_free(bio);
    assert_file_hash(path, expect);
    X509_free(cert);
    EVP_PKEY_free(rsa);
}

/* An SPKI larger than the stack buffer takes the heap path and still hashes the whole encoding. */
static void test_large_spki(void **state)
{
    enum { BIG = 5000 };
    X509 *x = X509_new();
    X509_PUBKEY *pub;
    unsigned char *bits = OPENSSL_zalloc(BIG), *der = NULL, md[32];
    unsigned int mdlen = 0;
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1], expect[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    int len;
    (void)state;
    assert_non_null(x);
    assert_non_null(bits);
    memset(bits, 0xa5, BIG);
    pub = X509_get_X509_PUBKEY(x);
    assert_non_null(pub);
    assert_int_equal(X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL, bits, BIG), 1);
    len = i2d_X509_PUBKEY(pub, &der);
    assert_true(len > BIG);
    assert_int_equal(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL), 1);
    m2m_hex_encode(md, sizeof md, expect);
    assert_int_equal(m2m_pubkey_hash_x509(x, got, &err), 0);
    assert_string_equal(got, expect);
    OPENSSL_free(der);
    X509_free(x);
}

static void test_refusals_name_the_file(void **state)
{
    static const unsigned char garbage[] = {0x30, 0x82, 0x01, 0x00, 'n', 'o', 't', ' ', 'a', ' ', 'k', 'e', 'y'};
    static const char half_pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    fixture *f = *state;
    char path[128];

    path_in(f, "missing.pem", path, sizeof path);
    assert_file_refused(path, M2M_E_IO, "No such file");
    write_text(f, "garbage.der", garbage, sizeof garbage, path, sizeof path);
    assert_file_refused(path, M2M_E_PARSE, "not a certificate, public key or private key");
    write_text(f, "half.pem", half_pem, strlen(half_pem), path, sizeof path);
    assert_file_refused(path, M2M_E_PARSE, "not a certificate, public key or private key");
    write_text(f, "empty.pem", "", 0, path, sizeof path);
    assert_file_refused(path, M2M_E_PARSE, "empty");
    path_in(f, "", path, sizeof path); /* the directory itself */
    assert_file_refused(path, M2M_E_IO, "not a regular file");
    write_with(f, "enc-pkcs8.pem", w_enc_pkcs8_pem, path, sizeof path);
    assert_file_refused(path, M2M_E_PARSE, "encrypted");
    write_with(f, "enc-pkcs8.der", w_enc_pkcs8_der, path, sizeof path);
    assert_file_refused(path, M2M_E_PARSE, "encrypted");
    write_with(f, "enc-legacy.pem", w_enc_legacy_pem, path, sizeof path);
    assert_file_refused(path, M2M_E_PARSE, "encrypted");
}

/* An encrypted key followed by its certificate: the certificate is used, no passphrase is needed. */
static void test_encrypted_key_with_cert(void **state)
{
    fixture *f = *state;
    char path[128];
    BIO *bio;
    path_in(f, "bundle.pem", path, sizeof path);
    bio = BIO_new_file(path, "wb");
    assert_non_null(bio);
    assert_int_equal(w_enc_pkcs8_pem(bio, f), 1);
    assert_int_equal(PEM_write_bio_X509(bio, f->cert), 1);
    BIO_free(bio);
    assert_file_hash(path, f->expect);
}

static void test_null_arguments(void **state)
{
    char got[M2M_PUBKEY_HASH_HEX_LEN + 1];
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_pubkey_hash_pkey(NULL, got, &err), -1);
    assert_int_equal(err.code, M2M_E_ARG);
    assert_int_equal(m2m_pubkey_hash_x509(NULL, got, &err), -1);
    assert_int_equal(m2m_pubkey_hash_file(NULL, got, &err), -1);
    assert_int_equal(m2m_pubkey_hash_pkey(NULL, got, NULL), -1); /* err is optional */
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(m2m_pubkey_hash_valid(KAT_HASH));
    assert_true(m2m_pubkey_hash_valid("74B92022CEE4DD50135727231937D52B7F77CB3DE2EE6601B8AEACACBE595069"));
    assert_false(m2m_pubkey_hash_valid(NULL));
    assert_false(m2m_pubkey_hash_valid(""));
    assert_false(m2m_pubkey_hash_valid("74b92022cee4dd50135727231937d52b7f77cb3de2ee6601b8aeacacbe59506"));
    assert_false(m2m_pubkey_hash_valid("74b92022cee4dd50135727231937d52b7f77cb3de2ee6601b8aeacacbe5950690"));
    assert_false(m2m_pubkey_hash_valid("74b92022cee4dd50135727231937d52b7f77cb3de2ee6601b8aeacacbe59506g"));
    assert_false(m2m_pubkey_hash_valid(" 74b92022cee4dd50135727231937d52b7f77cb3de2ee6601b8aeacacbe59506"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pkey_is_sha256_of_spki, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x509_equals_pkey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_key_differs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_file_form_same_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_file_gives_leaf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa_forms, setup, teardown),
        cmocka_unit_test(test_large_spki),
        cmocka_unit_test_setup_teardown(test_refusals_name_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encrypted_key_with_cert, setup, teardown),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
