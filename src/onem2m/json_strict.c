/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON (see json_strict.h). Three passes over one document:
 *   1. a scan of the raw text, which sees what cJSON hides: the nesting depth, and which string tokens hold a NUL
 *      (a \u0000 escape or a raw 0 byte), counted in document order;
 *   2. cJSON's parse, and the check that nothing but whitespace follows the value;
 *   3. a walk of the tree in the same document order (each member name, then its value), which finds the string
 *      the scan flagged, so the message can name its member, and looks for duplicate member names.
 * A NUL is reported before any duplicate: two names that differ only after a NUL look equal once truncated. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onem2m/json_strict.h"

#define NO_STRING SIZE_MAX
#define PATH_MAX_LEN 256   /* how much of a member path a message shows */
#define NAME_MAX_LEN 64    /* ... and of one member name */
#define SMALL_OBJECT 16    /* members sorted on the stack; more are sorted in a malloc'd array */

/* Pass 1. Robust to any input (it runs before the syntax is known to be valid). 0, or -1 when nested too deep.
 * *nul_string: the index of the first string token holding a NUL, or NO_STRING. */
static int scan(const char *t, size_t len, size_t *nul_string)
{
    size_t depth = 0, strings = 0;
    int in_string = 0, nul = 0;

    *nul_string = NO_STRING;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (in_string) {
            if (c == '\\') {
                if (i + 5 < len && t[i + 1] == 'u' && memcmp(t + i + 2, "0000", 4) == 0)
                    nul = 1;
                i++; /* the escaped character: never the end of the string (the hex digits of \u are plain) */
            } else if (c == '"') {
                in_string = 0;
                if (nul && *nul_string == NO_STRING)
                    *nul_string = strings;
                strings++;
            } else if (c == '\0') {
                nul = 1;
            }
        } else if (c == '"') {
            in_string = 1;
            nul = 0;
        } else if (c == '{' || c == '[') {
            if (++depth > M2M_JSON_MAX_DEPTH)
                return -1;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

struct walk {
    size_t nul_string;      /* from the scan */
    size_t strings;         /* string tokens seen so far by the walk */
    char path[PATH_MAX_LEN];
    m2m_err *err;
};

/* Copies a member name as messages show it: printable ASCII, at most NAME_MAX_LEN characters, then "...". */
static void shown_name(const char *name, char *out, size_t cap)
{
    size_t j = 0;
    for (; j < NAME_MAX_LEN && j + 4 < cap && name[j] != '\0'; j++)
        out[j] = name[j] >= 0x20 && name[j] < 0x7f ? name[j] : '?';
    snprintf(out + j, cap - j, "%s", name[j] != '\0' ? "..." : "");
}

/* Appends ".name" (or "[i]" when name is NULL) to the path; returns the previous length, to restore. A path too
 * long for the buffer ends in "..." once. */
static size_t path_push(struct walk *w, const char *name, int index)
{
    size_t old = strlen(w->path);
    char part[NAME_MAX_LEN + 8], shown[NAME_MAX_LEN + 4];

    if (name == NULL) {
        snprintf(part, sizeof part, "[%d]", index);
    } else {
        shown_name(name, shown, sizeof shown);
        snprintf(part, sizeof part, "%s%s", old > 0 ? "." : "", shown);
    }
    if (old + strlen(part) < sizeof w->path)
        memcpy(w->path + old, part, strlen(part) + 1);
    else if (old + 4 <= sizeof w->path && (old < 3 || strcmp(w->path + old - 3, "...") != 0))
        memcpy(w->path + old, "...", 4);
    return old;
}

/* The current value as messages name it: "m2m:ae.aei", "(top level)". */
static const char *value_at(const struct walk *w, char *out, size_t cap)
{
    snprintf(out, cap, "%s", w->path[0] != '\0' ? w->path : "(top level)");
    return out;
}

/* The current object as messages place a member in it: "in m2m:csr", "at the top level". */
static const char *member_of(const struct walk *w, char *out, size_t cap)
{
    if (w->path[0] == '\0')
        snprintf(out, cap, "at the top level");
    else
        snprintf(out, cap, "in %s", w->path);
    return out;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One object's member names, sorted, side by side: a duplicate is two equal neighbours. */
static int check_duplicates(struct walk *w, const cJSON *obj)
{
    const char *small[SMALL_OBJECT], **names = small, *dup = NULL;
    const cJSON *m;
    size_t n = 0, i = 0;
    char at[PATH_MAX_LEN + 16], shown[NAME_MAX_LEN + 4];
    int rc = -1;

    cJSON_ArrayForEach(m, obj)
        n++;
    if (n < 2)
        return 0;
    if (n > SMALL_OBJECT && (names = malloc(n * sizeof *names)) == NULL)
        return m2m_fail(w->err, M2M_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(m, obj)
        names[i++] = m->string != NULL ? m->string : "";
    qsort(names, n, sizeof *names, by_name);
    for (i = 1; i < n && dup == NULL; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            dup = names[i];
    if (dup != NULL) {
        shown_name(dup, shown, sizeof shown);
        m2m_fail(w->err, M2M_E_PARSE, "duplicate member \"%s\" %s", shown, member_of(w, at, sizeof at));
        goto done;
    }
    rc = 0;
done:
    if (names != small)
        free(names);
    return rc;
}

/* Pass 3, one value (recursion bounded by M2M_JSON_MAX_DEPTH, which the scan enforced). */
static int walk(struct walk *w, const cJSON *node)
{
    char at[PATH_MAX_LEN + 16];
    const cJSON *child;
    int index = 0;

    if (cJSON_IsString(node)) {
        if (w->strings++ == w->nul_string)
            return m2m_fail(w->err, M2M_E_PARSE, "string %s holds a NUL character (\\u0000)",
                            value_at(w, at, sizeof at));
        return 0;
    }
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
        return 0;
    /* while a NUL is still to be found, names may look equal only because they were cut at it */
    if (cJSON_IsObject(node) && w->nul_string == NO_STRING && check_duplicates(w, node) != 0)
        return -1;
    cJSON_ArrayForEach(child, node) {
        size_t restore;
        int rc;
        if (cJSON_IsObject(node) && w->strings++ == w->nul_string)
            return m2m_fail(w->err, M2M_E_PARSE, "a member name %s holds a NUL character (\\u0000)",
                            member_of(w, at, sizeof at));
        restore = path_push(w, cJSON_IsObject(node) ? (child->string != NULL ? child->string : "") : NULL, index++);
        rc = walk(w, child);
        w->path[restore] = '\0';
        if (rc != 0)
            return -1;
    }
    return 0;
}

int m2m_json_check_members(const cJSON *doc, m2m_err *err)
{
    struct walk w = {.err = err, .nul_string = NO_STRING};
    return walk(&w, doc);
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

cJSON *m2m_json_parse_strict(const char *text, size_t len, m2m_err *err)
{
    struct walk w = {.err = err};
    const char *end = NULL;
    cJSON *doc = NULL;
    size_t at;

    if (text == NULL || len == 0) {
        m2m_fail(err, M2M_E_PARSE, "empty JSON text");
        goto fail;
    }
    if (scan(text, len, &w.nul_string) != 0) {
        m2m_fail(err, M2M_E_PARSE, "JSON nested deeper than %d levels", M2M_JSON_MAX_DEPTH);
        goto fail;
    }
    doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (doc == NULL) {
        at = end != NULL && end >= text ? (size_t)(end - text) : 0;
        m2m_fail(err, M2M_E_PARSE, "malformed JSON near offset %zu", at);
        goto fail;
    }
    while (end < text + len && json_space(*end))
        end++;
    if (end < text + len) {
        m2m_fail(err, M2M_E_PARSE, "trailing data after the JSON value (offset %zu)", (size_t)(end - text));
        goto fail;
    }
    if (walk(&w, doc) != 0)
        goto fail;
    if (w.nul_string != NO_STRING) {
        /* the scan saw a NUL the walk did not meet: cannot happen with a well-formed document, refused anyway */
        m2m_fail(err, M2M_E_PARSE, "a string holds a NUL character (\\u0000)");
        goto fail;
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}
