/* SPDX-License-Identifier: Apache-2.0 */
/* A CoAP-over-DTLS Registrar in the test's own thread: a libcoap server context on 127.0.0.1 that runs only when
 * the Registree's DTLS client would wait (src/registree/wire.h: m2m_pump). No thread, no wall-clock wait; a
 * server with nothing to do is a silent network, so the client's wait ends at once. Header-only (static inline).
 *
 *   coap_peer_open(p, handler, arg)    a DTLS-PSK server on a free UDP port (p->port), keys from p->key_for
 *   coap_peer_dial(p, cfg, err)        an m2m_rtee_dial: the client's waits run this server (cfg->pump)
 *   coap_peer_close(p)                 teardown
 *   coap_reply(resp, code, rsc, rqi, loc, body)  the handler's answer, with oneM2M-RSC and oneM2M-RQI
 *
 * oneM2M's CoAP options are critical and above 255, and libcoap 4.3.1 can know only two such numbers
 * (COAP_OPT_FILTER_LONG): as the Registrar does (src/registrar/coap_options.c on the CoAP branch), this test
 * program answers libcoap's question "does the filter know option N" with yes for every oneM2M option when the
 * filter knows oneM2M-FR and oneM2M-RQI. */
#ifndef M2M_TEST_FIXTURE_MEM_COAP_H
#define M2M_TEST_FIXTURE_MEM_COAP_H

#include <coap3/coap.h>
#include <dlfcn.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding/coap_options.h"
#include "registree/registree_internal.h"

typedef int (*coap_filter_get_fn)(coap_opt_filter_t *filter, coap_option_num_t number);

static inline int coap_peer_onem2m_option(coap_option_num_t n)
{
    return n >= M2M_COAP_OPT_OT && n <= M2M_COAP_OPT_AUS && (n - M2M_COAP_OPT_OT) % 4 == 0;
}

/* Found by libcoap's calls through its PLT: this executable's definition comes first. */
int coap_option_filter_get(coap_opt_filter_t *filter, coap_option_num_t number)
{
    static coap_filter_get_fn next;
    int r;
    if (next == NULL)
        next = (coap_filter_get_fn)dlsym(RTLD_NEXT, "coap_option_filter_get");
    if (next == NULL)
        return 0;
    r = next(filter, number);
    if (r > 0 || !coap_peer_onem2m_option(number))
        return r;
    return next(filter, M2M_COAP_OPT_FR) > 0 && next(filter, M2M_COAP_OPT_RQI) > 0 ? 1 : r;
}

struct coap_peer;
/* Called with each request (its whole body, block-wise or not); fills response. */
typedef void (*coap_peer_handler)(struct coap_peer *p, coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp);

struct coap_peer {
    coap_context_t *ctx;
    int port;
    coap_peer_handler handler;
    void *arg;
    int silent;     /* 1: the server does not run: a Registrar that never answers */
    coap_resource_t *resource; /* of the request being handled */
    int requests;
    /* PSK: the key for an identity, or NULL (unknown identity); s is the session asking (its SSL knows the suite
     * by then) */
    const coap_bin_const_t *(*key_for)(void *arg, const char *identity, size_t len, coap_session_t *s);
};

static inline void coap_peer_request(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                                     const coap_string_t *query, coap_pdu_t *resp)
{
    struct coap_peer *p = coap_get_app_data(coap_session_get_context(s));
    (void)query;
    p->requests++;
    p->resource = res;
    p->handler(p, s, req, resp);
    p->resource = NULL;
}

static inline const coap_bin_const_t *coap_peer_id_cb(coap_bin_const_t *identity, coap_session_t *s, void *arg)
{
    struct coap_peer *p = arg;
    return p->key_for(p->arg, (const char *)identity->s, identity->length, s);
}

/* The option of number num in pdu, or NULL; *len its length. */
static inline const uint8_t *coap_peer_opt(const coap_pdu_t *pdu, coap_option_num_t num, size_t *len)
{
    coap_opt_iterator_t it;
    coap_opt_t *o = coap_check_option(pdu, num, &it);
    *len = o != NULL ? coap_opt_length(o) : 0;
    return o != NULL ? coap_opt_value(o) : NULL;
}

static inline void coap_peer_release(coap_session_t *s, void *copy)
{
    (void)s;
    free(copy);
}

