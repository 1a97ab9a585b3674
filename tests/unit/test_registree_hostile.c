/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree against a hostile or broken Registrar (issue 8), scripted in a thread of this process over TLS-PSK:
 *  - one deadline bounds the whole exchange: a Registrar that trickles its answer a byte at a time (so no single
 *    wait ever runs out), or says nothing after the TCP connect, fails the call with M2M_E_TIMEOUT naming it and
 *    the [tls] deadline; at most 4 interim (1xx) responses are skipped, a "100 Continue" loop fails at the fifth;
 *  - the assigned ID must be the enrolled one (or, when the details file asks for assignment with C or S, a
 *    well-formed AE-ID of that kind): anything else fails (M2M_E_AUTH) and nothing is written to the state file;
 *  - responses are parsed strictly: a duplicate member or a NUL inside a string is a typed error, not a quietly
 *    truncated ID;
 *  - the state lock: a call finds the lock held (by the test, or by another handle in the middle of a rekey) and
 *    fails with M2M_E_BUSY before connecting, changing nothing; the rekey that holds it leaves a generated-key file
 *    and state that agree with each other and with the Registrar.
 * The peer's slowness is the peer's (it sleeps between bytes); the tests wait for nothing and time nothing. */
#include <fcntl.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/secret.h"
#include "fixture_registrar.h"
#include "fixture_tls_server.h"
#include "fixture_tmpdir.h"
#include "m2mattach/keyid.h"
#include "m2mattach/registree.h"
#include "registree/state.h"

#define KGN_LABEL "EXPORTER-oneM2M-Connection"
#define KEY_HEX "00112233445566778899aabbccddeeff"
static const unsigned char KEY[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

/* How the fake answers a request (the registration, or anything else once `later` is set). */
enum answer {
    A_ACCEPT,        /* 2001 with Cdevice01 / 2000 */
    A_BODY,          /* 2001 with `body` */
    A_TRICKLE,       /* 2001 headers announcing 100000 bytes, then one byte every 20 ms for at most 5 s */
    A_CONTINUE_LOOP, /* "100 Continue" again and again (every millisecond, for at most 10 s) */
    A_CONTINUE_4     /* four "100 Continue", then A_ACCEPT */
};

struct fake {
    struct fake_server srv;  /* its ctx: TLS-PSK, the details key or the generated one */
    enum answer registration, later;
    const char *body;        /* A_BODY */
    int accepts, requests;
    /* x.y.8 */
    unsigned char gen[32];
    char gen_id[M2M_KEYID_HEX_LEN + 1];
    int ngen;
    /* contention: at the <keyGeneration> request, the fake runs a second Registree's rekey with the same files */
    int contend;
    int second_rc, second_connected;
    m2m_code second_code;
    char second_msg[512];
    char dir[64], ini[128], state[160];
};

static int key_for(struct fake *f, const char *identity, size_t idlen, const unsigned char **key, size_t *keylen)
{
    if (f->ngen > 0 && idlen == M2M_KEYID_HEX_LEN && memcmp(identity, f->gen_id, idlen) == 0) {
        *key = f->gen;
        *keylen = sizeof f->gen;
    } else {
        *key = KEY; /* any other identity: the details key (AE or CSE alike) */
        *keylen = sizeof KEY;
    }
    return 1;
}

static unsigned int server_psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
    const unsigned char *key;
    size_t len;
    if (identity == NULL || !key_for(SSL_get_app_data(ssl), identity, strlen(identity), &key, &len) || max < len)
        return 0;
    memcpy(psk, key, len);
    return (unsigned int)len;
}

static int server_find_session_cb(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    const unsigned char *key;
    size_t len;
    *sess = NULL;
    if (!key_for(SSL_get_app_data(ssl), (const char *)id, idlen, &key, &len))
        return 1;
    *sess = fake_psk_session(ssl, key, len);
    return *sess != NULL;
}

static void trickle(struct fake *f, SSL *ssl, const char *ri)
{
    char head[300];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 201 Created\r\nX-M2M-RSC: 2001\r\nX-M2M-RI: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100000\r\n\r\n{",
                     ri);
    if (SSL_write(ssl, head, n) <= 0)
        return;
    for (int i = 0; i < 250 && !f->srv.stop; i++) {
        usleep(20 * 1000); /* the peer's pace */
        if (SSL_write(ssl, " ", 1) <= 0)
            return; /* the Registree gave up and closed */
    }
}

