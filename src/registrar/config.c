/* SPDX-License-Identifier: Apache-2.0 */
/* The Registrar's configuration object: defaults that are safe, setters that say what is wrong. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "registrar/enrolment.h"
#include "registrar/server.h"
#include "util/url.h"

m2m_registrar_config *m2m_registrar_config_new(void)
{
    m2m_registrar_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return NULL;
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    snprintf(cfg->port, sizeof cfg->port, "8443");
    cfg->handshake_timeout = 10;
    cfg->idle_timeout = 300;
    cfg->log = stderr;
    cfg->ticket_period = 12 * 3600;
    cfg->rekey_grace = 7 * 86400;
    cfg->max_per_address = -1; /* limits.c: the default */
    cfg->max_resources = 10000;
    cfg->max_bytes = 64LL * 1024 * 1024;
    cfg->max_request_rate = 100;
    cfg->reg_lifetime = 365LL * 86400;
    cfg->coaps_max_sessions = 65536;
    return cfg;
}

void m2m_registrar_config_free(m2m_registrar_config *cfg)
{
    free(cfg);
}

int m2m_registrar_config_set_db(m2m_registrar_config *cfg, const char *path, m2m_err *err)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof cfg->db)
        return m2m_fail(err, M2M_E_ARG, "--db: a store is required (a file, or a PostgreSQL URL of at most 1023 characters)");
    snprintf(cfg->db, sizeof cfg->db, "%s", path);
    return 0;
}

int m2m_registrar_config_set_https(m2m_registrar_config *cfg, const char *hp, m2m_err *err)
{
    m2m_err why = {0};
    if (m2m_hostport_parse(hp, cfg->host, sizeof cfg->host, cfg->port, &why) != 0)
        return m2m_fail(err, M2M_E_ARG, "--https: %s", why.msg);
    return 0;
}

int m2m_registrar_config_set_threads(m2m_registrar_config *cfg, int threads, m2m_err *err)
{
    if (threads < 0 || threads > 256)
        return m2m_fail(err, M2M_E_ARG, "--threads: %d is not in 0..256", threads);
    cfg->threads = threads;
    return 0;
}

int m2m_registrar_config_set_handshake_timeout(m2m_registrar_config *cfg, int seconds, m2m_err *err)
{
    if (seconds < 1 || seconds > 3600)
        return m2m_fail(err, M2M_E_ARG, "handshake timeout %d s is not in 1..3600", seconds);
    cfg->handshake_timeout = seconds;
    return 0;
}

int m2m_registrar_config_set_idle_timeout(m2m_registrar_config *cfg, int seconds, m2m_err *err)
{
    if (seconds < 1 || seconds > 86400)
        return m2m_fail(err, M2M_E_ARG, "idle timeout %d s is not in 1..86400", seconds);
    cfg->idle_timeout = seconds;
    return 0;
}

void m2m_registrar_config_set_log(m2m_registrar_config *cfg, FILE *log)
{
    cfg->log = log;
}

static int set_path(char *dst, size_t cap, const char *path, const char *opt, m2m_err *err)
{
    if (path == NULL || path[0] == '\0') {
        dst[0] = '\0';
        return 0;
    }
    if (strlen(path) >= cap)
        return m2m_fail(err, M2M_E_ARG, "%s: path too long", opt);
    if (access(path, R_OK) != 0)
        return m2m_fail(err, M2M_E_ARG, "%s %s: %s", opt, path, strerror(errno));
    snprintf(dst, cap, "%s", path);
    return 0;
}

int m2m_registrar_config_set_cert(m2m_registrar_config *cfg, const char *cert, const char *key, const char *chain,
                                  m2m_err *err)
{
    if ((cert == NULL || !*cert) != (key == NULL || !*key))
        return m2m_fail(err, M2M_E_ARG, "--cert and --key go together");
    if (set_path(cfg->cert, sizeof cfg->cert, cert, "--cert", err) != 0 ||
        set_path(cfg->key, sizeof cfg->key, key, "--key", err) != 0 ||
        set_path(cfg->chain, sizeof cfg->chain, chain, "--chain", err) != 0)
        return -1;
    return 0;
}

