/* SPDX-License-Identifier: Apache-2.0 */
/* Why this file overrides libcoap's coap_io_prepare_epoll: libcoap's walk over every session, paced.
 *
 * libcoap 4.3.1 runs coap_io_prepare_io -- a walk over every session of the endpoint (idle expiry, DTLS
 * retransmission timers, block-wise timeouts, freeing closed sessions), then a re-arm of its timerfd -- from
 * coap_io_prepare_epoll, which it calls at the end of every coap_io_do_epoll and at the start of every
 * coap_io_process: once or twice for every datagram. So with N devices attached and idle, every datagram of any
 * other device walked N sessions twice. Measured (bench/dtls.sh, the held rows): a DTLS-PSK re-attachment cost the
 * CoAPS worker 380 µs of CPU with no other session open, 670 µs with 1,000 idle sessions held and 3,450 µs with
 * 5,000 -- a server that slows down as it gains devices.
 *
 * Nothing in that walk has to run at every datagram. What it finds due is due at a time libcoap knows and arms its
 * timer for (the timer fires, the pump sees the timer's event and sweeps), or comes from a change we see: a session
 * closed (it is freed by the walk), a new handshake (its DTLS retransmission timer is armed by the walk). So a walk
 * runs when libcoap's timer fired, when we ask for one (m2m_coap_sweep: a new handshake from the address of a
 * session closed since the last walk must not find that session), and otherwise at most once per period: a walk
 * put off is run by a timer on the worker's loop at the end of the period, so nothing waits longer than that. The
 * period is 20 times what the last walk cost, at least 10 ms and at most 1 s: the walk takes at most about 5 % of
 * the worker, and a DTLS flight or CoAP retransmission due (after 1 s at the earliest) is late by at most a period.
 *
 * libcoap calls coap_io_prepare_epoll through its PLT (it is exported), so this definition in the executable is the
 * one it calls; libcoap's own is behind it (dlsym RTLD_NEXT), and a context that is not a CoAPS listener's (the
 * Registree's, in the same process) gets libcoap's own behaviour. m2m_coap_sweep_paced says whether the override is
 * in effect (/metrics: m2m_coap_sweep_paced); without it everything still works, walking at every datagram. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>

#include "registrar/coap.h"

#define SWEEP_MIN_MS 10.0
#define SWEEP_MAX_MS 1000.0
#define SWEEP_COST_FACTOR 20.0
#define SWEEP_CONTEXTS 256 /* CoAPS listeners (workers) in one process */

typedef unsigned int (*prepare_fn)(coap_context_t *ctx, coap_tick_t now);

static prepare_fn libcoap_prepare;
static pthread_once_t find_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
/* the listeners' contexts: read without the lock by the thread running each (a pointer is written whole) */
static struct {
    coap_context_t *ctx;
    struct m2m_coap *srv;
} owners[SWEEP_CONTEXTS];

static void find_libcoap(void)
{
    libcoap_prepare = (prepare_fn)dlsym(RTLD_NEXT, "coap_io_prepare_epoll");
}

/* the slot this thread found last: a worker runs one listener, so after its first call the slot is checked first.
 * Only the slot's index is remembered, and the slot itself is checked: a detached listener's slot no longer names
 * its context, so nothing stale is ever followed. */
static _Thread_local int last_slot;

static struct m2m_coap *owner_of(const coap_context_t *ctx)
{
    if (ctx == NULL)
        return NULL;
    if (__atomic_load_n(&owners[last_slot].ctx, __ATOMIC_ACQUIRE) == ctx)
        return __atomic_load_n(&owners[last_slot].srv, __ATOMIC_ACQUIRE);
    for (int i = 0; i < SWEEP_CONTEXTS; i++)
        if (__atomic_load_n(&owners[i].ctx, __ATOMIC_ACQUIRE) == ctx) {
            last_slot = i;
            return __atomic_load_n(&owners[i].srv, __ATOMIC_ACQUIRE);
        }
    return NULL;
}

double m2m_coap_sweep_put_off_ms(const coap_sweep *sw, double since_ms)
{
    if (sw->force || since_ms >= sw->period_ms || since_ms < 0)
        return 0;
    return sw->period_ms - since_ms;
}

void m2m_coap_sweep_ran(coap_sweep *sw, double cost_ms)
{
    double p = cost_ms * SWEEP_COST_FACTOR;
    sw->period_ms = p < SWEEP_MIN_MS ? SWEEP_MIN_MS : p > SWEEP_MAX_MS ? SWEEP_MAX_MS : p;
    sw->force = 0;
    sw->put_off = 0;
    if (sw->nclosed > 0)
        memset(sw->closed, 0, sizeof sw->closed);
    sw->nclosed = 0;
    sw->closed_overflow = 0;
}

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    struct m2m_coap *srv = arg;
    (void)fd, (void)what;
    if (srv->sweep.put_off)
        m2m_coap_sweep(srv);
}

