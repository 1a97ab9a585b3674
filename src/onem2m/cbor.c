/* SPDX-License-Identifier: Apache-2.0 */
/* CBOR <-> the JSON data model (see cbor.h). The decoder reads one item recursively (depth bounded before each
 * step down), checks every count and length against the bytes left before it allocates, and leaves the duplicate
 * member check to json_strict.c's walk over the finished tree, so both encodings refuse duplicates with the same
 * words. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onem2m/cbor.h"
#include "onem2m/json_strict.h"

#define EXACT_INT 9007199254740992.0 /* 2^53: beyond it a double skips integers */

enum { MT_UINT, MT_NEGINT, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG, MT_SIMPLE };

static const char *const MAJOR_NAME[8] = {"an unsigned integer", "a negative integer", "a byte string", "a text string",
                                          "an array", "a map", "a tag", "a simple value"};

struct dec {
    const uint8_t *p;
    size_t len, at;
    m2m_err *err;
};

static int truncated(struct dec *d, size_t at)
{
    return m2m_fail(d->err, M2M_E_PARSE, "truncated CBOR item at offset %zu", at);
}

/* The head of the item at d->at: major type, additional information and its argument. */
static int head(struct dec *d, int *major, int *info, uint64_t *arg)
{
    size_t start = d->at, n;
    uint8_t b;

    if (d->at >= d->len)
        return truncated(d, start);
    b = d->p[d->at++];
    *major = b >> 5;
    *info = b & 31;
    if (*info < 24) {
        *arg = (uint64_t)*info;
        return 0;
    }
    if (*info == 31 && *major == MT_SIMPLE)
        return m2m_fail(d->err, M2M_E_PARSE, "a break (0xff) at offset %zu outside an indefinite-length item", start);
    if (*info == 31)
        return m2m_fail(d->err, M2M_E_PARSE, "an indefinite-length item (major type %d) at offset %zu: only definite "
                        "lengths are read", *major, start);
    if (*info > 27)
        return m2m_fail(d->err, M2M_E_PARSE, "malformed CBOR item at offset %zu (reserved additional information "
                        "%d)", start, *info);
    n = (size_t)1 << (*info - 24);
    if (d->len - d->at < n)
        return truncated(d, start);
    *arg = 0;
    for (size_t i = 0; i < n; i++)
        *arg = *arg << 8 | d->p[d->at++];
    return 0;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), n bytes left; 0 when it is not one. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t k;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        k = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        k = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 3, cp = c & 0x07;
    else
        return 0;
    if (n <= k)
        return 0;
    for (size_t j = 1; j <= k; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[j] & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k + 1;
}

/* Well-formed UTF-8 and no NUL (*nul says which). */
static int text_ok(const uint8_t *s, size_t n, int *nul)
{
    *nul = 0;
    for (size_t i = 0, k; i < n; i += k) {
        if ((k = utf8_seq(s + i, n - i)) == 0)
            return 0;
        if (s[i] == 0)
            *nul = 1;
    }
    return 1;
}

