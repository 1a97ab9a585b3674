/* Attachment-details INI parsing: the good files give the right fields, and every bad one is refused with a message
 * that names the file, the line and the key. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "m2mattach/keyid.h"
#include "registree/details.h"

#define KEY16 "00112233445566778899aabbccddeeff"

static char dir[64];
static char ini[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/m2m-details-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(ini, sizeof ini, "%s/device.ini", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* Loads text as device.ini, expects failure, and checks that the message contains want. */
static void expect_error(const char *text, const char *want)
{
    m2m_err err = {0};
    m2m_registree_config *cfg;
    write_file(ini, text, 0600);
    cfg = m2m_registree_config_load(ini, &err);
    if (cfg != NULL || strstr(err.msg, want) == NULL)
        fail_msg("want error containing \"%s\", got %s \"%s\"", want, cfg ? "success" : "error", err.msg);
    assert_int_not_equal(err.code, M2M_OK);
}

static const char *GOOD_AE = "; a Registree AE\n"
                             "[registrar]\n"
                             "poa = https://127.0.0.1:8443      ; required\n"
                             "cse-id = /in-cse\n"
                             "[registree]\n"
                             "id = Cdevice01\n"
                             "app-id = Rdemo\n"
                             "name = device01\n"
                             "[credentials]\n"
                             "mechanism = psk\n"
                             "key = " KEY16 "\n"
                             "[tls]\n"
                             "version = 1.2\n";

static void test_good_ae(void **state)
{
    m2m_err err = {0};
    m2m_registree_config *cfg;
    char id[M2M_KEYID_HEX_LEN + 1], want_state[160];
    static const unsigned char key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    (void)state;
    write_file(ini, GOOD_AE, 0600);
    cfg = m2m_registree_config_load(ini, &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->host, "127.0.0.1");
    assert_string_equal(cfg->port, "8443");
    assert_string_equal(cfg->authority, "127.0.0.1:8443");
    assert_string_equal(cfg->cse_id, "/in-cse");
    assert_string_equal(cfg->id, "Cdevice01");
    assert_false(cfg->is_cse);
    assert_string_equal(cfg->app_id, "Rdemo");
    assert_string_equal(cfg->name, "device01");
    assert_null(cfg->cse_base);
    assert_int_equal(cfg->key.len, 16);
    assert_memory_equal(cfg->key.bytes, key, 16);
    assert_int_equal(cfg->key_kind, M2M_KEY_KCA);
    assert_int_equal(m2m_keyid(M2M_KEY_KCA, key, 16, id, &err), 0);
    assert_string_equal(cfg->key_id, id);
    assert_int_equal(cfg->tls_range, M2M_TLS_ONLY_1_2);
    assert_string_equal(cfg->ciphers, M2M_DEFAULT_TLS12_PSK_CIPHERS);
    assert_int_equal(cfg->timeout_ms, 10000);
    snprintf(want_state, sizeof want_state, "%s.state", ini);
    assert_string_equal(m2m_registree_config_state_path(cfg), want_state);
    m2m_registree_config_free(cfg);
    m2m_registree_config_free(NULL);
}

static void test_good_cse_with_key_file(void **state)
{
    m2m_err err = {0};
    m2m_registree_config *cfg;
    char keypath[160], want[160];
    (void)state;
    snprintf(keypath, sizeof keypath, "%s/mn.key", dir);
    write_file(keypath, "  " KEY16 KEY16 "\n", 0600);
    write_file(ini,
               "[registrar]\npoa = https://[::1]:9443/\ncse-id = /in-cse\n"
               "[registree]\n  id = /mn-cse\n" /* indented: a key, not a continuation */
               "[credentials]\nkey-file = mn.key\n"
               "[tls]\nversion = auto\ntimeout = 3\n"
               "[state]\nfile = mn.state\n",
               0600);
    cfg = m2m_registree_config_load(ini, &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->host, "::1");
    assert_string_equal(cfg->authority, "[::1]:9443");
    assert_true(cfg->is_cse);
    assert_string_equal(cfg->name, "mn-cse");
    assert_string_equal(cfg->cse_base, "cb");
    assert_null(cfg->app_id);
    assert_int_equal(cfg->key.len, 32);
    assert_int_equal(cfg->key_kind, M2M_KEY_KCC);
    assert_int_equal(cfg->tls_range, M2M_TLS_AUTO);
    assert_int_equal(cfg->timeout_ms, 3000);
    snprintf(want, sizeof want, "%s/mn.state", dir);
    assert_string_equal(cfg->state_path, want);
    m2m_registree_config_free(cfg);
}

static void test_port_defaults_to_443(void **state)
{
    m2m_err err = {0};
    m2m_registree_config *cfg;
    (void)state;
    write_file(ini,
               "[registrar]\npoa = https://registrar.example.org\ncse-id = /in-cse\n"
               "[registree]\nid = Cdev\napp-id = Napp\n[credentials]\nkey = " KEY16 "\n",
               0600);
    cfg = m2m_registree_config_load(ini, &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(cfg->host, "registrar.example.org");
    assert_string_equal(cfg->port, "443");
    m2m_registree_config_free(cfg);
}

static void test_missing_required(void **state)
{
    (void)state;
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\n[registree]\nid = Cdev\napp-id = Rx\n"
                 "[credentials]\nkey = " KEY16 "\n",
                 "device.ini: [registrar] cse-id: missing (required)");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\napp-id = Rx\n"
                 "[credentials]\nkey = " KEY16 "\n",
                 "device.ini: [registree] id: missing (required)");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "[credentials]\nkey = " KEY16 "\n",
                 "device.ini: [registree] app-id: missing (required for an AE)");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nmechanism = psk\n",
                 "device.ini: [credentials] key or key-file: missing");
}

