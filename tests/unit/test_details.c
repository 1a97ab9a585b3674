/* SPDX-License-Identifier: Apache-2.0 */
/* Attachment-details INI parsing: the good files give the right fields, and every bad one is refused with a message
 * that names the file, the line and the key. The PKI keys (root-cert, ocsp-responder-cert, cert-file, chain-file,
 * token, token-file) are read from certificates made by pki_fixture.h. */
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

#include "fixture_tmpdir.h"
#include "m2mattach/keyid.h"
#include "pki_fixture.h"
#include "registree/details.h"

#define KEY16 "00112233445566778899aabbccddeeff"

static char dir[64];
static char ini[128];

static int setup(void **state)
{
    (void)state;
    if (fixture_mkdtemp(dir, sizeof dir, "details") != 0)
        return -1;
    snprintf(ini, sizeof ini, "%s/device.ini", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(dir);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* Writes text as device.ini with mode and loads it. */
static m2m_registree_config *load(const char *text, mode_t mode, m2m_err *err)
{
    write_file(ini, text, mode);
    return m2m_registree_config_load(ini, err);
}

/* Loads text as device.ini (mode 0600), which must succeed. */
static m2m_registree_config *load_ok(const char *text)
{
    m2m_err err = {0};
    m2m_registree_config *cfg = load(text, 0600, &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    return cfg;
}

/* load_ok for a file with mode, with stderr captured into captured (cap bytes). */
static m2m_registree_config *load_capturing(const char *text, mode_t mode, char *captured, size_t cap)
{
    char errpath[160];
    m2m_err err = {0};
    m2m_registree_config *cfg;
    int saved, fd;
    ssize_t n;

    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    fflush(stderr);
    saved = dup(2);
    fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    cfg = load(text, mode, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fd = open(errpath, O_RDONLY);
    n = read(fd, captured, cap - 1);
    close(fd);
    captured[n > 0 ? n : 0] = '\0';
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    return cfg;
}

/* Loads text as device.ini, expects failure, and checks that the message contains want. */
static void expect_error(const char *text, const char *want)
{
    m2m_err err = {0};
    m2m_registree_config *cfg = load(text, 0600, &err);
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
    cfg = load_ok(GOOD_AE);
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
    assert_int_equal(cfg->deadline_ms, 30000); /* issue 8: three timeouts for the whole exchange */
    snprintf(want_state, sizeof want_state, "%s.state", ini);
    assert_string_equal(m2m_registree_config_state_path(cfg), want_state);
    /* issue 4 defaults: resumption on, the generated key beside the details file, the default cipher list */
    assert_int_equal(cfg->resumption, 1);
    assert_int_equal(cfg->ciphers_set, 0);
    snprintf(want_state, sizeof want_state, "%s.generated.key", ini);
    assert_string_equal(m2m_registree_config_generated_key_path(cfg), want_state);
    m2m_registree_config_free(cfg);
    m2m_registree_config_free(NULL);
}

/* [tls] resumption and [state] generated-key-file (issue 4) */
static void test_resumption_and_generated_key_file(void **state)
{
    static const char *HEAD4 = "[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                               "app-id = Rx\n[credentials]\nkey-file = dev.key\n";
    char text[600], path[200], want[300];
    m2m_registree_config *cfg;
    (void)state;

    snprintf(path, sizeof path, "%s/dev.key", dir);
    write_file(path, KEY16 "\n", 0600);
    snprintf(text, sizeof text, "%s[tls]\nresumption = no\nciphers = ECDHE-PSK-AES128-CBC-SHA256\n"
             "[state]\ngenerated-key-file = keys/gen.key\n", HEAD4);
    cfg = load_ok(text);
    assert_int_equal(cfg->resumption, 0);
    assert_int_equal(cfg->ciphers_set, 1);
    snprintf(want, sizeof want, "%s/keys/gen.key", dir); /* relative to the details file */
    assert_string_equal(cfg->generated_key_path, want);
    m2m_registree_config_free(cfg);

    snprintf(text, sizeof text, "%s[tls]\nresumption = yes\n", HEAD4);
    cfg = load_ok(text);
    assert_int_equal(cfg->resumption, 1);
    m2m_registree_config_free(cfg);

    snprintf(text, sizeof text, "%s[tls]\nresumption = maybe\n", HEAD4);
    expect_error(text, "device.ini:10: [tls] resumption: 'maybe' is not one of yes, no");
    /* rekey replaces the generated-key file: it can be neither the state file nor the details key */
    snprintf(text, sizeof text, "%s[state]\nfile = s\ngenerated-key-file = s\n", HEAD4);
    expect_error(text, "device.ini:11: [state] generated-key-file: the generated-key file cannot be the state file");
    snprintf(text, sizeof text, "%s[state]\ngenerated-key-file = dev.key\n", HEAD4);
    expect_error(text, "device.ini:10: [state] generated-key-file: the generated-key file cannot be [credentials] "
                       "key-file");
}

static void test_good_cse_with_key_file(void **state)
{
    m2m_registree_config *cfg;
    char keypath[160], want[160];
    (void)state;
    snprintf(keypath, sizeof keypath, "%s/mn.key", dir);
    write_file(keypath, "  " KEY16 KEY16 "\n", 0600);
    cfg = load_ok("[registrar]\npoa = https://[::1]:9443/\ncse-id = /in-cse\n"
                  "[registree]\n  id = /mn-cse\n" /* indented: a key, not a continuation */
                  "[credentials]\nkey-file = mn.key\n"
                  "[tls]\nversion = auto\ntimeout = 3\ndeadline = 7\n"
                  "[state]\nfile = mn.state\n");
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
    assert_int_equal(cfg->deadline_ms, 7000);
    snprintf(want, sizeof want, "%s/mn.state", dir);
    assert_string_equal(cfg->state_path, want);
    m2m_registree_config_free(cfg);
}

static void test_port_defaults_to_443(void **state)
{
    m2m_registree_config *cfg;
    (void)state;
    cfg = load_ok("[registrar]\npoa = https://registrar.example.org\ncse-id = /in-cse\n"
                  "[registree]\nid = Cdev\napp-id = Napp\n[credentials]\nkey = " KEY16 "\n");
    assert_string_equal(cfg->host, "registrar.example.org");
    assert_string_equal(cfg->port, "443");
    assert_int_equal(cfg->binding, M2M_BINDING_HTTP);
    m2m_registree_config_free(cfg);
}

/* coaps:// selects the CoAP binding over DTLS (TS-0008), port 5684 by default (RFC 7252) */
static void test_coaps_poa(void **state)
{
    m2m_registree_config *cfg;
    (void)state;
    cfg = load_ok("[registrar]\npoa = coaps://registrar.example.org\ncse-id = /in-cse\n"
                  "[registree]\nid = Cdev\napp-id = Napp\n[credentials]\nkey = " KEY16 "\n");
    assert_int_equal(cfg->binding, M2M_BINDING_COAP);
    assert_string_equal(cfg->port, "5684");
    assert_string_equal(cfg->authority, "registrar.example.org:5684");
    m2m_registree_config_free(cfg);
    cfg = load_ok("[registrar]\npoa = COAPS://[::1]:15684/\ncse-id = /in-cse\n"
                  "[registree]\nid = Cdev\napp-id = Napp\n[credentials]\nkey = " KEY16 "\n");
    assert_int_equal(cfg->binding, M2M_BINDING_COAP);
    assert_string_equal(cfg->host, "::1");
    assert_string_equal(cfg->authority, "[::1]:15684");
    m2m_registree_config_free(cfg);
}

/* [coap]: the timers of a lossy link, with a coaps:// Registrar only */
static void test_coap_timers(void **state)
{
    m2m_registree_config *cfg;
    (void)state;
    cfg = load_ok("[registrar]\npoa = coaps://127.0.0.1\ncse-id = /in-cse\n[registree]\nid = Cdev\napp-id = Napp\n"
                  "[credentials]\nkey = " KEY16 "\n[coap]\nack-timeout = 0.25\nmax-retransmit = 6\n"
                  "handshake-timer = 3\ncontent-format = cbor\n");
    assert_int_equal(cfg->coap_cbor, 1);
    assert_int_equal(cfg->coap_ack_timeout_ms, 250);
    assert_int_equal(cfg->coap_max_retransmit, 6);
    assert_int_equal(cfg->coap_dtls_timer_ms, 3000);
    m2m_registree_config_free(cfg);
    expect_error("[registrar]\npoa = https://127.0.0.1\ncse-id = /in-cse\n[registree]\nid = Cdev\napp-id = Napp\n"
                 "[credentials]\nkey = " KEY16 "\n[coap]\nack-timeout = 1\n",
                 "device.ini:10: [coap] ack-timeout: belongs to a coaps:// Registrar");
    expect_error("[registrar]\npoa = coaps://127.0.0.1\ncse-id = /in-cse\n[registree]\nid = Cdev\napp-id = Napp\n"
                 "[credentials]\nkey = " KEY16 "\n[coap]\nack-timeout = 0.0001\n",
                 "'0.0001' is not a number of seconds from 0.01 to 60");
    expect_error("[registrar]\npoa = coaps://127.0.0.1\ncse-id = /in-cse\n[registree]\nid = Cdev\napp-id = Napp\n"
                 "[credentials]\nkey = " KEY16 "\n[coap]\nmax-retransmit = 0\n",
                 "'0' is not a number from 1 to 20");
    expect_error("[registrar]\npoa = coaps://127.0.0.1\ncse-id = /in-cse\n[registree]\nid = Cdev\napp-id = Napp\n"
                 "[credentials]\nkey = " KEY16 "\n[coap]\ncontent-format = xml\n",
                 "device.ini:10: [coap] content-format: 'xml' is not json or cbor");
    expect_error("[registrar]\npoa = coaps://127.0.0.1\ncse-id = /in-cse\n[registree]\nid = Cdev\napp-id = Napp\n"
                 "[credentials]\nkey = " KEY16 "\n[tls]\nversion = 1.3\n",
                 "a coaps:// Registrar speaks DTLS 1.2");
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
                 "device.ini:8: [credentials] key: character 5 is not hex"); /* where, never what */
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
        {"http://127.0.0.1:8443", "is not an https://HOST:PORT or coaps://HOST:PORT address"},
        {"coap://127.0.0.1:5683", "is not an https://HOST:PORT or coaps://HOST:PORT address"},
        {"coaps://127.0.0.1:5684/x", "unexpected '/x' after the host and port"},
        {"https://127.0.0.1:70000", "port must be a number from 1 to 65535"},
        {"https://127.0.0.1:", "port must be a number from 1 to 65535"},
        {"https://[::1:8443", "'[' without ']'"},
        {"https://[127.0.0.1]:8443", "is not an IPv6 address"},
        {"https://127.0.0.1:8443/in-cse", "unexpected '/in-cse' after the host and port"},
        {"https://user@host:8443", "unexpected '@host:8443'"},
        {"https://:8443", "has no host"},
        {"https://300.1.1.1:8443", "neither an IPv4 address nor a host name"},
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
                 "app-id = Rx\n[credentials]\nmechanism = x509\nkey = " KEY16 "\n",
                 "device.ini:8: [credentials] mechanism: 'x509' is not one of psk, cert, token");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\nversion = 1.1\n",
                 "device.ini:10: [tls] version: '1.1' is not one of auto, 1.2, 1.3");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\nciphers = NO-SUCH-CIPHER\n",
                 "device.ini:10: [tls] ciphers: OpenSSL knows no cipher suite in 'NO-SUCH-CIPHER'");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\ntimeout = 0\n",
                 "device.ini:10: [tls] timeout:");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\ndeadline = 0\n",
                 "device.ini:10: [tls] deadline: '0' is not a number of seconds from 1 to 86400");
    expect_error("[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\nid = Cdev\n"
                 "app-id = Rx\n[credentials]\nkey = " KEY16 "\n[tls]\ndeadline = 1.5\n",
                 "device.ini:10: [tls] deadline: '1.5' is not a number of seconds from 1 to 86400");
    expect_error("[registrar]\npoa =\n", "device.ini:2: [registrar] poa: empty value");
}

