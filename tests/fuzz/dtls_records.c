/* SPDX-License-Identifier: Apache-2.0 */
/* What the CoAPS listener reads of a datagram before OpenSSL does (secctx/dtls_gate.c): the record walk that finds a
 * ClientKeyExchange's psk_identity (m2m_dtls_cke_identity, for x.y.5), and the cookie gate's look at a ClientHello
 * (m2m_dtls_gate_check, which reads a cookie itself before DTLSv1_listen). Whatever the bytes, an identity found lies
 * wholly inside them, and the gate answers with no more bytes than came in. */
#include <netinet/in.h>
#include <string.h>

#include "fuzz_util.h"
#include "secctx/dtls_gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static m2m_dtls_gate *gate;
    const unsigned char *id = NULL;
    unsigned char reply[512];
    size_t n = 0, rlen = 0;
    struct sockaddr_in peer;

    if (m2m_dtls_cke_identity(data, size, &id, &n))
        FUZZ_CHECK(id != NULL && id >= data && id <= data + size && n <= (size_t)(data + size - id));
    if (gate == NULL && (gate = m2m_dtls_gate_new(60, NULL)) == NULL)
        return 0;
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_port = htons(5684);
    peer.sin_addr.s_addr = htonl(0x7f000001);
    (void)m2m_dtls_gate_check(gate, (const struct sockaddr *)&peer, sizeof peer, data, size, reply, sizeof reply,
                              &rlen);
    m2m_dtls_gate_leave();
    FUZZ_CHECK(rlen <= size && rlen <= sizeof reply);
    return 0;
}