int m2m_registrar_config_set_ocsp(m2m_registrar_config *cfg, const char *response_file, const char *url,
                                  const char *issuer, m2m_err *err)
{
    if (response_file != NULL && *response_file && url != NULL && *url)
        return m2m_fail(err, M2M_E_ARG, "--ocsp-response and --ocsp-url exclude each other");
    if (url != NULL && strncmp(url, "http://", 7) != 0)
        return m2m_fail(err, M2M_E_ARG, "--ocsp-url %s: expected http://HOST[:PORT]/PATH", url);
    if (url != NULL && strlen(url) >= sizeof cfg->ocsp_url)
        return m2m_fail(err, M2M_E_ARG, "--ocsp-url: too long");
    snprintf(cfg->ocsp_url, sizeof cfg->ocsp_url, "%s", url ? url : "");
    /* The response file may appear later (written by a cron job): only its directory must exist. */
    if (response_file != NULL && strlen(response_file) >= sizeof cfg->ocsp_response)
        return m2m_fail(err, M2M_E_ARG, "--ocsp-response: path too long");
    snprintf(cfg->ocsp_response, sizeof cfg->ocsp_response, "%s", response_file ? response_file : "");
    return set_path(cfg->ocsp_issuer, sizeof cfg->ocsp_issuer, issuer, "--ocsp-issuer", err);
}

int m2m_registrar_config_set_ticket_period(m2m_registrar_config *cfg, long long seconds, m2m_err *err)
{
    if (seconds < 1 || seconds > 30LL * 86400)
        return m2m_fail(err, M2M_E_ARG, "--ticket-key-period: %lld s is not in 1 s .. 30 d", seconds);
    cfg->ticket_period = seconds;
    return 0;
}

int m2m_registrar_config_set_rekey_grace(m2m_registrar_config *cfg, long long seconds, m2m_err *err)
{
    if (seconds < 1 || seconds > 3650LL * 86400)
        return m2m_fail(err, M2M_E_ARG, "--rekey-grace: %lld s is not in 1 s .. 3650 d", seconds);
    cfg->rekey_grace = seconds;
    return 0;
}

int m2m_registrar_config_set_admin(m2m_registrar_config *cfg, const char *host_port, m2m_err *err)
{
    m2m_registrar_config probe;
    /* "PORT" alone means loopback: /metrics is for the operator's own host unless told otherwise. */
    if (host_port != NULL && strchr(host_port, ':') == NULL) {
        char hp[64];
        snprintf(hp, sizeof hp, "127.0.0.1:%s", host_port);
        return m2m_registrar_config_set_admin(cfg, hp, err);
    }
    memset(&probe, 0, sizeof probe);
    if (m2m_registrar_config_set_https(&probe, host_port, err) != 0)
        return m2m_fail(err, M2M_E_ARG, "--admin: expected PORT or HOST:PORT");
    snprintf(cfg->admin_host, sizeof cfg->admin_host, "%s", probe.host);
    snprintf(cfg->admin_port, sizeof cfg->admin_port, "%s", probe.port);
    return 0;
}

int m2m_registrar_config_set_limits(m2m_registrar_config *cfg, int max_connections, int max_per_address,
                                    int preauth_max, long long preauth_max_bytes, m2m_err *err)
{
    if (max_connections < 0 || max_connections > 1 << 24)
        return m2m_fail(err, M2M_E_ARG, "--max-connections %d is not in 0..16777216 (0 = from the descriptor limit)",
                        max_connections);
    if (max_per_address < -1 || max_per_address > 1 << 24)
        return m2m_fail(err, M2M_E_ARG, "--max-per-address %d is not in 0..16777216 (0 = no limit)", max_per_address);
    if (preauth_max < 0 || preauth_max > 1 << 24)
        return m2m_fail(err, M2M_E_ARG, "--preauth-max %d is not in 0..16777216 (0 = the default)", preauth_max);
    if (preauth_max_bytes < 0)
        return m2m_fail(err, M2M_E_ARG, "--preauth-max-bytes must not be negative");
    cfg->max_connections = max_connections;
    cfg->max_per_address = max_per_address;
    cfg->preauth_max = preauth_max;
    cfg->preauth_max_bytes = preauth_max_bytes;
    return 0;
}

