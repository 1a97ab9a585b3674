/* SPDX-License-Identifier: Apache-2.0 */
/* PKI attachment on the Registrar (x.y.6 client certificate, x.y.7 identity token) against the real daemon: every
 * check with a positive and a negative case. Certificates are made here, in C, so that validity periods and
 * chains can be exactly what each case needs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static h_registrar r;
static char root_crt[400], reg_crt[400], reg_key[400], mfr_crt[400], mfr_key[400];

static const char *path(const char *name) { return h_path(r.dir, name); }

static int enrol_cert(const char *id, const char *crt, const char *chain_root)
{
    char hash[65];
    h_pubkey_hash(crt, hash);
    return h_sh("'%s' enrol cert --db '%s' --registree-id '%s' --pubkey-hash %s %s%s >/dev/null", h_bin(), r.db, id,
                hash, chain_root ? "--require-chain " : "", chain_root ? chain_root : "");
}

static int enrol_token(const char *id, const char *ttl, char token[64])
{
    char out[512] = "";
    char *p;
    if (h_sh_out(out, sizeof out, "'%s' enrol token --db '%s' --registree-id '%s' --ttl %s", h_bin(), r.db, id,
                 ttl) != 0)
        return -1;
    p = strstr(out, "\ntoken ");
    if (p == NULL || sscanf(p + 7, "%63s", token) != 1)
        return -1;
    return 0;
}

static int token_register(h_tls *t, const char *from, const char *token, h_resp *resp)
{
    char req[1024], body[] = "{\"m2m:ae\":{\"api\":\"Rtok\",\"rr\":false,\"srv\":[\"3\"]}}";
    int n = snprintf(req, sizeof req,
                     "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: t1\r\nX-M2M-RVI: 3\r\n%s%s%s%s%s"
                     "Content-Type: application/json;ty=2\r\nContent-Length: %zu\r\n\r\n%s",
                     from ? "X-M2M-Origin: " : "", from ? from : "", from ? "\r\n" : "",
                     token ? "Authorization: Bearer " : "", token ? token : "", strlen(body), body);
    if (token != NULL) {
        /* the Authorization header needs its own line end */
        n = snprintf(req, sizeof req,
                     "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: t1\r\nX-M2M-RVI: 3\r\n%s%s%s"
                     "Authorization: Bearer %s\r\nContent-Type: application/json;ty=2\r\nContent-Length: %zu\r\n\r\n%s",
                     from ? "X-M2M-Origin: " : "", from ? from : "", from ? "\r\n" : "", token, strlen(body), body);
    }
    if (h_raw(t, req, (size_t)n, resp) != 0)
        return -1;
    return resp->rsc;
}

