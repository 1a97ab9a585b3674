/* The Registree (device) side of oneM2M attachment: Steps 2, 4 and 5 of SEC-2014-0050, and re-attachment (x.y.3).
 *
 *   m2m_registree_config *cfg = m2m_registree_config_load("device.ini", &err);   // Step 2: attachment details
 *   m2m_registree *r = m2m_registree_new(cfg, &err);
 *   m2m_registree_attach(r, &info);         // Step 4 handshake, Step 5 CREATE unless already registered
 *   m2m_registree_send(r, &req, &reply);    // any oneM2M request, From = the bound ID
 *   m2m_registree_free(r); m2m_registree_config_free(cfg);
 *
 * Blocking, one TLS connection per handle, not thread-safe (one handle per thread). */
#ifndef M2MATTACH_REGISTREE_H
#define M2MATTACH_REGISTREE_H

#include <stddef.h>
#include "m2mattach/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct m2m_registree_config m2m_registree_config;
typedef struct m2m_registree m2m_registree;

/* Reads an attachment-details INI file (see docs/attachment-details.md). Relative paths inside it are resolved
 * against the file's directory. Errors name the file, line and key at fault. */
m2m_registree_config *m2m_registree_config_load(const char *details_path, m2m_err *err);
void m2m_registree_config_free(m2m_registree_config *cfg);
/* Path of the state file this configuration uses. */
const char *m2m_registree_config_state_path(const m2m_registree_config *cfg);
/* The Registrar CSE-ID of Step 2 ([registrar] cse-id). */
const char *m2m_registree_config_cse_id(const m2m_registree_config *cfg);

/* cfg is borrowed, not copied: it must outlive the handle. No connection is made until attach or send. */
m2m_registree *m2m_registree_new(const m2m_registree_config *cfg, m2m_err *err);
void m2m_registree_free(m2m_registree *r);
const char *m2m_registree_error(const m2m_registree *r);
m2m_code m2m_registree_error_code(const m2m_registree *r);

typedef struct m2m_attach_info {
    int created;             /* 1: this call performed Step 5 (CREATE); 0: re-attachment, handshake only */
    char assigned_id[256];   /* the Registree ID the Registrar bound and assigned */
    char mechanism[16];      /* "psk" (x.y.2/x.y.3), "cert" (x.y.6), "token" (x.y.7) */
    char tls_version[16];    /* "TLSv1.2" / "TLSv1.3" */
    char cipher[64];
    int ocsp_checked;        /* cert / token: 1 when a good, fresh, signed OCSP status of the Registrar was checked */
    double handshake_ms;     /* Step 4 */
    double registration_ms;  /* Step 5, 0 when not performed */
} m2m_attach_info;

/* Connects and authenticates (Step 4), closing any open connection first; when the state file says the Registree
 * is not yet registered, sends the registration CREATE (Step 5) and records the result in the state file
 * (atomically, mode 0600).
 *   psk:   TLS-PSK; re-attachment (x.y.3) is the handshake alone.
 *   cert:  the Registrar's certificate is checked against the root-cert and CSE-ID of the details file (and OCSP
 *          when configured), the Registree presents its certificate; re-attachment is the same handshake alone.
 *   token: the same checks of the Registrar, no client certificate; the CREATE carries "Authorization: Bearer
 *          <token>". The token is single-use: once registered, attaching again fails (M2M_E_EXISTS) without
 *          connecting. */
int m2m_registree_attach(m2m_registree *r, m2m_attach_info *info);

typedef struct m2m_request {
    const char *method;       /* "POST", "GET", "PUT", "DELETE" */
    const char *path;         /* HTTP request path, e.g. "/~/in-cse/cse-base/Cdev1" */
    int ty;                   /* resource type for CREATE, 0 = none */
    const char *body;         /* JSON text or NULL */
    const char *from;         /* NULL: the bound ID; "": header omitted; else sent as given (tests, spoofing) */
    const char *content_type; /* NULL: application/json (+ ;ty=N) when there is a body */
    const char *authorization;/* NULL: none; else the whole Authorization header value */
} m2m_request;

typedef struct m2m_reply {
    int http_status;
    int rsc;                  /* X-M2M-RSC, 0 if absent */
    char location[512];       /* Content-Location, "" if absent */
    char *body;               /* NUL-terminated, may be empty; freed by m2m_reply_free */
    size_t body_len;
} m2m_reply;

/* Sends one request over the attached connection (attaching first if needed) and reads the reply. A oneM2M error
 * status is not a failure of this call: it returns 0 and the caller reads reply->rsc. */
int m2m_registree_send(m2m_registree *r, const m2m_request *req, m2m_reply *reply);
void m2m_reply_free(m2m_reply *reply);

/* Closes the TLS connection (close_notify); the next call reconnects. */
void m2m_registree_disconnect(m2m_registree *r);

#ifdef __cplusplus
}
#endif
#endif
