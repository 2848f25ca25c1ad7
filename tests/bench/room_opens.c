/*
 * room_opens.c -- the cost of opening sockets in a room (issue 13: each open must
 * cost O(1) or O(log n) in the core, not O(users x members)). Opens N sockets, 20
 * per user (CHAT_USER_CONNS_MAX: 500 accounts x 20 sockets for N = 10 000), none of
 * which joins, all at one instant, as a hoarder would. `make callgrind` runs it
 * under callgrind for two sizes and prints the instructions per open between them,
 * and natively for N = 10 000 with the time it took. Figures, not a test.
 *
 *   room_opens N [--time]
 *
 * With --join (issue 21: a join storm into a big room), N distinct users each open
 * one socket and join_room, storage answering an empty history, and the time of each
 * thousand joins is printed: a join's cost must not grow with the room.
 *
 *   room_opens N --join
 */
#define _GNU_SOURCE /* clock_gettime, memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "room.h"

static unsigned char out[1 << 24];

static double ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The conn of the first attach effect in out (the open's new socket), or -1. */
static long long attached_conn(size_t len) {
  size_t jn = out[0] | (size_t)out[1] << 8 | (size_t)out[2] << 16 | (size_t)out[3] << 24;
  const char *at = memmem(out + 4, jn < len ? jn : len, "\"conn\":", 7);
  return at ? atoll(at + 7) : -1;
}

static int joins(room *r, int n) {
  char buf[160];
  const char *join = "{\"type\":\"join_room\"}", *rows = "{\"rows\":[]}";
  size_t len;
  struct timespec t0, slice;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  slice = t0;
  for (int i = 0; i < n; i++) {
    snprintf(buf, sizeof buf, "{\"id\":%d,\"username\":\"user%d\",\"role\":\"USER\",\"blocks\":[]}", i + 1, i + 1);
    double now = 1e3 + i * 0.01;
    if (room_event(r, ROOM_OPEN, 0, (const unsigned char *)buf, strlen(buf), now, out, sizeof out, &len) < 0) return 1;
    long long conn = attached_conn(len);
    if (conn < 0 ||
        room_event(r, ROOM_FRAME, conn, (const unsigned char *)join, strlen(join), now, out, sizeof out, &len) < 0 ||
        room_event(r, ROOM_ANSWER, 0, (const unsigned char *)rows, strlen(rows), now, out, sizeof out, &len) < 0) {
      fprintf(stderr, "join %d failed\n", i);
      return 1;
    }
    if ((i + 1) % 1000 == 0) {
      printf("joins %5d-%5d: %.1f us each (last answer %zu bytes)\n", i - 998, i + 1, ms_since(&slice), len);
      clock_gettime(CLOCK_MONOTONIC, &slice);
    }
  }
  printf("%d joins, one socket per user: %.1f ms natively\n", n, ms_since(&t0));
  return 0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000, timed = argc > 2 && strcmp(argv[2], "--time") == 0;
  room *r;
  char buf[160];
  size_t len;
  struct timespec t0, t1;
  if (room_new(1, 1, 1, &r) < 0) return 1;
  if (argc > 2 && strcmp(argv[2], "--join") == 0) {
    int rc = joins(r, n);
    room_free(r);
    return rc;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    int user = 1 + i / CHAT_USER_CONNS_MAX;
    snprintf(buf, sizeof buf, "{\"id\":%d,\"username\":\"hoarder%d\",\"role\":\"USER\",\"blocks\":[]}", user, user);
    int rc = room_event(r, ROOM_OPEN, 0, (const unsigned char *)buf, strlen(buf), 0, out, sizeof out, &len);
    if (rc < 0) {
      fprintf(stderr, "open %d refused: %d\n", i, rc);
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (timed)
    printf("%d opens (%d users of %d sockets, none joined): %.1f ms natively\n", n, (n + CHAT_USER_CONNS_MAX - 1) / CHAT_USER_CONNS_MAX,
           CHAT_USER_CONNS_MAX, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  room_free(r);
  return 0;
}
