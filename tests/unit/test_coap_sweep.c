/* SPDX-License-Identifier: Apache-2.0 */
/* The pacing of libcoap's walk over every DTLS session (registrar/coap_sweep.c): the arithmetic with made-up times,
 * and that a program linked with the Registrar's code is the one libcoap calls (the override is in effect) while a
 * context that is no listener's gets libcoap's own behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "registrar/coap.h"

static void walk_put_off_within_its_period(void **state)
{
    coap_sweep sw;
    (void)state;
    memset(&sw, 0, sizeof sw);
    m2m_coap_sweep_ran(&sw, 0.01); /* a cheap walk: the 10 ms floor */
    assert_true(sw.period_ms == 10.0);
    assert_true(m2m_coap_sweep_put_off_ms(&sw, 0.0) == 10.0);
    assert_true(m2m_coap_sweep_put_off_ms(&sw, 4.0) == 6.0);
    assert_true(m2m_coap_sweep_put_off_ms(&sw, 10.0) == 0.0);   /* the period is over: walk */
    assert_true(m2m_coap_sweep_put_off_ms(&sw, 250.0) == 0.0);
    assert_true(m2m_coap_sweep_put_off_ms(&sw, -1.0) == 0.0);   /* a clock that went back: walk */
    sw.force = 1;                                                /* asked for: walk whatever the time */
    assert_true(m2m_coap_sweep_put_off_ms(&sw, 0.0) == 0.0);
}

static void period_follows_the_walks_cost(void **state)
{
    coap_sweep sw;
    (void)state;
    memset(&sw, 0, sizeof sw);
    m2m_coap_sweep_ran(&sw, 2.0); /* 20 x the cost */
    assert_true(sw.period_ms == 40.0);
    m2m_coap_sweep_ran(&sw, 400.0); /* at most a second: retransmissions are late by no more */
    assert_true(sw.period_ms == 1000.0);
}

static void a_walk_clears_what_it_answers(void **state)
{
    static coap_sweep sw;
    (void)state;
    memset(&sw, 0, sizeof sw);
    sw.force = sw.put_off = 1;
    sw.closed[7] = 12345;
    sw.nclosed = 1;
    sw.closed_overflow = 1;
    m2m_coap_sweep_ran(&sw, 0.5);
    assert_int_equal(sw.force, 0);
    assert_int_equal(sw.put_off, 0);
    assert_int_equal(sw.nclosed, 0);
    assert_int_equal(sw.closed[7], 0);
    assert_int_equal(sw.closed_overflow, 0);
}

static void closed_addresses_remembered_until_the_walk(void **state)
{
    struct m2m_coap *srv = calloc(1, sizeof *srv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5000)}, b = a;
    coap_address_t ca;
    (void)state;
    assert_non_null(srv);
    a.sin_addr.s_addr = htonl(0x7f000001);
    b.sin_addr.s_addr = htonl(0x7f000001);
    b.sin_port = htons(5001);
    coap_address_init(&ca);
    memcpy(&ca.addr, &a, sizeof a);
    ca.size = sizeof a;
    assert_false(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&a, sizeof a));
    m2m_coap_sweep_closed(srv, &ca);
    m2m_coap_sweep_closed(srv, &ca); /* the same address twice: one entry */
    assert_int_equal(srv->sweep.nclosed, 1);
    assert_true(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&a, sizeof a));
    assert_false(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&b, sizeof b)); /* another port */
    /* thousands of other closed addresses: each one is found, the open one still not, until the set is 3/4 full;
     * past that any new handshake waits for a walk */
    for (int port = 10000; port < 10000 + M2M_COAP_CLOSED_SLOTS; port++) {
        struct sockaddr_in c = a;
        coap_address_t cc;
        c.sin_port = htons((uint16_t)port);
        coap_address_init(&cc);
        memcpy(&cc.addr, &c, sizeof c);
        cc.size = sizeof c;
        m2m_coap_sweep_closed(srv, &cc);
        if (!srv->sweep.closed_overflow) {
            assert_true(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&c, sizeof c));
            assert_false(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&b, sizeof b));
        }
    }
    assert_true(srv->sweep.closed_overflow);
    assert_true(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&b, sizeof b));
    m2m_coap_sweep_ran(&srv->sweep, 0.1);
    assert_false(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&a, sizeof a));
    assert_false(m2m_coap_sweep_closed_since(srv, (struct sockaddr *)&b, sizeof b));
    free(srv);
}

static void libcoap_calls_ours_and_others_get_libcoaps(void **state)
{
    coap_context_t *ctx;
    (void)state;
    coap_startup();
    coap_set_log_level(LOG_EMERG);
    /* linked into this program, as into m2mattach: libcoap's calls find our coap_io_prepare_epoll */
    assert_int_equal(m2m_coap_sweep_paced(), 1);
    /* a context no listener owns (a Registree's, say): libcoap's own walk -- nothing pending, no wait asked */
    ctx = coap_new_context(NULL);
    assert_non_null(ctx);
    assert_int_equal(coap_io_prepare_epoll(ctx, 0), 0);
    coap_free_context(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_put_off_within_its_period),
        cmocka_unit_test(period_follows_the_walks_cost),
        cmocka_unit_test(a_walk_clears_what_it_answers),
        cmocka_unit_test(closed_addresses_remembered_until_the_walk),
        cmocka_unit_test(libcoap_calls_ours_and_others_get_libcoaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