/* code as class * 100 + detail; loc: Location-Path segments "a/b/c" or NULL; body NULL: none. */
static inline void coap_reply(coap_session_t *s, const coap_pdu_t *req, coap_pdu_t *resp, int code, unsigned rsc,
                              const char *loc, const char *body)
{
    struct coap_peer *p = coap_get_app_data(coap_session_get_context(s));
    uint8_t buf[4];
    size_t rqi_len;
    const uint8_t *rqi = coap_peer_opt(req, M2M_COAP_OPT_RQI, &rqi_len);
    coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
    while (loc != NULL && *loc != '\0') {
        const char *slash = strchr(loc, '/');
        size_t n = slash != NULL ? (size_t)(slash - loc) : strlen(loc);
        coap_add_option(resp, M2M_COAP_OPT_LOCATION_PATH, n, (const uint8_t *)loc);
        loc = slash != NULL ? slash + 1 : loc + n;
    }
    coap_add_option(resp, M2M_COAP_OPT_RSC, coap_encode_var_safe(buf, sizeof buf, rsc), buf);
    if (rqi != NULL)
        coap_add_option(resp, M2M_COAP_OPT_RQI, rqi_len, rqi);
    if (body != NULL) {
        /* RFC 7959: libcoap answers in Block2 blocks when the body does not fit one datagram */
        /* libcoap keeps the data until the last block has gone, then releases it */
        char *copy = strdup(body);
        if (copy != NULL)
            coap_add_data_large_response(p->resource, s, req, resp, NULL, COAP_MEDIATYPE_APPLICATION_JSON, -1, 0,
                                         strlen(copy), (const uint8_t *)copy, coap_peer_release, copy);
    }
}

/* One step of the server: it runs when a datagram waits for it. 0 when it did, -1 when it had nothing to do. */
static inline int coap_peer_run(void *arg)
{
    struct coap_peer *p = arg;
    struct pollfd pfd = {.fd = coap_context_get_coap_fd(p->ctx), .events = POLLIN};
    if (p->silent || poll(&pfd, 1, 0) <= 0)
        return -1;
    coap_io_process(p->ctx, COAP_IO_NO_WAIT);
    return 0;
}

static inline int coap_peer_dial(void *arg, m2m_tls_client_config *cfg, m2m_err *err)
{
    (void)err;
    cfg->pump.run = coap_peer_run;
    cfg->pump.arg = arg;
    return 0;
}

/* A resource for every path the tests use, each answered by the handler. */
static inline void coap_peer_resource(struct coap_peer *p, const char *path)
{
    coap_resource_t *r = coap_resource_init(coap_make_str_const(path), 0);
    coap_register_request_handler(r, COAP_REQUEST_GET, coap_peer_request);
    coap_register_request_handler(r, COAP_REQUEST_POST, coap_peer_request);
    coap_register_request_handler(r, COAP_REQUEST_PUT, coap_peer_request);
    coap_register_request_handler(r, COAP_REQUEST_DELETE, coap_peer_request);
    coap_add_resource(p->ctx, r);
}

static inline int coap_peer_open(struct coap_peer *p)
{
    coap_address_t a;
    coap_endpoint_t *ep;
    coap_dtls_spsk_t spsk;
    const char *s;
    static const uint8_t no_key[1] = {0};

    coap_startup();
    p->ctx = coap_new_context(NULL);
    if (p->ctx == NULL)
        return -1;
    coap_set_app_data(p->ctx, p);
    coap_context_set_block_mode(p->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_option(p->ctx, M2M_COAP_OPT_FR);
    coap_register_option(p->ctx, M2M_COAP_OPT_RQI);
    memset(&spsk, 0, sizeof spsk);
    spsk.version = COAP_DTLS_SPSK_SETUP_VERSION;
    spsk.validate_id_call_back = coap_peer_id_cb;
    spsk.id_call_back_arg = p;
    spsk.psk_info.key.s = no_key; /* never used: every identity goes through the callback */
    spsk.psk_info.key.length = 1;
    if (!coap_context_set_psk2(p->ctx, &spsk))
        return -1;
    coap_address_init(&a);
    a.size = sizeof a.addr.sin;
    a.addr.sin.sin_family = AF_INET;
    a.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.addr.sin.sin_port = 0;
    ep = coap_new_endpoint(p->ctx, &a, COAP_PROTO_DTLS);
    s = ep != NULL ? coap_endpoint_str(ep) : NULL;
    if (s == NULL || strrchr(s, ':') == NULL)
        return -1;
    p->port = atoi(strrchr(s, ':') + 1);
    coap_peer_resource(p, "~/in-cse");
    coap_peer_resource(p, "~/in-cse/device01");
    return p->port > 0 ? 0 : -1;
}

static inline void coap_peer_close(struct coap_peer *p)
{
    if (p->ctx != NULL)
        coap_free_context(p->ctx);
    p->ctx = NULL;
}

#endif
