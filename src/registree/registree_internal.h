/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the Registree handle (include/m2mattach/registree.h): the attachment logic, split by step, over the
 * transport seam (transport.h). Only src/registree/ and its tests see this.
 *
 *   registree.c   the public calls: one deadline and the state lock each; the attach flow
 *   ways.c        the ways in: generated keys, the previous one, the details file's credentials
 *   sessions.c    x.y.4: which saved session goes with which way in, and keeping the newest
 *   establish.c   Step 4: the ways tried in order, fallback, the failure explained; requests on the connection
 *   register.c    Step 5: the registration CREATE and its record in the state file
 *   rekey.c       Step 6 / x.y.8: <keyGeneration> and the generated-key files
 *   gba_ue.c      x.y.5: the bootstrapping to attach with, Ks_NAF per negotiated suite
 *   briefing.c    Step 2 from the network: the <briefing> read and the details file written from it
 *
 * The ways in, tried in this order (never locking the device out):
 *   1. the generated key (generated-key file);
 *   2. the generated key it replaced ("<generated-key file>.previous"), kept until the new one has worked once;
 *   3. the credentials of the details file (psk key, cert, or for token a resumable session).
 * A way the Registrar refuses during the handshake makes the next one be tried (a network failure does not). When
 * an older way gets in after a generated key was refused, the refused key cannot be of use any more (the
 * Registrar would have accepted it alongside the old credential until it was first used) and is discarded. */
#ifndef M2M_REGISTREE_INTERNAL_H
#define M2M_REGISTREE_INTERNAL_H

#include "crypto/gba_id.h"
#include "crypto/secret.h"
#include "m2mattach/registree.h"
#include "registree/details.h"
#include "registree/outcome.h"
#include "registree/state.h"
#include "registree/transport.h"

/* x.y.8 on the wire: the <keyGeneration> resource type of this project (README), the exporter of TS-0003 10.3. */
#define M2M_KGN_TY 10100
#define M2M_EXPORTER_LABEL "EXPORTER-oneM2M-Connection"
#define M2M_EXPORTER_LEN 48
#define M2M_GENERATED_KEY_OFFSET 16 /* the key is the last 32 octets */
/* TLS 1.2 key generation needs an ephemeral (EC)DH exchange: with the default PSK list only this suite is offered
 * (TLS 1.3 handshakes always have one). */
#define M2M_REKEY_TLS12_PSK_CIPHERS "ECDHE-PSK-AES128-CBC-SHA256"
/* DTLS 1.2 likewise; OpenSSL has ECDHE-PSK with ChaCha20-Poly1305 and CBC-SHA256 only (and a libcoap server's
 * default list, "TLSv1.2:!NULL", holds only the former). */
#define M2M_REKEY_DTLS_PSK_CIPHERS "ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256"
/* TLS 1.3 tickets come after the handshake: how long a handshake-only attach waits for one, at least. */
#define M2M_AWAIT_SESSION_MIN_MS 250
/* x.y.5: a B-TID this close to its expiry is not used; the UE bootstraps again first. */
#define M2M_GBA_EXPIRY_MARGIN_S 30

typedef enum cred_kind { CRED_GENERATED = 0, CRED_PREVIOUS = 1, CRED_DETAILS = 2, CRED_COUNT = 3 } cred_kind;

/* One way in. */
typedef struct m2m_cred {
    int present;                         /* the way exists: a generated-key file, or the details credentials */
    char unusable[300];                  /* why it cannot be used (a damaged file); "" when it can */
    char refused[300];                   /* why the Registrar refused it in this attach; "" when it did not */
    m2m_outcome refused_why;             /* and what the refusal was */
    m2m_mechanism mech;                  /* generated keys: psk */
    m2m_secret key;                      /* generated keys; the details key stays in the configuration */
    char key_id[M2M_KEYID_HEX_LEN + 1];  /* the PSK identity; "" for cert and token */
    char binding[M2M_SESSION_FOR_MAX];   /* what a saved session must name to be offered with it */
    m2m_session_slot slot;
} m2m_cred;

/* Tests: what a connection runs on instead of the network (an in-memory peer): fills cfg->bio and cfg->pump. */
typedef int (*m2m_rtee_dial)(void *arg, m2m_tls_client_config *cfg, m2m_err *err);

