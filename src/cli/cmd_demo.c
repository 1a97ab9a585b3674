/* SPDX-License-Identifier: Apache-2.0 */
/* m2mattach demo: every step of the seed's flows over real TLS (and CoAP over DTLS) on loopback, against a real
 * Registrar with a temporary SQLite store, printing each step with its time. Nothing is faked: the Registrar and
 * the Registrees are the same code `registrar serve` and `attach` run. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/demo.h"
#include "crypto/secret.h"
#include "m2mattach/registrar.h"
#include "m2mattach/registree.h"
#include "onem2m/status.h"
#include "registrar/enrolment.h"
#include "secctx/token.h"
#include "util/hex.h"

typedef struct demo {
    char camera_hash[65];
    char dir[64];
    char db[128];
    char log[128];
    int port;
    int coaps_port;  /* the CoAPS listener (TS-0008 over DTLS 1.2) */
    const char *poa; /* the PoA written into the next details file: "https" or "coaps" */
    int failures;
    FILE *registrar_log;
    m2m_registrar *registrar;
    demo_gba gba;
} demo;

double demo_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void demo_step(const char *label, const char *what, double ms, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (ms >= 0)
        printf("%-8s %-25s %-70s %7.2f ms\n", label, what, text, ms);
    else
        printf("%-8s %-25s %s\n", label, what, text);
}

void demo_detail(const char *fmt, ...)
{
    va_list ap;
    printf("%-8s %-25s ", "", "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void verdict(demo *d, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verdict(demo *d, int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%-8s %-25s %s ", "", "", ok ? "->" : "!! UNEXPECTED:");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!ok)
        d->failures++;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t n = strlen(text);
    int ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

/* Step 1 for one Registree: a fresh 256-bit key, enrolled at the Registrar and handed to the device (Step 2) as a
 * key file next to its attachment-details file. */
static int enrol_and_brief(demo *d, const char *id, const char *file, const char *app_id, char key_id[33])
{
    m2m_secret key = {0};
    m2m_err err = {0};
    char hex[2 * M2M_SECRET_MAX + 2], path[256], ini[1024];
    double t0 = demo_now_ms();
    int rc = -1;
    m2m_enrol_spec spec = {.registree_id = id, .mechanism = "psk", .key = &key};
    m2m_enrol_result res;

    if (m2m_secret_random(&key, 32, &err) != 0 || m2m_enrol(d->db, &spec, &res, &err) != 0) {
        fprintf(stderr, "demo: enrolment of %s failed: %s\n", id, err.msg);
        goto done;
    }
    memcpy(key_id, res.key_id, 33); /* a key ID is 32 hex */
    key_id[32] = '\0';
    demo_step("Step 1", "Enrolment", demo_now_ms() - t0, "%-4s %-14s %s %s (key shared out of band)",
         id[0] == '/' ? "CSE" : "AE", id, id[0] == '/' ? "Kcc_ID" : "Kca_ID", key_id);
    m2m_hex_encode(key.bytes, key.len, hex);
    strcat(hex, "\n");
    snprintf(path, sizeof path, "%s/%s.key", d->dir, file);
    if (write_file(path, hex, 0600) != 0)
        goto done;
    snprintf(ini, sizeof ini,
             "; attachment details (Step 2) for %s\n[registrar]\npoa = %s://127.0.0.1:%d\ncse-id = /in-cse\n\n"
             "[registree]\nid = %s\n%s%s%s\n[credentials]\nmechanism = psk\nkey-file = %s.key\n",
             id, d->poa != NULL ? d->poa : "https", d->poa != NULL ? d->coaps_port : d->port, id, app_id ? "app-id = " : "cse-base = ", app_id ? app_id : "gw-base", "\n", file);
    snprintf(path, sizeof path, "%s/%s.ini", d->dir, file);
    if (write_file(path, ini, 0600) != 0)
        goto done;
    rc = 0;
done:
    m2m_wipe(hex, sizeof hex);
    m2m_secret_clear(&key);
    return rc;
}

enum { EXPECT_OK = 1, NO_RESUME = 2, REKEY = 4 };

