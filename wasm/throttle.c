#include "throttle.h"

#include "chat_error.h"
#include "chat_limits.h"

/* The counter's failures that still count at now_ms. */
static double live(const throttle_counter *c, double now) {
  return now - c->window_start < CHAT_LOGIN_WINDOW_MS ? c->count : 0;
}

int throttle_check(const throttle_counter *user, const throttle_counter *ip, double now,
                   double *retry_after_ms) {
  double wait = 0;
  if (live(user, now) >= CHAT_LOGIN_FAILS_PER_USER) wait = user->window_start + CHAT_LOGIN_WINDOW_MS - now;
  if (live(ip, now) >= CHAT_LOGIN_FAILS_PER_IP) {
    double w = ip->window_start + CHAT_LOGIN_WINDOW_MS - now;
    if (w > wait) wait = w;
  }
  *retry_after_ms = wait;
  return wait > 0 ? CHAT_E_TOO_MANY_ATTEMPTS : CHAT_OK;
}

throttle_counter throttle_fail(throttle_counter c, double now) {
  if (now - c.window_start >= CHAT_LOGIN_WINDOW_MS) {
    c.count = 0;
    c.window_start = now;
  }
  c.count += 1;
  return c;
}

int throttle_reserve(throttle_counter *user, throttle_counter *ip, double now,
                     double *retry_after_ms) {
  int rc = throttle_check(user, ip, now, retry_after_ms);
  if (rc < 0) return rc;
  *user = throttle_fail(*user, now);
  *ip = throttle_fail(*ip, now);
  return CHAT_OK;
}

void throttle_succeed(throttle_counter *user, throttle_counter *ip, double reserved_ip_window) {
  user->count = 0;
  user->window_start = 0;
  if (ip->window_start == reserved_ip_window && ip->count > 0) ip->count -= 1;
}
