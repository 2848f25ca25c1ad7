/*
 * moderation.h -- who may ban, unban and promote whom, and login throttling.
 *
 * Pure rules over facts the shell looks up (roles, whether a ban exists, failure
 * counters); no allocation, no I/O, times in ms passed in.
 *
 * Rules (issue #5): only an ADMIN may ban, unban or promote; nobody may do it to
 * themselves; an ADMIN is never banned; a user is banned once and unbanned once; a
 * banned user is not promoted. Throttling: chat_limits.h CHAT_LOGIN_*.
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

#endif