static void continue_loop(struct fake *f, SSL *ssl, int times)
{
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    for (int i = 0; i < times && !f->srv.stop; i++) {
        if (SSL_write(ssl, interim, sizeof interim - 1) <= 0)
            return;
        if (times > 4)
            usleep(1000);
    }
}

/* A second Registree with the same details and state files, from this thread (no cmocka asserts here). */
static void second_rekey(struct fake *f)
{
    m2m_err err = {0};
    m2m_registree_config *cfg = m2m_registree_config_load(f->ini, &err);
    m2m_registree *r = cfg != NULL ? m2m_registree_new(cfg, &err) : NULL;
    int accepts = f->accepts;
    m2m_attach_info info;

    f->second_rc = 0;
    f->second_code = err.code;
    snprintf(f->second_msg, sizeof f->second_msg, "%s", err.msg);
    if (r != NULL) {
        f->second_rc = m2m_registree_rekey(r, &info);
        f->second_code = m2m_registree_error_code(r);
        snprintf(f->second_msg, sizeof f->second_msg, "%s", m2m_registree_error(r));
    }
    f->second_connected = f->accepts != accepts;
    m2m_registree_free(r);
    m2m_registree_config_free(cfg);
}

static void key_generation(struct fake *f, SSL *ssl, const char *ri)
{
    unsigned char out[48];
    char kid[M2M_KEYID_HEX_LEN + 1], body[200];
    m2m_err err = {0};

    if (f->contend)
        second_rekey(f); /* while the first rekey holds the lock, before it has its answer */
    if (SSL_export_keying_material(ssl, out, sizeof out, KGN_LABEL, strlen(KGN_LABEL), NULL, 0, 0) != 1 ||
        m2m_keyid(M2M_KEY_KCA, out + 16, 32, kid, &err) != 0)
        abort();
    pthread_mutex_lock(&f->srv.mu);
    memcpy(f->gen, out + 16, 32);
    snprintf(f->gen_id, sizeof f->gen_id, "%s", kid);
    f->ngen++;
    pthread_mutex_unlock(&f->srv.mu);
    snprintf(body, sizeof body, "{\"m2m:kgn\":{\"ty\":10100,\"kcaid\":\"%s\",\"kid\":\"%s\"}}", kid, kid);
    fake_reply(ssl, "201 Created", "2001", ri, "", body);
}

static void answer(struct fake *f, SSL *ssl, const char *req)
{
    enum answer a = fake_is_registration(req) ? f->registration : f->later;
    char ri[64];

    fake_request_ri(req, ri, sizeof ri);
    if (strstr(req, "Content-Type: application/json;ty=10100\r\n") != NULL) {
        key_generation(f, ssl, ri);
        return;
    }
    switch (a) {
    case A_BODY:
        fake_reply(ssl, "201 Created", "2001", ri, "Content-Location: /in-cse/device01\r\n", f->body);
        break;
    case A_TRICKLE:
        trickle(f, ssl, ri);
        break;
    case A_CONTINUE_LOOP:
        continue_loop(f, ssl, 10000);
        break;
    case A_CONTINUE_4:
        continue_loop(f, ssl, 4);
        fake_reply_accept(ssl, req, ri, "");
        break;
    case A_ACCEPT:
        fake_reply_accept(ssl, req, ri, "");
        break;
    }
}

static void handle(SSL *ssl, void *arg)
{
    struct fake *f = arg;
    char req[8192];

    pthread_mutex_lock(&f->srv.mu);
    f->accepts++;
    pthread_mutex_unlock(&f->srv.mu);
    if (SSL_accept(ssl) != 1)
        return;
    while (fake_read_request(ssl, req, sizeof req) > 0) {
        pthread_mutex_lock(&f->srv.mu);
        f->requests++;
        pthread_mutex_unlock(&f->srv.mu);
        answer(f, ssl, req);
    }
}

