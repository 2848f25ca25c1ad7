#include "effects.h"

#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "json_out.h"
#include "room.h"

int effects_init(effects *e) {
  memset(e, 0, sizeof *e);
  e->root = cJSON_CreateObject();
  e->list = cJSON_CreateArray();
  if (e->root && e->list && cJSON_AddItemToObject(e->root, "effects", e->list)) return CHAT_OK;
  if (!e->root || !e->root->child) cJSON_Delete(e->list);
  cJSON_Delete(e->root);
  memset(e, 0, sizeof *e);
  return CHAT_E_NOMEM;
}

void effects_free(effects *e) {
  cJSON_Delete(e->root);
  buf_free(&e->frames);
  memset(e, 0, sizeof *e);
}

cJSON *effects_add(effects *e, const char *op) {
  cJSON *o = cJSON_CreateObject();
  if (o && json_add_str(o, "op", op) < 0) {
    cJSON_Delete(o);
    return NULL;
  }
  return json_push(e->list, o) < 0 ? NULL : o;
}

/* Appends n bytes of frame text to the frame area; returns its [offset, length]. */
static cJSON *frame_range(effects *e, const char *text, size_t n) {
  size_t off = e->frames.len;
  cJSON *range = cJSON_CreateArray();
  if (!range || buf_append(&e->frames, text, n) < 0 || json_push(range, cJSON_CreateNumber((double)off)) < 0 ||
      json_push(range, cJSON_CreateNumber((double)n)) < 0) {
    cJSON_Delete(range);
    return NULL;
  }
  return range;
}

int effects_send_text(effects *e, const char *text, size_t n, cJSON *to) {
  cJSON *range = to ? frame_range(e, text, n) : NULL, *o = range ? effects_add(e, ROOM_EFFECT(send)) : NULL;
  if (!o) {
    cJSON_Delete(range);
    cJSON_Delete(to);
    return CHAT_E_NOMEM;
  }
  int rc = json_add_item(o, "to", to);
  if (rc < 0) {
    cJSON_Delete(range);
    return rc;
  }
  return json_add_item(o, "frame", range);
}

int effects_send(effects *e, cJSON *frame, cJSON *to) {
  char *text = frame ? cJSON_PrintUnformatted(frame) : NULL;
  cJSON_Delete(frame);
  if (!text) {
    cJSON_Delete(to);
    return CHAT_E_NOMEM;
  }
  int rc = effects_send_text(e, text, strlen(text), to);
  cJSON_free(text);
  return rc;
}

int effects_notify_text(effects *e, int64_t user_id, const char *text, size_t n) {
  cJSON *o = effects_add(e, ROOM_EFFECT(notify)), *range = o ? frame_range(e, text, n) : NULL;
  if (!range) return CHAT_E_NOMEM;
  int rc = json_add_num(o, "user_id", (double)user_id);
  if (rc < 0) {
    cJSON_Delete(range);
    return rc;
  }
  return json_add_item(o, "frame", range);
}

int effects_send_one(effects *e, int64_t conn, cJSON *frame) {
  cJSON *to = cJSON_CreateArray();
  if (to && json_push(to, cJSON_CreateNumber((double)conn)) < 0) {
    cJSON_Delete(to);
    to = NULL;
  }
  return effects_send(e, frame, to);
}

int effects_error(effects *e, int64_t conn, int code, const char *ref) {
  cJSON *f = cJSON_CreateObject();
  if (!f || json_add_str(f, "type", CHAT_FRAME(error)) < 0 || json_add_str(f, "code", chat_error_name(code)) < 0 ||
      json_add_str(f, "message", chat_error_message(code)) < 0 ||
      (ref && json_add_str(f, "ref", ref) < 0)) {
    cJSON_Delete(f);
    return CHAT_E_NOMEM;
  }
  return effects_send_one(e, conn, f);
}

int effects_write(const effects *e, unsigned char *out, size_t cap, size_t *out_len,
                  unsigned char **spill) {
  char *json = cJSON_PrintUnformatted(e->root);
  if (!json) return CHAT_E_NOMEM;
  size_t jn = strlen(json), total = 4 + jn + e->frames.len;
  unsigned char *dst = total <= cap ? out : chat_malloc(total);
  if (!dst) {
    cJSON_free(json);
    return CHAT_E_NOMEM;
  }
  dst[0] = (unsigned char)jn, dst[1] = (unsigned char)(jn >> 8);
  dst[2] = (unsigned char)(jn >> 16), dst[3] = (unsigned char)(jn >> 24);
  memcpy(dst + 4, json, jn);
  if (e->frames.len) memcpy(dst + 4 + jn, e->frames.data, e->frames.len);
  cJSON_free(json);
  *out_len = total;
  if (dst == out) return (int)total;
  *spill = dst;
  return CHAT_E_BUFFER_TOO_SMALL;
}
