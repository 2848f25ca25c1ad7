/*
 * room_opens.c -- the cost of opening sockets in a room (issue 13: each open must
 * cost O(1) or O(log n) in the core, not O(users x members)). Opens N sockets, 20
 * per user (CHAT_USER_CONNS_MAX: 500 accounts x 20 sockets for N = 10 000), none of
 * which joins, all at one instant, as a hoarder would. `make callgrind` runs it
 * under callgrind for two sizes and prints the instructions per open between them,
 * and natively for N = 10 000 with the time it took. Figures, not a test.
 *
 *   room_opens N [--time]
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "room.h"

static unsigned char out[1 << 16];

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000, timed = argc > 2 && strcmp(argv[2], "--time") == 0;
  room *r;
  char buf[160];
  size_t len;
  struct timespec t0, t1;
  if (room_new(1, 1, 1, &r) < 0) return 1;
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
