/* SPDX-License-Identifier: Apache-2.0 */
/* The demo's certificates, made with the same lab-PKI code as `m2mattach pki`. */
#include <stdio.h>

#include "cli/demo.h"
#include "crypto/pubkey_hash.h"
#include "pki/files.h"
#include "pki/pki.h"

int demo_make_pki(const char *dir, const char *device_id, const char *device_file, char pubkey_hash[65],
                  m2m_err *err)
{
    EVP_PKEY *root_key = NULL, *reg_key = NULL, *dev_key = NULL;
    X509 *root = NULL, *reg = NULL, *dev = NULL;
    STACK_OF(X509) *one = sk_X509_new_null();
    m2m_pki_file files[6] = {0};
    char name[96];
    int rc = -1;
    m2m_cert_spec root_spec = {.role = M2M_CERT_ROOT, .common_name = "m2mattach demo Registrar Root",
                               .dns_name = "m2m.localhost", .days = 1};
    m2m_cert_spec reg_spec = {.role = M2M_CERT_REGISTRAR, .common_name = "in-cse.m2m.localhost",
                              .dns_name = "in-cse.m2m.localhost", .uri = "/in-cse", .days = 1};
    m2m_cert_spec dev_spec = {.role = M2M_CERT_DEVICE, .common_name = device_id, .uri = device_id, .days = 1};

    if (one == NULL || (root_key = m2m_pki_keygen(err)) == NULL || (reg_key = m2m_pki_keygen(err)) == NULL ||
        (dev_key = m2m_pki_keygen(err)) == NULL ||
        (root = m2m_pki_issue(&root_spec, root_key, NULL, NULL, err)) == NULL ||
        (reg = m2m_pki_issue(&reg_spec, reg_key, root, root_key, err)) == NULL ||
        (dev = m2m_pki_issue(&dev_spec, dev_key, NULL, NULL, err)) == NULL)
        goto done;
    if (m2m_pki_file_key(&files[0], dir, "root.key", root_key, err) != 0 ||
        m2m_pki_file_key(&files[1], dir, "registrar.key", reg_key, err) != 0)
        goto done;
    snprintf(name, sizeof name, "%s.key", device_file);
    if (m2m_pki_file_key(&files[2], dir, name, dev_key, err) != 0)
        goto done;
    sk_X509_push(one, root);
    if (m2m_pki_file_certs(&files[3], dir, "root.crt", one, err) != 0)
        goto done;
    sk_X509_set(one, 0, reg);
    if (m2m_pki_file_certs(&files[4], dir, "registrar.crt", one, err) != 0)
        goto done;
    sk_X509_set(one, 0, dev);
    snprintf(name, sizeof name, "%s.crt", device_file);
    if (m2m_pki_file_certs(&files[5], dir, name, one, err) != 0 || m2m_pki_files_write(files, 6, 0, err) != 0 ||
        m2m_pubkey_hash_x509(dev, pubkey_hash, err) != 0)
        goto done;
    rc = 0;
done:
    for (size_t i = 0; i < 6; i++)
        m2m_pki_file_clear(&files[i]);
    sk_X509_free(one); /* the certificates are freed below */
    X509_free(root);
    X509_free(reg);
    X509_free(dev);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(reg_key);
    EVP_PKEY_free(dev_key);
    return rc;
}
