// End-to-end: the budgets of what one client may make the service hold or do
// (wasm/budget.h, PROTOCOL.md "Limits"), with their real numbers: this stack is
// started without the test scale. Each case is named after the abuse it stops.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openSocket, post, requestFrom, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });
let n = 0;
const name = (p) => `${p}${process.pid % 1000}_${n++}`;

describe("budgets against wrangler dev", () => {
  let stack, base;
  before(async () => {
    stack = await startStack({ budgets: true, vars: { CHAT_DEBUG_COUNTERS: "1" } });
    base = stack.base;
  });
  after(async () => { await stack?.stop(); });

  it("a signup script from one address stops after 10 accounts an hour (429 limit_reached)", async () => {
    const results = [];
    for (let i = 0; i < 12; i++) {
      results.push(await requestFrom("127.0.0.5", base, "POST", "/signup", { username: name("script"), password: "script password" }));
    }
    assert.deepEqual(results.map((r) => r.status), [...Array(10).fill(201), 429, 429]);
    const refused = results[10];
    assert.equal(refused.body.error.code, "limit_reached");
    assert.equal(refused.body.error.budget, "signups_per_address");
    assert.equal(refused.body.error.limit, 10);
    const wait = Number(refused.headers["retry-after"]);
    assert.ok(wait > 3000 && wait <= 3600, `Retry-After ${wait}`);
    // Another address is not affected.
    assert.equal((await requestFrom("127.0.0.6", base, "POST", "/signup", { username: name("other"), password: "other password" })).status, 201);
  });

  it("a signup script retrying while refused costs no D1 query, and keeps its Retry-After", async () => {
    const ip = "127.0.0.15";
    for (let i = 0; i < 10; i++) {
      assert.equal((await requestFrom(ip, base, "POST", "/signup", { username: name("retry"), password: "retry password" })).status, 201);
    }
    const first = await requestFrom(ip, base, "POST", "/signup", { username: name("retry"), password: "retry password" });
    assert.equal(first.status, 429);
    const before = await (await fetch(`${base}/__debug/counters`)).json();
    const again = [];
    for (let i = 0; i < 20; i++) {
      again.push(await requestFrom(ip, base, "POST", "/signup", { username: name("retry"), password: "retry password" }));
    }
    const after = await (await fetch(`${base}/__debug/counters`)).json();
    assert.ok(again.every((r) => r.status === 429 && r.body.error.budget === "signups_per_address"));
    assert.ok(again.every((r) => Math.abs(Number(r.headers["retry-after"]) - Number(first.headers["retry-after"])) <= 1));
    assert.equal(after.d1_queries - before.d1_queries, 0, "a refusal remembered by the isolate asks D1 nothing");
  });

  it("concurrent signups from one address cannot pass the budget either", async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () =>
      requestFrom("127.0.0.7", base, "POST", "/signup", { username: name("race"), password: "race password" })));
    assert.equal(all.filter((r) => r.status === 201).length, 10);
    assert.ok(all.every((r) => r.status === 201 || r.body.error.code === "limit_reached"));
  });

  it("a login script with the right password gets 10 sessions at once, then 429, and a retry hashes and queries nothing", async () => {
    const username = name("logins"), password = "login script password";
    assert.equal((await requestFrom("127.0.0.16", base, "POST", "/signup", { username, password })).status, 201);
    const logins = [];
    for (let i = 0; i < 11; i++) logins.push(await requestFrom("127.0.0.16", base, "POST", "/login", { username, password }));
    assert.deepEqual(logins.map((r) => r.status), [...Array(10).fill(200), 429]);
    const refused = logins[10];
    assert.equal(refused.body.error.code, "limit_reached");
    assert.equal(refused.body.error.budget, "password_checks_per_account");
    assert.equal(refused.body.error.limit, 30);
    const wait = Number(refused.headers["retry-after"]);
    assert.ok(wait > 60 && wait <= 120, `one more every 2 minutes: Retry-After ${wait}`);
    // Retried from another address too: refused before the throttle, D1 or argon2id.
    const before = await (await fetch(`${base}/__debug/counters`)).json();
    const again = await Promise.all(["127.0.0.16", "127.0.0.17"].map((ip) => requestFrom(ip, base, "POST", "/login", { username, password })));
    const after = await (await fetch(`${base}/__debug/counters`)).json();
    assert.ok(again.every((r) => r.status === 429 && r.body.error.budget === "password_checks_per_account"));
    assert.equal(after.d1_queries - before.d1_queries, 0);
    // While refused, a wrong password is refused the same way: no argon2id either.
    const wrong = await requestFrom("127.0.0.18", base, "POST", "/login", { username, password: "not it at all" });
    assert.equal(wrong.status, 429);
    assert.equal(wrong.body.error.budget, "password_checks_per_account");
    // The same budget holds for changing the password: refused, and the old one stays.
    const token = logins[0].body.token;
    const hash = () => stack.d1(`SELECT password_hash FROM users WHERE username = '${username}'`)[0][0].password_hash;
    const was = hash();
    const change = await requestFrom("127.0.0.16", base, "POST", "/account/password", { current: password, new: "a brand new password" },
      { Authorization: `Bearer ${token}` });
    assert.equal(change.status, 429);
    assert.equal(change.body.error.budget, "password_checks_per_account");
    assert.equal(hash(), was);
  });

  it("inviting and removing someone in a loop stops after 60 invitations an hour (each one reaches their screen)", async () => {
    const owner = (await requestFrom("127.0.0.19", base, "POST", "/signup", { username: name("inviter"), password: "inviter password" })).body;
    const victim = (await requestFrom("127.0.0.19", base, "POST", "/signup", { username: name("victim"), password: "victim password" })).body;
    const room = (await post(base, "/rooms", { name: `inv ${n}`, private: true }, auth(owner))).body.room;
    const codes = [];
    for (let i = 0; i < 61; i++) {
      codes.push((await post(base, `/rooms/${room.id}/invite`, { username: victim.user.username }, auth(owner))).status);
      await post(base, `/rooms/${room.id}/kick`, { username: victim.user.username }, auth(owner));
    }
    assert.deepEqual(codes, [...Array(60).fill(200), 429]);
    const refused = await post(base, `/rooms/${room.id}/invite`, { username: victim.user.username }, auth(owner));
    assert.equal(refused.body.error.budget, "room_invites_per_account");
  });

  it("a profile changer stops after 10 changes an hour (each one is told to every room with their socket)", async () => {
    const u = (await requestFrom("127.0.0.20", base, "POST", "/signup", { username: name("prof"), password: "profile password" })).body;
    const codes = [];
    for (let i = 0; i < 11; i++) {
      const r = await fetch(`${base}/account/profile`, { method: "PUT", headers: { ...auth(u), "Content-Type": "application/json" },
        body: JSON.stringify({ display_name: `name ${i}` }) });
      codes.push(r.status);
      if (i === 10) assert.equal((await r.json()).error.budget, "profile_changes_per_account");
    }
    assert.deepEqual(codes, [...Array(10).fill(200), 429]);
  });

  it("an uploader stops after 100 files an hour", async () => {
    const u = (await requestFrom("127.0.0.21", base, "POST", "/signup", { username: name("upl"), password: "upload password" })).body;
    const room = (await post(base, "/rooms", { name: `upl ${n}` }, auth(u))).body.room;
    const up = () => fetch(`${base}/rooms/${room.id}/uploads`, { method: "POST",
      headers: { ...auth(u), "Content-Type": "application/octet-stream", "X-File-Name": "a.txt" }, body: "hello, file" });
    const codes = [];
    for (let i = 0; i < 101; i += 10) {
      codes.push(...await Promise.all(Array.from({ length: Math.min(10, 101 - i) }, async () => (await up()).status)));
    }
    assert.equal(codes.filter((c) => c === 201).length, 100);
    const refused = await up();
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.budget, "uploads_per_account");
  });

  it("the bench's hashing route does at most 8 hashes a request (and exists only with CHAT_DEBUG_COUNTERS)", async () => {
    const ok = await fetch(`${base}/__debug/hash?n=2`, { method: "POST" });
    assert.deepEqual([ok.status, await ok.json()], [200, { hashed: 2 }]);
    for (const n of ["9", "-1", "1.5", "x"]) {
      const r = await fetch(`${base}/__debug/hash?n=${n}`, { method: "POST" });
      assert.deepEqual([r.status, (await r.json()).error.code], [400, "query_invalid"], n);
    }
  });

  it("a search script gets 20 searches across every room at once, then one every 6 s", async () => {
    const u = (await requestFrom("127.0.0.22", base, "POST", "/signup", { username: name("srch"), password: "search password" })).body;
    const search = () => fetch(`${base}/search?q=hello`, { headers: auth(u) });
    const codes = [];
    for (let i = 0; i < 21; i++) codes.push((await search()).status);
    assert.deepEqual(codes, [...Array(20).fill(200), 429]);
    const refused = await search();
    assert.equal((await refused.json()).error.budget, "searches_per_account");
    assert.ok([5, 6].includes(Number(refused.headers.get("retry-after"))), refused.headers.get("retry-after"));
    // a bad query is refused as such, and spends nothing
    assert.equal((await fetch(`${base}/search?q=`, { headers: auth(u) })).status, 400);
  });

  it("an exporter stops after 3 exports an hour (each reads everything the account wrote)", async () => {
    const u = (await requestFrom("127.0.0.23", base, "POST", "/signup", { username: name("exp"), password: "export password" })).body;
    const codes = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${base}/account/export`, { headers: auth(u) });
      codes.push(r.status);
      await r.arrayBuffer();
    }
    assert.deepEqual(codes, [200, 200, 200, 429]);
  });

  it("a room spammer stops after 10 rooms an hour", async () => {
    const u = (await requestFrom("127.0.0.8", base, "POST", "/signup", { username: name("rooms"), password: "rooms password" })).body;
    const made = [];
    for (let i = 0; i < 11; i++) made.push(await post(base, "/rooms", { name: `spam ${n} ${i}` }, auth(u)));
    assert.deepEqual(made.map((r) => r.status), [...Array(10).fill(201), 429]);
    assert.equal(made[10].body.error.budget, "rooms_per_account");
  });

  it("a socket churner opens 10 sockets at once, then one every 2 s (30 a minute), wherever they go", async () => {
    const u = (await requestFrom("127.0.0.9", base, "POST", "/signup", { username: name("churn"), password: "churn password" })).body;
    const room = (await post(base, "/rooms", { name: `churn ${n}` }, auth(u))).body.room;
    for (let i = 0; i < 10; i++) {
      const s = await openSocket(base, u.token, i % 2 ? "/ws" : `/rooms/${room.id}/ws`);
      s.ws.terminate(); // closing does not give an open back
    }
    await assert.rejects(openSocket(base, u.token, "/ws"), (e) => e.status === 429 || assert.fail(`status ${e.status}`));
    // the refusal says when one more fits (Retry-After 2), and then one does
    const early = await requestFrom("127.0.0.9", base, "GET", "/ws", undefined, {
      Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": `chat.v1, bearer.${u.token}` });
    assert.equal(early.status, 429);
    assert.ok([1, 2].includes(Number(early.headers["retry-after"])), early.headers["retry-after"]);
    await new Promise((r) => setTimeout(r, 2100));
    (await openSocket(base, u.token, `/rooms/${room.id}/ws`)).ws.terminate();
    await assert.rejects(openSocket(base, u.token, `/rooms/${room.id}/ws`), (e) => e.status === 429 || assert.fail(`status ${e.status}`));
    const refused = await requestFrom("127.0.0.9", base, "GET", "/ws", undefined, {
      Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": `chat.v1, bearer.${u.token}` });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.budget, "socket_opens_per_account");
  });

  it("cycling friend requests stops after 60 notifications an hour", async () => {
    const [a, b] = [await signup(base, "cyc"), await signup(base, "tgt")];
    const codes = [];
    for (let i = 0; i < 31; i++) {
      codes.push((await post(base, "/users/add", { username: b.user.username }, auth(a))).status);
      codes.push((await post(base, "/users/remove", { username: b.user.username }, auth(a))).status);
    }
    assert.deepEqual(codes.slice(0, 60), Array(60).fill(200));
    assert.equal(codes[60], 429);
    const refused = await post(base, "/users/add", { username: b.user.username }, auth(a));
    assert.equal(refused.body.error.budget, "friend_actions_per_account");
    // Blocking tells nobody and stays possible.
    assert.equal((await post(base, "/users/block", { username: b.user.username }, auth(a))).status, 200);
  });
});
