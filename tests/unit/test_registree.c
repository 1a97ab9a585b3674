/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree API against a scripted Registrar in a thread of this process (TLS-PSK with OpenSSL, canned HTTP
 * answers): Step 5 happens once and is recorded; re-attachment skips it; a refusal names the RSC and the reason;
 * keep-alive connections are reused, Connection: close and idle closes lead to a new connection; a response to
 * another request is refused.
 * Issue 4: the session is kept and resumed (TLS 1.2 and 1.3; in TLS 1.3 an external-PSK handshake is not taken
 * for a resumption), an unusable ticket gives a full handshake and is replaced, resumption can be switched off;
 * key generation stores the exporter key only when the IDs match, later attachments use it, and a generated key
 * that is refused or damaged falls back (to the previous generated key, then to the details key) and is
 * discarded. The real Registrar is exercised by the integration tests (cli_resume_rekey.sh). */
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <pthread.h>
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

enum mode {
    M_NORMAL,      /* 2001 to the registration, 2000 to anything else, keep-alive */
    M_REFUSE,      /* 4117 with a reason */
    M_CLOSE_HDR,   /* answers with Connection: close, then closes */
    M_IDLE_CLOSE,  /* answers normally, then closes the connection without saying so */
    M_WRONG_RI     /* answers with another request ID */
};

enum kgn_mode {
    K_OK,          /* keyGeneration: 2001 with the ID of the exporter key, which becomes acceptable */
    K_WRONG_KID,   /* 2001 with another ID */
    K_REFUSE,      /* 4005 with a reason */
    K_DROP         /* the key is made (and acceptable), then the connection drops before the answer */
};

struct fake {
    struct fake_server srv;          /* its ctx: TLS-PSK with the details key and the generated ones */
    char identity[M2M_KEYID_HEX_LEN + 1];
    enum mode mode;
    int accepts, requests;
    char last[8192];   /* the last request, as received */
    /* issue 4 */
    enum kgn_mode kgn;
    int refuse_details;              /* the PSK callbacks refuse the details key */
    int refuse_generated;            /* ... and the generated keys */
    unsigned char gen[4][32];        /* the keys generated so far, newest last */
    char gen_id[4][M2M_KEYID_HEX_LEN + 1];
    int ngen;
    int psk_seen;                    /* this connection: a PSK callback gave a key (not a resumption) */
    int resumed;                     /* handshakes that resumed a ticket */
    char identity_used[M2M_KEYID_HEX_LEN + 1]; /* the PSK identity of the last full handshake */
    char dir[64], ini[128], state[160];
};

/* The key for identity: the details key, or a generated one, unless refused. */
static int key_for(struct fake *f, const char *identity, size_t idlen, const unsigned char **key, size_t *keylen)
{
    if (idlen == strlen(f->identity) && memcmp(identity, f->identity, idlen) == 0 && !f->refuse_details) {
        *key = KEY;
        *keylen = sizeof KEY;
        return 1;
    }
    for (int i = 0; i < f->ngen && !f->refuse_generated; i++)
        if (idlen == M2M_KEYID_HEX_LEN && memcmp(identity, f->gen_id[i], idlen) == 0) {
            *key = f->gen[i];
            *keylen = sizeof f->gen[i];
            return 1;
        }
    return 0;
}

static unsigned int server_psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
    struct fake *f = SSL_get_app_data(ssl);
    const unsigned char *key;
    size_t len;
    if (identity == NULL || !key_for(f, identity, strlen(identity), &key, &len) || max < len)
        return 0;
    memcpy(psk, key, len);
    f->psk_seen = 1;
    snprintf(f->identity_used, sizeof f->identity_used, "%s", identity);
    return (unsigned int)len;
}

