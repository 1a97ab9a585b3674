/* SPDX-License-Identifier: Apache-2.0 */
/* A Confirmable write is processed once (RFC 7252 4.5): the answer to a session's last write is kept, compact, and
 * a duplicate of that request -- the device retransmits when our ACK was lost -- gets the same answer again instead
 * of running the write a second time (a second CREATE of the same <AE> would say 4105 to a device whose
 * registration succeeded; a second <contentInstance> would be stored twice).
 *
 * One answer per session: a device keeps one Confirmable request outstanding (NSTART 1, RFC 7252 4.7), so a
 * request with another Message ID means the last exchange is over and its answer is dropped; otherwise it goes
 * after EXCHANGE_LIFETIME (247 s, 4.8.2), the longest a duplicate can arrive, or with the session. What is kept is
 * the rendered answer's fields and its payload (at most M2M_COAP_REPLAY_MAX bytes). A longer answer goes
 * block-wise and the session keeps it for the requests of its next blocks (coap_block2.c): only the mark that it
 * was answered is kept here, and a duplicate gets that answer's first block again. A payload may hold a one-time
 * credential (a <briefing>'s key): wiped when the copy goes. */
#include <stdlib.h>
#include <string.h>

#include "registrar/coap.h"
#include "util/clock.h"
#include "crypto/secret.h"

#define EXCHANGE_LIFETIME_MS 247000.0

struct coap_replay {
    coap_mid_t mid;
    uint8_t token[8];
    size_t token_len;
    struct timespec at;                 /* when the answer went out (m2m_clock_mark) */
    int code, format, nloc;
    unsigned rsc;
    m2m_coap_block1 b1;
    int block_wise;                     /* the payload is the one coap_block2.c keeps */
    uint16_t loc_len[M2M_COAP_MAX_SEGMENTS];
    size_t rqi_len, payload_len, size;  /* size: the whole allocation */
    unsigned char data[];               /* rqi, the Location-Path segments, the payload */
};

static void replay_free(coap_replay *k)
{
    if (k != NULL) {
        m2m_wipe(k, k->size);
        free(k);
    }
}

void m2m_coap_replay_drop(coap_conn *c)
{
    replay_free(c->replay);
    c->replay = NULL;
}

int m2m_coap_replay_keep(coap_conn *c, coap_mid_t mid, coap_bin_const_t token, const m2m_coap_out *o,
                         const m2m_coap_block1 *b1)
{
    size_t locs = 0, rqi_len = strlen(o->rqi);
    int block_wise = o->payload_len > M2M_COAP_REPLAY_MAX;
    size_t payload_len = block_wise ? 0 : o->payload_len;
    unsigned char *d;
    coap_replay *k;

    m2m_coap_replay_drop(c);
    if (token.length > sizeof k->token || o->nloc > M2M_COAP_MAX_SEGMENTS)
        return -1;
    for (int i = 0; i < o->nloc; i++) {
        if (o->loc_len[i] > UINT16_MAX)
            return -1;
        locs += o->loc_len[i];
    }
    if ((k = calloc(1, sizeof *k + rqi_len + locs + payload_len)) == NULL)
        return -1;
    k->size = sizeof *k + rqi_len + locs + payload_len;
    k->block_wise = block_wise;
    k->mid = mid;
    memcpy(k->token, token.s, token.length);
    k->token_len = token.length;
    m2m_clock_mark(&k->at);
    k->code = o->code;
    k->format = o->format;
    k->rsc = o->rsc;
    k->nloc = o->nloc;
    k->b1 = *b1;
    k->rqi_len = rqi_len;
    k->payload_len = payload_len;
    d = k->data;
    memcpy(d, o->rqi, rqi_len);
    d += rqi_len;
    for (int i = 0; i < o->nloc; i++) {
        k->loc_len[i] = (uint16_t)o->loc_len[i];
        memcpy(d, o->loc[i], o->loc_len[i]);
        d += o->loc_len[i];
    }
    if (payload_len > 0)
        memcpy(d, o->payload, payload_len);
    c->replay = k;
    return 0;
}

int m2m_coap_replay_find(coap_conn *c, const coap_pdu_t *req, m2m_coap_out *o, m2m_coap_block1 *b1)
{
    coap_replay *k = c->replay;
    coap_bin_const_t token = coap_pdu_get_token(req);
    const unsigned char *d;
    size_t room;

    if (k == NULL)
        return 0;
    if (coap_pdu_get_type(req) != COAP_MESSAGE_CON || coap_pdu_get_mid(req) != k->mid ||
        token.length != k->token_len || (token.length > 0 && memcmp(token.s, k->token, token.length) != 0)) {
        m2m_coap_replay_drop(c); /* another exchange: the device is done with the last one */
        return 0;
    }
    memset(o, 0, sizeof *o);
    if (k->payload_len > 0 && (o->payload = malloc(k->payload_len)) == NULL)
        return -1;
    o->code = k->code;
    o->format = k->format;
    o->rsc = k->rsc;
    o->nloc = k->nloc;
    o->payload_len = k->payload_len;
    d = k->data;
    memcpy(o->rqi, d, k->rqi_len < sizeof o->rqi ? k->rqi_len : sizeof o->rqi - 1);
    d += k->rqi_len;
    room = sizeof o->loc_buf;
    for (int i = 0; i < k->nloc; i++) {
        char *at = o->loc_buf + sizeof o->loc_buf - room;
        size_t n = k->loc_len[i] < room ? k->loc_len[i] : room;
        memcpy(at, d, n);
        o->loc[i] = at;
        o->loc_len[i] = n;
        room -= n;
        d += k->loc_len[i];
    }
    if (k->payload_len > 0)
        memcpy(o->payload, d, k->payload_len);
    *b1 = k->b1;
    return k->block_wise ? 2 : 1;
}

void m2m_coap_replay_expire(coap_conn *c)
{
    if (c->replay != NULL && m2m_ms_since(&c->replay->at) > EXCHANGE_LIFETIME_MS)
        m2m_coap_replay_drop(c);
}
