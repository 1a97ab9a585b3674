/* SPDX-License-Identifier: Apache-2.0 */
/* The admin listener: plain HTTP on a loopback address by default, serving /metrics in the Prometheus text format.
 * It runs its own event loop in its own thread, so a slow scraper never touches the workers. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/coap.h"
#include "registrar/limits.h"
#include "registrar/server.h"
#include "secctx/buffer_pages.h"

struct m2m_admin {
    struct m2m_registrar *reg;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    pthread_t thread;
    int port;
};

static unsigned long long load(const unsigned long long *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* The store's health: calls and their latency, by who makes them (the workers' reads, on their loops; the writer's
 * statements and commits, on its thread), the calls that failed in the store, and whether it answers now. 0, or -1
 * when the buffer could not grow. */
static int store_metrics(const struct m2m_registrar *reg, struct evbuffer *out)
{
    m2m_store_stats by[3];
    static const char *const ROLE[3] = {"worker", "writer", "reader"};
    int bad = 0;
    int up = reg->notifier == NULL || m2m_store_notifier_up(reg->notifier);
#define EMIT(...) (bad |= evbuffer_add_printf(out, __VA_ARGS__) < 0)
    memset(by, 0, sizeof by);
    for (int i = 0; i < reg->nworkers + reg->ncoap; i++) {
        m2m_store_stats s;
        if (reg->workers[i].st == NULL)
            continue;
        for (int k = 0; k < 2; k++) {
            if (k == 0)
                m2m_store_stats_read(reg->workers[i].st, &s);
            else
                m2m_store_reader_stats(reg->workers[i].tls.reader, &s);
            by[2 * k].calls += s.calls; /* worker, reader */
            by[2 * k].errors += s.errors;
            by[2 * k].nanos += s.nanos;
            for (int b = 0; b < M2M_STORE_LAT_BUCKETS; b++)
                by[2 * k].le[b] += s.le[b];
        }
        up &= m2m_store_available(reg->workers[i].st);
    }
    m2m_store_writer_store_stats(reg->writer, &by[1]);
    EMIT("# HELP m2m_store_calls_total Store calls: the workers' reads on their event loops (worker: waited for; "
         "reader: sent without waiting, the PSK lookups of handshakes on PostgreSQL) and the writer's statements (on "
         "its thread).\n# TYPE m2m_store_calls_total counter\n");
    for (int r = 0; r < 3; r++)
        EMIT("m2m_store_calls_total{role=\"%s\"} %llu\n", ROLE[r], by[r].calls);
    EMIT("# HELP m2m_store_errors_total Store calls that failed in the store (unreachable, timed out, refused by the "
         "database).\n# TYPE m2m_store_errors_total counter\n");
    for (int r = 0; r < 3; r++)
        EMIT("m2m_store_errors_total{role=\"%s\"} %llu\n", ROLE[r], by[r].errors);
    EMIT("# HELP m2m_store_call_seconds Latency of store calls.\n# TYPE m2m_store_call_seconds histogram\n");
    for (int r = 0; r < 3; r++) {
        unsigned long long cum = 0;
        for (int b = 0; b < M2M_STORE_LAT_BUCKETS; b++) {
            cum += by[r].le[b];
            if (b < M2M_STORE_LAT_BUCKETS - 1)
                EMIT("m2m_store_call_seconds_bucket{role=\"%s\",le=\"%g\"} %llu\n", ROLE[r], M2M_STORE_LAT_LE[b], cum);
            else
                EMIT("m2m_store_call_seconds_bucket{role=\"%s\",le=\"+Inf\"} %llu\n", ROLE[r], cum);
        }
        EMIT("m2m_store_call_seconds_sum{role=\"%s\"} %.6f\nm2m_store_call_seconds_count{role=\"%s\"} %llu\n", ROLE[r],
             (double)by[r].nanos / 1e9, ROLE[r], by[r].calls);
    }
    EMIT("# HELP m2m_store_up 1 while the store answers; 0 when its change notifier lost the database or a worker's "
         "last call could not reach it (new attachments then fail until it is back).\n"
         "# TYPE m2m_store_up gauge\nm2m_store_up %d\n", up);
#undef EMIT
    return bad ? -1 : 0;
}

