/* SPDX-License-Identifier: Apache-2.0 */
/* The demo's HSS + BSF for x.y.5: its Zn certificates (a lab root for "localhost", the BSF's server certificate, the
 * Registrar's NAF client certificate), a store with one USIM subscriber whose K and OPc are fresh and written 0600
 * for the device, and the BSF itself on 127.0.0.1. The same code `m2mattach bsf` runs. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/demo.h"
#include "crypto/secret.h"
#include "pki/files.h"
#include "pki/pki.h"
#include "util/atomic_write.h"
#include "util/hex.h"

/* The Zn certificates: names under "localhost" (which resolves on every host) so that the NAF can check the BSF's
 * name in https://localhost:PORT, and the NAF's name in its certificate. */
static int zn_pki(const char *dir, m2m_err *err)
{
    EVP_PKEY *root_key = NULL, *bsf_key = NULL, *naf_key = NULL;
    X509 *root = NULL, *bsf = NULL, *naf = NULL;
    STACK_OF(X509) *one = sk_X509_new_null();
    m2m_pki_file f[5] = {0};
    int rc = -1;
    m2m_cert_spec root_spec = {.role = M2M_CERT_ROOT, .common_name = "m2mattach demo GBA Root",
                               .dns_name = "localhost", .days = 1};
    m2m_cert_spec bsf_spec = {.role = M2M_CERT_REGISTRAR, .common_name = "localhost", .dns_name = "localhost",
                              .uri = "/bsf", .days = 1};
    m2m_cert_spec naf_spec = {.role = M2M_CERT_DEVICE, .common_name = DEMO_NAF_FQDN, .uri = "/in-cse", .days = 1};

    if (one == NULL || (root_key = m2m_pki_keygen(err)) == NULL || (bsf_key = m2m_pki_keygen(err)) == NULL ||
        (naf_key = m2m_pki_keygen(err)) == NULL ||
        (root = m2m_pki_issue(&root_spec, root_key, NULL, NULL, err)) == NULL ||
        (bsf = m2m_pki_issue(&bsf_spec, bsf_key, root, root_key, err)) == NULL ||
        (naf = m2m_pki_issue(&naf_spec, naf_key, root, root_key, err)) == NULL ||
        m2m_pki_file_key(&f[0], dir, "bsf.key", bsf_key, err) != 0 ||
        m2m_pki_file_key(&f[1], dir, "naf.key", naf_key, err) != 0 || sk_X509_push(one, root) != 1 ||
        m2m_pki_file_certs(&f[2], dir, "gba-root.crt", one, err) != 0)
        goto done;
    sk_X509_set(one, 0, bsf);
    if (m2m_pki_file_certs(&f[3], dir, "bsf.crt", one, err) != 0)
        goto done;
    sk_X509_set(one, 0, naf);
    if (m2m_pki_file_certs(&f[4], dir, "naf.crt", one, err) != 0 || m2m_pki_files_write(f, 5, 0, err) != 0)
        goto done;
    rc = 0;
done:
    for (int i = 0; i < 5; i++)
        m2m_pki_file_clear(&f[i]);
    sk_X509_free(one);
    X509_free(root);
    X509_free(bsf);
    X509_free(naf);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(bsf_key);
    EVP_PKEY_free(naf_key);
    return rc;
}

/* A fresh 16-octet secret, written as hex to dir/name (0600) for the device's details file. */
static int usim_secret(const char *dir, const char *name, unsigned char out[16], m2m_err *err)
{
    m2m_secret s = {0};
    char path[256], hex[40];
    int rc;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (m2m_secret_random(&s, 16, err) != 0)
        return -1;
    memcpy(out, s.bytes, 16);
    m2m_hex_encode(s.bytes, 16, hex);
    strcat(hex, "\n");
    rc = m2m_write_atomic(path, hex, strlen(hex), 0600, M2M_WRITE_NO_CLOBBER, NULL, err);
    m2m_wipe(hex, sizeof hex);
    m2m_secret_clear(&s);
    return rc;
}

int demo_gba_start(const char *dir, demo_gba *g, m2m_err *err)
{
    static const unsigned char amf[2] = {0x80, 0x00};
    unsigned char k[16], opc[16];
    char crt[160], key[160], root[160];
    mode_t old = umask(077);
    int rc = -1;

    memset(g, 0, sizeof *g);
    snprintf(g->db, sizeof g->db, "%s/bsf.db", dir);
    snprintf(g->log_path, sizeof g->log_path, "%s/bsf.log", dir);
    snprintf(g->impi, sizeof g->impi, "001010000000001@ims.mnc001.mcc001.3gppnetwork.org");
    snprintf(crt, sizeof crt, "%s/bsf.crt", dir);
    snprintf(key, sizeof key, "%s/bsf.key", dir);
    snprintf(root, sizeof root, "%s/gba-root.crt", dir);
    if (zn_pki(dir, err) != 0 || m2m_bsf_init_store(g->db, "bsf.m2m.localhost", err) != 0 ||
        usim_secret(dir, "usim.k", k, err) != 0 || usim_secret(dir, "usim.opc", opc, err) != 0 ||
        m2m_bsf_subscriber_add(g->db, g->impi, k, NULL, opc, 0, amf, err) != 0)
        goto done;
    if ((g->log = fopen(g->log_path, "w")) == NULL) {
        m2m_fail(err, M2M_E_IO, "%s: cannot write", g->log_path);
        goto done;
    }
    {
        m2m_bsf_config cfg = {.db = g->db, .ub_host = "127.0.0.1", .ub_port = "0", .zn_host = "127.0.0.1",
                              .zn_port = "0", .zn_cert = crt, .zn_key = key, .zn_client_root = root,
                              .lifetime = 3600, .log = g->log};
        if ((g->bsf = m2m_bsf_start(&cfg, err)) == NULL)
            goto done;
    }
    g->ub_port = m2m_bsf_ub_port(g->bsf);
    g->zn_port = m2m_bsf_zn_port(g->bsf);
    rc = 0;
done:
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(opc, sizeof opc);
    umask(old);
    return rc;
}

void demo_gba_stop(demo_gba *g)
{
    m2m_bsf_stop(g->bsf);
    g->bsf = NULL;
    if (g->log != NULL)
        fclose(g->log);
    g->log = NULL;
}
