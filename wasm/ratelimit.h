/*
 * ratelimit.h -- a token bucket (pure: the caller passes the time).
 *
 * A bucket holds up to `capacity` tokens and gains `per_second` tokens a second;
 * taking one when none is left fails. Time is in milliseconds; a clock that goes
 * backwards is treated as standing still. No allocation; 24 bytes of state.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

typedef struct {
  double tokens;     /* tokens now, 0..capacity */
  double last_ms;    /* time of the last update */
  int started;       /* 0 until the first use: a new bucket starts full */
} ratelimit_bucket;

/* Take one token at time now_ms. Returns 1 if there was one, 0 if the bucket is
 * empty (the caller refuses the action; nothing is taken). */
int ratelimit_take(ratelimit_bucket *b, double capacity, double per_second, double now_ms);

/* Take n tokens (n >= 1) at once, or none: 1 if there were n, else 0. */
int ratelimit_take_n(ratelimit_bucket *b, double capacity, double per_second, double now_ms, double n);

#endif
