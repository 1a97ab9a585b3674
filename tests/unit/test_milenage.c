/* SPDX-License-Identifier: Apache-2.0 */
/* Milenage (TS 35.206) against the six conformance sets of TS 35.207/35.208 in ../shared/vectors/milenage-3gpp.txt,
 * every output of every set; then AKA on top of it: a vector the USIM accepts, a forged AUTN, a stale SQN and the
 * resynchronisation that follows (TS 33.102 6.3.5). */
#include "fixture_vectors.h"

#include "crypto/aka.h"
#include "crypto/milenage.h"

static void test_conformance_sets(void **state)
{
    vec_section v[VEC_SECTIONS];
    int n = vec_load("milenage-3gpp.txt", v, VEC_SECTIONS), checked = 0;
    (void)state;
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++) {
        uint8_t k[16], rnd[16], sqn[6], amf[2], op[16], opc[16], want[16], got[16], got2[16], got3[16], got4[16],
            ak[6], aks[6], res[8], autn[16];
        m2m_err err;
        vec_bytes(&v[i], "K", k, 16, 16);
        vec_bytes(&v[i], "RAND", rnd, 16, 16);
        vec_bytes(&v[i], "SQN", sqn, 6, 6);
        vec_bytes(&v[i], "AMF", amf, 2, 2);
        vec_bytes(&v[i], "OP", op, 16, 16);
        assert_int_equal(m2m_milenage_opc(k, op, opc, &err), 0);
        vec_bytes(&v[i], "OPc", want, 16, 16);
        assert_memory_equal(opc, want, 16);
        assert_int_equal(m2m_milenage_temp(k, opc, rnd, got, &err), 0);
        vec_bytes(&v[i], "TEMP", want, 16, 16);
        assert_memory_equal(got, want, 16);
        assert_int_equal(m2m_milenage_f1(k, opc, rnd, sqn, amf, got, got2, &err), 0);
        vec_bytes(&v[i], "f1", want, 16, 8);
        assert_memory_equal(got, want, 8);
        vec_bytes(&v[i], "f1star", want, 16, 8);
        assert_memory_equal(got2, want, 8);
        assert_int_equal(m2m_milenage_f2345(k, opc, rnd, res, got3, got4, ak, aks, &err), 0);
        vec_bytes(&v[i], "f2", want, 16, 8);
        assert_memory_equal(res, want, 8);
        vec_bytes(&v[i], "f3", want, 16, 16);
        assert_memory_equal(got3, want, 16);
        vec_bytes(&v[i], "f4", want, 16, 16);
        assert_memory_equal(got4, want, 16);
        vec_bytes(&v[i], "f5", want, 16, 6);
        assert_memory_equal(ak, want, 6);
        vec_bytes(&v[i], "f5star", want, 16, 6);
        assert_memory_equal(aks, want, 6);
        /* the HSS's AUTN from the same inputs */
        {
            m2m_aka_vector av;
            assert_int_equal(m2m_aka_vector_make(k, opc, m2m_aka_sqn_get(sqn), amf, rnd, &av, &err), 0);
            vec_bytes(&v[i], "AUTN", autn, 16, 16);
            assert_memory_equal(av.autn, autn, 16);
            assert_memory_equal(av.xres, res, 8);
            assert_memory_equal(av.ck, got3, 16);
            assert_memory_equal(av.ik, got4, 16);
        }
        checked++;
    }
    assert_int_equal(checked, 6);
}

/* Set 1's K and OPc, used for the AKA behaviour below. */
static void set1(uint8_t k[16], uint8_t opc[16], uint8_t rnd[16])
{
    vec_section v[VEC_SECTIONS];
    vec_load("milenage-3gpp.txt", v, VEC_SECTIONS);
    vec_bytes(&v[0], "K", k, 16, 16);
    vec_bytes(&v[0], "OPc", opc, 16, 16);
    vec_bytes(&v[0], "RAND", rnd, 16, 16);
}

