/*
 * budget.h -- what one client may make the service hold or do (issue 13).
 *
 * Every resource a client can make the service keep (accounts, rooms, friends,
 * requests, blocks, sockets) or spend work on has a budget here, a named limit
 * of chat_limits.h. Two kinds:
 *
 * - A rate: at most `limit` uses in a fixed window of `window_ms` per subject (an
 *   address, an account). The shell keeps one counter per subject (D1's
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

/* X(symbol, wire name, limit, window in ms: 0 for a count, a sentence for people) */
#define CHAT_BUDGETS(X)                                                                       \
  X(BUDGET_SIGNUPS_PER_ADDRESS, "signups_per_address", CHAT_SIGNUPS_PER_ADDRESS, CHAT_BUDGET_WINDOW_MS, \
    "Too many accounts were made from your address in the last hour. Try again later.")      \
  X(BUDGET_ROOMS_PER_ACCOUNT, "rooms_per_account", CHAT_ROOMS_PER_ACCOUNT, CHAT_BUDGET_WINDOW_MS,       \
    "You have made as many rooms as you may in an hour. Try again later.")                   \
  X(BUDGET_ROOMS_PER_ADDRESS, "rooms_per_address", CHAT_ROOMS_PER_ADDRESS, CHAT_BUDGET_WINDOW_MS,       \
    "Too many rooms were made from your address in the last hour. Try again later.")          \
  X(BUDGET_FRIEND_ACTIONS, "friend_actions_per_account", CHAT_FRIEND_ACTIONS, CHAT_BUDGET_WINDOW_MS,    \
    "You have sent, answered or withdrawn too many friend requests in the last hour. Try again later.") \
  X(BUDGET_FRIENDS, "friends", CHAT_FRIENDS_MAX, 0,                                          \
    "One of you already has as many friends as anyone may have.")                            \
  X(BUDGET_PENDING_REQUESTS, "pending_requests", CHAT_PENDING_REQUESTS_MAX, 0,               \
    "You have too many friend requests waiting for an answer. Withdraw some first.")         \
  X(BUDGET_BLOCKS, "blocks", CHAT_BLOCKS_MAX, 0,                                             \
    "You block as many people as anyone may. Unblock someone first.")                        \
  X(BUDGET_SOCKETS, "sockets_per_account", CHAT_USER_SOCKETS_MAX, 0,                         \
    "Your account has too many open connections. Close some tabs or devices.")              \
  X(BUDGET_SOCKET_OPENS, "socket_opens_per_account", CHAT_SOCKET_OPENS_PER_MINUTE, 60000.0,  \
    "Your account opened too many connections in the last minute. Wait a moment.")

typedef enum {
#define BUDGET_ENUM(sym, name, limit, window, message) sym,
  CHAT_BUDGETS(BUDGET_ENUM)
#undef BUDGET_ENUM
  BUDGET_COUNT
} budget;

/* A rate budget's counter for one subject: uses in the window that started at
 * window_start (ms since the Unix epoch). {0, 0} for a subject never seen. */
typedef struct {
  double count;
  double window_start;
} budget_counter;

/* The budget named `name` (NUL-terminated), or -1. */
int budget_parse(const char *name);

/* The wire name, limit and window (0 for a count budget) of b. */
const char *budget_name(budget b);
int64_t budget_limit(budget b);
double budget_window_ms(budget b);

/* One use of rate budget b at now_ms, with the limit multiplied by `scale` (1 in
 * production; load and end-to-end tests, whose clients all come from one loopback
 * address, raise it through the CHAT_BUDGET_SCALE variable, which wrangler.toml
 * never sets). CHAT_OK: *c is the counter to store (one more use; a new window
 * when the old one ended). CHAT_E_LIMIT_REACHED: the window is used up; *c is
 * unchanged and *retry_after_ms is when it ends. CHAT_E_FIELD_TYPE for a count
 * budget or a scale below 1. */
int budget_spend(budget b, int64_t scale, budget_counter *c, double now_ms, double *retry_after_ms);

/* Whether one more fits in count budget b when `held` are held: CHAT_OK or
 * CHAT_E_LIMIT_REACHED. CHAT_E_FIELD_TYPE for a rate budget. */
int budget_allows(budget b, int64_t held);

#endif
