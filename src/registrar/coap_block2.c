/* SPDX-License-Identifier: Apache-2.0 */
/* Answers longer than one datagram, block by block (RFC 7959 Block2), by us and not by libcoap.
 *
 * libcoap 4.3.1 keeps such an answer for the requests of its next blocks and finds it again by resource, method and
 * query -- not by path. Every path goes to our one resource (coap_server.c), so a device that read /a and then /b
 * block-wise was sent /b's blocks when it asked for /a's, and each answer differing only in its query (any query: the
 * binding ignores all but tkns) was kept apart, for up to 93 s: a bound device reading one large resource a hundred
 * times a second with a new query each time (within --max-request-rate) held gigabytes.
 *
 * Here a session keeps at most M2M_COAP_BLOCK2_PER_SESSION such answers (a device keeps one request outstanding,
 * RFC 7252 4.7: a few transfers interleaved at most), found again by method, Uri-Path, Uri-Query, Accept and From,
 * with an ETag of its content; every worker keeps at most M2M_COAP_BLOCK2_BUDGET bytes of them. A request for a
 * later block of an answer no longer kept is a read made again (a GET), or refused with 4.08 when it would run a
 * write a second time. A kept answer goes when a newer one pushes it out, after MAX_TRANSMIT_WAIT without a
 * request for it, or with the session; wiped (an answer may carry a credential). */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/coap.h"
#include "util/clock.h"

#define MAX_TRANSMIT_WAIT_MS 93000.0 /* RFC 7252 4.8.2: the longest a device waits for an answer */

struct coap_large {
    coap_large *next;         /* the session's, newest first */
    unsigned char *key;       /* the request's method, then its Uri-Path, Uri-Query, Accept and From options */
    size_t key_len;
    uint8_t etag[8];          /* SHA-256 of the payload, cut: a read made again gets the same one if it is the same */
    struct timespec at;       /* the last request for one of its blocks */
    m2m_coap_out out;
};

/* The options that name what was asked (RFC 7959 2.4: the request for a later block repeats them), with the
 * method: number, length, value each. NULL when out of memory. */
static unsigned char *key_of(const coap_pdu_t *req, size_t *len)
{
    static const uint16_t NAMES[] = {M2M_COAP_OPT_URI_PATH, M2M_COAP_OPT_URI_QUERY, M2M_COAP_OPT_ACCEPT,
                                     M2M_COAP_OPT_FR};
    coap_opt_iterator_t it;
    coap_opt_t *o;
    size_t n = 1, at;
    unsigned char *k;

    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if ((k = malloc(n)) == NULL)
                return NULL;
            k[0] = (unsigned char)coap_pdu_get_code(req);
            at = 1;
        }
        coap_option_iterator_init(req, &it, COAP_OPT_ALL);
        while ((o = coap_option_next(&it)) != NULL) {
            size_t l = coap_opt_length(o);
            int named = 0;
            for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
                named |= it.number == NAMES[i];
            if (!named)
                continue;
            if (pass == 0) {
                n += 4 + l;
                continue;
            }
            k[at] = (unsigned char)(it.number >> 8), k[at + 1] = (unsigned char)it.number;
            k[at + 2] = (unsigned char)(l >> 8), k[at + 3] = (unsigned char)l;
            memcpy(k + at + 4, coap_opt_value(o), l);
            at += 4 + l;
        }
    }
    *len = n;
    return k;
}

static void large_free(struct m2m_coap *srv, coap_large *l)
{
    if (l == NULL)
        return;
    srv->block2_bytes -= l->out.payload_len;
    __atomic_sub_fetch(&srv->w->reg->metrics.coap.block2_kept_bytes, (long long)l->out.payload_len,
                       __ATOMIC_RELAXED);
    m2m_coap_out_clear(&l->out);
    free(l->key);
    free(l);
}

void m2m_coap_block2_drop(coap_conn *c)
{
    while (c->large != NULL) {
        coap_large *l = c->large;
        c->large = l->next;
        large_free(c->srv, l);
    }
}

void m2m_coap_block2_expire(coap_conn *c)
{
    for (coap_large **pp = &c->large; *pp != NULL;) {
        coap_large *l = *pp;
        if (m2m_ms_since(&l->at) > MAX_TRANSMIT_WAIT_MS) {
            *pp = l->next;
            large_free(c->srv, l);
        } else {
            pp = &l->next;
        }
    }
}

