/* SPDX-License-Identifier: Apache-2.0 */
/* The CoAP binding of the transport seam (transport.h): oneM2M over CoAP (TS-0008) over DTLS 1.2. */
#include <openssl/bio.h>

#include "registree/transport.h"

m2m_transport *m2m_transport_coap_open(const m2m_tls_client_config *cfg, m2m_outcome *why, m2m_err *err)
{
    BIO_free(cfg->bio);
    *why = M2M_OUTCOME_LOCAL;
    m2m_fail(err, M2M_E_ARG, "%s: CoAP over DTLS is not built yet", cfg->peer_name != NULL ? cfg->peer_name : "");
    return NULL;
}
