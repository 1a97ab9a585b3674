/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "onem2m/primitive.h"
#include "registrar/attrs.h"

enum kind { K_STR, K_BOOL, K_INT, K_STRLIST, K_ANY, K_TIME, K_RELEASES };
enum { MANDATORY = 1, UPDATABLE = 2, MANDATORY_2A = 4 /* mandatory from Release 2a, when it appeared */ };

struct attr {
    int ty;
    const char *name;
    enum kind kind;
    int flags;
};

/* The common attributes every resource below may carry (TS-0004 9.6.1.3): et, lbl, acpi, at, aa. */
#define COMMON(ty)                                                                                                 \
    {ty, "et", K_TIME, UPDATABLE}, {ty, "lbl", K_STRLIST, UPDATABLE}, {ty, "acpi", K_STRLIST, UPDATABLE},          \
        {ty, "at", K_STRLIST, UPDATABLE}, {ty, "aa", K_STRLIST, UPDATABLE}

static const struct attr ATTRS[] = {
    /* <AE> (TS-0004 7.4.5) */
    COMMON(M2M_TY_AE), {M2M_TY_AE, "rn", K_STR, 0}, {M2M_TY_AE, "api", K_STR, MANDATORY},
    {M2M_TY_AE, "rr", K_BOOL, MANDATORY | UPDATABLE}, {M2M_TY_AE, "srv", K_RELEASES, MANDATORY_2A | UPDATABLE},
    {M2M_TY_AE, "apn", K_STR, UPDATABLE}, {M2M_TY_AE, "poa", K_STRLIST, UPDATABLE},
    {M2M_TY_AE, "nl", K_STR, UPDATABLE}, {M2M_TY_AE, "csz", K_STRLIST, UPDATABLE}, {M2M_TY_AE, "or", K_STR, UPDATABLE},
    {M2M_TY_AE, "daci", K_STRLIST, UPDATABLE}, {M2M_TY_AE, "esi", K_ANY, UPDATABLE},
    /* <remoteCSE> (TS-0004 7.4.4): csi is checked against the authenticated CSE-ID by the registration */
    COMMON(M2M_TY_CSR), {M2M_TY_CSR, "rn", K_STR, 0}, {M2M_TY_CSR, "cb", K_STR, MANDATORY},
    {M2M_TY_CSR, "csi", K_STR, 0}, {M2M_TY_CSR, "cst", K_INT, 0}, {M2M_TY_CSR, "rr", K_BOOL, MANDATORY | UPDATABLE},
    {M2M_TY_CSR, "srv", K_RELEASES, MANDATORY_2A | UPDATABLE}, {M2M_TY_CSR, "poa", K_STRLIST, UPDATABLE},
    {M2M_TY_CSR, "nl", K_STR, UPDATABLE}, {M2M_TY_CSR, "dcse", K_STRLIST, UPDATABLE},
    {M2M_TY_CSR, "mei", K_STR, UPDATABLE}, {M2M_TY_CSR, "tri", K_INT, UPDATABLE},
    {M2M_TY_CSR, "trn", K_INT, UPDATABLE}, {M2M_TY_CSR, "csz", K_STRLIST, UPDATABLE},
    {M2M_TY_CSR, "daci", K_STRLIST, UPDATABLE}, {M2M_TY_CSR, "esi", K_ANY, UPDATABLE},
    {M2M_TY_CSR, "st", K_INT, UPDATABLE}, {M2M_TY_CSR, "ici", K_ANY, UPDATABLE},
    /* <container> */
    COMMON(M2M_TY_CNT), {M2M_TY_CNT, "rn", K_STR, 0}, {M2M_TY_CNT, "mni", K_INT, UPDATABLE},
    {M2M_TY_CNT, "mbs", K_INT, UPDATABLE}, {M2M_TY_CNT, "mia", K_INT, UPDATABLE},
    /* <contentInstance>: immutable once created */
    {M2M_TY_CIN, "rn", K_STR, 0}, {M2M_TY_CIN, "lbl", K_STRLIST, 0}, {M2M_TY_CIN, "cnf", K_STR, 0},
    {M2M_TY_CIN, "con", K_ANY, MANDATORY}, {M2M_TY_CIN, "et", K_TIME, 0},
};

static const char *const RELEASES[] = {"1", "2", "2a", "3", "4", "5"};

static const struct attr *find(int ty, const char *name)
{
    for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++)
        if (ATTRS[i].ty == ty && strcmp(ATTRS[i].name, name) == 0)
            return &ATTRS[i];
    return NULL;
}

