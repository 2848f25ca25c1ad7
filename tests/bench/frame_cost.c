/*
 * frame_cost.c -- drives the C room natively for instruction counts per byte of
 * an inbound frame: a room with one joined member, then COUNT frames of one KIND
 * from it, as the shell would run them (a quiet room: each message is stored and
 * sent at once; every storage question answered with no rows). Run under
 * `valgrind --tool=callgrind --toggle-collect=send_frame` by `make callgrind`
 * (tests/bench/frame_cost.sh), which counts only the instructions of send_frame
 * (the frame's event and the answers to its questions, not the building of the
 * frame) and divides them by the bytes sent, which this prints on stdout. No
 * timing: instruction counts are repeatable on a noisy machine.
 *
 *   frame_cost KIND COUNT
 *
 * Kinds. Plain messages, the yardstick:
 *   plain         a chat message of 30 characters (about 90 bytes of frame)
 *   plain4000     a chat message of 4000 ASCII characters, the longest body
 * Worst cases, each as close to CHAT_FRAME_MAX (32 KiB) as it gets, each read in
 * full (a ping carrying the payload in a member "o", answered with pong), within
 * every limit of chat_limits.h unless said otherwise:
 *   members       objects of CHAT_JSON_MEMBERS_MAX one-letter members each
 *   longkeys      objects of CHAT_JSON_MEMBERS_MAX names of CHAT_JSON_KEY_MAX bytes
 *                 that share all but their last byte
 *   deep          arrays nested CHAT_JSON_DEPTH_MAX deep, side by side
 *   numbers       one array of the number 0, as many as fit (a node per 2 bytes)
 *   strings       one array of empty strings
 *   objects       one array of empty objects
 *   escapes       one string of \ud83d\ude00 surrogate pairs
 *   escaped_body  a chat message of 4000 characters, each written \u00e9
 *   refused_last  "numbers" with a duplicate name at the very end (bad_json,
 *                 found only once everything was read)
 *   flatkeys      the frame of issue 13: a ping of about 4 100 distinct names in one
 *                 object (bad_json: past CHAT_JSON_MEMBERS_MAX; before the limit,
 *                 looking for duplicates among every pair of names took 67 ms)
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "chat_limits.h"
#include "room.h"

static unsigned char out[1 << 22];
static size_t out_n; /* the length of the last event's effects in out */

static void run(room *r, int kind, int64_t conn, const char *in, size_t len, double now) {
  size_t n;
  int rc = room_event(r, kind, conn, (const unsigned char *)in, len, now, out, sizeof out, &n);
  out_n = n;
  if (rc < 0) {
    fprintf(stderr, "room_event(%d) failed: %d\n", kind, rc);
    exit(1);
  }
  size_t json = out[0] | (size_t)out[1] << 8 | (size_t)out[2] << 16 | (size_t)out[3] << 24;
  static const char query[] = "\"op\":\"query\"";
  if (json > sizeof query && memmem(out + 4, json, query, sizeof query - 1))
    run(r, ROOM_ANSWER, 0, "{\"rows\":[]}", 11, now);
}

/* One frame from socket 1 and the answers to its questions: all that is measured. */
__attribute__((noinline, noclone)) static void send_frame(room *r, const char *in, size_t len, double now) {
  run(r, ROOM_FRAME, 1, in, len, now);
}

static char frame[CHAT_FRAME_MAX + 1];
static size_t len;

static void put(const char *s) {
  size_t n = strlen(s);
  if (len + n > CHAT_FRAME_MAX) {
    fprintf(stderr, "frame over %d bytes\n", CHAT_FRAME_MAX);
    exit(1);
  }
  memcpy(frame + len, s, n);
  len += n;
}

/* Room left for `n` more bytes before the closing `tail` bytes. */
static int fits(size_t n, size_t tail) { return len + n + tail <= CHAT_FRAME_MAX; }

static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* A ping whose "o" is an array of `item` repeated while it fits. */
static void ping_of(const char *item, const char *tail) {
  put("{\"type\":\"ping\",\"o\":[");
  for (int i = 0; fits(strlen(item) + 1, 2 + strlen(tail)); i++) {
    if (i) put(",");
    put(item);
  }
  put("]");
  put(tail);
  put("}");
}

/* An object of CHAT_JSON_MEMBERS_MAX members named prefix + one letter. */
static void full_object(char *dst, const char *prefix) {
  size_t n = 0;
  n += (size_t)sprintf(dst + n, "{");
  for (int i = 0; i < CHAT_JSON_MEMBERS_MAX; i++)
    n += (size_t)sprintf(dst + n, "%s\"%s%c\":0", i ? "," : "", prefix, letters[i]);
  sprintf(dst + n, "}");
}

