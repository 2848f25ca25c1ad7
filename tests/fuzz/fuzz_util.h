/*
 * fuzz_util.h -- shared by the libFuzzer targets of tests/fuzz (see README.md
 * there): a reader of the fuzzer's bytes, an allocator that fails on demand, and
 * checks that abort (a finding) with a message.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_alloc.h"
#include "chat_error.h"

/* A finding: libFuzzer saves the input that got here. */
#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                   \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* The fuzzer's bytes, read front to back; past the end every read is 0. */
typedef struct {
  const uint8_t *p;
  size_t n;
} fuzz_in;

static inline int fuzz_left(const fuzz_in *f) { return f->n > 0; }

static inline uint8_t fuzz_byte(fuzz_in *f) {
  if (!f->n) return 0;
  f->n--;
  return *f->p++;
}

static inline uint16_t fuzz_u16(fuzz_in *f) {
  uint16_t lo = fuzz_byte(f);
  return (uint16_t)(lo | fuzz_byte(f) << 8);
}

/* Up to `want` bytes (fewer at the end); *len gets how many. */
static inline const uint8_t *fuzz_bytes(fuzz_in *f, size_t want, size_t *len) {
  const uint8_t *p = f->p;
  *len = want < f->n ? want : f->n;
  f->p += *len;
  f->n -= *len;
  return p;
}

/* Whether s is the wire name of a code of chat_error.h (codes are -1, -2, ...;
 * chat_error_name names anything else "unknown_error"). */
static inline int fuzz_is_error_name(const char *s) {
  static const char *names[1000];
  static int n = -1;
  if (n < 0) /* the names, once */
    for (int code = -1, k = n = 0; code > -1000; code--)
      if (strcmp(chat_error_name(code), "unknown_error") != 0) names[k++] = chat_error_name(code), n = k;
  for (int k = 0; k < n; k++)
    if (strcmp(names[k], s) == 0) return 1;
  return 0;
}

/* An allocator that fails the n-th allocation from now and every later one. */
static long fuzz_alloc_countdown = -1;

static inline void *fuzz_failing_malloc(size_t n) {
  if (fuzz_alloc_countdown == 0) return NULL;
  if (fuzz_alloc_countdown > 0) fuzz_alloc_countdown--;
  return malloc(n);
}

static inline void fuzz_fail_allocation_after(long n) {
  fuzz_alloc_countdown = n;
  chat_alloc_install(fuzz_failing_malloc, free);
}

static inline void fuzz_stop_failing(void) {
  fuzz_alloc_countdown = -1;
  chat_alloc_install(NULL, NULL);
}

#endif