__attribute__((visibility("default"))) unsigned int coap_io_prepare_epoll(coap_context_t *ctx, coap_tick_t now)
{
    struct m2m_coap *srv;
    struct timespec t0;
    double wait_ms;
    unsigned int r;

    pthread_once(&find_once, find_libcoap);
    if (libcoap_prepare == NULL)
        return 0; /* cannot happen with a libcoap that exports it; m2m_coap_sweep_paced then says 0 */
    if ((srv = owner_of(ctx)) == NULL)
        return libcoap_prepare(ctx, now);
    wait_ms = m2m_coap_sweep_put_off_ms(&srv->sweep, m2m_ms_since(&srv->sweep.last));
    if (wait_ms > 0) {
        struct timeval tv = {.tv_sec = (time_t)(wait_ms / 1000), .tv_usec = (suseconds_t)(wait_ms * 1000) % 1000000};
        srv->sweep.put_off = 1;
        __atomic_add_fetch(&srv->w->reg->metrics.coap.sweeps_put_off, 1, __ATOMIC_RELAXED);
        if (srv->sweep.ev != NULL && !evtimer_pending(srv->sweep.ev, NULL))
            evtimer_add(srv->sweep.ev, &tv);
        return (unsigned int)wait_ms + 1;
    }
    m2m_clock_mark(&t0);
    r = libcoap_prepare(ctx, now);
    m2m_coap_sweep_ran(&srv->sweep, m2m_ms_since(&t0));
    srv->sweep.last = t0;
    __atomic_add_fetch(&srv->w->reg->metrics.coap.sweeps, 1, __ATOMIC_RELAXED);
    return r;
}

int m2m_coap_sweep_paced(void)
{
    pthread_once(&find_once, find_libcoap);
    return libcoap_prepare != NULL &&
           (prepare_fn)dlsym(RTLD_DEFAULT, "coap_io_prepare_epoll") == coap_io_prepare_epoll;
}

int m2m_coap_sweep_attach(struct m2m_coap *srv, m2m_err *err)
{
    int slot = -1;
    srv->sweep.period_ms = SWEEP_MIN_MS;
    m2m_clock_mark(&srv->sweep.last);
    if ((srv->sweep.ev = evtimer_new(srv->w->base, deferred_cb, srv)) == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    pthread_mutex_lock(&owners_lock);
    for (int i = 0; i < SWEEP_CONTEXTS && slot < 0; i++)
        if (owners[i].ctx == NULL)
            slot = i;
    if (slot >= 0) {
        __atomic_store_n(&owners[slot].srv, srv, __ATOMIC_RELEASE);
        __atomic_store_n(&owners[slot].ctx, srv->ctx, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&owners_lock);
    /* no slot: this listener walks at every datagram, as libcoap does (correct, only slower) */
    return 0;
}

void m2m_coap_sweep_detach(struct m2m_coap *srv)
{
    pthread_mutex_lock(&owners_lock);
    for (int i = 0; i < SWEEP_CONTEXTS; i++)
        if (owners[i].srv == srv) {
            __atomic_store_n(&owners[i].ctx, NULL, __ATOMIC_RELEASE);
            __atomic_store_n(&owners[i].srv, NULL, __ATOMIC_RELEASE);
        }
    pthread_mutex_unlock(&owners_lock);
    if (srv->sweep.ev != NULL)
        event_free(srv->sweep.ev);
    srv->sweep.ev = NULL;
}

/* libcoap's timer work without reading its socket: retransmissions, DTLS timers, delayed answers whose writes
 * completed (coap_async), and the sessions closed since, freed; it reads libcoap's timer (clearing a fired one)
 * and re-arms it. */
void m2m_coap_sweep(struct m2m_coap *srv)
{
    struct epoll_event timer = {.events = EPOLLIN, .data.ptr = NULL};
    srv->sweep.force = 1;
    coap_io_do_epoll(srv->ctx, &timer, 1);
    srv->sweep.force = 0;
    m2m_coap_close_marked(srv); /* a delayed answer sent in the walk may close its session */
}

/* The set's key for a peer (never 0, the empty slot). */
static uint32_t closed_key(const struct sockaddr *sa, socklen_t len)
{
    uint32_t h = m2m_coap_peer_hash(sa, len);
    return h != 0 ? h : 1;
}

/* Past 3/4 of the slots since the last walk, the next new handshake walks whatever its address (and the set starts
 * again): a peer that gets sessions closed (the unauthenticated budget's evictions, say) buys one walk per ~3,000
 * closes. */
void m2m_coap_sweep_closed(struct m2m_coap *srv, const coap_address_t *remote)
{
    coap_sweep *sw = &srv->sweep;
    uint32_t k = closed_key(&remote->addr.sa, remote->size), i;
    if (sw->nclosed >= M2M_COAP_CLOSED_SLOTS / 4 * 3) {
        sw->closed_overflow = 1;
        return;
    }
    for (i = k % M2M_COAP_CLOSED_SLOTS; sw->closed[i] != 0; i = (i + 1) % M2M_COAP_CLOSED_SLOTS)
        if (sw->closed[i] == k)
            return; /* that address is in already */
    sw->closed[i] = k;
    sw->nclosed++;
}

int m2m_coap_sweep_closed_since(const struct m2m_coap *srv, const struct sockaddr *sa, socklen_t len)
{
    const coap_sweep *sw = &srv->sweep;
    uint32_t k = closed_key(sa, len);
    if (sw->closed_overflow)
        return 1;
    if (sw->nclosed == 0)
        return 0;
    for (uint32_t i = k % M2M_COAP_CLOSED_SLOTS; sw->closed[i] != 0; i = (i + 1) % M2M_COAP_CLOSED_SLOTS)
        if (sw->closed[i] == k)
            return 1;
    return 0;
}
