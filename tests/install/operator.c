/* SPDX-License-Identifier: Apache-2.0 */
/* The other library from the same installation: a program on the public Registrar API, built with
 * `pkg-config --cflags --libs m2mattach-registrar` (tests/install/install.sh). It reports a configuration error
 * through the public error convention, then starts a Registrar with HTTPS and CoAPS on loopback and stops it: the
 * CoAPS listener starts only when libcoap finds the library's override of its option filter (coap_options.c), so
 * this shows that the shared library exports it where a program linked to it needs it. */
#include <stdio.h>
#include <string.h>

#include <m2mattach/registrar.h>
#include <m2mattach/version.h>

int main(void)
{
    m2m_registrar_config *cfg = m2m_registrar_config_new();
    m2m_registrar *r = NULL;
    m2m_err err = {0};
    int rc = 1;

    if (cfg == NULL)
        return 1;
    if (m2m_registrar_config_set_db(cfg, "registrar.db", &err) != 0)
        goto done;
    /* a refusal has a stable code and a message */
    if (m2m_registrar_config_set_https(cfg, "no-port-here", &err) == 0 || err.code != M2M_E_ARG)
        goto done;
    printf("version %s\nrefused: %s: %s\n", m2m_version(), m2m_code_name(err.code), err.msg);
    m2m_err_clear(&err);
    if (m2m_registrar_init_store("registrar.db", "/in-cse", "cse-base", NULL, NULL, NULL, NULL, &err) != 0 ||
        m2m_registrar_config_set_https(cfg, "127.0.0.1:0", &err) != 0 ||
        m2m_registrar_config_set_coaps(cfg, "127.0.0.1:0", &err) != 0 ||
        m2m_registrar_config_set_threads(cfg, 1, &err) != 0 ||
        (r = m2m_registrar_start(cfg, &err)) == NULL) {
        printf("start failed: %s\n", err.msg);
        goto done;
    }
    printf("serving https port %d coaps port %d\n", m2m_registrar_https_port(r), m2m_registrar_coaps_port(r));
    m2m_registrar_stop(r);
    rc = 0;
done:
    m2m_registrar_config_free(cfg);
    return rc;
}
