/* SPDX-License-Identifier: Apache-2.0 */
/* Every datagram of the CoAPS listener's sockets, before libcoap reads it (coap_server.c says why libcoap runs
 * the CoAP and DTLS).
 *
 * The cookie gate. libcoap 4.3.1 allocates a session for every ClientHello from a new address before any cookie
 * is checked. So datagrams do not reach libcoap unfiltered: we peek at each one on libcoap's sockets first. From a
 * peer with a session it goes to libcoap; from anyone else only a ClientHello with a cookie the gate issued for
 * that address does (and only within the limits below); a ClientHello without one gets a HelloVerifyRequest no
 * larger than itself, and everything else is dropped unread by libcoap (secctx/dtls_gate.h). libcoap reads one
 * datagram per coap_io_process, the one we peeked: nothing reaches it that the gate did not see. A new ClientHello
 * (epoch 0) from a peer whose session is established -- a device that restarted on the same port -- goes through
 * the gate too and, with a valid cookie, replaces that session (RFC 6347 4.2.8).
 *
 * A peer that passed the gate is admitted within the limits before authentication (--coaps-max-sessions,
 * --max-per-address, --preauth-max; coap_server.c has the rest). */
#include <openssl/err.h>
#include <string.h>
#include <sys/socket.h>

#include "registrar/coap.h"
#include "registrar/limits.h"
#include "secctx/gate.h"
#include "secctx/gba.h"
#include "util/clock.h"

#define PUMP_BATCH 64 /* datagrams per loop callback at most: the worker's other events get their turn */

/* ---- admission of a peer that showed its address (a ClientHello with a valid cookie) ---- */

static void refuse(struct m2m_coap *srv, int reason, const char *what, const char *addr)
{
    __atomic_add_fetch(&srv->w->reg->metrics.coap.refused[reason], 1, __ATOMIC_RELAXED);
    m2m_limits_warn(srv->w->reg, M2M_LIMIT_WARN_COAP + (reason == M2M_LIMIT_TOTAL ? 0 : reason == M2M_LIMIT_ADDRESS
                                                                                           ? 1 : 2), what, addr);
}

static int admit(struct m2m_coap *srv, const struct sockaddr *sa, socklen_t len)
{
    const m2m_registrar_config *cfg = &srv->w->reg->cfg;
    unsigned char key[17];
    coap_address_t a;
    char addr[64] = "?";
    int n;

    memset(&a, 0, sizeof a);
    if (len <= (socklen_t)sizeof a.addr)
        memcpy(&a.addr, sa, len);
    m2m_coap_format_addr(&a, addr, sizeof addr);
    /* the counts are every CoAPS worker's: each worker's socket takes its share of the devices */
    if (__atomic_load_n(&srv->w->reg->metrics.coap.open_sessions, __ATOMIC_RELAXED) >= cfg->coaps_max_sessions) {
        refuse(srv, M2M_LIMIT_TOTAL, "DTLS ClientHello refused: --coaps-max-sessions reached", addr);
        return 0;
    }
    m2m_coap_addr_key(sa, key);
    n = m2m_limits_addr_add(srv->w->reg, key, 0);
    if (cfg->max_per_address > 0 && n >= cfg->max_per_address) {
        refuse(srv, M2M_LIMIT_ADDRESS, "DTLS ClientHello refused: --max-per-address reached", addr);
        return 0;
    }
    if (__atomic_load_n(&srv->w->reg->metrics.coap.preauth_sessions, __ATOMIC_RELAXED) >= cfg->preauth_max) {
        /* like the HTTPS side: the newest gets its chance, the unauthenticated session waiting longest on this
         * worker goes (a closing one has left the list: leave_preauth runs when its SSL goes, before m2m_coap_close
         * returns); a worker with none of its own refuses */
        coap_conn *old = srv->preauth_head;
        while (old != NULL && old->closing)
            old = old->pnext;
        if (old == NULL) {
            refuse(srv, M2M_LIMIT_PREAUTH, "DTLS ClientHello refused: pre-authentication budget (--preauth-max) "
                                           "full", addr);
            return 0;
        }
        refuse(srv, M2M_LIMIT_PREAUTH, "unauthenticated DTLS session dropped: pre-authentication budget "
                                       "(--preauth-max) full, oldest first", old->tls.addr);
        if (!old->tls.established)
            m2m_tls_conn_refused(&old->tls, "dropped");
        m2m_coap_close(old, NULL);
    }
    return 1;
}

/* ---- the loop ---- */

/* libcoap reads the datagram at the head of its socket -- the one just peeked -- with the gate naming its sender
 * for the cookie callbacks, and answers it. Handed libcoap's own event for its socket (coap_endpoint.c found it),
 * coap_io_do_epoll reads without asking any epoll descriptor. */
static void process_one(coap_sock *sock, const struct sockaddr *sa, socklen_t len)
{
    struct m2m_coap *srv = sock->srv;
    m2m_dtls_gate_enter(srv->gate, sa, len);
    coap_io_do_epoll(srv->ctx, &sock->ep_event, 1);
    m2m_dtls_gate_leave();
}

/* A ClientHello in epoch 0 (record header: type 22, epoch bytes 3-4 zero; handshake type 1 at byte 13). */
static int fresh_hello(const unsigned char *d, size_t len)
{
    return len > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0 && d[13] == 1;
}

