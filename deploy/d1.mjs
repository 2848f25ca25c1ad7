// SQL on the D1 database `DB` with `wrangler d1 execute`, for the project's tools
// (deploy/audit.mjs: make admin, make audit-verify) and the end-to-end tests that
// read a running stack's database as an operator would.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { LIMITS } = await import(path.join(root, "worker/generated/core.js"));

// A local `wrangler d1 execute` opens the same SQLite file as a running `wrangler
// dev`, and SQLite answers SQLITE_BUSY at once (no busy timeout) while the dev
// server holds the write lock, even to a read. One call's statements are one
// transaction, so a busy call wrote nothing and is tried again: full jitter over
// the client's reconnect backoff (LIMITS.reconnectBaseMs doubling to
// reconnectCapMs; AWS Architecture Blog, "Exponential Backoff and Jitter", 2015),
// at most BUSY_TRIES calls. A deployed D1 has no second process on its file.
const BUSY_TRIES = 12;
const busy = (err) => /SQLITE_BUSY|database is locked/.test(`${err.stderr ?? ""}${err.stdout ?? ""}`);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Runs `sql` (one or more statements, `;`-separated, one transaction) with
 * `wrangler d1 execute DB <flags> --json --command`, synchronously. `flags` are
 * wrangler's: --local or --remote, --env ENV, --persist-to DIR; `env` the
 * environment for wrangler (process.env when absent). Returns each statement's
 * rows, in order. Tries again while a local dev server holds the database
 * (SQLITE_BUSY); throws wrangler's failure (with its stderr) otherwise.
 */
export function d1Execute(flags, sql, env = process.env) {
  const wrangler = env.WRANGLER || path.join(root, "node_modules/.bin/wrangler");
  for (let attempt = 1; ; attempt++) {
    try {
      const stdout = execFileSync(wrangler, ["d1", "execute", "DB", ...flags, "--json", "--command", sql], {
        cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30,
      });
      return JSON.parse(stdout).map((r) => r.results);
    } catch (err) {
      if (!busy(err) || attempt === BUSY_TRIES) throw err;
      sleep(Math.random() * Math.min(LIMITS.reconnectCapMs, LIMITS.reconnectBaseMs * 2 ** attempt));
    }
  }
}
