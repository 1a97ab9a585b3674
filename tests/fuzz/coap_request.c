/* SPDX-License-Identifier: Apache-2.0 */
/* The server half of the CoAP binding (binding/coap_map.c) behind libcoap's own parser, as the Registrar's adapter
 * drives it: a CoAP message as a device sends it inside DTLS (header, token, options, payload), parsed by libcoap
 * (coap_pdu_parse), its options in wire order and its payload handed to m2m_coap_parse_request, and the refusal
 * rendered back. What the mapping accepts must be a request the CSE can take; what it refuses must say why, in a
 * body that decodes again in the format the answer names (JSON or CBOR). A server-authenticated context (x.y.7)
 * reaches this with no Registree bound, so every byte here may come from an unauthenticated peer. */
#include <coap3/coap.h>
#include <string.h>

#include "binding/coap_map.h"
#include "fuzz_prim.h"

#define MAX_OPTIONS 64 /* as the adapter: more is refused before the mapping */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int started;
    coap_pdu_t *pdu;
    coap_opt_iterator_t it;
    coap_opt_t *o;
    m2m_coap_opt opts[MAX_OPTIONS];
    m2m_coap_in in;
    m2m_prim_req req;
    m2m_prim_rsp rsp;
    m2m_coap_out out;
    int format = -1, n = 0;

    if (!started) {
        coap_startup();
        coap_set_log_level(LOG_EMERG);
        started = 1;
    }
    if ((pdu = coap_pdu_init(0, 0, 0, size > 0 ? size : 1)) == NULL)
        return 0;
    /* a request: code class 0, a method (RFC 7252 12.1.1) */
    if (!coap_pdu_parse(COAP_PROTO_UDP, data, size, pdu) || coap_pdu_get_code(pdu) == 0 ||
        coap_pdu_get_code(pdu) >= 32) {
        coap_delete_pdu(pdu);
        return 0;
    }
    memset(&in, 0, sizeof in);
    memset(&req, 0, sizeof req);
    memset(&rsp, 0, sizeof rsp);
    in.method = coap_pdu_get_code(pdu);
    coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
    while ((o = coap_option_next(&it)) != NULL && n < MAX_OPTIONS) {
        opts[n].num = it.number;
        opts[n].val = coap_opt_value(o);
        opts[n].len = coap_opt_length(o);
        n++;
    }
    in.opts = opts;
    in.nopts = (size_t)n;
    if (!coap_get_data(pdu, &in.payload_len, &in.payload))
        in.payload = NULL, in.payload_len = 0;

    fuzz_check_parsed(m2m_coap_parse_request(&in, &req, &format, &rsp), &req, &rsp);
    FUZZ_CHECK(memchr(rsp.rqi, '\0', sizeof rsp.rqi) != NULL);
    FUZZ_CHECK(format == M2M_COAP_FMT_JSON || format == M2M_COAP_FMT_RES_JSON || format == M2M_COAP_FMT_CBOR ||
               format == M2M_COAP_FMT_RES_CBOR);
    /* the refusal as the adapter sends it: a code, the RSC, the reason in a body of the format it names */
    if (rsp.rsc >= 4000) {
        FUZZ_CHECK(m2m_coap_render_response(&rsp, format, &out) == 0);
        FUZZ_CHECK(out.code >= 400 && out.code < 600 && out.rsc == (unsigned)rsp.rsc && out.payload != NULL);
        FUZZ_CHECK(out.format == format);
        fuzz_check_dbg(out.payload, out.payload_len, format == M2M_COAP_FMT_CBOR || format == M2M_COAP_FMT_RES_CBOR);
        m2m_coap_out_clear(&out);
    }
    m2m_prim_req_clear(&req);
    m2m_prim_rsp_clear(&rsp);
    coap_delete_pdu(pdu);
    return 0;
}
