/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 2617 3.2.2.1 with RFC 3310 3.3: the AKA password is RES itself, so HA1 is computed over raw octets. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "crypto/digest_aka.h"
#include "util/hex.h"

/* MD5 over the parts joined by ':' into 32 hex characters. */
static int md5_hex(const void *const *parts, const size_t *lens, int n, char out[33])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[16];
    unsigned int mdlen = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;

    for (int i = 0; ok && i < n; i++)
        ok = (i == 0 || EVP_DigestUpdate(ctx, ":", 1) == 1) && EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
    EVP_MD_CTX_free(ctx);
    if (ok)
        m2m_hex_encode(md, 16, out);
    OPENSSL_cleanse(md, sizeof md);
    return ok ? 0 : -1;
}

int m2m_digest_response(const m2m_digest_input *in, char out[M2M_DIGEST_HEX_LEN + 1], m2m_err *err)
{
    char ha1[33], ha2[33], hbody[33];
    int auth_int, rc = -1;

    if (in->qop == NULL || (strcmp(in->qop, "auth") != 0 && strcmp(in->qop, "auth-int") != 0))
        return m2m_fail(err, M2M_E_ARG, "digest qop must be auth or auth-int");
    auth_int = strcmp(in->qop, "auth-int") == 0;
    {
        const void *p[3] = {in->username, in->realm, in->password};
        size_t l[3] = {strlen(in->username), strlen(in->realm), in->password_len};
        if (md5_hex(p, l, 3, ha1) != 0)
            goto done;
    }
    if (auth_int) {
        const void *p[1] = {in->body ? in->body : ""};
        size_t l[1] = {in->body ? in->body_len : 0};
        const void *q[3] = {in->method, in->uri, hbody};
        size_t m[3] = {strlen(in->method), strlen(in->uri), 32};
        if (md5_hex(p, l, 1, hbody) != 0 || md5_hex(q, m, 3, ha2) != 0)
            goto done;
    } else {
        const void *q[2] = {in->method, in->uri};
        size_t m[2] = {strlen(in->method), strlen(in->uri)};
        if (md5_hex(q, m, 2, ha2) != 0)
            goto done;
    }
    {
        const void *p[6] = {ha1, in->nonce, in->nc, in->cnonce, in->qop, ha2};
        size_t l[6] = {32, strlen(in->nonce), strlen(in->nc), strlen(in->cnonce), strlen(in->qop), 32};
        if (md5_hex(p, l, 6, out) != 0)
            goto done;
    }
    rc = 0;
done:
    OPENSSL_cleanse(ha1, sizeof ha1);
    if (rc != 0)
        m2m_fail(err, M2M_E_TLS, "MD5 is not available for HTTP Digest");
    return rc;
}
