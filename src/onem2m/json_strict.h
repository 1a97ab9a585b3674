/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON: the one parser for every JSON text that crosses the wire, on both sides (the Registrar's request
 * bodies, the Registree's responses). cJSON alone takes three things silently that let one peer say two things:
 *   - a member name used twice in one object ({"csi":"/cse2","csi":"/in-cse"}): cJSON keeps both children, one
 *     check reads the first and the store keeps both;
 *   - a NUL inside a string ("Csensor1\u0000evil"): cJSON decodes \u0000 to a 0 byte and the C string ends there,
 *     so what is checked and stored is "Csensor1" while the peer sent something else;
 *   - nesting only bounded by cJSON's compile-time CJSON_NESTING_LIMIT.
 * These are refused here, once, with the member named, so callers never see such a document. */
#ifndef M2M_ONEM2M_JSON_STRICT_H
#define M2M_ONEM2M_JSON_STRICT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "m2mattach/error.h"

/* The deepest nesting of objects and arrays accepted (README: "JSON nesting <= 1000"). Checked on the raw text
 * before cJSON runs, so the limit holds whatever cJSON was built with. */
#define M2M_JSON_MAX_DEPTH 1000

/* Parses exactly len bytes of text: one JSON value, whitespace around it allowed, nothing else. Returns the tree
 * (the caller cJSON_Delete()s it) or NULL with err set: M2M_E_NOMEM, or M2M_E_PARSE with a message that names
 * what is wrong without a location prefix (the caller adds "JSON body" or the peer), e.g.
 *   malformed JSON near offset 17
 *   trailing data after the JSON value (offset 42)
 *   JSON nested deeper than 1000 levels
 *   duplicate member "csi" in m2m:csr
 *   string m2m:ae.aei holds a NUL character (\u0000)
 *   a member name in m2m:ae holds a NUL character (\u0000)
 * Member paths join names with '.' and array positions as [i]; characters outside printable ASCII show as '?'. */
cJSON *m2m_json_parse_strict(const char *text, size_t len, m2m_err *err);

/* The duplicate check alone, for a tree built from another encoding (onem2m/cbor.c): 0, or -1 with err set
 * (M2M_E_PARSE "duplicate member \"csi\" in m2m:csr", or M2M_E_NOMEM). */
int m2m_json_check_members(const cJSON *doc, m2m_err *err);

#endif
