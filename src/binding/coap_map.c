/* SPDX-License-Identifier: Apache-2.0 */
/* TS-0008 on the Registrar: CoAP request -> request primitive, response primitive -> CoAP response (coap_map.h).
 * Every refusal here happens before the CSE sees anything, and names what is wrong in m2m:dbg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding/coap_map.h"
#include "onem2m/cbor.h"
#include "crypto/secret.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"

const uint16_t m2m_coap_onem2m_options[] = {
    M2M_COAP_OPT_OT,   M2M_COAP_OPT_RTURI, M2M_COAP_OPT_TY,  M2M_COAP_OPT_RVI, M2M_COAP_OPT_ASRI,
    M2M_COAP_OPT_FR,   M2M_COAP_OPT_RQI,   M2M_COAP_OPT_RQET, M2M_COAP_OPT_RSET, M2M_COAP_OPT_OET,
    M2M_COAP_OPT_EC,   M2M_COAP_OPT_RSC,   M2M_COAP_OPT_GID, M2M_COAP_OPT_CTO, M2M_COAP_OPT_CTS,
    M2M_COAP_OPT_ATI,  M2M_COAP_OPT_VSI,   M2M_COAP_OPT_GTM, M2M_COAP_OPT_AUS};
const size_t m2m_coap_onem2m_noptions = sizeof m2m_coap_onem2m_options / sizeof m2m_coap_onem2m_options[0];

/* A CoAP uint (RFC 7252 3.2): big-endian, at most 4 bytes here. */
/* A string option copied into dst (cap includes the NUL). Refuses a NUL or control character inside: the value
 * becomes a C string the CSE compares and logs, and must not be cut short or forge anything. */
static int opt_string(const m2m_coap_opt *o, char *dst, size_t cap, const char *name, m2m_prim_rsp *rsp)
{
    if (o->len >= cap)
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "option %s longer than %zu bytes", name, cap - 1), -1;
    for (size_t i = 0; i < o->len; i++)
        if (o->val[i] < 0x20 || o->val[i] == 0x7f)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "option %s holds a control character", name), -1;
    memcpy(dst, o->val, o->len);
    dst[o->len] = '\0';
    return 0;
}

static const char *opt_name(uint16_t num)
{
    switch (num) {
    case M2M_COAP_OPT_FR: return "oneM2M-FR";
    case M2M_COAP_OPT_RQI: return "oneM2M-RQI";
    case M2M_COAP_OPT_TY: return "oneM2M-TY";
    case M2M_COAP_OPT_RVI: return "oneM2M-RVI";
    case M2M_COAP_OPT_CONTENT_FORMAT: return "Content-Format";
    case M2M_COAP_OPT_ACCEPT: return "Accept";
    default: return "oneM2M";
    }
}

/* The one occurrence of a non-repeatable option, or NULL. A second occurrence is refused: two From options would
 * let two readers of the request see two originators. */
static const m2m_coap_opt *single(const m2m_coap_in *in, uint16_t num, int *dup)
{
    const m2m_coap_opt *found = NULL;
    for (size_t i = 0; i < in->nopts; i++)
        if (in->opts[i].num == num) {
            if (found != NULL)
                *dup = num;
            found = &in->opts[i];
        }
    return found;
}

/* The Content-Formats served (TS-0008 6.2.2.4): JSON and oneM2M's JSON, CBOR and oneM2M's CBOR (onem2m/cbor.h: the
 * same tree either way). */
#define FORMATS_SERVED "50 (application/json), 10001 (vnd.onem2m-res+json), 60 (application/cbor) or 10010 " \
                       "(vnd.onem2m-res+cbor)"

static int supported_format(unsigned long f)
{
    return f == M2M_COAP_FMT_JSON || f == M2M_COAP_FMT_RES_JSON || f == M2M_COAP_FMT_CBOR ||
           f == M2M_COAP_FMT_RES_CBOR;
}

