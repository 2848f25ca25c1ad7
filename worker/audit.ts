/**
 * The moderation log as a hash chain (wasm/audit.h; README "Moderation"): every
 * row of moderation_log is written with its hash, which the core computes from the
 * hash of the row before and the row's own content, and GET /bans/verify has the
 * core walk the whole log and name the first row where the chain breaks. This
 * file reads and writes D1 in pages; the core hashes and judges.
 *
 * D1 has no interactive transactions, so an append is a compare-and-swap on the
 * row's id: each row names its id (the head's + 1) and is linked to the head's
 * hash, so of two concurrent appends one takes the id and the other fails on the
 * primary key, reads the new head and tries again.
 */
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import { LIMITS } from "./generated/core";

/** A moderation_log row, as stored and as the core hashes it. */
export interface LogEntry {
  action: "ban" | "unban" | "promote";
  target_id: number;
  /** null: written by `make admin` */
  actor_id: number | null;
  reason: string | null;
  /** 1 when the ban covered the user's addresses */
  ip: number;
  /** the addresses a ban covered, as JSON text (null for unbans and promotions) */
  ips: string | null;
  created_at: number;
}
type LogRow = LogEntry & { id: number; hash: string | null };

/** What the core answers when it verifies the log (api.h CHAT_OP_AUDIT_VERIFY). */
export type Verdict =
  | { ok: true; rows: number; head: string | null; head_id: number | null; unsealed?: number }
  | { ok: false; broken_at: number; why: string };

// The hashed columns in their canonical order (audit.h), then the hash.
const COLUMNS = "id, action, target_id, actor_id, reason, ip, ips, created_at, hash";
// The last sealed row; on an intact log a backward walk of the primary key that
// stops at the first row (or after the few unsealed ones at the end).
const LAST_SEALED = "SELECT id FROM moderation_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1";

const entry = ({ hash: _, ...row }: LogRow) => row;

/**
 * Seals the rows at the end of the log that have no hash yet (rows from before
 * migration 0008, or written outside the Worker), in order, and returns the head:
 * the last row's id and hash (0 and null for an empty log). Sealing is
 * deterministic, so two concurrent sealers store the same hashes. An unsealed row
 * before a sealed one is left alone: verification reports it.
 */
export async function sealTail(core: CoreHost, db: D1Database): Promise<{ id: number; hash: string | null }> {
  for (;;) {
    const [last, tail] = await db.batch<LogRow>([
      db.prepare(`SELECT ${COLUMNS} FROM moderation_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1`),
      db.prepare(`SELECT ${COLUMNS} FROM moderation_log WHERE id > coalesce((${LAST_SEALED}), 0) ORDER BY id LIMIT ?`)
        .bind(LIMITS.auditPageRows),
    ]);
    const sealed = last!.results[0];
    let head = { id: sealed?.id ?? 0, hash: sealed?.hash ?? null };
    const rows = tail!.results;
    if (rows.length === 0) return head;
    const seals = rows.map((row) => {
      const { hash } = core.call<{ hash: string }>("audit_link", undefined, { prev: head.hash, row: entry(row) });
      head = { id: row.id, hash };
      return db.prepare("UPDATE moderation_log SET hash = ? WHERE id = ? AND hash IS NULL").bind(hash, row.id);
    });
    await db.batch(seals);
    if (rows.length < LIMITS.auditPageRows) return head;
  }
}

/**
 * Appends a row to the log, linked to the head, in one D1 batch (a transaction)
 * with `alongside`, the statements the logged action makes (the ban itself...):
 * the action and its record are stored together or not at all. Retries a lost
 * race (another append took the id) up to LIMITS.auditAppendTries times; any other
 * failure is thrown. Returns the stored row.
 */
export async function appendLog(core: CoreHost, db: D1Database, log: LogEntry,
                                alongside: D1PreparedStatement[] = []): Promise<LogRow> {
  for (let i = 0; i < LIMITS.auditAppendTries; i++) {
    const head = await sealTail(core, db);
    const row = { id: head.id + 1, ...log };
    const { hash } = core.call<{ hash: string }>("audit_link", undefined, { prev: head.hash, row });
    try {
      await db.batch([...alongside,
        db.prepare(`INSERT INTO moderation_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .bind(row.id, row.action, row.target_id, row.actor_id, row.reason, row.ip, row.ips, row.created_at, hash)]);
      return { ...row, hash };
    } catch (e) {
      const now = await db.prepare("SELECT max(id) AS id FROM moderation_log").first<{ id: number | null }>();
      if ((now?.id ?? 0) === head.id) throw e; // not a lost race
    }
  }
  throw new CoreError("internal");
}

/**
 * Walks the whole log in id order, LIMITS.auditPageRows rows per D1 query (a
 * keyset page, so each row is read once), and has the core check every row's
 * hash; `anchor` is a head kept elsewhere that the log must still contain. Returns
 * the core's verdict: {ok: true, rows, head, head_id} or {ok: false, broken_at, why}.
 */
export async function verifyLog(core: CoreHost, db: D1Database,
                                anchor: { id: number; hash: string } | null = null): Promise<Verdict> {
  let state: unknown = null;
  let after = 0;
  for (;;) {
    const { results: rows } = await db.prepare(`SELECT ${COLUMNS} FROM moderation_log WHERE id > ? ORDER BY id LIMIT ?`)
      .bind(after, LIMITS.auditPageRows).all<LogRow>();
    const end = rows.length < LIMITS.auditPageRows;
    // Each row as its own JSON text: a row the core cannot read is then a broken
    // row, not a failed page (wasm/audit.h).
    const answer = core.call<Verdict | { ok: true; state: unknown }>("audit_verify", undefined,
      { state, anchor: state === null ? anchor : null, rows: rows.map((r) => JSON.stringify(r)), end });
    if (!("state" in answer)) return answer;
    state = answer.state;
    after = rows[rows.length - 1]!.id;
  }
}
