/* SPDX-License-Identifier: Apache-2.0 */
/* Registree credentials for the benchmark client and the ceiling server: an ID and its PSK, with the key ID that
 * is the psk_identity (computed with the library's key-ID formula unless given); or a device certificate and key;
 * or an identity token. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "m2mattach/keyid.h"
#include "util/hex.h"

static bench_cred *creds_grow(bench_creds *c, const char *id);

int bench_creds_add(bench_creds *c, const char *id, const char *key_hex, const char *key_id)
{
    bench_cred *e = creds_grow(c, id);
    m2m_err err = {0};

    if (e == NULL)
        return -1;
    if (m2m_hex_decode(key_hex, e->key, sizeof e->key, &e->key_len, "key", &err) != 0) {
        fprintf(stderr, "m2m-bench: %s: %s\n", id, err.msg);
        return -1;
    }
    if (key_id != NULL && key_id[0] != '\0') {
        int gba = strncmp(key_id, "3GPP-bootstrapping.", 19) == 0;
        if (gba ? strlen(key_id) >= sizeof e->key_id : strlen(key_id) != 32) {
            fprintf(stderr, "m2m-bench: %s: key ID must be 32 hex characters (or a GBA identity "
                            "3GPP-bootstrapping.B-TID)\n", id);
            return -1;
        }
        snprintf(e->key_id, sizeof e->key_id, "%s", key_id);
    } else if (m2m_keyid(m2m_key_kind_for_id(id), e->key, e->key_len, e->key_id, &err) != 0) {
        fprintf(stderr, "m2m-bench: %s: %s\n", id, err.msg);
        return -1;
    }
    c->n++;
    return 0;
}

static bench_cred *creds_grow(bench_creds *c, const char *id)
{
    bench_cred *nv, *e;
    if ((c->n & (c->n - 1)) == 0) { /* grow at powers of two */
        nv = realloc(c->v, (c->n ? 2 * c->n : 1) * sizeof *nv);
        if (nv == NULL)
            return NULL;
        c->v = nv;
    }
    e = &c->v[c->n];
    memset(e, 0, sizeof *e);
    if (strlen(id) >= sizeof e->id) {
        fprintf(stderr, "m2m-bench: Registree ID '%.40s...' too long\n", id);
        return NULL;
    }
    snprintf(e->id, sizeof e->id, "%s", id);
    return e;
}

int bench_creds_add_cert(bench_creds *c, const char *id, const char *cert_file, const char *key_file)
{
    bench_cred *e = creds_grow(c, id);
    FILE *f;
    if (e == NULL)
        return -1;
    if ((f = fopen(cert_file, "r")) != NULL) {
        e->cert = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if ((f = fopen(key_file, "r")) != NULL) {
        e->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (e->cert == NULL || e->pkey == NULL || X509_check_private_key(e->cert, e->pkey) != 1) {
        fprintf(stderr, "m2m-bench: %s: cannot use certificate %s with key %s\n", id, cert_file, key_file);
        X509_free(e->cert);
        EVP_PKEY_free(e->pkey);
        return -1;
    }
    c->n++;
    return 0;
}

int bench_creds_add_token(bench_creds *c, const char *id, const char *token)
{
    bench_cred *e = creds_grow(c, id);
    if (e == NULL)
        return -1;
    if (strlen(token) >= sizeof e->token) {
        fprintf(stderr, "m2m-bench: %s: token too long\n", id);
        return -1;
    }
    snprintf(e->token, sizeof e->token, "%s", token);
    c->n++;
    return 0;
}

/* One Registree per line; '#' starts a comment. psk: "ID KEYHEX [KEYID or GBA IDENTITY]"; cert: "ID CERTFILE KEYFILE";
 * token: "ID TOKEN". */
int bench_creds_load(bench_creds *c, const char *path, long max, int mech)
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
        if (key == NULL || (mech == MECH_CERT && kid == NULL)) {
            fprintf(stderr, "m2m-bench: %s:%ld: expected '%s'\n", path, lineno,
                    mech == MECH_CERT ? "ID CERTFILE KEYFILE" : mech == MECH_TOKEN ? "ID TOKEN" : "ID KEYHEX [KEYID]");
            fclose(f);
            return -1;
        }
        if ((mech == MECH_CERT    ? bench_creds_add_cert(c, id, key, kid)
             : mech == MECH_TOKEN ? bench_creds_add_token(c, id, key)
                                  : bench_creds_add(c, id, key, kid)) != 0) {
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
        return bench_creds_load(c, o->ids_file, o->count, o->mech);
    if (o->mech != MECH_PSK) {
        fprintf(stderr, "m2m-bench: --mech cert and token need --ids-file\n");
        return -1;
    }
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
        X509_free(c->v[i].cert);
        EVP_PKEY_free(c->v[i].pkey);
        OPENSSL_cleanse(c->v[i].key, sizeof c->v[i].key);
        OPENSSL_cleanse(c->v[i].token, sizeof c->v[i].token);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
