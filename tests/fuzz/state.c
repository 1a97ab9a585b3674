/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree state file (registree/state.c) through m2m_state_load, which takes a path: the input is written to
 * a file in a temporary directory. A state that loads must also save and load back unchanged, or the next run of
 * the device would see something else than this one remembered. */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "registree/state.h"

static void check_same(const m2m_reg_state *a, const m2m_reg_state *b)
{
    FUZZ_CHECK(a->registered == b->registered);
    FUZZ_CHECK(strcmp(a->assigned_id, b->assigned_id) == 0 && strcmp(a->resource, b->resource) == 0 &&
               strcmp(a->registrar_cse_id, b->registrar_cse_id) == 0 && strcmp(a->key_id, b->key_id) == 0 &&
               strcmp(a->generated_key_id, b->generated_key_id) == 0 &&
               strcmp(a->previous_generated_key_id, b->previous_generated_key_id) == 0);
    for (int i = 0; i < M2M_SLOTS; i++) {
        const m2m_saved_session *s = &a->session[i], *t = &b->session[i];
        FUZZ_CHECK(strcmp(s->binding, t->binding) == 0 && s->der_len == t->der_len &&
                   memcmp(s->der, t->der, s->der_len) == 0);
        /* The time is written with three decimals, and only beside a session. */
        if (s->der_len > 0)
            FUZZ_CHECK(fabs(s->full_ms - t->full_ms) < 0.001);
    }
    /* x.y.5: the USIM's SQN always; the rest of a bootstrapping is written only while it has a B-TID. */
    FUZZ_CHECK(a->gba.sqn == b->gba.sqn && strcmp(a->gba.btid, b->gba.btid) == 0);
    if (a->gba.btid[0] != '\0')
        FUZZ_CHECK(strcmp(a->gba.impi, b->gba.impi) == 0 && strcmp(a->gba.bsf, b->gba.bsf) == 0 &&
                   a->gba.expires == b->gba.expires && memcmp(a->gba.rand, b->gba.rand, sizeof a->gba.rand) == 0 &&
                   memcmp(a->gba.ks, b->gba.ks, sizeof a->gba.ks) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static m2m_reg_state st, again; /* 25 KiB each: not on the stack */
    char saved[640];
    m2m_err err;

    m2m_err_clear(&err);
    if (m2m_state_load(fuzz_write_file("fuzz.state", data, size), &st, &err) != 0) {
        FUZZ_CHECK(err.code == M2M_E_PARSE && err.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(st.session[0].der_len <= M2M_SESSION_DER_MAX && st.session[1].der_len <= M2M_SESSION_DER_MAX);
    snprintf(saved, sizeof saved, "%s/saved.state", fuzz_tmpdir());
    /* Values with control characters are refused on save (they could forge a line); all else must round-trip. */
    if (m2m_state_save(saved, &st, &err) == 0) {
        FUZZ_CHECK(m2m_state_load(saved, &again, &err) == 0);
        check_same(&st, &again);
    } else {
        FUZZ_CHECK(err.code == M2M_E_ARG);
    }
    m2m_state_wipe(&st);
    m2m_state_wipe(&again);
    return 0;
}
