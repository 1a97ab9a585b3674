/* Step 2, attachment details: the Registree's INI file (docs/attachment-details.md) parsed into the config object
 * that include/m2mattach/registree.h keeps opaque. Only the Registree code sees the fields. */
#ifndef M2M_REGISTREE_DETAILS_H
#define M2M_REGISTREE_DETAILS_H

#include "crypto/secret.h"
#include "m2mattach/error.h"
#include "m2mattach/keyid.h"
#include "m2mattach/registree.h"
#include "registree/tls_client.h"

typedef enum m2m_mechanism {
    M2M_MECH_PSK = 1 /* x.y.2 / x.y.3; cert and token come with later issues */
} m2m_mechanism;

#define M2M_DEFAULT_IO_TIMEOUT_S 10

struct m2m_registree_config {
    char *details_path;      /* as the caller gave it; error messages use it */

    /* [registrar] */
    char *poa;               /* as written, e.g. "https://127.0.0.1:8443" */
    char *host;              /* without IPv6 brackets: what getaddrinfo and SNI take */
    char port[6];
    char *authority;         /* "host:port", brackets kept: the Host header and the peer name in messages */
    char *cse_id;            /* "/in-cse" */

    /* [registree] */
    char *id;                /* the ID agreed at enrolment; '/' first means a CSE */
    int is_cse;
    char *app_id;            /* AE only */
    char *name;              /* rn */
    char *cse_base;          /* CSE only */

    /* [credentials] */
    m2m_mechanism mechanism;
    m2m_secret key;
    m2m_key_kind key_kind;
    char key_id[M2M_KEYID_HEX_LEN + 1]; /* the PSK identity */

    /* [tls] */
    m2m_tls_range tls_range;
    char *ciphers;           /* TLS 1.2 cipher list */
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

#endif
