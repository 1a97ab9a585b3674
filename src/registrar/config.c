/* The Registrar's configuration object: defaults that are safe, setters that say what is wrong. */
#include <stdlib.h>
#include <string.h>

#include "registrar/server.h"

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
    return cfg;
}

void m2m_registrar_config_free(m2m_registrar_config *cfg)
{
    free(cfg);
}

int m2m_registrar_config_set_db(m2m_registrar_config *cfg, const char *path, m2m_err *err)
{
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof cfg->db)
        return m2m_fail(err, M2M_E_ARG, "--db: a store path is required");
    snprintf(cfg->db, sizeof cfg->db, "%s", path);
    return 0;
}

int m2m_registrar_config_set_https(m2m_registrar_config *cfg, const char *hp, m2m_err *err)
{
    const char *colon;
    char *end;
    long port;
    size_t hlen;

    if (hp == NULL || hp[0] == '\0')
        return m2m_fail(err, M2M_E_ARG, "--https: expected HOST:PORT");
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':')
            return m2m_fail(err, M2M_E_ARG, "--https '%s': expected [IPv6]:PORT", hp);
        hlen = (size_t)(close - hp - 1);
        hp++;
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL)
            return m2m_fail(err, M2M_E_ARG, "--https '%s': expected HOST:PORT", hp);
        hlen = (size_t)(colon - hp);
    }
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535)
        return m2m_fail(err, M2M_E_ARG, "--https: '%s' is not a port number", colon + 1);
    if (hlen == 0 || hlen >= sizeof cfg->host)
        return m2m_fail(err, M2M_E_ARG, "--https: missing or overlong host");
    memcpy(cfg->host, hp, hlen);
    cfg->host[hlen] = '\0';
    snprintf(cfg->port, sizeof cfg->port, "%ld", port);
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
