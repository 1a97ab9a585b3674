/* SPDX-License-Identifier: Apache-2.0 */
/* Zn, shaped after Nbsp_GBA (TS 29.309): a NAF that authenticated with a client certificate chained to the
 * configured root POSTs {"btid": B-TID, "nafId": base64(NAF FQDN || Ua security protocol id)} and gets
 * {"btid", "impi", "ksNaf": base64(Ks_NAF), "keyExpiryTime": RFC 3339}. The NAF's certificate must name the FQDN
 * of the NAF_Id it asks for (a NAF gets only its own keys). An unknown or expired B-TID is 404 with an
 * application/problem+json body (RFC 7807), which the NAF turns into a failed handshake. */
#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bsf/bsf_internal.h"
#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/rfc3339.h"
#include "util/clock.h"

#define ZN_BODY_MAX 4096

static void send_json(struct evhttp_request *req, int code, const char *reason, const char *type, cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    if (b != NULL && text != NULL)
        evbuffer_add(b, text, strlen(text));
    evhttp_send_reply(req, code, reason, b);
    if (b != NULL)
        evbuffer_free(b);
    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text)); /* it may hold Ks_NAF */
        cJSON_free(text);
    }
}

/* RFC 7807 problem details with the Nbsp cause. */
static void problem(m2m_bsf *b, struct evhttp_request *req, int status, const char *reason, const char *cause,
                    const char *detail)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "title", reason);
    cJSON_AddNumberToObject(j, "status", status);
    cJSON_AddStringToObject(j, "cause", cause);
    cJSON_AddStringToObject(j, "detail", detail);
    b->zn_refused++;
    send_json(req, status, reason, "application/problem+json", j);
    cJSON_Delete(j);
}

/* The verified client certificate of the connection req came on, or NULL. */
static X509 *naf_certificate(struct evhttp_request *req)
{
    struct evhttp_connection *con = evhttp_request_get_connection(req);
    struct bufferevent *bev = con ? evhttp_connection_get_bufferevent(con) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    return SSL_get0_peer_certificate(ssl);
}

void m2m_zn_handle(struct evhttp_request *req, void *arg)
{
    m2m_bsf *b = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    cJSON *j = NULL, *out = NULL;
    const cJSON *btid, *naf;
    unsigned char naf_id[M2M_GBA_NAF_ID_MAX + 3], ks_naf[M2M_GBA_KS_NAF_LEN];
    char fqdn[M2M_GBA_FQDN_MAX + 1], ks_b64[M2M_B64_LEN(M2M_GBA_KS_NAF_LEN) + 1], exp[M2M_RFC3339_LEN + 1], q[300], q2[300];
    size_t naf_len = 0;
    X509 *cert = naf_certificate(req);
    m2m_gba_bootstrap rec;
    m2m_err err;

    memset(&rec, 0, sizeof rec);
    if (cert == NULL) { /* the TLS layer requires one; this is the belt to that */
        problem(b, req, 403, "Forbidden", "NAF_NOT_AUTHORIZED", "a NAF client certificate is required");
        goto done;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST || strcmp(evhttp_request_get_uri(req), M2M_ZN_PATH)) {
        problem(b, req, 404, "Not Found", "RESOURCE_NOT_FOUND", "POST " M2M_ZN_PATH " is the only Zn resource");
        goto done;
    }
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0 || len == 0 || len > ZN_BODY_MAX ||
        (j = cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1), len)) == NULL ||
        !cJSON_IsString(btid = cJSON_GetObjectItemCaseSensitive(j, "btid")) ||
        !cJSON_IsString(naf = cJSON_GetObjectItemCaseSensitive(j, "nafId")) ||
        strlen(btid->valuestring) >= M2M_BTID_MAX ||
        m2m_b64_decode(naf->valuestring, naf_id, sizeof naf_id, &naf_len) != 0 || naf_len <= M2M_GBA_UA_ID_LEN ||
        naf_len > M2M_GBA_NAF_ID_MAX) {
        problem(b, req, 400, "Bad Request", "MANDATORY_IE_INCORRECT",
                "body must be application/json {\"btid\": B-TID, \"nafId\": base64(NAF FQDN || Ua id)}");
        goto done;
    }
    memcpy(fqdn, naf_id, naf_len - M2M_GBA_UA_ID_LEN);
    fqdn[naf_len - M2M_GBA_UA_ID_LEN] = '\0';
    if (strlen(fqdn) != naf_len - M2M_GBA_UA_ID_LEN || X509_check_host(cert, fqdn, 0, 0, NULL) != 1) {
        m2m_bsf_log(b, "zn naf=%s result=refused reason=the NAF certificate does not name this NAF_Id's FQDN",
                    m2m_log_quote(fqdn, q, sizeof q));
        problem(b, req, 403, "Forbidden", "NAF_NOT_AUTHORIZED", "the client certificate does not name the NAF_Id FQDN");
        goto done;
    }
    if (m2m_store_gba_bootstrap_get(b->st, btid->valuestring, m2m_clock_now(), &rec, &err) != 0) {
        if (err.code != M2M_E_NOTFOUND) {
            m2m_bsf_log(b, "zn store error: %s", err.msg);
            problem(b, req, 503, "Service Unavailable", "SYSTEM_FAILURE", "the BSF cannot read its records");
            goto done;
        }
        m2m_bsf_log(b, "zn naf=%s btid=%s result=refused reason=unknown or expired B-TID",
                    m2m_log_quote(fqdn, q, sizeof q), m2m_log_quote(btid->valuestring, q2, sizeof q2));
        problem(b, req, 404, "Not Found", "BTID_NOT_FOUND", "no valid bootstrapping for this B-TID");
        goto done;
    }
    if (m2m_gba_ks_naf(rec.ks, rec.rand, rec.impi, naf_id, naf_len, ks_naf, &err) != 0) {
        problem(b, req, 500, "Internal Server Error", "SYSTEM_FAILURE", "key derivation failed");
        goto done;
    }
    m2m_b64_encode(ks_naf, sizeof ks_naf, ks_b64);
    m2m_rfc3339_format(rec.expires, exp);
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "btid", rec.btid);
    cJSON_AddStringToObject(out, "impi", rec.impi);
    cJSON_AddStringToObject(out, "ksNaf", ks_b64);
    cJSON_AddStringToObject(out, "keyExpiryTime", exp);
    b->zn_served++;
    m2m_bsf_log(b, "zn naf=%s btid=%s impi=%s result=ok expires=%s", m2m_log_quote(fqdn, q, sizeof q), rec.btid,
                m2m_log_quote(rec.impi, q2, sizeof q2), exp);
    send_json(req, 200, "OK", "application/json", out);
done:
    if (out != NULL) {
        cJSON *k = cJSON_GetObjectItemCaseSensitive(out, "ksNaf");
        if (k != NULL && k->valuestring != NULL)
            OPENSSL_cleanse(k->valuestring, strlen(k->valuestring));
    }
    cJSON_Delete(out);
    cJSON_Delete(j);
    OPENSSL_cleanse(ks_naf, sizeof ks_naf);
    OPENSSL_cleanse(ks_b64, sizeof ks_b64);
    OPENSSL_cleanse(&rec, sizeof rec);
}
