/* SPDX-License-Identifier: Apache-2.0 */
/* Milenage, TS 35.206 section 4.1, written from the specification's equations:
 *   TEMP = E_K(RAND xor OPc)
 *   OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc, IN1 = SQN || AMF || SQN || AMF
 *   OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc, i = 2..5
 * with r1..r5 = 64, 0, 32, 64, 96 bits and c1..c5 = 0, 1, 2, 4, 8 in the last octet. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "crypto/milenage.h"

/* E_K of n blocks in place: one ECB context for all the blocks of a call. */
static int aes_blocks(const uint8_t k[16], uint8_t *blocks, int n, m2m_err *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok;

    ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k, NULL) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_EncryptUpdate(ctx, blocks, &len, blocks, 16 * n) == 1 &&
         len == 16 * n;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : m2m_fail(err, M2M_E_TLS, "Milenage: AES-128 is not available");
}

/* out = in rotated left by r bits, r a multiple of 8 (as Milenage's constants are). */
static void rot(const uint8_t in[16], int r, uint8_t out[16])
{
    for (int i = 0; i < 16; i++)
        out[i] = in[(i + r / 8) % 16];
}

int m2m_milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16], m2m_err *err)
{
    uint8_t b[16];
    memcpy(b, op, 16);
    if (aes_blocks(k, b, 1, err) != 0)
        return -1;
    for (int i = 0; i < 16; i++)
        opc[i] = b[i] ^ op[i];
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

int m2m_milenage_temp(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], uint8_t temp[16],
                      m2m_err *err)
{
    for (int i = 0; i < 16; i++)
        temp[i] = rand[i] ^ opc[i];
    return aes_blocks(k, temp, 1, err);
}

int m2m_milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t sqn[6],
                    const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8], m2m_err *err)
{
    uint8_t temp[16], in1[16], x[16], out[16];
    int rc = -1;

    if (m2m_milenage_temp(k, opc, rand, temp, err) != 0)
        goto done;
    memcpy(in1, sqn, 6);
    memcpy(in1 + 6, amf, 2);
    memcpy(in1 + 8, sqn, 6);
    memcpy(in1 + 14, amf, 2);
    for (int i = 0; i < 16; i++)
        x[i] = in1[i] ^ opc[i];
    rot(x, 64, out);
    for (int i = 0; i < 16; i++)
        out[i] ^= temp[i]; /* c1 = 0 */
    if (aes_blocks(k, out, 1, err) != 0)
        goto done;
    for (int i = 0; i < 16; i++)
        out[i] ^= opc[i];
    if (mac_a != NULL)
        memcpy(mac_a, out, 8);
    if (mac_s != NULL)
        memcpy(mac_s, out + 8, 8);
    rc = 0;
done:
    OPENSSL_cleanse(temp, sizeof temp);
    OPENSSL_cleanse(x, sizeof x);
    OPENSSL_cleanse(out, sizeof out);
    return rc;
}

int m2m_milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], uint8_t res[8],
                       uint8_t ck[16], uint8_t ik[16], uint8_t ak[6], uint8_t akstar[6], m2m_err *err)
{
    static const int R[4] = {0, 32, 64, 96};
    static const uint8_t C[4] = {1, 2, 4, 8};
    uint8_t temp[16], x[16], out[4][16];
    int rc = -1;

    if (m2m_milenage_temp(k, opc, rand, temp, err) != 0)
        goto done;
    for (int i = 0; i < 16; i++)
        x[i] = temp[i] ^ opc[i];
    for (int j = 0; j < 4; j++) {
        rot(x, R[j], out[j]);
        out[j][15] ^= C[j];
    }
    if (aes_blocks(k, &out[0][0], 4, err) != 0)
        goto done;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 16; i++)
            out[j][i] ^= opc[i];
    /* OUT2 gives AK (f5) and RES (f2); OUT3 CK; OUT4 IK; OUT5 AK* (f5*). */
    if (res != NULL)
        memcpy(res, out[0] + 8, 8);
    if (ak != NULL)
        memcpy(ak, out[0], 6);
    if (ck != NULL)
        memcpy(ck, out[1], 16);
    if (ik != NULL)
        memcpy(ik, out[2], 16);
    if (akstar != NULL)
        memcpy(akstar, out[3], 6);
    rc = 0;
done:
    OPENSSL_cleanse(temp, sizeof temp);
    OPENSSL_cleanse(x, sizeof x);
    OPENSSL_cleanse(out, sizeof out);
    return rc;
}
