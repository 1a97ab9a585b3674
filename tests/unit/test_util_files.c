/* SPDX-License-Identifier: Apache-2.0 */
/* The one bounded reader (util/file.c), the one atomic writer (util/atomic_write.c) and the one certificate and key
 * loader (crypto/load.c): the limit holds on what is really read, missing and empty files only where asked, every
 * message names the file; the writer's mode ignores the umask, no-clobber never replaces, nothing is left behind;
 * the loader tells an encrypted key from a damaged file and never asks for a passphrase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto/load.h"
#include "fixture_tmpdir.h"
#include "util/atomic_write.h"
#include "util/file.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    return fixture_mkdtemp(dir, sizeof dir, "utilfiles");
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(dir);
}

static void path_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void write_bytes(const char *name, const void *data, size_t len, char *path, size_t cap)
{
    FILE *f;
    path_of(name, path, cap);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_read_limit_and_exact_size(void **state)
{
    char path[128];
    m2m_file_buf f;
    m2m_err err = {0};
    (void)state;
    write_bytes("ten", "0123456789", 10, path, sizeof path);
    assert_int_equal(m2m_file_read(path, 10, 0, &f, &err), 0);
    assert_int_equal(f.len, 10);
    assert_string_equal((const char *)f.data, "0123456789"); /* NUL-terminated */
    assert_true(S_ISREG(f.mode));
    m2m_file_buf_free(&f);
    assert_null(f.data);
    assert_int_equal(m2m_file_read(path, 9, 0, &f, &err), -1);
    assert_int_equal(err.code, M2M_E_PARSE);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "larger than 9 octets"));
    assert_null(f.data);
}

/* A file whose size stat does not tell (procfs says 0): the limit holds on what is read. */
static void test_read_limit_without_size(void **state)
{
    m2m_file_buf f;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_file_read("/proc/self/status", 16, 0, &f, &err), -1);
    assert_int_equal(err.code, M2M_E_PARSE);
    assert_non_null(strstr(err.msg, "/proc/self/status: larger than 16 octets"));
    assert_int_equal(m2m_file_read("/proc/self/status", 1 << 20, 0, &f, &err), 0);
    assert_true(f.len > 16);
    assert_int_equal(strlen((const char *)f.data), f.len);
    m2m_file_buf_free(&f);
}

static void test_read_missing_empty_and_kind(void **state)
{
    char path[128];
    m2m_file_buf f;
    m2m_err err = {0};
    (void)state;
    path_of("nothing", path, sizeof path);
    assert_int_equal(m2m_file_read(path, 100, 0, &f, &err), -1);
    assert_int_equal(err.code, M2M_E_IO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(m2m_file_read(path, 100, M2M_FILE_MISSING_OK, &f, &err), 1);
    assert_null(f.data);

    write_bytes("empty", "", 0, path, sizeof path);
    assert_int_equal(m2m_file_read(path, 100, 0, &f, &err), -1);
    assert_int_equal(err.code, M2M_E_PARSE);
    assert_non_null(strstr(err.msg, "empty file"));
    assert_int_equal(m2m_file_read(path, 100, M2M_FILE_EMPTY_OK, &f, &err), 0);
    assert_int_equal(f.len, 0);
    assert_string_equal((const char *)f.data, "");
    m2m_file_buf_free(&f);

    assert_int_equal(m2m_file_read(dir, 100, 0, &f, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(m2m_file_read("/dev/null", 100, M2M_FILE_ANY_KIND | M2M_FILE_EMPTY_OK, &f, &err), 0);
    assert_int_equal(f.len, 0);
    m2m_file_buf_free(&f);
}

/* A pipe (standard input, <(...)): read to its end, bounded too. */
static void test_fd_read_pipe(void **state)
{
    int p[2];
    m2m_file_buf f;
    m2m_err err = {0};
    char big[10000];
    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "hello", 5), 5);
    close(p[1]);
    assert_int_equal(m2m_fd_read(p[0], "standard input", 5, 0, &f, &err), 0);
    assert_string_equal((const char *)f.data, "hello");
    m2m_file_buf_free(&f);
    close(p[0]);

    memset(big, 'x', sizeof big);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], big, sizeof big), (ssize_t)sizeof big);
    close(p[1]);
    assert_int_equal(m2m_fd_read(p[0], "standard input", 9999, 0, &f, &err), -1);
    assert_non_null(strstr(err.msg, "standard input: larger than 9999 octets"));
    close(p[0]);
}