int m2m_registrar_config_set_gba(m2m_registrar_config *cfg, const char *bsf_url, const char *bsf_root,
                                 const char *naf_cert, const char *naf_key, const char *naf_fqdn, int zn_timeout_ms,
                                 m2m_err *err)
{
    uint8_t id[M2M_GBA_NAF_ID_MAX], ua[M2M_GBA_UA_ID_LEN] = {1, 0, 0, 0, 7};
    size_t len;
    if (bsf_url == NULL || strncmp(bsf_url, "https://", 8) != 0 || strlen(bsf_url) >= sizeof cfg->bsf_url)
        return m2m_fail(err, M2M_E_ARG, "--bsf '%s': Zn is https://HOST:PORT", bsf_url ? bsf_url : "");
    if (bsf_root == NULL || naf_cert == NULL || naf_key == NULL || naf_fqdn == NULL)
        return m2m_fail(err, M2M_E_ARG, "--bsf needs --bsf-root, --naf-cert, --naf-key and --naf-fqdn");
    if (m2m_gba_naf_id(naf_fqdn, ua, id, &len, err) != 0)
        return m2m_fail(err, M2M_E_ARG, "--naf-fqdn '%.64s': not a host name (letters, digits, '.', '-')", naf_fqdn);
    if (zn_timeout_ms < 0 || zn_timeout_ms > 60000)
        return m2m_fail(err, M2M_E_ARG, "--zn-timeout: %d ms is not in 1..60000", zn_timeout_ms);
    if (set_path(cfg->bsf_root, sizeof cfg->bsf_root, bsf_root, "--bsf-root", err) != 0 ||
        set_path(cfg->naf_cert, sizeof cfg->naf_cert, naf_cert, "--naf-cert", err) != 0 ||
        set_path(cfg->naf_key, sizeof cfg->naf_key, naf_key, "--naf-key", err) != 0)
        return -1;
    snprintf(cfg->bsf_url, sizeof cfg->bsf_url, "%s", bsf_url);
    snprintf(cfg->naf_fqdn, sizeof cfg->naf_fqdn, "%s", naf_fqdn);
    cfg->zn_timeout_ms = zn_timeout_ms;
    return 0;
}

void m2m_registrar_config_set_zn_blocking(m2m_registrar_config *cfg, int blocking)
{
    cfg->zn_blocking = blocking != 0;
}

int m2m_registrar_config_set_quota(m2m_registrar_config *cfg, long long max_resources, long long max_bytes,
                                   int requests_per_s, m2m_err *err)
{
    if (max_resources < 0 || max_bytes < 0 || requests_per_s < 0)
        return m2m_fail(err, M2M_E_ARG, "quota limits must not be negative (0 = no limit)");
    cfg->max_resources = max_resources;
    cfg->max_bytes = max_bytes;
    cfg->max_request_rate = requests_per_s;
    return 0;
}

int m2m_registrar_config_add_poa(m2m_registrar_config *cfg, const char *url, m2m_err *err)
{
    size_t n = strlen(cfg->poa);
    if (url == NULL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0 &&
                        strncmp(url, "coaps://", 8) != 0 && strncmp(url, "coap://", 7) != 0) ||
        strpbrk(url, "\"\\ ") != NULL)
        return m2m_fail(err, M2M_E_ARG, "--poa '%s': a point of access is a URL (https://HOST:PORT, coaps://...)",
                        url ? url : "");
    if (n + strlen(url) + 4 >= sizeof cfg->poa)
        return m2m_fail(err, M2M_E_ARG, "--poa: too many points of access");
    if (n == 0)
        snprintf(cfg->poa, sizeof cfg->poa, "[\"%s\"]", url);
    else
        snprintf(cfg->poa + n - 1, sizeof cfg->poa - n + 1, ",\"%s\"]", url);
    return 0;
}

int m2m_registrar_config_allow_app_id(m2m_registrar_config *cfg, const char *pattern, m2m_err *err)
{
    if (pattern == NULL || pattern[0] == '\0' || strlen(pattern) >= sizeof cfg->app_ids[0])
        return m2m_fail(err, M2M_E_ARG, "--allow-app-id: a pattern of 1..127 characters, e.g. 'Rmeter*'");
    if (cfg->napp_ids >= (int)(sizeof cfg->app_ids / sizeof cfg->app_ids[0]))
        return m2m_fail(err, M2M_E_ARG, "--allow-app-id: at most 32 patterns");
    snprintf(cfg->app_ids[cfg->napp_ids++], sizeof cfg->app_ids[0], "%s", pattern);
    return 0;
}

int m2m_registrar_config_set_local_socket(m2m_registrar_config *cfg, const char *path, m2m_err *err)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof cfg->local_socket)
        return m2m_fail(err, M2M_E_ARG, "--local-socket: a file path of 1..%zu characters",
                        sizeof cfg->local_socket - 1);
    if (strchr(path, ':') != NULL && strchr(path, '/') == NULL)
        return m2m_fail(err, M2M_E_ARG, "--local-socket %s: a Unix socket path (never TCP), e.g. /run/m2mattach/local.sock",
                        path);
    snprintf(cfg->local_socket, sizeof cfg->local_socket, "%s", path);
    return 0;
}