/* The kept answer whose request had this key, unlinked when unlink (NULL: none). */
static coap_large *find(coap_conn *c, const unsigned char *key, size_t len, int unlink)
{
    for (coap_large **pp = &c->large; *pp != NULL; pp = &(*pp)->next) {
        coap_large *l = *pp;
        if (l->key_len == len && memcmp(l->key, key, len) == 0) {
            if (unlink)
                *pp = l->next;
            return l;
        }
    }
    return NULL;
}

/* o moved into l (its payload taken; the Location-Path segments point into o's own buffer). */
static void out_move(m2m_coap_out *to, m2m_coap_out *from)
{
    *to = *from;
    for (int i = 0; i < to->nloc; i++)
        if (from->loc[i] >= from->loc_buf && from->loc[i] < from->loc_buf + sizeof from->loc_buf)
            to->loc[i] = to->loc_buf + (from->loc[i] - from->loc_buf);
    from->payload = NULL;
    from->payload_len = 0;
}

/* Keeps *o (taken) as the session's answer to req, in place of one to the same request and before the oldest
 * beyond M2M_COAP_BLOCK2_PER_SESSION. 0 when kept. */
static int keep(coap_conn *c, const coap_pdu_t *req, m2m_coap_out *o, const uint8_t etag[8])
{
    struct m2m_coap *srv = c->srv;
    coap_large *l = calloc(1, sizeof *l), **pp;
    int n = 1;

    if (l == NULL || (l->key = key_of(req, &l->key_len)) == NULL) {
        free(l);
        return -1;
    }
    large_free(srv, find(c, l->key, l->key_len, 1));
    for (pp = &c->large; *pp != NULL && n < M2M_COAP_BLOCK2_PER_SESSION; pp = &(*pp)->next)
        n++;
    while (*pp != NULL) {
        coap_large *old = *pp;
        *pp = old->next;
        large_free(srv, old);
    }
    if (srv->block2_bytes + o->payload_len > M2M_COAP_BLOCK2_BUDGET) {
        __atomic_add_fetch(&srv->w->reg->metrics.coap.block2[M2M_COAP_BLOCK2_NOT_KEPT], 1, __ATOMIC_RELAXED);
        free(l->key);
        free(l);
        return -1;
    }
    memcpy(l->etag, etag, sizeof l->etag);
    m2m_clock_mark(&l->at);
    out_move(&l->out, o);
    srv->block2_bytes += l->out.payload_len;
    __atomic_add_fetch(&srv->w->reg->metrics.coap.block2_kept_bytes, (long long)l->out.payload_len,
                       __ATOMIC_RELAXED);
    l->next = c->large;
    c->large = l;
    return 0;
}

const m2m_coap_out *m2m_coap_block2_of(coap_conn *c, const coap_pdu_t *req)
{
    size_t n = 0;
    unsigned char *k = c->large != NULL ? key_of(req, &n) : NULL;
    coap_large *l = k != NULL ? find(c, k, n, 0) : NULL;
    free(k);
    if (l == NULL)
        return NULL;
    m2m_clock_mark(&l->at);
    return &l->out;
}

