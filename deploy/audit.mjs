#!/usr/bin/env node
// The moderation log's hash chain from the command line (README "Moderation"),
// against a local state directory or, with --remote, a deployed D1 database. It
// reads and writes with `wrangler d1 execute`, and has the chat core hash and
// judge: build/chat.wasm, the same module the Worker runs (wasm/audit.h).
//
//   node deploy/audit.mjs verify [--anchor FILE] [D1 flags]     make audit-verify
//     Walks the whole log and prints {"ok": true, "rows", "head", "head_id"} (and
//     "unsealed": k when k rows at the end have no hash yet), or
//     {"ok": false, "broken_at", "why"} and exits 1. With --anchor, the log must
//     still hold the head recorded in FILE (the output of `head`).
//   node deploy/audit.mjs head [D1 flags]                       make audit-head
//     Verifies, then prints the head to keep elsewhere: {"id", "hash", "rows",
//     "exported_at"}.
//   node deploy/audit.mjs promote USERNAME_KEY [D1 flags]       make admin
//     Makes the user an ADMIN and appends the promotion to the log, sealed (and
//     first seals rows written without a hash), as the Worker appends.
//
// D1 flags are wrangler's: --local (default) or --remote, --env ENV, --persist-to DIR.
// Read-only: verify and head never write, so a read-only API token is enough.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
// d1(flags, sql): each statement's rows; a local dev server's lock is waited out.
import { d1Execute as d1 } from "./d1.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const generated = await import(path.join(root, "worker/generated/core.js"));
const { LIMITS, OPS, ERRORS } = generated;

// ---- the chat core in Node (as worker/core.ts hosts it in the Worker) ----------

const CODE_BY_NUM = new Map(Object.entries(ERRORS).map(([name, e]) => [e.num, name]));

function loadCore() {
  const module = new WebAssembly.Module(readFileSync(path.join(root, "build/chat.wasm")));
  let memory;
  const instance = new WebAssembly.Instance(module, {
    env: {
      host_random(ptr, len) { crypto.getRandomValues(new Uint8Array(memory.buffer, ptr, len)); },
      emscripten_notify_memory_growth() {},
    },
    wasi_snapshot_preview1: { proc_exit(code) { throw new Error(`core called proc_exit(${code})`); } },
  });
  const x = instance.exports;
  memory = x.memory;
  x._initialize();
  if (x.chat_init() < 0) throw new Error("chat core: init failed");
  const outLen = x.chat_alloc(4);
  let cap = LIMITS.coreOutInitialBytes;
  let out = x.chat_alloc(cap);
  /** One core operation with `aux` as its facts; the parsed answer, or throws the
   * error code's name. */
  return function call(op, aux) {
    const bytes = new TextEncoder().encode(JSON.stringify(aux));
    const p = x.chat_alloc(bytes.length);
    new Uint8Array(memory.buffer, p, bytes.length).set(bytes);
    try {
      for (;;) {
        const rc = x.chat_call(OPS[op], 0, 0, p, bytes.length, Date.now(), out, cap, outLen);
        const n = new DataView(memory.buffer).getUint32(outLen, true);
        if (rc >= 0) return JSON.parse(new TextDecoder().decode(new Uint8Array(memory.buffer, out, n)));
        if (CODE_BY_NUM.get(rc) !== "buffer_too_small") throw new Error(`chat core: ${CODE_BY_NUM.get(rc) ?? rc}`);
        x.chat_dealloc(out);
        out = x.chat_alloc(n);
        cap = n;
      }
    } finally {
      x.chat_dealloc(p);
    }
  };
}

// ---- D1 through wrangler --------------------------------------------------------

// The hashed columns in their canonical order (wasm/audit.h), then the hash.
const COLUMNS = "id, action, target_id, actor_id, reason, ip, ips, created_at, hash";
const LAST_SEALED = "SELECT id FROM moderation_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1";
// Rows per wrangler call: each call costs seconds, so many; the core still gets
// them in pages of LIMITS.auditPageRows.
const READ_ROWS = 20 * LIMITS.auditPageRows;

/** SQL text of a value: integers, NULL, or a quoted string. */
const sql = (v) => (v === null ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);