/* Steps 4 and 5 (or x.y.3 / x.y.4 when already registered; Step 6 with REKEY) from a details file, as
 * `m2mattach attach [--no-resume] [--rekey]` does. */
static m2m_registree *attach(demo *d, const char *file, m2m_registree_config **cfg_out, m2m_attach_info *info,
                             int flags)
{
    int expect_ok = flags & EXPECT_OK;
    char path[256];
    m2m_err err = {0};
    m2m_registree_config *cfg;
    m2m_registree *r;

    snprintf(path, sizeof path, "%s/%s.ini", d->dir, file);
    cfg = m2m_registree_config_load(path, &err);
    r = cfg ? m2m_registree_new(cfg, &err) : NULL;
    if (r == NULL) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d->failures++;
        m2m_registree_config_free(cfg);
        return NULL;
    }
    memset(info, 0, sizeof *info);
    if (flags & NO_RESUME)
        m2m_registree_set_resumption(r, 0);
    if (((flags & REKEY) ? m2m_registree_rekey(r, info) : m2m_registree_attach(r, info)) != 0) {
        if (expect_ok) {
            fprintf(stderr, "demo: attachment failed: %s\n", m2m_registree_error(r));
            d->failures++;
        }
        *cfg_out = cfg;
        return r;
    }
    *cfg_out = cfg;
    return r;
}

static int send(m2m_registree *r, const char *method, const char *path, int ty, const char *body, const char *from,
                m2m_reply *reply, double *ms)
{
    m2m_request req = {method, path, ty, body, from, NULL, NULL};
    double t0 = demo_now_ms();
    int rc;
    memset(reply, 0, sizeof *reply);
    rc = m2m_registree_send(r, &req, reply);
    *ms = demo_now_ms() - t0;
    return rc == 0 ? reply->rsc : -1;
}

static void close_registree(m2m_registree *r, m2m_registree_config *cfg)
{
    m2m_registree_free(r);
    m2m_registree_config_free(cfg);
}

