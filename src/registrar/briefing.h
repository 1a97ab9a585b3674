/* SPDX-License-Identifier: Apache-2.0 */
/* Step 2 from the network: the Briefing Registrar's <briefing> (root m2m:brf, ty 10101, a project resource type like
 * <keyGeneration>). A device made with one credential for a Briefing Registrar attaches there, RETRIEVEs its
 * briefing, and learns where and how to attach for real: the target CSE-ID and PoA, the ID to use there, the
 * mechanism, the Registrar root certificate, and credential material the Service Provider prepared. Its fields
 * follow TS-0022's [registration] and [authenticationProfile]:
 *
 *   {"registration": {"originatorID", "PoA": [..], "CSEBaseName", "CSE-ID", "appID"},
 *    "authenticationProfile": {"mechanism", "symmKeyID", "symmKeyValue", "token", "trustAnchorCerts", "bsf"},
 *    "credentialHandedOut": "YYYYMMDDTHHMMSS"}
 *
 * One per Registree, a child of the CSEBase whose ri and rn are both brf-<ID without '/'> (so /~/CSE-ID/brf-X
 * addresses it without knowing the CSEBase name), owned by that Registree; only it can read it. A one-time credential
 * (symmKeyValue: a PSK for the target; token: an identity token for the target) is handed out by the first read,
 * which removes it in the same durable unit as it answers (the writer job M2M_W_BRIEF, cse_write.c). Everything here
 * goes through the store's resource API, so it works on any back-end. */
#ifndef M2M_REGISTRAR_BRIEFING_H
#define M2M_REGISTRAR_BRIEFING_H

#include "crypto/secret.h"
#include "m2mattach/error.h"
#include "registrar/cse.h"

/* The members of authenticationProfile that are handed out once. */
#define M2M_BRF_KEY "symmKeyValue"
#define M2M_BRF_TOKEN "token"
#define M2M_BRF_HANDED_OUT "credentialHandedOut"

typedef struct m2m_briefing_spec {
    const char *registree_id;     /* who reads it (the ID enrolled at the Briefing Registrar) */
    const char *target_poa;       /* the target Registrar: https://HOST:PORT or coaps://HOST:PORT */
    const char *target_cse_id;    /* "/target-cse" */
    const char *target_cse_name;  /* its CSEBase name, or NULL */
    const char *target_id;        /* the Registree ID to use there (NULL: registree_id) */
    const char *app_id;           /* the App-ID to register with there, or NULL */
    const char *mechanism;        /* psk, cert, token or gba */
    const char *root_pem;         /* the target Registrar's root certificate (PEM), or NULL */
    const m2m_secret *key;        /* psk: the key enrolled at the target (one-time), or NULL */
    const char *key_id;           /* psk: its key ID */
    const char *token;            /* token: an identity token for the target (one-time), or NULL */
    const char *bsf;              /* gba: the BSF's Ub URL, or NULL */
} m2m_briefing_spec;

/* The resource name (and ri) of a Registree's briefing: "brf-" and the ID without '/'. -1 when the ID cannot make
 * a valid resource name. */
int m2m_briefing_rn(const char *registree_id, char out[M2M_RI_MAX]);
/* Puts the Registree's briefing into the store at db (replacing an earlier one) in one unit. The Registree must be
 * enrolled there (active): M2M_E_NOTFOUND otherwise. */
int m2m_briefing_add(const char *db, const m2m_briefing_spec *spec, m2m_err *err);
/* What m2m_briefing_add checks before it writes (the spec, the Registree's enrolment in db), without writing: a
 * caller that must change another store first (--generate-key) asks this before. */
int m2m_briefing_check(const char *db, const m2m_briefing_spec *spec, m2m_err *err);
/* Removes it; M2M_E_NOTFOUND when there is none. */
int m2m_briefing_remove(const char *db, const char *registree_id, m2m_err *err);
/* Calls cb for every briefing with its public attributes only; credential says what became of the one-time
 * credential: "waiting", "handed out <time>" or "none". */
typedef void (*m2m_briefing_cb)(const char *registree_id, const char *target_cse_id, const char *target_poa,
                                const char *mechanism, const char *credential, void *ctx);
int m2m_briefing_list(const char *db, m2m_briefing_cb cb, void *ctx, m2m_err *err);

/* The CSE: RETRIEVE of a <briefing> by its owner (the caller checked that). Returns 1 when it submitted the write
 * that hands out the one-time credential (answering through call once durable), 0 with the answer in rsp. */
int m2m_cse_briefing_read(m2m_cse *cse, const m2m_resource *target, const m2m_cse_call *call, m2m_prim_rsp *rsp);
/* The writer's side of that (inside its unit): reads the briefing ri, puts its full attributes into *full (malloc'd,
 * the caller wipes and frees it), and stores them without the one-time credential and with credentialHandedOut.
 * *handed_out says whether there was one to hand out (a concurrent read may have taken it first). */
int m2m_briefing_hand_out(m2m_store *st, const char *ri, int64_t now, m2m_resource *full, int *handed_out,
                          m2m_err *err);
/* 1 when stored attributes (JSON text) still hold a one-time credential. */
int m2m_briefing_has_secret(const char *attrs);
/* Wipes the one-time credentials in a representation before it is freed (best effort: the JSON text the binding
 * sends is its own copy). */
void m2m_briefing_wipe_json(cJSON *doc);

#endif
