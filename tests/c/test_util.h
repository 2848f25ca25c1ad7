/* Shared helpers of the native C tests (cmocka). */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat_alloc.h"

/* An allocator that fails the n-th allocation from now (and every later one while
 * fail_all is set), to test the out-of-memory paths. */
static long alloc_fail_countdown = -1;

static inline void *failing_malloc(size_t n) {
  if (alloc_fail_countdown == 0) return NULL;
  if (alloc_fail_countdown > 0) alloc_fail_countdown--;
  return malloc(n);
}

static inline void fail_allocation_after(long n) {
  alloc_fail_countdown = n;
  chat_alloc_install(failing_malloc, free);
}

static inline void stop_failing_allocations(void) {
  alloc_fail_countdown = -1;
  chat_alloc_install(NULL, NULL);
}

#define S(lit) (lit), (sizeof(lit) - 1) /* a string literal as pointer + length */

/* Reads a JSON file of the test data (relative to the repository root, where the
 * tests run) into a tree the caller deletes; fails the test if it cannot. */
#include "cJSON.h"
#include <stdio.h>
static inline cJSON *read_json_file(const char *path) {
  static char text[1 << 20];
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t len = fread(text, 1, sizeof text, f);
  fclose(f);
  cJSON *doc = cJSON_ParseWithLength(text, len);
  assert_non_null(doc);
  return doc;
}

#endif
