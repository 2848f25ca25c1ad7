/*
 * room_index.h -- the room's lookups in O(1): a hash map from an id (a socket's conn
 * id, a user id: integers >= 0) to a position in one of the room's arrays; and its
 * unjoined sockets in O(log n): a min-heap of (time opened, conn id).
 *
 * Workload: a room of up to CHAT_ROOM_CONNS_MAX sockets, where every frame looks up
 * its socket and its user, and every open its user (issue 13: an open costs O(1) or
 * O(log n), not O(users x members)).
 *
 * Memory: room_index_reserve and room_deadlines_reserve allocate (chat_alloc) and
 * may fail with CHAT_E_NOMEM, leaving the structure as it was; put, del, push and
 * pop never allocate, so a caller reserves first and then changes its state without
 * a way to fail. Both are released by their _free (which accept a zeroed struct).
 */
#ifndef ROOM_INDEX_H
#define ROOM_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* Open addressing with linear probing, at most half full, deletion by backward
 * shift (no tombstones, so lookups stay short however many come and go). */
typedef struct {
  int64_t *keys; /* ROOM_INDEX_EMPTY where free */
  uint32_t *vals;
  size_t cap, n; /* cap: 0 or a power of two */
} room_index;

#define ROOM_INDEX_NONE UINT32_MAX

/* Makes room for `n` entries in all. CHAT_OK or CHAT_E_NOMEM (unchanged). */
int room_index_reserve(room_index *x, size_t n);

/* The value of key, or ROOM_INDEX_NONE. */
uint32_t room_index_get(const room_index *x, int64_t key);

/* Sets key to val (adds it, or replaces its value). Capacity must be reserved. */
void room_index_put(room_index *x, int64_t key, uint32_t val);

/* Removes key, if present. */
void room_index_del(room_index *x, int64_t key);

void room_index_free(room_index *x);

/* A socket that has not joined, and when it opened (ms). */
typedef struct {
  double opened_at;
  int64_t conn;
} room_deadline;

/* A binary min-heap of deadlines by opened_at. Entries are not removed when their
 * socket joins or closes; whoever pops one checks that it still stands. */
typedef struct {
  room_deadline *items;
  size_t n, cap;
} room_deadlines;

/* Makes room for `n` entries in all. CHAT_OK or CHAT_E_NOMEM (unchanged). */
int room_deadlines_reserve(room_deadlines *h, size_t n);

/* Adds an entry (capacity must be reserved): O(log n). */
void room_deadlines_push(room_deadlines *h, room_deadline d);

/* Removes the earliest entry (the heap must not be empty): O(log n). */
void room_deadlines_pop(room_deadlines *h);

/* Calls f(arg, entry) for every entry opened at or before `cutoff`, without
 * changing the heap: O(k) for k such entries (they form the top of the heap). */
void room_deadlines_each_before(const room_deadlines *h, double cutoff, void (*f)(void *, const room_deadline *),
                                void *arg);

void room_deadlines_free(room_deadlines *h);

#endif
