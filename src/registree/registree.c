/* The Registree (include/m2mattach/registree.h): Step 4 over tls_client (PSK, or the Registrar's certificate for
 * the PKI mechanisms), Step 5 as an HTTP CREATE built and parsed by binding/http_client (with the identity token for
 * x.y.7), and the state file that lets re-attachment (x.y.3, x.y.6) skip Step 5. */
#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binding/http_client.h"
#include "crypto/secret.h"
#include "onem2m/status.h"
#include "registree/details.h"
#include "registree/state.h"
#include "registree/tls_client.h"
#include "util/hex.h"

struct m2m_registree {
    const m2m_registree_config *cfg; /* borrowed: the caller keeps it alive */
    m2m_tls_client *tls;
    m2m_http_parser *parser;
    unsigned exchanges;              /* on the current connection: a reused one may have been closed idle */
    m2m_reg_state state;
    m2m_err err;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

m2m_registree *m2m_registree_new(const m2m_registree_config *cfg, m2m_err *err)
{
    m2m_registree *r;

    if (cfg == NULL) {
        m2m_fail(err, M2M_E_ARG, "no Registree configuration");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL || (r->parser = m2m_http_parser_new()) == NULL) {
        free(r);
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    r->cfg = cfg;
    return r;
}

void m2m_registree_free(m2m_registree *r)
{
    if (r == NULL)
        return;
    m2m_registree_disconnect(r);
    m2m_http_parser_free(r->parser);
    free(r);
}

const char *m2m_registree_error(const m2m_registree *r)
{
    return r != NULL ? r->err.msg : "";
}

m2m_code m2m_registree_error_code(const m2m_registree *r)
{
    return r != NULL ? r->err.code : M2M_E_ARG;
}

void m2m_registree_disconnect(m2m_registree *r)
{
    if (r == NULL)
        return;
    m2m_tls_client_close(r->tls);
    r->tls = NULL;
    r->exchanges = 0;
}

void m2m_reply_free(m2m_reply *reply)
{
    if (reply == NULL)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->body_len = 0;
}

/* 1 when the state file records a registration with this configuration's Registrar. */
static int registered_here(const m2m_registree *r)
{
    return r->state.registered && strcmp(r->state.registrar_cse_id, r->cfg->cse_id) == 0;
}

/* Step 4: TCP, then the handshake of the mechanism: TLS-PSK with the key ID as the identity, or a certificate
 * handshake in which the Registrar must prove the CSE-ID with a chain to the configured root (and the Registree
 * presents its certificate for x.y.6). */
static int connect_tls(m2m_registree *r)
{
    const m2m_registree_config *cfg = r->cfg;
    m2m_tls_client_config tc = {
        .host = cfg->host,
        .port = cfg->port,
        .peer_name = cfg->authority,
        .range = cfg->tls_range,
        .ciphers12 = cfg->ciphers,
        .timeout_ms = cfg->timeout_ms,
    };
    m2m_registree_disconnect(r);
    if (cfg->mechanism == M2M_MECH_PSK) {
        tc.auth = M2M_TLS_AUTH_PSK;
        tc.psk_identity = cfg->key_id;
        tc.psk = cfg->key.bytes;
        tc.psk_len = cfg->key.len;
    } else {
        /* x.y.7: the Registrar binds a token context at the CREATE, and the token works once. A new connection of
         * a registered token Registree would be bound to nobody, so none is made. */
        if (cfg->mechanism == M2M_MECH_TOKEN && registered_here(r))
            return m2m_fail(&r->err, M2M_E_EXISTS,
                            "token attachment is single-use: %s is already registered with %s (state file %s); "
                            "re-attach with a key generated over a token session (issue 4: attach --rekey) or "
                            "enrol a new token", r->state.assigned_id[0] != '\0' ? r->state.assigned_id : cfg->id,
                            cfg->cse_id, cfg->state_path);
        tc.auth = M2M_TLS_AUTH_CERT;
        tc.root = cfg->root_cert;
        tc.root_name = cfg->root_cert_path;
        tc.cse_id = cfg->cse_id;
        tc.ocsp_responder = cfg->ocsp_cert;
        tc.ocsp_responder_name = cfg->ocsp_cert_path;
        if (cfg->mechanism == M2M_MECH_CERT) {
            tc.client_cert = cfg->cert;
            tc.client_key = cfg->cert_key;
            tc.client_chain = cfg->chain;
        }
    }
    r->tls = m2m_tls_client_connect(&tc, &r->err);
    return r->tls != NULL ? 0 : -1;
}

/* Reads one response into the parser. *closed_idle is set when the server had closed the (reused) connection
 * before answering at all: the request can then be sent again on a new connection. */
static int read_response(m2m_registree *r, int *closed_idle)
{
    char buf[16384];
    size_t got, used;
    int pr;

    *closed_idle = 0;
    m2m_http_parser_reset(r->parser);
    for (;;) {
        if (m2m_tls_client_read(r->tls, buf, sizeof buf, &got, &r->err) != 0)
            return -1;
        if (got == 0) {
            if (m2m_http_parser_idle(r->parser)) {
                *closed_idle = 1;
                return m2m_fail(&r->err, M2M_E_IO, "%s: the Registrar closed the connection without answering",
                                r->cfg->authority);
            }
            pr = m2m_http_parser_eof(r->parser, &r->err);
            /* A body that runs to the end of the connection must end with close_notify, or it may be cut. */
            if (pr == M2M_HTTP_COMPLETE && !m2m_tls_client_closed_cleanly(r->tls))
                return m2m_fail(&r->err, M2M_E_PROTO, "%s: the response ended without TLS close_notify",
                                r->cfg->authority);
        } else {
            pr = m2m_http_parser_feed(r->parser, buf, got, &used, &r->err);
        }
        if (pr < 0) {
            char why[sizeof r->err.msg];
            snprintf(why, sizeof why, "%s", r->err.msg);
            return m2m_fail(&r->err, M2M_E_PROTO, "%s: %s", r->cfg->authority, why);
        }
        if (pr == M2M_HTTP_COMPLETE)
            return 0;
    }
}

/* One request and its response on the current connection. may_retry: a reused keep-alive connection that the
 * server closed while idle is replaced once (handshake only) and the request sent again; it never reached the
 * Registrar. */
static int exchange(m2m_registree *r, const m2m_request *req, m2m_reply *reply, int may_retry)
{
    unsigned char rnd[8];
    char rqi[2 * sizeof rnd + 1];
    char *bytes = NULL;
    size_t len = 0;
    const char *ri, *loc;
    int rc = -1, closed_idle = 0;

    memset(reply, 0, sizeof *reply);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        m2m_fail(&r->err, M2M_E_TLS, "the random generator failed");
        goto done;
    }
    m2m_hex_encode(rnd, sizeof rnd, rqi);
    if (m2m_http_build_request(req, r->cfg->authority, rqi, &bytes, &len, &r->err) != 0)
        goto done;
    for (int attempt = 0;; attempt++) {
        int reused = r->exchanges > 0, sent;
        if (r->tls == NULL && connect_tls(r) != 0)
            goto fail_conn;
        sent = m2m_tls_client_write(r->tls, bytes, len, &r->err) == 0;
        if (sent && read_response(r, &closed_idle) == 0)
            break;
        if (!(reused && may_retry && attempt == 0 && (!sent || closed_idle)))
            goto fail_conn;
        m2m_registree_disconnect(r);
    }
    r->exchanges++;
    /* The request ID is how a oneM2M originator matches an answer to its question. */
    ri = m2m_http_parser_header(r->parser, "X-M2M-RI");
    if (ri != NULL && strcmp(ri, rqi) != 0) {
        m2m_fail(&r->err, M2M_E_PROTO, "%s: the response carries request ID %.40s, not %s", r->cfg->authority, ri,
                 rqi);
        goto fail_conn;
    }
    loc = m2m_http_parser_header(r->parser, "Content-Location");
    if (loc != NULL && strlen(loc) >= sizeof reply->location) {
        m2m_fail(&r->err, M2M_E_PROTO, "%s: Content-Location is longer than %zu characters", r->cfg->authority,
                 sizeof reply->location - 1);
        goto fail_conn;
    }
    reply->http_status = m2m_http_parser_status(r->parser);
    reply->rsc = m2m_http_parser_rsc(r->parser);
    snprintf(reply->location, sizeof reply->location, "%s", loc != NULL ? loc : "");
    reply->body = m2m_http_parser_take_body(r->parser, &reply->body_len);
    if (reply->body == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    if (!m2m_http_parser_keep_alive(r->parser))
        m2m_registree_disconnect(r); /* Connection: close: the next request reconnects */
    rc = 0;
    goto done;
fail_conn:
    /* After a failed exchange the byte stream may be out of step: never reuse it. */
    m2m_registree_disconnect(r);
done:
    if (bytes != NULL && req->authorization != NULL)
        m2m_wipe(bytes, len); /* it held a credential */
    free(bytes);
    return rc;
}

/* The registration CREATE of TS-0004 7.4.4.2.1 (<AE>) or 7.4.5.2.1 (<remoteCSE>). */
static char *registration_body(const m2m_registree_config *cfg)
{
    cJSON *root = cJSON_CreateObject(), *res = cJSON_CreateObject(), *srv = cJSON_CreateArray();
    char *text = NULL, cb[600];

    if (root == NULL || res == NULL || srv == NULL || !cJSON_AddItemToArray(srv, cJSON_CreateString("3"))) {
        cJSON_Delete(srv);
        cJSON_Delete(res);
        goto done;
    }
    cJSON_AddItemToObject(root, cfg->is_cse ? "m2m:csr" : "m2m:ae", res);
    cJSON_AddStringToObject(res, "rn", cfg->name);
    if (cfg->is_cse) {
        snprintf(cb, sizeof cb, "%s/%s", cfg->id, cfg->cse_base);
        cJSON_AddStringToObject(res, "cb", cb);
        cJSON_AddStringToObject(res, "csi", cfg->id);
        cJSON_AddNumberToObject(res, "cst", 2); /* MN-CSE: a CSE that registers with another is not an IN */
        cJSON_AddTrueToObject(res, "rr");
    } else {
        cJSON_AddStringToObject(res, "api", cfg->app_id);
        cJSON_AddFalseToObject(res, "rr");
    }
    cJSON_AddItemToObject(res, "srv", srv);
    text = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(root);
    return text;
}

/* The Registrar's reason for an error: {"m2m:dbg": "..."} when it sent one, else the start of the body. */
static void debug_text(const m2m_reply *reply, char *out, size_t cap)
{
    cJSON *doc = cJSON_ParseWithLength(reply->body, reply->body_len);
    const cJSON *dbg = cJSON_GetObjectItemCaseSensitive(doc, "m2m:dbg");
    if (cJSON_IsString(dbg))
        snprintf(out, cap, "%s", dbg->valuestring);
    else if (reply->body_len > 0)
        snprintf(out, cap, "%.200s", reply->body);
    else
        snprintf(out, cap, "no reason given");
    cJSON_Delete(doc);
}

/* The assigned ID from the CREATE response: aei of an <AE>, csi of a <remoteCSE>. */
static int assigned_id(m2m_registree *r, const m2m_reply *reply, char *out, size_t cap)
{
    const m2m_registree_config *cfg = r->cfg;
    cJSON *doc = cJSON_ParseWithLength(reply->body, reply->body_len);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(doc, cfg->is_cse ? "m2m:csr" : "m2m:ae");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, cfg->is_cse ? "csi" : "aei");
    const char *v = cJSON_IsString(id) ? id->valuestring : NULL;
    int rc = -1;

    /* csi is optional in the answer; TS-0004 makes it the From of the CREATE, which is our CSE-ID. */
    if (v == NULL && cfg->is_cse && cJSON_IsObject(res))
        v = cfg->id;
    if (v == NULL) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: the 2001 response has no %s", cfg->authority,
                 cfg->is_cse ? "m2m:csr" : "m2m:ae aei");
        goto done;
    }
    if (strlen(v) >= cap || !m2m_is_plain_token(v[0] == '/' ? v + 1 : v)) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: assigned ID '%.60s' is not a valid ID",
                 cfg->authority, v);
        goto done;
    }
    snprintf(out, cap, "%s", v);
    rc = 0;
