/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of `m2mattach demo` kept out of the main flow. */
#ifndef M2M_CLI_DEMO_H
#define M2M_CLI_DEMO_H

#include <stdio.h>

#include "bsf/bsf.h"
#include "m2mattach/error.h"

/* The demo's output (cmd_demo.c). One line per step: "Step 4  Security context  ...  1.23 ms" (ms < 0: no time);
 * a detail line under it. */
double demo_now_ms(void);
void demo_step(const char *label, const char *what, double ms, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void demo_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Step 2 from the network (cli/demo_briefing.c): a Briefing Registrar of its own (/brief-cse, a store in dir) briefs
 * the device Cdemo-tracker, enrolled there with a PSK, to attach to the demo's Registrar (target_port, target_db:
 * /in-cse with the lab root dir/root.crt) with an identity token; the device reads its briefing, writes its details
 * for the target and attaches there. Returns the number of unexpected outcomes (each printed). */
int demo_briefing(const char *dir, const char *target_db, int target_port);

/* A lab PKI in dir: root.crt/.key (Registrar Root, name-constrained to m2m.localhost), registrar.crt/.key
 * (dNSName in-cse.m2m.localhost, URI /in-cse) and <device_file>.crt/.key, a self-signed device certificate for
 * device_id; pubkey_hash gets the device key's SHA-256 SPKI hash (what the operator enrols). */
int demo_make_pki(const char *dir, const char *device_id, const char *device_file, char pubkey_hash[65],
                  m2m_err *err);

/* x.y.5: the demo's HSS + BSF (cli/demo_gba.c). The Registrar is the NAF DEMO_NAF_FQDN. */
#define DEMO_NAF_FQDN "cse.localhost"
typedef struct demo_gba {
    m2m_bsf *bsf;
    FILE *log;
    char db[160], log_path[160];
    char impi[64];
    int ub_port, zn_port;
} demo_gba;
/* Zn certificates in dir (gba-root.crt, bsf.crt/.key, naf.crt/.key), a BSF store with one subscriber whose fresh K
 * and OPc go to dir/usim.k and dir/usim.opc (0600), and the BSF on 127.0.0.1 (Ub plain HTTP, Zn mutual TLS). */
int demo_gba_start(const char *dir, demo_gba *g, m2m_err *err);
void demo_gba_stop(demo_gba *g);

#endif