static int server_find_session_cb(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    struct fake *f = SSL_get_app_data(ssl);
    const unsigned char *key;
    size_t len;
    SSL_SESSION *s;
    *sess = NULL;
    if (!key_for(f, (const char *)id, idlen, &key, &len))
        return 1;
    if ((s = fake_psk_session(ssl, key, len)) == NULL)
        return 0;
    f->psk_seen = 1;
    snprintf(f->identity_used, sizeof f->identity_used, "%.*s", (int)idlen, (const char *)id);
    *sess = s;
    return 1;
}

static void answer(struct fake *f, SSL *ssl, const char *req)
{
    const char *conn = f->mode == M_CLOSE_HDR ? "Connection: close\r\n" : "";
    char ri[64], kgn_body[200];

    fake_request_ri(req, ri, sizeof ri);
    if (f->mode == M_WRONG_RI)
        snprintf(ri, sizeof ri, "someone-else");
    if (strstr(req, "Content-Type: application/json;ty=10100\r\n") != NULL && f->kgn == K_REFUSE) {
        fake_reply(ssl, "403 Forbidden", "4005", ri, conn, "{\"m2m:dbg\":\"key generation needs forward secrecy\"}");
    } else if (strstr(req, "Content-Type: application/json;ty=10100\r\n") != NULL) {
        /* x.y.8 as the Registrar does it: the exporter, the last 32 octets, the seed's key ID */
        unsigned char out[48];
        char kid[M2M_KEYID_HEX_LEN + 1];
        m2m_err err = {0};
        int i = f->ngen < 4 ? f->ngen : 3;
        if (SSL_export_keying_material(ssl, out, sizeof out, KGN_LABEL, strlen(KGN_LABEL), NULL, 0, 0) != 1 ||
            m2m_keyid(M2M_KEY_KCA, out + 16, 32, kid, &err) != 0)
            abort();
        pthread_mutex_lock(&f->srv.mu);
        memcpy(f->gen[i], out + 16, 32);
        snprintf(f->gen_id[i], sizeof f->gen_id[i], "%s", kid);
        f->ngen = i + 1;
        pthread_mutex_unlock(&f->srv.mu);
        if (f->kgn == K_DROP)
            return; /* the caller drops the connection */
        if (f->kgn == K_WRONG_KID)
            snprintf(kid, sizeof kid, "00000000000000000000000000000000");
        snprintf(kgn_body, sizeof kgn_body, "{\"m2m:kgn\":{\"ty\":10100,\"kcaid\":\"%s\",\"kid\":\"%s\"}}", kid, kid);
        fake_reply(ssl, "201 Created", "2001", ri, conn, kgn_body);
    } else if (fake_is_registration(req) && f->mode == M_REFUSE) {
        fake_reply(ssl, "403 Forbidden", "4117", ri, conn, "{\"m2m:dbg\":\"Cdevice01 is already registered\"}");
    } else {
        fake_reply_accept(ssl, req, ri, conn);
    }
}

/* One connection to the fake (fake_server_start). */
static void handle(SSL *ssl, void *arg)
{
    struct fake *f = arg;
    char req[8192];

    pthread_mutex_lock(&f->srv.mu);
    f->accepts++;
    f->psk_seen = 0;
    pthread_mutex_unlock(&f->srv.mu);
    if (SSL_accept(ssl) != 1)
        return;
    pthread_mutex_lock(&f->srv.mu);
    if (SSL_session_reused(ssl) && !f->psk_seen)
        f->resumed++;
    pthread_mutex_unlock(&f->srv.mu);
    while (fake_read_request(ssl, req, sizeof req) > 0) {
        /* the mode of this request: the test may change it as soon as it has the answer */
        enum mode m = f->mode;
        pthread_mutex_lock(&f->srv.mu);
        f->requests++;
        snprintf(f->last, sizeof f->last, "%s", req);
        pthread_mutex_unlock(&f->srv.mu);
        answer(f, ssl, req);
        if (f->kgn == K_DROP && strstr(req, ";ty=10100\r\n") != NULL)
            break; /* no close_notify: the connection is cut */
        if (m == M_CLOSE_HDR || m == M_IDLE_CLOSE) {
            SSL_shutdown(ssl);
            break;
        }
    }
}

