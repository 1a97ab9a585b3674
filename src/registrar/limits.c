/* SPDX-License-Identifier: Apache-2.0 */
/* Admission control (limits.h). Without it, anyone without a credential could hold every descriptor (and then
 * make the workers spin on accept() errors), or hold the Registrar's memory with unbound contexts and stalled
 * handshakes. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registrar/coap.h"
#include "registrar/limits.h"
#include "util/hash.h"

/* Descriptors kept out of the connection budget: the store, log, admin listener, OCSP fetches, per worker a few. */
#define RESERVED_FDS 64
#define RESERVED_FDS_PER_WORKER 8
#define DEFAULT_MAX_PER_ADDRESS 1024
#define DEFAULT_PREAUTH_MAX 1024
#define DEFAULT_PREAUTH_MAX_BYTES (16LL * 1024 * 1024)
#define WARN_EVERY_S 10
#define ACCEPT_PAUSE_MS 50
#define WARN_ACCEPT M2M_LIMIT_COUNT /* the warning slot of accept errors, after the limits' own */

static const char *const LIMIT_NAMES[M2M_LIMIT_COUNT] = {"max_connections", "max_per_address", "preauth_count",
                                                         "preauth_bytes"};

const char *m2m_limit_name(int reason)
{
    return reason >= 0 && reason < M2M_LIMIT_COUNT ? LIMIT_NAMES[reason] : "?";
}

/* ---- connections per source address: one table for all workers ---- */

#define ADDR_BUCKETS 4096
typedef struct addr_node {
    unsigned char key[17];
    int count;
    struct addr_node *next;
} addr_node;
struct m2m_addr_table {
    pthread_mutex_t mu;
    addr_node *bucket[ADDR_BUCKETS];
};

static unsigned addr_hash(const unsigned char key[17])
{
    return m2m_fnv1a(M2M_FNV1A_INIT, key, 17) % ADDR_BUCKETS;
}

