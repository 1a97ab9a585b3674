/* SPDX-License-Identifier: Apache-2.0 */
/* oneM2M Response Status Codes (TS-0004 6.6) and their HTTP mapping (TS-0009 6.6). */
#ifndef M2M_ONEM2M_STATUS_H
#define M2M_ONEM2M_STATUS_H

enum {
    M2M_RSC_OK = 2000,
    M2M_RSC_CREATED = 2001,
    M2M_RSC_DELETED = 2002,
    M2M_RSC_UPDATED = 2004,
    M2M_RSC_BAD_REQUEST = 4000,
    M2M_RSC_RELEASE_VERSION_NOT_SUPPORTED = 4001,
    M2M_RSC_NOT_FOUND = 4004,
    M2M_RSC_OPERATION_NOT_ALLOWED = 4005,
    M2M_RSC_UNSUPPORTED_MEDIA_TYPE = 4015,
    M2M_RSC_ORIGINATOR_HAS_NO_PRIVILEGE = 4103,
    M2M_RSC_CONFLICT = 4105,
    M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED = 4106,
    M2M_RSC_SECURITY_ASSOCIATION_REQUIRED = 4107,
    M2M_RSC_ORIGINATOR_HAS_ALREADY_REGISTERED = 4117,
    M2M_RSC_APP_RULE_VALIDATION_FAILED = 4126,
    M2M_RSC_INTERNAL_SERVER_ERROR = 5000,
    M2M_RSC_NOT_IMPLEMENTED = 5001,
    M2M_RSC_ALREADY_EXISTS = 5106,
    M2M_RSC_NOT_ACCEPTABLE = 5207
};

/* "CREATED", "ORIGINATOR_NOT_AUTHENTICATED", ... or "UNKNOWN". */
const char *m2m_rsc_name(int rsc);
/* The HTTP status code TS-0009 maps an RSC to (500 for unknown codes). */
int m2m_rsc_http_status(int rsc);
/* The CoAP response code (class * 100 + detail, e.g. 201 for 2.01) TS-0008 maps an RSC to. */
int m2m_rsc_coap_code(int rsc);
/* Reason phrase for an HTTP status line. */
const char *m2m_http_reason(int http_status);

#endif
