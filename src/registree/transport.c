/* SPDX-License-Identifier: Apache-2.0 */
/* The transport seam's entry points (transport.h): the binding the Registrar's point of access names. */
#include "registree/transport.h"

m2m_transport *m2m_transport_open(m2m_binding binding, const m2m_tls_client_config *cfg, m2m_outcome *why,
                                  m2m_err *err)
{
    if (binding == M2M_BINDING_COAP)
        return m2m_transport_coap_open(cfg, why, err);
    return m2m_transport_http_open(cfg, why, err);
}

void m2m_transport_close(m2m_transport *t)
{
    if (t != NULL)
        t->ops->close(t);
}
