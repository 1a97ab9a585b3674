/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree's HTTP response parser (binding/http_client.c), fed as a connection feeds it: responses one after
 * another while the server keeps the connection open, then the end of the connection.
 *
 * Input: one byte that chooses the size of each read (1 to 256 bytes), then the bytes the server sent. The same
 * bytes fed in one piece must give the same responses and the same error: http_client.h promises that the split
 * of the input never matters. */
#include <string.h>

#include "binding/http_client.h"
#include "fuzz_util.h"

#define MAX_RESPONSES 16

typedef struct outcome {
    int n;                         /* responses completed */
    int status[MAX_RESPONSES], rsc[MAX_RESPONSES], keep_alive[MAX_RESPONSES];
    size_t body_len[MAX_RESPONSES];
    uint64_t body_hash[MAX_RESPONSES];
    int end;                       /* 0 more was awaited, 1 closed after a response, 2 completed by EOF, -1 error */
    m2m_err err;
} outcome;

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    return h;
}

/* One completed response: what registree.c reads of it (it takes the body, so every other one is taken). */
static void record(m2m_http_parser *p, outcome *o)
{
    const char *loc = m2m_http_parser_header(p, "Content-Location");
    const char *ri = m2m_http_parser_header(p, "x-m2m-ri");
    size_t len = 0;
    int i = o->n++;

    FUZZ_CHECK(loc == NULL || strlen(loc) < M2M_HTTP_HEADER_MAX);
    FUZZ_CHECK(ri == NULL || strlen(ri) < M2M_HTTP_HEADER_MAX);
    o->status[i] = m2m_http_parser_status(p);
    o->rsc[i] = m2m_http_parser_rsc(p);
    o->keep_alive[i] = m2m_http_parser_keep_alive(p);
    FUZZ_CHECK(o->status[i] >= 200 && o->status[i] <= 999 && o->rsc[i] >= 0 && o->rsc[i] <= 9999);
    if (i % 2 == 0) {
        const char *body = m2m_http_parser_body(p, &len);
        FUZZ_CHECK(body != NULL && body[len] == '\0');
        o->body_hash[i] = fnv1a(body, len);
    } else {
        char *body = m2m_http_parser_take_body(p, &len);
        FUZZ_CHECK(body != NULL && body[len] == '\0');
        o->body_hash[i] = fnv1a(body, len);
        free(body);
    }
    o->body_len[i] = len;
}

static void run(const uint8_t *data, size_t size, size_t step, outcome *o)
{
    m2m_http_parser *p = m2m_http_parser_new();
    size_t off = 0;

    FUZZ_CHECK(p != NULL);
    memset(o, 0, sizeof *o);
    while (off < size) {
        size_t len = size - off < step ? size - off : step, used = 0;
        int r = m2m_http_parser_feed(p, data + off, len, &used, &o->err);
        if (r < 0) {
            o->end = -1;
            break;
        }
        FUZZ_CHECK(used <= len && (r == M2M_HTTP_COMPLETE || used == len));
        off += used;
        if (r == M2M_HTTP_COMPLETE) {
            record(p, o);
            if (!m2m_http_parser_keep_alive(p) || o->n == MAX_RESPONSES) {
                o->end = 1; /* the client closes: what follows is never read */
                break;
            }
            m2m_http_parser_reset(p);
            FUZZ_CHECK(m2m_http_parser_idle(p));
        }
    }
    if (off == size && o->end == 0 && !m2m_http_parser_idle(p)) {
        if (m2m_http_parser_eof(p, &o->err) == M2M_HTTP_COMPLETE) {
            record(p, o);
            o->end = 2;
        } else {
            o->end = -1;
        }
    }
    m2m_http_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome split, whole;

    if (size == 0)
        return 0;
    run(data + 1, size - 1, 1 + (size_t)data[0], &split);
    run(data + 1, size - 1, size, &whole);
    FUZZ_CHECK(split.n == whole.n && split.end == whole.end);
    for (int i = 0; i < split.n; i++)
        FUZZ_CHECK(split.status[i] == whole.status[i] && split.rsc[i] == whole.rsc[i] &&
                   split.keep_alive[i] == whole.keep_alive[i] && split.body_len[i] == whole.body_len[i] &&
                   split.body_hash[i] == whole.body_hash[i]);
    if (split.end == -1)
        FUZZ_CHECK(split.err.code == whole.err.code && strcmp(split.err.msg, whole.err.msg) == 0);
    return 0;
}
