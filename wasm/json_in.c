#include "json_in.h"

#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"
#include "utf8.h"

/* True if the JSON text has a \u0000 escape. Backslashes only occur inside
 * strings in valid JSON, so walking escape by escape is exact. */
static int has_nul_escape(const unsigned char *s, size_t len) {
  for (size_t i = 0; i + 1 < len; i++) {
    if (s[i] != '\\') continue;
    if (s[i + 1] == 'u' && i + 5 < len && s[i + 2] == '0' && s[i + 3] == '0' &&
        s[i + 4] == '0' && s[i + 5] == '0')
      return 1;
    i++; /* skip the escaped character, so "\\\\u0000" is text, not an escape */
  }
  return 0;
}

int json_parse_object(const unsigned char *in, size_t len, cJSON **out) {
  *out = NULL;
  if (!utf8_valid(in, len) || has_nul_escape(in, len)) return CHAT_E_BAD_JSON;
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

int json_write(const cJSON *item, unsigned char *out, size_t cap, size_t *needed) {
  char *text = cJSON_PrintUnformatted(item);
  if (!text) return CHAT_E_NOMEM;
  size_t n = strlen(text);
  *needed = n;
  if (n > cap) {
    cJSON_free(text);
    return CHAT_E_BUFFER_TOO_SMALL;
  }
  memcpy(out, text, n);
  cJSON_free(text);
  return (int)n;
}
