/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "binding/http_server.h"
#include "crypto/secret.h"
#include "onem2m/cbor.h"
#include "onem2m/json_strict.h"
#include "onem2m/status.h"
#include "util/hex.h"

static int map_method(const char *m, m2m_op *op)
{
    if (strcmp(m, "POST") == 0) *op = M2M_OP_CREATE;
    else if (strcmp(m, "GET") == 0) *op = M2M_OP_RETRIEVE;
    else if (strcmp(m, "PUT") == 0) *op = M2M_OP_UPDATE;
    else if (strcmp(m, "DELETE") == 0) *op = M2M_OP_DELETE;
    else return -1;
    return 0;
}

/* Request path to the To parameter (TS-0009 6.2): "/~/x" SP-relative, "/_/x" absolute, "/x" CSE-relative. */
static int map_path(const char *uri, char *to, size_t cap, m2m_prim_rsp *rsp)
{
    char path[1024];
    size_t n = 0;
    const char *p = uri;

    if (uri == NULL || uri[0] != '/')
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "request target must be an absolute path"), -1;
    for (; *p != '\0' && *p != '?' && *p != '#'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int hi = m2m_hex_digit((unsigned char)p[1]), lo = hi < 0 ? -1 : m2m_hex_digit((unsigned char)p[2]);
            if (hi < 0 || lo < 0)
                return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "bad percent-encoding in path"), -1;
            c = hi << 4 | lo;
            p += 2;
        }
        if (c == 0 || c < 0x20 || c == 0x7f)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "control character in path"), -1;
        if (n + 1 >= sizeof path)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "path longer than %zu bytes", sizeof path - 1), -1;
        path[n++] = (char)c;
    }
    path[n] = '\0';
    if (strncmp(path, "/~/", 3) == 0)
        snprintf(to, cap, "%s", path + 2);           /* "/~/in-cse/x" -> "/in-cse/x" */
    else if (strncmp(path, "/_/", 3) == 0)
        snprintf(to, cap, "/%s", path + 2);          /* "/_/sp/in-cse" -> "//sp/in-cse" */
    else
        snprintf(to, cap, "%s", path + 1);           /* "/cse/ae" -> "cse/ae" */
    if (to[0] == '\0')
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "empty target address"), -1;
    return 0;
}

static const char *const MEDIA[] = {"application/json", "application/vnd.onem2m-res+json", "application/cbor",
                                     "application/vnd.onem2m-res+cbor"};
_Static_assert(sizeof MEDIA / sizeof MEDIA[0] == M2M_HTTP_RES_CBOR + 1, "one media type per m2m_http_format");
#define MEDIA_SERVED "application/json, application/vnd.onem2m-res+json, application/cbor or " \
                     "application/vnd.onem2m-res+cbor"

static int is_cbor(m2m_http_format f)
{
    return f == M2M_HTTP_CBOR || f == M2M_HTTP_RES_CBOR;
}

/* The media type at p (up to ';', ',' or a space), lower-cased into media; p past it. */
static const char *media_type(const char *p, char *media, size_t cap)
{
    size_t n = 0;
    while (*p == ' ')
        p++;
    while (*p != '\0' && *p != ';' && *p != ',' && *p != ' ') {
        if (n + 1 < cap)
            media[n++] = (char)tolower((unsigned char)*p);
        p++;
    }
    media[n] = '\0';
    return p;
}

static int served(const char *media, m2m_http_format *f)
{
    for (size_t i = 0; i < sizeof MEDIA / sizeof MEDIA[0]; i++)
        if (strcmp(media, MEDIA[i]) == 0) {
            *f = (m2m_http_format)i;
            return 1;
        }
    return 0;
}

/* Accept: the first media type served, in the order given (a wildcard: *fallback). 0 when none is served. */
static int accepted(const char *accept, m2m_http_format fallback, m2m_http_format *f)
{
    char media[128];
    const char *p = accept;
    while (*p != '\0') {
        p = media_type(p, media, sizeof media);
        if (served(media, f))
            return 1;
        if (strcmp(media, "*/*") == 0 || strcmp(media, "application/*") == 0) {
            *f = fallback;
            return 1;
        }
        p = strchr(p, ','); /* parameters (q=...) are not weighed: the order decides */
        if (p == NULL)
            break;
        p++;
    }
    return 0;
}

/* "application/json; ty=2" -> media type check, format and ty. */
static int parse_content_type(const char *ct, m2m_http_format *f, int *ty, m2m_prim_rsp *rsp)
{
    char media[128];
    const char *p = media_type(ct, media, sizeof media);

    if (!served(media, f))
        return m2m_prim_error(rsp, M2M_RSC_UNSUPPORTED_MEDIA_TYPE, "Content-Type '%s' is not supported; use "
                              MEDIA_SERVED, media), -1;
    *ty = 0;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ') p++;
        if (strncasecmp(p, "ty=", 3) == 0) {
            char *end;
            long v = strtol(p + 3, &end, 10);
            if (end == p + 3 || v <= 0 || v > 65535 || (*end != '\0' && *end != ';' && *end != ' '))
                return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "Content-Type parameter ty is not a number"), -1;
            *ty = (int)v;
        }
    }
    return 0;
}

