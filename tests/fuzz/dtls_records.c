/* SPDX-License-Identifier: Apache-2.0 */
/* The DTLS record walk that finds a ClientKeyExchange's psk_identity in a datagram (secctx/dtls_gate.c,
 * m2m_dtls_cke_identity: what the CoAPS listener reads of a peer's plaintext flight before OpenSSL does, for x.y.5).
 * Whatever the bytes, an identity found lies wholly inside them. */
#include "fuzz_util.h"
#include "secctx/dtls_gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *id = NULL;
    size_t n = 0;
    if (m2m_dtls_cke_identity(data, size, &id, &n))
        FUZZ_CHECK(id != NULL && id >= data && id <= data + size && n <= (size_t)(data + size - id));
    return 0;
}