/* A text string's bytes, checked, as a C string (malloc'd). */
static char *text(struct dec *d, uint64_t n, size_t start)
{
    char *s;
    int nul;
    if (n > d->len - d->at) {
        truncated(d, start);
        return NULL;
    }
    if (!text_ok(d->p + d->at, (size_t)n, &nul)) {
        m2m_fail(d->err, M2M_E_PARSE, "the text string at offset %zu is not UTF-8", start);
        return NULL;
    }
    if (nul) {
        m2m_fail(d->err, M2M_E_PARSE, "the text string at offset %zu holds a NUL character", start);
        return NULL;
    }
    if ((s = malloc((size_t)n + 1)) == NULL) {
        m2m_fail(d->err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(s, d->p + d->at, (size_t)n);
    s[n] = '\0';
    d->at += (size_t)n;
    return s;
}

static double half(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m == 0 ? INFINITY : NAN) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static cJSON *number(struct dec *d, double v, size_t start)
{
    cJSON *n;
    if (!isfinite(v)) {
        m2m_fail(d->err, M2M_E_PARSE, "the number at offset %zu (NaN or infinite) has no JSON form", start);
        return NULL;
    }
    if ((n = cJSON_CreateNumber(v)) == NULL)
        m2m_fail(d->err, M2M_E_NOMEM, "out of memory");
    return n;
}

static cJSON *item(struct dec *d, int depth);

static cJSON *container(struct dec *d, int major, uint64_t count, size_t start, int depth)
{
    cJSON *c = major == MT_ARRAY ? cJSON_CreateArray() : cJSON_CreateObject();
    /* each element takes a byte at least (a map entry two): a count beyond that is a lie, not an allocation */
    if (count > (d->len - d->at) / (major == MT_ARRAY ? 1 : 2)) {
        cJSON_Delete(c);
        truncated(d, start);
        return NULL;
    }
    if (c == NULL) {
        m2m_fail(d->err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    for (uint64_t i = 0; i < count; i++) {
        char *key = NULL;
        cJSON *v;
        if (major == MT_MAP) {
            size_t kat = d->at;
            int km, ki;
            uint64_t klen;
            if (head(d, &km, &ki, &klen) != 0)
                goto fail;
            if (km != MT_TEXT) {
                m2m_fail(d->err, M2M_E_PARSE, "the map key at offset %zu is %s, not a text string", kat,
                         MAJOR_NAME[km]);
                goto fail;
            }
            if ((key = text(d, klen, kat)) == NULL)
                goto fail;
        }
        if ((v = item(d, depth + 1)) == NULL) {
            free(key);
            goto fail;
        }
        if (!(major == MT_ARRAY ? cJSON_AddItemToArray(c, v) : cJSON_AddItemToObject(c, key, v))) {
            cJSON_Delete(v);
            free(key);
            m2m_fail(d->err, M2M_E_NOMEM, "out of memory");
            goto fail;
        }
        free(key);
    }
    return c;
fail:
    cJSON_Delete(c);
    return NULL;
}

static cJSON *item(struct dec *d, int depth)
{
    size_t start = d->at;
    int major, info;
    uint64_t arg;
    cJSON *v = NULL;
    char *s;

    if (head(d, &major, &info, &arg) != 0)
        return NULL;
    switch (major) {
    case MT_UINT:
    case MT_NEGINT:
        /* -1 - arg for a negative integer: beyond 2^53 either way a double would not hold it */
        if (arg > (uint64_t)EXACT_INT - (major == MT_NEGINT)) {
            m2m_fail(d->err, M2M_E_PARSE, "the integer at offset %zu is beyond 2^53, more than a JSON number "
                     "holds exactly", start);
            return NULL;
        }
        return number(d, major == MT_UINT ? (double)arg : -1.0 - (double)arg, start);
    case MT_TEXT:
        if ((s = text(d, arg, start)) == NULL)
            return NULL;
        if ((v = cJSON_CreateString(s)) == NULL)
            m2m_fail(d->err, M2M_E_NOMEM, "out of memory");
        free(s);
        return v;
    case MT_ARRAY:
    case MT_MAP:
        if (depth >= M2M_JSON_MAX_DEPTH) {
            m2m_fail(d->err, M2M_E_PARSE, "CBOR nested deeper than %d levels", M2M_JSON_MAX_DEPTH);
            return NULL;
        }
        return container(d, major, arg, start, depth);
    case MT_SIMPLE:
        if (info == 20 || info == 21)
            v = cJSON_CreateBool(info == 21);
        else if (info == 22)
            v = cJSON_CreateNull();
        else if (info == 25)
            return number(d, half((uint16_t)arg), start);
        else if (info == 26) {
            uint32_t u = (uint32_t)arg;
            float f;
            memcpy(&f, &u, sizeof f);
            return number(d, f, start);
        } else if (info == 27) {
            double f;
            memcpy(&f, &arg, sizeof f);
            return number(d, f, start);
        } else {
            m2m_fail(d->err, M2M_E_PARSE, "the simple value %llu at offset %zu has no JSON form",
                     (unsigned long long)arg, start);
            return NULL;
        }
        if (v == NULL)
            m2m_fail(d->err, M2M_E_NOMEM, "out of memory");
        return v;
    default: /* byte strings, tags */
        m2m_fail(d->err, M2M_E_PARSE, "%s (major type %d) at offset %zu has no JSON form", MAJOR_NAME[major], major,
                 start);
        return NULL;
    }
}

cJSON *m2m_cbor_decode_strict(const uint8_t *data, size_t len, m2m_err *err)
{
    struct dec d = {.p = data, .len = len, .err = err};
    cJSON *doc;

    if (data == NULL || len == 0) {
        m2m_fail(err, M2M_E_PARSE, "empty CBOR body");
        return NULL;
    }
    /* the self-described CBOR mark (tag 55799, RFC 8949 3.4.6) some encoders put first says nothing: skipped */
    if (len >= 3 && data[0] == 0xd9 && data[1] == 0xd9 && data[2] == 0xf7)
        d.at = 3;
    if ((doc = item(&d, 0)) == NULL)
        return NULL;
    if (d.at != len) {
        m2m_fail(err, M2M_E_PARSE, "trailing data after the CBOR item (offset %zu)", d.at);
        cJSON_Delete(doc);
        return NULL;
    }
    if (m2m_json_check_members(doc, err) != 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* The encoder's growing buffer. */
struct enc {
    uint8_t *buf;
    size_t len, cap;
    int oom;
};

static void put(struct enc *e, const void *p, size_t n)
{
    if (e->oom)
        return;
    if (e->cap - e->len < n) {
        size_t cap = e->cap ? e->cap : 256;
        uint8_t *b;
        while (cap - e->len < n)
            cap *= 2;
        if ((b = realloc(e->buf, cap)) == NULL) {
            e->oom = 1;
            return;
        }
        e->buf = b, e->cap = cap;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

/* An initial byte and the k low bytes of v, most significant first (a head's argument, a float's bits). */
static void put_be(struct enc *e, uint8_t first, uint64_t v, size_t k)
{
    uint8_t b[9];
    b[0] = first;
    for (size_t i = 0; i < k; i++)
        b[1 + i] = (uint8_t)(v >> (8 * (k - 1 - i)));
    put(e, b, 1 + k);
}

/* A head in its shortest form (RFC 8949 4.2.1). */
static void put_head(struct enc *e, int major, uint64_t arg)
{
    int info = arg < 24 ? (int)arg : arg <= 0xff ? 24 : arg <= 0xffff ? 25 : arg <= 0xffffffffu ? 26 : 27;
    put_be(e, (uint8_t)(major << 5 | info), arg, info < 24 ? 0 : (size_t)1 << (info - 24));
}

/* A text string. A CBOR text string must be UTF-8 (RFC 8949 3.1), and a string of ours may quote a peer's bytes (an
 * error's reason): a byte that starts no well-formed sequence goes out as U+FFFD. */
static void put_text(struct enc *e, const char *s)
{
    static const uint8_t REPLACEMENT[3] = {0xef, 0xbf, 0xbd};
    const uint8_t *u = (const uint8_t *)s;
    size_t n = strlen(s), len = 0, k;
    for (size_t i = 0; i < n; i += k ? k : 1)
        len += (k = utf8_seq(u + i, n - i)) ? k : sizeof REPLACEMENT;
    put_head(e, MT_TEXT, len);
    if (len == n) {
        put(e, s, n);
        return;
    }
    for (size_t i = 0; i < n; i += k ? k : 1) {
        if ((k = utf8_seq(u + i, n - i)) != 0)
            put(e, u + i, k);
        else
            put(e, REPLACEMENT, sizeof REPLACEMENT);
    }
}

static void put_number(struct enc *e, double v)
{
    if (!isfinite(v)) {
        put_be(e, 0xf6, 0, 0); /* null, as cJSON prints it */
    } else if (v >= -EXACT_INT && v <= EXACT_INT && v == (double)(int64_t)v && !(v == 0 && signbit(v))) {
        int64_t i = (int64_t)v;
        if (i >= 0)
            put_head(e, MT_UINT, (uint64_t)i);
        else
            put_head(e, MT_NEGINT, (uint64_t)(-(i + 1)));
    } else if ((double)(float)v == v) {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        put_be(e, 0xfa, u, 4);
    } else {
        uint64_t u;
        memcpy(&u, &v, sizeof u);
        put_be(e, 0xfb, u, 8);
    }
}

static int encode(struct enc *e, const cJSON *v, m2m_err *err)
{
    uint8_t b;
    const cJSON *c;
    size_t n = 0;

    if (cJSON_IsFalse(v) || cJSON_IsTrue(v) || cJSON_IsNull(v)) {
        b = cJSON_IsFalse(v) ? 0xf4 : cJSON_IsTrue(v) ? 0xf5 : 0xf6;
        put(e, &b, 1);
    } else if (cJSON_IsNumber(v)) {
        put_number(e, v->valuedouble);
    } else if (cJSON_IsString(v)) {
        put_text(e, v->valuestring != NULL ? v->valuestring : "");
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        cJSON_ArrayForEach(c, v)
            n++;
        put_head(e, cJSON_IsArray(v) ? MT_ARRAY : MT_MAP, n);
        cJSON_ArrayForEach(c, v) {
            if (cJSON_IsObject(v))
                put_text(e, c->string != NULL ? c->string : "");
            if (encode(e, c, err) != 0)
                return -1;
        }
    } else {
        return m2m_fail(err, M2M_E_ARG, "a JSON node of type %d has no CBOR form", v->type & 0xff);
    }
    return 0;
}

int m2m_cbor_encode(const cJSON *v, uint8_t **out, size_t *len, m2m_err *err)
{
    struct enc e = {0};
    *out = NULL;
    *len = 0;
    if (v == NULL || encode(&e, v, err) != 0) {
        free(e.buf);
        return v == NULL ? m2m_fail(err, M2M_E_ARG, "nothing to encode") : -1;
    }
    if (e.oom) {
        free(e.buf);
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    *out = e.buf;
    *len = e.len;
    return 0;
}