static void client_certificates(void)
{
    /* OpenSSL's names for TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (oneM2M mandatory) and its GCM sibling */
    static const char *suites[] = {"ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", NULL};
    h_tls t;
    h_resp resp;

    /* enrolled self-signed certificate: TLS 1.2 with both mandated suites, and TLS 1.3 */
    for (int i = 0; i < 3; i++) {
        int v = suites[i] ? 12 : 13;
        CHECK(h_connect_cert(&t, r.port, root_crt, path("d1.crt"), path("d1.key"), v, suites[i]) == 0);
        if (i == 0)
            CHECK_EQ_INT(h_register_ae(&t, "Ccert1", "Rcert", &resp), 2001);
        CHECK(strcmp(SSL_get_cipher_name(t.ssl), suites[i] ? suites[i] : SSL_get_cipher_name(t.ssl)) == 0);
        CHECK(h_request(&t, "GET", "/~/in-cse/Ccert1", "Ccert1", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        /* bound like any other context */
        CHECK(h_request(&t, "GET", "/~/in-cse/Ccert1", "Ccert3", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 4106);
        h_close(&t);
    }
    /* unenrolled public key */
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d2.crt"), path("d2.key"), 12, NULL) != 0);
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d2.crt"), path("d2.key"), 13, NULL) != 0);
    /* enrolled hash, but not the private key */
    CHECK(h_connect_cert_wrong_key(&t, r.port, path("d1.crt"), 12) != 0);
    CHECK(h_connect_cert_wrong_key(&t, r.port, path("d1.crt"), 13) != 0);
    /* --require-chain: chained to the manufacturer root -> in */
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d3.crt"), path("d3.key"), 0, NULL) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Ccert3", "Rcert", &resp), 2001);
    h_close(&t);
    /* ... expired device certificate under that root -> out */
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d4.crt"), path("d4.key"), 12, NULL) != 0);
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d4.crt"), path("d4.key"), 13, NULL) != 0);
    /* ... a self-signed certificate where a chain is required -> out */
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d5.crt"), path("d5.key"), 0, NULL) != 0);
    /* an expired self-signed certificate, no chain required -> still out */
    CHECK(h_connect_cert(&t, r.port, root_crt, path("d6.crt"), path("d6.key"), 0, NULL) != 0);
    /* the same device still gets in with PSK-less, certificate-less TLS, but is not bound: 4107 */
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 0, NULL) == 0);
    CHECK(h_request(&t, "GET", "/~/in-cse/Ccert1", "Ccert1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4107);
    h_close(&t);
    CHECK(h_sh("grep -q 'reason=no enrolment for public-key hash' '%s'", r.log) == 0);

    /* A PSK client whose only TLS 1.3 suite cannot carry its PSK: the Registrar offers only SHA-256 TLS 1.3 suites,
     * so there is no handshake at all (it used to fall back to a certificate handshake). */
    CHECK(h_enrol(&r, "Cpskonly", "0f0e0d0c0b0a09080706050403020100") == 0);
    {
        h_tls p;
        h_psk_ciphersuites = "TLS_AES_256_GCM_SHA384";
        h_psk_allow_cert = 1;
        CHECK(h_connect_psk(&p, r.port, "Cpskonly", "0f0e0d0c0b0a09080706050403020100", 13) != 0);
        h_psk_ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
        CHECK(h_connect_psk(&p, r.port, "Cpskonly", "0f0e0d0c0b0a09080706050403020100", 13) == 0);
        CHECK(h_request(&p, "GET", "/~/in-cse", "Cpskonly", 0, NULL, &resp) == 0);
        CHECK(resp.rsc != 4107); /* bound by its PSK (not registered yet, so not 2000 either) */
        h_close(&p);
        h_psk_ciphersuites = NULL;
        h_psk_allow_cert = 0;
    }
    CHECK(h_sh("grep -q 'does not verify to the enrolled root' '%s'", r.log) == 0);
    CHECK(h_sh("grep -q 'certificate not backed by its private key' '%s'", r.log) == 0);
}

static void identity_tokens(void)
{
    char tok1[64], tok2[64], tok3[64], other[64];
    h_tls t;
    h_resp resp;

    CHECK(enrol_token("Ctok1", "1h", tok1) == 0);
    CHECK(enrol_token("Ctok2", "1s", tok2) == 0);
    CHECK(enrol_token("Ctok3", "1h", tok3) == 0);
    CHECK(enrol_token("Cother", "1h", other) == 0);

    for (int v = 12; v <= 13; v++) {
        /* any request but a registration on an unbound context: 4107, and it stays open */
        CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, v, NULL) == 0);
        CHECK(h_request(&t, "GET", "/~/in-cse", "Ctok1", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 4107);
        CHECK(h_request(&t, "POST", "/~/in-cse", "Ctok1", 3, "{\"m2m:cnt\":{}}", &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 4107);
        /* a registration without a token: 4107 too */
        CHECK_EQ_INT(token_register(&t, "Ctok1", NULL, &resp), 4107);
        /* a wrong token: 4106 and the connection is closed */
        CHECK_EQ_INT(token_register(&t, "Ctok1", "AAAAAAAAAAAAAAAAAAAAAA", &resp), 4106);
        CHECK(resp.closed);
        h_close(&t);
    }
    /* a token issued for another ID */
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 0, NULL) == 0);
    CHECK_EQ_INT(token_register(&t, "Ctok1", other, &resp), 4106);
    h_close(&t);
    /* expired (issued with --ttl 1s; the Registrar's clock moves on) */
    CHECK(h_clock_advance(&r, 2) == 0);
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 0, NULL) == 0);
    CHECK_EQ_INT(token_register(&t, "Ctok2", tok2, &resp), 4106);
    CHECK(strstr(resp.body, "expired") != NULL);
    h_close(&t);
    /* valid: binds the context, with From = the ID */
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 12, NULL) == 0);
    CHECK_EQ_INT(token_register(&t, "Ctok1", tok1, &resp), 2001);
    CHECK(strstr(resp.body, "\"aei\":\"Ctok1\"") != NULL);
    CHECK(h_request(&t, "GET", "/~/in-cse/Ctok1", "Ctok1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_request(&t, "GET", "/~/in-cse/Ctok1", "Ctok3", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    h_close(&t);
    /* reused */
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    CHECK_EQ_INT(token_register(&t, "Ctok1", tok1, &resp), 4106);
    CHECK(strstr(resp.body, "already used") != NULL);
    h_close(&t);
    /* valid with From absent: the token's ID is assigned; a bad body first does not burn the token */
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    {
        char req[512];
        int n = snprintf(req, sizeof req, "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: t\r\nAuthorization: Bearer "
                                          "%s\r\nContent-Type: application/json;ty=2\r\nContent-Length: 13\r\n\r\n"
                                          "{\"m2m:ae\":{}}", tok3);
        CHECK(h_raw(&t, req, (size_t)n, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 4000);
    }
    CHECK_EQ_INT(token_register(&t, NULL, tok3, &resp), 2001);
    CHECK(strstr(resp.body, "\"aei\":\"Ctok3\"") != NULL);
    h_close(&t);
    /* the store keeps hashes only */
    CHECK(h_sh("sqlite3 '%s' .dump | grep -q '%s'", r.db, tok1) != 0);
}

static void unbound_budget(void)
{
    h_tls t;
    char c;
    int n;
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 12, NULL) == 0);
    /* --handshake-timeout 2: an unbound context must present its token by then; the Registrar's clock moves 3 s
     * on, and its next once-a-second check closes the connection (the read below returns then) */
    CHECK(h_clock_advance(&r, 3) == 0);
    n = SSL_read(t.ssl, &c, 1);
    CHECK(n <= 0);
    h_close(&t);
}