/* x.y.6 and x.y.7: the two PKI mechanisms, on the same port as PSK. */
static void pki_flows(demo *d)
{
    m2m_registree_config *cfg = NULL;
    m2m_registree *r = NULL;
    m2m_attach_info info;
    m2m_err err = {0};
    char ini[1024], path[256], token[64];
    double t0;
    m2m_enrol_spec spec = {.registree_id = "Cdemo-camera", .mechanism = "cert", .pubkey_hash = d->camera_hash};
    m2m_enrol_result res;
    int erc;

    printf("\n-- x.y.6 Initial attachment with PKI and a client certificate --------------------------------\n");
    t0 = demo_now_ms();
    if (m2m_enrol(d->db, &spec, &res, &err) != 0) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d->failures++;
        return;
    }
    demo_step("Step 1", "Enrolment", demo_now_ms() - t0, "AE   Cdemo-camera   public-key hash %.16s... (self-signed certificate)",
         d->camera_hash);
    snprintf(ini, sizeof ini,
             "[registrar]\npoa = https://127.0.0.1:%d\ncse-id = /in-cse\nroot-cert = root.crt\n\n[registree]\n"
             "id = Cdemo-camera\napp-id = Rdemo.camera\n\n[credentials]\nmechanism = cert\ncert-file = camera.crt\n"
             "key-file = camera.key\n", d->port);
    snprintf(path, sizeof path, "%s/camera.ini", d->dir);
    if (write_file(path, ini, 0600) != 0) {
        d->failures++;
        return;
    }
    demo_step("Step 2", "Attachment details", -1, "camera.ini: Registrar root certificate and CSE-ID, own certificate + key");
    r = attach(d, "camera", &cfg, &info, 1);
    if (r != NULL && info.assigned_id[0] != '\0') {
        demo_step("Step 4", "Security context", info.handshake_ms, "%s %s: Registrar chain and CSE-ID /in-cse verified; "
             "client key matches the enrolled hash", info.tls_version, info.cipher);
        demo_step("Step 5", "Registration", info.registration_ms, "CREATE <AE> -> 2001 CREATED, AE-ID %s",
             info.assigned_id);
    }
    close_registree(r, cfg);
    r = NULL, cfg = NULL;

    printf("\n-- x.y.7 Initial attachment with PKI and an identity token ----------------------------------\n");
    t0 = demo_now_ms();
    spec = (m2m_enrol_spec){.registree_id = "Cdemo-meter", .mechanism = "token", .expires = (int64_t)time(NULL) + 3600};
    erc = m2m_enrol(d->db, &spec, &res, &err);
    snprintf(token, sizeof token, "%s", res.token);
    m2m_wipe(&res, sizeof res);
    if (erc != 0) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d->failures++;
        return;
    }
    demo_step("Step 1", "Enrolment", demo_now_ms() - t0, "AE   Cdemo-meter    128-bit identity token, single use, 1 h "
         "(the store keeps its SHA-256)");
    for (int copy = 0; copy < 2; copy++) {
        snprintf(ini, sizeof ini,
                 "[registrar]\npoa = https://127.0.0.1:%d\ncse-id = /in-cse\nroot-cert = root.crt\n\n[registree]\n"
                 "id = Cdemo-meter\napp-id = Rdemo.meter\n\n[credentials]\nmechanism = token\ntoken-file = meter.token\n",
                 d->port);
        snprintf(path, sizeof path, "%s/%s.ini", d->dir, copy ? "meter-copy" : "meter");
        if (write_file(path, ini, 0600) != 0) {
            d->failures++;
            break;
        }
        if (copy == 0) {
            char tokfile[160], line[80];
            snprintf(tokfile, sizeof tokfile, "%s/meter.token", d->dir);
            snprintf(line, sizeof line, "%s\n", token);
            if (write_file(tokfile, line, 0600) != 0) {
                d->failures++;
                break;
            }
            demo_step("Step 2", "Attachment details", -1, "meter.ini: Registrar root certificate and CSE-ID, the token");
        }
        r = attach(d, copy ? "meter-copy" : "meter", &cfg, &info, copy == 0);
        if (copy == 0 && r != NULL && info.assigned_id[0] != '\0') {
            demo_step("Step 4", "Security context", info.handshake_ms, "%s %s: only the Registrar is authenticated here",
                 info.tls_version, info.cipher);
            demo_step("Step 5", "Registration", info.registration_ms, "CREATE <AE> + Authorization: Bearer <token> -> 2001, "
                 "context bound to %s", info.assigned_id);
        } else if (copy == 1) {
            demo_step("attack", "Reused token", -1, "a second device presents the same token");
            verdict(d, r != NULL && info.assigned_id[0] == '\0' && strstr(m2m_registree_error(r), "4106") != NULL,
                    "%.220s", r ? m2m_registree_error(r) : "?");
        }
        close_registree(r, cfg);
        r = NULL, cfg = NULL;
    }
    m2m_wipe(token, sizeof token);
}

/* x.y.8.3: PKI first, then a Kca generated over that session, then PSK re-attachment with it. */
static void keygen_flow(demo *d)
{
    m2m_registree_config *cfg = NULL;
    m2m_registree *r = NULL;
    m2m_attach_info info;

    printf("\n-- x.y.8 Kca generation after PKI (x.y.8.3): certificate -> new Kca -> PSK re-attachment ----\n");
    r = attach(d, "camera", &cfg, &info, EXPECT_OK | NO_RESUME | REKEY);
    if (r != NULL && info.generated_key_id[0] != '\0') {
        demo_step("Step 4", "Security context", info.handshake_ms, "Cdemo-camera (cert): %s %s, ephemeral ECDHE",
             info.tls_version, info.cipher);
        demo_step("Step 6", "Key generation", -1, "CREATE <keyGeneration> -> 2001, Kca_ID %s", info.generated_key_id);
        demo_detail("both ends took the TLS exporter (EXPORTER-oneM2M-Connection); only the ID crossed the wire");
    } else {
        d->failures++;
    }
    close_registree(r, cfg);
    r = NULL, cfg = NULL;
    r = attach(d, "camera", &cfg, &info, EXPECT_OK | NO_RESUME);
    if (r != NULL && info.assigned_id[0] != '\0') {
        demo_step("Step 4", "Security context", info.handshake_ms, "Cdemo-camera now uses TLS-PSK: %s %s, Kca_ID %s",
             info.tls_version, info.cipher, info.key_id);
        verdict(d, info.generated_key && strcmp(info.mechanism, "psk") == 0,
                "x.y.3 re-attachment with the generated key; the Registrar made it current");
    }
    close_registree(r, cfg);
}

