/* SPDX-License-Identifier: Apache-2.0 */
/* GBA identifiers as every part of the project checks and names them: the IMPI (an NAI, TS 23.003 13.3), the
 * B-TID (base64(RAND) "@" BSF domain, TS 33.220 4.5.2) and the Ua psk_identity that carries a B-TID (TS 33.222
 * 5.4: "3GPP-bootstrapping." B-TID, or the bare B-TID of older releases). */
#ifndef M2M_CRYPTO_GBA_ID_H
#define M2M_CRYPTO_GBA_ID_H

#include <stddef.h>

#include "store/store.h"

#define M2M_GBA_IDENTITY_PREFIX "3GPP-bootstrapping."
#define M2M_GBA_HINT "3GPP-bootstrapping"
/* The Nbsp_GBA-shaped Zn resource (bsf/zn.c serves it, secctx/zn_client.c asks it) */
#define M2M_ZN_PATH "/nbsp-gba/v1/bootstrapping-info"
/* the longest psk_identity that can carry a B-TID */
#define M2M_GBA_IDENTITY_MAX (sizeof M2M_GBA_IDENTITY_PREFIX - 1 + M2M_BTID_MAX - 1)

/* 1 when impi is printable ASCII without space, quote, backslash or comma, 1..M2M_IMPI_MAX-1 characters. */
int m2m_gba_impi_ok(const char *impi);
/* The credential ID of a gba enrolment: SHA-256 of the IMPI, 64 lowercase hex characters. */
int m2m_gba_impi_id(const char *impi, char out[65]);
/* 1 when s looks like a B-TID: base64 of 16 octets (24 characters), '@', a domain name. */
int m2m_gba_btid_ok(const char *s, size_t len);
/* The B-TID a psk_identity carries ("3GPP-bootstrapping." B-TID or a bare B-TID) into btid; 1 when it carries one,
 * 0 otherwise (a key ID, a ticket, anything else). */
int m2m_gba_identity_btid(const unsigned char *identity, size_t len, char btid[M2M_BTID_MAX]);
/* How a binding names the B-TID it was proved with (logs, tickets): the first 16 octets of SHA-256(B-TID), hex. */
void m2m_gba_btid_key_id(const char *btid, char out[33]);

#endif
