/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>

#include "onem2m/status.h"

struct rsc_row {
    int rsc;
    const char *name;
    int http;
    int coap;
};

static const struct rsc_row ROWS[] = {
    {2000, "OK", 200, 205},
    {2001, "CREATED", 201, 201},
    {2002, "DELETED", 200, 202},
    {2004, "UPDATED", 200, 204},
    {4000, "BAD_REQUEST", 400, 400},
    {4001, "RELEASE_VERSION_NOT_SUPPORTED", 501, 501},
    {4004, "NOT_FOUND", 404, 404},
    {4005, "OPERATION_NOT_ALLOWED", 405, 405},
    {4015, "UNSUPPORTED_MEDIA_TYPE", 415, 415},
    {4103, "ORIGINATOR_HAS_NO_PRIVILEGE", 403, 403},
    {4105, "CONFLICT", 409, 403},
    {4106, "ORIGINATOR_NOT_AUTHENTICATED", 403, 403},
    {4107, "SECURITY_ASSOCIATION_REQUIRED", 403, 403},
    {4117, "ORIGINATOR_HAS_ALREADY_REGISTERED", 403, 403},
    {4126, "APP_RULE_VALIDATION_FAILED", 403, 403},
    {5000, "INTERNAL_SERVER_ERROR", 500, 500},
    {5001, "NOT_IMPLEMENTED", 501, 501},
    {5106, "ALREADY_EXISTS", 409, 400},
    {5207, "NOT_ACCEPTABLE", 406, 406},
};

static const struct rsc_row *find(int rsc)
{
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++)
        if (ROWS[i].rsc == rsc)
            return &ROWS[i];
    return NULL;
}

const char *m2m_rsc_name(int rsc)
{
    const struct rsc_row *r = find(rsc);
    return r ? r->name : "UNKNOWN";
}

int m2m_rsc_http_status(int rsc)
{
    const struct rsc_row *r = find(rsc);
    return r ? r->http : 500;
}

int m2m_rsc_coap_code(int rsc)
{
    const struct rsc_row *r = find(rsc);
    return r ? r->coap : 500;
}

const char *m2m_http_reason(int s)
{
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Unknown";
    }
}