/* The HTTPS series keep the names they always had; the CoAPS listener's follow each family, with
 * binding="coap" (a family stays one group, as the text format wants). */
int m2m_metrics_text(const struct m2m_registrar *reg, struct evbuffer *out)
{
    const m2m_metrics *m = &reg->metrics;
    const m2m_coap_metrics *cm = &m->coap;
    int coap = reg->coap_worker != NULL;
    int bad = 0;
    /* into a growing buffer: a new metric never cuts the text off */
#define EMIT(...) (bad |= evbuffer_add_printf(out, __VA_ARGS__) < 0)
    EMIT("# HELP m2m_handshakes_total TLS handshakes that authenticated a Registree, by mechanism and kind.\n"
         "# TYPE m2m_handshakes_total counter\n");
    for (int i = 0; i < M2M_MECH_COUNT; i++) {
        EMIT("m2m_handshakes_total{mechanism=\"%s\",kind=\"full\"} %llu\n", m2m_mech_name(i), load(&m->tls.full[i]));
        EMIT("m2m_handshakes_total{mechanism=\"%s\",kind=\"resumed\"} %llu\n", m2m_mech_name(i), load(&m->tls.resumed[i]));
    }
    for (int i = 0; coap && i < M2M_MECH_COUNT; i++) {
        EMIT("m2m_handshakes_total{mechanism=\"%s\",kind=\"full\",binding=\"coap\"} %llu\n", m2m_mech_name(i),
             load(&cm->tls.full[i]));
        EMIT("m2m_handshakes_total{mechanism=\"%s\",kind=\"resumed\",binding=\"coap\"} %llu\n", m2m_mech_name(i),
             load(&cm->tls.resumed[i]));
    }
    EMIT("# HELP m2m_handshakes_refused_total Handshakes refused (unknown, wrong or revoked credentials).\n"
         "# TYPE m2m_handshakes_refused_total counter\nm2m_handshakes_refused_total %llu\n", load(&m->tls.refused));
    if (coap)
        EMIT("m2m_handshakes_refused_total{binding=\"coap\"} %llu\n", load(&cm->tls.refused));
    EMIT("# HELP m2m_handshakes_unbound_total Handshakes that completed without proving a Registree credential "
         "(server-authenticated contexts, e.g. before a token registration).\n"
         "# TYPE m2m_handshakes_unbound_total counter\nm2m_handshakes_unbound_total %llu\n", load(&m->tls.unbound));
    if (coap)
        EMIT("m2m_handshakes_unbound_total{binding=\"coap\"} %llu\n", load(&cm->tls.unbound));
    EMIT("# HELP m2m_connections_refused_total Connections refused or dropped by a limit (registrar/limits.c).\n"
         "# TYPE m2m_connections_refused_total counter\n");
    for (int i = 0; i < M2M_LIMIT_COUNT; i++)
        EMIT("m2m_connections_refused_total{reason=\"%s\"} %llu\n", m2m_limit_name(i), load(&m->conn_refused[i]));
    /* DTLS: ClientHellos refused at the gate (max_sessions, max_per_address) or unauthenticated sessions dropped
     * (preauth_count) */
    for (int i = 0; coap && i < M2M_LIMIT_COUNT - 1; i++)
        EMIT("m2m_connections_refused_total{reason=\"%s\",binding=\"coap\"} %llu\n",
             i == M2M_LIMIT_TOTAL ? "max_sessions" : m2m_limit_name(i), load(&cm->refused[i]));
    EMIT("# HELP m2m_quota_refused_total Requests refused by a per-Registree limit (resources, bytes, rate).\n"
         "# TYPE m2m_quota_refused_total counter\nm2m_quota_refused_total %llu\n", load(&reg->quota.refused));
    {
        /* group commit (store/writer.c): batches committed, and jobs per batch */
        static const char *const LE[M2M_STORE_BATCH_BUCKETS] = {"1", "2", "4", "8", "16", "32", "64", "128", "256",
                                                                "+Inf"};
        m2m_store_writer_stats ws;
        unsigned long long cum = 0;
        m2m_store_writer_stats_read(reg->writer, &ws);
        EMIT("# HELP m2m_store_commits_total Transactions the store's writer committed (one fsync each).\n"
             "# TYPE m2m_store_commits_total counter\nm2m_store_commits_total %llu\n", ws.commits);
        EMIT("# HELP m2m_store_writes_failed_total Writes that failed (each answered for itself).\n"
             "# TYPE m2m_store_writes_failed_total counter\nm2m_store_writes_failed_total %llu\n", ws.failed);
        EMIT("# HELP m2m_store_batch_size Writes committed together in one transaction.\n"
             "# TYPE m2m_store_batch_size histogram\n");
        for (int i = 0; i < M2M_STORE_BATCH_BUCKETS; i++) {
            cum += ws.batch_le[i];
            EMIT("m2m_store_batch_size_bucket{le=\"%s\"} %llu\n", LE[i], cum);
        }
        EMIT("m2m_store_batch_size_sum %llu\nm2m_store_batch_size_count %llu\n", ws.jobs, ws.commits);
    }
    bad |= store_metrics(reg, out) != 0;
    EMIT("# HELP m2m_accept_errors_total accept() failures, e.g. out of descriptors.\n"
         "# TYPE m2m_accept_errors_total counter\nm2m_accept_errors_total %llu\n", load(&m->accept_errors));
    EMIT("# HELP m2m_preauth_connections Open connections not bound to a Registree.\n"
         "# TYPE m2m_preauth_connections gauge\nm2m_preauth_connections %lld\n",
         (long long)__atomic_load_n(&m->preauth_connections, __ATOMIC_RELAXED));
    if (coap)
        EMIT("m2m_preauth_connections{binding=\"coap\"} %lld\n",
             (long long)__atomic_load_n(&cm->preauth_sessions, __ATOMIC_RELAXED));
    EMIT("# HELP m2m_gba_zn_requests_total Zn requests to the BSF for Ks_NAF (x.y.5), by how the worker waited.\n"
         "# TYPE m2m_gba_zn_requests_total counter\n"
         "m2m_gba_zn_requests_total{wait=\"none\"} %llu\nm2m_gba_zn_requests_total{wait=\"blocking\"} %llu\n",
         load(&m->gba.zn_fetches) - load(&m->gba.zn_blocking), load(&m->gba.zn_blocking));
    EMIT("# HELP m2m_gba_zn_failures_total Zn requests that got no answer (unreachable BSF, timeout).\n"
         "# TYPE m2m_gba_zn_failures_total counter\nm2m_gba_zn_failures_total %llu\n", load(&m->gba.zn_failures));
    EMIT("# HELP m2m_gba_zn_blocked_seconds_total Time worker loops spent waiting in blocking Zn requests.\n"
         "# TYPE m2m_gba_zn_blocked_seconds_total counter\nm2m_gba_zn_blocked_seconds_total %.6f\n",
         (double)load(&m->gba.zn_blocked_us) / 1e6);
    EMIT("# HELP m2m_gba_key_cache_hits_total GBA handshakes whose Ks_NAF was cached (no Zn request).\n"
         "# TYPE m2m_gba_key_cache_hits_total counter\nm2m_gba_key_cache_hits_total %llu\n", load(&m->gba.cache_hits));
    EMIT("# HELP m2m_requests_total oneM2M requests handled.\n# TYPE m2m_requests_total counter\n"
         "m2m_requests_total %llu\n", load(&m->requests));
    if (coap)
        EMIT("m2m_requests_total{binding=\"coap\"} %llu\n", load(&cm->requests));
    EMIT("# HELP m2m_keys_generated_total Kcc/Kca generated over a session (x.y.8).\n"
         "# TYPE m2m_keys_generated_total counter\nm2m_keys_generated_total %llu\n", load(&m->keys_generated));
    EMIT("# HELP m2m_open_connections TLS connections open now (binding=\"coap\": DTLS sessions).\n"
         "# TYPE m2m_open_connections gauge\n"
         "m2m_open_connections %lld\n", (long long)__atomic_load_n(&m->open_connections, __ATOMIC_RELAXED));
    if (coap) {
        m2m_gate_stats gs;
        EMIT("m2m_open_connections{binding=\"coap\"} %lld\n",
             (long long)__atomic_load_n(&cm->open_sessions, __ATOMIC_RELAXED));
        memset(&gs, 0, sizeof gs);
        for (int i = 0; i < reg->ncoap; i++) { /* each CoAPS worker has its gate */
            m2m_gate_stats one;
            m2m_coap_gate_stats(reg->workers[reg->nworkers + i].coap, &one);
            gs.hello_verify += one.hello_verify;
            gs.passed += one.passed;
            gs.dropped += one.dropped;
        }
        EMIT("# HELP m2m_dtls_hello_verify_total HelloVerifyRequests sent: ClientHellos without a valid cookie, "
             "answered without keeping anything.\n# TYPE m2m_dtls_hello_verify_total counter\n"
             "m2m_dtls_hello_verify_total %llu\n", gs.hello_verify);
        EMIT("# HELP m2m_dtls_cookies_valid_total ClientHellos whose cookie proved the peer's address.\n"
             "# TYPE m2m_dtls_cookies_valid_total counter\nm2m_dtls_cookies_valid_total %llu\n", gs.passed);
        EMIT("# HELP m2m_dtls_unknown_dropped_total Datagrams from peers without a DTLS session, dropped "
             "unanswered.\n# TYPE m2m_dtls_unknown_dropped_total counter\nm2m_dtls_unknown_dropped_total %llu\n",
             gs.dropped);
        EMIT("# HELP m2m_coap_sweeps_total libcoap's walks over every DTLS session (timers, closed sessions freed), "
             "by whether one ran or was put off to the end of its period.\n# TYPE m2m_coap_sweeps_total counter\n"
             "m2m_coap_sweeps_total{kind=\"ran\"} %llu\nm2m_coap_sweeps_total{kind=\"put_off\"} %llu\n",
             load(&cm->sweeps), load(&cm->sweeps_put_off));
        EMIT("# HELP m2m_coap_sweep_paced 1 when libcoap's walk over every session is paced, 0 when it runs at "
             "every datagram (libcoap does not call our coap_io_prepare_epoll).\n# TYPE m2m_coap_sweep_paced gauge\n"
             "m2m_coap_sweep_paced %d\n", m2m_coap_sweep_paced());
        EMIT("# HELP m2m_coap_idle_buffers_released_total Idle DTLS sessions whose OpenSSL read and handshake "
             "buffers went back to the kernel (they come back zeroed with the next datagram).\n"
             "# TYPE m2m_coap_idle_buffers_released_total counter\nm2m_coap_idle_buffers_released_total %llu\n",
             load(&cm->buffers_released));
        EMIT("# HELP m2m_coap_write_answers_total Answers that waited for a durable write, by whether they went on "
             "the request's ACK or, after a retransmission of the request, as a separate "
             "response.\n# TYPE m2m_coap_write_answers_total counter\n"
             "m2m_coap_write_answers_total{kind=\"piggybacked\"} %llu\n"
             "m2m_coap_write_answers_total{kind=\"separate\"} %llu\n",
             load(&cm->write_answers[0]), load(&cm->write_answers[1]));
        EMIT("# HELP m2m_coap_duplicates_total Duplicates of an answered Confirmable write (its ACK was lost), "
             "answered again without running the write twice.\n# TYPE m2m_coap_duplicates_total counter\n"
             "m2m_coap_duplicates_total %llu\n", load(&cm->duplicates));
        EMIT("# HELP m2m_coap_block2_kept_bytes Answers sent block-wise (RFC 7959 Block2) kept for the requests of "
             "their next blocks: at most one a session, at most %u MiB a CoAPS worker.\n"
             "# TYPE m2m_coap_block2_kept_bytes gauge\nm2m_coap_block2_kept_bytes %lld\n",
             M2M_COAP_BLOCK2_BUDGET >> 20, (long long)__atomic_load_n(&cm->block2_kept_bytes, __ATOMIC_RELAXED));
        EMIT("# HELP m2m_coap_block2_requests_total Requests for a later block of an answer, by how they were "
             "answered: from the kept answer, a read made again (not kept), a write's answer not kept (4.08: the "
             "write is not run twice).\n# TYPE m2m_coap_block2_requests_total counter\n"
             "m2m_coap_block2_requests_total{answer=\"kept\"} %llu\n"
             "m2m_coap_block2_requests_total{answer=\"again\"} %llu\n"
             "m2m_coap_block2_requests_total{answer=\"refused\"} %llu\n"
             "# HELP m2m_coap_block2_not_kept_total Block-wise answers not kept: the worker's budget was used up.\n"
             "# TYPE m2m_coap_block2_not_kept_total counter\nm2m_coap_block2_not_kept_total %llu\n",
             load(&cm->block2[M2M_COAP_BLOCK2_KEPT]), load(&cm->block2[M2M_COAP_BLOCK2_AGAIN]),
             load(&cm->block2[M2M_COAP_BLOCK2_REFUSED]), load(&cm->block2[M2M_COAP_BLOCK2_NOT_KEPT]));
    }
    {
        m2m_pages_stats ps;
        m2m_pages_stats_read(m2m_pages_openssl(), &ps);
        EMIT("# HELP m2m_tls_buffer_slots Page-aligned slots for OpenSSL's 12..24 KiB buffers, by state (0 and 0: no "
             "slots, without --coaps; the buffers are malloc'd).\n# TYPE m2m_tls_buffer_slots gauge\n"
             "m2m_tls_buffer_slots{state=\"in_use\"} %llu\nm2m_tls_buffer_slots{state=\"free\"} %llu\n"
             "# HELP m2m_tls_buffer_slots_full_total Big OpenSSL buffers that went to malloc: every slot was in use.\n"
             "# TYPE m2m_tls_buffer_slots_full_total counter\nm2m_tls_buffer_slots_full_total %llu\n",
             ps.in_use, ps.slots - ps.in_use, ps.fallbacks);
    }
#undef EMIT
    return bad ? -1 : 0;
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct m2m_admin *a = arg;
    struct evbuffer *body = evbuffer_new();
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (body == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    if (path != NULL && strcmp(path, "/metrics") == 0 && evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        if (m2m_metrics_text(a->reg, body) != 0) {
            evbuffer_free(body);
            evhttp_send_error(req, 500, NULL);
            return;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
        evhttp_send_reply(req, 200, "OK", body);
    } else {
        evbuffer_add_printf(body, "only GET /metrics is served here\n");
        evhttp_send_reply(req, 404, "Not Found", body);
    }
    evbuffer_free(body);
}

static void *run(void *arg)
{
    struct m2m_admin *a = arg;
    event_base_dispatch(a->base);
    return NULL;
}

struct m2m_admin *m2m_admin_start(struct m2m_registrar *reg, m2m_err *err)
{
    struct m2m_admin *a = calloc(1, sizeof *a);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (a == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "out of memory");
        return NULL;
    }
    a->reg = reg;
    a->base = event_base_new();
    a->http = a->base ? evhttp_new(a->base) : NULL;
    if (a->http == NULL) {
        m2m_fail(err, M2M_E_NOMEM, "cannot create the admin event loop");
        goto fail;
    }
    evhttp_set_gencb(a->http, handle, a);
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET);
    evhttp_set_timeout(a->http, 10);
    a->sock = evhttp_bind_socket_with_handle(a->http, reg->cfg.admin_host, (ev_uint16_t)atoi(reg->cfg.admin_port));
    if (a->sock == NULL) {
        m2m_fail(err, M2M_E_IO, "--admin %s:%s: cannot listen", reg->cfg.admin_host, reg->cfg.admin_port);
        goto fail;
    }
    memset(&ss, 0, sizeof ss); /* what getsockname leaves unfilled reads as 0, never as garbage */
    if (getsockname(evhttp_bound_socket_get_fd(a->sock), (struct sockaddr *)&ss, &len) == 0)
        a->port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                          : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (pthread_create(&a->thread, NULL, run, a) != 0) {
        m2m_fail(err, M2M_E_IO, "cannot start the admin thread");
        goto fail;
    }
    return a;
fail:
    if (a->http)
        evhttp_free(a->http);
    if (a->base)
        event_base_free(a->base);
    free(a);
    return NULL;
}

int m2m_admin_port(const struct m2m_admin *a)
{
    return a ? a->port : -1;
}

void m2m_admin_stop(struct m2m_admin *a)
{
    if (a == NULL)
        return;
    event_base_loopexit(a->base, NULL);
    pthread_join(a->thread, NULL);
    evhttp_free(a->http);
    event_base_free(a->base);
    free(a);
}
