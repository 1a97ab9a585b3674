/* SPDX-License-Identifier: Apache-2.0 */
/* The Registree API against a scripted Registrar in a thread of the test process (fixture_tls_server.h): its canned
 * oneM2M-over-HTTP answers, and the Registree sessions the tests open against it. Header-only (static inline).
 *
 *   fake_request_ri(req, ri, cap)            the request's X-M2M-RI ("none" when it has none)
 *   fake_is_registration(req)                a CREATE to the CSEBase: POST /~/in-cse
 *   fake_reply(ssl, status, rsc, ri, headers, body)
 *                                            one answer: X-M2M-RSC rsc, X-M2M-RI ri, more header lines, a JSON body
 *   fake_reply_accept(ssl, req, ri, headers) a Registrar that accepts: 2001 with the AE device01 (Cdevice01) to the
 *                                            registration, 2000 with the AE to anything else
 *   fake_registrar_open(srv, name, dir, ini, state)
 *                                            setup: the server's socket, a directory for device.ini and its state
 *   fake_registrar_close(srv, dir)           teardown: the server stopped and freed, the directory removed
 *   open_session(ini) / close_session(&s)    a Registree configured by ini
 *   session_attach(&s, info)                 an attachment that must succeed
 */
#ifndef M2M_TEST_FIXTURE_REGISTRAR_H
#define M2M_TEST_FIXTURE_REGISTRAR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture_tls_server.h"
#include "fixture_tmpdir.h"
#include "m2mattach/registree.h"

static inline void fake_request_ri(const char *req, char *ri, size_t cap)
{
    const char *p = strstr(req, "X-M2M-RI: ");
    snprintf(ri, cap, "none");
    if (p != NULL)
        sscanf(p + 10, "%63[^\r]", ri);
}

static inline int fake_is_registration(const char *req)
{
    return strncmp(req, "POST /~/in-cse HTTP/1.1", 23) == 0;
}

static inline void fake_reply(SSL *ssl, const char *status, const char *rsc, const char *ri, const char *headers,
                              const char *body)
{
    char resp[1024];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\nX-M2M-RSC: %s\r\nX-M2M-RI: %s\r\n%sContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     status, rsc, ri, headers, strlen(body), body);
    SSL_write(ssl, resp, n);
}

static inline void fake_reply_accept(SSL *ssl, const char *req, const char *ri, const char *headers)
{
    char created[256];
    if (fake_is_registration(req)) {
        snprintf(created, sizeof created, "Content-Location: /in-cse/device01\r\n%s", headers);
        fake_reply(ssl, "201 Created", "2001", ri, created,
                   "{\"m2m:ae\":{\"rn\":\"device01\",\"aei\":\"Cdevice01\",\"api\":\"Rdemo\"}}");
    } else {
        fake_reply(ssl, "200 OK", "2000", ri, headers, "{\"m2m:ae\":{\"aei\":\"Cdevice01\"}}");
    }
}

/* setup: the fake's listening socket (fake_server_open) and a new directory for the device's files: dir (64 bytes)
 * /tmp/m2m-NAME-XXXXXX, ini (128) DIR/device.ini, state (160) DIR/device.ini.state. 0, or -1. */
static inline int fake_registrar_open(struct fake_server *srv, const char *name, char dir[64], char ini[128],
                                      char state[160])
{
    if (fake_server_open(srv) != 0 || fixture_mkdtemp(dir, 64, name) != 0)
        return -1;
    snprintf(ini, 128, "%s/device.ini", dir);
    snprintf(state, 160, "%s/device.ini.state", dir);
    return 0;
}

/* teardown: stops and frees the fake (fake_server_close), removes dir. 0, or -1. */
static inline int fake_registrar_close(struct fake_server *srv, const char *dir)
{
    fake_server_close(srv);
    return fixture_rmdir(dir);
}

struct session {
    m2m_registree_config *cfg;
    m2m_registree *r;
};

static inline struct session open_session(const char *ini)
{
    struct session s;
    m2m_err err = {0};
    s.cfg = m2m_registree_config_load(ini, &err);
    if (s.cfg == NULL)
        fail_msg("%s", err.msg);
    s.r = m2m_registree_new(s.cfg, &err);
    assert_non_null(s.r);
    return s;
}

static inline void close_session(struct session *s)
{
    m2m_registree_free(s->r);
    m2m_registree_config_free(s->cfg);
}

static inline void session_attach(struct session *s, m2m_attach_info *info)
{
    if (m2m_registree_attach(s->r, info) != 0)
        fail_msg("%s", m2m_registree_error(s->r));
}

#endif