int64_t m2m_attrs_parse_time(const char *s)
{
    struct tm tm;
    int n = 0, y, mo, d, h, mi, se;
    size_t len = strlen(s);

    if ((len != 15 && (len < 17 || len > 22 || s[15] != ',')) || s[8] != 'T')
        return -1;
    for (size_t i = 0; i < len; i++)
        if (i != 8 && i != 15 && (s[i] < '0' || s[i] > '9'))
            return -1;
    if (sscanf(s, "%4d%2d%2dT%2d%2d%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 15)
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    {
        time_t t = timegm(&tm);
        struct tm back;
        /* timegm normalises 31 February into March: a date that does not exist is malformed */
        if (gmtime_r(&t, &back) == NULL || back.tm_mday != d || back.tm_mon != mo - 1)
            return -1;
        return (int64_t)t;
    }
}

void m2m_attrs_format_time(int64_t t, char out[16])
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, 16, "%Y%m%dT%H%M%S", &tm);
}

/* 1 when v has the kind k (and, for the value-checked kinds, an acceptable value); else why says what. */
static int value_ok(const struct attr *d, const cJSON *v, int64_t now, char *why, size_t why_len)
{
    const cJSON *e;
    switch (d->kind) {
    case K_STR:
        if (cJSON_IsString(v))
            return 1;
        snprintf(why, why_len, "attribute '%s' must be a string", d->name);
        return 0;
    case K_BOOL:
        if (cJSON_IsBool(v))
            return 1;
        snprintf(why, why_len, "attribute '%s' must be a boolean", d->name);
        return 0;
    case K_INT:
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0 &&
            v->valuedouble == (double)(long long)v->valuedouble)
            return 1;
        snprintf(why, why_len, "attribute '%s' must be a non-negative integer", d->name);
        return 0;
    case K_STRLIST:
        if (cJSON_IsArray(v)) {
            int ok = 1;
            cJSON_ArrayForEach(e, v) ok &= cJSON_IsString(e);
            if (ok)
                return 1;
        }
        snprintf(why, why_len, "attribute '%s' must be a list of strings", d->name);
        return 0;
    case K_ANY:
        if (!cJSON_IsNull(v))
            return 1;
        snprintf(why, why_len, "attribute '%s' must not be null", d->name);
        return 0;
    case K_TIME: {
        int64_t t = cJSON_IsString(v) ? m2m_attrs_parse_time(v->valuestring) : -1;
        if (t < 0) {
            snprintf(why, why_len, "attribute '%s' must be a timestamp like 20301231T235959 (UTC)", d->name);
            return 0;
        }
        if (t <= now) {
            snprintf(why, why_len, "attribute '%s' (%.22s) is not in the future", d->name, v->valuestring);
            return 0;
        }
        return 1;
    }
    case K_RELEASES:
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
            cJSON_ArrayForEach(e, v) {
                int known = 0;
                for (size_t i = 0; cJSON_IsString(e) && i < sizeof RELEASES / sizeof RELEASES[0]; i++)
                    known |= strcmp(e->valuestring, RELEASES[i]) == 0;
                if (!known) {
                    snprintf(why, why_len, "attribute '%s' names release '%.16s', which is not one of 1, 2, 2a, 3, "
                             "4, 5", d->name, cJSON_IsString(e) ? e->valuestring : "(not a string)");
                    return 0;
                }
            }
            return 1;
        }
        snprintf(why, why_len, "attribute '%s' must be a non-empty list of release versions", d->name);
        return 0;
    }
    return 0;
}

/* Release 1 and 2 have no supportedReleaseVersions; it is mandatory from 2a on. */
static int before_2a(const char *rvi)
{
    return rvi == NULL || rvi[0] == '\0' || strcmp(rvi, "1") == 0 || strcmp(rvi, "2") == 0;
}

int m2m_attrs_check(int ty, const cJSON *attrs, int create, const char *rvi, int64_t now, char *why,
                    size_t why_len)
{
    const cJSON *a;

    if (!cJSON_IsObject(attrs)) {
        snprintf(why, why_len, "resource content must be a JSON object");
        return -1;
    }
    cJSON_ArrayForEach(a, attrs) {
        const struct attr *d = find(ty, a->string);
        if (d == NULL) {
            snprintf(why, why_len, "attribute '%.64s' is unknown or set by the Registrar", a->string);
            return -1;
        }
        if (!create && !(d->flags & UPDATABLE)) {
            snprintf(why, why_len, "attribute '%.64s' cannot be updated", a->string);
            return -1;
        }
        if (!value_ok(d, a, now, why, why_len))
            return -1;
    }
    if (create) {
        for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++) {
            int mandatory = (ATTRS[i].flags & MANDATORY) || ((ATTRS[i].flags & MANDATORY_2A) && !before_2a(rvi));
            if (ATTRS[i].ty == ty && mandatory && cJSON_GetObjectItemCaseSensitive(attrs, ATTRS[i].name) == NULL) {
                snprintf(why, why_len, "mandatory attribute '%s' is missing", ATTRS[i].name);
                return -1;
            }
        }
    }
    return 0;
}