static int cbor_format(unsigned long f)
{
    return f == M2M_COAP_FMT_CBOR || f == M2M_COAP_FMT_RES_CBOR;
}

/* Uri-Path segments to the To parameter (TS-0008 6.2.2.3): first segment "~" SP-relative, "_" absolute. */
static int map_path(const m2m_coap_in *in, char *to, size_t cap, m2m_prim_rsp *rsp)
{
    size_t n = 0;
    int seg = 0;

    for (size_t i = 0; i < in->nopts; i++) {
        const m2m_coap_opt *o = &in->opts[i];
        if (o->num != M2M_COAP_OPT_URI_PATH)
            continue;
        if (o->len == 0 || (o->len == 1 && o->val[0] == '.') || (o->len == 2 && memcmp(o->val, "..", 2) == 0))
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "empty, '.' or '..' Uri-Path segment"), -1;
        for (size_t j = 0; j < o->len; j++)
            if (o->val[j] < 0x20 || o->val[j] == 0x7f || o->val[j] == '/')
                return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "Uri-Path segment holds '/' or a control "
                                                                "character"), -1;
        if (seg == 0 && o->len == 1 && (o->val[0] == '~' || o->val[0] == '_')) {
            /* "~" -> "/...", "_" -> "//..." (the following segments supply the rest) */
            to[n++] = '/';
            if (o->val[0] == '_')
                to[n++] = '/';
            seg++;
            continue;
        }
        if (n + o->len + 2 > cap)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "target address longer than %zu bytes", cap - 1), -1;
        if (n > 0 && to[n - 1] != '/')
            to[n++] = '/';
        memcpy(to + n, o->val, o->len);
        n += o->len;
        seg++;
    }
    to[n] = '\0';
    if (n == 0 || to[n - 1] == '/')
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "empty target address"), -1;
    return 0;
}

/* Uri-Query: the Tokens parameter `tkns` carries the identity token of x.y.7 (TS-0008 6.2.2.3 maps Tokens to the
 * query in its TS-0004 short name). Other query parameters (rcn, drt, ...) are not served and ignored, as the HTTP
 * binding ignores its query. */
static int map_query(const m2m_coap_in *in, m2m_prim_req *req, m2m_prim_rsp *rsp)
{
    int seen = 0;
    for (size_t i = 0; i < in->nopts; i++) {
        const m2m_coap_opt *o = &in->opts[i];
        m2m_coap_opt v;
        if (o->num != M2M_COAP_OPT_URI_QUERY || o->len < 5 || memcmp(o->val, "tkns=", 5) != 0)
            continue;
        if (seen++)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "more than one tkns query parameter"), -1;
        v.num = o->num;
        v.val = o->val + 5;
        v.len = o->len - 5;
        if (v.len == 0)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "empty tkns query parameter"), -1;
        if (opt_string(&v, req->token, sizeof req->token, "Uri-Query tkns", rsp) != 0)
            return -1;
    }
    return 0;
}

static int map_method(int method, int has_ty, m2m_op *op, m2m_prim_rsp *rsp)
{
    switch (method) {
    case M2M_COAP_GET: *op = M2M_OP_RETRIEVE; return 0;
    case M2M_COAP_PUT: *op = M2M_OP_UPDATE; return 0;
    case M2M_COAP_DELETE: *op = M2M_OP_DELETE; return 0;
    case M2M_COAP_POST:
        /* TS-0008 6.2.1: a POST with oneM2M-TY is a CREATE, without it a NOTIFY */
        if (has_ty) {
            *op = M2M_OP_CREATE;
            return 0;
        }
        return m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "a POST without oneM2M-TY is a NOTIFY, which "
                                                                 "this Registrar does not take"), -1;
    default:
        return m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "CoAP method 0.%02d is not a oneM2M operation",
                              method), -1;
    }
}