static void run(demo *d)
{
    char kid_ae[33], kid_cse[33];
    m2m_registree_config *cfg = NULL, *gw_cfg = NULL;
    m2m_registree *r = NULL, *gw = NULL;
    m2m_attach_info info;
    m2m_reply reply;
    double ms;
    int rsc;

    printf("\n-- Step 1 Enrolment and Step 2 Attachment details ------------------------------------------\n");
    if (enrol_and_brief(d, "Cdemo-sensor", "sensor", "Rdemo.thermometer", kid_ae) != 0 ||
        enrol_and_brief(d, "/mn-gateway", "gateway", NULL, kid_cse) != 0) {
        d->failures++;
        return;
    }
    demo_step("Step 2", "Attachment details", -1, "sensor.ini and gateway.ini: Registrar PoA + CSE-ID, own ID, key file (0600)");

    printf("\n-- x.y.2 Initial attachment with Kca/Kcc (TLS-PSK, psk_identity = key ID) --------------------\n");
    r = attach(d, "sensor", &cfg, &info, 1);
    if (r == NULL || info.assigned_id[0] == '\0')
        goto done;
    demo_step("Step 4", "Security context", info.handshake_ms, "AE Cdemo-sensor: %s %s, mutual PSK authentication",
         info.tls_version, info.cipher);
    demo_step("Step 5", "Registration", info.registration_ms, "CREATE <AE> -> 2001 CREATED, AE-ID %s bound to this context",
         info.assigned_id);
    gw = attach(d, "gateway", &gw_cfg, &info, 1);
    if (gw == NULL || info.assigned_id[0] == '\0')
        goto done;
    demo_step("Step 4", "Security context", info.handshake_ms, "CSE /mn-gateway: %s %s", info.tls_version, info.cipher);
    demo_step("Step 5", "Registration", info.registration_ms, "CREATE <remoteCSE> -> 2001 CREATED, CSE-ID %s",
         info.assigned_id);

    printf("\n-- Working over the attached session --------------------------------------------------------\n");
    rsc = send(r, "POST", "/~/in-cse/Cdemo-sensor", 3, "{\"m2m:cnt\":{\"rn\":\"temperature\"}}", NULL, &reply, &ms);
    demo_step("request", "CREATE <container>", ms, "cse-base/Cdemo-sensor/temperature -> %d %s", rsc, m2m_rsc_name(rsc));
    if (rsc != M2M_RSC_CREATED)
        d->failures++;
    m2m_reply_free(&reply);
    rsc = send(r, "POST", "/cse-base/Cdemo-sensor/temperature", 4, "{\"m2m:cin\":{\"cnf\":\"text/plain:0\",\"con\":\"21.5\"}}",
               NULL, &reply, &ms);
    demo_step("request", "CREATE <contentInstance>", ms, "con \"21.5\" -> %d %s", rsc, m2m_rsc_name(rsc));
    if (rsc != M2M_RSC_CREATED)
        d->failures++;
    m2m_reply_free(&reply);
    rsc = send(r, "GET", "/cse-base/Cdemo-sensor/temperature", 0, NULL, NULL, &reply, &ms);
    demo_step("request", "RETRIEVE <container>", ms, "-> %d %s, %s", rsc, m2m_rsc_name(rsc),
         reply.body && strstr(reply.body, "\"cni\":1") ? "1 content instance" : "?");
    m2m_reply_free(&reply);
    close_registree(r, cfg);
    r = NULL, cfg = NULL;

    printf("\n-- x.y.3 Re-attachment with Kca (a new process, state file says registered) ------------------\n");
    r = attach(d, "sensor", &cfg, &info, EXPECT_OK | NO_RESUME);
    if (r == NULL || info.assigned_id[0] == '\0')
        goto done;
    demo_step("Step 4", "Security context", info.handshake_ms, "AE %s: %s %s", info.assigned_id, info.tls_version,
         info.cipher);
    demo_step("Step 5", "Registration", -1, info.created ? "!! CREATE sent again" : "skipped: already registered (x.y.3)");
    if (info.created)
        d->failures++;
    rsc = send(r, "GET", "/cse-base/Cdemo-sensor/temperature", 0, NULL, NULL, &reply, &ms);
    demo_step("request", "RETRIEVE <container>", ms, "-> %d %s: the data written before is there", rsc, m2m_rsc_name(rsc));
    m2m_reply_free(&reply);
    close_registree(r, cfg);
    r = NULL, cfg = NULL;

    printf("\n-- x.y.4 Re-attachment with TLS session resumption (the ticket kept in the state file) -------\n");
    r = attach(d, "sensor", &cfg, &info, EXPECT_OK);
    if (r == NULL || info.assigned_id[0] == '\0')
        goto done;
    demo_step("Step 4", "Session resumed", info.handshake_ms, "AE %s: %s %s, %s", info.assigned_id, info.tls_version,
         info.cipher, info.resumed ? "ticket accepted, binding restored from it" : "!! not resumed");
    if (!info.resumed)
        d->failures++;
    else if (info.full_handshake_ms > 0)
        demo_detail("the last full handshake took %.2f ms: resumption saved %.2f ms", info.full_handshake_ms,
               info.full_handshake_ms - info.handshake_ms);

    printf("\n-- The context speaks only as itself (security notes of x.y.2) -------------------------------\n");
    rsc = send(r, "GET", "/~/in-cse/Cdemo-sensor", 0, NULL, "/mn-gateway", &reply, &ms);
    demo_step("attack", "Spoofed originator", ms, "From /mn-gateway on Cdemo-sensor's connection");
    verdict(d, rsc == M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "%d %s (refused)", rsc, m2m_rsc_name(rsc));
    m2m_reply_free(&reply);
    rsc = send(gw, "DELETE", "/cse-base/Cdemo-sensor", 0, NULL, NULL, &reply, &ms);
    demo_step("attack", "Foreign resource", ms, "/mn-gateway tries to DELETE Cdemo-sensor's <AE>");
    verdict(d, rsc == M2M_RSC_NOT_FOUND, "%d %s (refused: answered as if it did not exist)", rsc, m2m_rsc_name(rsc));
    m2m_reply_free(&reply);
    close_registree(r, cfg);
    r = NULL, cfg = NULL;

    pki_flows(d);
    keygen_flow(d);

    printf("\n-- Revocation: the operator runs `m2mattach enrol revoke --registree-id Cdemo-sensor` ----------\n");
    {
        m2m_err err = {0};
        double t0 = demo_now_ms();
        /* The same call `enrol revoke` makes, on its own store connection, as the operator's would be. */
        if (m2m_enrol_revoke(d->db, "Cdemo-sensor", &err) != 0) {
            fprintf(stderr, "demo: revoke failed: %s\n", err.msg);
            d->failures++;
        }
        demo_step("Step 1", "Enrolment revoked", demo_now_ms() - t0, "Cdemo-sensor");
        r = attach(d, "sensor", &cfg, &info, 0);
        demo_step("Step 4", "Security context", -1, "Cdemo-sensor tries to re-attach with its old key");
        verdict(d, r != NULL && info.assigned_id[0] == '\0', "handshake refused: %.120s",
                r ? m2m_registree_error(r) : "?");
    }
done:
    close_registree(r, cfg);
    close_registree(gw, gw_cfg);
}

