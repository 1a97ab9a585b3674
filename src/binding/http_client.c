/* SPDX-License-Identifier: Apache-2.0 */
/* oneM2M HTTP binding, client half (see http_client.h). The parser is a byte-driven state machine, so the split of
 * the input never matters, and every length is checked against the caps before memory is touched. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "binding/http_client.h"
#include "util/hex.h"

/* ---- building a request ----------------------------------------------------------------------------------------- */

static int header_safe(const char *v)
{
    for (; *v != '\0'; v++)
        if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
            return 0;
    return 1;
}

static int path_safe(const char *v)
{
    if (v[0] != '/')
        return 0;
    for (; *v != '\0'; v++)
        if ((unsigned char)*v <= 0x20 || *v == 0x7f)
            return 0;
    return 1;
}

int m2m_http_build_request(const m2m_request *req, const char *host, const char *rqi, char **out, size_t *out_len,
                           m2m_err *err)
{
    static const char *const METHODS[] = {"POST", "GET", "PUT", "DELETE"};
    const char *ctype;
    size_t body_len;
    int known = 0;
    FILE *f;

    *out = NULL;
    *out_len = 0;
    if (req == NULL || req->method == NULL || req->path == NULL || host == NULL || rqi == NULL)
        return m2m_fail(err, M2M_E_ARG, "HTTP request: method, path, host and request ID are required");
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
        known |= strcmp(req->method, METHODS[i]) == 0;
    if (!known)
        return m2m_fail(err, M2M_E_ARG, "HTTP request: method '%s' is none of POST, GET, PUT, DELETE", req->method);
    if (!path_safe(req->path))
        return m2m_fail(err, M2M_E_ARG, "HTTP request: path '%s' must start with '/' and contain no spaces or "
                        "control characters", req->path);
    ctype = req->content_type != NULL ? req->content_type : "application/json";
    if (!header_safe(host) || !header_safe(rqi) || (req->from != NULL && !header_safe(req->from)) ||
        (req->authorization != NULL && !header_safe(req->authorization)) || !header_safe(ctype))
        return m2m_fail(err, M2M_E_ARG, "HTTP request: a header value contains a control character");
    if (req->ty < 0)
        return m2m_fail(err, M2M_E_ARG, "HTTP request: resource type %d is negative", req->ty);
    body_len = req->body != NULL ? strlen(req->body) : 0;
    if (body_len > M2M_HTTP_BODY_MAX)
        return m2m_fail(err, M2M_E_ARG, "HTTP request: body of %zu bytes is over the %d-byte limit", body_len,
                        M2M_HTTP_BODY_MAX);

    f = open_memstream(out, out_len);
    if (f == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    fprintf(f, "%s %s HTTP/1.1\r\nHost: %s\r\n", req->method, req->path, host);
    if (req->from != NULL && req->from[0] != '\0')
        fprintf(f, "X-M2M-Origin: %s\r\n", req->from);
    fprintf(f, "X-M2M-RI: %s\r\nX-M2M-RVI: " M2M_HTTP_RVI "\r\n", rqi);
    if (req->authorization != NULL && req->authorization[0] != '\0')
        fprintf(f, "Authorization: %s\r\n", req->authorization);
    fputs("Accept: application/json\r\n", f);
    /* TS-0009: the resource type of a CREATE travels as a Content-Type parameter. */
    if (req->body != NULL || req->ty > 0) {
        fprintf(f, "Content-Type: %s", ctype);
        if (req->ty > 0)
            fprintf(f, ";ty=%d", req->ty);
        fputs("\r\n", f);
    }
    /* POST and PUT always say how long their (maybe empty) body is; GET and DELETE only when they carry one. */
    if (req->body != NULL || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0)
        fprintf(f, "Content-Length: %zu\r\n", body_len);
    fputs("\r\n", f);
    if (body_len > 0)
        fwrite(req->body, 1, body_len, f);
    if (ferror(f) || fclose(f) != 0) {
        free(*out);
        *out = NULL;
        *out_len = 0;
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    return 0;
}

/* ---- parsing a response ----------------------------------------------------------------------------------------- */

enum pstate { P_HEAD, P_BODY_LEN, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_BODY_EOF, P_DONE, P_FAILED };

#define CHUNK_LINE_MAX 256

struct m2m_http_parser {
    enum pstate st;
    int started;                 /* a byte of the current response arrived */
    int interim;                 /* 1xx responses skipped before the current one */
    char head[M2M_HTTP_HEADER_MAX + 1];
    size_t head_len;
    struct {
        const char *name, *value;
    } hdr[M2M_HTTP_MAX_HEADER_LINES];
    size_t nhdr;
    int status, rsc, close;
    char *body;
    size_t body_len, body_cap;
    size_t remaining;            /* of the Content-Length body or the current chunk */
    char line[CHUNK_LINE_MAX + 1];
    size_t line_len;
    size_t trailer_len;
    m2m_err fail;                /* kept so that a second feed after a failure says the same */
};

m2m_http_parser *m2m_http_parser_new(void)
{
    m2m_http_parser *p = calloc(1, sizeof *p);
    return p;
}

void m2m_http_parser_free(m2m_http_parser *p)
{
    if (p == NULL)
        return;
    free(p->body);
    free(p);
}

void m2m_http_parser_reset(m2m_http_parser *p)
{
    char *body = p->body;
    size_t cap = p->body_cap;
    /* The header block is overwritten, not cleared: 16 KiB of memset per response buys nothing. */
    p->st = P_HEAD;
    p->started = 0;
    p->interim = 0;
    p->head_len = 0;
    p->nhdr = 0;
    p->status = p->rsc = p->close = 0;
    p->body = body;
    p->body_cap = cap;
    p->body_len = 0;
    /* The kept buffer still holds the previous body; a response with an empty body never writes into it, and
     * m2m_http_parser_body promises a NUL-terminated body of body_len octets (found by tests/fuzz/http_response). */
    if (body != NULL)
        body[0] = '\0';
    p->remaining = 0;
    p->line_len = 0;
    p->trailer_len = 0;
    m2m_err_clear(&p->fail);
}

static int failed(m2m_http_parser *p, m2m_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int failed(m2m_http_parser *p, m2m_err *err, const char *fmt, ...)
{
    va_list ap;
    p->st = P_FAILED;
    p->fail.code = M2M_E_PROTO;
    va_start(ap, fmt);
    vsnprintf(p->fail.msg, sizeof p->fail.msg, fmt, ap);
    va_end(ap);
    return m2m_fail(err, M2M_E_PROTO, "%s", p->fail.msg);
}

static int append_body(m2m_http_parser *p, const char *data, size_t n, m2m_err *err)
{
    if (n > M2M_HTTP_BODY_MAX - p->body_len)
        return failed(p, err, "HTTP response body is larger than the limit of 8 MiB");
    if (p->body == NULL || p->body_len + n + 1 > p->body_cap) {
        size_t cap = p->body_cap != 0 ? p->body_cap : 1024;
        char *nb;
        while (cap < p->body_len + n + 1)
            cap *= 2;
        nb = realloc(p->body, cap);
        if (nb == NULL) {
            p->st = P_FAILED;
            m2m_fail(&p->fail, M2M_E_NOMEM, "out of memory");
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        }
        p->body = nb;
        p->body_cap = cap;
    }
    memcpy(p->body + p->body_len, data, n);
    p->body_len += n;
    p->body[p->body_len] = '\0';
    return 0;
}

static int has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    while (*list != '\0') {
        size_t n;
        list += strspn(list, " \t,");
        n = strcspn(list, ",");
        while (n > 0 && (list[n - 1] == ' ' || list[n - 1] == '\t'))
            n--;
        if (n == tl && strncasecmp(list, token, n) == 0)
            return 1;
        list += strcspn(list, ",");
    }
    return 0;
}

/* RFC 9110 token: a header name. */
static int is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
            return 0;
    return n > 0;
}

static int all_digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    return strspn(s, "0123456789") == n;
}