static int parse_body(const m2m_coap_in *in, m2m_prim_req *req, const m2m_coap_opt *cf, m2m_prim_rsp *rsp)
{
    unsigned long f;
    m2m_err why = {0};
    const char *what;

    if (cf == NULL)
        return m2m_prim_error(rsp, M2M_RSC_UNSUPPORTED_MEDIA_TYPE, "missing Content-Format (" FORMATS_SERVED ")"), -1;
    if (m2m_coap_opt_uint(cf, &f) != 0 || !supported_format(f))
        return m2m_prim_error(rsp, M2M_RSC_UNSUPPORTED_MEDIA_TYPE, "Content-Format %lu is not served; use "
                              FORMATS_SERVED, m2m_coap_opt_uint(cf, &f) ? 0 : f), -1;
    what = cbor_format(f) ? "CBOR" : "JSON";
    if (in->payload == NULL || in->payload_len == 0)
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "%s needs a %s payload", m2m_op_name(req->op), what), -1;
    /* strict, as for HTTP: a duplicate member or a NUL in a string would let the checks read one value and the
     * store keep another (json_strict.h, cbor.h) */
    req->pc = cbor_format(f) ? m2m_cbor_decode_strict(in->payload, in->payload_len, &why)
                             : m2m_json_parse_strict((const char *)in->payload, in->payload_len, &why);
    if (req->pc == NULL)
        return m2m_prim_error(rsp, why.code == M2M_E_NOMEM ? M2M_RSC_INTERNAL_SERVER_ERROR : M2M_RSC_BAD_REQUEST,
                              "%s payload: %s", what, why.msg), -1;
    if (!cJSON_IsObject(req->pc)) {
        m2m_prim_req_clear(req);
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "%s payload must be %s", what,
                              cbor_format(f) ? "a map" : "an object"), -1;
    }
    return 0;
}

int m2m_coap_parse_request(const m2m_coap_in *in, m2m_prim_req *req, int *format, m2m_prim_rsp *rsp)
{
    const m2m_coap_opt *rqi, *fr, *ty, *rvi, *cf, *accept;
    unsigned long v = 0;
    int dup = 0;

    memset(req, 0, sizeof *req);
    *format = M2M_COAP_FMT_JSON;
    rqi = single(in, M2M_COAP_OPT_RQI, &dup);
    fr = single(in, M2M_COAP_OPT_FR, &dup);
    ty = single(in, M2M_COAP_OPT_TY, &dup);
    rvi = single(in, M2M_COAP_OPT_RVI, &dup);
    cf = single(in, M2M_COAP_OPT_CONTENT_FORMAT, &dup);
    accept = single(in, M2M_COAP_OPT_ACCEPT, &dup);
    /* first the RQI, so that every answer, even a refusal, echoes it */
    if (rqi == NULL)
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "missing oneM2M-RQI option"), -1;
    if (opt_string(rqi, req->rqi, sizeof req->rqi, "oneM2M-RQI", rsp) != 0)
        return -1;
    snprintf(rsp->rqi, sizeof rsp->rqi, "%s", req->rqi);
    if (req->rqi[0] == '\0')
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "empty oneM2M-RQI option"), -1;
    /* the response's format: what the client accepts, else what it sent */
    if (cf != NULL && m2m_coap_opt_uint(cf, &v) == 0 && supported_format(v))
        *format = (int)v;
    if (accept != NULL) {
        if (m2m_coap_opt_uint(accept, &v) != 0 || !supported_format(v))
            return m2m_prim_error(rsp, M2M_RSC_NOT_ACCEPTABLE, "Accept: this Registrar answers in " FORMATS_SERVED),
                   -1;
        *format = (int)v;
    }
    if (dup != 0)
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "option %s (%d) given more than once",
                              opt_name((uint16_t)dup), dup), -1;
    if (map_method(in->method, ty != NULL, &req->op, rsp) != 0 || map_path(in, req->to, sizeof req->to, rsp) != 0)
        return -1;
    if (fr != NULL) {
        if (opt_string(fr, req->fr, sizeof req->fr, "oneM2M-FR", rsp) != 0)
            return -1;
        req->has_fr = req->fr[0] != '\0';
    }
    if (rvi != NULL) {
        char r[sizeof req->rvi];
        if (opt_string(rvi, r, sizeof r, "oneM2M-RVI", rsp) != 0)
            return -1;
        if (!m2m_release_supported(r))
            return m2m_prim_error(rsp, M2M_RSC_RELEASE_VERSION_NOT_SUPPORTED, "release version '%.8s' is not "
                                  "supported", r), -1;
        snprintf(req->rvi, sizeof req->rvi, "%s", r);
    }
    if (ty != NULL) {
        if (m2m_coap_opt_uint(ty, &v) != 0 || v == 0 || v > 65535)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "oneM2M-TY is not a resource type"), -1;
        req->ty = (int)v;
    }
    if (map_query(in, req, rsp) != 0)
        return -1;
    if ((req->op == M2M_OP_CREATE || req->op == M2M_OP_UPDATE) && parse_body(in, req, cf, rsp) != 0)
        return -1;
    return 0;
}

