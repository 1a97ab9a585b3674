/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree state file: round trip, atomic replacement with mode 0600, and clear errors for damaged files. */
#include <dirent.h>
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
#include "registree/state.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    if (fixture_mkdtemp(dir, sizeof dir, "state") != 0)
        return -1;
    snprintf(path, sizeof path, "%s/device.state", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmdir(dir);
}

static void write_bytes(const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *text)
{
    write_bytes(text, strlen(text));
}

static m2m_reg_state sample(void)
{
    m2m_reg_state st = {0};
    st.registered = 1;
    snprintf(st.assigned_id, sizeof st.assigned_id, "Cdevice01");
    snprintf(st.resource, sizeof st.resource, "/in-cse/device01");
    snprintf(st.registrar_cse_id, sizeof st.registrar_cse_id, "/in-cse");
    snprintf(st.key_id, sizeof st.key_id, "0123456789abcdef0123456789abcdef");
    return st;
}

static void test_missing_file_is_not_registered(void **state)
{
    m2m_reg_state st;
    m2m_err err = {0};
    (void)state;
    memset(&st, 0x55, sizeof st);
    assert_int_equal(m2m_state_load(path, &st, &err), 0);
    assert_int_equal(st.registered, 0);
    assert_string_equal(st.assigned_id, "");
    assert_string_equal(st.key_id, "");
}

