/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar's CoAPS listener (TS-0008 over DTLS 1.2), shared by its files: coap_server.c (our DTLS context
 * inside libcoap's, sessions and their limits, start, stop and the tick), coap_intake.c (every datagram through
 * the cookie gate before libcoap reads it, admission), coap_endpoint.c (libcoap's context and endpoint),
 * coap_options.c (the oneM2M options), coap_adapter.c (a CoAP request -> binding/coap_map.c -> the CSE core -> the
 * CoAP response), coap_replay.c (a write processed once), coap_block2.c (answers block by block), coap_sweep.c
 * (libcoap's walk, paced) and coap_reload.c (a reloaded certificate). */
#ifndef M2M_REGISTRAR_COAP_H
#define M2M_REGISTRAR_COAP_H

#include <coap3/coap.h>
#include <sys/epoll.h>

#include "binding/coap_map.h"
#include "registrar/server.h"
#include "secctx/dtls_gate.h"

#define M2M_COAP_DEFAULT_PORT "5684"
#define M2M_COAP_TABLE 4096       /* buckets of the session table (by peer address and port) */
#define M2M_COAP_MAX_PENDING 4    /* requests of one session waiting for their writes at once */

typedef struct coap_pending coap_pending;
typedef struct coap_replay coap_replay;
typedef struct coap_large coap_large;

/* The Block1 option a write's answer echoes (RFC 7959 2.3): on, block number, size exponent. */
typedef struct m2m_coap_block1 {
    int on, num, szx;
} m2m_coap_block1;

/* The longest payload of a write's answer the replay keeps itself (coap_replay.c); a longer one goes block-wise
 * and is kept once, by coap_block2.c. */
#define M2M_COAP_REPLAY_MAX 1024

/* Block-wise answers kept for the requests of their next blocks (coap_block2.c): a session's, a CoAPS worker's
 * bytes. */
#define M2M_COAP_BLOCK2_PER_SESSION 4
#define M2M_COAP_BLOCK2_BUDGET (64u << 20)

/* A body arriving in Block1 blocks (RFC 7959), joined here under the context's limit: libcoap 4.3.1 would join it
 * itself (COAP_BLOCK_SINGLE_BODY) but allocates whatever total size the client's Size1 option declares. */
typedef struct coap_body {
    unsigned char *buf;
    size_t len, cap;
} coap_body;
/* Wipes and frees it: a body is not kept once used or refused (a session that uploaded 1 MiB once would hold that
 * much for as long as it stays attached), nor with its session. */
void m2m_coap_body_drop(coap_body *b);

/* One DTLS session. Starts with the security context's state and lives exactly as long as the SSL libcoap made
 * for the session (freed with it: secctx/tls_conn.h); the coap_session_t outlives it. */
typedef struct coap_conn {
    m2m_tls_conn tls;              /* first: m2m_tls_conn_of(ssl) is this session */
    struct m2m_coap *srv;
    coap_session_t *session;
    coap_address_t remote;
    unsigned char addr_key[17];    /* family + address, no port: the per-address count */
    struct coap_conn *prev, *next; /* srv->conns, newest first */
    struct coap_conn *hnext;       /* srv->table */
    struct coap_conn *pprev, *pnext; /* srv->preauth_head..tail while unauthenticated, oldest first */
    struct timespec last;          /* the last request (idle expiry) */
    int preauth;                   /* counted as unauthenticated */
    int closing;
    int close_now;                 /* its last answer went out with close_connection: close after this pump */
    int npending;
    coap_pending *pending;         /* requests of this session waiting for their writes */
    coap_body body;
    int rbuf_slot, hbuf_slot;      /* OpenSSL's read and handshake buffers' slots (secctx/buffer_pages.h); -1 */
    int released;                  /* their pages went back since the last record came in */
    unsigned records_in;           /* DTLS records read (msg_cb): a retransmitted request shows here too */
    coap_replay *replay;           /* the answer to the last write, for a duplicate of its request */
    coap_large *large;             /* answers sent block-wise, for the requests of their next blocks; newest first */
} coap_conn;

/* Closes remembered between two walks of libcoap's: at 3/4 of the slots the next new handshake walks anyway. */
#define M2M_COAP_CLOSED_SLOTS 4096

/* libcoap's walk over every session, paced (coap_sweep.c says why). */
typedef struct coap_sweep {
    struct timespec last;          /* when the last walk ran (m2m_clock_mark) */
    double period_ms;              /* how long a walk may be put off: 20 x the last one's cost, 10 ms .. 1 s */
    int force;                     /* the next call walks */
    int put_off;                   /* a walk was put off since the last one: the timer runs it */
    struct event *ev;              /* that timer */
    /* the addresses of sessions closed since the last walk (libcoap frees them in the walk): a set of their hashes,
     * open addressing, 0 = empty (a collision only costs a walk nobody needed) */
    uint32_t closed[M2M_COAP_CLOSED_SLOTS];
    int nclosed, closed_overflow;
} coap_sweep;

/* libcoap 4.3.1 walks all of an endpoint's sessions at every new handshake (coap_endpoint_get_session counts those
 * in handshake), 50-170 ns each (cache-cold with many): a worker spreads its sessions over several endpoints -- one
 * socket each, all in the port's SO_REUSEPORT group, which gives a peer always the same one -- about this many per
 * endpoint. */
#define M2M_COAP_SESSIONS_PER_SOCKET 512
#define M2M_COAP_MAX_SOCKETS 128

/* One libcoap endpoint of a worker: its UDP socket, ours under libcoap's number (we peek before it reads). */
typedef struct coap_sock {
    struct m2m_coap *srv;
    int fd;
    struct epoll_event ep_event;   /* libcoap's event for the socket (data.ptr is libcoap's coap_socket_t) */
    struct event *ev;
    struct timespec idle_from;     /* when the last pump ended (CLOCK_MONOTONIC; coap_intake.c) */
} coap_sock;

struct m2m_coap {
    struct worker *w;              /* the worker whose loop runs it: its store, CSE, tls env and writer */
    coap_context_t *ctx;
    SSL_CTX *ssl_ctx;              /* made by libcoap, set up by us (coap_server.c) */
    m2m_dtls_gate *gate;
    coap_sock socks[M2M_COAP_MAX_SOCKETS];
    int nsocks;
    int epfd;                      /* libcoap's epoll descriptor (its timer; the sockets were, before ours replaced them) */
    int port;
    coap_conn *conns;
    coap_conn *table[M2M_COAP_TABLE];
    coap_conn *preauth_head, *preauth_tail; /* the unauthenticated sessions, oldest first */
    int close_marked;              /* some session has close_now set */
    coap_pending *all;             /* every pending request, so that shutdown frees them */
    unsigned char dgram[2048];     /* the datagram the gate looks at */
    int timerfd;                   /* libcoap's timer, watched by the worker */
    struct event *timer_ev;
    coap_sweep sweep;
    size_t block2_bytes;           /* of the sessions' kept block-wise answers (coap_block2.c) */
};

/* coap_server.c. Endpoints (UDP sockets) per CoAPS worker: its share of --coaps-max-sessions,
 * M2M_COAP_SESSIONS_PER_SOCKET to each, at most M2M_COAP_MAX_SOCKETS (descriptors the limits keep aside). */
int m2m_coap_sockets_per_worker(const struct m2m_registrar *reg);
/* Starts the listener on w's loop (before w's thread runs). */
struct m2m_coap *m2m_coap_start(struct worker *w, const char *host, const char *port, m2m_err *err);
int m2m_coap_port(const struct m2m_coap *srv);
/* After the loop has stopped and the store's answers have been drained. */
void m2m_coap_free(struct m2m_coap *srv);
/* coap_reload.c. A reloaded Registrar certificate (m2m_registrar_reload; on w's loop): handshakes from now on
 * present from's certificate, key and chain (built and checked there); sessions open keep theirs. -1 when OpenSSL
 * refused. */
int m2m_coap_reload(struct m2m_coap *srv, SSL_CTX *from);
/* In the ClientHello callback: an SSL libcoap made before a reload takes the context's current certificate. */
int m2m_coap_take_certificate(struct m2m_coap *srv, SSL *ssl);
/* Once a second: cookie secrets, handshake, idle and key-lifetime timeouts, idle sessions' OpenSSL buffers given
 * back (secctx/buffer_pages.h), libcoap's housekeeping. */
void m2m_coap_tick(struct m2m_coap *srv);
/* Closes the sessions whose enrolment was revoked or replaced in enrolment generations (since, upto] (only those
 * of Registrees that changed, when the store can tell). -1 when the store could not answer for one of them: the
 * caller keeps its generation, so they are asked again. */
int m2m_coap_recheck(struct m2m_coap *srv, int64_t since, int64_t upto);
/* The gate's counters for /metrics (any thread). */
void m2m_coap_gate_stats(const struct m2m_coap *srv, m2m_gate_stats *out);
/* Closes the session (its SSL and this struct go at once; the log says why unless why is NULL). */
void m2m_coap_close(coap_conn *c, const char *why);
/* A peer's family, address and port hashed (FNV-1a): the session table's buckets, the closed-address set's keys. */
uint32_t m2m_coap_peer_hash(const struct sockaddr *sa, socklen_t len);
/* Closes the sessions whose last answer said so (close_now). */
void m2m_coap_close_marked(struct m2m_coap *srv);
/* The session is bound to a Registree now: it leaves the unauthenticated budget. */
void m2m_coap_bound(coap_conn *c);

/* coap_server.c, for coap_intake.c: the session of a peer address (NULL: none); its family and address as the
 * per-address count's key; "host:port" for the log. */
coap_conn *m2m_coap_lookup(struct m2m_coap *srv, const struct sockaddr *sa, socklen_t len);
void m2m_coap_addr_key(const struct sockaddr *sa, unsigned char key[17]);
void m2m_coap_format_addr(const coap_address_t *a, char *out, size_t cap);

/* coap_intake.c: the datagrams waiting on one of the listener's sockets, each through the cookie gate and, if it
 * lets it, to libcoap (the socket's event callback, and the tick's look). */
void m2m_coap_pump(coap_sock *sock);
void m2m_coap_pump_cb(evutil_socket_t fd, short what, void *arg);

/* coap_endpoint.c: libcoap's context with its DTLS SSL_CTX in srv->ssl_ctx (before libcoap makes an SSL from it);
 * nsocks DTLS endpoints on host:port, their UDP sockets in srv->socks and the port in srv->port. */
int m2m_coap_context_new(struct m2m_coap *srv, m2m_err *err);
int m2m_coap_endpoint_open(struct m2m_coap *srv, const char *host, const char *port, int nsocks, m2m_err *err);
/* The members of libcoap's epoll descriptor right after coap_new_endpoint: the new socket into sock->fd and its
 * event into sock->ep_event, the timer into srv->timerfd; -1 if they are not one socket and one timer. */
int m2m_coap_epoll_members(struct m2m_coap *srv, coap_sock *sock);

/* coap_sweep.c. The walk's pacing for srv's context (after srv->ctx exists, on w's loop) and its end. */
int m2m_coap_sweep_attach(struct m2m_coap *srv, m2m_err *err);
void m2m_coap_sweep_detach(struct m2m_coap *srv);
/* 1 when libcoap calls our coap_io_prepare_epoll (the walk is paced), 0 when it walks at every datagram. */
int m2m_coap_sweep_paced(void);
/* Walks now: libcoap's timer work, and the sessions closed since, freed. */
void m2m_coap_sweep(struct m2m_coap *srv);
/* A session from remote was closed: a new handshake from there waits for the walk that frees it. */
void m2m_coap_sweep_closed(struct m2m_coap *srv, const coap_address_t *remote);
int m2m_coap_sweep_closed_since(const struct m2m_coap *srv, const struct sockaddr *sa, socklen_t len);
/* The pacing's arithmetic (unit-tested with made-up times): how much longer a walk may be put off when the last
 * one was since_ms ago (0: walk now); and the period after a walk that cost cost_ms. */
double m2m_coap_sweep_put_off_ms(const coap_sweep *sw, double since_ms);
void m2m_coap_sweep_ran(coap_sweep *sw, double cost_ms);

/* coap_options.c: makes the context know every oneM2M option (libcoap 4.3.1 knows at most two above 255). */
int m2m_coap_register_options(coap_context_t *ctx, m2m_err *err);

/* coap_adapter.c */
void m2m_coap_handle(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                     const coap_string_t *query, coap_pdu_t *response);
/* The session is going away: its pending requests must not answer into it. */
void m2m_coap_forget(coap_conn *c);
/* Frees every pending request (shutdown, after libcoap's context is gone). */
void m2m_coap_pending_free_all(struct m2m_coap *srv);

/* coap_replay.c: a Confirmable write is processed once (RFC 7252 4.5). Keeps o (copied) as the answer to the
 * request (mid, token); one longer than M2M_COAP_REPLAY_MAX goes block-wise, and only what says so is kept (the
 * answer is coap_block2.c's). -1 when it could not be kept. */
int m2m_coap_replay_keep(coap_conn *c, coap_mid_t mid, coap_bin_const_t token, const m2m_coap_out *o,
                         const m2m_coap_block1 *b1);
/* 1 when req duplicates the kept request: *o (its payload malloc'd) and *b1 are the answer to send again; 2 the
 * same, but the payload is that of the block-wise answer the session keeps for req (m2m_coap_block2_of). 0 when
 * not (a request of another exchange also drops what was kept); -1 out of memory. */
int m2m_coap_replay_find(coap_conn *c, const coap_pdu_t *req, m2m_coap_out *o, m2m_coap_block1 *b1);
/* After EXCHANGE_LIFETIME no duplicate can come (the worker's tick). */
void m2m_coap_replay_expire(coap_conn *c);
void m2m_coap_replay_drop(coap_conn *c);

/* coap_block2.c: answers longer than one datagram, block by block (RFC 7959 Block2). Adds the Content-Format,
 * Max-Age and the payload of o to resp (options: the octets of the options the caller added; max: the session's
 * largest PDU, coap_session_max_pdu_size): whole when it fits one datagram, else the block req asks for (block 0
 * when none) with ETag, Block2 and Size2, and then o is kept by the session (its payload taken) for the requests
 * of the next blocks (o may be one it keeps: a later block). s: for libcoap's reading of Block2 (NULL: no BERT).
 * -1 when resp could not take it. */
int m2m_coap_block2_put(coap_conn *c, coap_session_t *s, size_t max, const coap_pdu_t *req, coap_pdu_t *resp,
                        m2m_coap_out *o, size_t options);
/* A request for a later block: the kept answer it continues (NULL: none; *refuse when it is a write's, no longer
 * kept: answer 4.08 rather than run the write again). */
const m2m_coap_out *m2m_coap_block2_follow(coap_conn *c, coap_session_t *s, const coap_pdu_t *req, int *refuse);
/* The block-wise answer the session keeps for a request like req (its duplicate), or NULL. */
const m2m_coap_out *m2m_coap_block2_of(coap_conn *c, const coap_pdu_t *req);
/* After MAX_TRANSMIT_WAIT without a request for it (the worker's tick), and with the session. */
void m2m_coap_block2_expire(coap_conn *c);
void m2m_coap_block2_drop(coap_conn *c);

#endif
