#include "json_in.h"

#include <math.h>
#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "utf8.h"

static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Reads exactly 4 hex digits at s[i..i+3] (bounded by len) into *u; 0 if any is
 * missing or not a hex digit. */
static int hex4(const unsigned char *s, size_t len, size_t i, unsigned *u) {
  if (len < 4 || i > len - 4) return 0;
  *u = 0;
  for (size_t k = 0; k < 4; k++) {
    int d = hex_digit(s[i + k]);
    if (d < 0) return 0;
    *u = *u << 4 | (unsigned)d;
  }
  return 1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* The end of the number that starts at s[i] (a '-' or a digit outside a string),
 * by RFC 8259 section 6's grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 * followed by whitespace, ',', ']', '}' or the end. Returns the index after it, or 0
 * when the grammar is broken ("01", "1.", "-", "1e", "1.5.2": cJSON reads some of
 * these by strtod's rules, which are not JSON's). */
static size_t number_end(const unsigned char *s, size_t len, size_t i) {
  if (s[i] == '-') i++;
  if (i == len || !is_digit(s[i])) return 0;
  if (s[i] == '0') i++;
  else
    while (i < len && is_digit(s[i])) i++;
  if (i < len && s[i] == '.') {
    if (++i == len || !is_digit(s[i])) return 0;
    while (i < len && is_digit(s[i])) i++;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    if (++i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (i == len || !is_digit(s[i])) return 0;
    while (i < len && is_digit(s[i])) i++;
  }
  if (i < len && !strchr(" \t\n\r,]}", s[i])) return 0;
  return i;
}

/* Checks, in one pass, what cJSON lets through but RFC 8259 (section 7) or we
 * forbid:
 *  - nesting deeper than CHAT_JSON_DEPTH_MAX levels of objects and arrays (cJSON
 *    recurses once per level);
 *  - control characters outside strings other than the four of JSON's whitespace
 *    (space, tab, line feed, carriage return: RFC 8259 section 2; cJSON skips every
 *    byte up to 0x20, NUL included, as if it were whitespace);
 *  - numbers outside RFC 8259 section 6's grammar (number_end);
 * and inside strings (member names included):
 *  - raw control characters U+0000..U+001F (they must be escaped; cJSON accepts
 *    them, and a raw NUL would cut a string short);
 *  - any escape but \" \\ \/ \b \f \n \r \t and \u followed by exactly four hex
 *    digits: cJSON 1.7.15 reads a \u escape with a non-hex digit ("\uX000",
 *    "\u00G0") as U+0000, which ends the string there (cJSON issue #635);
 *  - the escape \u0000, for the same reason;
 *  - a \u escape of a UTF-16 surrogate that is not a high one (D800-DBFF)
 *    immediately followed by an escaped low one (DC00-DFFF): alone, a surrogate
 *    has no UTF-8 form (RFC 3629 section 3).
 * Backslashes matter only inside strings, brackets only outside them, so tracking
 * "in a string" is exact for valid JSON; for invalid JSON cJSON reports the
 * error. */
static int prepass_clean(const unsigned char *s, size_t len) {
  int in_string = 0;
  size_t depth = 0;
  for (size_t i = 0; i < len; i++) {
    if (!in_string) {
      if (s[i] == '"') in_string = 1;
      else if ((s[i] == '{' || s[i] == '[') && ++depth > CHAT_JSON_DEPTH_MAX) return 0;
      else if ((s[i] == '}' || s[i] == ']') && depth) depth--;
      else if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
      else if (s[i] == '-' || is_digit(s[i])) {
        size_t end = number_end(s, len, i);
        if (!end) return 0;
        i = end - 1;
      }
      continue;
    }
    if (s[i] < 0x20) return 0;
    if (s[i] == '"') {
      in_string = 0;
      continue;
    }
    if (s[i] != '\\') continue;
    if (++i == len) return 0;
    switch (s[i]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        break;
      case 'u': {
        unsigned u, low;
        if (!hex4(s, len, i + 1, &u) || u == 0) return 0;
        i += 4;
        if (u >= 0xDC00 && u <= 0xDFFF) return 0; /* a low surrogate first */
        if (u >= 0xD800 && u <= 0xDBFF) {         /* a high one: an escaped low one next */
          if (i + 2 >= len || s[i + 1] != '\\' || s[i + 2] != 'u' || !hex4(s, len, i + 3, &low) ||
              low < 0xDC00 || low > 0xDFFF)
            return 0;
          i += 6;
        }
        break;
      }
      default:
        return 0;
    }
  }
  return 1;
}

/* The duplicate check keeps the names of one object in an open-addressing hash
 * set of a power of two slots, at least twice its members. */
#define NAME_SLOTS_MAX 64
_Static_assert(NAME_SLOTS_MAX >= 2 * CHAT_JSON_MEMBERS_MAX, "a name set is at most half full");
_Static_assert(CHAT_JSON_DEPTH_MAX <= CJSON_NESTING_LIMIT, "cJSON reads every depth json_in allows");

/* FNV-1a, 32 bits, of n bytes. */
static uint32_t name_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* Whether object o keeps the limits: at most CHAT_JSON_MEMBERS_MAX members, names of
 * at most CHAT_JSON_KEY_MAX bytes, all different (RFC 8259 section 4 says names
 * SHOULD be unique, and readers disagree on which of two wins: cJSON takes the
 * first, JavaScript the last). Time linear in the size of the names: each is
 * hashed once and compared only with names of the same hash and length. */
static int object_ok(const cJSON *o) {
  const char *name[NAME_SLOTS_MAX];
  uint32_t hash[NAME_SLOTS_MAX];
  size_t len[NAME_SLOTS_MAX], members = 0, slots = 4;
  for (const cJSON *a = o->child; a; a = a->next)
    if (++members > CHAT_JSON_MEMBERS_MAX) return 0;
  while (slots < 2 * members) slots *= 2;
  memset(name, 0, slots * sizeof *name);
  for (const cJSON *a = o->child; a; a = a->next) {
    size_t n = 0;
    while (a->string[n] && n <= CHAT_JSON_KEY_MAX) n++;
    if (n > CHAT_JSON_KEY_MAX) return 0;
    uint32_t h = name_hash(a->string, n);
    size_t i = h & (slots - 1);
    for (; name[i]; i = (i + 1) & (slots - 1))
      if (hash[i] == h && len[i] == n && memcmp(name[i], a->string, n) == 0) return 0;
    name[i] = a->string, hash[i] = h, len[i] = n;
  }
  return 1;
}

/* Whether every object in the tree under item keeps the limits of object_ok. Visits
 * each node once; recursion is as deep as the nesting (CHAT_JSON_DEPTH_MAX). */
static int tree_ok(const cJSON *item) {
  if (cJSON_IsObject(item) && !object_ok(item)) return 0;
  for (const cJSON *c = item->child; c; c = c->next)
    if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !tree_ok(c)) return 0;
  return 1;
}

