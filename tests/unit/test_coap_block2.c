/* SPDX-License-Identifier: Apache-2.0 */
/* Block-wise answers as the Registrar keeps them (registrar/coap_block2.c), without sockets: the first block and
 * its options, a later block from the kept answer, smaller blocks than the first ones, the key (path, query,
 * method), four a session with the oldest pushed out, the worker's budget, expiry on a moved clock, a read made
 * again and a write's block refused. The Registrar end to end: it_coap block_wise_answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/coap.h"
#include "util/clock.h"

#define MAX_PDU 1152 /* libcoap's COAP_DEFAULT_MTU */

struct fixture {
    struct m2m_registrar reg;
    struct worker w;
    struct m2m_coap srv;
    coap_conn c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->w.reg = &f->reg;
    f->srv.w = &f->w;
    f->c.srv = &f->srv;
    m2m_clock_set_offset(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    m2m_coap_block2_drop(&f->c);
    assert_int_equal(f->srv.block2_bytes, 0);
    assert_int_equal(f->reg.metrics.coap.block2_kept_bytes, 0);
    m2m_clock_set_offset(0);
    free(f);
    return 0;
}

/* A request: method, Uri-Path segments of path ("a/b"), a Uri-Query or NULL, Block2 (num, szx) when num >= 0. */
static coap_pdu_t *request(coap_pdu_code_t method, const char *path, const char *query, int num, unsigned szx)
{
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, method, 1, 256);
    uint8_t buf[4];
    char segs[128];
    assert_non_null(pdu);
    assert_true(coap_add_token(pdu, 2, (const uint8_t *)"tk"));
    snprintf(segs, sizeof segs, "%s", path);
    for (char *s = segs, *e; s != NULL && *s != '\0'; s = e) {
        if ((e = strchr(s, '/')) != NULL)
            *e++ = '\0';
        coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(s), (const uint8_t *)s);
    }
    if (query != NULL)
        coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(query), (const uint8_t *)query);
    if (num >= 0)
        coap_add_option(pdu, COAP_OPTION_BLOCK2, coap_encode_var_safe(buf, sizeof buf, (unsigned)num << 4 | szx), buf);
    coap_add_option(pdu, M2M_COAP_OPT_FR, 4, (const uint8_t *)"Cdev");
    return pdu;
}

/* An answer of n octets: 'a' + i % 26 at i, so that every block differs. */
static void answer(m2m_coap_out *o, size_t n)
{
    memset(o, 0, sizeof *o);
    o->code = 205;
    o->rsc = 2000;
    o->format = 50;
    o->payload_len = n;
    o->payload = malloc(n);
    assert_non_null(o->payload);
    for (size_t i = 0; i < n; i++)
        o->payload[i] = (char)('a' + i % 26);
}

struct sent {
    int code, more, num, szx;
    size_t size2, len, off;
    uint8_t etag[8];
    int has_etag;
    const uint8_t *data;
};

/* What resp says: the code, Block2, Size2, ETag and the data. */
static void read_resp(const coap_pdu_t *resp, struct sent *out)
{
    coap_opt_iterator_t it;
    coap_opt_t *o;
    memset(out, 0, sizeof *out);
    out->num = -1;
    out->code = (int)(coap_pdu_get_code(resp) >> 5) * 100 + (int)(coap_pdu_get_code(resp) & 0x1f);
    coap_option_iterator_init(resp, &it, COAP_OPT_ALL);
    while ((o = coap_option_next(&it)) != NULL) {
        unsigned v = coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
        if (it.number == COAP_OPTION_BLOCK2) {
            out->num = (int)(v >> 4), out->more = (v >> 3) & 1, out->szx = (int)(v & 7);
        } else if (it.number == COAP_OPTION_SIZE2) {
            out->size2 = v;
        } else if (it.number == COAP_OPTION_ETAG && coap_opt_length(o) == 8) {
            memcpy(out->etag, coap_opt_value(o), 8);
            out->has_etag = 1;
        }
    }
    if (!coap_get_data(resp, &out->len, &out->data))
        out->len = 0;
    if (out->num >= 0)
        out->off = (size_t)out->num << (out->szx + 4);
}

