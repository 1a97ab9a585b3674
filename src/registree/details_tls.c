/* SPDX-License-Identifier: Apache-2.0 */
/* The [tls], [coap] and [state] sections of the attachment-details file (details_internal.h): protocol versions and
 * cipher suites (checked against the OpenSSL that will use them), timeouts and the deadline, resumption, the timers
 * of a lossy CoAP link, and where the state and the generated key live. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registree/details_internal.h"
#include "registree/dtls_client.h"

/* The cipher list is checked here, against the OpenSSL that will use it, so a typo is reported with its line
 * rather than as a failed handshake. OpenSSL itself accepts a list in which only some names are known and drops
 * the rest silently, so each name is tried on its own too. */
static int ciphers_known(const char *list)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int ok = ctx != NULL && SSL_CTX_set_cipher_list(ctx, list) == 1;
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* The first name in list that OpenSSL does not know (copied to out), or 0 when all are known. Operators ('!', '-',
 * '+') and @-commands are not names. */
static int unknown_cipher(const char *list, char *out, size_t cap)
{
    const char *p = list;
    while (*p != '\0') {
        size_t n = strcspn(p, ": ,;");
        if (n > 0 && strchr("!-+@", p[0]) == NULL) {
            char one[128];
            snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
            if (!ciphers_known(one)) {
                snprintf(out, cap, "%s", one);
                return 1;
            }
        }
        p += n;
        p += strspn(p, ": ,;");
    }
    return 0;
}

