/* The Registree API against a scripted Registrar in a thread of this process (TLS-PSK with OpenSSL, canned HTTP
 * answers): Step 5 happens once and is recorded; re-attachment skips it; a refusal names the RSC and the reason;
 * keep-alive connections are reused, Connection: close and idle closes lead to a new connection; a response to
 * another request is refused. The real Registrar is exercised by the integration tests. */
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "m2mattach/keyid.h"
#include "m2mattach/registree.h"
#include "registree/state.h"

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

struct fake {
    int lfd, port;
    pthread_t thread;
    SSL_CTX *ctx;
    char identity[M2M_KEYID_HEX_LEN + 1];
    enum mode mode;
    volatile int stop;
    pthread_mutex_t mu;
    int accepts, requests;
    char last[8192];   /* the last request, as received */
    char dir[64], ini[128], state[160];
};

static unsigned int server_psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
    struct fake *f = SSL_get_app_data(ssl);
    if (identity == NULL || strcmp(identity, f->identity) != 0 || max < sizeof KEY)
        return 0;
    memcpy(psk, KEY, sizeof KEY);
    return sizeof KEY;
}

static int server_find_session_cb(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    struct fake *f = SSL_get_app_data(ssl);
    static const unsigned char aes128gcm[] = {0x13, 0x01};
    SSL_SESSION *s;
    *sess = NULL;
    if (idlen != strlen(f->identity) || memcmp(id, f->identity, idlen) != 0)
        return 1;
    s = SSL_SESSION_new();
    if (s == NULL || !SSL_SESSION_set1_master_key(s, KEY, sizeof KEY) ||
        !SSL_SESSION_set_cipher(s, SSL_CIPHER_find(ssl, aes128gcm)) ||
        !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return 0;
    }
    *sess = s;
    return 1;
}

/* Reads one request (headers and a Content-Length body) into buf; 0 when the client closed. */
static size_t read_request(SSL *ssl, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        char *end = NULL, *cl;
        size_t need;
        int n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            cl = strcasestr(buf, "\r\nContent-Length: ");
            need = (size_t)(end + 4 - buf) + (cl != NULL && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
            if (len >= need)
                return len;
        }
        if (len + 1 >= cap)
            return 0;
        n = SSL_read(ssl, buf + len, (int)(cap - 1 - len));
        if (n <= 0)
            return 0;
        len += (size_t)n;
    }
}

static void answer(struct fake *f, SSL *ssl, const char *req)
{
    char ri[64] = "none", resp[1024];
    const char *body, *status, *rsc, *extra = "";
    const char *p = strstr(req, "X-M2M-RI: ");
    int n;

    if (p != NULL)
        sscanf(p + 10, "%63[^\r]", ri);
    if (f->mode == M_WRONG_RI)
        snprintf(ri, sizeof ri, "someone-else");
    if (strncmp(req, "POST /~/in-cse HTTP/1.1", 23) == 0 && f->mode == M_REFUSE) {
        status = "403 Forbidden";
        rsc = "4117";
        body = "{\"m2m:dbg\":\"Cdevice01 is already registered\"}";
    } else if (strncmp(req, "POST /~/in-cse HTTP/1.1", 23) == 0) {
        status = "201 Created";
        rsc = "2001";
        extra = "Content-Location: /in-cse/device01\r\n";
        body = "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cdevice01\",\"api\":\"Rdemo\"}}";
    } else {
        status = "200 OK";
        rsc = "2000";
        body = "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}";
    }
    n = snprintf(resp, sizeof resp,
                 "HTTP/1.1 %s\r\nX-M2M-RSC: %s\r\nX-M2M-RI: %s\r\n%s%sContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 status, rsc, ri, extra, f->mode == M_CLOSE_HDR ? "Connection: close\r\n" : "", strlen(body), body);
    SSL_write(ssl, resp, n);
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    while (!f->stop) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        SSL *ssl;
        int fd;
        if (poll(&p, 1, 50) <= 0)
            continue;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        ssl = SSL_new(f->ctx);
        SSL_set_fd(ssl, fd);
        SSL_set_app_data(ssl, f);
        pthread_mutex_lock(&f->mu);
        f->accepts++;
        pthread_mutex_unlock(&f->mu);
        if (SSL_accept(ssl) == 1) {
            char req[8192];
            while (read_request(ssl, req, sizeof req) > 0) {
                pthread_mutex_lock(&f->mu);
                f->requests++;
                snprintf(f->last, sizeof f->last, "%s", req);
                pthread_mutex_unlock(&f->mu);
                answer(f, ssl, req);
                if (f->mode == M_CLOSE_HDR || f->mode == M_IDLE_CLOSE) {
                    SSL_shutdown(ssl);
                    break;
                }
            }
        }
        ERR_clear_error();
        SSL_free(ssl);
        close(fd);
    }
    return NULL;
}

