/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "onem2m/primitive.h"
#include "registrar/attrs.h"

enum kind { K_STR, K_BOOL, K_INT, K_STRLIST, K_ANY };
enum { MANDATORY = 1, UPDATABLE = 2 };

struct attr {
    int ty;
    const char *name;
    enum kind kind;
    int flags;
};

static const struct attr ATTRS[] = {
    /* <AE> (TS-0004 7.4.5) */
    {M2M_TY_AE, "rn", K_STR, 0}, {M2M_TY_AE, "api", K_STR, MANDATORY}, {M2M_TY_AE, "rr", K_BOOL, MANDATORY | UPDATABLE},
    {M2M_TY_AE, "srv", K_STRLIST, MANDATORY | UPDATABLE}, {M2M_TY_AE, "apn", K_STR, UPDATABLE},
    {M2M_TY_AE, "poa", K_STRLIST, UPDATABLE}, {M2M_TY_AE, "lbl", K_STRLIST, UPDATABLE},
    {M2M_TY_AE, "et", K_STR, UPDATABLE}, {M2M_TY_AE, "acpi", K_STRLIST, UPDATABLE},
    {M2M_TY_AE, "nl", K_STR, UPDATABLE}, {M2M_TY_AE, "csz", K_STRLIST, UPDATABLE}, {M2M_TY_AE, "or", K_STR, UPDATABLE},
    /* <remoteCSE> (TS-0004 7.4.4) */
    {M2M_TY_CSR, "rn", K_STR, 0}, {M2M_TY_CSR, "cb", K_STR, MANDATORY}, {M2M_TY_CSR, "csi", K_STR, 0},
    {M2M_TY_CSR, "cst", K_INT, 0}, {M2M_TY_CSR, "rr", K_BOOL, MANDATORY | UPDATABLE},
    {M2M_TY_CSR, "srv", K_STRLIST, MANDATORY | UPDATABLE}, {M2M_TY_CSR, "poa", K_STRLIST, UPDATABLE},
    {M2M_TY_CSR, "lbl", K_STRLIST, UPDATABLE}, {M2M_TY_CSR, "nl", K_STR, UPDATABLE},
    {M2M_TY_CSR, "dcse", K_STRLIST, UPDATABLE}, {M2M_TY_CSR, "et", K_STR, UPDATABLE},
    {M2M_TY_CSR, "acpi", K_STRLIST, UPDATABLE},
    /* <container> */
    {M2M_TY_CNT, "rn", K_STR, 0}, {M2M_TY_CNT, "lbl", K_STRLIST, UPDATABLE}, {M2M_TY_CNT, "mni", K_INT, UPDATABLE},
    {M2M_TY_CNT, "mbs", K_INT, UPDATABLE}, {M2M_TY_CNT, "mia", K_INT, UPDATABLE}, {M2M_TY_CNT, "et", K_STR, UPDATABLE},
    {M2M_TY_CNT, "acpi", K_STRLIST, UPDATABLE},
    /* <contentInstance>: immutable once created */
    {M2M_TY_CIN, "rn", K_STR, 0}, {M2M_TY_CIN, "lbl", K_STRLIST, 0}, {M2M_TY_CIN, "cnf", K_STR, 0},
    {M2M_TY_CIN, "con", K_ANY, MANDATORY}, {M2M_TY_CIN, "et", K_STR, 0},
};

static const struct attr *find(int ty, const char *name)
{
    for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++)
        if (ATTRS[i].ty == ty && strcmp(ATTRS[i].name, name) == 0)
            return &ATTRS[i];
    return NULL;
}

static int kind_ok(enum kind k, const cJSON *v)
{
    switch (k) {
    case K_STR: return cJSON_IsString(v);
    case K_BOOL: return cJSON_IsBool(v);
    case K_INT: return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == (double)(long long)v->valuedouble;
    case K_STRLIST: {
        const cJSON *e;
        if (!cJSON_IsArray(v))
            return 0;
        cJSON_ArrayForEach(e, v)
            if (!cJSON_IsString(e))
                return 0;
        return 1;
    }
    case K_ANY: return !cJSON_IsNull(v);
    }
    return 0;
}

static const char *kind_name(enum kind k)
{
    static const char *const names[] = {"a string", "a boolean", "a non-negative integer", "a list of strings",
                                        "a value"};
    return names[k];
}

int m2m_attrs_check(int ty, const cJSON *attrs, int create, char *why, size_t why_len)
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
        if (!kind_ok(d->kind, a)) {
            snprintf(why, why_len, "attribute '%.64s' must be %s", a->string, kind_name(d->kind));
            return -1;
        }
    }
    if (create) {
        for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++) {
            if (ATTRS[i].ty == ty && (ATTRS[i].flags & MANDATORY) &&
                cJSON_GetObjectItemCaseSensitive(attrs, ATTRS[i].name) == NULL) {
                snprintf(why, why_len, "mandatory attribute '%s' is missing", ATTRS[i].name);
                return -1;
            }
        }
    }
    return 0;
}