/* device.ini for the fake: id and extra lines ([tls] ...) as given. */
static void write_ini(struct fake *f, const char *id, const char *extra)
{
    FILE *out = fopen(f->ini, "w");
    assert_non_null(out);
    fprintf(out,
            "[registrar]\npoa = https://127.0.0.1:%d\ncse-id = /in-cse\n"
            "[registree]\nid = %s\n%sname = device01\n"
            "[credentials]\nkey = " KEY_HEX "\n%s",
            f->srv.port, id, id[0] == '/' ? "" : "app-id = Rdemo\n", extra);
    fclose(out);
    chmod(f->ini, 0600);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    if (f == NULL || fake_registrar_open(&f->srv, "hostile", f->dir, f->ini, f->state) != 0)
        return -1;
    f->srv.ctx = SSL_CTX_new(TLS_server_method());
    if (f->srv.ctx == NULL || SSL_CTX_set_cipher_list(f->srv.ctx, "PSK") != 1)
        return -1;
    SSL_CTX_set_psk_server_callback(f->srv.ctx, server_psk_cb);
    SSL_CTX_set_psk_find_session_callback(f->srv.ctx, server_find_session_cb);
    if (fake_server_start(&f->srv, handle, f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    int rc = fake_registrar_close(&f->srv, f->dir);
    free(f);
    return rc;
}

/* An attach that must fail with code; its message goes to msg. */
static void attach_fails(struct fake *f, m2m_code code, char *msg, size_t cap)
{
    struct session s = open_session(f->ini);
    m2m_attach_info info;
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    snprintf(msg, cap, "%s", m2m_registree_error(s.r));
    if (m2m_registree_error_code(s.r) != code)
        fail_msg("code %s, not %s: %s", m2m_code_name(m2m_registree_error_code(s.r)), m2m_code_name(code), msg);
    close_session(&s);
}

static void expect_in(const char *msg, const char *want)
{
    if (strstr(msg, want) == NULL)
        fail_msg("\"%s\" not in: %s", want, msg);
}

/* The tail every deadline message carries: the Registrar, the budget, the setting and its file. */
static void expect_deadline(struct fake *f, const char *msg)
{
    char want[300];
    snprintf(want, sizeof want, "127.0.0.1:%d: the deadline passed ", f->srv.port);
    expect_in(msg, want);
    snprintf(want, sizeof want, "(the whole exchange with the Registrar may take 1 s: [tls] deadline of %s)", f->ini);
    expect_in(msg, want);
}

/* ---- item 10: one deadline for the whole exchange; a bounded number of interim responses --------------------- */

static void test_trickled_registration_answer_hits_deadline(void **state)
{
    struct fake *f = *state;
    char msg[512];

    /* each byte comes well within [tls] timeout (10 s): only the deadline can end this */
    f->registration = A_TRICKLE;
    write_ini(f, "Cdevice01", "[tls]\ndeadline = 1\n");
    attach_fails(f, M2M_E_TIMEOUT, msg, sizeof msg);
    expect_deadline(f, msg);
    assert_int_equal(access(f->state, F_OK), -1); /* nothing recorded */
}

static void test_trickled_request_answer_hits_deadline(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    char msg[512];

    f->later = A_TRICKLE;
    write_ini(f, "Cdevice01", "[tls]\ndeadline = 1\n");
    s = open_session(f->ini);
    session_attach(&s, &info); /* registered; the connection is kept */
    assert_int_equal(m2m_registree_send(s.r, &req, &reply), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_TIMEOUT);
    snprintf(msg, sizeof msg, "%s", m2m_registree_error(s.r));
    expect_deadline(f, msg);
    m2m_reply_free(&reply);
    close_session(&s);
}

static void test_silent_registrar_hits_deadline_in_handshake(void **state)
{
    struct fake *f = *state;
    char msg[512];
    int port = 0, fd = fixture_listen_loopback(&port);

    /* a socket that completes the TCP handshake (the kernel does) and then says nothing */
    assert_true(fd >= 0);
    f->srv.port = port;
    write_ini(f, "Cdevice01", "[tls]\ndeadline = 1\n");
    attach_fails(f, M2M_E_TIMEOUT, msg, sizeof msg);
    close(fd);
    expect_deadline(f, msg);
    expect_in(msg, "TLS handshake with ");
}

static void test_continue_loop_refused(void **state)
{
    struct fake *f = *state;
    char msg[512], want[200];

    f->registration = A_CONTINUE_LOOP;
    write_ini(f, "Cdevice01", "[tls]\ndeadline = 1\n");
    attach_fails(f, M2M_E_PROTO, msg, sizeof msg);
    snprintf(want, sizeof want, "127.0.0.1:%d: more than 4 interim (1xx) HTTP responses before the final one",
             f->srv.port);
    assert_string_equal(msg, want);
    assert_int_equal(access(f->state, F_OK), -1);

    /* four are fine */
    f->registration = A_CONTINUE_4;
    {
        struct session s = open_session(f->ini);
        m2m_attach_info info;
        session_attach(&s, &info);
        assert_int_equal(info.created, 1);
        close_session(&s);
    }
}

/* ---- item 11: the assigned ID ---------------------------------------------------------------------------------- */

static void test_foreign_assigned_id_refused(void **state)
{
    static const char *const bodies[] = {
        "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cattacker\",\"api\":\"Rdemo\"}}",
        "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"/Cdevice01\",\"api\":\"Rdemo\"}}",
        "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cdevice010\",\"api\":\"Rdemo\"}}",
    };
    static const char *const shown[] = {"'Cattacker'", "'/Cdevice01'", "'Cdevice010'"};
    struct fake *f = *state;
    char msg[512], want[300];

    write_ini(f, "Cdevice01", "");
    f->registration = A_BODY;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        f->body = bodies[i];
        attach_fails(f, M2M_E_AUTH, msg, sizeof msg);
        snprintf(want, sizeof want, "registration with Registrar 127.0.0.1:%d: it assigned AE-ID %s, not Cdevice01, "
                 "the ID enrolled for this Registree ([registree] id of %s); nothing recorded", f->srv.port, shown[i],
                 f->ini);
        assert_string_equal(msg, want);
        assert_int_equal(access(f->state, F_OK), -1);
    }
    /* the enrolled ID itself: recorded */
    f->registration = A_ACCEPT;
    {
        struct session s = open_session(f->ini);
        m2m_attach_info info;
        m2m_reg_state st;
        m2m_err err = {0};
        session_attach(&s, &info);
        close_session(&s);
        assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
        assert_string_equal(st.assigned_id, "Cdevice01");
    }
}

static void test_cse_id_must_be_enrolled_one(void **state)
{
    struct fake *f = *state;
    char msg[512];

    write_ini(f, "/mn-cse", "");
    f->registration = A_BODY;
    f->body = "{\"m2m:csr\":{\"rn\":\"device01\",\"csi\":\"/in-cse\",\"cb\":\"/mn-cse/cb\"}}";
    attach_fails(f, M2M_E_AUTH, msg, sizeof msg);
    expect_in(msg, "it assigned CSE-ID '/in-cse', not /mn-cse, the ID enrolled for this Registree");
    assert_int_equal(access(f->state, F_OK), -1);
}

static void test_assignment_requested_with_c(void **state)
{
    static const char *const bad[] = {
        "{\"m2m:ae\":{\"aei\":\"Sdevice01\"}}", /* asked for C */
        "{\"m2m:ae\":{\"aei\":\"C\"}}",         /* no ID at all */
        "{\"m2m:ae\":{\"aei\":\"/Cdevice01\"}}",
        "{\"m2m:ae\":{\"aei\":\"Cdev/../x\"}}",
    };
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    char msg[512];

    write_ini(f, "C", "");
    f->registration = A_BODY;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f->body = bad[i];
        attach_fails(f, M2M_E_AUTH, msg, sizeof msg);
        expect_in(msg, "', but [registree] id = C of ");
        expect_in(msg, " asks for an AE-ID that starts with C (then letters, digits, '-', '.', '_', '~'); nothing "
                       "recorded");
        assert_int_equal(access(f->state, F_OK), -1);
    }
    f->body = "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cassigned7\",\"api\":\"Rdemo\"}}";
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_string_equal(info.assigned_id, "Cassigned7");
    close_session(&s);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.assigned_id, "Cassigned7");
}

