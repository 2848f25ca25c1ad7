/*
 * json_in.h -- strict reading of untrusted JSON with cJSON.
 *
 * The input is bytes + length (never NUL-terminated by contract). It must be
 * well-formed UTF-8 (RFC 8259 section 8.1), one JSON value with nothing after it
 * but whitespace, nested at most CHAT_JSON_DEPTH_MAX deep, with at most
 * CHAT_JSON_MEMBERS_MAX members in any object and member names of at most
 * CHAT_JSON_KEY_MAX bytes (chat_limits.h), without raw control characters in
 * strings (RFC 8259 section 7; cJSON accepts them), with no escape but the nine
 * of RFC 8259 section 7 (\" \\ \/ \b \f \n \r \t and \u with exactly four hex
 * digits), and without "\u0000" escapes or
 * unpaired UTF-16 surrogates: cJSON stores strings NUL-terminated, so a NUL would
 * silently cut a string short ("pass\u0000x" would read as "pass"), and cJSON
 * 1.7.15 reads a malformed \u escape ("\uX000", "\u00G0") as that NUL (cJSON
 * issue #635). Every JSON reader of the core goes through json_parse_object.
 * The checks are one pass over the bytes before cJSON's own, and one over the
 * tree after it. The member names of every object must be unique (readers
 * disagree on which of two wins).
 *
 * Workload: every frame, request body and fact of the core, up to CHAT_FRAME_MAX
 * bytes from a client (and more from the shell). Time and memory are linear in the
 * input's length whatever it holds: the limits above make each object's duplicate
 * check a hash set of at most CHAT_JSON_MEMBERS_MAX names, and bound cJSON's
 * recursion.
 */
#ifndef JSON_IN_H
#define JSON_IN_H

#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"

/* Parse len bytes into a JSON object. On success returns CHAT_OK and stores a tree
 * in *out that the caller releases with cJSON_Delete. Errors: CHAT_E_BAD_JSON
 * (not UTF-8, not JSON, trailing bytes, raw control character, malformed
 * escape, NUL escape or unpaired surrogate in a string, duplicate member name in
 * any object, nesting deeper than CHAT_JSON_DEPTH_MAX, an object of more than
 * CHAT_JSON_MEMBERS_MAX members, a member name over CHAT_JSON_KEY_MAX bytes),
 * CHAT_E_NOT_OBJECT (valid JSON but not an object), CHAT_E_NOMEM; *out is then
 * NULL. */
int json_parse_object(const unsigned char *in, size_t len, cJSON **out);

/* Look up a required string member `key` (case-sensitive; the first of duplicate
 * keys wins). On success *s points into the tree (valid until it is deleted) and
 * *n is its length in bytes. Errors: CHAT_E_FIELD_MISSING, CHAT_E_FIELD_TYPE. */
int json_get_string(const cJSON *obj, const char *key, const char **s, size_t *n);

/* Reads an integer in 0..2^53-1 (exact in JSON numbers and JavaScript) from a
 * JSON number. Errors: CHAT_E_FIELD_MISSING (item NULL), CHAT_E_FIELD_TYPE (not a
 * number, not an integer, out of range). */
int json_get_uint53(const cJSON *item, int64_t *v);

/* Whether item is true or a non-zero number (SQLite's booleans are 0 and 1). */
int json_truthy(const cJSON *item);

#endif