/* m2m_coap_block2_put of o for req; what went into the response in *out. */
static int put(coap_conn *c, const coap_pdu_t *req, m2m_coap_out *o, struct sent *out, coap_pdu_t **resp)
{
    int rc;
    *resp = coap_pdu_init(COAP_MESSAGE_ACK, COAP_RESPONSE_CODE(205), 1, MAX_PDU);
    assert_non_null(*resp);
    assert_true(coap_add_token(*resp, 2, (const uint8_t *)"tk"));
    rc = m2m_coap_block2_put(c, NULL, MAX_PDU, req, *resp, o, 0);
    read_resp(*resp, out);
    return rc;
}

static void short_answers_go_whole(void **state)
{
    struct fixture *f = *state;
    coap_pdu_t *req = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", NULL, -1, 0), *resp;
    m2m_coap_out o;
    struct sent s;
    answer(&o, 500);
    assert_int_equal(put(&f->c, req, &o, &s, &resp), 0);
    assert_int_equal(s.num, -1); /* no Block2 */
    assert_int_equal(s.len, 500);
    assert_null(f->c.large);
    assert_non_null(o.payload); /* the caller's still */
    m2m_coap_out_clear(&o);
    coap_delete_pdu(resp);
    coap_delete_pdu(req);
}

static void blocks_from_the_kept_answer(void **state)
{
    struct fixture *f = *state;
    coap_pdu_t *req = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", NULL, -1, 0), *resp, *next;
    m2m_coap_out o;
    const m2m_coap_out *kept;
    struct sent first, s;
    int refuse;
    char whole[3000];

    answer(&o, sizeof whole);
    memcpy(whole, o.payload, sizeof whole);
    assert_int_equal(put(&f->c, req, &o, &first, &resp), 0);
    assert_int_equal(first.num, 0);
    assert_true(first.more);
    assert_int_equal(first.szx, 6); /* 1024: fits with the options */
    assert_int_equal(first.size2, sizeof whole);
    assert_true(first.has_etag);
    assert_memory_equal(first.data, whole, 1024);
    assert_null(o.payload); /* taken */
    assert_non_null(f->c.large);
    assert_int_equal(f->reg.metrics.coap.block2_kept_bytes, sizeof whole);
    coap_delete_pdu(resp);

    /* block 2, asked for with the same path: from the kept answer, the same ETag, the last block */
    next = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", NULL, 2, 6);
    kept = m2m_coap_block2_follow(&f->c, NULL, next, &refuse);
    assert_non_null(kept);
    assert_int_equal(refuse, 0);
    assert_int_equal(put(&f->c, next, (m2m_coap_out *)kept, &s, &resp), 0);
    assert_int_equal(s.num, 2);
    assert_false(s.more);
    assert_int_equal(s.len, sizeof whole - 2048);
    assert_memory_equal(s.data, whole + 2048, s.len);
    assert_memory_equal(s.etag, first.etag, 8);
    assert_int_equal(f->reg.metrics.coap.block2[M2M_COAP_BLOCK2_KEPT], 1);
    coap_delete_pdu(resp);
    coap_delete_pdu(next);

    /* smaller blocks than the first ones: the same bytes at the same offset (block 5 of 256 = offset 1280) */
    next = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", NULL, 5, 4);
    kept = m2m_coap_block2_follow(&f->c, NULL, next, &refuse);
    assert_non_null(kept);
    assert_int_equal(put(&f->c, next, (m2m_coap_out *)kept, &s, &resp), 0);
    assert_int_equal(s.szx, 4);
    assert_int_equal(s.len, 256);
    assert_memory_equal(s.data, whole + 1280, 256);
    coap_delete_pdu(resp);
    coap_delete_pdu(next);

    /* past the end: 4.02 */
    next = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", NULL, 9, 6);
    kept = m2m_coap_block2_follow(&f->c, NULL, next, &refuse);
    assert_int_equal(put(&f->c, next, (m2m_coap_out *)kept, &s, &resp), 0);
    assert_int_equal(s.code, 402);
    coap_delete_pdu(resp);
    coap_delete_pdu(next);

    /* another path, another query, another method: not this answer */
    {
        static const struct {
            coap_pdu_code_t method;
            const char *path, *query;
        } OTHER[] = {{COAP_REQUEST_CODE_GET, "~/in-cse/y", NULL}, {COAP_REQUEST_CODE_GET, "~/in-cse/x", "q=1"},
                     {COAP_REQUEST_CODE_GET, "~/in-cse", NULL}};
        for (size_t i = 0; i < sizeof OTHER / sizeof OTHER[0]; i++) {
            next = request(OTHER[i].method, OTHER[i].path, OTHER[i].query, 1, 6);
            assert_null(m2m_coap_block2_follow(&f->c, NULL, next, &refuse));
            assert_int_equal(refuse, 0); /* a read: made again */
            coap_delete_pdu(next);
        }
        assert_int_equal(f->reg.metrics.coap.block2[M2M_COAP_BLOCK2_AGAIN], 3);
        /* a write's later block without its answer kept: refused, never run again */
        next = request(COAP_REQUEST_CODE_POST, "~/in-cse/x", NULL, 1, 6);
        assert_null(m2m_coap_block2_follow(&f->c, NULL, next, &refuse));
        assert_int_equal(refuse, 1);
        assert_int_equal(f->reg.metrics.coap.block2[M2M_COAP_BLOCK2_REFUSED], 1);
        coap_delete_pdu(next);
    }
    coap_delete_pdu(req);
}