/* ---- items 5 and 12: strict JSON in responses ------------------------------------------------------------------ */

static void test_ambiguous_responses_refused(void **state)
{
    static const struct {
        const char *body, *why;
    } cases[] = {
        {"{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cdevice01\\u0000evil\",\"api\":\"Rdemo\"}}",
         "the 2001 response body: string m2m:ae.aei holds a NUL character (\\u0000)"},
        {"{\"m2m:ae\":{\"aei\":\"Cdevice01\",\"aei\":\"Cattacker\"}}",
         "the 2001 response body: duplicate member \"aei\" in m2m:ae"},
        {"{\"m2m:ae\":{\"aei\":\"Cdevice01\"},\"m2m:ae\":{\"aei\":\"Cattacker\"}}",
         "the 2001 response body: duplicate member \"m2m:ae\" at the top level"},
    };
    struct fake *f = *state;
    char msg[512], want[300];

    write_ini(f, "Cdevice01", "");
    f->registration = A_BODY;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f->body = cases[i].body;
        attach_fails(f, M2M_E_PROTO, msg, sizeof msg);
        snprintf(want, sizeof want, "registration with Registrar 127.0.0.1:%d: %s", f->srv.port, cases[i].why);
        assert_string_equal(msg, want);
        assert_int_equal(access(f->state, F_OK), -1);
    }
}