static void test_unknown_key_and_section(void **state)
{
    (void)state;
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\ncolour = blue\n",
                 "device.ini:4: [registrar] colour: unknown key");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\n\n[registrr]\n",
                 "device.ini:4: unknown section [registrr]");
    expect_error("poa = https://127.0.0.1:8443\n", "device.ini:1: poa: key outside any [section]");
    expect_error("[registrar]\ncse-id = /a\ncse-id = /b\n",
                 "device.ini:3: [registrar] cse-id: set twice (first on line 2)");
    expect_error("[registrar]\nthis line has no equals sign\n", "device.ini:2: expected [section], key = value");
}

static void test_odd_hex(void **state)
{
    (void)state;
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = 0011223\n",
                 "device.ini:8: [credentials] key: hex value has an odd number of digits");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = 0011zz33445566778899aabbccddeeff\n",
                 "device.ini:8: [credentials] key: 'zz' at offset 4 is not hex");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = 0011223344556677\n",
                 "device.ini:8: [credentials] key: the key is 8 octets; a PSK has 16 to 64");
}

static void test_both_key_and_key_file(void **state)
{
    (void)state;
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\nkey-file = device.key\n",
                 "device.ini:9: [credentials] key-file: both key (line 8) and key-file are set");
}

static void test_bad_poa(void **state)
{
    static const char *const bad[][2] = {
        {"http://127.0.0.1:8443", "is not an https://HOST:PORT address"},
        {"https://127.0.0.1:70000", "port must be a number from 1 to 65535"},
        {"https://127.0.0.1:", "port must be a number from 1 to 65535"},
        {"https://[::1:8443", "'[' without ']'"},
        {"https://[127.0.0.1]:8443", "is not an IPv6 address"},
        {"https://127.0.0.1:8443/in-cse", "unexpected '/in-cse' after the host and port"},
        {"https://user@host:8443", "unexpected '@host:8443'"},
        {"https://:8443", "has no host"},
        {"https://300.1.1.1:8443", "neither an IPv4 address nor a host name"},
        {"coaps://127.0.0.1:5684", "coaps:// is not supported yet"},
    };
    char text[512], want[256];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "[registrar]\ncse-id = /in-cse\npoa = %s\n[registree]\nid = Cdev\napp-id = Rx\n"
                 "[credentials]\nkey = " KEY16 "\n", bad[i][0]);
        expect_error(text, "device.ini:3: [registrar] poa: ");
        snprintf(want, sizeof want, "%s", bad[i][1]);
        expect_error(text, want);
    }
}

static void test_bad_app_id(void **state)
{
    (void)state;
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Xdemo\n[credentials]\nkey = " KEY16 "\n",
                 "device.ini:6: [registree] app-id: 'Xdemo' is not an App-ID (it must start with R, r or N)");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = /mn-cse\n"
                 "app-id = Rdemo\n[credentials]\nkey = " KEY16 "\n",
                 "device.ini:6: [registree] app-id: only an AE has an App-ID");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rdemo\ncse-base = cb\n[credentials]\nkey = " KEY16 "\n",
                 "device.ini:7: [registree] cse-base: only a CSE has a CSEBase");
}

static void test_other_values(void **state)
{
    (void)state;
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = in-cse\n", "device.ini:3: [registrar] cse-id:");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = C dev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n",
                 "device.ini:5: [registree] id: 'C dev' is neither an AE-ID nor a CSE-ID");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nmechanism = cert\nkey = " KEY16 "\n",
                 "device.ini:8: [credentials] mechanism: mechanism 'cert' is not supported");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\nversion = 1.1\n",
                 "device.ini:10: [tls] version: '1.1' is not one of auto, 1.2, 1.3");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\nciphers = NO-SUCH-CIPHER\n",
                 "device.ini:10: [tls] ciphers: OpenSSL knows no cipher suite in 'NO-SUCH-CIPHER'");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\ntimeout = 0\n",
                 "device.ini:10: [tls] timeout:");
    expect_error("[registrar]\npoa =\n", "device.ini:2: [registrar] poa: empty value");
}

static void test_key_file_errors_and_warning(void **state)
{
    char keypath[160], errpath[160], text[512], captured[512] = "";
    m2m_err err = {0};
    m2m_registree_config *cfg;
    int saved, fd;
    ssize_t n;
    (void)state;

    snprintf(text, sizeof text, "[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\n"
             "id = Cdev\napp-id = Rx\n[credentials]\nkey-file = device.key\n");
    expect_error(text, "device.ini:8: [credentials] key-file: cannot open");

    snprintf(keypath, sizeof keypath, "%s/device.key", dir);
    write_file(keypath, "abc\n", 0600);
    expect_error(text, "device.key: hex value has an odd number of digits");

    /* group-readable: loads, with a warning on stderr */
    write_file(keypath, KEY16 "\n", 0640);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    fflush(stderr);
    saved = dup(2);
    fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    write_file(ini, text, 0600);
    cfg = m2m_registree_config_load(ini, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    m2m_registree_config_free(cfg);
    fd = open(errpath, O_RDONLY);
    n = read(fd, captured, sizeof captured - 1);
    close(fd);
    assert_true(n > 0);
    assert_non_null(strstr(captured, "warning: key file"));
    assert_non_null(strstr(captured, "device.key is accessible by group or others (mode 0640)"));
}

static void test_missing_file(void **state)
{
    m2m_err err = {0};
    (void)state;
    assert_null(m2m_registree_config_load("/nonexistent/device.ini", &err));
    assert_int_equal(err.code, M2M_E_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/device.ini: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_ae, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_cse_with_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_defaults_to_443, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_and_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_key_and_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_poa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_app_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_errors_and_warning, setup, teardown),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