static void four_a_session_and_the_budget(void **state)
{
    struct fixture *f = *state;
    coap_pdu_t *req, *resp, *next;
    m2m_coap_out o;
    struct sent s;
    int refuse;
    char q[16];

    for (int i = 0; i < 6; i++) {
        snprintf(q, sizeof q, "x=%d", i);
        req = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", q, -1, 0);
        answer(&o, 2000);
        assert_int_equal(put(&f->c, req, &o, &s, &resp), 0);
        m2m_coap_out_clear(&o);
        coap_delete_pdu(resp);
        coap_delete_pdu(req);
    }
    assert_int_equal(f->srv.block2_bytes, 4 * 2000);
    assert_int_equal(f->reg.metrics.coap.block2_kept_bytes, 4 * 2000);
    /* the newest four are there, the first two pushed out */
    for (int i = 0; i < 6; i++) {
        snprintf(q, sizeof q, "x=%d", i);
        next = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", q, 1, 6);
        assert_true((m2m_coap_block2_follow(&f->c, NULL, next, &refuse) != NULL) == (i >= 2));
        coap_delete_pdu(next);
    }
    /* the same request again: its answer replaced, not a fifth */
    req = request(COAP_REQUEST_CODE_GET, "~/in-cse/x", "x=5", -1, 0);
    answer(&o, 2100);
    assert_int_equal(put(&f->c, req, &o, &s, &resp), 0);
    assert_int_equal(f->srv.block2_bytes, 3 * 2000 + 2100);
    coap_delete_pdu(resp);
    /* the worker's budget used up (by other sessions): sent, but not kept */
    m2m_coap_block2_drop(&f->c);
    f->srv.block2_bytes = M2M_COAP_BLOCK2_BUDGET - 1000;
    answer(&o, 2000);
    assert_int_equal(put(&f->c, req, &o, &s, &resp), 0);
    assert_int_equal(s.num, 0);
    assert_true(s.more);
    assert_null(f->c.large);
    assert_non_null(o.payload); /* still the caller's to free */
    assert_int_equal(f->reg.metrics.coap.block2[M2M_COAP_BLOCK2_NOT_KEPT], 1);
    f->srv.block2_bytes = 0;
    m2m_coap_out_clear(&o);
    coap_delete_pdu(resp);
    coap_delete_pdu(req);
}

static void gone_after_max_transmit_wait(void **state)
{
    struct fixture *f = *state;
    coap_pdu_t *req = request(COAP_REQUEST_CODE_POST, "~/in-cse", NULL, -1, 0), *resp, *next;
    m2m_coap_out o;
    struct sent s;
    int refuse;

    answer(&o, 3000);
    assert_int_equal(put(&f->c, req, &o, &s, &resp), 0);
    coap_delete_pdu(resp);
    next = request(COAP_REQUEST_CODE_POST, "~/in-cse", NULL, 1, 6);
    m2m_clock_set_offset(90);
    m2m_coap_block2_expire(&f->c);
    assert_non_null(m2m_coap_block2_follow(&f->c, NULL, next, &refuse)); /* and that request counts as use */
    m2m_clock_set_offset(90 + 94);
    m2m_coap_block2_expire(&f->c);
    assert_null(f->c.large);
    assert_int_equal(f->srv.block2_bytes, 0);
    assert_null(m2m_coap_block2_follow(&f->c, NULL, next, &refuse));
    assert_int_equal(refuse, 1);
    coap_delete_pdu(next);
    coap_delete_pdu(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(short_answers_go_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(blocks_from_the_kept_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(four_a_session_and_the_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(gone_after_max_transmit_wait, setup, teardown),
    };
    coap_startup();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
