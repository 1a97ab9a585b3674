/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated HSS + BSF of GBA (x.y.5; TS 33.220, TS 24.109, TS 29.309 in shape): Ub bootstraps a UE with HTTP
 * Digest AKA on Milenage and gives it a B-TID and Ks; Zn gives a NAF (the Registrar) Ks_NAF for a B-TID over mutual
 * TLS. One event loop in a thread of its own; the subscribers and bootstrapping records live in the store. */
#ifndef M2M_BSF_BSF_H
#define M2M_BSF_BSF_H

#include <stdint.h>
#include <stdio.h>

#include "m2mattach/error.h"

typedef struct m2m_bsf_config {
    const char *db;
    const char *ub_host, *ub_port;    /* Ub listener (port "0": any) */
    const char *ub_cert, *ub_key;     /* HTTPS on Ub; NULL: plain HTTP, allowed only on a loopback address */
    const char *zn_host, *zn_port;    /* Zn listener, always HTTPS with client certificates */
    const char *zn_cert, *zn_key;
    const char *zn_client_root;       /* only NAFs whose certificate chains to this root are served */
    int64_t lifetime;                 /* of a bootstrapping (B-TID and Ks), seconds */
    int max_failures;                 /* failed Digest responses per IMPI before it is locked */
    int64_t lockout;                  /* seconds an IMPI stays locked */
    FILE *log;                        /* NULL: no log */
} m2m_bsf_config;

#define M2M_BSF_DEFAULT_LIFETIME 3600
#define M2M_BSF_DEFAULT_MAX_FAILURES 5
#define M2M_BSF_DEFAULT_LOCKOUT 300

typedef struct m2m_bsf m2m_bsf;

/* Creates a BSF store with its domain (the realm of Ub and the part of every B-TID after '@'). */
int m2m_bsf_init_store(const char *db, const char *domain, m2m_err *err);
m2m_bsf *m2m_bsf_start(const m2m_bsf_config *cfg, m2m_err *err);
int m2m_bsf_ub_port(const m2m_bsf *b);
int m2m_bsf_zn_port(const m2m_bsf *b);
void m2m_bsf_stop(m2m_bsf *b);

/* A subscriber's K and OP/OPc for `bsf subscriber add`: OPc is computed from OP when op is set. */
int m2m_bsf_subscriber_add(const char *db, const char *impi, const unsigned char k[16], const unsigned char *op,
                           const unsigned char *opc, uint64_t sqn, const unsigned char amf[2], m2m_err *err);

#endif