done:
    cJSON_Delete(doc);
    return rc;
}

/* Step 5, and its record in the state file. */
static int do_register(m2m_registree *r, m2m_attach_info *info)
{
    const m2m_registree_config *cfg = r->cfg;
    char path[300], dbg[300], bearer[M2M_TOKEN_MAX_LEN + 16];
    m2m_reply reply = {0};
    m2m_request req = {0};
    m2m_reg_state st = {0};
    char *body = registration_body(cfg);
    double start;
    int rc = -1;

    bearer[0] = '\0';
    if (body == NULL) {
        m2m_fail(&r->err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "/~%s", cfg->cse_id); /* the Registrar's CSEBase, SP-relative */
    req.method = "POST";
    req.path = path;
    req.ty = cfg->is_cse ? 16 : 2;
    req.body = body;
    req.from = cfg->id; /* the ID agreed at enrolment; the Registrar binds it to the key, certificate or token */
    if (cfg->mechanism == M2M_MECH_TOKEN) {
        /* x.y.7 Step 5.a: the identity token, in the HTTP binding's Authorization header (TS-0009 6.4.19) */
        snprintf(bearer, sizeof bearer, "Bearer %s", cfg->token);
        req.authorization = bearer;
    }
    start = now_ms();
    if (exchange(r, &req, &reply, 0) != 0)
        goto done;
    info->registration_ms = now_ms() - start;
    if (reply.rsc != M2M_RSC_CREATED) {
        debug_text(&reply, dbg, sizeof dbg);
        if (reply.rsc == 0)
            m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s failed: HTTP %d without X-M2M-RSC: %s",
                     cfg->authority, reply.http_status, dbg);
        else
            m2m_fail(&r->err, M2M_E_REFUSED, "registration refused by Registrar %s: %d %s: %s%s", cfg->authority,
                     reply.rsc, m2m_rsc_name(reply.rsc), dbg,
                     reply.rsc == M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED
                         ? " (the Registrar holds a registration that the state file does not record)"
                     : reply.rsc == M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED && cfg->mechanism == M2M_MECH_TOKEN
                         ? " (the identity token was not accepted: wrong, already used or expired)"
                         : "");
        m2m_registree_disconnect(r);
        goto done;
    }
    if (assigned_id(r, &reply, st.assigned_id, sizeof st.assigned_id) != 0)
        goto done;
    if (strlen(reply.location) >= sizeof st.resource) {
        m2m_fail(&r->err, M2M_E_PROTO, "registration with Registrar %s: Content-Location is too long",
                 cfg->authority);
        goto done;
    }
    st.registered = 1;
    snprintf(st.resource, sizeof st.resource, "%s", reply.location);
    snprintf(st.registrar_cse_id, sizeof st.registrar_cse_id, "%s", cfg->cse_id);
    snprintf(st.key_id, sizeof st.key_id, "%s", cfg->key_id);
    if (m2m_state_save(cfg->state_path, &st, &r->err) != 0) {
        /* The Registrar now holds the registration; say so, or the next run's 4117 would be a mystery. */
        char why[sizeof r->err.msg];
        snprintf(why, sizeof why, "%s", r->err.msg);
        m2m_fail(&r->err, M2M_E_IO, "registered as %s, but the state file could not record it: %s",
                 st.assigned_id, why);
        goto done;
    }
    r->state = st;
    info->created = 1;
    snprintf(info->assigned_id, sizeof info->assigned_id, "%s", st.assigned_id);
    rc = 0;
done:
    m2m_wipe(bearer, sizeof bearer);
    m2m_reply_free(&reply);
    free(body);
    return rc;
}

