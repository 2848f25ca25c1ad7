#include "budget.h"

#include <string.h>

#include "chat_error.h"

static const struct {
  const char *name;
  int64_t limit;
  double window_ms;
  int64_t burst;
} budgets[BUDGET_COUNT] = {
#define BUDGET_ROW(sym, name, limit, window, burst, message) {name, (limit), (window), (burst)},
    CHAT_BUDGETS(BUDGET_ROW)
#undef BUDGET_ROW
};

int budget_parse(const char *name) {
  for (int b = 0; b < BUDGET_COUNT; b++)
    if (strcmp(name, budgets[b].name) == 0) return b;
  return -1;
}

const char *budget_name(budget b) { return budgets[b].name; }
int64_t budget_limit(budget b) { return budgets[b].limit; }
double budget_window_ms(budget b) { return budgets[b].window_ms; }
int64_t budget_burst(budget b) { return budgets[b].burst; }

/* GCRA (budget.h): c->window_start is the theoretical arrival time. Times are
 * compared to the millisecond, the clock's unit: a burst's sum of intervals, added
 * to an epoch time in floating point, carries rounding far below it. */
static int spend_spread(budget b, int64_t scale, budget_counter *c, double now_ms, double *retry_after_ms) {
  const double slack = 1.0;
  double interval = budgets[b].window_ms / ((double)budgets[b].limit * (double)scale);
  double tolerance = (double)(budgets[b].burst * scale - 1) * interval;
  double tat = c->window_start > now_ms ? c->window_start : now_ms;
  /* A time further ahead than any burst leaves (a clock gone back) starts afresh. */
  if (tat > now_ms + tolerance + interval + slack) tat = now_ms;
  if (tat - now_ms > tolerance + slack) {
    *retry_after_ms = tat - tolerance - now_ms;
    return CHAT_E_LIMIT_REACHED;
  }
  c->window_start = tat + interval;
  c->count = (double)(int64_t)((c->window_start - now_ms) / interval + 0.999);
  return CHAT_OK;
}

int budget_spend(budget b, int64_t scale, budget_counter *c, double now_ms, double *retry_after_ms) {
  double window = budgets[b].window_ms;
  if (window <= 0 || scale < 1) return CHAT_E_FIELD_TYPE;
  if (budgets[b].burst > 0) return spend_spread(b, scale, c, now_ms, retry_after_ms);
  /* A window that ended (or a clock that went back past it) starts a new one. */
  if (now_ms >= c->window_start + window || now_ms < c->window_start) {
    *c = (budget_counter){1, now_ms};
    return CHAT_OK;
  }
  if (c->count >= (double)budgets[b].limit * (double)scale) {
    *retry_after_ms = c->window_start + window - now_ms;
    return CHAT_E_LIMIT_REACHED;
  }
  c->count += 1;
  return CHAT_OK;
}

int budget_allows(budget b, int64_t held) {
  if (budgets[b].window_ms > 0) return CHAT_E_FIELD_TYPE;
  return held < budgets[b].limit ? CHAT_OK : CHAT_E_LIMIT_REACHED;
}
