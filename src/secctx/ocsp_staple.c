/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/file.h"
#include "util/log.h"
#include "secctx/ocsp_staple.h"

struct m2m_stapler {
    char file[1024];
    char url[1024];
    X509 *leaf;
    X509 *issuer;
    FILE *log_to;
    pthread_mutex_t mu;          /* guards der/len/expires: read by every handshake, written by the refresher */
    unsigned char *der;
    size_t len;
    time_t refresh_at;           /* when to look again */
    time_t expires;              /* nextUpdate of the held response (0 = none given) */
    struct timespec file_mtime;
    pthread_t thread;
    int running, stop;
    pthread_cond_t wake;
};

static time_t asn1_to_time(const ASN1_GENERALIZEDTIME *t)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

/* Checks that der is a successful response about our certificate and works out when to refresh it. The
 * signature is the client's to check (it holds the responder certificate); here we only refuse to staple junk. */
static int examine(m2m_stapler *s, const unsigned char *der, size_t len, time_t *refresh_at, time_t *expires,
                   m2m_err *err)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *basic = NULL;
    OCSP_CERTID *id = NULL;
    ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;
    int status = -1, reason = 0, rc = -1;
    time_t now = time(NULL), t0, t1;

    if (resp == NULL) {
        m2m_fail(err, M2M_E_PARSE, "not a DER OCSP response");
        goto done;
    }
    if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        m2m_fail(err, M2M_E_PROTO, "OCSP response status is %s",
                 OCSP_response_status_str(OCSP_response_status(resp)));
        goto done;
    }
    basic = OCSP_response_get1_basic(resp);
    id = OCSP_cert_to_id(NULL, s->leaf, s->issuer);
    if (basic == NULL || id == NULL ||
        OCSP_resp_find_status(basic, id, &status, &reason, NULL, &thisupd, &nextupd) != 1) {
        m2m_fail(err, M2M_E_PROTO, "OCSP response is not about the Registrar certificate");
        goto done;
    }
    t0 = asn1_to_time(thisupd);
    t1 = asn1_to_time(nextupd);
    if (t1 != 0 && t1 <= now) {
        m2m_fail(err, M2M_E_PROTO, "OCSP response expired (nextUpdate passed)");
        goto done;
    }
    *expires = t1;
    /* Refresh at half the validity, at least every 10 minutes when the responder gives no nextUpdate. */
    *refresh_at = t1 != 0 ? t0 + (t1 - t0) / 2 : now + 600;
    if (*refresh_at <= now)
        *refresh_at = now + 30;
    rc = 0;
done:
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return rc;
}

static int read_file(m2m_stapler *s, unsigned char **der, size_t *len, m2m_err *err)
{
    m2m_file_buf f;
    m2m_err e = {0};
    /* A response is public: the buffer is handed on as it is (malloc'd), not wiped. */
    if (m2m_file_read(s->file, 1 << 20, 0, &f, &e) != 0)
        return m2m_fail(err, e.code, "OCSP response: %s", e.msg);
    *der = f.data;
    *len = f.len;
    return 0;
}

static int fetch_url(m2m_stapler *s, unsigned char **der, size_t *len, m2m_err *err)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, s->leaf, s->issuer);
    OCSP_RESPONSE *resp = NULL;
    BIO *req_bio = NULL, *resp_bio = NULL;
    char *host = NULL, *port = NULL, *path = NULL;
    int use_ssl = 0, rc = -1, n;
    unsigned char *p;

    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
        OCSP_CERTID_free(id);
        m2m_fail(err, M2M_E_NOMEM, "cannot build an OCSP request");
        goto done;
    }
    if (OSSL_HTTP_parse_url(s->url, &use_ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1 || use_ssl) {
        m2m_fail(err, M2M_E_ARG, "OCSP URL %s: expected http://HOST[:PORT]/PATH", s->url);
        goto done;
    }
    req_bio = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req);
    resp_bio = req_bio ? OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
                                            "application/ocsp-request", req_bio, "application/ocsp-response", 1,
                                            100 * 1024, 5, 0)
                       : NULL;
    resp = resp_bio ? (OCSP_RESPONSE *)ASN1_item_d2i_bio(ASN1_ITEM_rptr(OCSP_RESPONSE), resp_bio, NULL) : NULL;
    if (resp == NULL) {
        char buf[200];
        ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
        m2m_fail(err, M2M_E_IO, "OCSP responder %s: %s", s->url, buf);
        goto done;
    }
    n = i2d_OCSP_RESPONSE(resp, NULL);
    if (n <= 0 || (p = *der = malloc((size_t)n)) == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    *len = (size_t)i2d_OCSP_RESPONSE(resp, &p);
    rc = 0;
done:
    OCSP_RESPONSE_free(resp);
    BIO_free(req_bio);
    BIO_free(resp_bio);
    OCSP_REQUEST_free(req);
    OPENSSL_free(host);
    OPENSSL_free(port);
    OPENSSL_free(path);
    ERR_clear_error();
    return rc;
}

