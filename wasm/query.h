/*
 * query.h -- reading URL query strings ("a=1&b=2"), as the shell passes them.
 *
 * Only what the routes need: keys compared exactly (no percent-decoding: every
 * value read here is digits, and a percent-encoded one is refused), values as
 * unsigned integers of 1..15 digits (< 2^53). Pairs without '=' are skipped.
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *s;
  size_t len, pos;
} query_iter;

/* The next key=value pair: 1 and its parts (pointing into the string), or 0 at
 * the end. */
int query_next(query_iter *it, const char **key, size_t *klen, const char **val, size_t *vlen);

/* Whether key (klen bytes) is `name`. */
int query_is(const char *key, size_t klen, const char *name);

/* Reads 1..15 decimal digits. CHAT_OK or CHAT_E_QUERY_INVALID. */
int query_uint(const char *val, size_t vlen, int64_t *out);

#endif
