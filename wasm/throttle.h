/*
 * throttle.h -- login throttling: failure counters per username and per address.
 *
 * Pure rules over counters the shell stores (D1's login_failures); no allocation,
 * no I/O, times in ms passed in. Limits: chat_limits.h CHAT_LOGIN_*. An attempt is
 * counted when it starts (throttle_reserve) and given back if it succeeds
 * (throttle_succeed), so an address counts failures only.
 */
#ifndef THROTTLE_H
#define THROTTLE_H

/* A failure counter over a fixed window. */
typedef struct {
  double count;        /* failures in the window */
  double window_start; /* ms; the window lasts CHAT_LOGIN_WINDOW_MS */
} throttle_counter;

/* May a login be tried now? CHAT_OK, or CHAT_E_TOO_MANY_ATTEMPTS with the ms to
 * wait in *retry_after_ms. `user` and `ip` are the counters of the username and
 * the address. */
int throttle_check(const throttle_counter *user, const throttle_counter *ip, double now_ms,
                   double *retry_after_ms);

/* The counter after one more failure at now_ms (a new window if the old ended). */
throttle_counter throttle_fail(throttle_counter c, double now_ms);

/* Reserves one login attempt at now_ms, before its password is verified (issue
 * 12): the attempt counts against the username and the address first, so that no
 * number of concurrent attempts gets past the limits. The shell reads both
 * counters, calls this, and stores both new counters with one compare-and-swap;
 * when another attempt stored first it reads again and asks again.
 * Returns CHAT_OK with *user and *ip each one attempt further (a new window for
 * one whose window ended), or CHAT_E_TOO_MANY_ATTEMPTS with the ms to wait in
 * *retry_after_ms and both counters unchanged. */
int throttle_reserve(throttle_counter *user, throttle_counter *ip, double now_ms,
                     double *retry_after_ms);

/* A reserved attempt whose password was right. The username's counter is reset.
 * The address gets its reserved attempt back, if the counter is still in the
 * window the attempt was counted in (`reserved_ip_window`, the window_start that
 * throttle_reserve gave): so an address counts failed attempts (and attempts in
 * flight) only, and many people behind one NAT who log in correctly never lock
 * each other out. */
void throttle_succeed(throttle_counter *user, throttle_counter *ip, double reserved_ip_window);

#endif