int m2m_stapler_refresh(m2m_stapler *s, int force, m2m_err *err)
{
    unsigned char *der = NULL;
    size_t len = 0;
    time_t now = time(NULL), refresh_at = 0, expires = 0;
    struct stat sb;
    int have, changed = 0;

    if (s->file[0] != '\0') {
        changed = stat(s->file, &sb) == 0 && (sb.st_mtim.tv_sec != s->file_mtime.tv_sec ||
                                              sb.st_mtim.tv_nsec != s->file_mtime.tv_nsec);
        if (changed)
            s->file_mtime = sb.st_mtim;
    }
    pthread_mutex_lock(&s->mu);
    /* A response past its nextUpdate is worthless to a client that checks freshness: stop stapling it. */
    if (s->der != NULL && s->expires != 0 && s->expires <= now) {
        free(s->der);
        s->der = NULL;
        s->len = 0;
    }
    have = s->der != NULL;
    pthread_mutex_unlock(&s->mu);
    if (!force && !changed && have && now < s->refresh_at)
        return 0;
    if (!force && !changed && !have && now < s->refresh_at)
        return m2m_fail(err, M2M_E_NOTFOUND, "no OCSP response yet");
    if ((s->file[0] ? read_file(s, &der, &len, err) : fetch_url(s, &der, &len, err)) != 0 ||
        examine(s, der, len, &refresh_at, &expires, err) != 0) {
        free(der);
        s->refresh_at = now + 10; /* retry soon; keep what we had until it expires */
        return -1;
    }
    if (s->file[0] != '\0' && refresh_at > now + 60)
        refresh_at = now + 60; /* a file can be replaced at any time; stat is cheap */
    pthread_mutex_lock(&s->mu);
    free(s->der);
    s->der = der;
    s->len = len;
    s->expires = expires;
    pthread_mutex_unlock(&s->mu);
    s->refresh_at = refresh_at;
    return 0;
}

static void *refresher(void *arg)
{
    m2m_stapler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec until;
        m2m_err err;
        pthread_mutex_unlock(&s->mu);
        if (m2m_stapler_refresh(s, 0, &err) != 0 && err.code != M2M_E_NOTFOUND)
            m2m_logf(s->log_to, "ocsp: %s", err.msg);
        pthread_mutex_lock(&s->mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (!s->stop)
            pthread_cond_timedwait(&s->wake, &s->mu, &until);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int status_cb(SSL *ssl, void *arg)
{
    m2m_stapler *s = arg;
    unsigned char *copy = NULL;
    size_t len = 0;
    pthread_mutex_lock(&s->mu);
    if (s->der != NULL && (copy = OPENSSL_memdup(s->der, s->len)) != NULL)
        len = s->len;
    pthread_mutex_unlock(&s->mu);
    if (copy == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len) != 1) {
        OPENSSL_free(copy);
        return SSL_TLSEXT_ERR_NOACK;
    }
    return SSL_TLSEXT_ERR_OK;
}

m2m_stapler *m2m_stapler_new(const char *file, const char *url, X509 *leaf, X509 *issuer,
                             FILE *log_to, m2m_err *err)
{
    m2m_stapler *s;
    if ((file == NULL || !*file) == (url == NULL || !*url)) {
        m2m_fail(err, M2M_E_ARG, "OCSP stapling needs exactly one of --ocsp-response and --ocsp-url");
        return NULL;
    }
    if (leaf == NULL || issuer == NULL) {
        m2m_fail(err, M2M_E_ARG, "OCSP stapling needs the Registrar certificate and its issuer (--ocsp-issuer, or "
                                 "the first certificate of --chain)");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->file, sizeof s->file, "%s", file ? file : "");
    snprintf(s->url, sizeof s->url, "%s", url ? url : "");
    X509_up_ref(leaf);
    X509_up_ref(issuer);
    s->leaf = leaf;
    s->issuer = issuer;
    s->log_to = log_to;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    return s;
}

int m2m_stapler_start(m2m_stapler *s, m2m_err *err)
{
    if (pthread_create(&s->thread, NULL, refresher, s) != 0)
        return m2m_fail(err, M2M_E_IO, "cannot start the OCSP refresher");
    s->running = 1;
    return 0;
}

void m2m_stapler_install(SSL_CTX *ctx, m2m_stapler *s)
{
    SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
    SSL_CTX_set_tlsext_status_arg(ctx, s);
}

void m2m_stapler_stop(m2m_stapler *s)
{
    if (s == NULL || !s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->running = 0;
}

void m2m_stapler_free(m2m_stapler *s)
{
    if (s == NULL)
        return;
    m2m_stapler_stop(s);
    free(s->der);
    X509_free(s->leaf);
    X509_free(s->issuer);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    free(s);
}
