/* SPDX-License-Identifier: Apache-2.0 */
/* TS-0008 on the Registree: request primitive -> CoAP request, CoAP response -> response primitive
 * (coap_client.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "binding/coap_client.h"
#include "binding/http_client.h"
#include "crypto/secret.h"
#include "onem2m/cbor.h"
#include "onem2m/json_strict.h"
#include "util/hex.h"

#define SEGMENT_MAX 255 /* what one Uri-Path or Location-Path option may hold in practice (RFC 7252 5.10) */
#define QUERY_MAX 600   /* "tkns=" and an identity token (at most 512 characters, registree/details.h) */

/* Appends option num with len bytes of val to out (its value copied into out->buf). */
static int add_opt(m2m_coap_request *out, uint16_t num, const void *val, size_t len, m2m_err *err)
{
    if (out->nopts == M2M_COAP_CLIENT_MAX_OPTS || len > sizeof out->buf - out->used)
        return m2m_fail(err, M2M_E_ARG, "CoAP request: more options than %d, or longer than %zu bytes",
                        M2M_COAP_CLIENT_MAX_OPTS, sizeof out->buf);
    if (len > 0)
        memcpy(out->buf + out->used, val, len);
    out->opts[out->nopts].num = num;
    out->opts[out->nopts].val = out->buf + out->used;
    out->opts[out->nopts].len = len;
    out->nopts++;
    out->used += len;
    return 0;
}

/* A CoAP uint (RFC 7252 3.2): big-endian in as few bytes as hold it, none for 0. */
static int add_uint(m2m_coap_request *out, uint16_t num, unsigned long v, m2m_err *err)
{
    uint8_t b[4];
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8)
        if (n > 0 || (v >> shift & 0xff) != 0)
            b[n++] = (uint8_t)(v >> shift & 0xff);
    return add_opt(out, num, b, n, err);
}

/* A string option: printable, no control character (an option value becomes a C string at the Registrar). */
static int add_text(m2m_coap_request *out, uint16_t num, const char *what, const char *v, m2m_err *err)
{
    size_t len = strlen(v);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: %s holds a control character", what);
    if (len > SEGMENT_MAX)
        return m2m_fail(err, M2M_E_ARG, "CoAP request: %s is longer than %d bytes", what, SEGMENT_MAX);
    return add_opt(out, num, v, len, err);
}

/* One path segment or query item of the HTTP-style path, percent-decoded (RFC 3986: CoAP options carry the
 * decoded bytes), as option num. */
static int add_decoded(m2m_coap_request *out, uint16_t num, const char *s, size_t n, m2m_err *err)
{
    char seg[SEGMENT_MAX + 1];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || m2m_hex_digit(s[i + 1]) < 0 || m2m_hex_digit(s[i + 2]) < 0)
                return m2m_fail(err, M2M_E_ARG, "CoAP request: bad percent-encoding in the path");
            c = m2m_hex_digit(s[i + 1]) << 4 | m2m_hex_digit(s[i + 2]);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || len == SEGMENT_MAX)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: a path segment holds a control character or is longer "
                            "than %d bytes", SEGMENT_MAX);
        seg[len++] = (char)c;
    }
    return add_opt(out, num, seg, len, err);
}

/* The HTTP-style path of the public API ("/~/in-cse/x?rcn=1") as Uri-Path and Uri-Query options: "~" and "_"
 * are segments of their own, exactly as TS-0008 6.2.2.3 maps SP-relative and absolute addresses. */
static int add_path(m2m_coap_request *out, const char *path, m2m_err *err)
{
    const char *q = strchr(path, '?'), *end = q != NULL ? q : path + strlen(path), *p = path + 1;

    if (path[0] != '/' || end == path + 1)
        return m2m_fail(err, M2M_E_ARG, "CoAP request: the path '%.80s' is not /SEGMENT[/...]", path);
    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *e = slash != NULL ? slash : end;
        if (e == p)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: the path '%.80s' has an empty segment", path);
        if (add_decoded(out, M2M_COAP_OPT_URI_PATH, p, (size_t)(e - p), err) != 0)
            return -1;
        p = slash != NULL ? slash + 1 : end;
        if (slash != NULL && p == end)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: the path '%.80s' ends with '/'", path);
    }
    while (q != NULL && *q != '\0') {
        const char *item = q + 1, *amp = strchr(item, '&');
        size_t n = amp != NULL ? (size_t)(amp - item) : strlen(item);
        if (n > 0 && add_decoded(out, M2M_COAP_OPT_URI_QUERY, item, n, err) != 0)
            return -1;
        q = amp;
    }
    return 0;
}

static int method_code(const char *m)
{
    static const struct {
        const char *name;
        int code;
    } MAP[] = {{"POST", M2M_COAP_POST}, {"GET", M2M_COAP_GET}, {"PUT", M2M_COAP_PUT}, {"DELETE", M2M_COAP_DELETE}};
    for (size_t i = 0; m != NULL && i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(m, MAP[i].name) == 0)
            return MAP[i].code;
    return 0;
}

