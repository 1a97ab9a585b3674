/* SPDX-License-Identifier: Apache-2.0 */
/* The demo's Step 2 from the network (demo.h): a second, Briefing Registrar briefs a device to attach to the demo's
 * Registrar with an identity token. The same calls `briefing add` and `attach --briefing` make. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/demo.h"
#include "crypto/secret.h"
#include "m2mattach/registrar.h"
#include "m2mattach/registree.h"
#include "registrar/briefing.h"
#include "registrar/enrolment.h"
#include "registree/state.h"
#include "util/atomic_write.h"
#include "util/hex.h"

#define TRACKER "Cdemo-tracker"

/* Step 1 at the Briefing Registrar: the one credential the tracker is made with, and its details file for it. */
static int enrol_tracker(const char *dir, const char *bdb, int bport, m2m_err *err)
{
    m2m_secret key = {0};
    m2m_enrol_spec spec = {.registree_id = TRACKER, .mechanism = "psk", .key = &key};
    m2m_enrol_result res;
    char hex[2 * M2M_SECRET_MAX + 2], path[256], ini[512];
    int rc = -1;

    if (m2m_secret_random(&key, 32, err) != 0 || m2m_enrol(bdb, &spec, &res, err) != 0)
        goto done;
    m2m_hex_encode(key.bytes, key.len, hex);
    strcat(hex, "\n");
    snprintf(path, sizeof path, "%s/tracker.key", dir);
    if (m2m_write_atomic(path, hex, strlen(hex), 0600, 0, NULL, err) != 0)
        goto done;
    snprintf(ini, sizeof ini, "; made into the tracker: its Briefing Registrar only\n[registrar]\n"
             "poa = https://127.0.0.1:%d\ncse-id = /brief-cse\n\n[registree]\nid = " TRACKER "\napp-id = "
             "Rdemo.tracker\n\n[credentials]\nmechanism = psk\nkey-file = tracker.key\n", bport);
    snprintf(path, sizeof path, "%s/tracker.ini", dir);
    rc = m2m_write_atomic(path, ini, strlen(ini), 0600, 0, NULL, err);
done:
    m2m_wipe(hex, sizeof hex);
    m2m_secret_clear(&key);
    return rc;
}

/* The operator's side: an identity token issued at the target, put into the tracker's briefing with the target's
 * root certificate. The token is in no file and never printed. */
static int prepare(const char *dir, const char *bdb, const char *target_db, int target_port, m2m_err *err)
{
    m2m_enrol_spec es = {.registree_id = TRACKER, .mechanism = "token", .expires = (int64_t)time(NULL) + 3600};
    m2m_enrol_result res;
    char poa[64], root[256], *pem = NULL;
    m2m_briefing_spec bs = {.registree_id = TRACKER, .target_poa = poa, .target_cse_id = "/in-cse",
                            .target_cse_name = "cse-base", .app_id = "Rdemo.tracker", .mechanism = "token"};
    int rc = -1;

    snprintf(poa, sizeof poa, "https://127.0.0.1:%d", target_port);
    snprintf(root, sizeof root, "%s/root.crt", dir);
    if (m2m_read_root_pem("root", root, &pem, err) != 0 || m2m_enrol(target_db, &es, &res, err) != 0)
        goto done;
    bs.token = res.token;
    bs.root_pem = pem;
    rc = m2m_briefing_add(bdb, &bs, err);
done:
    m2m_wipe(&res, sizeof res);
    free(pem);
    return rc;
}