static void write_ini(struct fake *f, const char *extra)
{
    FILE *out = fopen(f->ini, "w");
    assert_non_null(out);
    fprintf(out,
            "[registrar]\npoa = https://127.0.0.1:%d\ncse-id = /in-cse\n"
            "[registree]\nid = Cdevice01\napp-id = Rdemo\nname = device01\n"
            "[credentials]\nkey = " KEY_HEX "\n%s",
            f->srv.port, extra);
    fclose(out);
    chmod(f->ini, 0600);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    m2m_err err = {0};

    if (f == NULL || m2m_keyid(M2M_KEY_KCA, KEY, sizeof KEY, f->identity, &err) != 0)
        return -1;
    if (fake_registrar_open(&f->srv, "registree", f->dir, f->ini, f->state) != 0)
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

static int counter(struct fake *f, const int *which)
{
    return fake_server_count(&f->srv, which);
}

static void test_register_then_reattach(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    struct stat sb;
    char last[8192];

    write_ini(f, "");
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 1);
    assert_string_equal(info.assigned_id, "Cdevice01");
    assert_string_equal(info.tls_version, "TLSv1.3");
    assert_true(info.handshake_ms > 0 && info.registration_ms > 0);
    close_session(&s);

    /* what went on the wire: the registration CREATE of TS-0004 for an AE */
    fake_server_copy(&f->srv, last, sizeof last, f->last);
    assert_true(strncmp(last, "POST /~/in-cse HTTP/1.1\r\n", 25) == 0);
    assert_non_null(strstr(last, "\r\nX-M2M-Origin: Cdevice01\r\n"));
    assert_non_null(strstr(last, "\r\nContent-Type: application/json;ty=2\r\n"));
    assert_non_null(
        strstr(last, "\r\n\r\n{\"m2m:ae\":{\"rn\":\"device01\",\"api\":\"Rdemo\",\"rr\":false,\"srv\":[\"3\"]}}"));

    /* recorded, 0600 */
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_int_equal(st.registered, 1);
    assert_string_equal(st.assigned_id, "Cdevice01");
    assert_string_equal(st.resource, "/in-cse/device01");
    assert_string_equal(st.registrar_cse_id, "/in-cse");
    assert_string_equal(st.key_id, f->identity);
    assert_int_equal(stat(f->state, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* x.y.3: a new handshake, no second CREATE */
    s = open_session(f->ini);
    session_attach(&s, &info);
    assert_int_equal(info.created, 0);
    assert_string_equal(info.assigned_id, "Cdevice01");
    assert_true(info.registration_ms == 0.0);
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 2);
    assert_int_equal(counter(f, &f->requests), 1);
}

static void test_refusal_names_rsc_and_reason(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;
    char want[160];

    f->mode = M_REFUSE;
    write_ini(f, "");
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_REFUSED);
    snprintf(want, sizeof want,
             "registration refused by Registrar 127.0.0.1:%d: 4117 ORIGINATOR_HAS_ALREADY_REGISTERED: "
             "Cdevice01 is already registered", f->srv.port);
    if (strstr(m2m_registree_error(s.r), want) == NULL)
        fail_msg("unexpected message: %s", m2m_registree_error(s.r));
    close_session(&s);
    assert_int_equal(access(f->state, F_OK), -1); /* nothing recorded */
}

static void send_get(struct session *s, int want_rsc)
{
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    if (m2m_registree_send(s->r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s->r));
    assert_int_equal(reply.rsc, want_rsc);
    assert_int_equal(reply.http_status, 200);
    assert_string_equal(reply.body, "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
    m2m_reply_free(&reply);
    m2m_reply_free(&reply);
}

static void test_keep_alive_reuse(void **state)
{
    struct fake *f = *state;
    struct session s;
    char last[8192];

    write_ini(f, "[tls]\nversion = 1.2\n");
    s = open_session(f->ini);
    send_get(&s, 2000); /* attaches (registers) first */
    send_get(&s, 2000);
    send_get(&s, 2000);
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 1);
    assert_int_equal(counter(f, &f->requests), 4);
    fake_server_copy(&f->srv, last, sizeof last, f->last);
    /* From defaults to the bound ID */
    assert_non_null(strstr(last, "\r\nX-M2M-Origin: Cdevice01\r\n"));
}