/* x.y.5: GBA. The device holds a USIM (K, OPc), bootstraps with the BSF over Ub and attaches with Ks_NAF; the
 * Registrar, a NAF, gets Ks_NAF over Zn. */
/* The same PSK attachment for a constrained device: CoAP (TS-0008) over DTLS 1.2 on the CoAPS listener, the same
 * enrolment, binding decision and CSE behind it. */
static void coap_flow(demo *d)
{
    char kid[33];
    m2m_registree_config *cfg = NULL;
    m2m_registree *r = NULL;
    m2m_attach_info info;
    m2m_reply reply;
    double ms;
    int rsc;

    printf("\n-- CoAP over DTLS (TS-0008): a constrained device, the same Steps ----------------------------\n");
    d->poa = "coaps";
    rsc = enrol_and_brief(d, "Cdemo-valve", "valve", "Rdemo.valve", kid);
    d->poa = NULL;
    if (rsc != 0) {
        d->failures++;
        return;
    }
    demo_step("Step 2", "Attachment details", -1, "valve.ini: poa = coaps://127.0.0.1:%d, CSE-ID, own ID, key file",
         d->coaps_port);
    r = attach(d, "valve", &cfg, &info, EXPECT_OK);
    if (r == NULL || info.assigned_id[0] == '\0')
        goto done;
    demo_step("Step 4", "Security context", info.handshake_ms, "AE Cdemo-valve: %s %s, DTLS-PSK with HelloVerifyRequest "
         "cookie", info.tls_version, info.cipher);
    demo_step("Step 5", "Registration", info.registration_ms, "CoAP POST (oneM2M-TY 2) -> 2.01, RSC 2001, AE-ID %s",
         info.assigned_id);
    rsc = send(r, "POST", "/~/in-cse/Cdemo-valve", 3, "{\"m2m:cnt\":{\"rn\":\"state\"}}", NULL, &reply, &ms);
    demo_step("request", "CREATE <container>", ms, "cse-base/Cdemo-valve/state over CoAP -> %d %s", rsc, m2m_rsc_name(rsc));
    verdict(d, rsc == M2M_RSC_CREATED, "a request over the DTLS session is served like one over TLS");
    m2m_reply_free(&reply);
    rsc = send(r, "GET", "/~/in-cse/Cdemo-valve", 0, NULL, "Cdemo-sensor", &reply, &ms);
    demo_step("attack", "Spoofed originator", ms, "From Cdemo-sensor on Cdemo-valve's DTLS session");
    verdict(d, rsc == M2M_RSC_ORIGINATOR_NOT_AUTHENTICATED, "refused with %d %s: the DTLS session is bound to "
            "Cdemo-valve", rsc, m2m_rsc_name(rsc));
    m2m_reply_free(&reply);
done:
    close_registree(r, cfg);
}

