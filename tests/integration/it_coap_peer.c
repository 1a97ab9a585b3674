/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree's CoAP/DTLS client (src/registree/dtls_client.c, on libcoap) against an independent CoAP server:
 * libcoap's own coap-server-openssl (Debian libcoap3-bin). DTLS-PSK with the oneM2M mandatory PSK-AES128-CCM8,
 * HelloVerifyRequest cookies, a wrong key refused; resumption of the session the first handshake made; PKI with
 * ECDHE-ECDSA-AES128-CCM8, the server certificate checked as the Registree checks a Registrar's (the one root, the
 * CSE-ID as a subjectAltName URI) and refused without the CSE-ID or from another root; block-wise transfer both
 * ways (a PUT of 5000 bytes in Block1 blocks, the GET back in Block2 blocks); and, against openssl s_server
 * -dtls1_2, a stapled OCSP status checked over DTLS (none stapled: refused). coap-server knows no oneM2M option,
 * so these requests carry none; the oneM2M mapping is tested against the Registrar itself. Skipped (77) when
 * coap-server-openssl is not installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "registree/dtls_client.h"
#include "registree/wire.h"

#define KEY_TEXT "secretPSKsecretPSK" /* coap-server's -k takes the key as text */

static char dir[256];
static pid_t server = -1;
static int server_port;

static const char *path(const char *name) { return h_path(dir, name); }

/* 1 when something listens on UDP port (any address), from /proc/net/udp. */
static int udp_listening(int port)
{
    char line[512], want[16];
    FILE *f = fopen("/proc/net/udp", "r");
    int found = 0;
    snprintf(want, sizeof want, ":%04X ", port);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strstr(line, want) != NULL && strstr(line, want) < line + 40)
            found = 1;
    if (f != NULL)
        fclose(f);
    return found;
}

/* A UDP port p with p and p + 1 free: coap-server listens on p (CoAP) and p + 1 (DTLS). */
static int free_port_pair(void)
{
    for (int tries = 0; tries < 50; tries++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_DGRAM, 0), p;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len))
            return -1;
        p = ntohs(a.sin_port);
        close(fd);
        if (p < 65534 && !udp_listening(p) && !udp_listening(p + 1))
            return p;
    }
    return -1;
}

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
        server = -1;
    }
}

/* Starts coap-server-openssl with args (its stdout and stderr to dir/server.log) and waits (polling, with a
 * deadline) until its DTLS port listens. */