static void test_usim_accepts_fresh_vector(void **state)
{
    static const uint8_t amf[2] = {0x80, 0x00};
    uint8_t k[16], opc[16], rnd[16], res[8], ck[16], ik[16], auts[14];
    uint64_t sqn_ms = 41;
    m2m_aka_vector av;
    m2m_aka_result r;
    m2m_err err;
    (void)state;
    set1(k, opc, rnd);
    assert_int_equal(m2m_aka_vector_make(k, opc, 42, amf, rnd, &av, &err), 0);
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_OK);
    assert_int_equal(sqn_ms, 42);
    assert_memory_equal(res, av.xres, 8);
    assert_memory_equal(ck, av.ck, 16);
    assert_memory_equal(ik, av.ik, 16);
    /* the same vector again is a replay: not fresh */
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_SYNC_FAILURE);
    assert_int_equal(sqn_ms, 42);
}

static void test_usim_refuses_forged_autn(void **state)
{
    static const uint8_t amf[2] = {0x80, 0x00};
    uint8_t k[16], opc[16], rnd[16], res[8], ck[16], ik[16], auts[14], zero[16] = {0};
    uint64_t sqn_ms = 0;
    m2m_aka_vector av;
    m2m_aka_result r;
    m2m_err err;
    (void)state;
    set1(k, opc, rnd);
    assert_int_equal(m2m_aka_vector_make(k, opc, 5, amf, rnd, &av, &err), 0);
    for (int bit = 0; bit < 128; bit += 7) {
        uint8_t forged[16];
        memcpy(forged, av.autn, 16);
        forged[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(m2m_aka_check(k, opc, rnd, forged, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
        assert_int_equal(r, M2M_AKA_MAC_FAILURE);
        assert_memory_equal(ck, zero, 16); /* nothing derived from a refused challenge is left */
        assert_int_equal(sqn_ms, 0);
    }
    /* another subscriber's K */
    k[0] ^= 1;
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_MAC_FAILURE);
}

/* A network SQN behind the USIM's (or too far ahead) gives AUTS; the HSS recovers SQN_MS from it and the next
 * vector is accepted. */
static void test_resynchronisation(void **state)
{
    static const uint8_t amf[2] = {0x80, 0x00};
    uint8_t k[16], opc[16], rnd[16], res[8], ck[16], ik[16], auts[14];
    uint64_t sqn_ms = 1000, hss_sqn = 0;
    m2m_aka_vector av;
    m2m_aka_result r;
    m2m_err err;
    (void)state;
    set1(k, opc, rnd);
    assert_int_equal(m2m_aka_vector_make(k, opc, 7, amf, rnd, &av, &err), 0);
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_SYNC_FAILURE);
    assert_int_equal(m2m_aka_resync(k, opc, rnd, auts, &hss_sqn, &err), 0);
    assert_int_equal(hss_sqn, 1000);
    /* a tampered AUTS is refused */
    auts[13] ^= 0x40;
    assert_int_equal(m2m_aka_resync(k, opc, rnd, auts, &hss_sqn, &err), -1);
    assert_int_equal(err.code, M2M_E_AUTH);
    auts[13] ^= 0x40;
    assert_int_equal(m2m_aka_vector_make(k, opc, hss_sqn + 1, amf, rnd, &av, &err), 0);
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_OK);
    assert_int_equal(sqn_ms, 1001);
    /* beyond the freshness window */
    assert_int_equal(m2m_aka_vector_make(k, opc, sqn_ms + M2M_AKA_DELTA + 1, amf, rnd, &av, &err), 0);
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_SYNC_FAILURE);
    assert_int_equal(m2m_aka_vector_make(k, opc, sqn_ms + M2M_AKA_DELTA, amf, rnd, &av, &err), 0);
    assert_int_equal(m2m_aka_check(k, opc, rnd, av.autn, &sqn_ms, res, ck, ik, auts, &r, &err), 0);
    assert_int_equal(r, M2M_AKA_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_sets),
        cmocka_unit_test(test_usim_accepts_fresh_vector),
        cmocka_unit_test(test_usim_refuses_forged_autn),
        cmocka_unit_test(test_resynchronisation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
