/* SPDX-License-Identifier: Apache-2.0 */
/* The answer a CoAPS session keeps for a duplicate of its last write (registrar/coap_replay.c): found only for the
 * same Confirmable message (Message ID and token), given back whole, dropped by another exchange and after
 * EXCHANGE_LIFETIME (the clock moved, no waiting), and only marked when long enough to go block-wise. The
 * Registrar end to end: it_coap write_answers and block_wise_answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "registrar/coap.h"
#include "util/clock.h"

static const uint8_t TOKEN[] = {0xa1, 0xb2, 0xc3};

static coap_pdu_t *request(coap_pdu_type_t type, coap_mid_t mid, const uint8_t *token, size_t token_len)
{
    coap_pdu_t *pdu = coap_pdu_init(type, COAP_REQUEST_CODE_POST, mid, 256);
    assert_non_null(pdu);
    assert_true(coap_add_token(pdu, token_len, token));
    return pdu;
}

static void answer(m2m_coap_out *o, size_t payload_len)
{
    memset(o, 0, sizeof *o);
    o->code = 201;
    o->rsc = 2001;
    strcpy(o->rqi, "rqi-7");
    strcpy(o->loc_buf, "~in-cseCdev");
    o->loc[0] = o->loc_buf, o->loc_len[0] = 1;
    o->loc[1] = o->loc_buf + 1, o->loc_len[1] = 6;
    o->loc[2] = o->loc_buf + 7, o->loc_len[2] = 4;
    o->nloc = 3;
    o->format = 50;
    o->payload_len = payload_len;
    o->payload = malloc(payload_len);
    assert_non_null(o->payload);
    memset(o->payload, 'p', payload_len);
}

static int find(coap_conn *c, coap_pdu_type_t type, coap_mid_t mid, const uint8_t *token, size_t token_len,
                m2m_coap_out *o, m2m_coap_block1 *b1)
{
    coap_pdu_t *req = request(type, mid, token, token_len);
    int rc = m2m_coap_replay_find(c, req, o, b1);
    coap_delete_pdu(req);
    return rc;
}

static void the_same_answer_for_a_duplicate(void **state)
{
    coap_conn c;
    m2m_coap_out o, got;
    m2m_coap_block1 b1 = {1, 5, 6}, gb1;
    coap_bin_const_t token = {sizeof TOKEN, TOKEN};
    (void)state;
    memset(&c, 0, sizeof c);
    answer(&o, 300);
    assert_int_equal(m2m_coap_replay_keep(&c, 0x1234, token, &o, &b1), 0);
    m2m_coap_out_clear(&o); /* kept as a copy */
    for (int i = 0; i < 2; i++) { /* a device may retransmit more than once */
        assert_int_equal(find(&c, COAP_MESSAGE_CON, 0x1234, TOKEN, sizeof TOKEN, &got, &gb1), 1);
        assert_int_equal(got.code, 201);
        assert_int_equal(got.rsc, 2001);
        assert_string_equal(got.rqi, "rqi-7");
        assert_int_equal(got.nloc, 3);
        assert_true(got.loc_len[0] == 1 && memcmp(got.loc[0], "~", 1) == 0);
        assert_true(got.loc_len[1] == 6 && memcmp(got.loc[1], "in-cse", 6) == 0);
        assert_true(got.loc_len[2] == 4 && memcmp(got.loc[2], "Cdev", 4) == 0);
        assert_int_equal(got.format, 50);
        assert_int_equal(got.payload_len, 300);
        assert_true(got.payload[0] == 'p' && got.payload[299] == 'p');
        assert_true(gb1.on == 1 && gb1.num == 5 && gb1.szx == 6);
        m2m_coap_out_clear(&got);
    }
    m2m_coap_replay_drop(&c);
    assert_null(c.replay);
}

