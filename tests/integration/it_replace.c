/* SPDX-License-Identifier: Apache-2.0 */
/* Device replacement keeps its ID (seed note on Step 1): `enrol replace` swaps a PSK device for a certificate
 * device in one transaction. The old device is refused, its open connections close and its ticket does not resume;
 * the new one re-attaches without a CREATE and reads the old device's resources. A replacement that cannot be
 * made leaves everything as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char K1[] = "00112233445566778899aabbccddeeff";
static const char K2[] = "ffeeddccbbaa99887766554433221100";

static h_registrar r;

static const char *path(const char *name) { return h_path(r.dir, name); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls an open connection until the Registrar closes it; seconds waited, or -1 after limit. */
static double wait_closed(h_tls *t, double limit)
{
    double t0 = now_s();
    h_resp resp;
    while (now_s() - t0 < limit) {
        if (h_request(t, "GET", "/~/in-cse/Crep", "Crep", 0, NULL, &resp) != 0 || resp.status == 0)
            return now_s() - t0;
        usleep(100 * 1000);
    }
    return -1;
}

static int replace(const char *args, char *out, size_t cap)
{
    return h_sh_out(out, cap, "'%s' enrol replace --db '%s' --registree-id Crep %s 2>&1", h_bin(), r.db, args);
}

int main(void)
{
    char hash[65], out[2048], extra[1200], args[256];
    h_tls a, t;
    h_resp resp;
    SSL_SESSION *old_ticket;
    double waited;

    if (h_registrar_init(&r) != 0)
        return 1;
    if (h_make_cert(path("root.crt"), path("root.key"), "Registrar Root", NULL, NULL, NULL, 1, -60, 86400) != 0 ||
        h_make_cert(path("registrar.crt"), path("registrar.key"), "in-cse.m2m.localhost",
                    "DNS:in-cse.m2m.localhost,URI:/in-cse", path("root.crt"), path("root.key"), 0, -60, 86400) != 0 ||
        h_make_cert(path("new.crt"), path("new.key"), "Crep", "URI:Crep", NULL, NULL, 0, -60, 86400) != 0 ||
        h_enrol(&r, "Crep", K1) != 0 || h_enrol(&r, "Cother", K2) != 0) {
        fprintf(stderr, "setup failed\n");
        h_registrar_cleanup(&r);
        return 1;
    }
    snprintf(extra, sizeof extra, "--cert '%s' --key '%s'", path("registrar.crt"), path("registrar.key"));
    if (h_registrar_start(&r, 2, extra) != 0) {
        h_registrar_cleanup(&r);
        return 1;
    }
    h_pubkey_hash(path("new.crt"), hash);

    /* the old device: registered, with a container, a ticket kept, a connection open */
    CHECK(h_connect_psk(&a, r.port, "Crep", K1, 12) == 0);
    CHECK_EQ_INT(h_register_ae(&a, "Crep", "Rrep", &resp), 2001);
    CHECK(h_request(&a, "POST", "/~/in-cse/Crep", "Crep", 3, "{\"m2m:cnt\":{\"rn\":\"box\"}}", &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2001);
    old_ticket = h_session(&a);
    CHECK(old_ticket != NULL);

    /* nothing to replace for an ID never enrolled; the mechanism must be named */
    CHECK(h_sh_out(out, sizeof out, "'%s' enrol replace --db '%s' --registree-id Cnobody cert --pubkey-hash %s 2>&1",
                   h_bin(), r.db, hash) != 0);
    CHECK(strstr(out, "no active enrolment to replace") != NULL);
    CHECK(replace("--pubkey-hash 00", out, sizeof out) == 2);

    /* a replacement that fails (the new key is another Registree's) changes nothing: the old device still works */
    snprintf(args, sizeof args, "psk --key-file '%s'", path("k2.hex"));
    CHECK(h_sh("printf '%%s\\n' %s > '%s' && chmod 600 '%s'", K2, path("k2.hex"), path("k2.hex")) == 0);
    CHECK(replace(args, out, sizeof out) != 0);
    CHECK(h_request(&a, "GET", "/~/in-cse/Crep/box", "Crep", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);

    /* the replacement: PSK device out, certificate device in, one transaction */
    snprintf(args, sizeof args, "cert --pubkey-hash %s", hash);
    CHECK(replace(args, out, sizeof out) == 0);
    CHECK(strstr(out, "replaced the credential of Crep (cert") != NULL);
    CHECK(h_sh_out(out, sizeof out, "'%s' enrol list --db '%s'", h_bin(), r.db) == 0);
    CHECK(strstr(out, "Crep                     cert") != NULL);
    CHECK(strstr(out, "Crep                     psk") == NULL);

    /* the old device: its open connection closes, its key and its ticket are refused */
    waited = wait_closed(&a, 10.0);
    CHECK(waited >= 0);
    printf("old device's connection closed after %.1f s\n", waited);
    h_close(&a);
    CHECK(h_connect_psk(&a, r.port, "Crep", K1, 12) != 0);
    CHECK(h_connect_psk(&a, r.port, "Crep", K1, 13) != 0);
    h_next_session = old_ticket;
    if (h_connect_psk(&a, r.port, "Crep", K1, 12) == 0) {
        /* whatever the handshake did, it is not the old device's binding */
        CHECK(!h_reused(&a));
        CHECK(h_request(&a, "GET", "/~/in-cse/Crep/box", "Crep", 0, NULL, &resp) == 0);
        CHECK(resp.rsc != 2000);
        h_close(&a);
    }

    /* the new device: same ID, same registration, same resources, no CREATE needed */
    CHECK(h_connect_cert(&t, r.port, path("root.crt"), path("new.crt"), path("new.key"), 0, NULL) == 0);
    CHECK(h_request(&t, "GET", "/~/in-cse/Crep", "Crep", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_request(&t, "GET", "/~/in-cse/Crep/box", "Crep", 0, NULL, &resp) == 0);
    CHECK_EQ_INT(resp.rsc, 2000);
    CHECK(h_register_ae(&t, "Crep", "Rrep", &resp) == 4117); /* already registered: it is the same Registree */
    h_close(&t);

    /* the other Registree was never touched */
    CHECK(h_connect_psk(&t, r.port, "Cother", K2, 0) == 0);
    h_close(&t);

    h_registrar_stop(&r, 15);
    h_registrar_cleanup(&r);
    return h_done("it_replace");
}