static void gba_flow(demo *d)
{
    m2m_registree_config *cfg = NULL;
    m2m_registree *r = NULL;
    m2m_attach_info info;
    m2m_err err = {0};
    char ini[1024], path[256];
    double t0;
    m2m_enrol_spec spec = {.registree_id = "Cdemo-phone", .mechanism = "gba", .impi = d->gba.impi};
    m2m_enrol_result res;

    printf("\n-- x.y.5 GBA-based attachment: the Registree bootstraps with an HSS + BSF --------------------\n");
    demo_step("Step 0", "HSS + BSF", -1, "bsf.m2m.localhost: Ub http://127.0.0.1:%d, Zn https://localhost:%d (mutual TLS)",
         d->gba.ub_port, d->gba.zn_port);
    demo_detail("subscriber %s: a USIM with fresh K and OPc (Milenage), in usim.k and usim.opc (0600)", d->gba.impi);
    t0 = demo_now_ms();
    if (m2m_enrol(d->db, &spec, &res, &err) != 0) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d->failures++;
        return;
    }
    demo_step("Step 1", "Enrolment", demo_now_ms() - t0, "AE   Cdemo-phone    IMPI %.40s... (no key at the Registrar)",
         d->gba.impi);
    snprintf(ini, sizeof ini,
             "; attachment details (Step 2) for Cdemo-phone\n[registrar]\npoa = https://127.0.0.1:%d\ncse-id = /in-cse\n\n"
             "[registree]\nid = Cdemo-phone\napp-id = Rphone\n\n[credentials]\nmechanism = gba\n\n[gba]\n"
             "bsf = http://127.0.0.1:%d\nimpi = %s\nk-file = usim.k\nopc-file = usim.opc\nnaf-fqdn = %s\n",
             d->port, d->gba.ub_port, d->gba.impi, DEMO_NAF_FQDN);
    snprintf(path, sizeof path, "%s/phone.ini", d->dir);
    if (write_file(path, ini, 0600) != 0) {
        d->failures++;
        return;
    }
    demo_step("Step 2", "Attachment details", -1, "phone.ini: Registrar PoA + CSE-ID, BSF, IMPI, the USIM's key files");
    t0 = demo_now_ms();
    r = attach(d, "phone", &cfg, &info, EXPECT_OK);
    if (r != NULL && info.assigned_id[0] != '\0') {
        demo_step("Step 3", "Bootstrapping (Ub)", -1, "HTTP Digest AKA (AKAv1-MD5): %s", info.gba_bootstrapped
             ? "AUTN verified by the USIM, RES accepted by the BSF" : "!! no bootstrapping");
        demo_detail("B-TID %s, valid until %s; Ks = CK || IK at both ends", info.gba_btid, info.gba_lifetime);
        demo_step("Step 4", "Security context", info.handshake_ms, "%s %s, psk_identity 3GPP-bootstrapping.<B-TID>, key "
             "Ks_NAF", info.tls_version, info.cipher);
        demo_detail("the Registrar (NAF %s) got Ks_NAF and the IMPI from the BSF over Zn", DEMO_NAF_FQDN);
        demo_step("Step 5", "Registration", info.registration_ms, "CREATE <AE> -> 2001 CREATED, AE-ID %s (the IMPI's "
             "enrolled ID)", info.assigned_id);
        demo_detail("all of Steps 3-5 took %.2f ms", demo_now_ms() - t0);
    }
    verdict(d, r != NULL && info.created && info.gba_bootstrapped, "GBA attachment %s",
            r != NULL && info.created ? "done" : "failed");
    close_registree(r, cfg);
    r = attach(d, "phone", &cfg, &info, EXPECT_OK);
    if (r != NULL && info.assigned_id[0] != '\0')
        demo_step("Step 4", "Re-attachment", info.handshake_ms, "%s: the saved B-TID, no Ub; %s", info.assigned_id,
             info.resumed ? "session resumed (x.y.4)" : "full handshake, Ks_NAF cached at the NAF");
    verdict(d, r != NULL && !info.created && !info.gba_bootstrapped, "no new bootstrapping, no registration");
    close_registree(r, cfg);
}

