/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar CSE's request handling, independent of bindings and sockets: who is speaking (the peer bound by
 * the security context), what they asked for (a request primitive), and the store. One place decides. */
#ifndef M2M_REGISTRAR_CSE_H
#define M2M_REGISTRAR_CSE_H

#include <stdio.h>

#include "onem2m/primitive.h"
#include "registrar/quota.h"
#include "secctx/peer.h"
#include "store/store.h"

#define M2M_DEFAULT_SP_ID "m2m.localhost"

typedef struct m2m_cse {
    m2m_store *st;
    char cse_id[M2M_ID_MAX];   /* "/in-cse" */
    char cse_name[M2M_ID_MAX]; /* CSEBase resource name */
    char sp_id[M2M_ID_MAX];    /* the Service Provider's domain, for absolute addresses //SP-ID/... */
    m2m_quota *quota;          /* per-Registree limits, shared by the workers; NULL = none */
    char poa[1024];            /* the CSEBase's pointOfAccess, a JSON array of URLs ("" = none) */
    int64_t reg_lifetime;      /* seconds: the expirationTime given to a registration without one (0 = a year) */
    const char *const *app_ids; /* App-ID patterns (fnmatch) an <AE> may register with; NULL = any valid one */
    int napp_ids;
    m2m_store_writer *writer;  /* where writes go (group commit); NULL = run them at once (tools, tests) */
    m2m_store_done_queue *queue; /* this CSE's loop's completions */
    FILE *log;                 /* housekeeping lines (expiry); NULL = none */
} m2m_cse;

/* How a request's answer reaches the binding: done(arg, rsp, bind) runs exactly once, before m2m_cse_handle
 * returns or later on the same loop once the request's write is durable. rsp is valid during the call only. bind,
 * when not NULL, is the Registree an identity token just registered (x.y.7 Step 5): the binding gives the context
 * to it through its one decision (m2m_secctx.bind_token) -- if the connection is still there. */
typedef void (*m2m_cse_done)(void *arg, m2m_prim_rsp *rsp, const m2m_peer *bind);

/* The originator a request on a bound context speaks for (registrar/originator.c). */
typedef struct m2m_originator {
    char id[M2M_ID_MAX]; /* the bound Registree ID, or "<CSE-ID>/<AE-ID>" of an AE behind the bound CSE */
    int forwarded;       /* an AE behind the bound CSE, whose traffic the CSE carries */
} m2m_originator;
/* From, in any form that names the bound Registree (or an AE behind a bound CSE): 0 and *out; otherwise -1 with
 * rsp set (4000 without From, 4106 for anyone else). */
int m2m_cse_originator(m2m_cse *cse, const m2m_peer *peer, const m2m_prim_req *req, m2m_originator *out,
                       m2m_prim_rsp *rsp);
/* 1 when the originator may act on (creating: create under) a resource owned by owner. */
int m2m_cse_may_access(const m2m_peer *peer, const m2m_originator *o, const char *owner, int creating);
/* Submits the removal of up to max resources (registrations among them) whose expirationTime has passed, with
 * their subtrees; *found gets how many were found. Run from the Registrar's timer. */
int m2m_cse_expire(m2m_cse *cse, int max, int *found, m2m_err *err);

/* Loads the CSE's identity from the store. */
int m2m_cse_init(m2m_cse *cse, m2m_store *st, m2m_err *err);
/* Handles one request from peer (the security context's binding, read only) and answers through done (rsp->rqi
 * echoes req->rqi). On an unbound context the only request that can succeed is a registration carrying a valid
 * identity token (x.y.7 Step 5): its answer carries the binding to give the context. */
void m2m_cse_handle(m2m_cse *cse, const m2m_peer *peer, const m2m_secctx *sec, const m2m_prim_req *req,
                    m2m_cse_done done, void *arg);

/* ---- internal, shared by cse.c, registration.c, resources.c, keygen.c and cse_write.c ---- */
/* The continuation of the request being handled. */
typedef struct m2m_cse_call {
    m2m_cse_done done;
    void *arg;
    char rqi[M2M_PRIM_STR];
    char rvi[16];
} m2m_cse_call;

