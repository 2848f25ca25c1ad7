// End-to-end: the audit trail's hash chain (wasm/audit.h) against `wrangler dev`.
// Bans, unbans and promotions go into moderation_log through the API and `make
// admin`; GET /bans/verify and `make audit-verify` check the chain; an operator
// rewrites, deletes and appends rows with `wrangler d1 execute` (dropping the
// append-only triggers first, as anyone with the database can), and verification
// names exactly the row where the chain breaks.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { post, requestFrom, signup, startStack, toolEnv } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

describe("the audit trail's hash chain", () => {
  let stack, admin, tmp;
  const users = [];

  /** SQL on the stack's D1, as an operator runs it: each statement's rows. */
  const d1 = (sql) => stack.d1(sql);
  /** The same SQL with the append-only triggers out of the way, and put back as they were. */
  let triggers;
  const tamper = (sql) => {
    triggers ??= d1("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'moderation_log'")[0];
    assert.equal(triggers.length, 2);
    d1(`${triggers.map((t) => `DROP TRIGGER ${t.name}`).join("; ")}; ${sql}; ${triggers.map((t) => t.sql).join("; ")}`);
  };
  /** `make audit-verify` (ANCHOR=file when given): its exit status and its JSON. */
  const makeVerify = (anchor) => {
    const r = spawnSync("make", ["-s", "audit-verify", `PERSIST=${stack.state}`, ...(anchor ? [`ANCHOR=${anchor}`] : [])],
      { cwd: root, env: toolEnv, encoding: "utf8" });
    assert.ok(r.stdout.trim(), `make audit-verify printed nothing: ${r.stderr}`);
    return { status: r.status, verdict: JSON.parse(r.stdout) };
  };
  const apiVerify = async (who = admin) => {
    const res = await fetch(`${stack.base}/bans/verify`, { headers: auth(who) });
    return { status: res.status, body: await res.json() };
  };
  const row = (id) => d1(`SELECT * FROM moderation_log WHERE id = ${id}`)[0][0];

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "chat-audit-"));
    stack = await startStack();
    admin = await signup(stack.base, "auditor");
    stack.makeAdmin(admin.user.username); // row 1
    for (let i = 0; i < 3; i++) users.push(await signup(stack.base, "member"));
    // users[1] is seen at 127.0.0.3 only, so that banning their addresses bans no one else
    const seen = await requestFrom("127.0.0.3", stack.base, "POST", "/signup",
      { username: `seen${process.pid % 1000}_${Date.now() % 100000}`, password: "e2e password" });
    assert.equal(seen.status, 201);
    users[1] = seen.body;
    const mod = async (action, body) => {
      const r = await post(stack.base, `/users/${action}`, body, auth(admin));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    await mod("ban", { username: users[0].user.username, reason: "spam" }); // row 2
    await mod("ban", { username: users[1].user.username, ip: true, reason: "abuse" }); // row 3
    await mod("unban", { username: users[0].user.username, reason: "appeal" }); // row 4
    await mod("promote", { username: users[2].user.username }); // row 5
    await mod("ban", { username: users[0].user.username, reason: "again" }); // row 6
  });
  after(async () => {
    await stack?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("verifies through GET /bans/verify (ADMIN only) and make audit-verify, with one head", async () => {
    const api = await apiVerify();
    assert.equal(api.status, 200);
    assert.deepEqual(Object.keys(api.body), ["ok", "rows", "head", "head_id"]);
    assert.equal(api.body.ok, true);
    assert.equal(api.body.rows, 6);
    assert.equal(api.body.head_id, 6);
    assert.match(api.body.head, /^[0-9a-f]{64}$/);
    assert.equal(row(6).hash, api.body.head, "the head is the last row's stored hash");
    const cli = makeVerify();
    assert.equal(cli.status, 0);
    assert.deepEqual(cli.verdict, api.body);
    const plain = await signup(stack.base, "plain");
    const refused = await apiVerify(plain);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "admin_only");
  });

  it("names exactly the row an operator rewrote with wrangler d1 execute", async () => {
    const original = row(3);
    tamper("UPDATE moderation_log SET reason = 'nothing happened' WHERE id = 3");
    const api = await apiVerify();
    assert.deepEqual(api.body, { ok: false, broken_at: 3, why: "hash" });
    const cli = makeVerify();
    assert.notEqual(cli.status, 0, "make audit-verify fails");
    assert.deepEqual(cli.verdict, api.body);
    // A second edit further on: verification still names the first.
    const r5 = row(5);
    tamper(`UPDATE moderation_log SET target_id = ${users[0].user.id} WHERE id = 5`);
    assert.deepEqual((await apiVerify()).body, { ok: false, broken_at: 3, why: "hash" });
    tamper(`UPDATE moderation_log SET reason = '${original.reason}' WHERE id = 3`);
    assert.deepEqual((await apiVerify()).body, { ok: false, broken_at: 5, why: "hash" });
    tamper(`UPDATE moderation_log SET target_id = ${r5.target_id} WHERE id = 5`);
    assert.equal((await apiVerify()).body.ok, true, "put back, it verifies again");
  });

  it("finds a deleted row at the row after it, and reordered rows at the first of them", async () => {
    const r4 = row(4);
    tamper("DELETE FROM moderation_log WHERE id = 4");
    assert.deepEqual((await apiVerify()).body, { ok: false, broken_at: 5, why: "hash" });
    const values = (r) => [r.id, r.action, r.target_id, r.actor_id, r.reason, r.ip, r.ips, r.created_at, r.hash]
      .map((v) => (v === null ? "NULL" : typeof v === "number" ? v : `'${v}'`)).join(", ");
    tamper(`INSERT INTO moderation_log (id, action, target_id, actor_id, reason, ip, ips, created_at, hash) VALUES (${values(r4)})`);
    assert.equal((await apiVerify()).body.ok, true);
    // rows 2 and 4 trade places (each keeps its id, so each now sits where the other was)
    const r2 = row(2);
    const swap = (to, from) => `UPDATE moderation_log SET action = '${from.action}', target_id = ${from.target_id},
      reason = '${from.reason}', ip = ${from.ip}, ips = ${from.ips === null ? "NULL" : `'${from.ips}'`},
      created_at = ${from.created_at}, hash = '${from.hash}' WHERE id = ${to.id}`;
    tamper(`${swap(r2, r4)}; ${swap(r4, r2)}`);
    assert.deepEqual((await apiVerify()).body, { ok: false, broken_at: 2, why: "hash" });
    tamper(`${swap(r2, r2)}; ${swap(r4, r4)}`);
    assert.equal((await apiVerify()).body.ok, true);
  });

  it("cannot see a cut tail by itself, but an exported head kept elsewhere does", async () => {
    const head = execFileSync("make", ["-s", "audit-head", `PERSIST=${stack.state}`], { cwd: root, env: toolEnv, encoding: "utf8" });
    const anchor = path.join(tmp, "head.json");
    writeFileSync(anchor, head);
    const exported = JSON.parse(head);
    assert.equal(exported.id, 6);
    assert.match(exported.hash, /^[0-9a-f]{64}$/);
    assert.equal(makeVerify(anchor).status, 0);
    const r6 = row(6);
    tamper("DELETE FROM moderation_log WHERE id = 6");
    assert.deepEqual((await apiVerify()).body, { ok: true, rows: 5, head: row(5).hash, head_id: 5 }, "a shorter log is a log");
    const cut = makeVerify(anchor);
    assert.notEqual(cut.status, 0);
    assert.deepEqual(cut.verdict, { ok: false, broken_at: 6, why: "anchor" });
    // Rows appended later (a new row 6 here) keep the anchor's row id but not its hash.
    const again = await post(stack.base, "/users/unban", { username: users[0].user.username }, auth(admin));
    assert.equal(again.status, 200);
    assert.notEqual(row(6).hash, r6.hash);
    assert.deepEqual(makeVerify(anchor).verdict, { ok: false, broken_at: 6, why: "anchor" });
  });

  it("seals rows written without a hash: older rows, and other tools", async () => {
    const before = (await apiVerify()).body;
    d1(`INSERT INTO moderation_log (action, target_id, actor_id, reason, created_at)
        VALUES ('promote', ${users[2].user.id}, NULL, 'by hand', 1700000000000)`);
    const cli = makeVerify();
    assert.equal(cli.status, 0);
    assert.equal(cli.verdict.rows, before.rows + 1);
    assert.equal(cli.verdict.unsealed, 1, "the CLI reads only: it reports the row not yet sealed");
    const api = await apiVerify();
    assert.deepEqual(api.body, { ok: true, rows: before.rows + 1, head: cli.verdict.head, head_id: before.head_id + 1 },
      "the Worker seals it with the hash the CLI computed");
    assert.equal(row(before.head_id + 1).hash, cli.verdict.head);
    assert.deepEqual(makeVerify().verdict, api.body);
  });

  it("make admin waits out a running dev server that holds the database (SQLITE_BUSY) instead of failing", async () => {
    // Signups keep the dev server writing D1 while make admin runs (half of such
    // runs failed with SQLITE_BUSY before deploy/audit.mjs tried again). The lock
    // is shared the other way too: a signup may fail while wrangler holds it, which
    // is a local tool's effect only (a deployed D1 has no second process on its file).
    const before = (await apiVerify()).body;
    const promoted = [];
    for (let i = 0; i < 4; i++) promoted.push(await signup(stack.base, "busy"));
    let writing = true;
    const writer = async () => { while (writing) await signup(stack.base, "writer").catch(() => {}); };
    const writers = [writer(), writer(), writer()];
    try {
      for (const who of promoted) {
        await promisify(execFile)("make", ["-s", "admin", `NAME=${who.user.username}`, `PERSIST=${stack.state}`],
          { cwd: root, env: toolEnv });
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    for (const who of promoted) {
      const me = await (await fetch(`${stack.base}/account`, { headers: auth(who) })).json();
      assert.equal(me.user.role, "ADMIN");
    }
    const after = (await apiVerify()).body;
    assert.equal(after.ok, true);
    assert.equal(after.rows, before.rows + promoted.length, "one sealed row per promotion");
  });
});