static void demo_usage(FILE *out)
{
    fprintf(out, "usage: m2mattach demo [--keep]\n\n"
                 "Starts a Registrar on 127.0.0.1 with a temporary SQLite store, enrols an AE and a CSE, and runs\n"
                 "initial attachment, work over the attached session, re-attachment, a spoofed originator, a\n"
                 "foreign-resource access and a revoked key, printing each seed step with its time; then the\n"
                 "PKI mechanisms (x.y.6, x.y.7), key generation (x.y.8) and GBA (x.y.5: an HSS + BSF is started,\n"
                 "a USIM subscriber added, the device bootstraps over Ub and attaches through the Registrar as NAF),\n"
                 "and Step 2 from the network: a second, Briefing Registrar briefs a device to attach with a token.\n"
                 "--keep leaves the temporary directory (store, Registrar log, details files) for inspection.\n");
}

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"keep", no_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    demo d;
    m2m_registrar_config *cfg = NULL;
    m2m_err err = {0};
    int keep = 0, c;
    double t0;
    char reg_crt[128], reg_key[128];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': keep = 1; break;
        case 'h': demo_usage(stdout); return 0;
        default: demo_usage(stderr); return 2;
        }
    }
    memset(&d, 0, sizeof d);
    signal(SIGPIPE, SIG_IGN);
    snprintf(d.dir, sizeof d.dir, "/tmp/m2mattach-demo-XXXXXX");
    if (mkdtemp(d.dir) == NULL) {
        fprintf(stderr, "demo: cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    snprintf(d.db, sizeof d.db, "%s/registrar.db", d.dir);
    snprintf(d.log, sizeof d.log, "%s/registrar.log", d.dir);
    printf("m2mattach demo: oneM2M secure attachment (SEC-2014-0050) over real TLS on 127.0.0.1\n");
    printf("working directory %s\n", d.dir);

    printf("\n-- Step 0 Pre-enrolment: the Registrar CSE --------------------------------------------------\n");
    t0 = demo_now_ms();
    snprintf(reg_crt, sizeof reg_crt, "%s/registrar.crt", d.dir);
    snprintf(reg_key, sizeof reg_key, "%s/registrar.key", d.dir);
    d.registrar_log = fopen(d.log, "w");
    cfg = m2m_registrar_config_new();
    if (d.registrar_log == NULL || cfg == NULL ||
        m2m_registrar_init_store(d.db, "/in-cse", "cse-base", NULL, NULL, NULL, NULL, &err) != 0 ||
        m2m_registrar_config_set_db(cfg, d.db, &err) != 0 ||
        m2m_registrar_config_set_https(cfg, "127.0.0.1:0", &err) != 0 ||
        m2m_registrar_config_set_threads(cfg, 2, &err) != 0 ||
        m2m_registrar_config_set_coaps(cfg, "127.0.0.1:0", &err) != 0 ||
        demo_make_pki(d.dir, "Cdemo-camera", "camera", d.camera_hash, &err) != 0 ||
        m2m_registrar_config_set_cert(cfg, reg_crt, reg_key, NULL, &err) != 0 ||
        demo_gba_start(d.dir, &d.gba, &err) != 0) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d.failures++;
        goto done;
    }
    {
        /* x.y.5: the Registrar is also the NAF of the demo's BSF */
        char bsf_url[64], root[128], naf_crt[128], naf_key[128];
        snprintf(bsf_url, sizeof bsf_url, "https://localhost:%d", d.gba.zn_port);
        snprintf(root, sizeof root, "%s/gba-root.crt", d.dir);
        snprintf(naf_crt, sizeof naf_crt, "%s/naf.crt", d.dir);
        snprintf(naf_key, sizeof naf_key, "%s/naf.key", d.dir);
        if (m2m_registrar_config_set_gba(cfg, bsf_url, root, naf_crt, naf_key, DEMO_NAF_FQDN, 0, &err) != 0)
            d.failures++;
    }
    if (d.failures != 0) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d.failures++;
        goto done;
    }
    m2m_registrar_config_set_log(cfg, d.registrar_log);
    d.registrar = m2m_registrar_start(cfg, &err);
    if (d.registrar == NULL) {
        fprintf(stderr, "demo: %s\n", err.msg);
        d.failures++;
        goto done;
    }
    d.port = m2m_registrar_https_port(d.registrar);
    d.coaps_port = m2m_registrar_coaps_port(d.registrar);
    demo_step("Step 0", "Registrar", demo_now_ms() - t0, "CSE-ID /in-cse, CSEBase cse-base, listening https://127.0.0.1:%d "
         "and coaps://127.0.0.1:%d", d.port, d.coaps_port);
    demo_detail("certificate: DNS in-cse.m2m.localhost + URI /in-cse, from a lab root (name-constrained to m2m.localhost)");
    demo_detail("one port: TLS-PSK (TLS 1.2 ECDHE-PSK / PSK suites, TLS 1.3 PSK), client certificates, identity tokens");

    run(&d);
    coap_flow(&d);
    gba_flow(&d);
    d.failures += demo_briefing(d.dir, d.db, d.port);

