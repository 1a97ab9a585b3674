/* SPDX-License-Identifier: Apache-2.0 */
/* The server half of the HTTP binding: what the adapter hands m2m_http_parse_request from evhttp (method, request
 * target, the five headers m2m_http_handle reads, the body), and the response rendered from the outcome.
 *
 * Input: a request as text, "METHOD TARGET [HTTP/1.1]\n", "Name: value\n" lines, an empty line, then the body
 * (any bytes, NULs too). As with evhttp_find_header, the first header of a name counts, in any case, its value
 * trimmed of blanks. */
#include <string.h>
#include <strings.h>

#include "binding/http_server.h"
#include "fuzz_prim.h"

static const char *const NAMES[] = {"Content-Type", "X-M2M-Origin", "X-M2M-RI", "X-M2M-RVI", "Authorization",
                                     "Accept"};

static char *trim(char *s)
{
    char *end = s + strlen(s);
    s += strspn(s, " \t");
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* Splits text (size bytes and a NUL, modified in place) into in; the body goes to *body, exactly its size. */
static void split(char *text, size_t size, m2m_http_in *in, const char *hdr[5], char **body)
{
    size_t pos = 0;
    for (int first = 1; pos < size; first = 0) {
        char *line = text + pos, *nl = memchr(line, '\n', size - pos), *colon;
        if (nl != NULL)
            *nl = '\0';
        pos = nl != NULL ? (size_t)(nl - text) + 1 : size;
        line = trim(line);
        if (first) { /* "METHOD TARGET HTTP/1.1" */
            char *sp = line + strcspn(line, " ");
            in->method = line;
            if (*sp != '\0')
                *sp++ = '\0';
            sp += strspn(sp, " ");
            sp[strcspn(sp, " ")] = '\0';
            in->uri = sp;
        } else if (line[0] == '\0') { /* the blank line: the rest is the body */
            in->body_len = size - pos;
            *body = malloc(in->body_len > 0 ? in->body_len : 1);
            FUZZ_CHECK(*body != NULL);
            memcpy(*body, text + pos, in->body_len);
            in->body = in->body_len > 0 ? *body : NULL;
            break;
        } else if ((colon = strchr(line, ':')) != NULL) {
            *colon = '\0';
            for (size_t i = 0; i < 6; i++)
                if (hdr[i] == NULL && strcasecmp(trim(line), NAMES[i]) == 0)
                    hdr[i] = trim(colon + 1);
        }
    }
    in->content_type = hdr[0];
    in->origin = hdr[1];
    in->ri = hdr[2];
    in->rvi = hdr[3];
    in->authorization = hdr[4];
    in->accept = hdr[5];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *body = NULL;
    const char *hdr[6] = {NULL};
    m2m_http_in in;
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    m2m_http_out out;
    m2m_http_format format;

    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&in, 0, sizeof in);
    memset(&rsp, 0, sizeof rsp);
    in.method = in.uri = ""; /* evhttp always has both */
    split(text, size, &in, hdr, &body);

    fuzz_check_parsed(m2m_http_parse_request(&in, &req, &format, &rsp), &req, &rsp);
    /* What the adapter sends back: an error must render as {"m2m:dbg": reason}, readable JSON (or CBOR). */
    FUZZ_CHECK(format >= M2M_HTTP_JSON && format <= M2M_HTTP_RES_CBOR);
    FUZZ_CHECK(m2m_http_render_response(&rsp, M2M_HTTP_JSON, &out) == 0 && out.body != NULL &&
               out.body_len == strlen(out.body));
    if (rsp.rsc >= 4000) {
        fuzz_check_dbg(out.body, out.body_len, 0);
        m2m_http_out_clear(&out);
        FUZZ_CHECK(m2m_http_render_response(&rsp, M2M_HTTP_CBOR, &out) == 0);
        fuzz_check_dbg(out.body, out.body_len, 1);
    }
    m2m_http_out_clear(&out);
    m2m_prim_req_clear(&req);
    m2m_prim_rsp_clear(&rsp);
    free(body);
    free(text);
    return 0;
}