int m2m_details_check_tls_and_state(struct parse_ctx *c, m2m_err *err)
{
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    const char *v;

    v = c->value[F_TLS_VERSION];
    if (v == NULL || strcmp(v, "auto") == 0) {
        cfg->tls_range = M2M_TLS_AUTO;
    } else if (strcmp(v, "1.2") == 0) {
        cfg->tls_range = M2M_TLS_ONLY_1_2;
    } else if (strcmp(v, "1.3") == 0) {
        cfg->tls_range = M2M_TLS_ONLY_1_3;
    } else {
        m2m_details_where(c, F_TLS_VERSION, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not one of auto, 1.2, 1.3", loc, v);
    }
    if (cfg->binding == M2M_BINDING_COAP && cfg->tls_range == M2M_TLS_ONLY_1_3) {
        m2m_details_where(c, F_TLS_VERSION, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: a coaps:// Registrar speaks DTLS 1.2 (there is no DTLS 1.3 here); use "
                        "auto or 1.2", loc);
    }
    if (c->value[F_CIPHERS] == NULL) {
        int psk = cfg->mechanism == M2M_MECH_PSK || cfg->mechanism == M2M_MECH_GBA;
        const char *list = cfg->binding == M2M_BINDING_COAP ? (psk ? M2M_DEFAULT_DTLS_PSK_CIPHERS
                                                                   : M2M_DEFAULT_DTLS_CERT_CIPHERS)
                                                            : (psk ? M2M_DEFAULT_TLS12_PSK_CIPHERS
                                                                   : M2M_DEFAULT_TLS12_CERT_CIPHERS);
        if ((c->value[F_CIPHERS] = strdup(list)) == NULL)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    }
    if (!ciphers_known(c->value[F_CIPHERS])) {
        m2m_details_where(c, F_CIPHERS, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: OpenSSL knows no cipher suite in '%s'", loc, c->value[F_CIPHERS]);
    }
    {
        char bad[128];
        if (unknown_cipher(c->value[F_CIPHERS], bad, sizeof bad)) {
            m2m_details_where(c, F_CIPHERS, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: OpenSSL knows no cipher suite named '%s' (OpenSSL names, e.g. "
                            "ECDHE-ECDSA-AES128-SHA256 for TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256)", loc, bad);
        }
    }
    if (cfg->mechanism != M2M_MECH_PSK && cfg->mechanism != M2M_MECH_GBA) {
        char *with = NULL;
        int ok;
        if (asprintf(&with, "%s" M2M_TLS12_CERT_EXCLUDE, c->value[F_CIPHERS]) < 0)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        ok = ciphers_known(with);
        free(with);
        if (!ok) {
            m2m_details_where(c, F_CIPHERS, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: no certificate cipher suite in '%s' (mechanism %s uses "
                            "ECDHE-ECDSA suites, never PSK)", loc, c->value[F_CIPHERS],
                            m2m_mechanism_name(cfg->mechanism));
        }
    }
    cfg->ciphers_set = c->at_line[F_CIPHERS] != 0;
    cfg->ciphers = c->value[F_CIPHERS];
    c->value[F_CIPHERS] = NULL;

    cfg->resumption = 1;
    if ((v = c->value[F_RESUMPTION]) != NULL) {
        if (strcmp(v, "yes") == 0) {
            cfg->resumption = 1;
        } else if (strcmp(v, "no") == 0) {
            cfg->resumption = 0;
        } else {
            m2m_details_where(c, F_RESUMPTION, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not one of yes, no", loc, v);
        }
    }

    cfg->timeout_ms = M2M_DEFAULT_IO_TIMEOUT_S * 1000;
    if ((v = c->value[F_TIMEOUT]) != NULL) {
        char *end;
        long s;
        errno = 0;
        s = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || end == v || s < 1 || s > 3600) {
            m2m_details_where(c, F_TIMEOUT, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number of seconds from 1 to 3600", loc, v);
        }
        cfg->timeout_ms = (int)s * 1000;
    }
    /* timeout bounds each wait; a peer that answers one byte at a time never lets a wait run out, so the whole
     * exchange has a budget of its own */
    cfg->deadline_ms = M2M_DEADLINE_TIMEOUTS * cfg->timeout_ms;
    if ((v = c->value[F_DEADLINE]) != NULL) {
        char *end;
        long s;
        errno = 0;
        s = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || end == v || s < 1 || s > M2M_DEADLINE_MAX_S) {
            m2m_details_where(c, F_DEADLINE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number of seconds from 1 to %d", loc, v,
                            M2M_DEADLINE_MAX_S);
        }
        cfg->deadline_ms = (int)s * 1000;
    }

    if (c->value[F_STATE_FILE] != NULL)
        cfg->state_path = m2m_details_resolve(c->path, c->value[F_STATE_FILE]);
    else if (asprintf(&cfg->state_path, "%s.state", c->path) < 0)
        cfg->state_path = NULL;
    if (cfg->state_path == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (c->value[F_GEN_KEY_FILE] != NULL)
        cfg->generated_key_path = m2m_details_resolve(c->path, c->value[F_GEN_KEY_FILE]);
    else if (asprintf(&cfg->generated_key_path, "%s.generated.key", c->path) < 0)
        cfg->generated_key_path = NULL;
    if (cfg->generated_key_path == NULL)
        return m2m_fail(err, M2M_E_NOMEM, "out of memory");
    if (strcmp(cfg->generated_key_path, cfg->state_path) == 0) {
        m2m_details_where(c, F_GEN_KEY_FILE, loc, sizeof loc);
        return m2m_fail(err, M2M_E_PARSE, "%s: the generated-key file cannot be the state file", loc);
    }
    /* rekey replaces the generated-key file: it must never be the credential the Registree falls back to */
    if (c->value[F_KEY_FILE] != NULL) {
        char *key_path = m2m_details_resolve(c->path, c->value[F_KEY_FILE]);
        int same = key_path != NULL && strcmp(key_path, cfg->generated_key_path) == 0;
        free(key_path);
        if (same) {
            m2m_details_where(c, F_GEN_KEY_FILE, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: the generated-key file cannot be [credentials] key-file", loc);
        }
    }
    return 0;
}

/* Seconds with up to three decimals ("2", "0.25") between min_ms and max_ms, as milliseconds; -1 when not. */
static int parse_seconds_ms(const char *v, int min_ms, int max_ms)
{
    long whole = 0, frac = 0, scale = 100;
    const char *p = v;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((whole = whole * 10 + (*p - '0')) > max_ms / 1000 + 1)
            return -1;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return -1;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (scale == 0)
                return -1; /* more than three decimals */
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0' || whole * 1000 + frac < min_ms || whole * 1000 + frac > max_ms)
        return -1;
    return (int)(whole * 1000 + frac);
}

/* [coap]: the timers of a lossy link, for a coaps:// Registrar only (with https:// they would be ignored, and a key
 * that is ignored is an error here). */
int m2m_details_check_coap(struct parse_ctx *c, m2m_err *err)
{
    static const enum field KEYS[] = {F_COAP_ACK_TIMEOUT, F_COAP_MAX_RETRANSMIT, F_COAP_DTLS_TIMER,
                                      F_COAP_CONTENT_FORMAT};
    m2m_registree_config *cfg = c->cfg;
    char loc[600];
    int v;

    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (c->value[KEYS[i]] != NULL && cfg->binding != M2M_BINDING_COAP) {
            m2m_details_where(c, KEYS[i], loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: belongs to a coaps:// Registrar, and poa is %s", loc, cfg->poa);
        }
    if (c->value[F_COAP_ACK_TIMEOUT] != NULL) {
        if ((v = parse_seconds_ms(c->value[F_COAP_ACK_TIMEOUT], 10, 60000)) < 0) {
            m2m_details_where(c, F_COAP_ACK_TIMEOUT, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number of seconds from 0.01 to 60", loc,
                            c->value[F_COAP_ACK_TIMEOUT]);
        }
        cfg->coap_ack_timeout_ms = v;
    }
    if (c->value[F_COAP_DTLS_TIMER] != NULL) {
        if ((v = parse_seconds_ms(c->value[F_COAP_DTLS_TIMER], 10, 60000)) < 0) {
            m2m_details_where(c, F_COAP_DTLS_TIMER, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number of seconds from 0.01 to 60", loc,
                            c->value[F_COAP_DTLS_TIMER]);
        }
        cfg->coap_dtls_timer_ms = v;
    }
    if (c->value[F_COAP_MAX_RETRANSMIT] != NULL) {
        char *end;
        long n;
        errno = 0;
        n = strtol(c->value[F_COAP_MAX_RETRANSMIT], &end, 10);
        if (errno != 0 || *end != '\0' || end == c->value[F_COAP_MAX_RETRANSMIT] || n < 1 || n > 20) {
            m2m_details_where(c, F_COAP_MAX_RETRANSMIT, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not a number from 1 to 20", loc,
                            c->value[F_COAP_MAX_RETRANSMIT]);
        }
        cfg->coap_max_retransmit = (int)n;
    }
    if (c->value[F_COAP_CONTENT_FORMAT] != NULL) {
        const char *f = c->value[F_COAP_CONTENT_FORMAT];
        if (strcmp(f, "json") != 0 && strcmp(f, "cbor") != 0) {
            m2m_details_where(c, F_COAP_CONTENT_FORMAT, loc, sizeof loc);
            return m2m_fail(err, M2M_E_PARSE, "%s: '%s' is not json or cbor", loc, f);
        }
        cfg->coap_cbor = strcmp(f, "cbor") == 0;
    }
    return 0;
}
