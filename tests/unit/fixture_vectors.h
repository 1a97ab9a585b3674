/* SPDX-License-Identifier: Apache-2.0 */
/* Reads the known-answer files of ../shared/vectors: "[name]" sections of "field = hex" lines, '#' comments.
 * Header-only (static inline). */
#ifndef M2M_TEST_FIXTURE_VECTORS_H
#define M2M_TEST_FIXTURE_VECTORS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define VEC_FIELDS 24
#define VEC_SECTIONS 16

typedef struct vec_section {
    char name[64];
    int n;
    char field[VEC_FIELDS][64];
    char value[VEC_FIELDS][512];
} vec_section;

/* Loads every section of file (in $M2M_VECTORS) into out; returns how many. */
static inline int vec_load(const char *file, vec_section *out, int max)
{
    char path[1024], line[1024];
    const char *dir = getenv("M2M_VECTORS");
    int n = -1;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "../shared/vectors", file);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        char name[64], value[512];
        if (line[0] == '[' && sscanf(line, "[%63[^]]]", name) == 1) {
            assert_true(n + 1 < max);
            n++;
            memset(&out[n], 0, sizeof out[n]);
            snprintf(out[n].name, sizeof out[n].name, "%s", name);
        } else if (n >= 0 && line[0] != '#' && sscanf(line, "%63s = %511s", name, value) == 2) {
            vec_section *s = &out[n];
            assert_true(s->n < VEC_FIELDS);
            snprintf(s->field[s->n], sizeof s->field[s->n], "%s", name);
            snprintf(s->value[s->n], sizeof s->value[s->n], "%s", value);
            s->n++;
        }
    }
    fclose(f);
    return n + 1;
}

/* The hex value of field decoded into out (exactly want octets unless want == 0); returns the length. */
static inline size_t vec_bytes(const vec_section *s, const char *field, uint8_t *out, size_t cap, size_t want)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->field[i], field) == 0) {
            size_t len = strlen(s->value[i]) / 2;
            assert_true(len <= cap);
            for (size_t j = 0; j < len; j++) {
                unsigned v;
                assert_int_equal(sscanf(s->value[i] + 2 * j, "%2x", &v), 1);
                out[j] = (uint8_t)v;
            }
            if (want)
                assert_int_equal(len, want);
            return len;
        }
    fail_msg("vector %s has no field %s", s->name, field);
    return 0;
}

/* The field's hex decoded as a NUL-terminated string. */
static inline void vec_text(const vec_section *s, const char *field, char *out, size_t cap)
{
    size_t n = vec_bytes(s, field, (uint8_t *)out, cap - 1, 0);
    out[n] = '\0';
}

#endif
