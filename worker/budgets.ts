/**
 * Budgets: what one client may make the service hold or do (wasm/budget.h; the
 * list is BUDGETS in the generated protocol, the table is PROTOCOL.md "Limits").
 * The core decides; this file reads and stores the counters. Past a budget the
 * answer is 429 limit_reached naming the budget ({"budget", "limit"}), with
 * Retry-After for a rate.
 */
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import type { Env } from "./env";
import { BUDGETS, LIMITS, type BudgetName } from "./generated/core";
import { isolateCache } from "./isolate-cache";

type Counter = { count: number; window_start: number };
type Answer =
  | { allowed: true; counter?: Counter; ceiling?: number }
  | { allowed: false; budget: BudgetName; limit: number; retry_after_ms: number | null };

/** The error a refused budget answers with. */
export class LimitReached extends CoreError {
  /** Retry-After, in whole seconds (RFC 9110 section 10.2.3), for a rate. */
  readonly retryAfter?: number;
  /** The same, in ms as the counter gave it (0 without a Retry-After). */
  readonly retryAfterMs: number;
  constructor(readonly budget: BudgetName, readonly limit: number, retryAfterMs: number | null) {
    super("limit_reached");
    this.retryAfterMs = retryAfterMs ?? 0;
    if (retryAfterMs !== null) this.retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  }
}

function refuse(a: Extract<Answer, { allowed: false }>): never {
  throw new LimitReached(a.budget, a.limit, a.retry_after_ms);
}

/** Whether one more fits a count budget when `held` are held; throws LimitReached. */
export function allow(core: CoreHost, budget: BudgetName, held: number): void {
  const a = core.call<Answer>("budget", undefined, { budget, held });
  if (!a.allowed) refuse(a);
}

/**
 * Rate budgets refused lately, per isolate: key (a budget and its subject, or a
 * session's token hash) -> the budget, its limit and when its window ends. A
 * client that retries while refused is refused again from here, with the same
 * Retry-After, at the cost of a map lookup: no D1 query, no RPC, no storage write
 * (a signup script at 150 requests a second, or a socket loop). Only a refusal is
 * remembered, never an allowance, and never past the time its counter gave, so a
 * refusal here is one the counter would give too (each entry lives until then).
 */
const refused = isolateCache<string, { budget: BudgetName; limit: number; until: number }>();

/** Throws the refusal remembered for `key` while it holds. */
export function refusedLately(key: string): void {
  const r = refused.get(key);
  const left = r ? r.until - Date.now() : 0;
  if (r && left > 0) throw new LimitReached(r.budget, r.limit, left);
}

/** Remembers a rate refusal (one with a Retry-After) for `key`, then rethrows `e`. */
export function rememberRefusal(key: string, e: LimitReached): never {
  if (e.retryAfter !== undefined && e.retryAfterMs > 0) {
    refused.set(key, { budget: e.budget, limit: e.limit, until: Date.now() + e.retryAfterMs }, { ttl: e.retryAfterMs });
  }
  throw e;
}

/** The key of a rate budget's subject, in `refused` and in budget_counters. */
export const budgetKey = (budget: BudgetName, subject: string | number) => `${budget}:${subject}`;

/**
 * One use of a rate budget by `subject` (an address, an account id), counted
 * before the work it pays for; throws LimitReached. D1 runs one statement at a time
 * and has no interactive transactions, so the core's answer is stored atomically:
 * within the window the counter is in, as "count + 1 while below the core's
 * ceiling" (concurrent uses never conflict); a new window (or a new subject) with a
 * compare-and-swap, read again and asked again when another use got there first,
 * at most LIMITS.loginReserveTries times, then refused for a second.
 */
export async function spend(core: CoreHost, env: Pick<Env, "DB" | "CHAT_BUDGET_SCALE">, budget: BudgetName,
                            subject: string | number): Promise<void> {
  const db = env.DB;
  const scale = Number(env.CHAT_BUDGET_SCALE ?? 1);
  const key = budgetKey(budget, subject);
  refusedLately(key);
  for (let i = 0; i < LIMITS.loginReserveTries; i++) {
    const old = await db.prepare("SELECT count, window_start FROM budget_counters WHERE key = ?").bind(key).first<Counter>();
    const a = core.call<Answer>("budget", undefined, { budget, scale, counter: old ?? { count: 0, window_start: 0 } }, Date.now());
    if (!a.allowed) rememberRefusal(key, new LimitReached(a.budget, a.limit, a.retry_after_ms));
    const next = a.counter!;
    const stored = old && old.window_start === next.window_start
      ? await db.prepare(`UPDATE budget_counters SET count = count + 1
                          WHERE key = ?1 AND window_start = ?2 AND count < ?3`)
        .bind(key, next.window_start, a.ceiling!).run()
      : old
        ? await db.prepare(`UPDATE budget_counters SET count = ?1, window_start = ?2
                            WHERE key = ?3 AND count = ?4 AND window_start = ?5`)
          .bind(next.count, next.window_start, key, old.count, old.window_start).run()
        : await db.prepare("INSERT INTO budget_counters (key, count, window_start) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
          .bind(key, next.count, next.window_start).run();
    if (stored.meta.changes === 1) return;
  }
  throw new LimitReached(budget, BUDGETS[budget].limit, 1000);
}

/**
 * One use of a rate budget counted in a Durable Object's own storage (its
 * `budget_counters` table, made here if missing). An object runs one event at a
 * time and `sql.exec` is synchronous, so the read and the write cannot interleave
 * with another use: no swap is needed. Throws LimitReached.
 */
export function spendHere(core: CoreHost, sql: SqlStorage, scaleVar: string | undefined, budget: BudgetName,
                          subject: string | number): void {
  const key = budgetKey(budget, subject);
  const next = checkHere(core, sql, scaleVar, budget, subject);
  sql.exec(`INSERT INTO budget_counters (key, count, window_start) VALUES (?1, ?2, ?3)
            ON CONFLICT (key) DO UPDATE SET count = ?2, window_start = ?3`, key, next.count, next.window_start);
}

/** The objects' storages whose budget_counters table exists. */
const madeCounters = new WeakSet<SqlStorage>();

/** An object's storage was emptied (deleteAll): its budget_counters table is made
 * again at the next check. */
export function countersDropped(sql: SqlStorage): void {
  madeCounters.delete(sql);
}

/** spendHere without storing the use: throws LimitReached if it would not fit,
 * else answers the counter the use would leave. */
export function checkHere(core: CoreHost, sql: SqlStorage, scaleVar: string | undefined, budget: BudgetName,
                          subject: string | number): Counter {
  // Made once per object instance, not at every check (a schema statement each time).
  if (!madeCounters.has(sql)) {
    sql.exec("CREATE TABLE IF NOT EXISTS budget_counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, window_start INTEGER NOT NULL)");
    madeCounters.add(sql);
  }
  const key = budgetKey(budget, subject);
  const old = sql.exec<Counter>("SELECT count, window_start FROM budget_counters WHERE key = ?", key).toArray()[0];
  const a = core.call<Answer>("budget", undefined,
    { budget, scale: Number(scaleVar ?? 1), counter: old ?? { count: 0, window_start: 0 } }, Date.now());
  if (!a.allowed) refuse(a);
  return a.counter!;
}