/* x.y.5 over DTLS. A ClientKeyExchange naming a B-TID whose Ks_NAF this worker has not cached: OpenSSL would ask
 * for the key in its PSK callback, which must answer at once, while Zn is a round trip to the BSF. So the flight
 * is dropped unread and Zn runs on the loop (secctx/gate.c); the client's DTLS retransmission timer (RFC 6347
 * 4.2.4: 1 s at first) sends the flight again, and by then the key -- or that there is none -- is in the cache, so
 * the PSK callback answers from it. A first attachment of a B-TID on a worker costs one retransmission; every
 * other one none. 1: drop this datagram. */
static int gba_hold(struct m2m_coap *srv, coap_conn *c, size_t len)
{
    m2m_gba_naf *naf = srv->w->tls.gba;
    const unsigned char *id;
    size_t n;
    char btid[M2M_BTID_MAX];
    uint8_t ua[M2M_GBA_UA_ID_LEN];

    if (!m2m_dtls_cke_identity(srv->dgram, len, &id, &n) || !m2m_gba_identity_btid(id, n, btid))
        return 0;
    m2m_gba_ua_of(c->tls.ssl, ua);
    if (m2m_gba_cache_get(naf, btid, ua, m2m_clock_now()) != NULL)
        return 0;
    /* no request possible (too many under way): OpenSSL gets it, and the PSK callback refuses */
    return m2m_gate_prefetch(naf, btid, ua) == 0;
}

/* How many datagrams this wake-up reads. One, when the socket was quiet until it woke us: a device's datagrams
 * come a round trip apart, and reading on until recvfrom says EAGAIN costs a system call per datagram (~7 us of a
 * 270-us re-attachment) -- the event is level-triggered, so one more waiting wakes us again at once. Up to
 * PUMP_BATCH when it woke right after the last pump ended (within BUSY_NS): datagrams are queuing, and a probe per
 * batch is cheaper than a wake-up per datagram. Real time, not the test clock: this only changes system calls. */
#define BUSY_NS 20000L
static int pump_batch(const coap_sock *sock)
{
    struct timespec now;
    long ns;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ns = (long)(now.tv_sec - sock->idle_from.tv_sec) * 1000000000L + (now.tv_nsec - sock->idle_from.tv_nsec);
    return ns >= 0 && ns < BUSY_NS ? PUMP_BATCH : 1;
}

/* Datagrams of one socket (pump_batch: one, or up to PUMP_BATCH), each through the gate and, if it lets it, to
 * libcoap. */
void m2m_coap_pump(coap_sock *sock)
{
    struct m2m_coap *srv = sock->srv;
    int batch = pump_batch(sock);

    for (int i = 0; i < batch; i++) {
        struct sockaddr_storage from = {0};
        socklen_t flen = sizeof from;
        unsigned char reply[256];
        size_t rlen = 0, len;
        ssize_t n = recvfrom(sock->fd, srv->dgram, sizeof srv->dgram, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &flen);
        struct sockaddr *sa = (struct sockaddr *)&from;
        m2m_gate_verdict v;
        coap_conn *c;

        if (n < 0)
            break; /* EAGAIN: nothing more (or an ICMP error, which the next read clears) */
        len = (size_t)n < sizeof srv->dgram ? (size_t)n : sizeof srv->dgram;
        c = m2m_coap_lookup(srv, sa, flen);
        if (c != NULL && !(c->tls.established && fresh_hello(srv->dgram, len))) {
            if (!c->tls.established && srv->w->tls.gba != NULL && gba_hold(srv, c, len)) {
                (void)recv(sock->fd, srv->dgram, 1, MSG_DONTWAIT); /* dropped unread: the client sends it again */
                continue;
            }
            process_one(sock, sa, flen);
            continue;
        }
        /* A peer without a session -- or with an established one that starts a new handshake from the same address
         * and port: a device that restarted. OpenSSL would drop that epoch-0 ClientHello inside the old session
         * and lock the device out until the session idles away; RFC 6347 4.2.8 wants a new handshake. Once the
         * cookie shows the sender receives at that address (an off-path attacker cannot close sessions this way),
         * the old session goes and the new handshake proceeds. */
        v = m2m_dtls_gate_check(srv->gate, sa, flen, srv->dgram, len, reply, sizeof reply, &rlen);
        if (v == M2M_GATE_PASS && c != NULL)
            m2m_coap_close(c, "a new DTLS handshake from its address and port (the device restarted?)");
        /* libcoap frees a closed session in its walk: the one from this address goes now, so that the ClientHello
         * finds none */
        if (v == M2M_GATE_PASS && m2m_coap_sweep_closed_since(srv, sa, flen))
            m2m_coap_sweep(srv);
        if (v == M2M_GATE_PASS && admit(srv, sa, flen)) {
            process_one(sock, sa, flen);
            continue;
        }
        /* libcoap never sees it: consumed here (a 1-byte read discards the rest of a datagram) */
        (void)recv(sock->fd, srv->dgram, 1, MSG_DONTWAIT);
        if (v == M2M_GATE_REPLY)
            (void)sendto(sock->fd, reply, rlen, MSG_DONTWAIT, sa, flen);
    }
}

void m2m_coap_pump_cb(evutil_socket_t fd, short what, void *arg)
{
    coap_sock *sock = arg;
    (void)fd, (void)what;
    m2m_coap_pump(sock);
    m2m_coap_close_marked(sock->srv);
    ERR_clear_error();
    clock_gettime(CLOCK_MONOTONIC, &sock->idle_from);
}