int m2m_registree_attach(m2m_registree *r, m2m_attach_info *info)
{
    const m2m_registree_config *cfg;
    m2m_attach_info local;

    if (r == NULL)
        return -1;
    cfg = r->cfg;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    m2m_err_clear(&r->err);
    m2m_registree_disconnect(r);
    snprintf(info->mechanism, sizeof info->mechanism, "%s", m2m_mechanism_name(cfg->mechanism));
    if (m2m_state_load(cfg->state_path, &r->state, &r->err) != 0 || connect_tls(r) != 0)
        return -1;
    snprintf(info->tls_version, sizeof info->tls_version, "%s", m2m_tls_client_version(r->tls));
    snprintf(info->cipher, sizeof info->cipher, "%s", m2m_tls_client_cipher(r->tls));
    info->handshake_ms = m2m_tls_client_handshake_ms(r->tls);
    info->ocsp_checked = m2m_tls_client_ocsp_checked(r->tls);

    /* A registration is with one Registrar: a state file that names another (the details file was pointed
     * elsewhere) does not spare Step 5 with this one. */
    if (!registered_here(r))
        return do_register(r, info);

    /* x.y.3 re-attachment (and x.y.6's "subsequent attachments use the same flow"): the handshake was all; Step 5
     * is skipped. A replaced PSK only updates the record. */
    info->created = 0;
    snprintf(info->assigned_id, sizeof info->assigned_id, "%s", r->state.assigned_id);
    if (strcmp(r->state.key_id, cfg->key_id) != 0) {
        snprintf(r->state.key_id, sizeof r->state.key_id, "%s", cfg->key_id);
        if (m2m_state_save(cfg->state_path, &r->state, &r->err) != 0)
            return -1;
    }
    return 0;
}

int m2m_registree_send(m2m_registree *r, const m2m_request *req, m2m_reply *reply)
{
    m2m_request q;

    if (reply != NULL)
        memset(reply, 0, sizeof *reply);
    if (r == NULL)
        return -1;
    if (req == NULL || reply == NULL)
        return m2m_fail(&r->err, M2M_E_ARG, "no request or no reply");
    m2m_err_clear(&r->err);
    if (r->tls == NULL && m2m_registree_attach(r, NULL) != 0)
        return -1;
    q = *req;
    if (q.from == NULL)
        q.from = r->state.registered ? r->state.assigned_id : r->cfg->id; /* the ID the context is bound to */
    return exchange(r, &q, reply, 1);
}
