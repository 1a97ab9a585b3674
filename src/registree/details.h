/* Step 2, attachment details: the Registree's INI file (docs/attachment-details.md) parsed into the config object
 * that include/m2mattach/registree.h keeps opaque. Only the Registree code sees the fields. */
#ifndef M2M_REGISTREE_DETAILS_H
#define M2M_REGISTREE_DETAILS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/secret.h"
#include "m2mattach/error.h"
#include "m2mattach/keyid.h"
#include "m2mattach/registree.h"
#include "registree/tls_client.h"

typedef enum m2m_mechanism {
    M2M_MECH_PSK = 1,  /* x.y.2 / x.y.3: TLS-PSK with Kcc / Kca */
    M2M_MECH_CERT = 2, /* x.y.6: PKI, the Registree presents its certificate */
    M2M_MECH_TOKEN = 3 /* x.y.7: PKI, the Registree sends an identity token in Step 5 */
} m2m_mechanism;

/* "psk", "cert", "token" */
const char *m2m_mechanism_name(m2m_mechanism m);

/* An identity token on the wire is an RFC 6750 b64token (base64url in practice): these bounds catch a truncated
 * or mangled one before the Registrar has to. */
#define M2M_TOKEN_MIN_LEN 16
#define M2M_TOKEN_MAX_LEN 512

#define M2M_DEFAULT_IO_TIMEOUT_S 10

struct m2m_registree_config {
    char *details_path;      /* as the caller gave it; error messages use it */

    /* [registrar] */
    char *poa;               /* as written, e.g. "https://127.0.0.1:8443" */
    char *host;              /* without IPv6 brackets: what getaddrinfo and SNI take */
    char port[6];
    char *authority;         /* "host:port", brackets kept: the Host header and the peer name in messages */
    char *cse_id;            /* "/in-cse" */
    char *root_cert_path;    /* resolved path; the Registrar Root Certificate (Step 2), NULL when not given */
    X509 *root_cert;         /* self-signed; required for cert and token, loaded (and unused) for psk */
    char *ocsp_cert_path;    /* resolved path, or NULL: no OCSP status required */
    X509 *ocsp_cert;

    /* [registree] */
    char *id;                /* the ID agreed at enrolment; '/' first means a CSE */
    int is_cse;
    char *app_id;            /* AE only */
    char *name;              /* rn */
    char *cse_base;          /* CSE only */

    /* [credentials] */
    m2m_mechanism mechanism;
    /* psk */
    m2m_secret key;
    m2m_key_kind key_kind;
    char key_id[M2M_KEYID_HEX_LEN + 1]; /* the PSK identity; "" for cert and token */
    /* cert */
    char *cert_path;         /* resolved paths */
    char *cert_key_path;
    X509 *cert;              /* the Registree certificate (the first in cert-file) */
    EVP_PKEY *cert_key;
    STACK_OF(X509) *chain;   /* what follows it in cert-file, then chain-file; NULL when empty */
    /* token */
    char *token;             /* NUL-terminated, wiped when the config is freed; never printed */

    /* [tls] */
    m2m_tls_range tls_range;
    char *ciphers;           /* TLS 1.2 cipher list; default by mechanism */
    int timeout_ms;          /* connect, handshake and each read/write */

    /* [state] */
    char *state_path;
};

/* Splits a Registrar point of access "https://HOST[:PORT][/]" (HOST an IPv4 address, [IPv6] or a DNS name; PORT
 * 443 when absent). host and authority are malloc'd. The message says what is wrong, without a location prefix. */
int m2m_https_poa_parse(const char *poa, char **host, char port[6], char **authority, m2m_err *err);

/* An ID, name or App-ID the Registrar may see in a header or a URI: non-empty, only RFC 3986 unreserved
 * characters, so nothing can inject a header or a path segment. */
int m2m_is_plain_token(const char *s);

/* 1 when s is a plausible identity token: M2M_TOKEN_MIN_LEN..M2M_TOKEN_MAX_LEN characters of the RFC 6750
 * b64token alphabet (letters, digits, '-', '.', '_', '~', '+', '/', then '=' padding only at the end). */
int m2m_token_syntax_ok(const char *s);

#endif