const m2m_coap_out *m2m_coap_block2_follow(coap_conn *c, coap_session_t *s, const coap_pdu_t *req, int *refuse)
{
    coap_block_b_t b;
    unsigned char *k;
    size_t n = 0;
    coap_large *l;

    *refuse = 0;
    if (!coap_get_block_b(s, req, COAP_OPTION_BLOCK2, &b) || b.num == 0)
        return NULL; /* the first block is asked for with the request itself */
    k = c->large != NULL ? key_of(req, &n) : NULL;
    l = k != NULL ? find(c, k, n, 0) : NULL;
    free(k);
    if (l != NULL) {
        m2m_clock_mark(&l->at);
        __atomic_add_fetch(&c->srv->w->reg->metrics.coap.block2[M2M_COAP_BLOCK2_KEPT], 1, __ATOMIC_RELAXED);
        return &l->out;
    }
    /* a read is made again (the ETag says whether it is still what the first blocks were); a write is not run twice */
    if (coap_pdu_get_code(req) != COAP_REQUEST_CODE_GET) {
        __atomic_add_fetch(&c->srv->w->reg->metrics.coap.block2[M2M_COAP_BLOCK2_REFUSED], 1, __ATOMIC_RELAXED);
        *refuse = 1;
    } else {
        __atomic_add_fetch(&c->srv->w->reg->metrics.coap.block2[M2M_COAP_BLOCK2_AGAIN], 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* The option's encoded size at most: a header octet, two extension octets each for delta and length. */
static size_t opt_size(size_t len)
{
    return 5 + len;
}

int m2m_coap_block2_put(coap_conn *c, coap_session_t *s, size_t max, const coap_pdu_t *req, coap_pdu_t *resp,
                        m2m_coap_out *o, size_t options)
{
    coap_block_b_t want;
    int asked = coap_get_block_b(s, req, COAP_OPTION_BLOCK2, &want) != 0, szx;
    size_t fixed, room, chunk, off, len;
    unsigned num;
    uint8_t buf[4], etag[8], md[32];
    unsigned int mdlen = 0;
    const coap_large *kept = NULL;

    /* header, token, what the caller put, Content-Format, Max-Age, the payload marker */
    fixed = 4 + coap_pdu_get_token(req).length + options + opt_size(2) + opt_size(0) + 1;
    room = max > fixed ? max - fixed : 0;
    coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf, sizeof buf, (unsigned)o->format), buf);
    /* Max-Age 0: a oneM2M answer is never served from a CoAP cache (TS-0008 6.4) */
    coap_add_option(resp, COAP_OPTION_MAXAGE, 0, NULL);
    if (!asked && o->payload_len <= room)
        return coap_add_data(resp, o->payload_len, (const uint8_t *)o->payload) ? 0 : -1;

    /* block-wise: the ETag, Block2 and Size2 take room too; the block size the device asked for, or less */
    room = room > opt_size(8) + opt_size(3) + opt_size(4) ? room - opt_size(8) - opt_size(3) - opt_size(4) : 0;
    for (szx = 6; szx >= 0 && ((size_t)1 << (szx + 4)) > room; szx--)
        ;
    if (asked && szx > (int)want.szx)
        szx = (int)want.szx;
    if (szx < 0)
        return -1;
    num = asked ? want.num : 0;
    if (asked && (int)want.szx > szx)
        num <<= (int)want.szx - szx; /* the same offset in smaller blocks (RFC 7959 2.5) */
    chunk = (size_t)1 << (szx + 4);
    off = (size_t)num * chunk;
    if (off >= o->payload_len && off > 0) {
        coap_pdu_set_code(resp, (coap_pdu_code_t)COAP_RESPONSE_CODE(402)); /* past the end: Bad Option */
        return 0;
    }
    len = o->payload_len - off < chunk ? o->payload_len - off : chunk;
    for (const coap_large *l = c != NULL ? c->large : NULL; l != NULL && kept == NULL; l = l->next)
        if (&l->out == o)
            kept = l;
    if (kept != NULL) {
        memcpy(etag, kept->etag, sizeof etag);
    } else {
        if (EVP_Digest(o->payload, o->payload_len, md, &mdlen, EVP_sha256(), NULL) != 1)
            return -1;
        memcpy(etag, md, sizeof etag);
    }
    coap_add_option(resp, COAP_OPTION_ETAG, sizeof etag, etag);
    coap_add_option(resp, COAP_OPTION_BLOCK2,
                    coap_encode_var_safe(buf, sizeof buf, num << 4 | (off + len < o->payload_len) << 3 |
                                                              (unsigned)szx),
                    buf);
    /* in every block, as libcoap's server does: libcoap 4.3.1's client, joining the blocks, removes Block2 from the
     * last one, and when the next option's delta becomes exactly 269 (Max-Age 14, then oneM2M-RQI 283) its
     * coap_remove_option writes it as 13 -- an off-by-one: one-octet extended deltas end at 268 -- and the options
     * after it (oneM2M-RSC) are lost; with Size2 28 right after Block2 that never happens */
    coap_add_option(resp, COAP_OPTION_SIZE2, coap_encode_var_safe(buf, sizeof buf, (unsigned)o->payload_len), buf);
    if (!coap_add_data(resp, len, (const uint8_t *)o->payload + off))
        return -1;
    /* kept for the next blocks (the caller's copy is taken) */
    if (kept == NULL && off + len < o->payload_len && c != NULL)
        (void)keep(c, req, o, etag);
    return 0;
}