/* Splits the header block (in place) into the status and the header lines, then decides how the body is framed
 * (RFC 9112 6.3). */
static int parse_head(m2m_http_parser *p, m2m_err *err)
{
    char *line = p->head, *next;
    const char *te, *cl, *conn, *rsc;
    int minor;

    p->head[p->head_len] = '\0';
    next = strchr(line, '\n');
    *next = '\0';
    if (next > line && next[-1] == '\r')
        next[-1] = '\0';
    /* "HTTP/1.x SP 3DIGIT [SP reason]" */
    if (strncmp(line, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
        !isdigit((unsigned char)line[9]) || !isdigit((unsigned char)line[10]) ||
        !isdigit((unsigned char)line[11]) || (line[12] != ' ' && line[12] != '\0'))
        return failed(p, err, "malformed HTTP status line '%.60s'", line);
    minor = line[7] - '0';
    p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (p->status < 100)
        return failed(p, err, "malformed HTTP status line '%.60s'", line);

    p->nhdr = 0; /* the header lines are this block's, whatever came before */
    for (line = next + 1; *line != '\0'; line = next + 1) {
        char *colon, *v, *end;
        next = strchr(line, '\n');
        *next = '\0';
        if (next > line && next[-1] == '\r')
            next[-1] = '\0';
        if (line[0] == '\0')
            break; /* the blank line that ends the block */
        if (line[0] == ' ' || line[0] == '\t')
            return failed(p, err, "folded HTTP header line '%.60s' (obsolete, refused)", line);
        colon = strchr(line, ':');
        if (colon == NULL || colon == line || !is_token(line, (size_t)(colon - line)))
            return failed(p, err, "malformed HTTP header line '%.60s'", line);
        if (p->nhdr == M2M_HTTP_MAX_HEADER_LINES)
            return failed(p, err, "more than %d HTTP header lines", M2M_HTTP_MAX_HEADER_LINES);
        *colon = '\0';
        v = colon + 1;
        v += strspn(v, " \t");
        end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        p->hdr[p->nhdr].name = line;
        p->hdr[p->nhdr].value = v;
        p->nhdr++;
    }

    conn = m2m_http_parser_header(p, "Connection");
    p->close = minor == 0 ? !(conn != NULL && has_token(conn, "keep-alive")) : conn != NULL && has_token(conn, "close");
    if ((rsc = m2m_http_parser_header(p, "X-M2M-RSC")) != NULL) {
        if (!all_digits(rsc, 4))
            return failed(p, err, "X-M2M-RSC '%.40s' is not a oneM2M status code", rsc);
        p->rsc = atoi(rsc);
    }
    if (p->status >= 100 && p->status < 200)
        return 0; /* interim: the caller skips it */

    te = m2m_http_parser_header(p, "Transfer-Encoding");
    cl = m2m_http_parser_header(p, "Content-Length");
    if (te != NULL) {
        /* chunked must be the last coding; the others (gzip, ...) were never asked for */
        if (strcasecmp(te, "chunked") != 0)
            return failed(p, err, "unsupported Transfer-Encoding '%.40s'", te);
        if (cl != NULL)
            p->close = 1; /* both framings: trust chunked, but never reuse such a connection */
        p->st = P_CHUNK_SIZE;
    } else if (cl != NULL) {
        for (size_t i = 0; i < p->nhdr; i++)
            if (strcasecmp(p->hdr[i].name, "Content-Length") == 0 && strcmp(p->hdr[i].value, cl) != 0)
                return failed(p, err, "conflicting Content-Length headers (%.40s)", cl);
        if (!all_digits(cl, 9) || strtoul(cl, NULL, 10) > M2M_HTTP_BODY_MAX)
            return failed(p, err, "Content-Length '%.40s' is not a length within the 8 MiB limit", cl);
        p->remaining = strtoul(cl, NULL, 10);
        p->st = p->remaining > 0 ? P_BODY_LEN : P_DONE;
    } else if (p->status == 204 || p->status == 304) {
        p->st = P_DONE;
    } else {
        p->close = 1; /* the body runs to the end of the connection */
        p->st = P_BODY_EOF;
    }
    return 0;
}

/* One header-block byte. Returns 1 when the block is complete. */
static int head_byte(m2m_http_parser *p, char c, m2m_err *err)
{
    size_t n;
    if (p->head_len == M2M_HTTP_HEADER_MAX)
        return failed(p, err, "HTTP response headers are larger than the limit of 16 KiB");
    /* A NUL would end the C strings the header lines become, and no HTTP header carries one. */
    if (c == '\0')
        return failed(p, err, "NUL byte in the HTTP response headers");
    p->head[p->head_len++] = c;
    n = p->head_len;
    if (c != '\n')
        return 0;
    if (n == 1 || (n == 2 && p->head[0] == '\r'))
        return failed(p, err, "HTTP response starts with an empty line instead of a status line");
    /* "\n\n" or "\n\r\n" ends the block (bare LF tolerated) */
    return (n >= 2 && p->head[n - 2] == '\n') || (n >= 3 && p->head[n - 2] == '\r' && p->head[n - 3] == '\n');
}

/* One byte of a chunk-size line, of the CRLF after chunk data, or of a trailer line. Returns 1 at the end of
 * the line, with the line (CR stripped) in p->line. */
static int line_byte(m2m_http_parser *p, char c, m2m_err *err)
{
    if (p->st == P_TRAILER && ++p->trailer_len + p->head_len > M2M_HTTP_HEADER_MAX)
        return failed(p, err, "HTTP response headers are larger than the limit of 16 KiB");
    if (c == '\n') {
        if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
            p->line_len--;
        p->line[p->line_len] = '\0';
        p->line_len = 0;
        return 1;
    }
    if (p->line_len == CHUNK_LINE_MAX) {
        if (p->st == P_TRAILER)
            return 0; /* a long trailer is only counted, never read */
        return failed(p, err, "HTTP chunk line longer than %d bytes", CHUNK_LINE_MAX);
    }
    p->line[p->line_len++] = c;
    return 0;
}

static int chunk_size(m2m_http_parser *p, m2m_err *err)
{
    const char *s = p->line;
    size_t size = 0;
    int d;
    if (m2m_hex_digit((unsigned char)*s) < 0)
        return failed(p, err, "malformed HTTP chunk size '%.40s'", p->line);
    for (; (d = m2m_hex_digit((unsigned char)*s)) >= 0; s++) {
        if (size > (M2M_HTTP_BODY_MAX - (size_t)d) / 16)
            return failed(p, err, "HTTP response body is larger than the limit of 8 MiB");
        size = size * 16 + (size_t)d;
    }
    s += strspn(s, " \t");
    if (*s != '\0' && *s != ';')
        return failed(p, err, "malformed HTTP chunk size '%.40s'", p->line);
    if (size > M2M_HTTP_BODY_MAX - p->body_len)
        return failed(p, err, "HTTP response body is larger than the limit of 8 MiB");
    p->remaining = size;
    p->st = size > 0 ? P_CHUNK_DATA : P_TRAILER;
    return 0;
}

static int finish(m2m_http_parser *p, m2m_err *err)
{
    if (p->body == NULL && append_body(p, "", 0, err) != 0)
        return -1;
    p->st = P_DONE;
    return M2M_HTTP_COMPLETE;
}

int m2m_http_parser_feed(m2m_http_parser *p, const void *data, size_t len, size_t *used, m2m_err *err)
{
    const char *in = data;
    size_t i = 0;
    int r;

    *used = 0;
    if (p->st == P_FAILED)
        return m2m_fail(err, p->fail.code, "%s", p->fail.msg);
    if (p->st == P_DONE)
        return M2M_HTTP_COMPLETE;
    if (len > 0)
        p->started = 1;
    while (i < len && p->st != P_DONE) {
        switch (p->st) {
        case P_HEAD:
            r = head_byte(p, in[i++], err);
            if (r < 0)
                return -1;
            if (r == 1) {
                if (parse_head(p, err) != 0)
                    return -1;
                if (p->status < 200) { /* 100 Continue and friends: the real response follows */
                    /* ... but only a few times: each one would otherwise buy a peer another wait */
                    if (++p->interim > M2M_HTTP_MAX_INTERIM)
                        return failed(p, err, "more than %d interim (1xx) HTTP responses before the final one",
                                      M2M_HTTP_MAX_INTERIM);
                    p->head_len = 0;
                    p->nhdr = 0;
                    p->rsc = 0;
                    p->st = P_HEAD;
                }
            }
            break;
        case P_BODY_LEN:
        case P_CHUNK_DATA: {
            size_t n = len - i < p->remaining ? len - i : p->remaining;
            if (append_body(p, in + i, n, err) != 0)
                return -1;
            i += n;
            p->remaining -= n;
            if (p->remaining == 0)
                p->st = p->st == P_BODY_LEN ? P_DONE : P_CHUNK_END;
            break;
        }
        case P_BODY_EOF:
            if (append_body(p, in + i, len - i, err) != 0)
                return -1;
            i = len;
            break;
        case P_CHUNK_SIZE:
            r = line_byte(p, in[i++], err);
            if (r < 0 || (r == 1 && chunk_size(p, err) != 0))
                return -1;
            break;
        case P_CHUNK_END:
            r = line_byte(p, in[i++], err);
            if (r < 0)
                return -1;
            if (r == 1) {
                if (p->line[0] != '\0')
                    return failed(p, err, "HTTP chunk data not followed by CRLF (got '%.40s')", p->line);
                p->st = P_CHUNK_SIZE;
            }
            break;
        case P_TRAILER:
            r = line_byte(p, in[i++], err);
            if (r < 0)
                return -1;
            if (r == 1 && p->line[0] == '\0')
                p->st = P_DONE; /* trailer fields are not used by oneM2M: dropped */
            break;
        case P_DONE:
        case P_FAILED:
            break;
        }
    }
    *used = i;
    if (p->st == P_DONE)
        return finish(p, err);
    return M2M_HTTP_NEED_MORE;
}

int m2m_http_parser_eof(m2m_http_parser *p, m2m_err *err)
{
    switch (p->st) {
    case P_DONE:
        return M2M_HTTP_COMPLETE;
    case P_BODY_EOF:
        return finish(p, err);
    case P_FAILED:
        return m2m_fail(err, p->fail.code, "%s", p->fail.msg);
    case P_HEAD:
        if (!p->started)
            return failed(p, err, "the connection closed before a response");
        return failed(p, err, "the connection closed inside the HTTP response headers");
    default:
        return failed(p, err, "the connection closed inside the HTTP response body");
    }
}

int m2m_http_parser_idle(const m2m_http_parser *p)
{
    return p->st == P_HEAD && !p->started;
}

int m2m_http_parser_status(const m2m_http_parser *p)
{
    return p->status;
}

int m2m_http_parser_rsc(const m2m_http_parser *p)
{
    return p->rsc;
}

const char *m2m_http_parser_header(const m2m_http_parser *p, const char *name)
{
    for (size_t i = 0; i < p->nhdr; i++)
        if (strcasecmp(p->hdr[i].name, name) == 0)
            return p->hdr[i].value;
    return NULL;
}

int m2m_http_parser_keep_alive(const m2m_http_parser *p)
{
    return p->st == P_DONE && !p->close;
}

const char *m2m_http_parser_body(const m2m_http_parser *p, size_t *len)
{
    if (len != NULL)
        *len = p->body != NULL ? p->body_len : 0;
    return p->body != NULL ? p->body : "";
}

char *m2m_http_parser_take_body(m2m_http_parser *p, size_t *len)
{
    char *b = p->body;
    if (b == NULL)
        b = calloc(1, 1);
    if (len != NULL)
        *len = p->body != NULL ? p->body_len : 0;
    p->body = NULL;
    p->body_len = p->body_cap = 0;
    return b;
}
