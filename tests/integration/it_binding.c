/* SPDX-License-Identifier: Apache-2.0 */
/* Security-note rules of x.y.2 / TS-0003 7.2.1 over real TLS against the real daemon: the psk_identity selects the
 * enrolment, the connection is bound to it, and nothing else may speak on it. Each rule, positive and negative. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char K1[] = "000102030405060708090a0b0c0d0e0f";
static const char K2[] = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f";
static const char K3[] = "303132333435363738393a3b3c3d3e3f";
static const char K4[] = "404142434445464748494a4b4c4d4e4f";
static const char K5[] = "505152535455565758595a5b5c5d5e5f";

static int resource_count(h_registrar *r)
{
    char out[64] = "";
    h_sh_out(out, sizeof out, "sqlite3 '%s' 'SELECT count(*) FROM resource'", r->db);
    return atoi(out);
}

static void handshake_refusals(h_registrar *r)
{
    h_tls t;
    int before = resource_count(r);
    for (int v = 12; v <= 13; v++) {
        /* unknown identity */
        CHECK(h_connect_psk_identity(&t, r->port, "00000000000000000000000000000000", K1, v) != 0);
        /* right identity, wrong key */
        char kid[33];
        h_keyid("Cae1", K1, kid);
        CHECK(h_connect_psk_identity(&t, r->port, kid, K2, v) != 0);
        /* a CSE key ID for an AE key: the kinds are not interchangeable */
        h_keyid("/x", K1, kid);
        CHECK(h_connect_psk_identity(&t, r->port, kid, K1, v) != 0);
        /* the right pair works */
        CHECK(h_connect_psk(&t, r->port, "Cae1", K1, v) == 0);
        h_close(&t);
    }
    CHECK_EQ_INT(resource_count(r), before);
}

