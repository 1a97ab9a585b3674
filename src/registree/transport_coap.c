/* SPDX-License-Identifier: Apache-2.0 */
/* The CoAP binding of the transport seam (transport.h): oneM2M over CoAP (TS-0008) over DTLS 1.2. The request
 * primitive is mapped by binding/coap_client.c and carried by dtls_client.c (libcoap); the identity token of x.y.7
 * travels as Uri-Query "tkns=TOKEN". A DTLS session has no idle close to ride out (no TCP): a request either gets
 * its answer or the session is gone, and the attachment logic opens a new one. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding/coap_client.h"
#include "registree/dtls_client.h"
#include "registree/transport.h"
#include "util/hex.h"

typedef struct coap_transport {
    m2m_transport base;
    m2m_dtls_client *dtls;
    int cbor;             /* [coap] content-format = cbor: bodies in CBOR on the wire */
    m2m_coap_request req; /* large (its option bytes): not on the stack */
} coap_transport;

static int coap_exchange(m2m_transport *t, const m2m_request *req, const char *token, m2m_reply *reply,
                         m2m_outcome *why, m2m_err *err)
{
    coap_transport *k = (coap_transport *)t;
    m2m_coap_response resp;
    unsigned char rnd[8];
    char rqi[2 * sizeof rnd + 1];
    int rc = -1;

    memset(reply, 0, sizeof *reply);
    *why = M2M_OUTCOME_LOCAL;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return m2m_fail(err, M2M_E_TLS, "the random generator failed");
    m2m_hex_encode(rnd, sizeof rnd, rqi);
    if (m2m_coap_build_request(req, rqi, token, &k->req, err) != 0 ||
        (k->cbor && m2m_coap_request_cbor(&k->req, err) != 0))
        goto done;
    if (m2m_dtls_client_request(k->dtls, &k->req, &resp, why, err) != 0)
        goto done;
    if (m2m_coap_parse_response(&resp, rqi, m2m_dtls_client_peer(k->dtls), reply, err) != 0) {
        *why = err != NULL && err->code == M2M_E_NOMEM ? M2M_OUTCOME_LOCAL : M2M_OUTCOME_BROKEN;
        goto done;
    }
    *why = M2M_OUTCOME_OK;
    rc = 0;
done:
    /* the token was in the option bytes */
    OPENSSL_cleanse(k->req.buf, sizeof k->req.buf);
    m2m_coap_request_clear(&k->req);
    return rc;
}

static int coap_alive(const m2m_transport *t)
{
    return m2m_dtls_client_alive(((const coap_transport *)t)->dtls);
}

static void coap_set_deadline(m2m_transport *t, double deadline)
{
    m2m_dtls_client_set_deadline(((coap_transport *)t)->dtls, deadline);
}

static int coap_export(m2m_transport *t, const char *label, unsigned char *out, size_t len, m2m_err *err)
{
    return m2m_dtls_client_export(((coap_transport *)t)->dtls, label, out, len, err);
}

static void coap_info(const m2m_transport *t, m2m_link_info *out)
{
    const m2m_dtls_client *c = ((const coap_transport *)t)->dtls;
    out->version = m2m_dtls_client_version(c);
    out->cipher = m2m_dtls_client_cipher(c);
    out->handshake_ms = m2m_dtls_client_handshake_ms(c);
    out->resumed = m2m_dtls_client_resumed(c);
    out->ocsp_checked = m2m_dtls_client_ocsp_checked(c);
}

static SSL_SESSION *coap_get1_session(m2m_transport *t)
{
    return m2m_dtls_client_get1_session(((coap_transport *)t)->dtls);
}

static unsigned coap_sessions(const m2m_transport *t)
{
    return m2m_dtls_client_sessions(((const coap_transport *)t)->dtls);
}

/* DTLS 1.2 sends its ticket inside the handshake: there is nothing to wait for. */
static int coap_await_session(m2m_transport *t, int max_ms)
{
    (void)t;
    (void)max_ms;
    return 0;
}

static void coap_close(m2m_transport *t)
{
    coap_transport *k = (coap_transport *)t;
    m2m_dtls_client_close(k->dtls);
    free(k);
}

static const m2m_transport_ops COAP_OPS = {
    .name = "CoAP over DTLS",
    .exchange = coap_exchange,
    .alive = coap_alive,
    .set_deadline = coap_set_deadline,
    .export_key = coap_export,
    .info = coap_info,
    .get1_session = coap_get1_session,
    .sessions = coap_sessions,
    .await_session = coap_await_session,
    .close = coap_close,
};

m2m_transport *m2m_transport_coap_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err)
{
    coap_transport *k = calloc(1, sizeof *k);

    BIO_free(cfg->bio); /* a BIO pair is the TLS transport's in-memory peer; DTLS runs on libcoap's sockets */
    if (k == NULL) {
        *why = M2M_OUTCOME_LOCAL;
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    k->base.ops = &COAP_OPS;
    k->cbor = cfg->coap_cbor;
    k->dtls = m2m_dtls_client_open(cfg, why, err);
    if (k->dtls == NULL) {
        free(k);
        return NULL;
    }
    return &k->base;
}
