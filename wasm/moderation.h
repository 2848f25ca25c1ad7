/*
 * moderation.h -- who may ban, unban and promote whom, and login throttling.
 *
 * Pure rules over facts the shell looks up (roles, whether a ban exists, failure
 * counters); no allocation, no I/O, times in ms passed in.
 *
 * Rules (issue #5): only an ADMIN may ban, unban or promote; nobody may do it to
 * themselves; an ADMIN is never banned; a user is banned once and unbanned once; a
 * banned user is not promoted. Throttling: chat_limits.h CHAT_LOGIN_*; an attempt is
 * counted when it starts (throttle_reserve) and given back if it succeeds.
 */
#ifndef MODERATION_H
#define MODERATION_H

typedef enum { MOD_BAN, MOD_UNBAN, MOD_PROMOTE } mod_action;

typedef struct {
  int actor_admin;   /* the caller is an ADMIN */
  int self;          /* the target is the caller */
  int target_admin;  /* the target is an ADMIN */
  int target_banned; /* the target is banned now */
} mod_facts;

/* CHAT_OK if the action is allowed, else CHAT_E_ADMIN_ONLY, CHAT_E_SELF,
 * CHAT_E_CANNOT_BAN_ADMIN, CHAT_E_ALREADY_BANNED, CHAT_E_NOT_BANNED,
 * CHAT_E_ALREADY_ADMIN or CHAT_E_BANNED (promoting a banned user). */
int moderation_decide(mod_action action, const mod_facts *f);

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
