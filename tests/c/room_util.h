/* Helpers for tests that drive a room (tests/c/test_room*.c): run an event, read
 * its effects, and the users, joins and messages most tests start from. */
#ifndef ROOM_UTIL_H
#define ROOM_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

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

#define ALICE "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\"}"
#define BOB "{\"id\":2,\"username\":\"bob\",\"role\":\"USER\"}"
#define ADMIN "{\"id\":3,\"username\":\"root\",\"role\":\"ADMIN\"}"
#define NO_ROWS "{\"rows\":[]}"
#define NO_ROW "{\"row\":null}"
#define CAROL_BLOCKS_ALICE "{\"id\":4,\"username\":\"carol\",\"role\":\"USER\",\"blocks\":[1]}"
#define DM_OPEN "{\"kind\":\"dm\",\"members\":[1,2],\"open\":true}"
#define DM_CLOSED "{\"kind\":\"dm\",\"members\":[1,2],\"open\":false}"

static inline const char *op_of(const cJSON *e) { return cJSON_GetObjectItem(e, "op")->valuestring; }

/* The n-th effect (0-based), asserting its op. */
static inline cJSON *fx_at(cJSON *fx, int n, const char *op) {
  cJSON *e = cJSON_GetArrayItem(fx, n);
  assert_non_null(e);
  assert_string_equal(op_of(e), op);
  return e;
}

/* The frame of a send effect, parsed (caller deletes). */
static inline cJSON *frame_of(const cJSON *send) {
  return cJSON_Parse(cJSON_GetObjectItem(send, "frame")->valuestring);
}

static inline const char *str(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuestring; }
static inline double num(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuedouble; }

/* Opens a socket for user and joins with an empty history; returns its conn. */
static inline int64_t join(room *r, const char *user, double now) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_OPEN, 0, user, now, &fx) > 0);
  int64_t conn = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, conn, "{\"type\":\"join_room\"}", now, NULL) >= 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, now, NULL) >= 0);
  return conn;
}

/* Sends a message: if the room sends at once, through the storage question (no
 * retry) and returns the effects of the answer; if it waits in the outbox, returns
 * the frame's effects. */
static inline cJSON *say(room *r, int64_t conn, const char *body, const char *cid, double now) {
  char frame[8192];
  cJSON *fx;
  snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"%s\",\"client_id\":\"%s\"}", body, cid);
  assert_true(room_run(r, ROOM_FRAME, conn, frame, now, &fx) >= 0);
  cJSON *q = cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1);
  if (!q || strcmp(op_of(q), "query") != 0) return fx;
  assert_string_equal(str(q, "what"), "dedup");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, now, &fx) >= 0);
  return fx;
}

/* Each send effect of fx as {to: [conns], frames: [frame objects]}: a batch frame
 * unwrapped, any other frame as a list of one. Caller deletes. */
static inline cJSON *deliveries(cJSON *fx) {
  cJSON *out = cJSON_CreateArray(), *e;
  cJSON_ArrayForEach(e, fx) {
    if (strcmp(op_of(e), "send") != 0) continue;
    cJSON *d = cJSON_CreateObject(), *f = frame_of(e);
    cJSON_AddItemToObject(d, "to", cJSON_Duplicate(cJSON_GetObjectItem(e, "to"), 1));
    if (strcmp(str(f, "type"), "batch") == 0) {
      cJSON_AddItemToObject(d, "frames", cJSON_DetachItemFromObject(f, "frames"));
      cJSON_Delete(f);
    } else {
      cJSON *one = cJSON_CreateArray();
      cJSON_AddItemToArray(one, f);
      cJSON_AddItemToObject(d, "frames", one);
    }
    cJSON_AddItemToArray(out, d);
  }
  return out;
}

/* The seqs a delivery carries, as "41,42" (frames without a seq: "-"). */
static inline const char *seqs_of(const cJSON *d, char *text, size_t cap) {
  const cJSON *f;
  text[0] = 0;
  cJSON_ArrayForEach(f, cJSON_GetObjectItem(d, "frames")) {
    const cJSON *seq = cJSON_GetObjectItem(f, "seq");
    size_t n = strlen(text);
    if (seq) snprintf(text + n, cap - n, "%s%d", n ? "," : "", (int)seq->valuedouble);
    else snprintf(text + n, cap - n, "%s-", n ? "," : "");
  }
  return text;
}

/* The seqs of every delivery to conn, in order, as "2,3". */
static inline const char *all_seqs_to(const cJSON *ds, int64_t conn, char *text, size_t cap) {
  const cJSON *d, *c;
  char one[256];
  text[0] = 0;
  cJSON_ArrayForEach(d, ds) {
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(d, "to")) {
      if ((int64_t)c->valuedouble != conn) continue;
      size_t n = strlen(text);
      seqs_of(d, one, sizeof one);
      assert_true(n + 1 + strlen(one) < cap);
      if (n) text[n++] = ',';
      memcpy(text + n, one, strlen(one) + 1);
    }
  }
  return text;
}

/* The delivery whose recipients include conn (asserting there is one). */
static inline const cJSON *delivery_to(const cJSON *ds, int64_t conn) {
  const cJSON *d, *c;
  cJSON_ArrayForEach(d, ds) {
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(d, "to")) if ((int64_t)c->valuedouble == conn) return d;
  }
  fail_msg("no delivery to %d", (int)conn);
  return NULL;
}

/* Runs a ROOM_FLUSH (or, with kind ROOM_FRAME, a frame) that asks storage about
 * the waiting messages, answers `rows`, and returns the effects of the answer. */
static inline cJSON *flush_with(room *r, double now, const char *rows) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, now, &fx) > 0);
  assert_string_equal(str(fx_at(fx, 0, "query"), "what"), "dedup");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, rows, now, &fx) > 0);
  return fx;
}

/* The error code of the first error frame among fx's sends, or NULL. */
static inline const char *error_in(const cJSON *fx, char *code, size_t cap) {
  const cJSON *e;
  cJSON_ArrayForEach(e, fx) {
    if (strcmp(op_of(e), "send") != 0) continue;
    cJSON *f = frame_of(e);
    int is_error = strcmp(str(f, "type"), "error") == 0;
    if (is_error) snprintf(code, cap, "%s", str(f, "code"));
    cJSON_Delete(f);
    if (is_error) return code;
  }
  return NULL;
}

#endif
