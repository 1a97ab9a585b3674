/* SPDX-License-Identifier: Apache-2.0 */
/* An attacker's tool for the tests: edits a TLS session file written by `openssl s_client -sess_out` the way an
 * eavesdropper could, who saw the ticket (sent in clear) but not the session's secret, before replaying it with
 * `-sess_in`. The ticket bytes are never changed (they are sealed by the Registrar); only what the client side
 * claims about them is.
 *
 *   m2m-sess-edit IN.pem OUT.pem [--zero-secret] [--version 1.2|1.3] [--cipher HEX]
 *
 * --zero-secret  replaces the master secret / resumption PSK with zeros (the attacker does not know it)
 * --version      claims the ticket belongs to TLS 1.2 or 1.3 (re-offer a ticket of one version in the other)
 * --cipher HEX   claims another suite, by its two-octet IANA number (1302 = TLS_AES_256_GCM_SHA384,
 *                c02b = ECDHE-ECDSA-AES128-GCM-SHA256)
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: m2m-sess-edit IN.pem OUT.pem [--zero-secret] [--version 1.2|1.3] [--cipher HEX]\n");
    return 2;
}

int main(int argc, char **argv)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    SSL_SESSION *s = NULL;
    FILE *in, *out;
    int rc = 1;

    if (argc < 3 || ssl == NULL)
        return usage();
    if ((in = fopen(argv[1], "r")) == NULL || (s = PEM_read_SSL_SESSION(in, NULL, NULL, NULL)) == NULL) {
        fprintf(stderr, "m2m-sess-edit: %s: no PEM SSL session\n", argv[1]);
        return 1;
    }
    fclose(in);
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--zero-secret") == 0) {
            unsigned char zero[SSL_MAX_MASTER_KEY_LENGTH] = {0};
            size_t n = SSL_SESSION_get_master_key(s, NULL, 0);
            if (n == 0 || n > sizeof zero || SSL_SESSION_set1_master_key(s, zero, n) != 1)
                goto fail;
        } else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (SSL_SESSION_set_protocol_version(s, strcmp(v, "1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION) != 1)
                goto fail;
        } else if (strcmp(argv[i], "--cipher") == 0 && i + 1 < argc) {
            unsigned long id = strtoul(argv[++i], NULL, 16);
            unsigned char b[2] = {(unsigned char)(id >> 8), (unsigned char)id};
            const SSL_CIPHER *c = SSL_CIPHER_find(ssl, b);
            if (c == NULL || SSL_SESSION_set_cipher(s, c) != 1) {
                fprintf(stderr, "m2m-sess-edit: unknown cipher %s\n", argv[i]);
                goto fail;
            }
        } else
            return usage();
    }
    if ((out = fopen(argv[2], "w")) == NULL || PEM_write_SSL_SESSION(out, s) != 1) {
        fprintf(stderr, "m2m-sess-edit: cannot write %s\n", argv[2]);
        goto fail;
    }
    fclose(out);
    rc = 0;
fail:
    if (rc != 0)
        ERR_print_errors_fp(stderr);
    SSL_SESSION_free(s);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return rc;
}