static void test_key_file_errors_and_warning(void **state)
{
    char keypath[160], text[512], captured[512];
    m2m_registree_config *cfg;
    (void)state;

    snprintf(text, sizeof text, "[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n[registree]\n"
             "id = Cdev\napp-id = Rx\n[credentials]\nkey-file = device.key\n");
    expect_error(text, "device.ini:8: [credentials] key-file: cannot open");

    snprintf(keypath, sizeof keypath, "%s/device.key", dir);
    write_file(keypath, "abc\n", 0600);
    expect_error(text, "device.key: hex value has an odd number of digits");

    /* group-readable: loads, with a warning on stderr */
    write_file(keypath, KEY16 "\n", 0640);
    cfg = load_capturing(text, 0600, captured, sizeof captured);
    m2m_registree_config_free(cfg);
    assert_true(strlen(captured) > 0);
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

/* ---- the PKI mechanisms (x.y.6 cert, x.y.7 token) ------------------------------------------------------------- */

static char pki[64]; /* made once for the group */

static const char *HEAD = "[registrar]\npoa = https://127.0.0.1:8443\ncse-id = /in-cse\n";
static const char *AE = "[registree]\nid = Cdev\napp-id = Rx\n";

/* "[registrar] ... REGISTRAR_EXTRA [registree] ... [credentials]\nCREDENTIALS" */
static void pki_ini(char *out, size_t cap, const char *registrar_extra, const char *credentials)
{
    snprintf(out, cap, "%s%s%s[credentials]\n%s", HEAD, registrar_extra, AE, credentials);
}

static void test_good_cert(void **state)
{
    char text[1024], want[200], captured[512];
    m2m_registree_config *cfg;
    (void)state;
    snprintf(text, sizeof text,
             "%sroot-cert = %s/root.crt\nocsp-responder-cert = %s/ocsp.crt\n%s[credentials]\nmechanism = cert\n"
             "cert-file = %s/device.crt\nkey-file = %s/device.key\nchain-file = %s/inter.crt\n",
             HEAD, pki, pki, AE, pki, pki, pki);
    cfg = load_capturing(text, 0644, captured, sizeof captured); /* no secret inline: no warning */
    assert_string_equal(captured, "");
    assert_int_equal(cfg->mechanism, M2M_MECH_CERT);
    assert_string_equal(m2m_mechanism_name(cfg->mechanism), "cert");
    assert_non_null(cfg->cert);
    assert_non_null(cfg->cert_key);
    assert_non_null(cfg->chain);
    assert_int_equal(sk_X509_num(cfg->chain), 1);
    assert_non_null(cfg->root_cert);
    assert_non_null(cfg->ocsp_cert);
    snprintf(want, sizeof want, "%s/root.crt", pki);
    assert_string_equal(cfg->root_cert_path, want);
    snprintf(want, sizeof want, "%s/ocsp.crt", pki);
    assert_string_equal(cfg->ocsp_cert_path, want);
    assert_string_equal(cfg->key_id, "");
    assert_null(cfg->token);
    assert_string_equal(cfg->ciphers, M2M_DEFAULT_TLS12_CERT_CIPHERS);
    assert_string_equal(m2m_registree_config_cse_id(cfg), "/in-cse");
    m2m_registree_config_free(cfg);
}

static void test_good_token_inline_and_relative_root(void **state)
{
    char text[1024], rel[200], captured[512];
    m2m_registree_config *cfg;
    (void)state;
    /* relative to the details file's directory: ../<pki dir>/root.crt */
    snprintf(rel, sizeof rel, "../%s/root.crt", strrchr(pki, '/') + 1);
    snprintf(text, sizeof text, "%sroot-cert = %s\n%s[credentials]\nmechanism = token\n"
             "token = Zm9vYmFyLWlkZW50aXR5LXRva2Vu\n", HEAD, rel, AE);
    cfg = load_capturing(text, 0640, captured, sizeof captured);
    assert_int_equal(cfg->mechanism, M2M_MECH_TOKEN);
    assert_string_equal(cfg->token, "Zm9vYmFyLWlkZW50aXR5LXRva2Vu");
    assert_non_null(cfg->root_cert);
    assert_null(cfg->ocsp_cert);
    assert_null(cfg->cert);
    assert_string_equal(cfg->ciphers, M2M_DEFAULT_TLS12_CERT_CIPHERS);
    /* an inline token in a file others may read */
    assert_non_null(strstr(captured, "device.ini holds a token inline and is accessible by group or others "
                                     "(mode 0640)"));
    assert_null(strstr(captured, "Zm9vYmFy"));
    m2m_registree_config_free(cfg);
}

static void test_good_token_file_with_warning(void **state)
{
    char text[1024], path[160], captured[512];
    m2m_registree_config *cfg;
    (void)state;
    snprintf(path, sizeof path, "%s/device.token", dir);
    write_file(path, "\n  q1w2e3r4t5y6u7i8o9p0aa==  \n", 0644);
    snprintf(text, sizeof text, "%sroot-cert = %s/root.crt\n%s[credentials]\nmechanism = token\n"
             "token-file = device.token\n", HEAD, pki, AE);
    cfg = load_capturing(text, 0600, captured, sizeof captured);
    assert_string_equal(cfg->token, "q1w2e3r4t5y6u7i8o9p0aa==");
    assert_non_null(strstr(captured, "warning: token file"));
    assert_non_null(strstr(captured, "device.token is accessible by group or others (mode 0644)"));
    m2m_registree_config_free(cfg);
}

static void test_cert_key_file_warning(void **state)
{
    char text[1024], path[160], captured[512], cmd[600];
    m2m_registree_config *cfg;
    (void)state;
    snprintf(path, sizeof path, "%s/device.key", dir);
    snprintf(cmd, sizeof cmd, "cp '%s/device.key' '%s' && chmod 604 '%s'", pki, path, path);
    assert_int_equal(system(cmd), 0);
    snprintf(text, sizeof text, "%sroot-cert = %s/root.crt\n%s[credentials]\nmechanism = cert\n"
             "cert-file = %s/device.crt\nkey-file = device.key\n", HEAD, pki, AE, pki);
    cfg = load_capturing(text, 0600, captured, sizeof captured);
    assert_non_null(strstr(captured, "device.key is accessible by group or others (mode 0604)"));
    assert_null(cfg->chain);
    m2m_registree_config_free(cfg);
}

static void test_psk_with_root_cert(void **state)
{
    char text[1024];
    m2m_registree_config *cfg;
    (void)state;
    snprintf(text, sizeof text, "%sroot-cert = %s/root.crt\n%s[credentials]\nkey = " KEY16 "\n", HEAD, pki, AE);
    cfg = load_ok(text);
    assert_int_equal(cfg->mechanism, M2M_MECH_PSK);
    assert_non_null(cfg->root_cert); /* checked, not used */
    assert_string_equal(cfg->ciphers, M2M_DEFAULT_TLS12_PSK_CIPHERS);
    m2m_registree_config_free(cfg);
}

static void test_mismatched_keys(void **state)
{
    char text[1024], root[200];
    (void)state;
    snprintf(root, sizeof root, "root-cert = %s/root.crt\n", pki);
    pki_ini(text, sizeof text, root, "mechanism = cert\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "device.ini:10: [credentials] token: not used with mechanism = cert (line 9); it belongs to "
                       "mechanism = token");
    pki_ini(text, sizeof text, root, "mechanism = token\ncert-file = d.crt\n");
    expect_error(text, "device.ini:10: [credentials] cert-file: not used with mechanism = token (line 9); it "
                       "belongs to mechanism = cert");
    pki_ini(text, sizeof text, root, "mechanism = token\nkey = " KEY16 "\n");
    expect_error(text, "device.ini:10: [credentials] key: not used with mechanism = token (line 9); it belongs to "
                       "mechanism = psk");
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken-file = t\nkey-file = k\n");
    expect_error(text, "device.ini:11: [credentials] key-file: not used with mechanism = token (line 9); it belongs "
                       "to mechanism = psk or cert");
    pki_ini(text, sizeof text, root, "mechanism = token\nchain-file = c.pem\n");
    expect_error(text, "device.ini:10: [credentials] chain-file: not used with mechanism = token");
    pki_ini(text, sizeof text, root, "token = abcdefghijklmnopqrstuv\n");
    expect_error(text, "device.ini:9: [credentials] token: not used with mechanism psk (the default: no mechanism is "
                       "set); it belongs to mechanism = token");
    pki_ini(text, sizeof text, "ocsp-responder-cert = ocsp.crt\n", "key = " KEY16 "\n");
    expect_error(text, "device.ini:4: [registrar] ocsp-responder-cert: not used with mechanism psk (the default: no "
                       "mechanism is set); it belongs to mechanism = cert or token");
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken = abcdefghijklmnopqrstuv\ntoken-file = t\n");
    expect_error(text, "device.ini:11: [credentials] token-file: both token (line 10) and token-file are set");
}

static void test_missing_pki_keys(void **state)
{
    char text[1024], root[200];
    (void)state;
    snprintf(root, sizeof root, "root-cert = %s/root.crt\n", pki);
    pki_ini(text, sizeof text, root, "mechanism = cert\nkey-file = k\n");
    expect_error(text, "device.ini: [credentials] cert-file: missing (required for mechanism cert");
    pki_ini(text, sizeof text, root, "mechanism = cert\ncert-file = c\n");
    expect_error(text, "device.ini: [credentials] key-file: missing (required for mechanism cert");
    pki_ini(text, sizeof text, "", "mechanism = cert\ncert-file = c\nkey-file = k\n");
    expect_error(text, "device.ini: [registrar] root-cert: missing (required for mechanism cert: the Registrar Root "
                       "Certificate)");
    pki_ini(text, sizeof text, root, "mechanism = token\n");
    expect_error(text, "device.ini: [credentials] token or token-file: missing (required for mechanism token");
    pki_ini(text, sizeof text, "", "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "device.ini: [registrar] root-cert: missing (required for mechanism token");
}

static void test_bad_tokens(void **state)
{
    char text[1024], root[200], path[160];
    m2m_err err = {0};
    (void)state;
    snprintf(root, sizeof root, "root-cert = %s/root.crt\n", pki);
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken = short-secret\n");
    expect_error(text, "device.ini:10: [credentials] token: the value is not an identity token (16 to 512 "
                       "characters");
    assert_null(strstr(err.msg, "short-secret")); /* never echoed */
    write_file(ini, text, 0600);
    assert_null(m2m_registree_config_load(ini, &err));
    assert_null(strstr(err.msg, "short-secret"));
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken = abcdefghij=klmnopqrstuv\n");
    expect_error(text, "is not an identity token"); /* padding only at the end */
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken = abcdefghijklmnop\"rstuv\n");
    expect_error(text, "is not an identity token");
    snprintf(path, sizeof path, "%s/two.token", dir);
    write_file(path, "abcdefghijklmnopqrstuv\nabcdefghijklmnopqrstuv\n", 0600);
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken-file = two.token\n");
    expect_error(text, "device.ini:10: [credentials] token-file: ");
    expect_error(text, "two.token is not an identity token");
    pki_ini(text, sizeof text, root, "mechanism = token\ntoken-file = none.token\n");
    expect_error(text, "device.ini:10: [credentials] token-file: cannot open ");
    assert_int_equal(m2m_token_syntax_ok("abcdefghijklmnopqrstuv"), 1);
    assert_int_equal(m2m_token_syntax_ok("abcd-fgh_jklm.op~r+t/v=="), 1);
    assert_int_equal(m2m_token_syntax_ok("================"), 0);
    assert_int_equal(m2m_token_syntax_ok(NULL), 0);
}

static void test_bad_certificates(void **state)
{
    char text[1024], opt[300], path[160], cmd[600];
    (void)state;
    pki_ini(text, sizeof text, "root-cert = nowhere.crt\n", "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "device.ini:4: [registrar] root-cert: cannot open ");
    expect_error(text, "nowhere.crt: No such file or directory");

    snprintf(path, sizeof path, "%s/garbage.crt", dir);
    write_file(path, "this is not PEM\n", 0600);
    pki_ini(text, sizeof text, "root-cert = garbage.crt\n", "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "device.ini:4: [registrar] root-cert: ");
    expect_error(text, "garbage.crt: no PEM certificate in it");

    snprintf(cmd, sizeof cmd, "cat '%s/root.crt' '%s/evil-root.crt' >'%s/two.crt'", pki, pki, dir);
    assert_int_equal(system(cmd), 0);
    pki_ini(text, sizeof text, "root-cert = two.crt\n", "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "two.crt holds 2 certificates; give only the Registrar Root Certificate");

    snprintf(opt, sizeof opt, "root-cert = %s/registrar.crt\n", pki);
    pki_ini(text, sizeof text, opt, "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "registrar.crt is not self-signed; give the Registrar Root Certificate");

    /* text after the certificate is a comment (as with PEM_read); a block that does not decode is damage */
    snprintf(cmd, sizeof cmd, "(cat '%s/root.crt'; echo '# the lab root') >'%s/commented.crt'", pki, dir);
    assert_int_equal(system(cmd), 0);
    pki_ini(text, sizeof text, "root-cert = commented.crt\n", "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    {
        m2m_err err = {0};
        m2m_registree_config *cfg = load(text, 0600, &err);
        if (cfg == NULL)
            fail_msg("a root certificate with a comment after it: %s", err.msg);
        m2m_registree_config_free(cfg);
    }
    snprintf(cmd, sizeof cmd, "(cat '%s/root.crt'; printf -- '-----BEGIN CERTIFICATE-----\\nMIIBxx\\n"
             "-----END CERTIFICATE-----\\n') >'%s/damaged.crt'", pki, dir);
    assert_int_equal(system(cmd), 0);
    pki_ini(text, sizeof text, "root-cert = damaged.crt\n", "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "damaged.crt: unreadable PEM data after the certificates");

    snprintf(opt, sizeof opt, "root-cert = %s/root.crt\nocsp-responder-cert = garbage.crt\n", pki);
    pki_ini(text, sizeof text, opt, "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n");
    expect_error(text, "device.ini:5: [registrar] ocsp-responder-cert: ");

    /* the private key: encrypted, not matching the certificate, absent */
    snprintf(opt, sizeof opt, "root-cert = %s/root.crt\n", pki);
    snprintf(cmd, sizeof cmd, "mechanism = cert\ncert-file = %s/device.crt\nkey-file = %s/device-enc.key\n", pki, pki);
    pki_ini(text, sizeof text, opt, cmd);
    expect_error(text, "device.ini:11: [credentials] key-file: ");
    expect_error(text, "device-enc.key is encrypted; m2mattach needs the key unencrypted");
    snprintf(cmd, sizeof cmd, "mechanism = cert\ncert-file = %s/device.crt\nkey-file = %s/registrar.key\n", pki, pki);
    pki_ini(text, sizeof text, opt, cmd);
    expect_error(text, "registrar.key is not the private key of cert-file ");
    snprintf(cmd, sizeof cmd, "mechanism = cert\ncert-file = %s/device.crt\nkey-file = %s/device.crt\n", pki, pki);
    pki_ini(text, sizeof text, opt, cmd);
    expect_error(text, "no PEM private key in ");
    snprintf(cmd, sizeof cmd, "mechanism = cert\ncert-file = %s/device.key\nkey-file = %s/device.key\n", pki, pki);
    pki_ini(text, sizeof text, opt, cmd);
    expect_error(text, "device.ini:10: [credentials] cert-file: ");
    expect_error(text, "device.key: no PEM certificate in it");
}

static void test_cert_ciphers(void **state)
{
    char text[1024], creds[400];
    (void)state;
    snprintf(creds, sizeof creds, "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n[tls]\nciphers = %s\n",
             "PSK-AES128-CBC-SHA256");
    snprintf(text, sizeof text, "%sroot-cert = %s/root.crt\n%s[credentials]\n%s", HEAD, pki, AE, creds);
    expect_error(text, "device.ini:12: [tls] ciphers: no certificate cipher suite in 'PSK-AES128-CBC-SHA256' "
                       "(mechanism token uses ECDHE-ECDSA suites, never PSK)");
    /* the IANA-style name is not OpenSSL's: OpenSSL would drop it silently from a list */
    snprintf(creds, sizeof creds, "mechanism = token\ntoken = abcdefghijklmnopqrstuv\n[tls]\nciphers = %s\n",
             "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CBC-SHA256");
    snprintf(text, sizeof text, "%sroot-cert = %s/root.crt\n%s[credentials]\n%s", HEAD, pki, AE, creds);
    expect_error(text, "device.ini:12: [tls] ciphers: OpenSSL knows no cipher suite named "
                       "'ECDHE-ECDSA-AES128-CBC-SHA256' (OpenSSL names, e.g. ECDHE-ECDSA-AES128-SHA256");
}

static int pki_setup(void **state)
{
    (void)state;
    return pki_make_tmp(pki, sizeof pki, "detpki");
}

static int pki_teardown(void **state)
{
    (void)state;
    return fixture_rmdir(pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_ae, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_cse_with_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumption_and_generated_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_defaults_to_443, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coaps_poa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coap_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_and_section, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_hex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_key_and_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_poa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_app_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_errors_and_warning, setup, teardown),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test_setup_teardown(test_good_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_token_inline_and_relative_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_token_file_with_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_key_file_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_psk_with_root_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_pki_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_ciphers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