/* ---- item 13: the state lock ----------------------------------------------------------------------------------- */

/* Holds the state lock as another process would. Returns the descriptor. */
static int hold_lock(struct fake *f)
{
    char path[200];
    int fd;
    snprintf(path, sizeof path, "%s.lock", f->state);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    return fd;
}

static void test_held_lock_makes_every_call_busy(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    char want[600], gen_path[200];
    int fd;

    write_ini(f, "Cdevice01", "");
    snprintf(gen_path, sizeof gen_path, "%s.generated.key", f->ini);
    snprintf(want, sizeof want, "%s.lock is locked: another attach, rekey or request with state file %s is running",
             f->state, f->state);
    fd = hold_lock(f);
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_BUSY);
    expect_in(m2m_registree_error(s.r), want);
    assert_int_equal(m2m_registree_rekey(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_BUSY);
    assert_int_equal(m2m_registree_send(s.r, &req, &reply), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_BUSY);
    m2m_reply_free(&reply);
    /* nothing was sent, nothing written */
    assert_int_equal(fake_server_count(&f->srv, &f->accepts), 0);
    assert_int_equal(access(f->state, F_OK), -1);
    assert_int_equal(access(gen_path, F_OK), -1);

    /* released: the same handle gets in, and no lock outlives a call */
    close(fd);
    session_attach(&s, &info);
    assert_int_equal(info.created, 1);
    fd = hold_lock(f);
    close(fd);
    close_session(&s);
}

static void test_second_rekey_during_rekey_is_busy(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    char gen_path[200], text[200], want[400], file_id[M2M_KEYID_HEX_LEN + 1];
    m2m_secret key = {0};

    write_ini(f, "Cdevice01", "[tls]\ntimeout = 2\n");
    snprintf(gen_path, sizeof gen_path, "%s.generated.key", f->ini);
    f->contend = 1;
    s = open_session(f->ini);
    if (m2m_registree_rekey(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    close_session(&s);

    /* the second Registree, started while the first held the lock, failed at once without connecting */
    assert_int_equal(f->second_rc, -1);
    assert_int_equal(f->second_code, M2M_E_BUSY);
    assert_int_equal(f->second_connected, 0);
    snprintf(want, sizeof want, "%s.lock is locked", f->state);
    expect_in(f->second_msg, want);
    assert_int_equal(f->ngen, 1);

    /* the files agree with each other and with the Registrar */
    fixture_read_file(gen_path, text, sizeof text);
    assert_int_equal(m2m_secret_from_hex(&key, text, gen_path, &err), 0);
    assert_int_equal(m2m_keyid(M2M_KEY_KCA, key.bytes, key.len, file_id, &err), 0);
    m2m_secret_clear(&key);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.generated_key_id, file_id);
    assert_string_equal(info.generated_key_id, file_id);
    assert_string_equal(f->gen_id, file_id);

    /* and the generated key gets in */
    f->contend = 0;
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.generated_key, 1);
    assert_string_equal(info.key_id, file_id);
    close_session(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trickled_registration_answer_hits_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trickled_request_answer_hits_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_registrar_hits_deadline_in_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_loop_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_assigned_id_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cse_id_must_be_enrolled_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assignment_requested_with_c, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ambiguous_responses_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_lock_makes_every_call_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_rekey_during_rekey_is_busy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
