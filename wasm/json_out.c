#include "json_out.h"

#include <string.h>

#include "chat_error.h"

int json_add_str(cJSON *obj, const char *key, const char *value) {
  return cJSON_AddStringToObject(obj, key, value) ? CHAT_OK : CHAT_E_NOMEM;
}

int json_add_num(cJSON *obj, const char *key, double value) {
  return cJSON_AddNumberToObject(obj, key, value) ? CHAT_OK : CHAT_E_NOMEM;
}

int json_add_bool(cJSON *obj, const char *key, int value) {
  return cJSON_AddBoolToObject(obj, key, value) ? CHAT_OK : CHAT_E_NOMEM;
}

int json_add_null(cJSON *obj, const char *key) {
  return cJSON_AddNullToObject(obj, key) ? CHAT_OK : CHAT_E_NOMEM;
}

int json_add_item(cJSON *obj, const char *key, cJSON *item) {
  if (item && cJSON_AddItemToObject(obj, key, item)) return CHAT_OK;
  cJSON_Delete(item);
  return CHAT_E_NOMEM;
}

int json_add_copy(cJSON *obj, const char *key, const cJSON *item) {
  return json_add_item(obj, key, cJSON_Duplicate(item, 1));
}

int json_add_text(cJSON *obj, const char *key, const cJSON *item) {
  char *text = cJSON_PrintUnformatted(item);
  if (!text) return CHAT_E_NOMEM;
  int rc = json_add_str(obj, key, text);
  cJSON_free(text);
  return rc;
}

int json_push(cJSON *array, cJSON *item) {
  if (item && cJSON_AddItemToArray(array, item)) return CHAT_OK;
  cJSON_Delete(item);
  return CHAT_E_NOMEM;
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
