/* SPDX-License-Identifier: Apache-2.0 */
/* The other library from the same installation: a program on the public Registrar API, built with
 * `pkg-config --cflags --libs m2mattach-registrar` (tests/install/install.sh). It configures a Registrar without
 * starting it, and reports a configuration error through the public error convention. */
#include <stdio.h>
#include <string.h>

#include <m2mattach/registrar.h>
#include <m2mattach/version.h>

int main(void)
{
    m2m_registrar_config *cfg = m2m_registrar_config_new();
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
    rc = 0;
done:
    m2m_registrar_config_free(cfg);
    return rc;
}
