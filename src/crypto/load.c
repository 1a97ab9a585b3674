/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate and key files through OSSL_STORE (load.h). Shaped as it is because: OSSL_STORE is attached to a
 * memory BIO over a buffer the bounded reader filled, not opened on the path, so the size limit holds and the
 * buffer holding a private key is wiped after (OpenSSL's file loader would read the file itself); a passphrase
 * request is answered by a callback that only records it, which is how an encrypted key is told from a damaged
 * one without ever decrypting; and OpenSSL's error queue is restored afterwards, because the decoders' trial
 * parses leave errors there that the next TLS call would trip over. */
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <string.h>

#include "crypto/load.h"
#include "util/file.h"

/* More objects than a 1 MiB file can hold: a guard against a loader that would report errors without advancing. */
#define LOAD_MAX_OBJECTS 65536

/* Counts the requests: a change across one OSSL_STORE_load is an encrypted key met there. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    if (u != NULL)
        *(int *)u += 1;
    return -1;
}

/* How many PEM blocks buf holds (RFC 7468 encapsulation boundaries). */
static size_t begins(const unsigned char *buf, size_t len)
{
    static const char B[] = "-----BEGIN ";
    const unsigned char *p = buf, *end = buf + len, *hit;
    size_t n = 0;
    while (p < end && (hit = memmem(p, (size_t)(end - p), B, sizeof B - 1)) != NULL) {
        n++;
        p = hit + sizeof B - 1;
    }
    return n;
}

void m2m_loaded_free(m2m_loaded *l)
{
    if (l == NULL)
        return;
    sk_X509_pop_free(l->certs, X509_free);
    EVP_PKEY_free(l->key);
    EVP_PKEY_free(l->pubkey);
    memset(l, 0, sizeof *l);
}

/* Keeps the first object of each kind (every certificate), and which kind came first. */
static int take(m2m_loaded *out, OSSL_STORE_INFO *info)
{
    int type = OSSL_STORE_INFO_get_type(info);
    m2m_loaded_kind kind = type == OSSL_STORE_INFO_CERT   ? M2M_LOADED_CERT
                         : type == OSSL_STORE_INFO_PKEY   ? M2M_LOADED_KEY
                         : type == OSSL_STORE_INFO_PUBKEY ? M2M_LOADED_PUBKEY
                                                          : M2M_LOADED_NONE;
    EVP_PKEY **slot = kind == M2M_LOADED_KEY ? &out->key : &out->pubkey;

    if (kind == M2M_LOADED_NONE)
        return 0; /* parameters (openssl ecparam -genkey), CRLs, names: not ours */
    if (kind == M2M_LOADED_CERT) {
        X509 *x = OSSL_STORE_INFO_get1_CERT(info);
        if (x == NULL || (out->certs == NULL && (out->certs = sk_X509_new_null()) == NULL) ||
            sk_X509_push(out->certs, x) <= 0) {
            X509_free(x);
            return -1;
        }
    } else if (*slot == NULL) {
        *slot = kind == M2M_LOADED_KEY ? OSSL_STORE_INFO_get1_PKEY(info) : OSSL_STORE_INFO_get1_PUBKEY(info);
        if (*slot == NULL)
            return -1;
    }
    if (out->first == M2M_LOADED_NONE)
        out->first = kind;
    return 0;
}

int m2m_load_mem(const unsigned char *buf, size_t len, m2m_loaded *out, m2m_err *err)
{
    UI_METHOD *ui = NULL;
    OSSL_STORE_CTX *store = NULL;
    BIO *bio = NULL;
    int rc = -1, asked = 0, failed = 0;
    size_t objects = 0;

    memset(out, 0, sizeof *out);
    ERR_set_mark();
    if (len == 0 || len > INT_MAX) {
        out->damaged = 1;
        rc = 0;
        goto done;
    }
    ui = UI_UTIL_wrap_read_pem_callback(no_passphrase, 0);
    bio = BIO_new_mem_buf(buf, (int)len);
    if (ui == NULL || bio == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        goto done;
    }
    store = OSSL_STORE_attach(bio, "file", NULL, NULL, ui, &asked, NULL, NULL, NULL);
    if (store == NULL) {
        out->damaged = 1;
        rc = 0;
        goto done;
    }
    for (int i = 0; i < LOAD_MAX_OBJECTS && !OSSL_STORE_eof(store); i++) {
        int asked_before = asked;
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);
        if (info == NULL) {
            /* an encrypted key (the callback was asked) or something undecodable; the next object may be fine */
            if (OSSL_STORE_error(store) && asked == asked_before)
                failed = 1;
            else if (asked != asked_before)
                objects++;
            continue;
        }
        objects++;
        if (take(out, info) != 0) {
            OSSL_STORE_INFO_free(info);
            m2m_fail(err, M2M_E_NOMEM, "out of memory");
            goto done;
        }
        OSSL_STORE_INFO_free(info);
    }
    out->encrypted = asked != 0;
    /* OSSL_STORE also reports text after the last PEM block (a comment) as an error, which PEM_read never did:
     * only a BEGIN line that gave no object, or DER that gave nothing, is damage. */
    out->damaged = failed && (begins(buf, len) > objects || objects == 0);
    rc = 0;
done:
    OSSL_STORE_close(store);
    BIO_free(bio);
    UI_destroy_method(ui);
    ERR_pop_to_mark();
    if (rc != 0)
        m2m_loaded_free(out);
    return rc;
}

int m2m_load_file(const char *path, m2m_loaded *out, m2m_err *err)
{
    m2m_file_buf f;
    int rc;

    memset(out, 0, sizeof *out);
    if (m2m_file_read(path, M2M_SMALL_FILE_MAX, 0, &f, err) != 0)
        return -1;
    rc = m2m_load_mem(f.data, f.len, out, err);
    m2m_file_buf_free(&f); /* it may have held a private key */
    return rc;
}
