/* Helpers for tests that drive a room: run an event and read its effects. */
#ifndef ROOM_UTIL_H
#define ROOM_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "room.h"

/* The effects of the last event, with each send's "frame" [offset, length]
 * replaced by the frame's text. Owned by the caller (cJSON_Delete). */
static inline cJSON *decode_effects(const unsigned char *out, size_t n) {
  if (n < 4) return NULL;
  size_t jn = out[0] | (size_t)out[1] << 8 | (size_t)out[2] << 16 | (size_t)out[3] << 24;
  cJSON *root = cJSON_ParseWithLength((const char *)out + 4, jn);
  cJSON *list = cJSON_DetachItemFromObject(root, "effects");
  cJSON_Delete(root);
  const unsigned char *blob = out + 4 + jn;
  cJSON *e;
  cJSON_ArrayForEach(e, list) {
    cJSON *range = cJSON_GetObjectItem(e, "frame");
    if (!range) continue;
    size_t off = (size_t)cJSON_GetArrayItem(range, 0)->valuedouble;
    size_t len = (size_t)cJSON_GetArrayItem(range, 1)->valuedouble;
    char *text = malloc(len + 1);
    memcpy(text, blob + off, len);
    text[len] = 0;
    cJSON_ReplaceItemInObject(e, "frame", cJSON_CreateString(text));
    free(text);
  }
  return list;
}

static unsigned char room_out[1 << 22];

/* Runs one event; returns its rc and, when >= 0, its effects in *fx (may be NULL). */
static inline int room_run(room *r, int kind, int64_t conn, const char *in, double now, cJSON **fx) {
  size_t n = 0;
  int rc = room_event(r, kind, conn, (const unsigned char *)in, in ? strlen(in) : 0, now, room_out,
                      sizeof room_out, &n);
  if (fx) *fx = rc >= 0 ? decode_effects(room_out, n) : NULL;
  return rc;
}

#endif