int main(void)
{
    if (h_registrar_init(&r) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(mfr_crt, sizeof mfr_crt, "%s/mfr.crt", r.dir);
    snprintf(mfr_key, sizeof mfr_key, "%s/mfr.key", r.dir);
    if (h_registrar_pki(&r, root_crt, reg_crt, reg_key) != 0 ||
        h_make_cert(mfr_crt, mfr_key, "Manufacturer Root", NULL, NULL, NULL, 1, -60, 86400) != 0 ||
        h_make_cert(path("d1.crt"), path("d1.key"), "Ccert1", "URI:Ccert1", NULL, NULL, 0, -60, 86400) != 0 ||
        h_make_cert(path("d2.crt"), path("d2.key"), "Cstranger", NULL, NULL, NULL, 0, -60, 86400) != 0 ||
        h_make_cert(path("d3.crt"), path("d3.key"), "Ccert3", "URI:Ccert3", mfr_crt, mfr_key, 0, -60, 86400) != 0 ||
        h_make_cert(path("d4.crt"), path("d4.key"), "Ccert4", "URI:Ccert4", mfr_crt, mfr_key, 0, -7200, -3600) != 0 ||
        h_make_cert(path("d5.crt"), path("d5.key"), "Ccert5", "URI:Ccert5", NULL, NULL, 0, -60, 86400) != 0 ||
        h_make_cert(path("d6.crt"), path("d6.key"), "Ccert6", "URI:Ccert6", NULL, NULL, 0, -7200, -3600) != 0 ||
        enrol_cert("Ccert1", path("d1.crt"), NULL) != 0 || enrol_cert("Ccert3", path("d3.crt"), mfr_crt) != 0 ||
        enrol_cert("Ccert4", path("d4.crt"), mfr_crt) != 0 || enrol_cert("Ccert5", path("d5.crt"), mfr_crt) != 0 ||
        enrol_cert("Ccert6", path("d6.crt"), NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        h_registrar_cleanup(&r);
        return 1;
    }
    {
        char extra[1200];
        snprintf(extra, sizeof extra, "--cert '%s' --key '%s' --handshake-timeout 2", reg_crt, reg_key);
        if (h_registrar_start(&r, 2, extra) != 0) {
            h_registrar_cleanup(&r);
            return 1;
        }
    }
    /* enrolling a cert needs a 64-hex hash; a non-CA root for --require-chain is refused */
    CHECK(h_sh("'%s' enrol cert --db '%s' --registree-id Cx --pubkey-hash abc 2>/dev/null", h_bin(), r.db) == 2);
    CHECK(h_sh("'%s' enrol cert --db '%s' --registree-id Cx --pubkey-hash %064d --require-chain '%s' 2>/dev/null",
               h_bin(), r.db, 0, path("d1.crt")) != 0);

    client_certificates();
    identity_tokens();
    unbound_budget();
    /* revoking a certificate enrolment refuses the next handshake */
    CHECK(h_revoke(&r, "Ccert1") == 0);
    {
        h_tls t;
        CHECK(h_connect_cert(&t, r.port, root_crt, path("d1.crt"), path("d1.key"), 0, NULL) != 0);
    }
    CHECK_EQ_INT(h_registrar_stop(&r, SIGTERM), 0);
    h_registrar_cleanup(&r);
    return h_done("it_pki");
}
