/* SPDX-License-Identifier: Apache-2.0 */
/* Issue 9 against the real daemon over TLS-PSK: what a third-party MN-CSE does when it registers, step by step,
 * and a Release-1 device. Every refusal is logged with its RSC and reason. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define KMN "101112131415161718191a1b1c1d1e1f"
#define KAE "202122232425262728292a2b2c2d2e2f"

int main(void)
{
    h_registrar r;
    h_tls t;
    h_resp resp;
    char poa[64], req[1024];
    int n;
    const char *csr = "{\"m2m:csr\":{\"rn\":\"mn\",\"cb\":\"/id-mn/mn-base\",\"csi\":\"/id-mn\",\"cst\":2,\"rr\":true,"
                      "\"srv\":[\"2a\",\"3\"],\"poa\":[\"https://mn.example:8443\"],\"nl\":\"node1\",\"lbl\":[\"site-4\"],"
                      "\"dcse\":[],\"csz\":[\"application/json\"],\"st\":0,\"ici\":true}}";
    const char *ae_rel1 = "{\"m2m:ae\":{\"api\":\"Rlegacy\",\"rr\":false}}";

    if (h_registrar_init(&r) != 0 || h_enrol(&r, "/id-mn", KMN) != 0 || h_enrol(&r, "Clegacy", KAE) != 0 ||
        h_enrol(&r, "Cother", KAE "00") != 0 ||
        h_registrar_start(&r, 2, "--allow-app-id 'Rlegacy*' --registration-lifetime 1h") != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    CHECK(h_connect_psk(&t, r.port, "/id-mn", KMN, 0) == 0);
    /* 1. the CSE clears a stale <remoteCSE> first: not found, which it understands */
    CHECK(h_request(&t, "DELETE", "/~/in-cse/id-mn", "/id-mn", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    /* 2. it reads the CSEBase and copies what it needs */
    CHECK(h_request(&t, "GET", "/~/in-cse", "/id-mn", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    snprintf(poa, sizeof poa, "\"poa\":[\"https://127.0.0.1:%d\"]", r.port);
    CHECK(strstr(resp.body, poa) != NULL);
    CHECK(strstr(resp.body, "\"srt\":[") != NULL && strstr(resp.body, "\"csi\":\"/in-cse\"") != NULL &&
          strstr(resp.body, "\"cst\":1") != NULL && strstr(resp.body, "\"srv\":[") != NULL);
    CHECK(strstr(resp.body, "\"pi\"") == NULL);
    /* 3. it registers with the optional attributes; the Registrar assigns expirationTime */
    CHECK(h_request(&t, "POST", "/~/in-cse", "/id-mn", 16, csr, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(strstr(resp.body, "\"et\":\"") != NULL);
    CHECK(strstr(resp.location, "/in-cse/id-mn") != NULL);
    /* 4. it updates its descendant CSEs */
    CHECK(h_request(&t, "PUT", "/~/in-cse/id-mn", "/id-mn", 0, "{\"m2m:csr\":{\"dcse\":[\"/id-asn1\"]}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2004);
    CHECK(strstr(resp.body, "/id-asn1") != NULL);
    /* 5. it carries a request of an AE registered with it */
    CHECK(h_request(&t, "POST", "/~/in-cse/id-mn", "/id-mn/Cae1", 3, "{\"m2m:cnt\":{\"rn\":\"meter\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    CHECK(h_request(&t, "GET", "/~/in-cse/cse-base/mn/meter", "/id-mn/Cae1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    /* 6. another CSE part in From: refused */
    CHECK(h_request(&t, "GET", "/~/in-cse/cse-base/mn/meter", "/id-other/Cae1", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    /* 7. it deregisters: 2002, and its path is not found again */
    CHECK(h_request(&t, "DELETE", "/~/in-cse/id-mn", "/id-mn", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2002);
    CHECK(h_request(&t, "GET", "/~/in-cse/id-mn", "/id-mn", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    h_close(&t);

    /* a Release-1 device: no X-M2M-RVI, no srv */
    CHECK(h_connect_psk(&t, r.port, "Clegacy", KAE, 12) == 0);
    n = snprintf(req, sizeof req, "POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Clegacy\r\nX-M2M-RI: r1\r\n"
                                  "Content-Type: application/json;ty=2\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(ae_rel1), ae_rel1);
    CHECK(h_raw(&t, req, (size_t)n, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    /* its identity in SP-relative and absolute form; "-" for the CSEBase's name */
    CHECK(h_request(&t, "GET", "/~/in-cse/Clegacy", "/in-cse/Clegacy", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_request(&t, "GET", "/~/in-cse/-/Clegacy", "//m2m.localhost/in-cse/Clegacy", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_request(&t, "GET", "/~/in-cse/Clegacy", "//other.example/in-cse/Clegacy", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4106);
    /* the registration lives --registration-lifetime (1h): an hour later the Registrar has removed it */
    CHECK(h_clock_advance(&r, 3601) == 0);
    for (int i = 0; i < 100 && h_sh("grep -q 'expiry: removed Clegacy ' '%s'", r.log) != 0; i++)
        usleep(50 * 1000);
    CHECK(h_request(&t, "GET", "/~/in-cse/Clegacy", "Clegacy", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 4004);
    CHECK(h_raw(&t, req, (size_t)n, &resp) == 0); /* and the device registers again */
    CHECK_EQ_INT(resp.rsc, 2001);
    h_close(&t);

    /* --allow-app-id 'Rlegacy*': another App-ID is not allowed */
    CHECK(h_connect_psk(&t, r.port, "Cother", KAE "00", 0) == 0);
    CHECK(h_register_ae(&t, "Cother", "Rcamera", &resp) == 4126);
    h_close(&t);

    /* every refusal above is in the log with its RSC and reason */
    CHECK(h_sh("grep -q 'refused registree=/id-mn .*op=DELETE .*rsc=4004 reason=\"no resource at' '%s'", r.log) == 0);
    CHECK(h_sh("grep -q 'refused registree=/id-mn .*from=\"/id-other/Cae1\" rsc=4106' '%s'", r.log) == 0);
    CHECK_EQ_INT(h_registrar_stop(&r, 15), 0);
    h_registrar_cleanup(&r);
    return h_done("it_cse_registration");
}