static int start_server(const char *args)
{
    char cmd[2048];
    double until;
    stop_server();
    server_port = free_port_pair();
    if (server_port < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "exec coap-server-openssl -A 127.0.0.1 -p %d %s >>'%s' 2>&1", server_port, args,
             path("server.log"));
    server = fork();
    if (server == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    until = m2m_wire_clock_ms() + 10000;
    while (m2m_wire_clock_ms() < until) {
        if (udp_listening(server_port + 1))
            return 0;
        usleep(20000);
    }
    return -1;
}

static m2m_tls_client_config psk_cfg(const char *key)
{
    static char port[16];
    m2m_tls_client_config cfg = {0};
    snprintf(port, sizeof port, "%d", server_port + 1);
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.auth = M2M_TLS_AUTH_PSK;
    cfg.psk_identity = "0123456789abcdef0123456789abcdef";
    cfg.psk = (const unsigned char *)key;
    cfg.psk_len = strlen(key);
    cfg.timeout_ms = 5000;
    cfg.dtls_timer_ms = 200;
    cfg.keep_sessions = 1;
    return cfg;
}

/* One request without oneM2M options: method, one Uri-Path segment (or none), a payload. */
static int plain_request(m2m_dtls_client *c, int method, const char *segment, const char *payload, int *code,
                         char **body, size_t *body_len)
{
    static m2m_coap_request req;
    m2m_coap_response resp;
    m2m_outcome why;
    m2m_err err = {0};

    memset(&req, 0, sizeof req);
    req.method = method;
    if (segment != NULL) {
        req.opts[0].num = M2M_COAP_OPT_URI_PATH;
        req.opts[0].val = (const uint8_t *)segment;
        req.opts[0].len = strlen(segment);
        req.nopts = 1;
    }
    if (payload != NULL) {
        req.payload = (const uint8_t *)payload;
        req.payload_len = strlen(payload);
    }
    if (m2m_dtls_client_request(c, &req, &resp, &why, &err) != 0) {
        fprintf(stderr, "request failed: %s\n", err.msg);
        return -1;
    }
    *code = resp.code;
    if (body != NULL) {
        *body = malloc(resp.payload_len + 1);
        memcpy(*body, resp.payload, resp.payload_len);
        (*body)[resp.payload_len] = '\0';
        *body_len = resp.payload_len;
    }
    return 0;
}

static void test_psk_resumption_and_blocks(void)
{
    m2m_tls_client_config cfg;
    m2m_dtls_client *c;
    SSL_SESSION *sess;
    m2m_outcome why;
    m2m_err err = {0};
    char *big, *body = NULL;
    size_t len = 0;
    int code = 0;

    CHECK(start_server("-k " KEY_TEXT " -v 0") == 0);
    cfg = psk_cfg(KEY_TEXT);
    c = m2m_dtls_client_open(&cfg, &why, &err);
    if (c == NULL) {
        fprintf(stderr, "FAIL DTLS-PSK handshake: %s\n", err.msg);
        h_failures++;
        return;
    }
    CHECK(strcmp(m2m_dtls_client_version(c), "DTLSv1.2") == 0);
    CHECK(strcmp(m2m_dtls_client_cipher(c), "PSK-AES128-CCM8") == 0);
    CHECK(m2m_dtls_client_resumed(c) == 0);
    CHECK(plain_request(c, M2M_COAP_GET, NULL, NULL, &code, &body, &len) == 0);
    CHECK_EQ_INT(code, 205);
    CHECK(body != NULL && strstr(body, "libcoap") != NULL);
    free(body);

    /* RFC 7959 both ways: 5000 bytes go up in Block1 blocks and come back in Block2 blocks */
    big = malloc(5001);
    for (int i = 0; i < 5000; i++)
        big[i] = (char)('a' + i % 26);
    big[5000] = '\0';
    CHECK(plain_request(c, M2M_COAP_PUT, "example_data", big, &code, NULL, NULL) == 0);
    CHECK(code == 201 || code == 204);
    body = NULL;
    CHECK(plain_request(c, M2M_COAP_GET, "example_data", NULL, &code, &body, &len) == 0);
    CHECK_EQ_INT(code, 205);
    CHECK_EQ_INT(len, 5000);
    CHECK(body != NULL && memcmp(body, big, 5000) == 0);
    free(body);
    free(big);

    /* x.y.4: the session of this handshake, offered to the next one, is resumed */
    sess = m2m_dtls_client_get1_session(c);
    CHECK(sess != NULL);
    m2m_dtls_client_close(c);
    cfg.session = sess;
    c = m2m_dtls_client_open(&cfg, &why, &err);
    CHECK(c != NULL);
    if (c != NULL) {
        CHECK(m2m_dtls_client_resumed(c) == 1);
        CHECK(plain_request(c, M2M_COAP_GET, NULL, NULL, &code, NULL, NULL) == 0);
        m2m_dtls_client_close(c);
    }
    SSL_SESSION_free(sess);

    /* a wrong key: the handshake fails, within the step's timeout */
    cfg = psk_cfg("wrongPSKwrongPSKwr");
    cfg.timeout_ms = 2000;
    c = m2m_dtls_client_open(&cfg, &why, &err);
    CHECK(c == NULL);
    /* DTLS drops records it cannot decrypt: no alert, just no answer to this end's Finished (a timeout that says
     * what it may be) */
    CHECK(why == M2M_OUTCOME_TIMEOUT && err.code == M2M_E_TIMEOUT);
    CHECK(strstr(err.msg, "no answer to this end's Finished") != NULL && strstr(err.msg, "a wrong key") != NULL);
    m2m_dtls_client_close(c);
}

static X509 *read_cert(const char *file)
{
    FILE *f = fopen(file, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    return x;
}

/* Opens a certificate-mode connection; *why says what became of it. */
static m2m_dtls_client *cert_open(X509 *root, X509 *cert, EVP_PKEY *key, m2m_outcome *why, m2m_err *err)
{
    static char port[16];
    m2m_tls_client_config cfg = {0};
    snprintf(port, sizeof port, "%d", server_port + 1);
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.auth = M2M_TLS_AUTH_CERT;
    cfg.root = root;
    cfg.root_name = "root.crt";
    cfg.cse_id = "/in-cse";
    cfg.client_cert = cert;
    cfg.client_key = key;
    cfg.timeout_ms = 5000;
    cfg.dtls_timer_ms = 200;
    return m2m_dtls_client_open(&cfg, why, err);
}

static void test_pki(void)
{
    char args[1400];
    X509 *root, *device;
    EVP_PKEY *device_key;
    FILE *f;
    m2m_dtls_client *c;
    m2m_outcome why;
    m2m_err err = {0};
    int code = 0;

    CHECK(h_make_cert(path("root.crt"), path("root.key"), "Test Root", NULL, NULL, NULL, 1, -60, 86400) == 0);
    CHECK(h_make_cert(path("evil.crt"), path("evil.key"), "Evil Root", NULL, NULL, NULL, 1, -60, 86400) == 0);
    CHECK(h_make_cert(path("reg.crt"), path("reg.key"), "in-cse.test", "DNS:in-cse.test,URI:/in-cse",
                      path("root.crt"), path("root.key"), 0, -60, 86400) == 0);
    CHECK(h_make_cert(path("other.crt"), path("other.key"), "other.test", "DNS:other.test,URI:/other-cse",
                      path("root.crt"), path("root.key"), 0, -60, 86400) == 0);
    CHECK(h_make_cert(path("evilreg.crt"), path("evilreg.key"), "in-cse.test", "URI:/in-cse", path("evil.crt"),
                      path("evil.key"), 0, -60, 86400) == 0);
    /* issued by the same root: coap-server checks client certificates against its -C CA */
    CHECK(h_make_cert(path("device.crt"), path("device.key"), "Cdevice", NULL, path("root.crt"), path("root.key"), 0,
                      -60, 86400) == 0);
    root = read_cert(path("root.crt"));
    device = read_cert(path("device.crt"));
    f = fopen(path("device.key"), "r");
    device_key = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (root == NULL || device == NULL || device_key == NULL) {
        CHECK(!"certificates");
        return;
    }

    /* x.y.6: mutual, coap-server asks for the client certificate and checks it against the root */
    snprintf(args, sizeof args, "-c '%s' -j '%s' -C '%s' -v 0", path("reg.crt"), path("reg.key"), path("root.crt"));
    CHECK(start_server(args) == 0);
    c = cert_open(root, device, device_key, &why, &err);
    if (c == NULL) {
        fprintf(stderr, "FAIL DTLS PKI handshake: %s\n", err.msg);
        h_failures++;
    } else {
        CHECK(strcmp(m2m_dtls_client_cipher(c), "ECDHE-ECDSA-AES128-CCM8") == 0);
        CHECK(plain_request(c, M2M_COAP_GET, NULL, NULL, &code, NULL, NULL) == 0);
        CHECK_EQ_INT(code, 205);
        m2m_dtls_client_close(c);
    }
    /* x.y.7: the Registrar authenticated, no client certificate (-n: coap-server asks for none) */
    snprintf(args, sizeof args, "-c '%s' -j '%s' -n -v 0", path("reg.crt"), path("reg.key"));
    CHECK(start_server(args) == 0);
    c = cert_open(root, NULL, NULL, &why, &err);
    if (c == NULL) {
        fprintf(stderr, "FAIL DTLS server-authenticated handshake: %s\n", err.msg);
        h_failures++;
    }
    m2m_dtls_client_close(c);
    /* ... but a Registree with a certificate needs the Registrar to ask for it */
    c = cert_open(root, device, device_key, &why, &err);
    CHECK(c == NULL && why == M2M_OUTCOME_PEER_REFUSED && strstr(err.msg, "did not ask for the Registree") != NULL);
    m2m_dtls_client_close(c);

    /* a certificate without the CSE-ID, and one from another root: refused before any request */
    snprintf(args, sizeof args, "-c '%s' -j '%s' -n -v 0", path("other.crt"), path("other.key"));
    CHECK(start_server(args) == 0);
    c = cert_open(root, device, device_key, &why, &err);
    CHECK(c == NULL && why == M2M_OUTCOME_PEER_REFUSED && err.code == M2M_E_AUTH);
    CHECK(strstr(err.msg, "does not carry CSE-ID /in-cse") != NULL);
    m2m_dtls_client_close(c);

    snprintf(args, sizeof args, "-c '%s' -j '%s' -n -v 0", path("evilreg.crt"), path("evilreg.key"));
    CHECK(start_server(args) == 0);
    c = cert_open(root, device, device_key, &why, &err);
    CHECK(c == NULL && why == M2M_OUTCOME_PEER_REFUSED);
    CHECK(strstr(err.msg, "does not verify to root-cert root.crt") != NULL);
    m2m_dtls_client_close(c);

    X509_free(root);
    X509_free(device);
    EVP_PKEY_free(device_key);
}

/* Starts `openssl s_server -dtls1_2` (an independent DTLS server; it speaks no CoAP, so only the handshake is
 * tested) with the Registrar certificate and, when status is not NULL, that DER OCSP response stapled. */
static int start_s_server(const char *status)
{
    char args[1600];
    stop_server();
    server_port = free_port_pair();
    if (server_port < 0)
        return -1;
    snprintf(args, sizeof args,
             "exec openssl s_server -dtls1_2 -listen -accept 127.0.0.1:%d -cert '%s' -key '%s' %s%s%s -naccept 10 "
             "-quiet >>'%s' 2>&1",
             server_port + 1, path("reg.crt"), path("reg.key"), status ? "-status_file '" : "", status ? status : "",
             status ? "'" : "", path("server.log"));
    server = fork();
    if (server == 0) {
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    for (double until = m2m_wire_clock_ms() + 10000; m2m_wire_clock_ms() < until; usleep(20000))
        if (udp_listening(server_port + 1))
            return 0;
    return -1;
}

/* x.y.6 Step 4 over DTLS: with ocsp-responder-cert a good, signed, fresh status must be stapled; an independent
 * DTLS server (openssl s_server) staples one made by `openssl ocsp`, or none. */
static void test_ocsp_over_dtls(void)
{
    static char port[16];
    m2m_tls_client_config cfg = {0};
    m2m_dtls_client *c;
    m2m_outcome why;
    m2m_err err = {0};
    X509 *root = read_cert(path("root.crt")), *ocsp;

    CHECK(h_sh("cd '%s' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ocsp.key "
               "-out ocsp.csr -subj '/CN=OCSP Responder' 2>/dev/null && "
               "printf 'keyUsage=digitalSignature\\nextendedKeyUsage=OCSPSigning\\n' >ocsp.ext && "
               "openssl x509 -req -in ocsp.csr -CA root.crt -CAkey root.key -set_serial 0x2001 -days 1 "
               "-extfile ocsp.ext -out ocsp.crt 2>/dev/null && "
               "serial=$(openssl x509 -in reg.crt -noout -serial | sed 's/^serial=//') && "
               "printf 'V\\t%%s\\t\\t%%s\\tunknown\\t/CN=in-cse.test\\n' $(date -u -d '+1 day' +%%y%%m%%d%%H%%M%%SZ) "
               "$serial >index.txt && touch index.txt.attr && "
               "openssl ocsp -issuer root.crt -cert reg.crt -reqout req.der -no_nonce 2>/dev/null && "
               "openssl ocsp -index index.txt -CA root.crt -rsigner ocsp.crt -rkey ocsp.key -reqin req.der "
               "-respout good.der -ndays 1 2>/dev/null && test -s good.der", dir) == 0);
    ocsp = read_cert(path("ocsp.crt"));
    if (root == NULL || ocsp == NULL) {
        CHECK(!"OCSP material");
        return;
    }
    snprintf(port, sizeof port, "%d", 0);
    cfg.host = "127.0.0.1";
    cfg.auth = M2M_TLS_AUTH_CERT;
    cfg.root = root;
    cfg.root_name = "root.crt";
    cfg.cse_id = "/in-cse";
    cfg.ocsp_responder = ocsp;
    cfg.ocsp_responder_name = "ocsp.crt";
    cfg.timeout_ms = 5000;
    cfg.dtls_timer_ms = 200;

    CHECK(start_s_server(path("good.der")) == 0);
    snprintf(port, sizeof port, "%d", server_port + 1);
    cfg.port = port;
    c = m2m_dtls_client_open(&cfg, &why, &err);
    if (c == NULL) {
        fprintf(stderr, "FAIL OCSP over DTLS: %s\n", err.msg);
        h_failures++;
    } else {
        CHECK(m2m_dtls_client_ocsp_checked(c) == 1);
        m2m_dtls_client_close(c);
    }
    CHECK(start_s_server(NULL) == 0);
    snprintf(port, sizeof port, "%d", server_port + 1);
    c = m2m_dtls_client_open(&cfg, &why, &err);
    CHECK(c == NULL && why == M2M_OUTCOME_PEER_REFUSED && strstr(err.msg, "no stapled OCSP response") != NULL);
    m2m_dtls_client_close(c);
    X509_free(root);
    X509_free(ocsp);
}

int main(void)
{
    if (h_sh("command -v coap-server-openssl >/dev/null") != 0) {
        printf("it_coap_peer: coap-server-openssl is not installed (libcoap3-bin); skipped\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "/tmp/m2m-coap-peer-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    test_psk_resumption_and_blocks();
    test_pki();
    test_ocsp_over_dtls();
    stop_server();
    if (h_failures != 0)
        h_sh("cat '%s' >&2", path("server.log"));
    h_sh("rm -rf '%s'", dir);
    return h_done("it_coap_peer");
}