struct m2m_registree {
    const m2m_registree_config *cfg; /* borrowed: the caller keeps it alive */
    m2m_transport *link;             /* the open connection to the Registrar, or NULL */
    m2m_reg_state state;
    m2m_err err;
    m2m_outcome outcome;             /* what became of the last handshake (establish) */
    m2m_cred creds[CRED_COUNT];
    int active;                      /* the way of the current connection, -1 before any */
    int offer_sessions;              /* 0: m2m_registree_set_resumption(r, 0) */
    unsigned saved_sessions;         /* the transport's sessions() when the state was last saved */
    char notice[512];                /* the last attachment's fallback (m2m_attach_info.notice) */
    double deadline;                 /* when the current public call must be over ([tls] deadline), or 0 */
    int lock_fd;                     /* the state lock while a public call holds it, else -1 */
    char gba_identity[M2M_GBA_IDENTITY_MAX + 1]; /* x.y.5: "3GPP-bootstrapping." B-TID */
    int handshake_only;              /* the attach flow stops after Step 4 (m2m_registree_brief: Step 5 only if the
                                      * Briefing Registrar asks for it) */
    m2m_rtee_dial dial;              /* tests; NULL: the network */
    void *dial_arg;
};

/* Tests: every later connection of r runs on what dial gives (NULL: the network again). */
void m2m_registree_set_dial(m2m_registree *r, m2m_rtee_dial dial, void *arg);

/* registree.c */
int m2m_rtee_registered_here(const m2m_registree *r);
void m2m_rtee_copy(char *out, size_t cap, const char *msg);
/* The start of a public call (its deadline, the state lock) and its end (the lock released; returns rc). */
int m2m_rtee_begin_call(m2m_registree *r);
int m2m_rtee_end_call(m2m_registree *r, int rc);
/* Step 4 with the first way in that works, then Step 5 unless registered. await: a handshake-only attach waits
 * briefly for the TLS 1.3 ticket the Registrar sends after the handshake. */
int m2m_rtee_attach(m2m_registree *r, m2m_attach_info *info, int rekey, int await);
/* The start of a public call (its deadline, the state lock) and its end (the lock released; returns rc). */
int m2m_rtee_begin_call(m2m_registree *r);
int m2m_rtee_end_call(m2m_registree *r, int rc);
/* Step 4 with the first way in that works, then Step 5 unless registered. await: a handshake-only attach waits
 * briefly for the TLS 1.3 ticket the Registrar sends after the handshake. */
int m2m_rtee_attach(m2m_registree *r, m2m_attach_info *info, int rekey, int await);

/* ways.c */
void m2m_rtee_wipe_ways(m2m_registree *r);
char *m2m_rtee_previous_path(const m2m_registree_config *cfg);
int m2m_rtee_load_ways(m2m_registree *r);
void m2m_rtee_way_name(const m2m_registree *r, int i, char *out, size_t cap);
void m2m_rtee_discard_generated(m2m_registree *r, int i);
void m2m_rtee_forget_generated(m2m_registree *r, m2m_reg_state *st);

/* sessions.c */
int m2m_rtee_resumable_mech(const m2m_registree_config *cfg, m2m_mechanism mech);
SSL_SESSION *m2m_rtee_session_for(const m2m_registree *r, int i, int rekey);
void m2m_rtee_remember_session(m2m_registree *r, int *changed);
int m2m_rtee_save_state(m2m_registree *r, int changed);

/* gba_ue.c */
int m2m_rtee_gba_derive(void *arg, int version, unsigned suite, unsigned char *out, size_t *out_len);
int m2m_rtee_gba_ensure(m2m_registree *r, m2m_attach_info *info, int force);

/* establish.c */
int m2m_rtee_establish(m2m_registree *r, m2m_attach_info *info, int rekey);
int m2m_rtee_exchange(m2m_registree *r, const m2m_request *req, const char *token, m2m_reply *reply,
                      int may_retry);

/* register.c */
int m2m_rtee_register(m2m_registree *r, m2m_attach_info *info);
void m2m_rtee_debug_text(const m2m_reply *reply, char *out, size_t cap);
const char *m2m_rtee_no_rsc(const m2m_registree *r, const m2m_reply *reply, char *out, size_t cap);

#endif
