/* SPDX-License-Identifier: Apache-2.0 */
/* GBA on the Registrar, which is the NAF (x.y.5; TS 33.220, TS 33.222): a TLS-PSK handshake whose psk_identity is
 * "3GPP-bootstrapping." B-TID (or the bare B-TID) is keyed with Ks_NAF, which the BSF derives for this NAF's NAF_Id =
 * NAF FQDN || Ua security protocol id of the negotiated suite, and gives over Zn with the IMPI and the key's expiry.
 * The IMPI's gba enrolment names the Registree. What the lookup finds is a candidate like any PSK's (binding.c binds
 * it only if the finished handshake used that PSK).
 *
 * Each worker loop has its own m2m_gba_naf: a cache of Ks_NAF per (B-TID, Ua id) until its expiry, and its own Zn
 * client. A cache miss is fetched over Zn; gate.c fetches it before OpenSSL asks, on the loop, without blocking it
 * (see there); what reaches the callback uncached is fetched blocking, bounded by the Zn timeout. */
#ifndef M2M_SECCTX_GBA_H
#define M2M_SECCTX_GBA_H

#include <stdint.h>

#include "crypto/gba_id.h"
#include "crypto/gba_kdf.h"
#include "secctx/tls_conn.h"
#include "secctx/zn_client.h"

#define M2M_GBA_CACHE_SLOTS 1024
/* An unknown or expired B-TID is remembered this long, so that a peer repeating it costs no Zn round trip. */
#define M2M_GBA_NEGATIVE_TTL 5

typedef struct m2m_gba_entry {
    char btid[M2M_BTID_MAX];   /* "" = free */
    uint8_t ua[M2M_GBA_UA_ID_LEN];
    int found;                 /* 0: the BSF said unknown or expired (until expires) */
    int failed;                /* not found because the BSF could not be asked (until expires) */
    m2m_secret ks_naf;
    char impi[M2M_IMPI_MAX];
    int64_t expires;           /* unix seconds */
} m2m_gba_entry;

typedef struct m2m_gba_counters {
    unsigned long long zn_fetches, zn_failures, zn_blocking, cache_hits;
    unsigned long long zn_blocked_us; /* time the worker loop waited in blocking fetches */
} m2m_gba_counters;

typedef struct m2m_gba_naf {
    char fqdn[M2M_GBA_FQDN_MAX + 1];
    m2m_zn_client *zn;         /* NULL: no Zn (only what is put in the cache is known) */
    m2m_gba_counters *counters; /* may be NULL; shared by every worker (atomics) */
    FILE *log;                 /* the Registrar's log, NULL = none */
    struct event_base *base;   /* the worker's loop, for Zn requests that do not block it (gate.c); NULL: none */
    int blocking;              /* diagnostic (--zn-blocking): no gate, Zn inside the PSK callback */
    struct m2m_gate_pending *pending; /* gate.c: Zn requests under way on this loop */
    int npending;
    int count;
    m2m_gba_entry slot[M2M_GBA_CACHE_SLOTS];
} m2m_gba_naf;

/* A NAF for fqdn (the name devices address the Registrar by); zn is taken over (NULL allowed). */
m2m_gba_naf *m2m_gba_naf_new(const char *fqdn, m2m_zn_client *zn, m2m_err *err);
void m2m_gba_naf_free(m2m_gba_naf *naf);
/* Drops expired entries, wiping their keys (the worker's timer calls it). */
void m2m_gba_naf_expire(m2m_gba_naf *naf, int64_t now);

/* The Ua security protocol id of a handshake: TLS 1.3, or the TLS 1.2 suite it negotiated. */
void m2m_gba_ua_of(const SSL *ssl, uint8_t ua[M2M_GBA_UA_ID_LEN]);
/* NAF_Id of this NAF for ua. */
int m2m_gba_naf_id_of(const m2m_gba_naf *naf, const uint8_t ua[M2M_GBA_UA_ID_LEN], uint8_t *out, size_t *len);

/* The cache entry of (btid, ua) valid at now, or NULL. */
const m2m_gba_entry *m2m_gba_cache_get(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN],
                                       int64_t now);
/* Records what Zn said about (btid, ua): a key (found), that there is none, or that Zn could not be asked
 * (failed). */
void m2m_gba_cache_put(m2m_gba_naf *naf, const char *btid, const uint8_t ua[M2M_GBA_UA_ID_LEN], int found,
                       const m2m_secret *ks_naf, const char *impi, int64_t expires, int failed);

/* The PSK callbacks' lookup of a GBA identity carrying btid: Ks_NAF into key and a new candidate bound to the IMPI's
 * enrolled Registree. 0, or -1 (unknown or expired B-TID, IMPI not enrolled, Zn unreachable: tc->hs->failure says
 * which). */
int m2m_gba_lookup(m2m_tls_conn *tc, const char *btid, m2m_secret *key, m2m_candidate **out);

#endif