int json_parse_object(const unsigned char *in, size_t len, cJSON **out) {
  *out = NULL;
  if (!utf8_valid(in, len) || !prepass_clean(in, len)) return CHAT_E_BAD_JSON;
  size_t failures = chat_alloc_failures();
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts((const char *)in, len, &end, 0);
  if (!root) return chat_alloc_failures() != failures ? CHAT_E_NOMEM : CHAT_E_BAD_JSON;
  for (const char *p = end; p < (const char *)in + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      cJSON_Delete(root);
      return CHAT_E_BAD_JSON;
    }
  }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return CHAT_E_NOT_OBJECT;
  }
  if (!tree_ok(root)) {
    cJSON_Delete(root);
    return CHAT_E_BAD_JSON;
  }
  *out = root;
  return CHAT_OK;
}

int json_get_string(const cJSON *obj, const char *key, const char **s, size_t *n) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!item || cJSON_IsNull(item)) return CHAT_E_FIELD_MISSING;
  if (!cJSON_IsString(item) || !item->valuestring) return CHAT_E_FIELD_TYPE;
  *s = item->valuestring;
  *n = strlen(item->valuestring);
  return CHAT_OK;
}

int json_get_uint53(const cJSON *item, int64_t *v) {
  if (!item) return CHAT_E_FIELD_MISSING;
  if (!cJSON_IsNumber(item)) return CHAT_E_FIELD_TYPE;
  double d = item->valuedouble;
  if (!isfinite(d) || d < 0 || d > 9007199254740991.0 || floor(d) != d) return CHAT_E_FIELD_TYPE;
  *v = (int64_t)d;
  return CHAT_OK;
}

int json_truthy(const cJSON *item) { return cJSON_IsTrue(item) || (cJSON_IsNumber(item) && item->valuedouble != 0); }
