-- Rate budgets (issue 13, wasm/budget.h): one counter per budget and subject, e.g.
-- "signups_per_address:203.0.113.9" or "rooms_per_account:42". The core decides
-- each use (fixed windows of CHAT_BUDGET_WINDOW_MS); the Worker stores its answer
-- with a compare-and-swap on (count, window_start), so concurrent uses cannot pass
-- a limit. A counter whose window ended is simply restarted by its next use.
-- Append-only: never edit once landed.

CREATE TABLE budget_counters (
  key          TEXT    PRIMARY KEY,           -- "<budget>:<subject>"
  count        INTEGER NOT NULL,              -- uses in the window
  window_start INTEGER NOT NULL               -- ms since the Unix epoch
);
