/* SPDX-License-Identifier: Apache-2.0 */
/* Attacks on what a DTLS handshake proved. First the session-ticket attacks of tests/interop/ticket_attacks.sh
 * (issue 7: a ticket OpenSSL decrypted but did not resume once bound the connection to the ticket's Registree),
 * now over DTLS 1.2 on the CoAPS listener: the
 * attacker saw a victim's ticket in clear (DTLS tickets travel in clear too), does not know its secret, and
 * offers it with the secret zeroed, on another suite, with a suite claimed otherwise, with its own key, and as a
 * TLS ticket re-offered over DTLS (HTTPS and CoAPS tickets are sealed with the same store keys) and back. Every
 * attack must end in a refused handshake or a context not bound to the victim: a request as the victim answered
 * 4107 (unbound) or 4106 (bound to the attacker), never 2xxx; a <keyGeneration> on such a context refused; no
 * attachment of the victim logged or counted while the attacks run. The victims still get in afterwards. Then a
 * second handshake on a bound session (renegotiation), which would change what the session proved after the
 * binding was decided: refused. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtls_client.h"
#include "harness.h"

static h_registrar r;
static char root_crt[400], reg_crt[400], reg_key[400], dev_crt[400], dev_key[400];
static const char KV[] = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0"; /* Cvictim */
static const char KO[] = "b1b2b3b4b5b6b7b8b9babbbcbdbebfc0"; /* Cother, the attacker's own enrolment */
static const char RESUMED[] = "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\",binding=\"coap\"}";
static const char CERT_RESUMED[] = "m2m_handshakes_total{mechanism=\"cert\",kind=\"resumed\",binding=\"coap\"}";

static const char *path(const char *name) { return h_path(r.dir, name); }

/* What an eavesdropper can make of a ticket: the same sealed bytes, the secret it does not know zeroed, and
 * optionally another suite (IANA number, 0: keep) or protocol version (0: keep) claimed for it. */
static SSL_SESSION *forged(SSL_SESSION *seen, unsigned suite, int version)
{
    unsigned char zero[SSL_MAX_MASTER_KEY_LENGTH] = {0};
    SSL_SESSION *s = SSL_SESSION_dup(seen);
    size_t n = s != NULL ? SSL_SESSION_get_master_key(s, NULL, 0) : 0;
    if (s == NULL || n == 0 || n > sizeof zero || SSL_SESSION_set1_master_key(s, zero, n) != 1)
        goto fail;
    if (suite != 0) {
        SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
        SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
        unsigned char b[2] = {(unsigned char)(suite >> 8), (unsigned char)suite};
        const SSL_CIPHER *c = ssl != NULL ? SSL_CIPHER_find(ssl, b) : NULL;
        int ok = c != NULL && SSL_SESSION_set_cipher(s, c) == 1;
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        if (!ok)
            goto fail;
    }
    if (version != 0 && SSL_SESSION_set_protocol_version(s, version) != 1)
        goto fail;
    return s;
fail:
    fprintf(stderr, "could not forge a session (suite %04x, version %04x)\n", suite, (unsigned)version);
    SSL_SESSION_free(s);
    return NULL;
}

static void random_key(char hex[33])
{
    unsigned char k[16];
    RAND_bytes(k, sizeof k);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
}

/* The attack's outcome: passes when the handshake was refused (connected != 0) or when a request speaking as
 * victim on the context it got is refused as unbound (4107) or as another's (4106). */
static void verdict(const char *name, int connected, h_dtls *t, const char *victim)
{
    h_coap_resp resp;
    char target[64];
    if (connected != 0) {
        fprintf(stderr, "ok   %s: handshake refused\n", name);
        return;
    }
    snprintf(target, sizeof target, "~/in-cse/%s", victim);
    if (h_coap_request(t, "GET", target, victim, 0, NULL, NULL, &resp) != 0) {
        fprintf(stderr, "ok   %s: no answer on the attacker's context\n", name);
    } else if (resp.rsc == 4107 || resp.rsc == 4106) {
        fprintf(stderr, "ok   %s: %d, reused=%d\n", name, resp.rsc, SSL_session_reused(t->ssl));
    } else {
        fprintf(stderr, "FAIL %s: the attacker was answered %d (reused=%d) speaking as %s\n", name, resp.rsc,
                SSL_session_reused(t->ssl), victim);
        h_failures++;
    }
    h_dtls_close(t);
}

