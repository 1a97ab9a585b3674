/* SPDX-License-Identifier: Apache-2.0 */
/* Session resumption (x.y.4) and Kcc/Kca generation (x.y.8) against the real daemon: resumption per mechanism and
 * TLS version, across a restart, with an expired ticket key, after revocation; key generation refused without
 * forward secrecy, both ends holding the same key, the lost-response case, the old key retired once the new one
 * is used, and no key ever in a log, a listing or a response. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static h_registrar r;
static char root_crt[400], dev_crt[400], dev_key[400];
static const char KP[] = "000102030405060708090a0b0c0d0e0f";   /* Cpsk */
static const char KQ[] = "101112131415161718191a1b1c1d1e1f";   /* Crev */
static const char KG[] = "202122232425262728292a2b2c2d2e2f";   /* Cgen */
static char all_keys[8][65];
static int nkeys;

static const char *path(const char *name) { return h_path(r.dir, name); }

static int start(const char *extra)
{
    char args[1400];
    snprintf(args, sizeof args, "--cert '%s/registrar.crt' --key '%s/registrar.key' --admin 0 %s", r.dir, r.dir,
             extra ? extra : "");
    r.port = 0;
    return h_registrar_start(&r, 2, args);
}

/* Attaches (PSK or cert), does one RETRIEVE so TLS 1.3 tickets arrive, and returns the session. */
static SSL_SESSION *ticket_psk(const char *id, const char *key, int v, const char *path_)
{
    h_tls t;
    h_resp resp;
    SSL_SESSION *s = NULL;
    if (h_connect_psk(&t, r.port, id, key, v) != 0)
        return NULL;
    if (h_request(&t, "GET", path_, id, 0, NULL, &resp) == 0 && resp.rsc == 2000)
        s = h_session(&t);
    h_close(&t);
    return s;
}