int m2m_registrar_config_add_local_ae(m2m_registrar_config *cfg, const char *spec, m2m_err *err)
{
    const char *colon = spec ? strchr(spec, ':') : NULL;
    char user[64];
    unsigned long uid;
    char *end;
    m2m_local_ae *a;

    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof user || colon[1] == '\0')
        return m2m_fail(err, M2M_E_ARG, "--local-ae %s: UID:AE-ID, e.g. 1001:Cmeter or meter:Cmeter",
                        spec ? spec : "");
    if (cfg->nlocal_aes >= (int)(sizeof cfg->local_aes / sizeof cfg->local_aes[0]))
        return m2m_fail(err, M2M_E_ARG, "--local-ae: at most 64");
    memcpy(user, spec, (size_t)(colon - spec));
    user[colon - spec] = '\0';
    errno = 0;
    uid = strtoul(user, &end, 10);
    if (*end != '\0' || errno != 0 || uid > 0xfffffffeUL) {
        struct passwd pw, *found = NULL;
        char buf[1024];
        if (getpwnam_r(user, &pw, buf, sizeof buf, &found) != 0 || found == NULL)
            return m2m_fail(err, M2M_E_ARG, "--local-ae %s: no user '%s'", spec, user);
        uid = found->pw_uid;
    }
    if (!m2m_valid_registree_id(colon + 1) || colon[1] == '/')
        return m2m_fail(err, M2M_E_ARG, "--local-ae %s: '%s' is not an AE-ID", spec, colon + 1);
    for (int i = 0; i < cfg->nlocal_aes; i++)
        if (cfg->local_aes[i].uid == (unsigned)uid)
            return m2m_fail(err, M2M_E_ARG, "--local-ae %s: uid %lu is given twice", spec, uid);
    a = &cfg->local_aes[cfg->nlocal_aes++];
    a->uid = (unsigned)uid;
    snprintf(a->ae_id, sizeof a->ae_id, "%s", colon + 1);
    return 0;
}

int m2m_registrar_config_set_registration_lifetime(m2m_registrar_config *cfg, long long seconds, m2m_err *err)
{
    if (seconds < 60 || seconds > 100LL * 365 * 86400)
        return m2m_fail(err, M2M_E_ARG, "--registration-lifetime: %lld s is not between a minute and 100 years",
                        seconds);
    cfg->reg_lifetime = seconds;
    return 0;
}

int m2m_registrar_config_set_coaps(m2m_registrar_config *cfg, const char *hp, m2m_err *err)
{
    m2m_registrar_config probe;
    char with_port[300];
    size_t n = hp ? strlen(hp) : 0;
    int bracketed = n > 0 && hp[0] == '[';

    if (n == 0 || n >= sizeof cfg->coaps_host)
        return m2m_fail(err, M2M_E_ARG, "--coaps: expected HOST, HOST:PORT, [IPv6] or [IPv6]:PORT");
    /* a bare host (or [IPv6]) gets the CoAPS port of RFC 7252 */
    if ((bracketed && hp[n - 1] == ']') || (!bracketed && strchr(hp, ':') == NULL))
        snprintf(with_port, sizeof with_port, "%s:5684", hp);
    else
        snprintf(with_port, sizeof with_port, "%s", hp);
    memset(&probe, 0, sizeof probe);
    if (m2m_registrar_config_set_https(&probe, with_port, err) != 0)
        return m2m_fail(err, M2M_E_ARG, "--coaps '%s': expected HOST, HOST:PORT, [IPv6] or [IPv6]:PORT", hp);
    snprintf(cfg->coaps_host, sizeof cfg->coaps_host, "%s", probe.host);
    snprintf(cfg->coaps_port, sizeof cfg->coaps_port, "%s", probe.port);
    return 0;
}

int m2m_registrar_config_set_coaps_max_sessions(m2m_registrar_config *cfg, int sessions, m2m_err *err)
{
    if (sessions < 1 || sessions > 1 << 24)
        return m2m_fail(err, M2M_E_ARG, "--coaps-max-sessions %d is not in 1..16777216", sessions);
    cfg->coaps_max_sessions = sessions;
    return 0;
}
