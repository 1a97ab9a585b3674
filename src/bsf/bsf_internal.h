/* SPDX-License-Identifier: Apache-2.0 */
/* What the BSF's files share: the server state, the Ub challenge and per-IMPI tables, the Zn handler. */
#ifndef M2M_BSF_INTERNAL_H
#define M2M_BSF_INTERNAL_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include "bsf/bsf.h"
#include "crypto/aka.h"
#include "store/store.h"

/* Outstanding challenges: a ring; the slot number travels in the nonce's server data, so a response finds its
 * challenge without a search. A challenge is single-use and lives CHALLENGE_TTL seconds. */
#define M2M_UB_CHALLENGES 4096
#define M2M_UB_CHALLENGE_TTL 60
/* IMPIs seen recently: failed attempts and lock-out, and the last SQN handed out (so that back-to-back challenges
 * get rising SQNs before one of them is answered). Unknown IMPIs are tracked exactly like known ones. */
#define M2M_UB_PEERS 4096
#define M2M_UB_FAILURE_WINDOW 600
/* nonce = base64(RAND 16 || AUTN 16 || server data 16) */
#define M2M_UB_NONCE_RAW 48
#define M2M_UB_NONCE_LEN 64

typedef struct ub_challenge {
    int in_use;
    char nonce[M2M_UB_NONCE_LEN + 1];
    char opaque[33];
    char impi[M2M_IMPI_MAX];
    m2m_aka_vector av;
    uint64_t sqn;
    int unknown;          /* issued for an IMPI with no subscriber: can never be answered */
    int64_t expires;      /* monotonic seconds */
} ub_challenge;

typedef struct ub_peer {
    char impi[M2M_IMPI_MAX]; /* "" = free */
    int failures;
    int64_t window_start, locked_until, last_seen; /* monotonic seconds */
    uint64_t last_sqn;       /* 0 = none issued since this entry was made */
} ub_peer;

struct m2m_bsf {
    m2m_bsf_config cfg;
    char domain[254];
    m2m_store *st;
    struct event_base *base;
    struct evhttp *ub, *zn;
    SSL_CTX *ub_ctx, *zn_ctx;
    struct event *tick;
    pthread_t thread;
    int ub_port, zn_port;
    unsigned next_slot;
    ub_challenge ch[M2M_UB_CHALLENGES];
    ub_peer peers[M2M_UB_PEERS];
    unsigned long long bootstraps, failures, zn_served, zn_refused;
};

/* bsf/ub.c */
void m2m_ub_handle(struct evhttp_request *req, void *bsf);
/* bsf/zn.c */
void m2m_zn_handle(struct evhttp_request *req, void *bsf);
/* bsf/bsf.c */
int64_t m2m_bsf_mono(void);
void m2m_bsf_log(const struct m2m_bsf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