function verify(call, flags, anchor) {
  let state = null;
  let after = 0;
  for (;;) {
    const [rows] = d1(flags, `SELECT ${COLUMNS} FROM moderation_log WHERE id > ${after} ORDER BY id LIMIT ${READ_ROWS}`);
    for (let i = 0; i === 0 || i < rows.length; i += LIMITS.auditPageRows) {
      const page = rows.slice(i, i + LIMITS.auditPageRows);
      const end = rows.length < READ_ROWS && i + LIMITS.auditPageRows >= rows.length;
      const answer = call("audit_verify", { state, anchor: state === null ? anchor : null,
        rows: page.map((r) => JSON.stringify(r)), end });
      if (!("state" in answer)) return answer;
      state = answer.state;
    }
    after = rows[rows.length - 1].id;
  }
}

/** Seals the rows at the end of the log that have no hash (as worker/audit.ts
 * sealTail does) and appends a promotion of user `id`, sealed; the UPDATEs and the
 * INSERT go in one wrangler call (one batch). The INSERT names its id: a lost race
 * fails on the primary key, and this reads the new head and tries again. */
function promote(call, flags, key) {
  for (let attempt = 0; attempt < LIMITS.auditAppendTries; attempt++) {
    const [users, last, tail] = d1(flags, `SELECT id FROM users WHERE username_key = ${sql(key)};
      SELECT id, hash FROM moderation_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1;
      SELECT ${COLUMNS} FROM moderation_log WHERE id > coalesce((${LAST_SEALED}), 0) ORDER BY id`);
    if (users.length === 0) {
      console.error(`no user named ${key}`);
      process.exit(1);
    }
    let head = last[0] ?? { id: 0, hash: null };
    const statements = [];
    for (const { hash: _, ...row } of tail) {
      const { hash } = call("audit_link", { prev: head.hash, row });
      statements.push(`UPDATE moderation_log SET hash = ${sql(hash)} WHERE id = ${row.id} AND hash IS NULL`);
      head = { id: row.id, hash };
    }
    const row = { id: head.id + 1, action: "promote", target_id: users[0].id, actor_id: null, reason: "make admin",
      ip: 0, ips: null, created_at: Date.now() };
    const { hash } = call("audit_link", { prev: head.hash, row });
    statements.push(`INSERT INTO moderation_log (${COLUMNS}) VALUES (${[...Object.values(row), hash].map(sql).join(", ")})`,
      `UPDATE users SET role = 'ADMIN' WHERE id = ${users[0].id}`);
    try {
      d1(flags, statements.join(";\n"));
      return;
    } catch (err) {
      const [[now]] = d1(flags, "SELECT max(id) AS id FROM moderation_log");
      if ((now?.id ?? 0) === head.id) throw err; // nothing else was appended: a real failure
    }
  }
  throw new Error("the moderation log kept changing: try again");
}

const [command, ...rest] = process.argv.slice(2);
const key = command === "promote" ? rest.shift() : undefined;
let anchor = null;
const d1Flags = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--anchor") {
    const a = JSON.parse(readFileSync(rest[++i], "utf8"));
    anchor = { id: a.id, hash: a.hash };
  } else {
    d1Flags.push(rest[i]);
  }
}
if (!d1Flags.includes("--remote") && !d1Flags.includes("--local")) d1Flags.push("--local");

const call = loadCore();
if (command === "verify" || command === "head") {
  const verdict = verify(call, d1Flags, anchor);
  if (command === "head" && verdict.ok) {
    console.log(JSON.stringify({ id: verdict.head_id, hash: verdict.head, rows: verdict.rows,
      exported_at: new Date().toISOString() }, null, 1));
  } else {
    console.log(JSON.stringify(verdict));
  }
  process.exit(verdict.ok ? 0 : 1);
} else if (command === "promote" && key) {
  promote(call, d1Flags, key);
} else {
  console.error("usage: node deploy/audit.mjs verify [--anchor FILE] | head | promote USERNAME_KEY  [--local|--remote] [--env ENV] [--persist-to DIR]");
  process.exit(2);
}