static void test_connection_close_and_idle_close(void **state)
{
    struct fake *f = *state;
    struct session s;

    write_ini(f, "");
    s = open_session(f->ini);
    send_get(&s, 2000); /* registration + GET on one connection */
    assert_int_equal(counter(f, &f->accepts), 1);

    f->mode = M_CLOSE_HDR;
    send_get(&s, 2000); /* answered with Connection: close */
    send_get(&s, 2000); /* so this one reconnects (handshake only) */
    assert_int_equal(counter(f, &f->accepts), 2);

    f->mode = M_IDLE_CLOSE;
    send_get(&s, 2000); /* new connection (the last one was closed), then the server drops it silently */
    usleep(50 * 1000);
    send_get(&s, 2000); /* the write or the read finds it closed: one transparent retry */
    assert_int_equal(counter(f, &f->accepts), 4);
    assert_int_equal(counter(f, &f->requests), 6);
    close_session(&s);
}

static void test_wrong_request_id_refused(void **state)
{
    struct fake *f = *state;
    struct session s;
    m2m_attach_info info;

    f->mode = M_WRONG_RI;
    write_ini(f, "");
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_PROTO);
    assert_non_null(strstr(m2m_registree_error(s.r), "the response carries request ID someone-else"));
    close_session(&s);
}

static void test_garbled_state_stops_attach(void **state)
{
    struct fake *f = *state;
    struct session s;
    FILE *out;

    write_ini(f, "");
    out = fopen(f->state, "w");
    assert_non_null(out);
    fputs("registered = 1\nassigned-id = Cdev", out);
    fclose(out);
    s = open_session(f->ini);
    assert_int_equal(m2m_registree_attach(s.r, NULL), -1);
    assert_non_null(strstr(m2m_registree_error(s.r), "device.ini.state:2: truncated line"));
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 0); /* no guessing: nothing sent */
    m2m_registree_free(NULL);
}


/* ---- issue 4: resumption (x.y.4) ------------------------------------------------------------------------------ */

static void attach_ok(struct fake *f, m2m_attach_info *info, int resume)
{
    struct session s = open_session(f->ini);
    if (!resume)
        m2m_registree_set_resumption(s.r, 0);
    session_attach(&s, info);
    close_session(&s);
}

static void test_resumption_tls12_and_tls13(void **state)
{
    struct fake *f = *state;
    static const char *const versions[] = {"1.2", "1.3"};
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    char extra[64], want[128];

    for (int v = 0; v < 2; v++) {
        unlink(f->state);
        snprintf(extra, sizeof extra, "[tls]\nversion = %s\n", versions[v]);
        write_ini(f, extra);
        attach_ok(f, &info, 1);
        assert_int_equal(info.created, 1);
        assert_int_equal(info.session_offered, 0);
        assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
        assert_true(st.session[M2M_SLOT_DETAILS].der_len > 0);
        snprintf(want, sizeof want, "psk Cdevice01 /in-cse %s -", f->identity);
        assert_string_equal(st.session[M2M_SLOT_DETAILS].binding, want);
        assert_true(st.session[M2M_SLOT_DETAILS].full_ms > 0);

        /* resumed: no PSK callback ran on the Registrar; TLS 1.3 says "reused" for the external PSK too, so this
         * is the real test that the client tells the two apart */
        attach_ok(f, &info, 1);
        assert_int_equal(info.created, 0);
        assert_int_equal(info.session_offered, 1);
        assert_int_equal(info.resumed, 1);
        assert_string_equal(info.key_id, f->identity);
        assert_true(info.full_handshake_ms > 0);
        assert_int_equal(counter(f, &f->resumed), 2 * v + 1);

        /* a full handshake when asked */
        attach_ok(f, &info, 0);
        assert_int_equal(info.session_offered, 0);
        assert_int_equal(info.resumed, 0);
        assert_int_equal(counter(f, &f->resumed), 2 * v + 1);
        attach_ok(f, &info, 1);
        assert_int_equal(info.resumed, 1);
        assert_int_equal(counter(f, &f->resumed), 2 * v + 2);
    }
}