static int copy_header(char *dst, size_t cap, const char *v, const char *name, m2m_prim_rsp *rsp)
{
    size_t n = strlen(v);
    if (n >= cap)
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "header %s longer than %zu bytes", name, cap - 1), -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int m2m_http_parse_request(const m2m_http_in *in, m2m_prim_req *req, m2m_http_format *format, m2m_prim_rsp *rsp)
{
    m2m_http_format body = M2M_HTTP_JSON;
    char media[128];
    int ty = 0;

    memset(req, 0, sizeof *req);
    *format = M2M_HTTP_JSON;
    if (in->ri != NULL)
        snprintf(rsp->rqi, sizeof rsp->rqi, "%s", in->ri);
    /* the answer's format first, so that every answer, even a refusal, is in it */
    if (in->content_type != NULL) {
        (void)media_type(in->content_type, media, sizeof media);
        if (served(media, &body))
            *format = body;
    }
    if (in->accept != NULL && !accepted(in->accept, *format, format))
        return m2m_prim_error(rsp, M2M_RSC_NOT_ACCEPTABLE, "Accept: this Registrar answers in " MEDIA_SERVED), -1;
    if (map_method(in->method, &req->op) != 0)
        return m2m_prim_error(rsp, M2M_RSC_OPERATION_NOT_ALLOWED, "HTTP method %s is not a oneM2M operation",
                              in->method), -1;
    if (map_path(in->uri, req->to, sizeof req->to, rsp) != 0)
        return -1;
    if (in->ri == NULL || in->ri[0] == '\0')
        return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "missing X-M2M-RI header"), -1;
    if (copy_header(req->rqi, sizeof req->rqi, in->ri, "X-M2M-RI", rsp) != 0)
        return -1;
    if (in->origin != NULL) {
        if (copy_header(req->fr, sizeof req->fr, in->origin, "X-M2M-Origin", rsp) != 0)
            return -1;
        req->has_fr = req->fr[0] != '\0';
    }
    if (in->rvi != NULL) {
        if (!m2m_release_supported(in->rvi))
            return m2m_prim_error(rsp, M2M_RSC_RELEASE_VERSION_NOT_SUPPORTED, "release version '%.8s' is not supported",
                                  in->rvi), -1;
        snprintf(req->rvi, sizeof req->rvi, "%s", in->rvi);
    }
    if (in->authorization != NULL) {
        if (strncasecmp(in->authorization, "Bearer ", 7) != 0)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "Authorization must use the Bearer scheme"), -1;
        if (copy_header(req->token, sizeof req->token, in->authorization + 7, "Authorization", rsp) != 0)
            return -1;
    }
    if (req->op == M2M_OP_CREATE || req->op == M2M_OP_UPDATE) {
        m2m_err why = {0};
        const char *what;
        if (in->content_type == NULL)
            return m2m_prim_error(rsp, M2M_RSC_UNSUPPORTED_MEDIA_TYPE, "missing Content-Type header"), -1;
        if (parse_content_type(in->content_type, &body, &ty, rsp) != 0)
            return -1;
        if (req->op == M2M_OP_CREATE && ty == 0)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "CREATE needs the resource type as ';ty=N' in "
                                                            "Content-Type"), -1;
        req->ty = ty;
        what = is_cbor(body) ? "CBOR" : "JSON";
        if (in->body == NULL || in->body_len == 0)
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "%s needs a %s body", m2m_op_name(req->op), what), -1;
        /* strict: a duplicate member or a NUL inside a string would let the checks read one value and the store
         * keep another (json_strict.h, cbor.h) */
        req->pc = is_cbor(body) ? m2m_cbor_decode_strict((const uint8_t *)in->body, in->body_len, &why)
                                : m2m_json_parse_strict(in->body, in->body_len, &why);
        if (req->pc == NULL)
            return m2m_prim_error(rsp, why.code == M2M_E_NOMEM ? M2M_RSC_INTERNAL_SERVER_ERROR : M2M_RSC_BAD_REQUEST,
                                  "%s body: %s", what, why.msg), -1;
        if (!cJSON_IsObject(req->pc)) {
            m2m_prim_req_clear(req);
            return m2m_prim_error(rsp, M2M_RSC_BAD_REQUEST, "%s body must be %s", what,
                                  is_cbor(body) ? "a map" : "an object"), -1;
        }
    }
    return 0;
}

int m2m_http_render_response(const m2m_prim_rsp *rsp, m2m_http_format format, m2m_http_out *out)
{
    memset(out, 0, sizeof *out);
    out->status = m2m_rsc_http_status(rsp->rsc);
    snprintf(out->rsc, sizeof out->rsc, "%d", rsp->rsc);
    if ((unsigned)format >= sizeof MEDIA / sizeof MEDIA[0])
        format = M2M_HTTP_JSON;
    out->content_type = MEDIA[format];
    if (is_cbor(format))
        return m2m_prim_body_cbor(rsp, (uint8_t **)&out->body, &out->body_len);
    out->body = m2m_prim_body_json(rsp);
    if (out->body == NULL)
        return -1;
    out->body_len = strlen(out->body);
    return 0;
}

void m2m_http_out_clear(m2m_http_out *out)
{
    if (out != NULL) {
        /* an answer may carry a one-time credential (a <briefing>'s key or token): wiped before it is freed */
        if (out->body != NULL)
            m2m_wipe(out->body, out->body_len);
        free(out->body);
        memset(out, 0, sizeof *out);
    }
}