static void test_write_mode_ignores_umask(void **state)
{
    char path[128];
    struct stat st;
    m2m_err err = {0};
    int created = -1;
    mode_t old = umask(0);
    (void)state;
    path_of("key", path, sizeof path);
    assert_int_equal(m2m_write_atomic(path, "secret\n", 7, 0600, 0, &created, &err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    umask(077);
    path_of("cert", path, sizeof path);
    assert_int_equal(m2m_write_atomic(path, "public\n", 7, 0644, 0, NULL, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    umask(old);
    assert_int_equal(entries(), 2); /* no temporary file left */
}

static void test_write_replace_and_no_clobber(void **state)
{
    char path[128], back[64];
    m2m_err err = {0};
    int created = -1;
    (void)state;
    write_bytes("state", "old\n", 4, path, sizeof path);
    assert_int_equal(m2m_write_atomic(path, "new\n", 4, 0600, 0, &created, &err), 0);
    assert_int_equal(created, 0); /* replaced, not created: a rollback must not remove it */
    fixture_read_file(path, back, sizeof back);
    assert_string_equal(back, "new\n");

    assert_int_equal(m2m_write_atomic(path, "other\n", 6, 0600, M2M_WRITE_NO_CLOBBER, &created, &err), -1);
    assert_int_equal(err.code, M2M_E_EXISTS);
    assert_int_equal(created, 0);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "already exists"));
    fixture_read_file(path, back, sizeof back);
    assert_string_equal(back, "new\n");
    assert_int_equal(entries(), 1);

    path_of("no-such-dir/file", path, sizeof path);
    assert_int_equal(m2m_write_atomic(path, "x", 1, 0600, 0, &created, &err), -1);
    assert_int_equal(err.code, M2M_E_IO);
    assert_non_null(strstr(err.msg, "no-such-dir/file"));
    assert_int_equal(entries(), 1);
}

/* An encrypted key, then its certificate: the certificate is read, no passphrase is asked, the key is reported. */
static void test_load_encrypted_and_bundle(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long n;
    m2m_loaded got;
    m2m_err err = {0};
    (void)state;
    assert_non_null(key);
    assert_non_null(x);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 60));
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"pw"), 1);
    n = BIO_get_mem_data(bio, &mem);
    assert_int_equal(m2m_load_mem((unsigned char *)mem, (size_t)n, &got, &err), 0);
    assert_true(got.encrypted);
    assert_null(got.key);
    assert_int_equal(got.first, M2M_LOADED_NONE);
    assert_false(got.damaged);
    m2m_loaded_free(&got);

    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    n = BIO_get_mem_data(bio, &mem);
    assert_int_equal(m2m_load_mem((unsigned char *)mem, (size_t)n, &got, &err), 0);
    assert_true(got.encrypted);
    assert_int_equal(got.first, M2M_LOADED_CERT);
    assert_int_equal(sk_X509_num(got.certs), 1);
    assert_int_equal(X509_cmp(sk_X509_value(got.certs, 0), x), 0);
    m2m_loaded_free(&got);
    assert_int_equal(ERR_peek_error(), 0); /* nothing left for the next TLS call */

    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void test_load_damaged_and_missing(void **state)
{
    static const char text[] = "not a certificate\n";
    char path[128];
    m2m_loaded got;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(m2m_load_mem((const unsigned char *)text, strlen(text), &got, &err), 0);
    assert_int_equal(got.first, M2M_LOADED_NONE);
    assert_true(got.damaged);
    assert_false(got.encrypted);
    m2m_loaded_free(&got);
    path_of("absent.pem", path, sizeof path);
    assert_int_equal(m2m_load_file(path, &got, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(ERR_peek_error(), 0);
}

/* Text after the last PEM block is a comment, as it always was for PEM_read; a block that does not decode is not. */
static void test_load_trailing_text_and_broken_block(void **state)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    static const char trailing[] = "# issued for the lab\n";
    static const char broken[] = "-----BEGIN CERTIFICATE-----\nMIIBxx\n-----END CERTIFICATE-----\n";
    char *mem = NULL;
    long n;
    m2m_loaded got;
    m2m_err err = {0};
    (void)state;
    assert_int_equal(X509_set_pubkey(x, key), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 60));
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    assert_int_equal(BIO_write(bio, trailing, (int)strlen(trailing)), (int)strlen(trailing));
    n = BIO_get_mem_data(bio, &mem);
    assert_int_equal(m2m_load_mem((unsigned char *)mem, (size_t)n, &got, &err), 0);
    assert_int_equal(sk_X509_num(got.certs), 1);
    assert_false(got.damaged);
    m2m_loaded_free(&got);
    assert_int_equal(BIO_write(bio, broken, (int)strlen(broken)), (int)strlen(broken));
    n = BIO_get_mem_data(bio, &mem);
    assert_int_equal(m2m_load_mem((unsigned char *)mem, (size_t)n, &got, &err), 0);
    assert_int_equal(sk_X509_num(got.certs), 1);
    assert_true(got.damaged);
    m2m_loaded_free(&got);
    assert_int_equal(ERR_peek_error(), 0);
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_limit_and_exact_size, setup, teardown),
        cmocka_unit_test(test_read_limit_without_size),
        cmocka_unit_test_setup_teardown(test_read_missing_empty_and_kind, setup, teardown),
        cmocka_unit_test(test_fd_read_pipe),
        cmocka_unit_test_setup_teardown(test_write_mode_ignores_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_replace_and_no_clobber, setup, teardown),
        cmocka_unit_test(test_load_encrypted_and_bundle),
        cmocka_unit_test(test_load_trailing_text_and_broken_block),
        cmocka_unit_test_setup_teardown(test_load_damaged_and_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
