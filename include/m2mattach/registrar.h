/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar CSE: an HTTPS listener served by worker threads, each with its own event loop, store connection
 * and SO_REUSEPORT socket on the same port, and optionally a CoAPS (DTLS) listener on a worker of its own.
 *
 *   m2m_registrar_config *cfg = m2m_registrar_config_new();
 *   m2m_registrar_config_set_db(cfg, "registrar.db", &err);
 *   m2m_registrar_config_set_https(cfg, "127.0.0.1:8443", &err);
 *   m2m_registrar *r = m2m_registrar_start(cfg, &err);   // returns once listening
 *   ...
 *   m2m_registrar_stop(r);                                // closes every connection, joins the workers
 */
#ifndef M2MATTACH_REGISTRAR_H
#define M2MATTACH_REGISTRAR_H

#include <stdio.h>
#include "m2mattach/error.h"

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default) /* the library is built with hidden visibility: only this API leaves it */

typedef struct m2m_registrar_config m2m_registrar_config;
typedef struct m2m_registrar m2m_registrar;

/* Creates the store with the Registrar's identity (fails if the file exists). cse_id starts with '/'; sp_id is the
 * Service Provider's domain used in absolute addresses //SP-ID/CSE-ID/... (NULL = "m2m.localhost"). cert, key and
 * chain (each may be NULL) are recorded as absolute paths for `serve` to use. */
int m2m_registrar_init_store(const char *db_path, const char *cse_id, const char *cse_name, const char *sp_id,
                             const char *cert, const char *key, const char *chain, m2m_err *err);

m2m_registrar_config *m2m_registrar_config_new(void);
void m2m_registrar_config_free(m2m_registrar_config *cfg);
int m2m_registrar_config_set_db(m2m_registrar_config *cfg, const char *path, m2m_err *err);
/* "HOST:PORT" or "[IPv6]:PORT"; port 0 picks a free port (see m2m_registrar_https_port). */
int m2m_registrar_config_set_https(m2m_registrar_config *cfg, const char *host_port, m2m_err *err);
/* The CoAPS (CoAP over DTLS 1.2, TS-0008) listener beside HTTPS: "HOST", "HOST:PORT", "[IPv6]" or "[IPv6]:PORT";
 * the port defaults to 5684, 0 picks a free one (see m2m_registrar_coaps_port). Off unless set. */
int m2m_registrar_config_set_coaps(m2m_registrar_config *cfg, const char *host_port, m2m_err *err);
/* DTLS sessions the CoAPS listener holds at most (default 65536): they hold no descriptor, so --max-connections
 * does not bound them. */
int m2m_registrar_config_set_coaps_max_sessions(m2m_registrar_config *cfg, int sessions, m2m_err *err);
/* Worker threads; 0 = one per core. */
int m2m_registrar_config_set_threads(m2m_registrar_config *cfg, int threads, m2m_err *err);
/* Seconds an unauthenticated connection may take to finish its handshake (default 10). */
int m2m_registrar_config_set_handshake_timeout(m2m_registrar_config *cfg, int seconds, m2m_err *err);
/* Seconds an authenticated connection may stay idle (default 300). */
int m2m_registrar_config_set_idle_timeout(m2m_registrar_config *cfg, int seconds, m2m_err *err);
/* The Registrar's CSE-ID certificate (PEM; subjectAltName dNSName = the CSE's public domain name, URI = its
 * CSE-ID), its key and the intermediates (no root). Without it the Registrar speaks TLS-PSK only. When not set,
 * the paths recorded by `registrar init --cert ...` in the store are used. */
int m2m_registrar_config_set_cert(m2m_registrar_config *cfg, const char *cert, const char *key, const char *chain,
                                  m2m_err *err);
/* OCSP stapling for that certificate: a DER response file (re-read when it changes) or a responder URL
 * (http://...; refreshed at half the response's validity); issuer = the certificate's issuer (default: the first
 * certificate of the chain). */
int m2m_registrar_config_set_ocsp(m2m_registrar_config *cfg, const char *response_file, const char *url,
                                  const char *issuer, m2m_err *err);
/* Session-ticket key rotation period (x.y.4; default 12 h): a key seals new tickets for one period and is
 * accepted for one more. */
int m2m_registrar_config_set_ticket_period(m2m_registrar_config *cfg, long long seconds, m2m_err *err);
/* How long a key generated over a session (x.y.8) may stay unused before the previous key is retired
 * (default 7 d). */
