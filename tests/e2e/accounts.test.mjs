// End-to-end: accounts and the personal socket against a real `wrangler dev`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openSocket, post, startStack } from "./harness.mjs";

describe("accounts over real HTTP against wrangler dev", () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  it("signs up, logs in, reads the account, logs out and is refused afterwards", async () => {
    const { base } = stack;
    const up = await post(base, "/signup", { username: "Erin", password: "correct horse battery" });
    assert.equal(up.status, 201);
    assert.deepEqual(Object.keys(up.body).sort(), ["expires_at", "token", "user"]);
    assert.equal(up.body.user.role, "USER");

    const taken = await post(base, "/signup", { username: "erin", password: "another one" });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error.code, "username_taken");

    const login = await post(base, "/login", { username: "ERIN", password: "correct horse battery" });
    assert.equal(login.status, 200);
    const auth = { Authorization: `Bearer ${login.body.token}` };

    const acct = await fetch(`${base}/account`, { headers: auth });
    assert.equal(acct.status, 200);
    assert.deepEqual(await acct.json(), { user: { id: up.body.user.id, username: "Erin", role: "USER", display_name: null } });

    const out = await post(base, "/logout", "", auth);
    assert.equal(out.status, 200);
    const refused = await fetch(`${base}/account`, { headers: auth });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error.code, "unauthorized");

    // The signup token is a separate session and still works.
    const first = await fetch(`${base}/account`, { headers: { Authorization: `Bearer ${up.body.token}` } });
    assert.equal(first.status, 200);
  });

  it("answers bad input with structured errors", async () => {
    const { base } = stack;
    const wrong = await post(base, "/login", { username: "Erin", password: "wrong password" });
    const unknown = await post(base, "/login", { username: "nobody", password: "wrong password" });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    const cases = [
      [{ username: "x", password: "password1" }, 400, "username_too_short"],
      [{ username: "fine_name", password: "short" }, 400, "password_too_short"],
      ["{oops", 400, "bad_json"],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(base, "/signup", body);
      assert.equal(res.status, status);
      assert.equal(res.body.error.code, code);
    }
    const big = await post(base, "/signup", { username: "big", password: "x".repeat(20000) });
    assert.equal(big.status, 413);
    const notFound = await fetch(`${base}/does-not-exist`);
    assert.equal(notFound.status, 404);
    assert.equal((await notFound.json()).error.code, "not_found");
  });

  it("greets a real WebSocket client and keeps it open through bad frames", async () => {
    const { base } = stack;
    const up = await post(base, "/signup", { username: "Frank", password: "frank's password" });
    const { ws, next } = await openSocket(base, up.body.token);
    assert.equal(ws.protocol, "chat.v1");
    assert.deepEqual(await next(), { type: "connection", protocol: "chat.v1", user: up.body.user });
    assert.deepEqual(await next(), { type: "friends_presence", online: [] });
    ws.send("{broken");
    assert.equal((await next()).code, "bad_json");
    ws.send(JSON.stringify({ type: "ping", ref: "r" }));
    assert.deepEqual(await next(), { type: "pong", ref: "r" });
    ws.close();
    await assert.rejects(openSocket(base, "A".repeat(43)), (e) => e.status === 401);
  });

  it("refuses look-alike names and malformed escapes, and takes a password in any normal form", async () => {
    const { base } = stack;
    const nfc = "Crème-brûlée-9".normalize("NFC"), nfd = nfc.normalize("NFD");
    assert.notEqual(nfc, nfd);
    const up = await post(base, "/signup", { username: "alice", password: nfc });
    assert.equal(up.status, 201);
    for (const username of ["aIice", "a1ice", "AL1CE"]) {
      const res = await post(base, "/signup", { username, password: "another password" });
      assert.equal(res.status, 409, username);
      assert.equal(res.body.error.code, "username_taken");
    }
    const login = await post(base, "/login", { username: "alice", password: nfd });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.id, up.body.user.id);
    // cJSON alone would read "\uX000" as U+0000 and end the password there ("Correct-H")
    const cut = await post(base, "/signup", '{"username":"mallory","password":"Correct-H\\uX000aaaa"}');
    assert.equal(cut.status, 400);
    assert.equal(cut.body.error.code, "bad_json");
    const none = await post(base, "/login", { username: "mallory", password: "Correct-H" });
    assert.equal(none.status, 401);
  });

  it("keeps accounts and sessions across a restart of the server", async () => {
    const { base } = stack;
    const up = await post(base, "/signup", { username: "Grace", password: "durable password" });
    await stack.restart();
    const acct = await fetch(`${base}/account`, { headers: { Authorization: `Bearer ${up.body.token}` } });
    assert.equal(acct.status, 200);
    const login = await post(base, "/login", { username: "grace", password: "durable password" });
    assert.equal(login.status, 200);
  });
});
