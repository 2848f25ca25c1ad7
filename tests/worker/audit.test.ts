// The moderation log's hash chain in the shell (worker/audit.ts) against real D1:
// verification reads each row once, in keyset pages, so its D1 queries and its
// time grow linearly with the log; appends race safely; rows written without a
// hash are sealed in order. (The chain's rules are tested in C: tests/c/test_audit.c.)
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { appendLog, sealTail, verifyLog, type LogEntry } from "../../worker/audit";
import { CoreHost } from "../../worker/core";
import { LIMITS } from "../../worker/generated/core";
import { signup } from "./helpers";

const core = new CoreHost();

const entry = (target: number, i: number): LogEntry => ({
  action: (["ban", "unban", "promote"] as const)[i % 3]!, target_id: target, actor_id: null,
  reason: `reason ${i}`, ip: 0, ips: null, created_at: 1_700_000_000_000 + i,
});

/** Appends n rows directly, LIMITS.auditPageRows to a batch, each linked to the one before. */
async function grow(target: number, n: number) {
  let head = await sealTail(core, env.DB);
  for (let done = 0; done < n;) {
    const batch = [];
    for (; done < n && batch.length < LIMITS.auditPageRows; done++) {
      const row = { id: head.id + 1, ...entry(target, head.id) };
      const { hash } = core.call<{ hash: string }>("audit_link", undefined, { prev: head.hash, row });
      batch.push(env.DB.prepare(`INSERT INTO moderation_log (id, action, target_id, actor_id, reason, ip, ips, created_at, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(row.id, row.action, row.target_id, row.actor_id, row.reason, row.ip,
        row.ips, row.created_at, hash));
      head = { id: row.id, hash };
    }
    await env.DB.batch(batch);
  }
}

/** D1 that counts the statements prepared on it. */
function counted(db: D1Database) {
  const c = { queries: 0, db: Object.create(db) as D1Database };
  c.db.prepare = (q: string) => { c.queries++; return db.prepare(q); };
  return c;
}

/** verifyLog's verdict, its D1 queries and its best time of three, in ms. */
async function measure() {
  let best = Infinity;
  let queries = 0;
  let verdict;
  for (let run = 0; run < 3; run++) {
    const c = counted(env.DB);
    const t0 = performance.now();
    verdict = await verifyLog(core, c.db);
    best = Math.min(best, performance.now() - t0);
    queries = c.queries;
  }
  return { verdict: verdict!, queries, ms: best };
}

describe("the moderation log's chain", () => {
  it("is verified in linear time: one keyset page per LIMITS.auditPageRows rows", async () => {
    const target = (await signup("audit")).user.id;
    const before = ((await verifyLog(core, env.DB)) as { rows: number }).rows;
    await grow(target, 1000 - before);
    const small = await measure();
    expect(small.verdict).toMatchObject({ ok: true, rows: 1000 });
    await grow(target, 7000);
    const big = await measure();
    expect(big.verdict).toMatchObject({ ok: true, rows: 8000, head_id: 8000 });
    // Each row read once: a page per auditPageRows rows, and the empty page that ends.
    expect(small.queries).toBe(1000 / LIMITS.auditPageRows + 1);
    expect(big.queries).toBe(8000 / LIMITS.auditPageRows + 1);
    // 8 times the rows, about 8 times the time (a quadratic walk would take 64 times;
    // the bound leaves room for a busy machine). Workers freeze the clock between
    // I/O, so these times are D1's and the core's as the isolate saw them.
    console.log(`verify: 1000 rows ${small.ms.toFixed(0)} ms, 8000 rows ${big.ms.toFixed(0)} ms`);
    expect(big.ms).toBeLessThan(Math.max(20 * small.ms, 50));
  }, 120_000);

  it("takes concurrent appends one after the other, each linked to the one before", async () => {
    const target = (await signup("audit")).user.id;
    const head = await sealTail(core, env.DB);
    const rows = await Promise.all(Array.from({ length: 6 }, (_, i) => appendLog(core, env.DB, entry(target, i))));
    expect(rows.map((r) => r.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6].map((k) => head.id + k));
    expect(await verifyLog(core, env.DB)).toMatchObject({ ok: true, head_id: head.id + 6 });
  });

  it("seals rows written without a hash, in order, before the next append", async () => {
    const target = (await signup("audit")).user.id;
    const head = await sealTail(core, env.DB);
    for (let i = 1; i <= 3; i++) {
      await env.DB.prepare(`INSERT INTO moderation_log (id, action, target_id, actor_id, reason, created_at)
        VALUES (?, 'promote', ?, NULL, 'make admin', ?)`).bind(head.id + i, target, 1_700_000_000_000 + i).run();
    }
    expect(await verifyLog(core, env.DB)).toMatchObject({ ok: true, head_id: head.id + 3, unsealed: 3 });
    const row = await appendLog(core, env.DB, entry(target, 4));
    expect(row.id).toBe(head.id + 4);
    const unsealed = await env.DB.prepare("SELECT count(*) AS n FROM moderation_log WHERE hash IS NULL").first<{ n: number }>();
    expect(unsealed!.n).toBe(0);
    const verdict = await verifyLog(core, env.DB);
    expect(verdict).toMatchObject({ ok: true, head_id: head.id + 4, head: row.hash });
    expect(verdict).not.toHaveProperty("unsealed");
  });

  it("refuses to change a sealed row, or to seal a row twice", async () => {
    const { id } = await sealTail(core, env.DB);
    await expect(env.DB.prepare("UPDATE moderation_log SET reason = 'x' WHERE id = ?").bind(id).run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare(`UPDATE moderation_log SET hash = '${"0".repeat(64)}' WHERE id = ?`).bind(id).run())
      .rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM moderation_log WHERE id = ?").bind(id).run()).rejects.toThrow(/append-only/);
  });
});