static void resumption(void)
{
    for (int v = 12; v <= 13; v++) {
        h_tls t;
        h_resp resp;
        SSL_SESSION *s = ticket_psk("Cpsk", KP, v, "/~/in-cse/Cpsk");
        CHECK(s != NULL);
        h_next_session = s;
        CHECK(h_connect_psk(&t, r.port, "Cpsk", KP, v) == 0);
        CHECK(h_reused(&t));
        /* the binding came back from inside the ticket */
        CHECK(h_request(&t, "GET", "/~/in-cse/Cpsk", "Cpsk", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        CHECK(h_request(&t, "GET", "/~/in-cse/Cpsk", "Ccert", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 4106);
        h_close(&t);

        /* client certificate */
        CHECK(h_connect_cert(&t, r.port, root_crt, dev_crt, dev_key, v, NULL) == 0);
        CHECK(h_request(&t, "GET", "/~/in-cse/Ccert", "Ccert", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        h_next_session = h_session(&t);
        h_close(&t);
        CHECK(h_connect_cert(&t, r.port, root_crt, dev_crt, dev_key, v, NULL) == 0);
        CHECK(h_reused(&t));
        CHECK(h_request(&t, "GET", "/~/in-cse/Ccert", "Ccert", 0, NULL, &resp) == 0);
        CHECK_EQ_INT(resp.rsc, 2000);
        h_close(&t);
    }
}

static void token_resumption(void)
{
    char out[512] = "", token[64] = "";
    h_tls t;
    h_resp resp;
    char req[600];
    const char body[] = "{\"m2m:ae\":{\"api\":\"Rtok\",\"rr\":false,\"srv\":[\"3\"]}}";
    int n;
    CHECK(h_sh_out(out, sizeof out, "'%s' enrol token --db '%s' --registree-id Ctok", h_bin(), r.db) == 0);
    CHECK(strstr(out, "\ntoken ") && sscanf(strstr(out, "\ntoken ") + 7, "%63s", token) == 1);
    /* TLS 1.3: the ticket sent after the token bound the context carries the binding */
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    n = snprintf(req, sizeof req, "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Ctok\r\n"
                                  "Authorization: Bearer %s\r\nContent-Type: application/json;ty=2\r\n"
                                  "Content-Length: %zu\r\n\r\n%s", token, strlen(body), body);
    CHECK(h_raw(&t, req, (size_t)n, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(h_request(&t, "GET", "/~/in-cse/Ctok", "Ctok", 0, NULL, &resp) == 0);
    h_next_session = h_session(&t);
    h_close(&t);
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    CHECK(h_reused(&t));
    CHECK(h_request(&t, "GET", "/~/in-cse/Ctok", "Ctok", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_close(&t);
}

static SSL_SESSION *saved[2];

static void resumption_across_restart_and_expiry(void)
{
    h_tls t;
    /* tickets issued before the restart */
    saved[0] = ticket_psk("Cpsk", KP, 12, "/~/in-cse/Cpsk");
    saved[1] = ticket_psk("Cpsk", KP, 13, "/~/in-cse/Cpsk");
    CHECK(saved[0] != NULL && saved[1] != NULL);
    CHECK_EQ_INT(h_registrar_stop(&r, SIGTERM), 0);
    CHECK(start("--ticket-key-period 600") == 0);
    for (int i = 0; i < 2; i++) {
        h_next_session = SSL_SESSION_dup(saved[i]);
        CHECK(h_connect_psk(&t, r.port, "Cpsk", KP, i ? 13 : 12) == 0);
        CHECK(h_reused(&t)); /* the key was in the store */
        h_close(&t);
    }
    /* A Registrar whose period is 1 s accepts keys younger than 2 s: the key that sealed these is older. */
    CHECK_EQ_INT(h_registrar_stop(&r, SIGTERM), 0);
    CHECK(h_clock_advance(&r, 3) == 0);
    CHECK(start("--ticket-key-period 1") == 0);
    /* more than two periods later the key that sealed them is no longer accepted: full handshake instead (TLS
     * 1.3 counts an external-PSK handshake as "reused" on the client, so the Registrar's counters tell) */
    for (int i = 0; i < 2; i++) {
        long long resumed = h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\"}");
        long long full = h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"full\"}");
        h_next_session = saved[i];
        CHECK(h_connect_psk(&t, r.port, "Cpsk", KP, i ? 13 : 12) == 0);
        CHECK(i == 1 || !h_reused(&t));
        h_close(&t);
        usleep(100 * 1000);
        CHECK(resumed >= 0);
        CHECK_EQ_INT(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\"}"), resumed);
        CHECK_EQ_INT(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"full\"}"), full + 1);
    }
}

static void resumption_after_revocation(void)
{
    h_tls t;
    SSL_SESSION *s12 = ticket_psk("Crev", KQ, 12, "/~/in-cse/Crev");
    SSL_SESSION *s13 = ticket_psk("Crev", KQ, 13, "/~/in-cse/Crev");
    CHECK(s12 != NULL && s13 != NULL);
    CHECK(h_revoke(&r, "Crev") == 0);
    h_next_session = s12;
    CHECK(h_connect_psk(&t, r.port, "Crev", KQ, 12) != 0); /* no resumption, and the full handshake fails */
    h_next_session = s13;
    CHECK(h_connect_psk(&t, r.port, "Crev", KQ, 13) != 0);
    CHECK(h_sh("grep -q 'resume registree=Crev .*result=refused' '%s'", r.log) == 0);
}

/* CREATE <keyGeneration>; returns the RSC and the key ID the Registrar reported. */
static int keygen(h_tls *t, const char *from, char kid[40])
{
    h_resp resp;
    const char *p;
    char key[65];
    kid[0] = '\0';
    /* the key this session would yield: it must never come back in the response */
    if (h_exported_key(t, key) != 0 ||
        h_request(t, "POST", "/~/in-cse", from, 10100, "{\"m2m:kgn\":{}}", &resp) != 0)
        return -1;
    if ((p = strstr(resp.body, "\"kid\":\"")) != NULL)
        sscanf(p + 7, "%32[0-9a-f]", kid);
    CHECK(strstr(resp.body, key) == NULL);
    CHECK(strstr(resp.body, key + 32) == NULL);
    return resp.rsc;
}

/* Issue 8 item 8 (and issue 7): a key may be generated only where the credential was proved in this connection.
 * A token Registree: in the connection where its token registration succeeded, yes; over its resumed session (a
 * ticket an eavesdropper may hold), no. The same for a resumed TLS 1.3 PSK session. */
static void key_generation_needs_proof_here(void)
{
    char out[512] = "", token[64] = "", req[600], kid[40];
    const char body[] = "{\"m2m:ae\":{\"api\":\"Rtok\",\"rr\":false,\"srv\":[\"3\"]}}";
    h_tls t;
    h_resp resp;
    SSL_SESSION *s;
    int n;
    CHECK(h_sh_out(out, sizeof out, "'%s' enrol token --db '%s' --registree-id Ctokgen", h_bin(), r.db) == 0);
    CHECK(strstr(out, "\ntoken ") && sscanf(strstr(out, "\ntoken ") + 7, "%63s", token) == 1);
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    /* before the token binds the context: 4107 */
    CHECK_EQ_INT(keygen(&t, "Ctokgen", kid), 4107);
    h_close(&t);
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    n = snprintf(req, sizeof req, "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Ctokgen\r\n"
                                  "Authorization: Bearer %s\r\nContent-Type: application/json;ty=2\r\n"
                                  "Content-Length: %zu\r\n\r\n%s", token, strlen(body), body);
    CHECK(h_raw(&t, req, (size_t)n, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    /* the token was proved in this very connection (a full, forward-secret handshake): allowed */
    CHECK_EQ_INT(keygen(&t, "Ctokgen", kid), 2001);
    CHECK(strlen(kid) == 32);
    s = h_session(&t);
    h_close(&t);
    /* its resumed session: refused, saying why */
    h_next_session = s;
    CHECK(h_connect_cert(&t, r.port, root_crt, NULL, NULL, 13, NULL) == 0);
    CHECK(h_reused(&t));
    CHECK(h_request(&t, "POST", "/~/in-cse", "Ctokgen", 10100, "{\"m2m:kgn\":{}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4005);
    CHECK(strstr(resp.body, "resumed") != NULL);
    h_close(&t);
    /* a resumed TLS 1.3 PSK session (psk_dhe_ke, so forward secret): refused too */
    h_next_session = ticket_psk("Cpsk", KP, 13, "/~/in-cse/Cpsk");
    CHECK(h_connect_psk(&t, r.port, "Cpsk", KP, 13) == 0);
    CHECK(h_reused(&t));
    CHECK_EQ_INT(keygen(&t, "Cpsk", kid), 4005);
    h_close(&t);
}

static void key_generation(void)
{
    h_tls t;
    h_resp resp;
    char kid[40], key1[65], key2[65], id1[33];

    /* no forward secrecy, no key */
    h_psk_ciphers = "PSK-AES128-CBC-SHA256";
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 12) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cgen", "Rgen", &resp), 2001);
    CHECK_EQ_INT(keygen(&t, "Cgen", kid), 4005);
    h_close(&t);
    /* a resumed TLS 1.2 session ran no key exchange either */
    h_psk_ciphers = "ECDHE-PSK-AES128-CBC-SHA256";
    h_next_session = ticket_psk("Cgen", KG, 12, "/~/in-cse/Cgen");
    h_psk_ciphers = "ECDHE-PSK-AES128-CBC-SHA256";
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 12) == 0);
    CHECK(h_reused(&t));
    CHECK_EQ_INT(keygen(&t, "Cgen", kid), 4005);
    h_close(&t);

    /* ECDHE-PSK: both ends derive the same key; the Registrar reports its ID only */
    h_psk_ciphers = "ECDHE-PSK-AES128-CBC-SHA256";
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 12) == 0);
    CHECK_EQ_INT(keygen(&t, "Cgen", kid), 2001);
    CHECK(h_exported_key(&t, key1) == 0);
    h_keyid("Cgen", key1, id1);
    CHECK(strcmp(kid, id1) == 0);
    h_close(&t);
    snprintf(all_keys[nkeys++], 65, "%s", key1);
    h_psk_ciphers = NULL;

    /* lost response: generate again; the answer never reaches the device (it keeps its old key) */
    h_psk_ciphers = "ECDHE-PSK-AES128-CBC-SHA256";
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 12) == 0); /* the old key still works: key1 is only pending */
    /* The device never sees this answer. The test reads it only to know that the Registrar committed the
     * pending key (an answer goes out once its write is durable), instead of sleeping for that; the raw request
     * sent here before had a Content-Length two octets short, so it never generated anything. */
    CHECK_EQ_INT(keygen(&t, "Cgen", kid), 2001);
    CHECK(h_exported_key(&t, key2) == 0); /* what the device would have stored had the answer arrived */
    h_close(&t);
    snprintf(all_keys[nkeys++], 65, "%s", key2);
    /* the device never saw that answer: it still attaches with its old key, and generates once more */
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 13) == 0);
    CHECK_EQ_INT(keygen(&t, "Cgen", kid), 2001);
    CHECK(h_exported_key(&t, key1) == 0);
    h_keyid("Cgen", key1, id1);
    CHECK(strcmp(kid, id1) == 0);
    h_close(&t);
    snprintf(all_keys[nkeys++], 65, "%s", key1);
    h_psk_ciphers = NULL;
    /* the lost key was replaced; the newest one works (proving both ends hold it) and becomes current */
    CHECK(h_connect_psk(&t, r.port, "Cgen", key2, 12) != 0);
    CHECK(h_connect_psk(&t, r.port, "Cgen", key1, 12) == 0);
    CHECK(h_request(&t, "GET", "/~/in-cse/Cgen", "Cgen", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000); /* same Registree, same registration */
    h_close(&t);
    /* ... and once the promotion is committed (the writer's job, logged when durable; the handshake does not
     * wait for it), the old key is refused */
    for (int i = 0; i < 100 && h_sh("grep -q 'key registree=Cgen .*generated key now current' '%s'", r.log) != 0; i++)
        usleep(50 * 1000);
    CHECK(h_sh("grep -q 'key registree=Cgen .*generated key now current' '%s'", r.log) == 0);
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 12) != 0);
    CHECK(h_connect_psk(&t, r.port, "Cgen", KG, 13) != 0);

    /* x.y.8.3: PKI first, then Kca over TLS 1.3, then PSK re-attachment */
    CHECK(h_connect_cert(&t, r.port, root_crt, dev_crt, dev_key, 13, NULL) == 0);
    CHECK_EQ_INT(keygen(&t, "Ccert", kid), 2001);
    CHECK(h_exported_key(&t, key1) == 0);
    h_close(&t);
    snprintf(all_keys[nkeys++], 65, "%s", key1);
    CHECK(h_connect_psk(&t, r.port, "Ccert", key1, 12) == 0);
    CHECK(h_request(&t, "GET", "/~/in-cse/Ccert", "Ccert", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    h_close(&t);
    /* key generation asks for a registered, bound originator like any request */
    CHECK(h_connect_cert(&t, r.port, root_crt, dev_crt, dev_key, 13, NULL) == 0);
    CHECK_EQ_INT(keygen(&t, "Cgen", kid), 4106);
    h_close(&t);
}

static void metrics_and_secrecy(void)
{
    /* full and resumed handshakes are counted per mechanism */
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"full\"}") >= 5);
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"psk\",kind=\"resumed\"}") >= 2);
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"cert\",kind=\"resumed\"}") >= 2);
    CHECK(h_metric(&r, "m2m_handshakes_total{mechanism=\"token\",kind=\"resumed\"}") >= 1);
    CHECK(h_metric(&r, "m2m_keys_generated_total") >= 3);
    CHECK(h_metric(&r, "m2m_handshakes_refused_total") >= 1);
    CHECK(h_sh("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/other | grep -q 404", r.admin_port) == 0);
    for (int i = 0; i < nkeys; i++) {
        CHECK(h_sh("grep -qi '%s' '%s'", all_keys[i], r.log) != 0);
        CHECK(h_sh("'%s' enrol list --db '%s' --all | grep -qi '%s'", h_bin(), r.db, all_keys[i]) != 0);
    }
    CHECK(h_sh("'%s' enrol list --db '%s' | grep -q 'Cgen .*psk'", h_bin(), r.db) == 0);
}