static void test_round_trip(void **state)
{
    m2m_reg_state in = sample(), out;
    m2m_err err = {0};
    (void)state;
    if (m2m_state_save(path, &in, &err) != 0)
        fail_msg("%s", err.msg);
    if (m2m_state_load(path, &out, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(out.registered, 1);
    assert_string_equal(out.assigned_id, "Cdevice01");
    assert_string_equal(out.resource, "/in-cse/device01");
    assert_string_equal(out.registrar_cse_id, "/in-cse");
    assert_string_equal(out.key_id, in.key_id);

    /* a replaced key: saving again replaces the file, not appends to it */
    snprintf(in.key_id, sizeof in.key_id, "ffffffffffffffffffffffffffffffff");
    assert_int_equal(m2m_state_save(path, &in, &err), 0);
    assert_int_equal(m2m_state_load(path, &out, &err), 0);
    assert_string_equal(out.key_id, "ffffffffffffffffffffffffffffffff");
}

/* issue 4: generated-key IDs and the two saved sessions (base64 of the DER, with what they are bound to) */
static void test_round_trip_sessions(void **state)
{
    m2m_reg_state *in = calloc(1, sizeof *in), *out = calloc(1, sizeof *out);
    m2m_err err = {0};
    char text[65536];
    (void)state;

    assert_non_null(in);
    assert_non_null(out);
    *in = sample();
    snprintf(in->generated_key_id, sizeof in->generated_key_id, "00112233445566778899aabbccddeeff");
    snprintf(in->previous_generated_key_id, sizeof in->previous_generated_key_id, "ffeeddccbbaa99887766554433221100");
    /* every length modulo 3, so that each base64 padding case is read back */
    for (size_t len = 1; len <= 5; len++) {
        for (size_t i = 0; i < len; i++)
            in->session[M2M_SLOT_DETAILS].der[i] = (unsigned char)(0xf0 + i);
        in->session[M2M_SLOT_DETAILS].der_len = len;
        snprintf(in->session[M2M_SLOT_DETAILS].binding, M2M_SESSION_FOR_MAX, "cert Cdevice01 /in-cse 0123 4567");
        in->session[M2M_SLOT_DETAILS].full_ms = 2.5;
        memset(in->session[M2M_SLOT_GENERATED].der, 0x41, M2M_SESSION_DER_MAX);
        in->session[M2M_SLOT_GENERATED].der_len = M2M_SESSION_DER_MAX;
        snprintf(in->session[M2M_SLOT_GENERATED].binding, M2M_SESSION_FOR_MAX, "psk Cdevice01 /in-cse %s -",
                 in->generated_key_id);
        if (m2m_state_save(path, in, &err) != 0)
            fail_msg("%s", err.msg);
        if (m2m_state_load(path, out, &err) != 0)
            fail_msg("%s", err.msg);
        assert_string_equal(out->generated_key_id, in->generated_key_id);
        assert_string_equal(out->previous_generated_key_id, in->previous_generated_key_id);
        for (int k = 0; k < M2M_SLOTS; k++) {
            assert_int_equal(out->session[k].der_len, in->session[k].der_len);
            assert_memory_equal(out->session[k].der, in->session[k].der, in->session[k].der_len);
            assert_string_equal(out->session[k].binding, in->session[k].binding);
        }
        assert_true(out->session[M2M_SLOT_DETAILS].full_ms == 2.5);
        assert_true(out->session[M2M_SLOT_GENERATED].full_ms == 0.0);
    }
    fixture_read_file(path, text, sizeof text);
    assert_non_null(strstr(text, "\nsession-for = cert Cdevice01 /in-cse 0123 4567\nsession-full-handshake-ms = 2.500\n"
                                 "session = 8PHy8/Q=\n"));
    assert_non_null(strstr(text, "\ngenerated-session = QUFB"));

    /* no session: no session lines */
    *in = sample();
    assert_int_equal(m2m_state_save(path, in, &err), 0);
    fixture_read_file(path, text, sizeof text);
    assert_null(strstr(text, "session"));
    /* a session without its binding is not written */
    in->session[M2M_SLOT_DETAILS].der_len = 3;
    assert_int_equal(m2m_state_save(path, in, &err), -1);
    m2m_state_wipe(in);
    free(in);
    free(out);
}

static void test_atomic_write_mode_0600(void **state)
{
    m2m_reg_state st = sample();
    m2m_err err = {0};
    struct stat sb;
    struct dirent *de;
    DIR *d;
    int entries = 0;
    mode_t old = umask(0); /* a permissive umask must not widen the file */
    (void)state;

    write_text("registered = 0\n");
    chmod(path, 0644);
    assert_int_equal(m2m_state_save(path, &st, &err), 0);
    umask(old);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    /* nothing left behind: the temporary file was renamed over the old one */
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            entries++;
    closedir(d);
    assert_int_equal(entries, 1);
}

static void test_save_failure_leaves_old_file(void **state)
{
    m2m_reg_state st = sample(), out;
    m2m_err err = {0};
    char bad[160];
    (void)state;
    /* A control character from a hostile Registrar must not forge a line; the old file stays as it was. */
    assert_int_equal(m2m_state_save(path, &st, &err), 0);
    snprintf(st.resource, sizeof st.resource, "/in-cse/x\nregistered = 0");
    assert_int_equal(m2m_state_save(path, &st, &err), -1);
    assert_non_null(strstr(err.msg, "control characters"));
    assert_int_equal(m2m_state_load(path, &out, &err), 0);
    assert_string_equal(out.resource, "/in-cse/device01");

    snprintf(bad, sizeof bad, "%s/no-such-dir/device.state", dir);
    st = sample();
    assert_int_equal(m2m_state_save(bad, &st, &err), -1);
    assert_int_equal(err.code, M2M_E_IO);
    assert_non_null(strstr(err.msg, "no-such-dir/device.state"));
}

static void expect_load_error_n(const char *text, size_t len, const char *want)
{
    m2m_reg_state st;
    m2m_err err = {0};
    write_bytes(text, len);
    if (m2m_state_load(path, &st, &err) == 0 || strstr(err.msg, want) == NULL || strstr(err.msg, path) == NULL)
        fail_msg("want error with \"%s\" naming the file, got \"%s\"", want, err.msg);
    assert_int_equal(st.registered, 0);
}

static void expect_load_error(const char *text, const char *want)
{
    expect_load_error_n(text, strlen(text), want);
}

static void test_garbled(void **state)
{
    (void)state;
    /* torn write: the last line has no newline */
    expect_load_error("registered = 1\nassigned-id = Cdev", "device.state:2: truncated line");
    expect_load_error("registered = 1\nassigned-id = Cdevice01\n", "registered = 1 without assigned-id");
    expect_load_error("", "no 'registered' line");
    expect_load_error("assigned-id = Cdevice01\n", "no 'registered' line");
    expect_load_error("registered = yes\n", "device.state:1: registered must be 0 or 1");
    expect_load_error("registered = 1\ngarbage\n", "device.state:2: expected key = value");
    expect_load_error("registered = 1\ncolour = blue\n", "device.state:2: unknown key 'colour'");
    expect_load_error("registered = 1\nregistered = 0\n", "device.state:2: registered appears twice");
    expect_load_error("registered = 0\nkey-id = 0123\n", "device.state:2: key-id must be 32 lowercase hex");
    expect_load_error_n("\x7f" "ELF\x02\x01\x01\0\0\0\n", 11, "device.state:1: NUL byte");
    expect_load_error("registered = 0\ngenerated-key-id = xyz\n",
                      "device.state:2: generated-key-id must be 32 lowercase hex");
    expect_load_error("registered = 0\nsession = AAA\nsession-for = x\n",
                      "device.state:2: session is not a saved session");
    expect_load_error("registered = 0\nsession = AA*A\nsession-for = x\n",
                      "device.state:2: session is not valid base64");
    expect_load_error("registered = 0\nsession = AAAA\n", "session without session-for");
    expect_load_error("registered = 0\ngenerated-session-for = psk x\n",
                      "generated-session-for without generated-session");
    expect_load_error("registered = 0\nsession-full-handshake-ms = fast\n",
                      "device.state:2: session-full-handshake-ms must be a number of milliseconds");
}

static void test_comments_and_blank_lines(void **state)
{
    m2m_reg_state st;
    m2m_err err = {0};
    (void)state;
    write_text("# comment\n\nregistered = 0\nkey-id =\n");
    assert_int_equal(m2m_state_load(path, &st, &err), 0);
    assert_int_equal(st.registered, 0);
    assert_string_equal(st.key_id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_file_is_not_registered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_mode_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_failure_leaves_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comments_and_blank_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