int main(void)
{
    h_dtls t;
    h_tls tls;
    h_coap_resp resp;
    h_resp hresp;
    SSL_SESSION *victim_dtls = NULL, *cert_dtls = NULL, *victim_tls = NULL, *victim_noems = NULL;
    char hash[65], kid_v[33], wrong[33], log_before[32] = "", log_after[32] = "";
    long long resumed, cert_resumed;
    char args[1600];

    if (h_registrar_init(&r) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    snprintf(dev_crt, sizeof dev_crt, "%s/dev.crt", r.dir);
    snprintf(dev_key, sizeof dev_key, "%s/dev.key", r.dir);
    if (h_registrar_pki(&r, root_crt, reg_crt, reg_key) != 0 ||
        h_make_cert(dev_crt, dev_key, "Ccert", "URI:Ccert", NULL, NULL, 0, -60, 86400) != 0 ||
        h_enrol(&r, "Cvictim", KV) != 0 || h_enrol(&r, "Cother", KO) != 0) {
        fprintf(stderr, "setup failed\n");
        h_registrar_cleanup(&r);
        return 1;
    }
    h_pubkey_hash(dev_crt, hash);
    snprintf(args, sizeof args, "--cert '%s' --key '%s' --coaps 127.0.0.1:0 --handshake-timeout 5", reg_crt, reg_key);
    if (h_sh("'%s' enrol cert --db '%s' --registree-id Ccert --pubkey-hash %s >/dev/null", h_bin(), r.db, hash) != 0 ||
        h_registrar_start(&r, 1, args) != 0 || r.coaps_port <= 0) {
        fprintf(stderr, "setup failed\n");
        h_registrar_cleanup(&r);
        return 1;
    }
    h_keyid("Cvictim", KV, kid_v);

    /* --- the victims attach legitimately; the eavesdropper records their tickets ------------------------------- */
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cvictim", KV) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Cvictim", "Rvictim", &resp), 2001);
    victim_dtls = h_dtls_session(&t);
    h_dtls_close(&t);
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, dev_crt, dev_key) == 0);
    CHECK_EQ_INT(h_coap_register_ae(&t, "Ccert", "Rcert", &resp), 2001);
    cert_dtls = h_dtls_session(&t);
    h_dtls_close(&t);
    CHECK(h_connect_psk(&tls, r.port, "Cvictim", KV, 12) == 0);
    CHECK(h_request(&tls, "GET", "/~/in-cse/Cvictim", "Cvictim", 0, NULL, &hresp) == 0);
    CHECK_EQ_INT(hresp.rsc, 2000);
    victim_tls = h_session(&tls);
    h_close(&tls);
    /* ... and once from a stack without the extended master secret (RFC 7627), as some device stacks are */
    h_dtls_ssl_options = SSL_OP_NO_EXTENDED_MASTER_SECRET;
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cvictim", KV) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cvictim", "Cvictim", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    victim_noems = h_dtls_session(&t);
    h_dtls_close(&t);
    h_dtls_ssl_options = 0;
    if (victim_noems == NULL || !SSL_SESSION_has_ticket(victim_noems) ||
        victim_dtls == NULL || cert_dtls == NULL || victim_tls == NULL ||
        !SSL_SESSION_has_ticket(victim_dtls) || !SSL_SESSION_has_ticket(cert_dtls) ||
        !SSL_SESSION_has_ticket(victim_tls)) {
        fprintf(stderr, "FAIL: the victims' sessions carry no ticket: nothing would be attacked\n");
        h_failures++;
        h_registrar_cleanup(&r);
        return h_done("it_dtls_attacks");
    }
    /* the legitimate resumption works (so a refused attack below is the check's doing, not a broken ticket) */
    h_dtls_next_session = SSL_SESSION_dup(victim_dtls);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cvictim", KV) == 0);
    CHECK(SSL_session_reused(t.ssl) == 1);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cvictim", "Cvictim", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);
    resumed = h_metric(&r, RESUMED);
    cert_resumed = h_metric(&r, CERT_RESUMED);
    h_sh_out(log_before, sizeof log_before, "grep -c 'attach .*registree=C\\(victim\\|cert\\) .*result=ok' '%s'",
             r.log);

    /* --- the attacks ---------------------------------------------------------------------------------------------- */
    /* 1. the victim's PSK ticket, secret zeroed, on its own suite, with the victim's key ID and a guessed key */
    random_key(wrong);
    h_dtls_next_session = forged(victim_dtls, 0, 0);
    verdict("1. DTLS PSK ticket without its secret", h_dtls_connect_psk_identity(&t, r.coaps_port, kid_v, wrong), &t,
            "Cvictim");
    /* 2. ... on a certificate suite it was not issued for (OpenSSL decrypts it and does not resume) */
    h_dtls_ciphers = "ECDHE-ECDSA-AES128-CCM8";
    h_dtls_next_session = forged(victim_dtls, 0, 0);
    verdict("2. DTLS PSK ticket on a certificate suite", h_dtls_connect_cert(&t, r.coaps_port, NULL, NULL, NULL), &t,
            "Cvictim");
    /* 2b. ... claimed to be of that suite */
    h_dtls_next_session = forged(victim_dtls, 0xc0ae, 0);
    verdict("2b. ... claimed to be ECDHE-ECDSA-AES128-CCM8", h_dtls_connect_cert(&t, r.coaps_port, NULL, NULL, NULL),
            &t, "Cvictim");
    /* 2c. ... on the other certificate suite, with a client certificate the Registrar does not know */
    h_dtls_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    h_dtls_next_session = forged(victim_dtls, 0, 0);
    verdict("2c. ... on ECDHE-ECDSA-AES128-GCM-SHA256 with an unenrolled certificate",
            h_dtls_connect_cert(&t, r.coaps_port, NULL, path("registrar.crt"), path("registrar.key")), &t, "Cvictim");
    /* 3. the certificate Registree's ticket without its certificate or secret */
    h_dtls_ciphers = "ECDHE-ECDSA-AES128-CCM8";
    h_dtls_next_session = forged(cert_dtls, 0, 0);
    verdict("3. certificate Registree's DTLS ticket without its certificate",
            h_dtls_connect_cert(&t, r.coaps_port, NULL, NULL, NULL), &t, "Ccert");
    /* 4. ... offered by another Registree on a PSK suite with its own, valid key: at most bound as itself */
    h_dtls_ciphers = NULL;
    h_dtls_next_session = forged(cert_dtls, 0, 0);
    verdict("4. certificate Registree's ticket, then the attacker's own PSK",
            h_dtls_connect_psk(&t, r.coaps_port, "Cother", KO), &t, "Ccert");
    /* 4b. ... claimed to be of the PSK suite */
    h_dtls_next_session = forged(cert_dtls, 0xc0a8, 0);
    verdict("4b. ... claimed to be PSK-AES128-CCM8", h_dtls_connect_psk(&t, r.coaps_port, "Cother", KO), &t, "Ccert");
    /* 5. the victim's PSK ticket offered by another Registree with its own key */
    h_dtls_next_session = forged(victim_dtls, 0, 0);
    verdict("5. the victim's ticket, then the attacker's own PSK", h_dtls_connect_psk(&t, r.coaps_port, "Cother", KO),
            &t, "Cvictim");
    /* 6. the victim's HTTPS (TLS 1.2) ticket re-offered over DTLS: same store keys, another protocol */
    h_dtls_next_session = forged(victim_tls, 0, DTLS1_2_VERSION);
    verdict("6. TLS 1.2 ticket re-offered over DTLS 1.2", h_dtls_connect_psk_identity(&t, r.coaps_port, kid_v, wrong),
            &t, "Cvictim");
    h_dtls_ciphers = "ECDHE-ECDSA-AES128-CCM8";
    h_dtls_next_session = forged(victim_tls, 0xc0ae, DTLS1_2_VERSION);
    verdict("6b. ... on a certificate suite, claimed to be of it",
            h_dtls_connect_cert(&t, r.coaps_port, NULL, NULL, NULL), &t, "Cvictim");
    h_dtls_ciphers = NULL;
    /* 6c. ... by another Registree with its own key: OpenSSL decrypts it, does not resume it (another version),
     * and the full handshake binds the attacker as itself */
    h_dtls_next_session = forged(victim_tls, 0, DTLS1_2_VERSION);
    verdict("6c. TLS 1.2 ticket over DTLS, then the attacker's own PSK",
            h_dtls_connect_psk(&t, r.coaps_port, "Cother", KO), &t, "Cvictim");
    /* 7. the DTLS ticket re-offered over HTTPS (TLS 1.2) with the secret zeroed, on a certificate suite */
    h_next_session = forged(victim_dtls, 0xc02b, TLS1_2_VERSION);
    if (h_connect_cert(&tls, r.port, NULL, NULL, NULL, 12, "ECDHE-ECDSA-AES128-GCM-SHA256") != 0) {
        fprintf(stderr, "ok   7. DTLS ticket re-offered over TLS 1.2: handshake refused\n");
    } else {
        CHECK(h_request(&tls, "GET", "/~/in-cse/Cvictim", "Cvictim", 0, NULL, &hresp) == 0);
        CHECK(hresp.rsc == 4107 || hresp.rsc == 4106);
        fprintf(stderr, "ok   7. DTLS ticket re-offered over TLS 1.2: %d\n", hresp.rsc);
        h_close(&tls);
    }
    /* 9. a ticket issued without the extended master secret (RFC 7627; a device stack without it) offered in a
     * ClientHello with it: OpenSSL decrypts it, the callback vouches for it, and the handshake goes on in full
     * (RFC 7627 5.3) -- with the attacker's own key it binds the attacker, as itself */
    h_dtls_next_session = forged(victim_noems, 0, 0);
    verdict("9. ticket without EMS offered with EMS, then the attacker's own PSK",
            h_dtls_connect_psk(&t, r.coaps_port, "Cother", KO), &t, "Cvictim");
    h_dtls_next_session = forged(victim_noems, 0, 0);
    verdict("9b. ... with the victim's key ID and a guessed key",
            h_dtls_connect_psk_identity(&t, r.coaps_port, kid_v, wrong), &t, "Cvictim");
    /* 8. <keyGeneration> on the context attack 2 gets (completed, unbound): refused, no key generated */
    h_dtls_ciphers = "ECDHE-ECDSA-AES128-CCM8";
    h_dtls_next_session = forged(victim_dtls, 0, 0);
    if (h_dtls_connect_cert(&t, r.coaps_port, NULL, NULL, NULL) == 0) {
        CHECK(h_coap_request(&t, "POST", "~/in-cse", "Cvictim", 10100, NULL, "{\"m2m:kgn\":{}}", &resp) == 0);
        CHECK(resp.rsc != 2001);
        fprintf(stderr, "ok   8. keyGeneration on the attacker's context: %d\n", resp.rsc);
        h_dtls_close(&t);
    }
    h_dtls_ciphers = NULL;

    /* --- what the Registrar recorded: no resumption, no attachment of a victim ---------------------------------- */
    CHECK_EQ_INT(h_metric(&r, RESUMED), resumed);
    CHECK_EQ_INT(h_metric(&r, CERT_RESUMED), cert_resumed);
    h_sh_out(log_after, sizeof log_after, "grep -c 'attach .*registree=C\\(victim\\|cert\\) .*result=ok' '%s'", r.log);
    CHECK(log_before[0] != '\0' && strcmp(log_before, log_after) == 0);
    CHECK(h_sh("grep -q 'keygen registree=Cvictim' '%s'", r.log) != 0);
    /* 10. renegotiation of a bound session: refused (the binding is decided once, from the finished handshake),
     * and the session goes on bound as before */
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cother", KO) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse", "Cother", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_dtls_renegotiate(&t) != 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cvictim", "Cvictim", 0, NULL, NULL, &resp) != 0 || resp.rsc == 4106);
    h_dtls_close(&t);

    /* the victims still get in; a TLS ticket does not resume a DTLS session even for its owner (with its secret) */
    h_dtls_next_session = SSL_SESSION_dup(victim_tls);
    if (h_dtls_next_session != NULL)
        SSL_SESSION_set_protocol_version(h_dtls_next_session, DTLS1_2_VERSION);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cvictim", KV) == 0);
    CHECK(SSL_session_reused(t.ssl) == 0);
    h_dtls_close(&t);
    CHECK(h_dtls_connect_psk(&t, r.coaps_port, "Cvictim", KV) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Cvictim", "Cvictim", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);
    h_dtls_next_session = SSL_SESSION_dup(cert_dtls);
    CHECK(h_dtls_connect_cert(&t, r.coaps_port, root_crt, dev_crt, dev_key) == 0);
    CHECK(h_coap_request(&t, "GET", "~/in-cse/Ccert", "Ccert", 0, NULL, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_dtls_close(&t);

    SSL_SESSION_free(victim_dtls);
    SSL_SESSION_free(cert_dtls);
    SSL_SESSION_free(victim_tls);
    SSL_SESSION_free(victim_noems);
    h_registrar_cleanup(&r);
    return h_done("it_dtls_attacks");
}
