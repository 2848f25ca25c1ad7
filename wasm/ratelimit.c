#include "ratelimit.h"

int ratelimit_take(ratelimit_bucket *b, double capacity, double per_second, double now_ms) {
  return ratelimit_take_n(b, capacity, per_second, now_ms, 1.0);
}

int ratelimit_take_n(ratelimit_bucket *b, double capacity, double per_second, double now_ms, double n) {
  if (!b->started) {
    b->started = 1;
    b->tokens = capacity;
    b->last_ms = now_ms;
  }
  if (now_ms > b->last_ms) {
    b->tokens += (now_ms - b->last_ms) / 1000.0 * per_second;
    if (b->tokens > capacity) b->tokens = capacity;
    b->last_ms = now_ms;
  }
  if (b->tokens < n) return 0;
  b->tokens -= n;
  return 1;
}
