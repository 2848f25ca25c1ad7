/*
 * budget.h -- what one client may make the service hold or do (issue 13).
 *
 * Every resource a client can make the service keep (accounts, rooms, friends,
 * requests, blocks, sockets) or spend work on has a budget here, a named limit
 * of chat_limits.h. Two kinds:
 *
 * - A rate: at most `limit` uses in a fixed window of `window_ms` per subject (an
 *   address, an account). A rate with a burst is spread instead: `limit` uses per
 *   `window_ms` on average, at most `burst` at once, as the Generic Cell Rate
 *   Algorithm meters it (GCRA, ITU-T I.371; the "leaky bucket as a meter"): one use
 *   every window_ms / limit, and a use may come early by (burst - 1) of those. A
 *   fixed window lets a client spend all of it in one burst at the window's start
 *   (30 socket opens at once, each costing a D1 read, RPCs and a room's work);
 *   the bucket lets `burst` through, then one at a time. The shell keeps one counter per subject (D1's
 *   budget_counters), reads it, asks budget_spend, and stores the answer with a
 *   compare-and-swap, so concurrent uses cannot pass the limit (as login
 *   throttling does, moderation.h). Socket opens are counted by the user's own
 *   UserHub in its storage instead: one object per user runs one event at a
 *   time, so no swap is needed and no D1 write is spent per socket.
 * - A count: at most `limit` of something held at once (friends, blocks, pending
 *   requests, sockets). The shell counts what is held; budget_allows says whether
 *   one more fits.
 *
 * Past a budget the answer is limit_reached (HTTP 429, with Retry-After for a
 * rate) naming the budget, never a 500: PROTOCOL.md "Limits" lists them all.
 * Pure: no allocation, no I/O, time passed in.
 */
#ifndef BUDGET_H
#define BUDGET_H

#include <stdint.h>

#include "chat_limits.h"

/* X(symbol, wire name, limit, window in ms: 0 for a count, burst: 0 for a fixed
 *   window, a sentence for people) */
#define CHAT_BUDGETS(X)                                                                       \
  X(BUDGET_SIGNUPS_PER_ADDRESS, "signups_per_address", CHAT_SIGNUPS_PER_ADDRESS, CHAT_BUDGET_WINDOW_MS, 0, \
    "Too many accounts were made from your address in the last hour. Try again later.")      \
  X(BUDGET_ROOMS_PER_ACCOUNT, "rooms_per_account", CHAT_ROOMS_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, 0,       \
    "You have made as many rooms as you may in an hour. Try again later.")                   \
  X(BUDGET_ROOMS_PER_ADDRESS, "rooms_per_address", CHAT_ROOMS_PER_ADDRESS, CHAT_BUDGET_WINDOW_MS, 0,       \
    "Too many rooms were made from your address in the last hour. Try again later.")          \
  X(BUDGET_FRIEND_ACTIONS, "friend_actions_per_account", CHAT_FRIEND_ACTIONS, CHAT_BUDGET_WINDOW_MS, 0,    \
    "You have sent, answered or withdrawn too many friend requests in the last hour. Try again later.") \
  X(BUDGET_FRIENDS, "friends", CHAT_FRIENDS_MAX, 0, 0,                                         \
    "One of you already has as many friends as anyone may have.")                            \
  X(BUDGET_PENDING_REQUESTS, "pending_requests", CHAT_PENDING_REQUESTS_MAX, 0, 0,              \
    "You have too many friend requests waiting for an answer. Withdraw some first.")         \
  X(BUDGET_BLOCKS, "blocks", CHAT_BLOCKS_MAX, 0, 0,                                            \
    "You block as many people as anyone may. Unblock someone first.")                        \
  X(BUDGET_SOCKETS, "sockets_per_account", CHAT_USER_SOCKETS_MAX, 0, 0,                        \
    "Your account has too many open connections. Close some tabs or devices.")              \
  X(BUDGET_SOCKET_OPENS, "socket_opens_per_account", CHAT_SOCKET_OPENS_PER_MINUTE, 60000.0, CHAT_SOCKET_OPENS_BURST,  \
    "Your account opened too many connections just now. Wait a moment.")                     \
  X(BUDGET_PASSWORD_CHECKS, "password_checks_per_account", CHAT_PASSWORD_CHECKS_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, \
    CHAT_PASSWORD_CHECKS_BURST, "Your account signed in or changed its password too many times just now. Try again later.") \
  X(BUDGET_ROOM_INVITES, "room_invites_per_account", CHAT_ROOM_INVITES_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, 0,          \
    "You have invited people to rooms too many times in the last hour. Try again later.")     \
  X(BUDGET_PROFILE_CHANGES, "profile_changes_per_account", CHAT_PROFILE_CHANGES_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, 0, \
    "You have changed your profile too many times in the last hour. Try again later.")        \
  X(BUDGET_UPLOADS, "uploads_per_account", CHAT_UPLOADS_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, 0,                        \
    "You have uploaded too many files in the last hour. Try again later.")                   \
  X(BUDGET_SEARCHES, "searches_per_account", CHAT_SEARCHES_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, CHAT_SEARCHES_BURST,    \
    "You have searched too often just now. Wait a moment.")                                  \
  X(BUDGET_EXPORTS, "exports_per_account", CHAT_EXPORTS_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS, 0,                        \
    "You have exported your account too many times in the last hour. Try again later.")

typedef enum {
#define BUDGET_ENUM(sym, name, limit, window, burst, message) sym,
  CHAT_BUDGETS(BUDGET_ENUM)
#undef BUDGET_ENUM
  BUDGET_COUNT
} budget;

/* A rate budget's counter for one subject: uses in the window that started at
 * window_start (ms since the Unix epoch). With a burst (GCRA), window_start is the
 * theoretical arrival time instead (when the next use is due; the bucket is empty
 * once it is past) and count the uses it is ahead of now, rounded up. {0, 0} for a
 * subject never seen. */
typedef struct {
  double count;
  double window_start;
} budget_counter;

/* The budget named `name` (NUL-terminated), or -1. */
int budget_parse(const char *name);

/* The wire name, limit, window (0 for a count budget) and burst (0 for a fixed
 * window) of b. */
const char *budget_name(budget b);
int64_t budget_limit(budget b);
double budget_window_ms(budget b);
int64_t budget_burst(budget b);

/* One use of rate budget b at now_ms, with the limit multiplied by `scale` (1 in
 * production; load and end-to-end tests, whose clients all come from one loopback
 * address, raise it through the CHAT_BUDGET_SCALE variable, which wrangler.toml
 * never sets; it multiplies a burst too). CHAT_OK: *c is the counter to store (one
 * more use; a new window when the old one ended). CHAT_E_LIMIT_REACHED: the window
 * (or the burst) is used up; *c is unchanged and *retry_after_ms is when one more
 * use fits. CHAT_E_FIELD_TYPE for a count
 * budget or a scale below 1. */
int budget_spend(budget b, int64_t scale, budget_counter *c, double now_ms, double *retry_after_ms);

/* Whether one more fits in count budget b when `held` are held: CHAT_OK or
 * CHAT_E_LIMIT_REACHED. CHAT_E_FIELD_TYPE for a rate budget. */
int budget_allows(budget b, int64_t held);

#endif