/* The tracker: briefed, then attached to the target; a second read shows the token gone. */
static void tracker(const char *dir, int *failures)
{
    char path[256], out[256];
    m2m_err err = {0};
    m2m_registree_config *bcfg = NULL, *tcfg = NULL;
    m2m_registree *b = NULL, *t = NULL;
    m2m_brief_info bi;
    m2m_attach_info info;
    m2m_reply reply = {0};
    m2m_request req = {"GET", "/~/brief-cse/brf-" TRACKER, 0, NULL, NULL, NULL, NULL};
    double t0 = demo_now_ms();

    snprintf(path, sizeof path, "%s/tracker.ini", dir);
    snprintf(out, sizeof out, "%s/tracker-target.ini", dir);
    if ((bcfg = m2m_registree_config_load(path, &err)) == NULL || (b = m2m_registree_new(bcfg, &err)) == NULL)
        goto fail;
    if (m2m_registree_brief(b, out, NULL, NULL, &bi) != 0) {
        snprintf(err.msg, sizeof err.msg, "%s", m2m_registree_error(b));
        goto fail;
    }
    demo_step("Step 2", "Briefing (network)", demo_now_ms() - t0, "RETRIEVE brf-%s (%s, %s)", TRACKER,
              bi.attach.created ? "registered first" : "no registration", bi.attach.tls_version);
    demo_detail("learnt: attach to %s at %s as %s with a %s%s; wrote tracker-target.ini (0600)", bi.target_cse_id,
                bi.target_poa, bi.target_id, bi.mechanism, bi.credential_received ? " handed out once" : "");
    if (m2m_registree_send(b, &req, &reply) != 0 || reply.rsc != 2000 || strstr(reply.body, "\"token\":") != NULL) {
        demo_detail("!! UNEXPECTED: a second read of the briefing: %d", reply.rsc);
        ++*failures;
    } else {
        demo_detail("-> a second read answers without the token (credentialHandedOut)");
    }
    m2m_wipe(reply.body, reply.body_len);
    m2m_reply_free(&reply);
    if ((tcfg = m2m_registree_config_load(out, &err)) == NULL || (t = m2m_registree_new(tcfg, &err)) == NULL)
        goto fail;
    if (m2m_registree_attach(t, &info) != 0) {
        snprintf(err.msg, sizeof err.msg, "%s", m2m_registree_error(t));
        goto fail;
    }
    demo_step("Step 4", "Security context", info.handshake_ms, "%s %s: /in-cse checked with the briefing's root",
              info.tls_version, info.cipher);
    demo_step("Step 5", "Registration", info.registration_ms, "CREATE <AE> + the briefing's token -> 2001, AE-ID %s",
              info.assigned_id);
    goto done;
fail:
    fprintf(stderr, "demo: briefing: %s\n", err.msg);
    ++*failures;
done:
    m2m_registree_free(t);
    m2m_registree_free(b);
    m2m_registree_config_free(tcfg);
    m2m_registree_config_free(bcfg);
}

int demo_briefing(const char *dir, const char *target_db, int target_port)
{
    char bdb[256], logp[256];
    m2m_registrar_config *cfg = m2m_registrar_config_new();
    m2m_registrar *reg = NULL;
    FILE *log = NULL;
    m2m_err err = {0};
    int failures = 0, bport;
    double t0 = demo_now_ms();

    printf("\n-- Step 2 from the network: a Briefing Registrar tells a device where and how to attach -------\n");
    snprintf(bdb, sizeof bdb, "%s/briefing.db", dir);
    snprintf(logp, sizeof logp, "%s/briefing.log", dir);
    if (cfg == NULL || (log = fopen(logp, "w")) == NULL ||
        m2m_registrar_init_store(bdb, "/brief-cse", "brief-base", NULL, NULL, NULL, NULL, &err) != 0 ||
        m2m_registrar_config_set_db(cfg, bdb, &err) != 0 ||
        m2m_registrar_config_set_https(cfg, "127.0.0.1:0", &err) != 0 ||
        m2m_registrar_config_set_threads(cfg, 1, &err) != 0)
        goto fail;
    m2m_registrar_config_set_log(cfg, log);
    if ((reg = m2m_registrar_start(cfg, &err)) == NULL)
        goto fail;
    bport = m2m_registrar_https_port(reg);
    demo_step("Step 0", "Briefing Registrar", demo_now_ms() - t0, "CSE-ID /brief-cse, https://127.0.0.1:%d (PSK only)",
              bport);
    t0 = demo_now_ms();
    if (enrol_tracker(dir, bdb, bport, &err) != 0 || prepare(dir, bdb, target_db, target_port, &err) != 0)
        goto fail;
    demo_step("Step 1", "Enrolment + briefing", demo_now_ms() - t0, "AE   %-14s PSK here; a token for /in-cse in its "
              "briefing", TRACKER);
    demo_detail("the tracker is made with tracker.ini only: the Briefing Registrar's PoA, CSE-ID and its PSK");
    tracker(dir, &failures);
    goto done;
fail:
    fprintf(stderr, "demo: briefing: %s\n", err.msg);
    failures++;
done:
    m2m_registrar_stop(reg);
    m2m_registrar_config_free(cfg);
    if (log != NULL)
        fclose(log);
    return failures;
}