static void test_unusable_ticket_and_resumption_off(void **state)
{
    struct fake *f = *state;
    static const char *const versions[] = {"1.2", "1.3"};
    unsigned char keys[80];
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    char extra[64];

    for (int v = 0; v < 2; v++) {
        unlink(f->state);
        snprintf(extra, sizeof extra, "[tls]\nversion = %s\n", versions[v]);
        write_ini(f, extra);
        attach_ok(f, &info, 1);
        /* the Registrar's ticket keys changed (expired): the ticket cannot be opened, the handshake is a full one
         * (TLS 1.3: with the external PSK, which OpenSSL also calls "reused"), and the new ticket replaces it */
        assert_int_equal(RAND_bytes(keys, sizeof keys), 1);
        assert_int_equal(SSL_CTX_set_tlsext_ticket_keys(f->srv.ctx, keys, sizeof keys), 1);
        attach_ok(f, &info, 1);
        assert_int_equal(info.session_offered, 1);
        assert_int_equal(info.resumed, 0);
        attach_ok(f, &info, 1);
        assert_int_equal(info.resumed, 1);
    }

    /* resumption = no: never offered, none kept (and one kept before is removed) */
    write_ini(f, "[tls]\nresumption = no\n");
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_true(st.session[M2M_SLOT_DETAILS].der_len > 0);
    attach_ok(f, &info, 1);
    assert_int_equal(info.session_offered, 0);
    assert_int_equal(info.resumed, 0);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_int_equal(st.session[M2M_SLOT_DETAILS].der_len, 0);
    assert_string_equal(st.session[M2M_SLOT_DETAILS].binding, "");
}

static void test_session_of_another_credential_not_offered(void **state)
{
    struct fake *f = *state;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};

    write_ini(f, "");
    attach_ok(f, &info, 1);
    /* the state says the session was made with another key: it is not offered with this one */
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    snprintf(st.session[M2M_SLOT_DETAILS].binding, sizeof st.session[0].binding,
             "psk Cdevice01 /in-cse ffffffffffffffffffffffffffffffff -");
    assert_int_equal(m2m_state_save(f->state, &st, &err), 0);
    attach_ok(f, &info, 1);
    assert_int_equal(info.session_offered, 0);
    assert_int_equal(info.resumed, 0);
    attach_ok(f, &info, 1);
    assert_int_equal(info.resumed, 1);
}

/* ---- issue 4: key generation (x.y.8) --------------------------------------------------------------------------- */

static int rekey(struct fake *f, m2m_attach_info *info, m2m_code *code, char *msg, size_t cap)
{
    struct session s = open_session(f->ini);
    int rc = m2m_registree_rekey(s.r, info);
    *code = m2m_registree_error_code(s.r);
    snprintf(msg, cap, "%s", m2m_registree_error(s.r));
    close_session(&s);
    return rc;
}