static void write_ini(struct fake *f, const char *extra)
{
    FILE *out = fopen(f->ini, "w");
    assert_non_null(out);
    fprintf(out,
            "[registrar]\npoa = https://127.0.0.1:%d\ncse-id = /in-cse\n"
            "[registree]\nid = Cdevice01\napp-id = Rdemo\nname = device01\n"
            "[credentials]\nkey = " KEY_HEX "\n%s",
            f->port, extra);
    fclose(out);
    chmod(f->ini, 0600);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    m2m_err err = {0};

    if (f == NULL || m2m_keyid(M2M_KEY_KCA, KEY, sizeof KEY, f->identity, &err) != 0)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/m2m-registree-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->ini, sizeof f->ini, "%s/device.ini", f->dir);
    snprintf(f->state, sizeof f->state, "%s/device.ini.state", f->dir);
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    f->ctx = SSL_CTX_new(TLS_server_method());
    if (f->ctx == NULL || SSL_CTX_set_cipher_list(f->ctx, "PSK") != 1)
        return -1;
    SSL_CTX_set_psk_server_callback(f->ctx, server_psk_cb);
    SSL_CTX_set_psk_find_session_callback(f->ctx, server_find_session_cb);
    if (pthread_create(&f->thread, NULL, serve, f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    char cmd[128];
    f->stop = 1;
    pthread_join(f->thread, NULL);
    close(f->lfd);
    SSL_CTX_free(f->ctx);
    pthread_mutex_destroy(&f->mu);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    free(f);
    return system(cmd) == 0 ? 0 : -1;
}

static int counter(struct fake *f, const int *which)
{
    int v;
    pthread_mutex_lock(&f->mu);
    v = *which;
    pthread_mutex_unlock(&f->mu);
    return v;
}

struct session {
    m2m_registree_config *cfg;
    m2m_registree *r;
};

static struct session open_session(struct fake *f)
{
    struct session s;
    m2m_err err = {0};
    s.cfg = m2m_registree_config_load(f->ini, &err);
    if (s.cfg == NULL)
        fail_msg("%s", err.msg);
    s.r = m2m_registree_new(s.cfg, &err);
    assert_non_null(s.r);
    return s;
}

static void close_session(struct session *s)
{
    m2m_registree_free(s->r);
    m2m_registree_config_free(s->cfg);
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
    s = open_session(f);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(info.created, 1);
    assert_string_equal(info.assigned_id, "Cdevice01");
    assert_string_equal(info.tls_version, "TLSv1.3");
    assert_true(info.handshake_ms > 0 && info.registration_ms > 0);
    close_session(&s);

    /* what went on the wire: the registration CREATE of TS-0004 for an AE */
    pthread_mutex_lock(&f->mu);
    snprintf(last, sizeof last, "%s", f->last);
    pthread_mutex_unlock(&f->mu);
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
    s = open_session(f);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
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
    s = open_session(f);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_REFUSED);
    snprintf(want, sizeof want,
             "registration refused by Registrar 127.0.0.1:%d: 4117 ORIGINATOR_HAS_ALREADY_REGISTERED: "
             "Cdevice01 is already registered", f->port);
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
    s = open_session(f);
    send_get(&s, 2000); /* attaches (registers) first */
    send_get(&s, 2000);
    send_get(&s, 2000);
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 1);
    assert_int_equal(counter(f, &f->requests), 4);
    pthread_mutex_lock(&f->mu);
    snprintf(last, sizeof last, "%s", f->last);
    pthread_mutex_unlock(&f->mu);
    /* From defaults to the bound ID */
    assert_non_null(strstr(last, "\r\nX-M2M-Origin: Cdevice01\r\n"));
}

static void test_connection_close_and_idle_close(void **state)
{
    struct fake *f = *state;
    struct session s;

    write_ini(f, "");
    s = open_session(f);
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
    s = open_session(f);
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
    s = open_session(f);
    assert_int_equal(m2m_registree_attach(s.r, NULL), -1);
    assert_non_null(strstr(m2m_registree_error(s.r), "device.ini.state:2: truncated line"));
    close_session(&s);
    assert_int_equal(counter(f, &f->accepts), 0); /* no guessing: nothing sent */
    m2m_registree_free(NULL);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
