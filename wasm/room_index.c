#include "room_index.h"

#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"

#define ROOM_INDEX_EMPTY INT64_MIN

/* Fibonacci hashing: the top bits of the key times 2^64 / phi. */
static size_t slot_of(int64_t key, size_t cap) {
  return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void insert(int64_t *keys, uint32_t *vals, size_t cap, int64_t key, uint32_t val) {
  size_t i = slot_of(key, cap);
  while (keys[i] != ROOM_INDEX_EMPTY && keys[i] != key) i = (i + 1) & (cap - 1);
  keys[i] = key;
  vals[i] = val;
}

int room_index_reserve(room_index *x, size_t n) {
  if (2 * n <= x->cap) return CHAT_OK;
  size_t cap = x->cap ? x->cap : 16;
  while (2 * n > cap) cap *= 2;
  int64_t *keys = chat_malloc(cap * sizeof *keys);
  uint32_t *vals = chat_malloc(cap * sizeof *vals);
  if (!keys || !vals) {
    chat_free(keys);
    chat_free(vals);
    return CHAT_E_NOMEM;
  }
  for (size_t i = 0; i < cap; i++) keys[i] = ROOM_INDEX_EMPTY;
  for (size_t i = 0; i < x->cap; i++)
    if (x->keys[i] != ROOM_INDEX_EMPTY) insert(keys, vals, cap, x->keys[i], x->vals[i]);
  chat_free(x->keys);
  chat_free(x->vals);
  x->keys = keys;
  x->vals = vals;
  x->cap = cap;
  return CHAT_OK;
}

uint32_t room_index_get(const room_index *x, int64_t key) {
  if (!x->cap) return ROOM_INDEX_NONE;
  for (size_t i = slot_of(key, x->cap);; i = (i + 1) & (x->cap - 1)) {
    if (x->keys[i] == key) return x->vals[i];
    if (x->keys[i] == ROOM_INDEX_EMPTY) return ROOM_INDEX_NONE;
  }
}

void room_index_put(room_index *x, int64_t key, uint32_t val) {
  if (room_index_get(x, key) == ROOM_INDEX_NONE) x->n++;
  insert(x->keys, x->vals, x->cap, key, val);
}

void room_index_del(room_index *x, int64_t key) {
  if (!x->cap) return;
  size_t i = slot_of(key, x->cap);
  while (x->keys[i] != key) {
    if (x->keys[i] == ROOM_INDEX_EMPTY) return;
    i = (i + 1) & (x->cap - 1);
  }
  /* Backward shift: move up each later entry of the run that may live at i. */
  for (size_t j = (i + 1) & (x->cap - 1); x->keys[j] != ROOM_INDEX_EMPTY; j = (j + 1) & (x->cap - 1)) {
    size_t home = slot_of(x->keys[j], x->cap);
    /* j's entry may move to i when its home is not in (i, j] (cyclically) */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      x->keys[i] = x->keys[j];
      x->vals[i] = x->vals[j];
      i = j;
    }
  }
  x->keys[i] = ROOM_INDEX_EMPTY;
  x->n--;
}

void room_index_free(room_index *x) {
  chat_free(x->keys);
  chat_free(x->vals);
  memset(x, 0, sizeof *x);
}

int room_deadlines_reserve(room_deadlines *h, size_t n) {
  if (n <= h->cap) return CHAT_OK;
  size_t cap = h->cap ? h->cap : 16;
  while (cap < n) cap *= 2;
  room_deadline *items = chat_malloc(cap * sizeof *items);
  if (!items) return CHAT_E_NOMEM;
  if (h->n) memcpy(items, h->items, h->n * sizeof *items);
  chat_free(h->items);
  h->items = items;
  h->cap = cap;
  return CHAT_OK;
}

static void swap(room_deadline *a, room_deadline *b) {
  room_deadline t = *a;
  *a = *b;
  *b = t;
}

void room_deadlines_push(room_deadlines *h, room_deadline d) {
  size_t i = h->n++;
  h->items[i] = d;
  while (i > 0 && h->items[(i - 1) / 2].opened_at > h->items[i].opened_at) {
    swap(&h->items[(i - 1) / 2], &h->items[i]);
    i = (i - 1) / 2;
  }
}

void room_deadlines_pop(room_deadlines *h) {
  h->items[0] = h->items[--h->n];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && h->items[l].opened_at < h->items[m].opened_at) m = l;
    if (r < h->n && h->items[r].opened_at < h->items[m].opened_at) m = r;
    if (m == i) return;
    swap(&h->items[i], &h->items[m]);
    i = m;
  }
}

static void each_before(const room_deadlines *h, size_t i, double cutoff, void (*f)(void *, const room_deadline *),
                        void *arg) {
  /* iterative over the subtree of i: a stack of at most log2(n) + 1 pending right children */
  size_t stack[64], top = 0;
  for (;;) {
    if (i < h->n && h->items[i].opened_at <= cutoff) {
      f(arg, &h->items[i]);
      if (top < sizeof stack / sizeof *stack) stack[top++] = 2 * i + 2;
      i = 2 * i + 1;
    } else if (top) {
      i = stack[--top];
    } else {
      return;
    }
  }
}

void room_deadlines_each_before(const room_deadlines *h, double cutoff, void (*f)(void *, const room_deadline *),
                                void *arg) {
  each_before(h, 0, cutoff, f, arg);
}

void room_deadlines_free(room_deadlines *h) {
  chat_free(h->items);
  memset(h, 0, sizeof *h);
}