/* A write a request waits for (cse_write.c): submitted, it answers the request itself once durable. */
typedef enum { M2M_W_REGISTER, M2M_W_INSERT, M2M_W_UPDATE, M2M_W_DELETE, M2M_W_KEYGEN, M2M_W_PURGE,
               M2M_W_BRIEF } m2m_cse_write_kind;
typedef struct m2m_cse_write {
    m2m_store_job job; /* first */
    m2m_cse *cse;
    m2m_cse_call call;
    m2m_cse_write_kind kind;
    m2m_resource r;            /* REGISTER/INSERT: the new resource (owns attrs); UPDATE: the updated one; DELETE,
                                * PURGE: the target (ri); BRIEF: the briefing (ri), then as it was read */
    int capped;                /* INSERT of a <contentInstance> under a container with mni/mbs/mia */
    int64_t mni, mbs, min_ct;
    char token_hash[65];       /* REGISTER with an identity token: used up in the same unit */
    m2m_peer bind;             /* ... and the binding it gives */
    m2m_secret key;            /* KEYGEN: the generated key, its ID, its Registree */
    char kid[33];
    char owner[M2M_ID_MAX];
    int handed_out;            /* BRIEF: this read handed out the one-time credential (r: the full briefing) */
} m2m_cse_write;
m2m_cse_write *m2m_cse_write_new(m2m_cse_write_kind kind);
/* Takes w; call may be NULL (nobody waits: a purge). */
void m2m_cse_write_submit(m2m_cse *cse, const m2m_cse_call *call, m2m_cse_write *w);

/* The request handlers below return 1 when they submitted a write (it answers through call), or 0 with the
 * answer in rsp. */
/* Creates <AE> or <remoteCSE> under CSEBase: Step 5. token_hash (or NULL): an identity token registering peer,
 * used up in the registration's unit. */
int m2m_cse_register(m2m_cse *cse, const m2m_peer *peer, const m2m_prim_req *req, const m2m_resource *parent,
                     const char *token_hash, const m2m_cse_call *call, m2m_prim_rsp *rsp);
/* Creates <container> / <contentInstance>, owned by the originator o (quotas count against o). */
int m2m_cse_create_child(m2m_cse *cse, const m2m_originator *o, const m2m_prim_req *req, const m2m_resource *parent,
                         const m2m_cse_call *call, m2m_prim_rsp *rsp);
/* x.y.8: CREATE <keyGeneration>: a fresh Kcc/Kca from the session's exporter, stored as the Registree's pending
 * PSK; the response carries its ID only. */
int m2m_cse_keygen(m2m_cse *cse, const m2m_peer *peer, const m2m_secctx *sec, const m2m_prim_req *req,
                   const m2m_cse_call *call, m2m_prim_rsp *rsp);
int m2m_cse_update(m2m_cse *cse, const m2m_prim_req *req, const m2m_resource *target, const m2m_cse_call *call,
                   m2m_prim_rsp *rsp);
/* The JSON representation {"m2m:xx": {...}} of a stored resource, as the release rvi shows it. */
cJSON *m2m_cse_represent(m2m_cse *cse, const m2m_resource *r, const char *rvi);
const char *m2m_cse_root_name(int ty);
/* A fresh resource identifier with a type prefix. */
void m2m_cse_new_ri(const char *prefix, char out[M2M_RI_MAX]);
/* The attributes of a CREATE body of type req->ty (root object present, attributes allowed, rn valid), without
 * rn, which goes to *rn (or NULL). On a bad body returns NULL with rsp set. */
cJSON *m2m_cse_create_attrs(const m2m_prim_req *req, const char **rn, m2m_prim_rsp *rsp);
/* Checks a resource name (rn) a client asked for. */
int m2m_cse_valid_rn(const char *rn);
/* Sets rsp to 2001 with the new resource's representation and location. */
void m2m_cse_created(m2m_cse *cse, const m2m_resource *r, const char *rvi, m2m_prim_rsp *rsp);

#endif