/* CoAP options go on the wire in ascending number order; options of one number keep their relative order. */
static void sort_opts(m2m_coap_request *out)
{
    for (size_t i = 1; i < out->nopts; i++) {
        m2m_coap_opt o = out->opts[i];
        size_t j = i;
        while (j > 0 && out->opts[j - 1].num > o.num) {
            out->opts[j] = out->opts[j - 1];
            j--;
        }
        out->opts[j] = o;
    }
}

int m2m_coap_build_request(const m2m_request *req, const char *rqi, const char *token, m2m_coap_request *out,
                           m2m_err *err)
{
    char query[QUERY_MAX];

    memset(out, 0, sizeof *out);
    out->method = method_code(req->method);
    if (out->method == 0)
        return m2m_fail(err, M2M_E_ARG, "CoAP request: unknown method '%.20s'", req->method ? req->method : "");
    if (req->path == NULL || add_path(out, req->path, err) != 0)
        return req->path == NULL ? m2m_fail(err, M2M_E_ARG, "CoAP request: no path") : -1;
    if (req->authorization != NULL) {
        /* the public API's Authorization header: only a bearer token has a CoAP form */
        if (token != NULL || strncasecmp(req->authorization, "Bearer ", 7) != 0)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: an Authorization other than one bearer token has no "
                            "CoAP form");
        token = req->authorization + 7;
    }
    if (token != NULL) {
        if (strlen(token) + 6 > sizeof query)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: the token is too long");
        snprintf(query, sizeof query, "tkns=%s", token);
        if (add_text(out, M2M_COAP_OPT_URI_QUERY, "the token", query, err) != 0)
            return -1;
    }
    if (req->body != NULL) {
        int fmt = M2M_COAP_FMT_JSON;
        if (req->content_type != NULL && strcasecmp(req->content_type, "application/vnd.onem2m-res+json") == 0)
            fmt = M2M_COAP_FMT_RES_JSON;
        else if (req->content_type != NULL && strcasecmp(req->content_type, "application/json") != 0)
            return m2m_fail(err, M2M_E_ARG, "CoAP request: no CoAP Content-Format for '%.60s'", req->content_type);
        if (add_uint(out, M2M_COAP_OPT_CONTENT_FORMAT, (unsigned long)fmt, err) != 0)
            return -1;
        out->payload = (const uint8_t *)req->body;
        out->payload_len = strlen(req->body);
    }
    if (req->ty > 0 && add_uint(out, M2M_COAP_OPT_TY, (unsigned long)req->ty, err) != 0)
        return -1;
    if (add_text(out, M2M_COAP_OPT_RVI, "the release", M2M_HTTP_RVI, err) != 0)
        return -1;
    if (req->from != NULL && req->from[0] != '\0' && add_text(out, M2M_COAP_OPT_FR, "From", req->from, err) != 0)
        return -1;
    if (add_text(out, M2M_COAP_OPT_RQI, "the request ID", rqi, err) != 0)
        return -1;
    sort_opts(out);
    return 0;
}

int m2m_coap_request_cbor(m2m_coap_request *out, m2m_err *err)
{
    cJSON *tree;
    m2m_err why = {0};
    size_t len = 0;
    int rc;

    for (size_t i = 0; i < out->nopts && out->payload != NULL; i++) {
        m2m_coap_opt *o = &out->opts[i];
        if (o->num != M2M_COAP_OPT_CONTENT_FORMAT)
            continue;
        /* 50 -> 60 (one byte), 10001 -> 10010 (two): the value is rewritten where it lies, in out->buf */
        if (o->len == 1)
            ((uint8_t *)o->val)[0] = M2M_COAP_FMT_CBOR;
        else
            ((uint8_t *)o->val)[0] = M2M_COAP_FMT_RES_CBOR >> 8, ((uint8_t *)o->val)[1] = M2M_COAP_FMT_RES_CBOR & 0xff;
    }
    if (out->payload != NULL) {
        if ((tree = m2m_json_parse_strict((const char *)out->payload, out->payload_len, &why)) == NULL)
            return m2m_fail(err, why.code == M2M_E_NOMEM ? M2M_E_NOMEM : M2M_E_ARG,
                            "CoAP request: the body is not JSON, so it has no CBOR form (%s)", why.msg);
        rc = m2m_cbor_encode(tree, &out->cbor, &len, err);
        cJSON_Delete(tree);
        if (rc != 0)
            return -1;
        out->payload = out->cbor;
        out->payload_len = len;
    }
    if (add_uint(out, M2M_COAP_OPT_ACCEPT, M2M_COAP_FMT_CBOR, err) != 0)
        return -1;
    sort_opts(out);
    return 0;
}

void m2m_coap_request_clear(m2m_coap_request *out)
{
    free(out->cbor);
    out->cbor = NULL;
}

