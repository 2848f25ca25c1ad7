/*
 * json_out.h -- building JSON with cJSON, with allocation failure as a value.
 *
 * Each function returns CHAT_OK or CHAT_E_NOMEM. Those that take an item take
 * ownership of it whatever happens: on failure it is freed, so a caller never
 * leaks on the error path. A NULL item (a failed cJSON_Create*) is CHAT_E_NOMEM.
 */
#ifndef JSON_OUT_H
#define JSON_OUT_H

#include <stddef.h>

#include "cJSON.h"

int json_add_str(cJSON *obj, const char *key, const char *value);
int json_add_num(cJSON *obj, const char *key, double value);
int json_add_bool(cJSON *obj, const char *key, int value);
int json_add_null(cJSON *obj, const char *key);

/* Adds item under key (obj takes it, or it is freed). */
int json_add_item(cJSON *obj, const char *key, cJSON *item);

/* Adds item's compact JSON text under key, as a string (a frame the shell sends
 * as it is); item stays the caller's. CHAT_E_NOMEM when either step fails. */
int json_add_text(cJSON *obj, const char *key, const cJSON *item);

/* Adds a deep copy of item under key. */
int json_add_copy(cJSON *obj, const char *key, const cJSON *item);

/* Appends item to array (the array takes it, or it is freed). */
int json_push(cJSON *array, cJSON *item);

/* Serialise `item` compactly into out (capacity cap). Returns the length written
 * (no NUL is counted or required), CHAT_E_NOMEM, or CHAT_E_BUFFER_TOO_SMALL with
 * the length needed stored in *needed. */
int json_write(const cJSON *item, unsigned char *out, size_t cap, size_t *needed);

#endif
