/* Registree credentials for the benchmark client and the ceiling server: an ID, its PSK, and the key ID that is
 * the psk_identity (computed with the library's key-ID formula unless given). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "m2mattach/keyid.h"
#include "util/hex.h"

int bench_creds_add(bench_creds *c, const char *id, const char *key_hex, const char *key_id)
{
    bench_cred *nv, *e;
    m2m_err err = {0};

    if ((c->n & (c->n - 1)) == 0) { /* grow at powers of two */
        nv = realloc(c->v, (c->n ? 2 * c->n : 1) * sizeof *nv);
        if (nv == NULL)
            return -1;
        c->v = nv;
    }
    e = &c->v[c->n];
    memset(e, 0, sizeof *e);
    if (strlen(id) >= sizeof e->id) {
        fprintf(stderr, "m2m-bench: Registree ID '%.40s...' too long\n", id);
        return -1;
    }
    snprintf(e->id, sizeof e->id, "%s", id);
    if (m2m_hex_decode(key_hex, e->key, sizeof e->key, &e->key_len, "key", &err) != 0) {
        fprintf(stderr, "m2m-bench: %s: %s\n", id, err.msg);
        return -1;
    }
    if (key_id != NULL && key_id[0] != '\0') {
        if (strlen(key_id) != 32) {
            fprintf(stderr, "m2m-bench: %s: key ID must be 32 hex characters\n", id);
            return -1;
        }
        memcpy(e->key_id, key_id, 33);
    } else if (m2m_keyid(m2m_key_kind_for_id(id), e->key, e->key_len, e->key_id, &err) != 0) {
        fprintf(stderr, "m2m-bench: %s: %s\n", id, err.msg);
        return -1;
    }
    c->n++;
    return 0;
}

/* One Registree per line: "ID KEYHEX [KEYID]"; '#' starts a comment. */
int bench_creds_load(bench_creds *c, const char *path, long max)
{
    FILE *f = fopen(path, "r");
    char line[512];
    long lineno = 0;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL && (max <= 0 || (long)c->n < max)) {
        char *id, *key, *kid, *save = NULL;
        lineno++;
        if (line[0] == '#')
            continue;
        id = strtok_r(line, " \t\r\n", &save);
        if (id == NULL)
            continue;
        key = strtok_r(NULL, " \t\r\n", &save);
        kid = strtok_r(NULL, " \t\r\n", &save);
        if (key == NULL) {
            fprintf(stderr, "m2m-bench: %s:%ld: expected 'ID KEYHEX [KEYID]'\n", path, lineno);
            fclose(f);
            return -1;
        }
        if (bench_creds_add(c, id, key, kid) != 0) {
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    if (c->n == 0) {
        fprintf(stderr, "m2m-bench: %s holds no credentials\n", path);
        return -1;
    }
    return 0;
}

int bench_creds_from_opts(bench_creds *c, const bench_opts *o)
{
    if (o->ids_file != NULL)
        return bench_creds_load(c, o->ids_file, o->count);
    if (o->id != NULL && o->key_hex != NULL)
        return bench_creds_add(c, o->id, o->key_hex, NULL);
    fprintf(stderr, "m2m-bench: give --id ID --key HEX or --ids-file FILE\n");
    return -1;
}

const bench_cred *bench_creds_find(const bench_creds *c, const char *key_id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key_id, key_id) == 0)
            return &c->v[i];
    return NULL;
}

void bench_creds_free(bench_creds *c)
{
    for (size_t i = 0; i < c->n; i++) {
        SSL_SESSION_free(c->v[i].sess13);
        OPENSSL_cleanse(c->v[i].key, sizeof c->v[i].key);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
