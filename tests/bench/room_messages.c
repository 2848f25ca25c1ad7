/*
 * room_messages.c -- drives the C room natively for instruction counts: a room
 * with M joined members, then K inbound messages arriving at RATE a second of
 * simulated time, as the shell would run them: each frame, a ROOM_FLUSH whenever
 * CHAT_FLUSH_INTERVAL_MS has passed, and an answer (no retries) to every storage
 * question. RATE 1 is a quiet room (each message stored and sent at once); 1600 a
 * busy one (messages coalesced into batches). Run under `valgrind --tool=callgrind`
 * by `make callgrind`, which subtracts a run with K = 0 to get the instructions
 * per inbound message. No timing here: instruction counts are repeatable on a
 * noisy machine.
 *
 *   room_messages M K RATE
 */
#define _GNU_SOURCE /* memmem */
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
  /* a question (always the last effect) is answered at once, as the shell does */
  size_t json = out[0] | (size_t)out[1] << 8 | (size_t)out[2] << 16 | (size_t)out[3] << 24;
  static const char query[] = "\"op\":\"query\"";
  if (json > sizeof query && memmem(out + 4, json, query, sizeof query - 1))
    run(r, ROOM_ANSWER, 0, "{\"rows\":[]}", now);
  return rc;
}

int main(int argc, char **argv) {
  int members = argc > 1 ? atoi(argv[1]) : 100, messages = argc > 2 ? atoi(argv[2]) : 1000;
  double rate = argc > 3 ? atof(argv[3]) : 1, last_flush = 0;
  room *r;
  char buf[256];
  if (api_init() < 0 || room_new(1, 1, 1, &r) < 0) return 1;
  run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1e9,\"per_second\":1e9}}", 0);
  for (int i = 1; i <= members; i++) {
    snprintf(buf, sizeof buf, "{\"id\":%d,\"username\":\"user%d\",\"role\":\"USER\",\"blocks\":[]}", i, i);
    run(r, ROOM_OPEN, 0, buf, 0);
    run(r, ROOM_FRAME, i, "{\"type\":\"join_room\"}", 0);
  }
  for (int k = 0; k < messages; k++) {
    snprintf(buf, sizeof buf,
             "{\"type\":\"new_chat_message\",\"body\":\"message number %d from a sender\",\"client_id\":\"c%d\"}",
             k, k);
    double now = 1000.0 + k * 1000.0 / rate;
    if (now - last_flush >= CHAT_FLUSH_INTERVAL_MS) { /* the shell's timer */
      run(r, ROOM_FLUSH, 0, NULL, now);
      last_flush = now;
    }
    run(r, ROOM_FRAME, 1 + k % (members / 10 > 0 ? members / 10 : 1), buf, now);
  }
  run(r, ROOM_FLUSH, 0, NULL, 1e12);
  room_free(r);
  return 0;
}