static void test_rekey_then_generated_key(void **state)
{
    struct fake *f = *state;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    m2m_code code;
    char msg[512], gen_path[200], text[70000], hex[65];
    struct stat sb;

    write_ini(f, "[tls]\nversion = 1.2\n");
    /* registration and key generation in one go, over ECDHE-PSK (the default list's forward-secret suite) */
    if (rekey(f, &info, &code, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    assert_int_equal(info.created, 1);
    assert_string_equal(info.cipher, "ECDHE-PSK-AES128-CBC-SHA256");
    assert_int_equal(f->ngen, 1);
    assert_string_equal(info.generated_key_id, f->gen_id[0]);

    /* the key, 0600, as hex; its ID in the state; the key itself nowhere else */
    snprintf(gen_path, sizeof gen_path, "%s.generated.key", f->ini);
    assert_int_equal(stat(gen_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", f->gen[0][i]);
    fixture_read_file(gen_path, text, sizeof text);
    assert_int_equal(strlen(text), 65);
    assert_memory_equal(text, hex, 64);
    assert_int_equal(text[64], '\n');
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.generated_key_id, f->gen_id[0]);
    fixture_read_file(f->state, text, sizeof text);
    assert_null(strstr(text, hex));

    /* x.y.3 with the generated key from now on, and its session resumes */
    attach_ok(f, &info, 1);
    assert_int_equal(info.generated_key, 1);
    assert_string_equal(info.key_id, f->gen_id[0]);
    assert_string_equal(f->identity_used, f->gen_id[0]);
    assert_int_equal(info.resumed, 0);
    attach_ok(f, &info, 1);
    assert_int_equal(info.generated_key, 1);
    assert_int_equal(info.resumed, 1);

    /* once the Registrar knows only the generated key, the details key is not needed */
    f->refuse_details = 1;
    attach_ok(f, &info, 0);
    assert_int_equal(info.generated_key, 1);
    assert_string_equal(info.notice, "");
}

static void test_rekey_refusals_store_nothing(void **state)
{
    struct fake *f = *state;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    m2m_code code;
    char msg[512], gen_path[200];

    write_ini(f, "");
    snprintf(gen_path, sizeof gen_path, "%s.generated.key", f->ini);
    f->kgn = K_REFUSE;
    assert_int_equal(rekey(f, &info, &code, msg, sizeof msg), -1);
    assert_int_equal(code, M2M_E_REFUSED);
    if (strstr(msg, "key generation refused by Registrar 127.0.0.1:") == NULL ||
        strstr(msg, ": 4005 OPERATION_NOT_ALLOWED: key generation needs forward secrecy (this connection: TLSv1.3 ")
            == NULL)
        fail_msg("unexpected message: %s", msg);
    assert_int_equal(access(gen_path, F_OK), -1);

    /* the Registrar names another key than the one this end derived: nothing is stored */
    f->kgn = K_WRONG_KID;
    assert_int_equal(rekey(f, &info, &code, msg, sizeof msg), -1);
    assert_int_equal(code, M2M_E_AUTH);
    if (strstr(msg, "it reports key ID 00000000000000000000000000000000, this end derived ") == NULL ||
        strstr(msg, "the key is not stored") == NULL)
        fail_msg("unexpected message: %s", msg);
    assert_int_equal(access(gen_path, F_OK), -1);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.generated_key_id, "");
    attach_ok(f, &info, 1);
    assert_int_equal(info.generated_key, 0);

    /* the lost response: the Registrar made the key, the answer never came; the device keeps its old key (which
     * the Registrar still accepts) and can generate again */
    f->kgn = K_DROP;
    {
        int before = f->ngen;
        assert_int_equal(rekey(f, &info, &code, msg, sizeof msg), -1);
        assert_int_equal(f->ngen, before + 1); /* the Registrar has it */
    }
    if (strstr(msg, "closed the connection without answering") == NULL)
        fail_msg("unexpected message: %s", msg);
    assert_int_equal(access(gen_path, F_OK), -1);
    attach_ok(f, &info, 1);
    assert_int_equal(info.generated_key, 0);
    assert_string_equal(info.key_id, f->identity);
    f->kgn = K_OK;
    if (rekey(f, &info, &code, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    assert_string_equal(info.generated_key_id, f->gen_id[f->ngen - 1]);
    attach_ok(f, &info, 1);
    assert_int_equal(info.generated_key, 1);
    assert_string_equal(f->identity_used, f->gen_id[f->ngen - 1]);
}

static void test_generated_key_fallbacks(void **state)
{
    struct fake *f = *state;
    m2m_attach_info info;
    m2m_reg_state st;
    m2m_err err = {0};
    m2m_code code;
    char msg[512], gen_path[200], prev_path[220], want[300];

    write_ini(f, "");
    snprintf(gen_path, sizeof gen_path, "%s.generated.key", f->ini);
    snprintf(prev_path, sizeof prev_path, "%s.previous", gen_path);
    attach_ok(f, &info, 1);
    if (rekey(f, &info, &code, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    attach_ok(f, &info, 1); /* the first generated key works once */
    assert_string_equal(info.key_id, f->gen_id[0]);

    /* a second one: the first waits in .previous until the new one has worked */
    if (rekey(f, &info, &code, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    assert_string_equal(f->identity_used, f->gen_id[0]); /* generated over the first one */
    assert_int_equal(access(prev_path, F_OK), 0);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.generated_key_id, f->gen_id[1]);
    assert_string_equal(st.previous_generated_key_id, f->gen_id[0]);

    /* the Registrar does not know the newest (say its store was restored): the previous one gets in, the newest
     * is discarded and the previous one is the generated key again */
    f->ngen = 1;
    attach_ok(f, &info, 0);
    assert_int_equal(info.generated_key, 1);
    assert_string_equal(info.key_id, f->gen_id[0]);
    snprintf(want, sizeof want, "generated key %s was refused by the Registrar", f->gen_id[1]);
    if (strstr(info.notice, want) == NULL || strstr(info.notice, "attached with the generated key ") == NULL)
        fail_msg("unexpected notice: %s", info.notice);
    assert_int_equal(access(prev_path, F_OK), -1);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.generated_key_id, f->gen_id[0]);
    assert_string_equal(st.previous_generated_key_id, "");

    /* the Registrar refuses generated keys altogether (the operator re-enrolled the device): the details key */
    f->refuse_generated = 1;
    attach_ok(f, &info, 0);
    assert_int_equal(info.generated_key, 0);
    assert_string_equal(info.key_id, f->identity);
    assert_non_null(strstr(info.notice, "was refused by the Registrar"));
    assert_non_null(strstr(info.notice, "attached with the psk key "));
    assert_int_equal(access(gen_path, F_OK), -1);
    assert_int_equal(m2m_state_load(f->state, &st, &err), 0);
    assert_string_equal(st.generated_key_id, "");
    attach_ok(f, &info, 0);
    assert_string_equal(info.notice, ""); /* said once */

    /* a damaged key file: the details key, saying why */
    f->refuse_generated = 0;
    if (rekey(f, &info, &code, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    {
        FILE *out = fopen(gen_path, "w");
        assert_non_null(out);
        fputs("zz\n", out);
        fclose(out);
    }
    attach_ok(f, &info, 0);
    assert_int_equal(info.generated_key, 0);
    if (strstr(info.notice, "cannot be used (") == NULL || strstr(info.notice, "generated.key: ") == NULL)
        fail_msg("unexpected notice: %s", info.notice);

    /* every way refused: the message lists them, nothing is discarded */
    if (rekey(f, &info, &code, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
    f->refuse_details = f->refuse_generated = 1;
    {
        struct session s = open_session(f->ini);
        m2m_registree_set_resumption(s.r, 0);
        assert_int_equal(m2m_registree_attach(s.r, &info), -1);
        if (strstr(m2m_registree_error(s.r), "refused every credential: generated key ") == NULL ||
            strstr(m2m_registree_error(s.r), "; psk key ") == NULL)
            fail_msg("unexpected message: %s", m2m_registree_error(s.r));
        close_session(&s);
    }
    assert_int_equal(access(gen_path, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_then_reattach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_names_rsc_and_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_close_and_idle_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_request_id_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbled_state_stops_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumption_tls12_and_tls13, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_ticket_and_resumption_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_of_another_credential_not_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_then_generated_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_refusals_store_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_key_fallbacks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