static void registration_rules(h_registrar *r, int v)
{
    h_tls t;
    h_resp resp;

    /* From = enrolled ID */
    CHECK(h_connect_psk(&t, r->port, "Cae1", K1, v) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cae1", "Rtest", &resp), 2001);
    CHECK_EQ_INT(resp.status, 201);
    CHECK(strstr(resp.body, "\"aei\":\"Cae1\"") != NULL);
    /* twice: 4117 */
    CHECK_EQ_INT(h_register_ae(&t, "Cae1", "Rtest", &resp), 4117);
    h_close(&t);

    /* From = C: the enrolled ID is assigned */
    CHECK(h_connect_psk(&t, r->port, "Cae2", K2, v) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "C", "Rtest", &resp), 2001);
    CHECK(strstr(resp.body, "\"aei\":\"Cae2\"") != NULL);
    h_close(&t);

    /* From absent: likewise; but first a foreign ID (4106) and a bad App-ID (4000), neither creating anything */
    CHECK(h_connect_psk(&t, r->port, "Cae3", K3, v) == 0);
    CHECK_EQ_INT(h_register_ae(&t, "Cae1", "Rtest", &resp), 4106);
    CHECK_EQ_INT(h_register_ae(&t, "Cevil", "Rtest", &resp), 4106);
    CHECK_EQ_INT(h_register_ae(&t, NULL, "Xtest", &resp), 4000);
    CHECK_EQ_INT(h_register_ae(&t, NULL, "Rtest", &resp), 2001);
    CHECK(strstr(resp.body, "\"aei\":\"Cae3\"") != NULL);
    /* an AE cannot register as a <remoteCSE> */
    CHECK_EQ_INT(h_request(&t, "POST", "/~/in-cse", "Cae3", 16,
                           "{\"m2m:csr\":{\"cb\":\"/x/y\",\"rr\":true,\"srv\":[\"3\"]}}", &resp) == 0 ? resp.rsc : -1,
                 4005);
    h_close(&t);

    /* <remoteCSE>: From must be the enrolled CSE-ID */
    CHECK(h_connect_psk(&t, r->port, "/mn-cse", K4, v) == 0);
    CHECK(h_request(&t, "POST", "/~/in-cse", "/other-cse", 16,
                    "{\"m2m:csr\":{\"cb\":\"/other-cse/mn\",\"rr\":true,\"srv\":[\"3\"]}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    CHECK(h_request(&t, "POST", "/~/in-cse", "Cae1", 16,
                    "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"rr\":true,\"srv\":[\"3\"]}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    CHECK(h_request(&t, "POST", "/~/in-cse", "/mn-cse", 16,
                    "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"rr\":true,\"srv\":[\"3\"],\"cst\":2}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(strstr(resp.body, "\"csi\":\"/mn-cse\"") != NULL);
    CHECK(h_request(&t, "POST", "/~/in-cse", "/mn-cse", 16,
                    "{\"m2m:csr\":{\"cb\":\"/mn-cse/mn\",\"rr\":true,\"srv\":[\"3\"]}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4117);
    h_close(&t);
}

static void after_registration(h_registrar *r, int v)
{
    h_tls a, b;
    h_resp resp;

    CHECK(h_connect_psk(&a, r->port, "Cae1", K1, v) == 0);
    CHECK(h_connect_psk(&b, r->port, "Cae2", K2, v) == 0);
    /* own: yes */
    CHECK(h_request(&a, "GET", "/~/in-cse/Cae1", "Cae1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_request(&a, "POST", "/~/in-cse/Cae1", "Cae1", 3, "{\"m2m:cnt\":{\"rn\":\"data\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(h_request(&a, "POST", "/cse-base/Cae1/data", "Cae1", 4, "{\"m2m:cin\":{\"con\":\"42\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    /* spoofed originator on an attached connection */
    CHECK(h_request(&a, "GET", "/~/in-cse/Cae1", "Cae2", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    CHECK(h_request(&a, "POST", "/~/in-cse/Cae1", "Cae2", 3, "{\"m2m:cnt\":{}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    /* another Registree's resources: read, change, delete all refused, answered as if missing (no oracle) */
    CHECK(h_request(&b, "GET", "/cse-base/Cae1/data", "Cae2", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    CHECK(h_request(&b, "PUT", "/~/in-cse/Cae1", "Cae2", 0, "{\"m2m:ae\":{\"lbl\":[\"mine\"]}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    CHECK(h_request(&b, "DELETE", "/~/in-cse/Cae1", "Cae2", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    CHECK(h_request(&b, "POST", "/cse-base/Cae1/data", "Cae2", 4, "{\"m2m:cin\":{\"con\":\"x\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    /* the owner's data is intact */
    CHECK(h_request(&a, "GET", "/cse-base/Cae1/data", "Cae1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(strstr(resp.body, "\"cni\":1") != NULL);
    /* deregistration by the owner */
    CHECK(h_request(&a, "DELETE", "/~/in-cse/Cae1", "Cae1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2002);
    CHECK(h_request(&a, "GET", "/~/in-cse/Cae1", "Cae1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004); /* no longer registered: its registration path is not found */
    h_close(&a);
    h_close(&b);
}

static int run_version(int v)
{
    h_registrar r;
    int ok = 0;
    if (h_registrar_init(&r) != 0 || h_enrol(&r, "Cae1", K1) != 0 || h_enrol(&r, "Cae2", K2) != 0 ||
        h_enrol(&r, "Cae3", K3) != 0 || h_enrol(&r, "/mn-cse", K4) != 0 || h_enrol(&r, "Cspare", K5) != 0 ||
        h_registrar_start(&r, 2, NULL) != 0) {
        fprintf(stderr, "setup failed\n");
        h_failures++;
        goto done;
    }
    handshake_refusals(&r);
    registration_rules(&r, v);
    after_registration(&r, v);
    CHECK_EQ_INT(h_registrar_stop(&r, SIGTERM), 0); /* clean stop */
    ok = 1;
done:
    h_registrar_cleanup(&r);
    return ok;
}

int main(void)
{
    run_version(12);
    run_version(13);
    return h_done("it_binding");
}
