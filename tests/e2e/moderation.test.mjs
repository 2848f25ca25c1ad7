// End-to-end: roles, bans, IP bans, the audit trail and login throttling against
// `wrangler dev`. Client addresses are real: requests come from 127.0.0.2, .3, ...
// and the runtime reports them as CF-Connecting-IP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, requestFrom, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

/** The stored login counters of a stack, by key ("user:<key>", "ip:<address>"). */
function loginCounters(stack) {
  const [rows] = stack.d1("SELECT key, count, window_start FROM login_failures");
  return new Map(rows.map((r) => [r.key, r]));
}

describe("moderation against wrangler dev", () => {
  let stack, base, admin;
  before(async () => {
    stack = await startStack();
    base = stack.base;
    admin = await signup(base, "admin");
    stack.makeAdmin(admin.user.username);
  });
  after(async () => { await stack?.stop(); });

  const modCall = (who, action, body) => post(base, `/users/${action}`, body, auth(who));

  it("makes the first ADMIN with `make admin`, who can promote others", async () => {
    const me = await (await fetch(`${base}/account`, { headers: auth(admin) })).json();
    assert.equal(me.user.role, "ADMIN");
    const u = await signup(base);
    const promoted = await modCall(admin, "promote", { username: u.user.username });
    assert.equal(promoted.status, 200);
    assert.equal((await (await fetch(`${base}/account`, { headers: auth(u) })).json()).user.role, "ADMIN");
    assert.equal((await modCall(admin, "promote", { username: u.user.username })).body.error.code, "already_admin");
  });

  it("lets no USER ban, and no ADMIN ban an ADMIN", async () => {
    const u = await signup(base), v = await signup(base), other = await signup(base);
    const byUser = await modCall(u, "ban", { username: v.user.username });
    assert.equal(byUser.status, 403);
    assert.equal(byUser.body.error.code, "admin_only");
    assert.equal((await fetch(`${base}/bans`, { headers: auth(u) })).status, 403);
    await modCall(admin, "promote", { username: other.user.username });
    const adminOnAdmin = await modCall(admin, "ban", { username: other.user.username });
    assert.equal(adminOnAdmin.status, 403);
    assert.equal(adminOnAdmin.body.error.code, "cannot_ban_admin");
    assert.equal((await modCall(admin, "ban", { username: admin.user.username })).body.error.code, "cannot_target_self");
    assert.equal((await modCall(admin, "ban", { username: "no_such_user" })).status, 404);
  });

  it("bans a user everywhere at once, with their addresses, and unban restores access", async () => {
    // The victim only ever comes from 127.0.0.2.
    const from2 = (method, route, body, headers) => requestFrom("127.0.0.2", base, method, route, body, headers);
    const name = `victim${Date.now() % 100000}`;
    const up = await from2("POST", "/signup", { username: name, password: "victim password" });
    assert.equal(up.status, 201);
    const victim = up.body;
    const room = await createRoom(base, admin);
    const personal = await openSocket(base, victim.token, "/ws", "127.0.0.2");
    await personal.next();
    const inRoom = await openSocket(base, victim.token, `/rooms/${room.id}/ws`, "127.0.0.2");
    await inRoom.next();

    const started = Date.now();
    const res = await modCall(admin, "ban", { username: name, ip: true, reason: "spam" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.ips, ["127.0.0.2"]);
    const closedAt = Math.max(...(await Promise.all([personal.closing, inRoom.closing])));
    assert.ok(closedAt - started < 1000, `sockets closed within a second (${closedAt - started} ms)`);
    const [a, b] = await Promise.all([personal.closed, inRoom.closed]);
    assert.deepEqual([a.code, b.code], [4003, 4003]);
    assert.equal(b.reason, "banned: spam");

    // Every request from the banned address is refused first, even a signup.
    const blocked = await from2("POST", "/signup", { username: `fresh${Date.now() % 100000}`, password: "some password" });
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.error.code, "ip_banned");
    assert.equal((await from2("GET", "/account", undefined, auth(victim))).body.error.code, "ip_banned");
    await assert.rejects(openSocket(base, admin.token, "/ws", "127.0.0.2"), (e) => e.status === 403);
    // From another address: the token is dead, and the account is refused.
    const from3 = (method, route, body, headers) => requestFrom("127.0.0.3", base, method, route, body, headers);
    assert.equal((await from3("GET", "/account", undefined, auth(victim))).status, 401);
    // and opens no socket, though the Worker checked the session moments ago (its
    // hub refuses it: accounts.ts socketLiveSession)
    for (const route of ["/ws", `/rooms/${room.id}/ws`]) {
      await assert.rejects(openSocket(base, victim.token, route, "127.0.0.3"), (e) => [401, 403].includes(e.status));
    }
    const login = await from3("POST", "/login", { username: name, password: "victim password" });
    assert.equal(login.status, 403);
    assert.equal(login.body.error.code, "banned");
    // Another address still works for everyone else.
    assert.equal((await from3("POST", "/signup", { username: `other${Date.now() % 100000}`, password: "other password" })).status, 201);

    const bans = await (await fetch(`${base}/bans`, { headers: auth(admin) })).json();
    const entry = bans.bans.find((x) => x.user.username === name);
    assert.deepEqual({ by: entry.by.id, reason: entry.reason, ips: entry.ips }, { by: admin.user.id, reason: "spam", ips: ["127.0.0.2"] });

    assert.equal((await modCall(admin, "unban", { username: name })).status, 200);
    const back = await from2("POST", "/login", { username: name, password: "victim password" });
    assert.equal(back.status, 200);
    assert.equal((await from2("GET", "/account", undefined, auth(back.body))).status, 200);

    const after = await (await fetch(`${base}/bans`, { headers: auth(admin) })).json();
    assert.equal(after.bans.find((x) => x.user.username === name), undefined);
    const trail = after.log.filter((l) => l.target.username === name).map((l) => [l.action, l.actor.id, l.reason]);
    assert.deepEqual(trail, [["unban", admin.user.id, null], ["ban", admin.user.id, "spam"]]);
  });

  it("lets an ADMIN delete anyone's message", async () => {
    const u = await signup(base);
    const room = await createRoom(base, u);
    const { c: cu } = await joinRoom(base, room.id, u);
    const { c: ca } = await joinRoom(base, room.id, admin);
    cu.send({ type: "new_chat_message", body: "remove me", client_id: "r1" });
    const m = await ca.nextOf("new_chat_message");
    ca.send({ type: "delete_message", seq: m.seq });
    assert.equal((await cu.nextOf("message_deleted")).deleted_by, admin.user.id);
    cu.ws.close(); ca.ws.close();
  });

  it("throttles repeated failed logins for a username, for a while", async () => {
    const from6 = (body) => requestFrom("127.0.0.6", base, "POST", "/login", body);
    const u = await signup(base);
    for (let i = 0; i < 10; i++) {
      assert.equal((await from6({ username: u.user.username, password: `wrong ${i}` })).status, 401);
    }
    const locked = await from6({ username: u.user.username, password: "e2e password" }); // even the right one
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, "too_many_attempts");
    const wait = Number(locked.headers["retry-after"]);
    assert.ok(wait > 0 && wait <= 15 * 60);
    // Other accounts from the same address are not locked out.
    const other = await signup(base);
    assert.equal((await from6({ username: other.user.username, password: "e2e password" })).status, 200);
  });

  it("counts every login attempt before verifying it: 40 at once for one account get at most 10 verified", async () => {
    const address = "127.0.0.9";
    const u = await signup(base);
    const started = Date.now();
    const tries = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      requestFrom(address, base, "POST", "/login", { username: u.user.username, password: `wrong password ${i}` })));
    const verified = tries.filter((r) => r.status === 401);
    const refused = tries.filter((r) => r.status === 429);
    console.log(`# 40 concurrent wrong logins: ${verified.length} verified, ${refused.length} refused, ${Date.now() - started} ms`);
    assert.equal(verified.length + refused.length, 40, `only 401 and 429: ${tries.map((r) => r.status)}`);
    assert.ok(verified.length >= 1 && verified.length <= 10, `${verified.length} passwords verified`);
    for (const r of verified) assert.equal(r.body.error.code, "invalid_credentials");
    for (const r of refused) {
      assert.equal(r.body.error.code, "too_many_attempts");
      assert.ok(Number(r.headers["retry-after"]) >= 1, `Retry-After ${r.headers["retry-after"]}`);
    }
    // Each verified attempt is counted once, against the name and the address; the
    // refused ones not at all.
    const counters = loginCounters(stack);
    assert.equal(counters.get(`user:${u.user.username.toLowerCase()}`).count, verified.length);
    assert.equal(counters.get(`ip:${address}`).count, verified.length);
    if (verified.length === 10) {
      const locked = await requestFrom(address, base, "POST", "/login", { username: u.user.username, password: "e2e password" });
      assert.equal(locked.status, 429);
    }
    // A correct login from another address gives that address its attempt back.
    const fine = await requestFrom("127.0.0.10", base, "POST", "/login", { username: (await signup(base)).user.username, password: "e2e password" });
    assert.equal(fine.status, 200);
    assert.equal(loginCounters(stack).get("ip:127.0.0.10").count, 0);
  });

  it("keeps an address banned while any ban names it: unbanning one of two users seen there lifts nothing", async () => {
    const address = "127.0.0.8";
    const from8 = (method, route, body, headers) => requestFrom(address, base, method, route, body, headers);
    const stamp = Date.now() % 100000;
    const [one, two] = [`nat_one${stamp}`, `nat_two${stamp}`];
    for (const username of [one, two]) {
      assert.equal((await from8("POST", "/signup", { username, password: "shared address" })).status, 201);
    }
    for (const username of [one, two]) {
      const res = await modCall(admin, "ban", { username, ip: true, reason: "nat" });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.ips, [address]);
    }
    assert.equal((await modCall(admin, "unban", { username: one })).status, 200);

    const refused = await from8("POST", "/signup", { username: `nat_new${stamp}`, password: "shared address" });
    assert.equal(refused.status, 403, "the address is still banned by the other ban");
    assert.equal(refused.body.error.code, "ip_banned");
    const bans = await (await fetch(`${base}/bans`, { headers: auth(admin) })).json();
    assert.deepEqual(bans.bans.find((b) => b.user.username === two)?.ips, [address]);
    assert.equal(bans.bans.find((b) => b.user.username === one), undefined);

    // Lifting the last ban that names it frees the address.
    assert.equal((await modCall(admin, "unban", { username: two })).status, 200);
    assert.equal((await from8("POST", "/signup", { username: `nat_new${stamp}`, password: "shared address" })).status, 201);
  });
});