static void not_for_another_message(void **state)
{
    static const uint8_t other[] = {0xa1, 0xb2, 0xc4};
    coap_conn c;
    m2m_coap_out o, got;
    m2m_coap_block1 b1 = {0, 0, 0}, gb1;
    coap_bin_const_t token = {sizeof TOKEN, TOKEN};
    (void)state;
    memset(&c, 0, sizeof c);
    answer(&o, 10);
    /* a non-confirmable message, another token, a shorter token: not duplicates, and each ends the exchange */
    assert_int_equal(m2m_coap_replay_keep(&c, 7, token, &o, &b1), 0);
    assert_int_equal(find(&c, COAP_MESSAGE_NON, 7, TOKEN, sizeof TOKEN, &got, &gb1), 0);
    assert_null(c.replay);
    assert_int_equal(m2m_coap_replay_keep(&c, 7, token, &o, &b1), 0);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 7, other, sizeof other, &got, &gb1), 0);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 7, TOKEN, sizeof TOKEN, &got, &gb1), 0);
    assert_int_equal(m2m_coap_replay_keep(&c, 7, token, &o, &b1), 0);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 7, TOKEN, 2, &got, &gb1), 0);
    /* the next exchange (another Message ID) ends it too */
    assert_int_equal(m2m_coap_replay_keep(&c, 7, token, &o, &b1), 0);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 8, TOKEN, sizeof TOKEN, &got, &gb1), 0);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 7, TOKEN, sizeof TOKEN, &got, &gb1), 0);
    m2m_coap_out_clear(&o);
}

static void a_long_one_is_marked_block_wise(void **state)
{
    coap_conn c;
    m2m_coap_out o, got;
    m2m_coap_block1 b1 = {0, 0, 0}, gb1;
    coap_bin_const_t token = {sizeof TOKEN, TOKEN};
    (void)state;
    memset(&c, 0, sizeof c);
    answer(&o, M2M_COAP_REPLAY_MAX);
    assert_int_equal(m2m_coap_replay_keep(&c, 1, token, &o, &b1), 0);
    m2m_coap_out_clear(&o);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 1, TOKEN, sizeof TOKEN, &got, &gb1), 1);
    assert_int_equal(got.payload_len, M2M_COAP_REPLAY_MAX);
    m2m_coap_out_clear(&got);
    /* longer: sent block-wise and kept by coap_block2.c; here only the fields and that mark */
    answer(&o, M2M_COAP_REPLAY_MAX + 1);
    assert_int_equal(m2m_coap_replay_keep(&c, 2, token, &o, &b1), 0);
    m2m_coap_out_clear(&o);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 2, TOKEN, sizeof TOKEN, &got, &gb1), 2);
    assert_int_equal(got.code, 201);
    assert_string_equal(got.rqi, "rqi-7");
    assert_int_equal(got.payload_len, 0);
    assert_null(got.payload);
    m2m_coap_out_clear(&got);
    m2m_coap_replay_drop(&c);
}

static void gone_after_the_exchange_lifetime(void **state)
{
    coap_conn c;
    m2m_coap_out o, got;
    m2m_coap_block1 b1 = {0, 0, 0}, gb1;
    coap_bin_const_t token = {sizeof TOKEN, TOKEN};
    (void)state;
    memset(&c, 0, sizeof c);
    m2m_clock_set_offset(0);
    answer(&o, 10);
    assert_int_equal(m2m_coap_replay_keep(&c, 9, token, &o, &b1), 0);
    m2m_coap_out_clear(&o);
    m2m_clock_set_offset(246); /* RFC 7252 4.8.2: EXCHANGE_LIFETIME is 247 s */
    m2m_coap_replay_expire(&c);
    assert_non_null(c.replay);
    assert_int_equal(find(&c, COAP_MESSAGE_CON, 9, TOKEN, sizeof TOKEN, &got, &gb1), 1);
    m2m_coap_out_clear(&got);
    m2m_clock_set_offset(248);
    m2m_coap_replay_expire(&c);
    assert_null(c.replay);
    m2m_clock_set_offset(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_same_answer_for_a_duplicate),
        cmocka_unit_test(not_for_another_message),
        cmocka_unit_test(a_long_one_is_marked_block_wise),
        cmocka_unit_test(gone_after_the_exchange_lifetime),
    };
    coap_startup();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
