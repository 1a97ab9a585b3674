/* SPDX-License-Identifier: Apache-2.0 */
/* What the harnesses of the two strict decoders (json_strict.c, cbor.c) check their trees with. */
#ifndef M2M_FUZZ_JSON_H
#define M2M_FUZZ_JSON_H

#include <cjson/cJSON.h>
#include <string.h>

/* A member name twice in some object of the tree. Quadratic per object: fine for fuzz-sized inputs. */
static inline int fuzz_has_duplicates(const cJSON *node)
{
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, node) {
        if (cJSON_IsObject(node))
            for (b = node->child; b != a; b = b->next)
                if (strcmp(a->string, b->string) == 0)
                    return 1;
        if (fuzz_has_duplicates(a))
            return 1;
    }
    return 0;
}

/* Both trees printed the same. Not cJSON_Compare: it calls two infinities different, and it looks each member up
 * from both sides at every level, exponential in the depth of nested objects (the fuzzer finds such inputs). */
static inline int fuzz_same_tree(const cJSON *a, const cJSON *b)
{
    char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);
    int eq = pa != NULL && pb != NULL && strcmp(pa, pb) == 0;
    cJSON_free(pa);
    cJSON_free(pb);
    return eq;
}

#endif