int main(void)
{
    char hash[65];
    if (h_registrar_init(&r) != 0)
        return 1;
    snprintf(root_crt, sizeof root_crt, "%s/root.crt", r.dir);
    snprintf(dev_crt, sizeof dev_crt, "%s/dev.crt", r.dir);
    snprintf(dev_key, sizeof dev_key, "%s/dev.key", r.dir);
    if (h_make_cert(root_crt, path("root.key"), "Registrar Root", NULL, NULL, NULL, 1, -60, 86400) != 0 ||
        h_make_cert(path("registrar.crt"), path("registrar.key"), "in-cse.m2m.localhost",
                    "DNS:in-cse.m2m.localhost,URI:/in-cse", root_crt, path("root.key"), 0, -60, 86400) != 0 ||
        h_make_cert(dev_crt, dev_key, "Ccert", "URI:Ccert", NULL, NULL, 0, -60, 86400) != 0 ||
        h_enrol(&r, "Cpsk", KP) != 0 || h_enrol(&r, "Crev", KQ) != 0 || h_enrol(&r, "Cgen", KG) != 0 ||
        start(NULL) != 0) {
        h_registrar_cleanup(&r);
        return 1;
    }
    h_pubkey_hash(dev_crt, hash);
    CHECK(h_sh("'%s' enrol cert --db '%s' --registree-id Ccert --pubkey-hash %s >/dev/null", h_bin(), r.db, hash) == 0);
    {
        h_tls t;
        h_resp resp;
        CHECK(h_connect_psk(&t, r.port, "Cpsk", KP, 0) == 0);
        CHECK_EQ_INT(h_register_ae(&t, "Cpsk", "Rres", &resp), 2001);
        h_close(&t);
        CHECK(h_connect_psk(&t, r.port, "Crev", KQ, 0) == 0);
        CHECK_EQ_INT(h_register_ae(&t, "Crev", "Rres", &resp), 2001);
        h_close(&t);
        CHECK(h_connect_cert(&t, r.port, root_crt, dev_crt, dev_key, 0, NULL) == 0);
        CHECK_EQ_INT(h_register_ae(&t, "Ccert", "Rres", &resp), 2001);
        h_close(&t);
    }
    resumption();
    token_resumption();
    key_generation();
    key_generation_needs_proof_here();
    resumption_after_revocation();
    metrics_and_secrecy();
    resumption_across_restart_and_expiry();
    CHECK_EQ_INT(h_registrar_stop(&r, SIGTERM), 0);
    h_registrar_cleanup(&r);
    return h_done("it_resume_keygen");
}
