/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree over CoAP/DTLS with a libcoap Registrar in the same thread (fixture_mem_coap.h): the server runs
 * only where the client would wait, so no thread and no wall-clock wait. Step 4 with DTLS-PSK (PSK-AES128-CCM8,
 * HelloVerifyRequest cookies), Step 5 as TS-0008 puts it on the wire (POST, Uri-Path "~" "in-cse", oneM2M-FR,
 * -TY, -RVI, -RQI, Content-Format 50; the answer's oneM2M-RSC and Location-Path), re-attachment resuming the DTLS
 * session (x.y.4), a request and its answer larger than a datagram (block-wise both ways), key generation with the
 * exporter at both ends (x.y.8) and the next attachment with the generated key; GBA (x.y.5) with Ks_NAF derived
 * for the DTLS suite; an unknown PSK identity refused by name, and a Registrar that never answers timing out at
 * once. */
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "fixture_mem_coap.h"
#include "fixture_tmpdir.h"
#include "m2mattach/keyid.h"
#include "m2mattach/registree.h"
#include "crypto/gba_kdf.h"
#include "registree/registree_internal.h"
#include "registree/state.h"
#include "onem2m/cbor.h"
#include "onem2m/json_strict.h"
#include "util/clock.h"

#define KGN_LABEL "EXPORTER-oneM2M-Connection"
#define KEY_HEX "00112233445566778899aabbccddeeff"
static const unsigned char KEY[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

struct t {
    struct coap_peer peer;
    char identity[M2M_KEYID_HEX_LEN + 1];
    coap_bin_const_t key;
    unsigned char gen[32];
    char gen_id[M2M_KEYID_HEX_LEN + 1];
    coap_bin_const_t gen_key;
    int have_gen;
    /* x.y.5: the bootstrapping the Registree holds, and the Ks_NAF of the handshake */
    uint8_t gba_ks[32], gba_rand[16], gba_ks_naf[32];
    coap_bin_const_t gba_key;
    /* the last request as the server saw it */
    int method;
    char path[256], from[128], query[256], rvi[8];
    unsigned long ty, format, accept;
    size_t body_len;
    cJSON *body;          /* the last request's body, decoded (JSON or CBOR) */
    int bad_cbor;         /* answer a CBOR that does not decode */
    char *big;            /* a large answer to give, or NULL */
    int own_blocks;       /* give it in Block2 blocks made here: Max-Age, Block2, oneM2M-RQI, -RSC; Size2 in block 0
                           * only (a server other than libcoap's, or ours before) */
    char dir[64], ini[128], state[160];
};

#define GBA_PREFIX "3GPP-bootstrapping."
#define GBA_IMPI "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"
#define GBA_BTID "AAECAwQFBgcICQoLDA0ODw==@bsf.m2m.localhost"
#define GBA_NAF "cse.m2m.localhost"

/* x.y.5 as the NAF does it: Ks_NAF for the suite this handshake negotiated (TS 33.220 Annex B, Ua id 01 00 01 yy
 * zz: DTLS uses the TLS cipher suite registry). */
static const coap_bin_const_t *gba_key(struct t *t, coap_session_t *s)
{
    coap_tls_library_t lib;
    SSL *ssl = coap_session_get_tls(s, &lib);
    const SSL_CIPHER *cipher = ssl != NULL ? SSL_get_pending_cipher(ssl) : NULL;
    uint8_t ua[M2M_GBA_UA_ID_LEN], naf_id[M2M_GBA_NAF_ID_MAX];
    size_t len = 0;
    if (cipher == NULL)
        return NULL;
    m2m_gba_ua_id(TLS1_2_VERSION, (uint16_t)SSL_CIPHER_get_protocol_id(cipher), ua);
    if (m2m_gba_naf_id(GBA_NAF, ua, naf_id, &len, NULL) != 0 ||
        m2m_gba_ks_naf(t->gba_ks, t->gba_rand, GBA_IMPI, naf_id, len, t->gba_ks_naf, NULL) != 0)
        return NULL;
    t->gba_key.s = t->gba_ks_naf;
    t->gba_key.length = sizeof t->gba_ks_naf;
    return &t->gba_key;
}

static const coap_bin_const_t *key_for(void *arg, const char *identity, size_t len, coap_session_t *s)
{
    struct t *t = arg;
    if (len == strlen(GBA_PREFIX GBA_BTID) && memcmp(identity, GBA_PREFIX GBA_BTID, len) == 0)
        return gba_key(t, s);
    if (len == strlen(t->identity) && memcmp(identity, t->identity, len) == 0)
        return &t->key;
    if (t->have_gen && len == M2M_KEYID_HEX_LEN && memcmp(identity, t->gen_id, len) == 0)
        return &t->gen_key;
    return NULL;
}

static unsigned long opt_uint(const coap_pdu_t *pdu, coap_option_num_t num)
{
    size_t len;
    const uint8_t *v = coap_peer_opt(pdu, num, &len);
    unsigned long x = 0;
    for (size_t i = 0; v != NULL && i < len; i++)
        x = x << 8 | v[i];
    return v != NULL ? x : 0;
}

static void opt_text(const coap_pdu_t *pdu, coap_option_num_t num, char *out, size_t cap)
{
    size_t len;
    const uint8_t *v = coap_peer_opt(pdu, num, &len);
    snprintf(out, cap, "%.*s", v != NULL ? (int)len : 0, v != NULL ? (const char *)v : "");
}

static void handler(struct coap_peer *p, coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp)
{
    struct t *t = p->arg;
    coap_opt_iterator_t it;
    coap_opt_t *o;
    const uint8_t *data = NULL;
    size_t len = 0, off, total;

    t->method = coap_pdu_get_code(req);
    t->path[0] = '\0';
    coap_option_iterator_init(req, &it, COAP_OPT_ALL);
    while ((o = coap_option_next(&it)) != NULL)
        if (it.number == COAP_OPTION_URI_PATH)
            snprintf(t->path + strlen(t->path), sizeof t->path - strlen(t->path), "/%.*s", (int)coap_opt_length(o),
                     (const char *)coap_opt_value(o));
    opt_text(req, M2M_COAP_OPT_FR, t->from, sizeof t->from);
    opt_text(req, COAP_OPTION_URI_QUERY, t->query, sizeof t->query);
    opt_text(req, M2M_COAP_OPT_RVI, t->rvi, sizeof t->rvi);
    t->ty = opt_uint(req, M2M_COAP_OPT_TY);
    t->format = opt_uint(req, COAP_OPTION_CONTENT_FORMAT);
    t->accept = opt_uint(req, COAP_OPTION_ACCEPT);
    t->body_len = coap_get_data_large(req, &len, &data, &off, &total) ? len : 0;
    cJSON_Delete(t->body);
    t->body = NULL;
    if (t->body_len > 0) {
        m2m_err err = {0};
        t->body = t->format == 60 ? m2m_cbor_decode_strict(data, len, &err)
                                  : m2m_json_parse_strict((const char *)data, len, &err);
    }
    if (t->accept == 60 && t->ty != 10100) {
        /* an answer in CBOR, as the Registrar gives it when asked */
        static const uint8_t garbage[] = {0x9f, 0x01};
        cJSON *v = cJSON_Parse(t->ty == 2 ? "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cdevice01\",\"api\":\"Rdemo\"}}"
                                          : "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
        uint8_t *cbor = NULL;
        size_t n = 0;
        m2m_err err = {0};
        if (v == NULL || m2m_cbor_encode(v, &cbor, &n, &err) != 0)
            abort();
        cJSON_Delete(v);
        if (t->bad_cbor) {
            memcpy(cbor, garbage, sizeof garbage);
            n = sizeof garbage;
        }
        coap_reply(s, req, resp, t->ty == 2 ? 201 : 205, t->ty == 2 ? 2001 : 2000,
                   t->ty == 2 ? "~/in-cse/device01" : NULL, NULL);
        coap_add_data_large_response(p->resource, s, req, resp, NULL, COAP_MEDIATYPE_APPLICATION_CBOR, -1, 0, n,
                                     cbor, coap_peer_release, cbor);
        return;
    }
    if (t->ty == 10100) {
        /* x.y.8 as the Registrar does it: the exporter of this DTLS session */
        coap_tls_library_t lib;
        SSL *ssl = coap_session_get_tls(s, &lib);
        unsigned char out[48];
        char body[200];
        m2m_err err = {0};
        if (ssl == NULL || SSL_export_keying_material(ssl, out, sizeof out, KGN_LABEL, strlen(KGN_LABEL), NULL, 0,
                                                      0) != 1 ||
            m2m_keyid(M2M_KEY_KCA, out + 16, 32, t->gen_id, &err) != 0)
            abort();
        memcpy(t->gen, out + 16, 32);
        t->have_gen = 1;
        snprintf(body, sizeof body, "{\"m2m:kgn\":{\"ty\":10100,\"kcaid\":\"%s\",\"kid\":\"%s\"}}", t->gen_id,
                 t->gen_id);
        coap_reply(s, req, resp, 201, 2001, NULL, body);
    } else if (t->ty == 2) {
        coap_reply(s, req, resp, 201, 2001, "~/in-cse/device01",
                   "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cdevice01\",\"api\":\"Rdemo\"}}");
    } else if (t->big != NULL && t->own_blocks) {
        coap_block_b_t b;
        uint8_t buf[4];
        size_t rqi_len, whole = strlen(t->big), at;
        const uint8_t *rqi = coap_peer_opt(req, M2M_COAP_OPT_RQI, &rqi_len);
        unsigned num = coap_get_block_b(s, req, COAP_OPTION_BLOCK2, &b) ? b.num : 0;
        at = (size_t)num * 512;
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE(205));
        coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf, sizeof buf, 50), buf);
        coap_add_option(resp, COAP_OPTION_MAXAGE, 0, NULL);
        coap_add_option(resp, COAP_OPTION_BLOCK2,
                        coap_encode_var_safe(buf, sizeof buf, num << 4 | (at + 512 < whole) << 3 | 5), buf);
        if (num == 0)
            coap_add_option(resp, COAP_OPTION_SIZE2, coap_encode_var_safe(buf, sizeof buf, (unsigned)whole), buf);
        coap_add_option(resp, M2M_COAP_OPT_RSC, coap_encode_var_safe(buf, sizeof buf, 2000), buf);
        if (rqi != NULL)
            coap_add_option(resp, M2M_COAP_OPT_RQI, rqi_len, rqi);
        coap_add_data(resp, whole - at < 512 ? whole - at : 512, (const uint8_t *)t->big + at);
    } else {
        coap_reply(s, req, resp, 205, 2000, NULL, t->big != NULL ? t->big : "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
    }
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof *t);
    m2m_err err = {0};

    if (t == NULL || m2m_keyid(M2M_KEY_KCA, KEY, sizeof KEY, t->identity, &err) != 0)
        return -1;
    t->key.s = KEY;
    t->key.length = sizeof KEY;
    t->gen_key.s = t->gen;
    t->gen_key.length = sizeof t->gen;
    t->peer.handler = handler;
    t->peer.arg = t;
    t->peer.key_for = key_for;
    if (coap_peer_open(&t->peer) != 0 || fixture_mkdtemp(t->dir, sizeof t->dir, "coap-seam") != 0)
        return -1;
    snprintf(t->ini, sizeof t->ini, "%s/device.ini", t->dir);
    snprintf(t->state, sizeof t->state, "%s/device.ini.state", t->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    int rc = fixture_rmdir(t->dir);
    coap_peer_close(&t->peer);
    cJSON_Delete(t->body);
    free(t->big);
    free(t);
    return rc;
}

static void write_ini(struct t *t, const char *extra)
{
    FILE *out = fopen(t->ini, "w");
    assert_non_null(out);
    fprintf(out,
            "[registrar]\npoa = coaps://127.0.0.1:%d\ncse-id = /in-cse\n"
            "[registree]\nid = Cdevice01\napp-id = Rdemo\nname = device01\n"
            "[credentials]\nkey = " KEY_HEX "\n%s",
            t->peer.port, extra);
    fclose(out);
    chmod(t->ini, 0600);
}

struct session {
    m2m_registree_config *cfg;
    m2m_registree *r;
};

static struct session open_session(struct t *t)
{
    struct session s;
    m2m_err err = {0};
    s.cfg = m2m_registree_config_load(t->ini, &err);
    if (s.cfg == NULL)
        fail_msg("%s", err.msg);
    s.r = m2m_registree_new(s.cfg, &err);
    assert_non_null(s.r);
    m2m_registree_set_dial(s.r, coap_peer_dial, &t->peer);
    return s;
}

static void close_session(struct session *s)
{
    m2m_registree_free(s->r);
    m2m_registree_config_free(s->cfg);
}

static void test_register_reattach_request(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_attach_info info;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;

    write_ini(t, "");
    s = open_session(t);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(info.created, 1);
    assert_string_equal(info.assigned_id, "Cdevice01");
    assert_string_equal(info.tls_version, "DTLSv1.2");
    assert_string_equal(info.cipher, "PSK-AES128-CCM8");
    /* TS-0008 on the wire */
    assert_int_equal(t->method, COAP_REQUEST_CODE_POST);
    assert_string_equal(t->path, "/~/in-cse");
    assert_string_equal(t->from, "Cdevice01");
    assert_string_equal(t->rvi, "3");
    assert_int_equal(t->ty, 2);
    assert_int_equal(t->format, 50);
    assert_true(t->body_len > 0);
    close_session(&s);

    /* x.y.3 / x.y.4: the DTLS session is resumed, no second CREATE; then a request */
    s = open_session(t);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(info.created, 0);
    assert_int_equal(info.session_offered, 1);
    assert_int_equal(info.resumed, 1);
    if (m2m_registree_send(s.r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(reply.rsc, 2000);
    assert_int_equal(reply.http_status, 205);
    assert_string_equal(reply.body, "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
    assert_string_equal(t->path, "/~/in-cse/device01");
    m2m_reply_free(&reply);
    close_session(&s);
    assert_int_equal(t->peer.requests, 2);
}

/* [coap] content-format = cbor: the bodies travel in CBOR both ways (Content-Format 60, Accept 60), and the
 * attachment logic and the caller still read JSON: the <AE> the Registrar created is found in its CBOR answer. An
 * answer that does not decode is the Registrar's fault, said so. */
static void test_cbor_on_the_wire(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_attach_info info;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;

    write_ini(t, "[coap]\ncontent-format = cbor\n");
    s = open_session(t);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(info.created, 1);
    assert_string_equal(info.assigned_id, "Cdevice01");
    assert_int_equal(t->format, 60);
    assert_int_equal(t->accept, 60);
    assert_non_null(t->body);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(t->body, "m2m:ae"), "api")->valuestring, "Rdemo");
    if (m2m_registree_send(s.r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(t->accept, 60);
    assert_int_equal(reply.rsc, 2000);
    assert_string_equal(reply.body, "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
    m2m_reply_free(&reply);
    t->bad_cbor = 1;
    assert_int_equal(m2m_registree_send(s.r, &req, &reply), -1);
    assert_non_null(strstr(m2m_registree_error(s.r), "the CBOR body does not decode"));
    t->bad_cbor = 0;
    close_session(&s);
}

/* RFC 7959: a request body and an answer of several datagrams each */
static void test_blockwise_both_ways(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_request req = {.method = "PUT", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    char *body = malloc(6001);
    size_t n;

    assert_non_null(body);
    n = (size_t)snprintf(body, 6001, "{\"m2m:ae\":{\"lbl\":[\"");
    memset(body + n, 'x', 6000 - n - 4);
    memcpy(body + 6000 - 4, "\"]}}", 5);
    t->big = strdup(body);
    req.body = body;
    write_ini(t, "");
    s = open_session(t);
    if (m2m_registree_send(s.r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(t->body_len, 6000);
    assert_int_equal(reply.body_len, 6000);
    assert_memory_equal(reply.body, body, 6000);
    m2m_reply_free(&reply);
    close_session(&s);
    free(body);
}

/* A server's own Block2 blocks with Max-Age, Block2 and oneM2M-RQI in a row and no Size2 after the first block:
 * libcoap 4.3.1's single-body mode, joining them, loses the options after Block2 of the last one (its
 * coap_remove_option writes a delta of exactly 269 as 13); the Registree joins the blocks itself and keeps the
 * last one's oneM2M-RSC. */
static void test_blocks_of_another_server(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_request req = {.method = "GET", .path = "/~/in-cse/device01"};
    m2m_reply reply;
    char body[3001];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"m2m:ae\":{\"lbl\":[\"");

    memset(body + n, 'y', 3000 - n - 4);
    memcpy(body + 3000 - 4, "\"]}}", 5);
    t->big = strdup(body);
    t->own_blocks = 1;
    write_ini(t, "");
    s = open_session(t);
    if (m2m_registree_send(s.r, &req, &reply) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(reply.rsc, 2000);
    assert_int_equal(reply.body_len, 3000);
    assert_memory_equal(reply.body, body, 3000);
    m2m_reply_free(&reply);
    close_session(&s);
}

/* x.y.8 over DTLS: both ends take the key from the same exporter; the next attachment uses it */
static void test_rekey_over_dtls(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_attach_info info;

    write_ini(t, "");
    s = open_session(t);
    if (m2m_registree_rekey(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_string_equal(info.generated_key_id, t->gen_id);
    /* a forward-secret suite: the default list's first has no ephemeral exchange */
    assert_string_equal(info.cipher, "ECDHE-PSK-CHACHA20-POLY1305");
    close_session(&s);

    s = open_session(t);
    m2m_registree_set_resumption(s.r, 0);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_int_equal(info.generated_key, 1);
    assert_string_equal(info.key_id, t->gen_id);
    close_session(&s);
}

static void test_unknown_identity_and_silence(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_attach_info info;
    struct timespec t0, t1;

    /* the Registrar does not know the key: it names the identity (unknown_psk_identity) */
    t->identity[0] = 'X';
    write_ini(t, "");
    s = open_session(t);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_TLS);
    if (strstr(m2m_registree_error(s.r), "unknown psk identity") == NULL ||
        strstr(m2m_registree_error(s.r), "refused: not enrolled, revoked or replaced?") == NULL)
        fail_msg("%s", m2m_registree_error(s.r));
    close_session(&s);

    /* a Registrar that never answers: the wait ends at once, not after the 10 s timeout */
    t->peer.silent = 1;
    s = open_session(t);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(m2m_registree_attach(s.r, &info), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(m2m_registree_error_code(s.r), M2M_E_TIMEOUT);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    close_session(&s);
}

/* x.y.5 over DTLS: a Registree with a valid bootstrapping (no Ub now) attaches with identity
 * "3GPP-bootstrapping.<B-TID>" and Ks_NAF derived for the DTLS suite the Registrar chose. */
static void test_gba_over_dtls(void **state)
{
    struct t *t = *state;
    struct session s;
    m2m_attach_info info;
    m2m_reg_state *st = calloc(1, sizeof *st);
    m2m_err err = {0};
    char extra[256];

    assert_non_null(st);
    for (size_t i = 0; i < sizeof t->gba_ks; i++)
        t->gba_ks[i] = (uint8_t)(0x40 + i);
    for (size_t i = 0; i < sizeof t->gba_rand; i++)
        t->gba_rand[i] = (uint8_t)i;
    snprintf(extra, sizeof extra, "[gba]\nbsf = http://127.0.0.1:9\nimpi = " GBA_IMPI "\nk-file = usim.k\n"
             "opc = cd63cb71954a9f4e48a5994e37a02baf\nnaf-fqdn = " GBA_NAF "\n");
    {
        char path[200];
        FILE *f;
        snprintf(path, sizeof path, "%s/usim.k", t->dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("465b5ce8b199b49faa5f0a2ee238a6bc\n", f);
        fclose(f);
        chmod(path, 0600);
    }
    {
        FILE *out = fopen(t->ini, "w");
        assert_non_null(out);
        fprintf(out, "[registrar]\npoa = coaps://127.0.0.1:%d\ncse-id = /in-cse\n[registree]\nid = Cdevice01\n"
                "app-id = Rdemo\nname = device01\n[credentials]\nmechanism = gba\n%s", t->peer.port, extra);
        fclose(out);
        chmod(t->ini, 0600);
    }
    /* the bootstrapping of an earlier Ub run, valid for an hour */
    st->gba.sqn = 1;
    snprintf(st->gba.btid, sizeof st->gba.btid, "%s", GBA_BTID);
    snprintf(st->gba.impi, sizeof st->gba.impi, "%s", GBA_IMPI);
    snprintf(st->gba.bsf, sizeof st->gba.bsf, "http://127.0.0.1:9");
    st->gba.expires = m2m_clock_now() + 3600;
    memcpy(st->gba.rand, t->gba_rand, sizeof st->gba.rand);
    memcpy(st->gba.ks, t->gba_ks, sizeof st->gba.ks);
    assert_int_equal(m2m_state_save(t->state, st, &err), 0);
    m2m_state_wipe(st);
    free(st);

    s = open_session(t);
    if (m2m_registree_attach(s.r, &info) != 0)
        fail_msg("%s", m2m_registree_error(s.r));
    assert_string_equal(info.mechanism, "gba");
    assert_int_equal(info.gba_bootstrapped, 0);
    assert_string_equal(info.gba_btid, GBA_BTID);
    assert_string_equal(info.tls_version, "DTLSv1.2");
    assert_int_equal(info.created, 1);
    close_session(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_reattach_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cbor_on_the_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blockwise_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks_of_another_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_over_dtls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_identity_and_silence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gba_over_dtls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