static void build(const char *kind, int k) {
  static char item[CHAT_JSON_MEMBERS_MAX * (CHAT_JSON_KEY_MAX + 8) + 8];
  char prefix[CHAT_JSON_KEY_MAX];
  len = 0;
  if (strcmp(kind, "plain") == 0) {
    snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"message number %05d from a sender\",\"client_id\":\"c%05d\"}", k, k);
    len = strlen(frame);
  } else if (strcmp(kind, "plain4000") == 0 || strcmp(kind, "escaped_body") == 0) {
    int escaped = kind[0] == 'e';
    char id[32];
    put("{\"type\":\"new_chat_message\",\"body\":\"");
    for (int i = 0; i < CHAT_MESSAGE_MAX; i++) {
      char c[2] = {letters[i % 26], 0};
      put(escaped ? "\\u00e9" : c);
    }
    snprintf(id, sizeof id, "\",\"client_id\":\"c%05d\"}", k);
    put(id);
  } else if (strcmp(kind, "members") == 0) {
    full_object(item, "");
    ping_of(item, "");
  } else if (strcmp(kind, "longkeys") == 0) {
    memset(prefix, 'p', sizeof prefix - 1);
    prefix[sizeof prefix - 1] = 0;
    full_object(item, prefix);
    ping_of(item, "");
  } else if (strcmp(kind, "deep") == 0) {
    size_t n = 0; /* the ping and "o" are two levels: arrays take the rest */
    for (int i = 0; i < CHAT_JSON_DEPTH_MAX - 2; i++) item[n++] = '[';
    for (int i = 0; i < CHAT_JSON_DEPTH_MAX - 2; i++) item[n++] = ']';
    item[n] = 0;
    ping_of(item, "");
  } else if (strcmp(kind, "numbers") == 0) {
    ping_of("0", "");
  } else if (strcmp(kind, "strings") == 0) {
    ping_of("\"\"", "");
  } else if (strcmp(kind, "objects") == 0) {
    ping_of("{}", "");
  } else if (strcmp(kind, "escapes") == 0) {
    put("{\"type\":\"ping\",\"o\":\"");
    while (fits(12, 2)) put("\\ud83d\\ude00");
    put("\"}");
  } else if (strcmp(kind, "refused_last") == 0) {
    ping_of("0", ",\"o\":0");
  } else if (strcmp(kind, "flatkeys") == 0) {
    char member[32];
    put("{\"type\":\"ping\"");
    for (int i = 0; snprintf(member, sizeof member, ",\"%d\":0", i), fits(strlen(member), 1); i++) put(member);
    put("}");
  } else {
    fprintf(stderr, "unknown kind %s\n", kind);
    exit(2);
  }
}

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "plain";
  int count = argc > 2 ? atoi(argv[2]) : 10;
  size_t bytes = 0;
  room *r;
  if (api_init() < 0 || room_new(1, 1, 1, &r) < 0) return 1;
  static const char config[] =
      "{\"kind\":\"room\",\"rate\":{\"burst\":1e9,\"per_second\":1e9},\"room_rate\":{\"burst\":1e9,\"per_second\":1e9}}";
  static const char user[] = "{\"id\":1,\"username\":\"user1\",\"role\":\"USER\",\"blocks\":[]}";
  run(r, ROOM_CONFIG, 0, config, strlen(config), 0);
  run(r, ROOM_OPEN, 0, user, strlen(user), 0);
  run(r, ROOM_FRAME, 1, "{\"type\":\"join_room\"}", 20, 0);
  for (int k = 0; k < count; k++) {
    build(kind, k);
    bytes += len;
    send_frame(r, frame, len, 1000.0 * (k + 1)); /* a quiet room: sent at once */
    /* the frame was read as meant: pong, stored, or refused as bad_json */
    const char *want = strcmp(kind, "refused_last") == 0 || strcmp(kind, "flatkeys") == 0 ? "bad_json"
                       : strstr(frame, "\"ping\"")     ? "\"type\":\"pong\""
                                                        : "\"op\":\"store\"";
    if (!memmem(out, out_n, want, strlen(want))) {
      fprintf(stderr, "%s: the frame's effects lack %s\n", kind, want);
      return 1;
    }
  }
  room_free(r);
  printf("%zu\n", bytes);
  return 0;
}