int m2m_registrar_config_set_rekey_grace(m2m_registrar_config *cfg, long long seconds, m2m_err *err);
/* The admin listener serving /metrics: "PORT" (on 127.0.0.1) or "HOST:PORT"; port 0 picks one. Off by default. */
int m2m_registrar_config_set_admin(m2m_registrar_config *cfg, const char *host_port, m2m_err *err);
/* Admission control. max_connections: open connections in all (0 = the descriptor limit, raised to its hard limit
 * at start, less a reserve); max_per_address: from one source address (0 = no limit, -1 = the default 1024: raise
 * it for devices behind carrier-grade NAT); preauth_max: connections not yet bound to a Registree, in all (0 = the
 * default 1024; when full, the one waiting longest is dropped); preauth_max_bytes: request bytes those may hold
 * buffered, in all (0 = the default 16 MiB). */
int m2m_registrar_config_set_limits(m2m_registrar_config *cfg, int max_connections, int max_per_address,
                                    int preauth_max, long long preauth_max_bytes, m2m_err *err);
/* Per-Registree limits: resources it may own and bytes they may hold (0 = no limit; defaults 10000 and 64 MiB),
 * requests a second on average with bursts of twice that (0 = no limit; default 100). Over a limit: 4005. */
int m2m_registrar_config_set_quota(m2m_registrar_config *cfg, long long max_resources, long long max_bytes,
                                   int requests_per_s, m2m_err *err);
/* The CSEBase's pointOfAccess: adds a URL (repeatable; default: https://HOST:PORT of the listener). */
int m2m_registrar_config_add_poa(m2m_registrar_config *cfg, const char *url, m2m_err *err);
/* Restricts the App-IDs an <AE> may register with to those matching one of the patterns (fnmatch; repeatable;
 * none = every valid App-ID). Others get 4126 APP_RULE_VALIDATION_FAILED. */
int m2m_registrar_config_allow_app_id(m2m_registrar_config *cfg, const char *pattern, m2m_err *err);
/* Same-equipment AEs (seed note on Step 5): also serve the HTTP binding, without TLS, on the Unix socket at path
 * (mode 0660, never TCP). A connection there is bound by the connecting process's uid (SO_PEERCRED) to the AE-ID
 * given for that uid with add_local_ae (repeatable; the uid a number or a user name: "1001:Cmeter" or
 * "meter:Cmeter"); any other uid gets 4107 for every request. */
int m2m_registrar_config_set_local_socket(m2m_registrar_config *cfg, const char *path, m2m_err *err);
int m2m_registrar_config_add_local_ae(m2m_registrar_config *cfg, const char *uid_colon_ae_id, m2m_err *err);
/* The expirationTime a registration gets when it asks for none (default 365 days); expired registrations are
 * removed with everything under them. */
int m2m_registrar_config_set_registration_lifetime(m2m_registrar_config *cfg, long long seconds, m2m_err *err);
/* x.y.5, the Registrar as a GBA NAF: Zn at bsf_url ("https://HOST:PORT") whose certificate chains to bsf_root,
 * with this NAF's client certificate and key (its subjectAltName DNS must be naf_fqdn, the name devices address the
 * Registrar by, which NAF_Id carries); zn_timeout_ms bounds a Zn request (0 = 2000). */
int m2m_registrar_config_set_gba(m2m_registrar_config *cfg, const char *bsf_url, const char *bsf_root,
                                 const char *naf_cert, const char *naf_key, const char *naf_fqdn, int zn_timeout_ms,
                                 m2m_err *err);
/* Diagnostic, for measuring what the asynchronous Zn request saves: 1 = ask Zn inside the PSK callback, blocking
 * the worker's loop for the round trip (default 0: the request runs on the loop while the handshake waits). */
void m2m_registrar_config_set_zn_blocking(m2m_registrar_config *cfg, int blocking);
/* Where one line per attachment and per refusal goes; NULL = nowhere (default stderr). */
void m2m_registrar_config_set_log(m2m_registrar_config *cfg, FILE *log);

m2m_registrar *m2m_registrar_start(const m2m_registrar_config *cfg, m2m_err *err);
int m2m_registrar_https_port(const m2m_registrar *r);
/* The CoAPS port, -1 when there is no CoAPS listener. */
int m2m_registrar_coaps_port(const m2m_registrar *r);
int m2m_registrar_admin_port(const m2m_registrar *r);
/* Re-reads the certificate, key and chain from the configured files (the OCSP response too, for the new
 * certificate) and hands the new TLS context to every worker: connections accepted from then on present the new
 * certificate, open ones keep theirs. Tickets sealed under the previous certificate no longer resume (their
 * Registrees verify the new one in a full handshake). Everything is checked before anything changes: when a file
 * cannot be used (a key that does not match the certificate, say) the previous context stays, the call fails and
 * the log says why. Call it from one thread, not concurrently with m2m_registrar_stop (`registrar serve` calls it
 * on SIGHUP). Without a certificate (TLS-PSK only) it does nothing. */
int m2m_registrar_reload(m2m_registrar *r, m2m_err *err);
void m2m_registrar_stop(m2m_registrar *r);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