/* Adds delta to the address's count; returns the new count (-1 when out of memory). */
static int addr_add(struct m2m_addr_table *t, const unsigned char key[17], int delta)
{
    addr_node **pp, *n;
    int count = -1;
    pthread_mutex_lock(&t->mu);
    for (pp = &t->bucket[addr_hash(key)]; *pp != NULL && memcmp((*pp)->key, key, 17) != 0; pp = &(*pp)->next)
        ;
    n = *pp;
    if (n == NULL && delta > 0 && (n = calloc(1, sizeof *n)) != NULL) {
        memcpy(n->key, key, 17);
        *pp = n;
    }
    if (n != NULL) {
        n->count += delta;
        count = n->count;
        if (n->count <= 0) {
            *pp = n->next;
            free(n);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return count;
}

/* ---- start-up ---- */

int m2m_limits_init(struct m2m_registrar *reg, m2m_err *err)
{
    m2m_registrar_config *cfg = &reg->cfg;
    struct rlimit rl;
    /* and the CoAPS workers' sockets: descriptors that are no connection */
    int reserve = RESERVED_FDS + RESERVED_FDS_PER_WORKER * reg->nworkers +
                  (reg->ncoap > 0 ? reg->ncoap * m2m_coap_sockets_per_worker(reg) : 0);

    /* systemd and most shells start services at 1024 descriptors, far below what the hard limit allows. */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return m2m_fail(err, M2M_E_IO, "cannot read the descriptor limit: %s", strerror(errno));
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    reg->fd_limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 24 ? 1 << 24 : (int)rl.rlim_cur;
    if (reg->fd_limit <= reserve + 16)
        return m2m_fail(err, M2M_E_ARG, "the descriptor limit (%d) leaves no room for connections: raise it "
                        "(ulimit -n, LimitNOFILE=) above %d", reg->fd_limit, reserve + 16);
    if (cfg->max_connections == 0)
        cfg->max_connections = reg->fd_limit - reserve;
    else if (cfg->max_connections > reg->fd_limit - reserve) {
        m2m_log(reg, "limits: --max-connections %d lowered to %d: the descriptor limit is %d", cfg->max_connections,
                reg->fd_limit - reserve, reg->fd_limit);
        cfg->max_connections = reg->fd_limit - reserve;
    }
    if (cfg->max_per_address < 0)
        cfg->max_per_address = DEFAULT_MAX_PER_ADDRESS;
    if (cfg->preauth_max == 0)
        cfg->preauth_max = DEFAULT_PREAUTH_MAX < cfg->max_connections ? DEFAULT_PREAUTH_MAX : cfg->max_connections;
    if (cfg->preauth_max_bytes == 0)
        cfg->preauth_max_bytes = DEFAULT_PREAUTH_MAX_BYTES;
    reg->addrs = calloc(1, sizeof *reg->addrs);
    if (reg->addrs == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    pthread_mutex_init(&reg->addrs->mu, NULL);
    return 0;
}

void m2m_limits_free(struct m2m_registrar *reg)
{
    if (reg->addrs == NULL)
        return;
    for (int i = 0; i < ADDR_BUCKETS; i++)
        while (reg->addrs->bucket[i] != NULL) {
            addr_node *n = reg->addrs->bucket[i];
            reg->addrs->bucket[i] = n->next;
            free(n);
        }
    pthread_mutex_destroy(&reg->addrs->mu);
    free(reg->addrs);
    reg->addrs = NULL;
}

/* One warning per reason per WARN_EVERY_S, saying how many it stands for: a flood must not become a log flood. */
static void warn(struct m2m_registrar *reg, int reason, const char *what, const char *addr)
{
    struct timespec now;
    long long at;
    unsigned long long skipped;
    clock_gettime(CLOCK_MONOTONIC, &now);
    at = __atomic_load_n(&reg->warn_at[reason], __ATOMIC_RELAXED);
    if (now.tv_sec < at || !__atomic_compare_exchange_n(&reg->warn_at[reason], &at, now.tv_sec + WARN_EVERY_S, 0,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&reg->warn_skipped[reason], 1, __ATOMIC_RELAXED);
        return;
    }
    skipped = __atomic_exchange_n(&reg->warn_skipped[reason], 0, __ATOMIC_RELAXED);
    m2m_log(reg, "limits: %s (peer=%s; %llu more like it in the last %d s)", what, addr, skipped, WARN_EVERY_S);
}

int m2m_limits_addr_add(struct m2m_registrar *reg, const unsigned char key[17], int delta)
{
    return addr_add(reg->addrs, key, delta);
}

void m2m_limits_warn(struct m2m_registrar *reg, int slot, const char *what, const char *addr)
{
    if (slot >= 0 && slot < (int)(sizeof reg->warn_at / sizeof reg->warn_at[0]))
        warn(reg, slot, what, addr);
}

static void refuse(conn *c, int reason, const char *what)
{
    struct m2m_registrar *reg = c->w->reg;
    __atomic_add_fetch(&reg->metrics.conn_refused[reason], 1, __ATOMIC_RELAXED);
    warn(reg, reason, what, c->tls.addr);
    m2m_conn_close(c, NULL);
}

/* ---- the admission check ---- */

void m2m_limits_release(conn *c)
{
    struct m2m_registrar *reg = c->w ? c->w->reg : NULL;
    if (reg == NULL)
        return;
    if (c->preauth) {
        c->preauth = 0;
        __atomic_sub_fetch(&reg->metrics.preauth_connections, 1, __ATOMIC_RELAXED);
    }
    if (c->admitted) {
        c->admitted = 0;
        addr_add(reg->addrs, c->addr_key, -1);
    }
    /* still waiting for its check: take it off the queue */
    for (conn **pp = &c->w->admit_queue; *pp != NULL; pp = &(*pp)->admit_next)
        if (*pp == c) {
            *pp = c->admit_next;
            break;
        }
}

void m2m_limits_bound(conn *c)
{
    void *evcon = NULL;
    if (c->preauth) {
        c->preauth = 0;
        __atomic_sub_fetch(&c->w->reg->metrics.preauth_connections, 1, __ATOMIC_RELAXED);
    }
    /* evhttp's connection is the argument of the callbacks it set on the bufferevent (libevent 2.1 http.c); it
     * has no other public way from a bufferevent to its connection. Without it the small limits stay. */
    if (c->bev != NULL)
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
    if (evcon != NULL) {
        evhttp_connection_set_max_headers_size(evcon, M2M_BOUND_MAX_HEADERS);
        evhttp_connection_set_max_body_size(evcon, M2M_BOUND_MAX_BODY);
    }
}

/* The oldest unauthenticated connection of this worker other than except (the list is newest first). */
static conn *oldest_preauth(struct worker *w, const conn *except)
{
    conn *old = NULL;
    for (conn *c = w->conns; c != NULL; c = c->next)
        if (c != except && c->preauth && !c->closing)
            old = c;
    return old;
}

static void admit(conn *c)
{
    struct worker *w = c->w;
    struct m2m_registrar *reg = w->reg;
    const m2m_registrar_config *cfg = &reg->cfg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    conn *old;

    long long open = __atomic_load_n(&reg->metrics.open_connections, __ATOMIC_RELAXED);
    long long peak = __atomic_load_n(&reg->conn_peak, __ATOMIC_RELAXED);

    if (c->closing)
        return;
    /* the high-water mark the tick compares with, to give memory back after a burst */
    while (open > peak && !__atomic_compare_exchange_n(&reg->conn_peak, &peak, open, 1, __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED))
        ;
    if (open > cfg->max_connections) {
        m2m_tls_conn_fill_addr(&c->tls);
        refuse(c, M2M_LIMIT_TOTAL, "connection refused: --max-connections reached");
        return;
    }
    memset(c->addr_key, 0, sizeof c->addr_key);
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        m2m_tls_conn_set_addr(&c->tls, (const struct sockaddr *)&ss);
        c->addr_key[0] = (unsigned char)ss.ss_family;
        if (ss.ss_family == AF_INET)
            memcpy(c->addr_key + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        else if (ss.ss_family == AF_INET6)
            memcpy(c->addr_key + 1, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        c->admitted = 1;
        if (addr_add(reg->addrs, c->addr_key, 1) > cfg->max_per_address && cfg->max_per_address > 0) {
            refuse(c, M2M_LIMIT_ADDRESS, "connection refused: --max-per-address reached");
            return;
        }
    }
    c->preauth = 1;
    if (__atomic_add_fetch(&reg->metrics.preauth_connections, 1, __ATOMIC_RELAXED) > cfg->preauth_max) {
        /* Like Redis's unauthenticated clients: the newest gets its chance, the one that waited longest goes. */
        old = oldest_preauth(w, c);
        if (old != NULL)
            refuse(old, M2M_LIMIT_PREAUTH, "unauthenticated connection dropped: pre-authentication budget "
                                           "(--preauth-max) full, oldest first");
        else
            refuse(c, M2M_LIMIT_PREAUTH, "connection refused: pre-authentication budget (--preauth-max) full");
    }
}

static void admit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd, (void)what;
    while (w->admit_queue != NULL) {
        conn *c = w->admit_queue;
        w->admit_queue = c->admit_next;
        c->admit_next = NULL;
        admit(c);
    }
}

void m2m_limits_admit_later(conn *c)
{
    struct worker *w = c->w;
    /* evhttp hands the socket to the bufferevent after this connection was made: the check runs from the event
     * loop's active queue, after evhttp has finished and before the socket is first read. */
    c->admit_next = w->admit_queue;
    w->admit_queue = c;
    event_active(w->admit_ev, EV_TIMEOUT, 1);
}

/* ---- out of descriptors ---- */

static _Thread_local struct worker *this_worker;

void m2m_limits_enter_worker(struct worker *w)
{
    this_worker = w;
}

static void resume_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd, (void)what;
    evconnlistener_enable(w->listener);
}

/* accept() failed. Left alone, libevent logs it and the listening socket, still readable, makes the loop spin.
 * On EMFILE/ENFILE the reserve descriptor is given up for a moment to accept and close one waiting connection
 * (its client sees a reset instead of hanging), and accepting pauses briefly. */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    struct worker *w = this_worker;
    int e = EVUTIL_SOCKET_ERROR();
    (void)arg;
    if (w == NULL || w->listener != lev)
        return;
    __atomic_add_fetch(&w->reg->metrics.accept_errors, 1, __ATOMIC_RELAXED);
    if (e == EMFILE || e == ENFILE) {
        if (w->reserve_fd >= 0) {
            int fd;
            close(w->reserve_fd);
            fd = accept(evconnlistener_get_fd(lev), NULL, NULL);
            if (fd >= 0)
                close(fd);
            w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        warn(w->reg, WARN_ACCEPT, "out of descriptors (accept: too many open files): raise the limit or "
                                  "lower --max-connections", "-");
    } else
        warn(w->reg, WARN_ACCEPT, strerror(e), "-");
    {
        struct timeval pause = {0, ACCEPT_PAUSE_MS * 1000};
        evconnlistener_disable(lev);
        evtimer_add(w->resume_accept_ev, &pause);
    }
}

int m2m_limits_worker_init(struct worker *w, m2m_err *err)
{
    w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    w->admit_ev = event_new(w->base, -1, 0, admit_cb, w);
    w->resume_accept_ev = evtimer_new(w->base, resume_accept_cb, w);
    if (w->reserve_fd < 0 || w->admit_ev == NULL || w->resume_accept_ev == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "cannot set up connection limits");
    evconnlistener_set_error_cb(w->listener, accept_error_cb);
    return 0;
}

void m2m_limits_worker_free(struct worker *w)
{
    if (w->admit_ev)
        event_free(w->admit_ev);
    if (w->resume_accept_ev)
        event_free(w->resume_accept_ev);
    if (w->reserve_fd > 0)
        close(w->reserve_fd);
    w->admit_ev = w->resume_accept_ev = NULL;
    w->reserve_fd = -1;
}

/* ---- once a second ---- */

void m2m_limits_tick(struct worker *w)
{
    struct m2m_registrar *reg = w->reg;
    long long share = reg->cfg.preauth_max_bytes / reg->nworkers, held = 0;

    /* What unauthenticated connections hold in request bytes on this worker, against its share of the budget. */
    for (conn *c = w->conns; c != NULL; c = c->next)
        if (c->preauth && !c->closing && c->bev != NULL)
            held += (long long)evbuffer_get_length(bufferevent_get_input(c->bev));
    while (held > share) {
        conn *old = oldest_preauth(w, NULL);
        if (old == NULL)
            break;
        held -= (long long)evbuffer_get_length(bufferevent_get_input(old->bev));
        refuse(old, M2M_LIMIT_PREAUTH_BYTES, "unauthenticated connection dropped: pre-authentication byte budget "
                                             "(--preauth-max-bytes) full, oldest first");
    }
    /* After a burst glibc keeps the freed heap; give it back once the connections have gone (each worker trims
     * its own arena's share: malloc_trim covers all arenas, and one of them doing it is enough). */
    if (w->index == 0) {
        long long open = __atomic_load_n(&reg->metrics.open_connections, __ATOMIC_RELAXED);
        long long peak = __atomic_load_n(&reg->conn_peak, __ATOMIC_RELAXED);
        if (peak - open > 256 && open < peak / 2) {
            malloc_trim(0);
            __atomic_store_n(&reg->conn_peak, open, __ATOMIC_RELAXED);
        }
    }
}