void m2m_coap_code_text(int code, char out[8])
{
    snprintf(out, 8, "%d.%02d", (code / 100) % 10, code % 100);
}

/* Location-Path segments back to an address: "~" first -> "/rest", "_" first -> "//rest", else CSE-relative. */
static int location(const m2m_coap_response *in, char *out, size_t cap)
{
    size_t n = 0;
    int seg = 0;
    out[0] = '\0';
    for (size_t i = 0; i < in->nopts; i++) {
        const m2m_coap_opt *o = &in->opts[i];
        if (o->num != M2M_COAP_OPT_LOCATION_PATH)
            continue;
        for (size_t j = 0; j < o->len; j++)
            if (o->val[j] < 0x20 || o->val[j] == 0x7f || o->val[j] == '/')
                return -1;
        if (seg == 0 && o->len == 1 && (o->val[0] == '~' || o->val[0] == '_')) {
            if (n + 2 >= cap)
                return -1;
            out[n++] = '/';
            if (o->val[0] == '_')
                out[n++] = '/';
            seg++;
            continue;
        }
        if (n + o->len + 2 >= cap)
            return -1;
        if (seg > 0 && n > 0 && out[n - 1] != '/')
            out[n++] = '/';
        memcpy(out + n, o->val, o->len);
        n += o->len;
        seg++;
    }
    out[n] = '\0';
    return 0;
}

/* A CBOR answer as the JSON text of the same tree: what the caller reads is JSON whatever travelled. */
static int cbor_body(const m2m_coap_response *in, const char *peer, m2m_reply *reply, m2m_err *err)
{
    m2m_err why = {0};
    cJSON *tree = m2m_cbor_decode_strict(in->payload, in->payload_len, &why);
    char *text;

    if (tree == NULL)
        return why.code == M2M_E_NOMEM ? m2m_fail(err, M2M_E_NOMEM, "out of memory")
                                       : m2m_fail(err, M2M_E_PROTO, "%s: the CBOR body does not decode: %s", peer,
                                                  why.msg);
    text = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    if (text == NULL || (reply->body = strdup(text)) == NULL) {
        cJSON_free(text);
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    m2m_wipe(text, strlen(text)); /* a <briefing>'s answer holds a one-time credential */
    cJSON_free(text);
    reply->body_len = strlen(reply->body);
    return 0;
}

int m2m_coap_parse_response(const m2m_coap_response *in, const char *rqi, const char *peer, m2m_reply *reply,
                            m2m_err *err)
{
    const m2m_coap_opt *rsc = NULL, *ri = NULL, *cf = NULL;

    memset(reply, 0, sizeof *reply);
    for (size_t i = 0; i < in->nopts; i++) {
        const m2m_coap_opt *o = &in->opts[i];
        const m2m_coap_opt **slot = o->num == M2M_COAP_OPT_RSC ? &rsc : o->num == M2M_COAP_OPT_RQI ? &ri : NULL;
        if (o->num == M2M_COAP_OPT_CONTENT_FORMAT)
            cf = o;
        if (slot == NULL)
            continue;
        if (*slot != NULL)
            return m2m_fail(err, M2M_E_PROTO, "%s: the response carries oneM2M-%s twice", peer,
                            o->num == M2M_COAP_OPT_RSC ? "RSC" : "RQI");
        *slot = o;
    }
    if (ri != NULL && (ri->len != strlen(rqi) || memcmp(ri->val, rqi, ri->len) != 0))
        return m2m_fail(err, M2M_E_PROTO, "%s: the response carries request ID %.*s, not %s", peer,
                        (int)(ri->len > 40 ? 40 : ri->len), (const char *)ri->val, rqi);
    if (rsc != NULL) {
        unsigned long v = 0;
        if (m2m_coap_opt_uint(rsc, &v) != 0)
            return m2m_fail(err, M2M_E_PROTO, "%s: oneM2M-RSC is longer than 4 bytes", peer);
        reply->rsc = (int)v;
    }
    if (location(in, reply->location, sizeof reply->location) != 0)
        return m2m_fail(err, M2M_E_PROTO, "%s: the Location-Path does not fit %zu characters or holds '/' or a "
                        "control character", peer, sizeof reply->location - 1);
    reply->http_status = in->code;
    if (cf != NULL && in->payload_len > 0) {
        unsigned long f = 0;
        if (m2m_coap_opt_uint(cf, &f) == 0 && (f == M2M_COAP_FMT_CBOR || f == M2M_COAP_FMT_RES_CBOR))
            return cbor_body(in, peer, reply, err);
    }
    reply->body = malloc(in->payload_len + 1);
    if (reply->body == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (in->payload_len > 0)
        memcpy(reply->body, in->payload, in->payload_len);
    reply->body[in->payload_len] = '\0';
    reply->body_len = in->payload_len;
    return 0;
}