int m2m_coap_path_segments(const char *to, char *buf, size_t cap, const char **seg, size_t *seg_len, int max,
                           int *n)
{
    const char *p = to, *first = NULL;
    size_t len = strlen(to);

    *n = 0;
    if (len == 0 || len >= cap)
        return -1;
    memcpy(buf, to, len + 1);
    p = buf;
    if (strncmp(p, "//", 2) == 0) {
        first = "_";
        p += 2;
    } else if (p[0] == '/') {
        first = "~";
        p += 1;
    }
    if (first != NULL) {
        seg[0] = first;
        seg_len[0] = 1;
        *n = 1;
    }
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l == 0 || *n >= max)
            return -1;
        seg[*n] = p;
        seg_len[*n] = l;
        ++*n;
        p += l + (slash ? 1 : 0);
        if (slash != NULL && *p == '\0')
            return -1; /* a trailing '/' names nothing */
    }
    return *n > (first != NULL) ? 0 : -1;
}

int m2m_coap_render_response(const m2m_prim_rsp *rsp, int format, m2m_coap_out *out)
{
    memset(out, 0, sizeof *out);
    out->code = m2m_rsc_coap_code(rsp->rsc);
    out->rsc = (unsigned)rsp->rsc;
    out->format = -1;
    snprintf(out->rqi, sizeof out->rqi, "%s", rsp->rqi);
    /* TS-0008 6.2.3: a CREATE's answer puts the new resource's address into Location-Path */
    if (rsp->location[0] != '\0' &&
        m2m_coap_path_segments(rsp->location, out->loc_buf, sizeof out->loc_buf, out->loc, out->loc_len,
                               M2M_COAP_MAX_SEGMENTS, &out->nloc) != 0)
        out->nloc = 0;
    if (!supported_format((unsigned long)format))
        format = M2M_COAP_FMT_JSON;
    if (cbor_format((unsigned long)format)) {
        if (m2m_prim_body_cbor(rsp, (uint8_t **)&out->payload, &out->payload_len) != 0)
            return -1;
    } else {
        out->payload = m2m_prim_body_json(rsp);
        if (out->payload == NULL)
            return -1;
        out->payload_len = strlen(out->payload);
    }
    if (out->payload_len > 0)
        out->format = format;
    return 0;
}

void m2m_coap_out_clear(m2m_coap_out *out)
{
    if (out != NULL) {
        /* an answer may carry a one-time credential (a <briefing>'s key or token): wiped before it is freed */
        if (out->payload != NULL)
            m2m_wipe(out->payload, out->payload_len);
        free(out->payload);
        memset(out, 0, sizeof *out);
    }
}
