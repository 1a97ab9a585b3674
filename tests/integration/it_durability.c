/* SPDX-License-Identifier: Apache-2.0 */
/* Nothing acknowledged is lost: after kill -9 of the Registrar, every resource whose CREATE returned 2001 is there
 * after restart, and the Registrees re-attach without registering again. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_DEV 4
#define N_CIN 25

static const char *KEYS[N_DEV] = {"000102030405060708090a0b0c0d0e0f", "101112131415161718191a1b1c1d1e1f",
                                  "202122232425262728292a2b2c2d2e2f", "303132333435363738393a3b3c3d3e3f"};

int main(void)
{
    h_registrar r;
    char ids[N_DEV][16], locations[N_DEV * (N_CIN + 2)][512];
    int owner[N_DEV * (N_CIN + 2)];
    int created = 0;
    h_resp resp;

    if (h_registrar_init(&r) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (int d = 0; d < N_DEV; d++) {
        snprintf(ids[d], sizeof ids[d], "Cdur%d", d);
        CHECK_EQ_INT(h_enrol(&r, ids[d], KEYS[d]), 0);
    }
    if (h_registrar_start(&r, 2, NULL) != 0) {
        h_failures++;
        goto done;
    }
    for (int d = 0; d < N_DEV; d++) {
        h_tls t;
        char path[1024];
        if (h_connect_psk(&t, r.port, ids[d], KEYS[d], d % 2 ? 13 : 12) != 0) {
            h_failures++;
            continue;
        }
        if (h_register_ae(&t, ids[d], "Rdur", &resp) == 2001)
            owner[created] = d, snprintf(locations[created++], sizeof locations[0], "%s", resp.location);
        snprintf(path, sizeof path, "/~/in-cse/%s", ids[d]);
        if (h_request(&t, "POST", path, ids[d], 3, "{\"m2m:cnt\":{\"rn\":\"log\"}}", &resp) == 0 && resp.rsc == 2001)
            owner[created] = d, snprintf(locations[created++], sizeof locations[0], "%s", resp.location);
        snprintf(path, sizeof path, "/cse-base/%s/log", ids[d]);
        for (int i = 0; i < N_CIN; i++) {
            char body[64];
            snprintf(body, sizeof body, "{\"m2m:cin\":{\"con\":\"v%d\"}}", i);
            if (h_request(&t, "POST", path, ids[d], 4, body, &resp) == 0 && resp.rsc == 2001)
                owner[created] = d, snprintf(locations[created++], sizeof locations[0], "%s", resp.location);
        }
        h_close(&t);
    }
    CHECK_EQ_INT(created, N_DEV * (N_CIN + 2));

    /* kill -9: no chance to flush anything */
    h_registrar_stop(&r, SIGKILL);
    CHECK(h_registrar_start(&r, 2, NULL) == 0);

    for (int d = 0; d < N_DEV; d++) {
        h_tls t;
        if (h_connect_psk(&t, r.port, ids[d], KEYS[d], 0) != 0) {
            h_failures++;
            continue;
        }
        for (int i = 0; i < created; i++) {
            char path[1024];
            if (owner[i] != d)
                continue;
            snprintf(path, sizeof path, "/~%.500s", locations[i]);
            if (h_request(&t, "GET", path, ids[d], 0, NULL, &resp) != 0 || resp.rsc != 2000) {
                fprintf(stderr, "lost after kill -9: %s\n", locations[i]);
                h_failures++;
            }
        }
        h_close(&t);
    }
    /* registrations survived too: registering again is refused */
    {
        h_tls t;
        CHECK(h_connect_psk(&t, r.port, ids[0], KEYS[0], 0) == 0);
        CHECK_EQ_INT(h_register_ae(&t, ids[0], "Rdur", &resp), 4117);
        h_close(&t);
    }
    CHECK(h_sh("sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok", r.db) == 0);
done:
    h_registrar_cleanup(&r);
    return h_done("it_durability");
}
