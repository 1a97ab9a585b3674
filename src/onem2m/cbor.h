/* SPDX-License-Identifier: Apache-2.0 */
/* CBOR (RFC 8949) bodies for the CoAP binding: TS-0008's Content-Formats 60 (application/cbor) and 10010
 * (vnd.onem2m-res+cbor) carry the same resource representations as JSON, with the same short names as map keys.
 * Only JSON's data model crosses: a CBOR body reaches the CSE core as the very cJSON tree the same body in JSON
 * would have given, and an answer's tree goes back out in CBOR. So nothing behind the binding knows CBOR.
 *
 * The decoder is the CBOR twin of json_strict.h, refusing (with the offset, or for a duplicate the member):
 *   - what would let one peer say two things: a map key twice, a NUL in a text string, text that is not UTF-8;
 *   - what JSON cannot say: byte strings, tags (but the self-described CBOR mark first), undefined and the other
 *     simple values, NaN and the infinities, map keys that are not text, integers a JSON number (a double) does
 *     not hold exactly (beyond 2^53);
 *   - indefinite lengths (a device's encoder writes definite ones; one form per value keeps the decoder small);
 *   - nesting deeper than M2M_JSON_MAX_DEPTH, a length or count beyond the bytes left, anything after the item.
 * Nothing is allocated for a length before the bytes are known to be there. */
#ifndef M2M_ONEM2M_CBOR_H
#define M2M_ONEM2M_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "m2mattach/error.h"

/* Decodes exactly len bytes: one CBOR data item. The tree (the caller cJSON_Delete()s it), or NULL with err set:
 * M2M_E_NOMEM, or M2M_E_PARSE with a message such as
 *   truncated CBOR item at offset 17
 *   trailing data after the CBOR item (offset 42)
 *   CBOR nested deeper than 1000 levels
 *   a text string at offset 9 holds a NUL character
 *   a byte string (major type 2) at offset 30 has no JSON form
 *   duplicate member "csi" in m2m:csr          (the member path as json_strict.h writes it) */
cJSON *m2m_cbor_decode_strict(const uint8_t *data, size_t len, m2m_err *err);

/* Encodes v: integers (a number with no fraction, |n| <= 2^53, not -0) in their shortest form, other numbers as single
 * precision when that is exact, else double; NaN and the infinities as null, as cJSON prints them; in a string, a
 * byte that is not part of well-formed UTF-8 as U+FFFD (a reason may quote a peer's bytes). *out is
 * malloc'd (the caller frees it). -1 with err set: M2M_E_NOMEM, or M2M_E_ARG for a node JSON has no form for
 * (cJSON_Raw). */
int m2m_cbor_encode(const cJSON *v, uint8_t **out, size_t *len, m2m_err *err);

#endif