done:
    m2m_registrar_stop(d.registrar);
    m2m_registrar_config_free(cfg);
    demo_gba_stop(&d.gba);
    if (d.registrar_log != NULL) {
        char line[1024];
        fclose(d.registrar_log);
        printf("\n-- The Registrar's log (one line per attachment; keys never appear) -------------------------\n");
        d.registrar_log = fopen(d.log, "r");
        while (d.registrar_log != NULL && fgets(line, sizeof line, d.registrar_log) != NULL)
            fputs(line, stdout);
        if (d.registrar_log != NULL)
            fclose(d.registrar_log);
        d.registrar_log = fopen(d.gba.log_path, "r");
        if (d.registrar_log != NULL)
            printf("\n-- The BSF's log (Ub bootstrappings and Zn requests; keys never appear) ----------------------\n");
        while (d.registrar_log != NULL && fgets(line, sizeof line, d.registrar_log) != NULL)
            fputs(line, stdout);
        if (d.registrar_log != NULL)
            fclose(d.registrar_log);
    }
    if (!keep) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "demo: could not remove %s\n", d.dir);
    }
    printf("\n%s\n", d.failures == 0 ? "demo finished: every step behaved as the seed requires"
                                      : "demo FAILED: see the lines marked above");
    return d.failures == 0 ? 0 : 1;
}
