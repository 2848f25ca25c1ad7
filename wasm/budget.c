#include "budget.h"

#include <string.h>

#include "chat_error.h"

static const struct {
  const char *name;
  int64_t limit;
  double window_ms;
} budgets[BUDGET_COUNT] = {
#define BUDGET_ROW(sym, name, limit, window, message) {name, (limit), (window)},
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

int budget_spend(budget b, int64_t scale, budget_counter *c, double now_ms, double *retry_after_ms) {
  double window = budgets[b].window_ms;
  if (window <= 0 || scale < 1) return CHAT_E_FIELD_TYPE;
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
