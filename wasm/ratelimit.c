#include "ratelimit.h"

int ratelimit_take(ratelimit_bucket *b, double capacity, double per_second, double now_ms) {
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
  if (b->tokens < 1.0) return 0;
  b->tokens -= 1.0;
  return 1;
}
