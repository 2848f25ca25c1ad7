/*
 * room_messages.c -- drives the C room natively for instruction counts: a room
 * with M joined members, then K inbound messages (frame, dedup answer, effects).
 * Run under `valgrind --tool=callgrind` by `make callgrind`, which subtracts a
 * run with K = 0 to get the instructions per inbound message. No timing here:
 * instruction counts are repeatable on a noisy machine.
 *
 *   room_messages M K
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "room.h"

static unsigned char out[1 << 22];

static int run(room *r, int kind, int64_t conn, const char *in, double now) {
  size_t n;
  int rc = room_event(r, kind, conn, (const unsigned char *)in, in ? strlen(in) : 0, now, out, sizeof out, &n);
  if (rc < 0) {
    fprintf(stderr, "room_event(%d) failed: %d\n", kind, rc);
    exit(1);
  }
  return rc;
}

int main(int argc, char **argv) {
  int members = argc > 1 ? atoi(argv[1]) : 100, messages = argc > 2 ? atoi(argv[2]) : 1000;
  room *r;
  char buf[256];
  if (api_init() < 0 || room_new(1, 1, &r) < 0) return 1;
  run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1e9,\"per_second\":1e9}}", 0);
  for (int i = 1; i <= members; i++) {
    snprintf(buf, sizeof buf, "{\"id\":%d,\"username\":\"user%d\",\"role\":\"USER\",\"blocks\":[]}", i, i);
    run(r, ROOM_OPEN, 0, buf, 0);
    run(r, ROOM_FRAME, i, "{\"type\":\"join_room\"}", 0);
    run(r, ROOM_ANSWER, 0, "{\"rows\":[]}", 0);
  }
  for (int k = 0; k < messages; k++) {
    snprintf(buf, sizeof buf,
             "{\"type\":\"new_chat_message\",\"body\":\"message number %d from a sender\",\"client_id\":\"c%d\"}",
             k, k);
    run(r, ROOM_FRAME, 1 + k % (members / 10 > 0 ? members / 10 : 1), buf, k);
    run(r, ROOM_ANSWER, 0, "{\"row\":null}", k);
  }
  room_free(r);
  return 0;
}
