// End-to-end: what a person controls about their own account (issue 20):
// password change, sessions (list, revoke one, revoke the others), against the
// real stack (`wrangler dev`) with real sockets.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, requestFrom, signup, startStack } from "./harness.mjs";

/** SQL on the stack's D1, as an operator runs it: the first statement's rows. */
const d1 = (sql) => stack.d1(sql)[0];

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });
const CLOSE_SESSION_ENDED = 4001;
const PASSWORD = "e2e password";

let stack, base, room;
before(async () => {
  stack = await startStack();
  base = stack.base;
  room = await createRoom(base, await signup(base, "owner"));
});
after(async () => { await stack?.stop(); });

async function request(method, path, who, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...(who ? auth(who) : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const login = async (username, password = PASSWORD, userAgent = "node") =>
  request("POST", "/login", null, { username, password }, { "User-Agent": userAgent });

/** A socket in the room and a personal one, opened with a session. */
async function socketsOf(who) {
  const personal = await openSocket(base, who.token, "/ws");
  await personal.nextOf("connection");
  const { c: inRoom } = await joinRoom(base, room.id, who);
  return { personal, inRoom };
}

/** Waits for every socket to close; the slowest delay since `started` and the codes. */
async function closedCodes(sockets, started) {
  const entries = Object.entries(sockets);
  const at = await Promise.all(entries.map(([, s]) => Promise.race([s.closing, new Promise((r) => setTimeout(() => r(Infinity), 5000))])));
  const codes = await Promise.all(entries.map(([, s]) => Promise.race([s.closed.then((c) => c.code), new Promise((r) => setTimeout(() => r("open"), 3000))])));
  return { slowest: Math.max(...at) - started, codes: Object.fromEntries(entries.map(([k], i) => [k, codes[i]])) };
}

const stillOpen = async (s) => {
  s.send({ type: "new_chat_message", body: "still here", client_id: `k${Date.now()}${String(Math.random()).slice(2)}` });
  for (;;) {
    const f = await s.next();
    if (f.type === "new_chat_message" && f.body === "still here") return true;
    if (f.type !== "new_chat_message") throw new Error(`unexpected ${JSON.stringify(f)}`);
  }
};

describe("password change", () => {
  it("revokes every other session within a second (4001) and keeps the one that made it", async () => {
    const me = await signup(base, "pw");
    const other = (await login(me.user.username)).body;
    const mine = await socketsOf(me);
    const theirs = await socketsOf(other);
    const started = Date.now();
    const res = await request("POST", "/account/password", me, { current: PASSWORD, new: "a new password" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ok: true, revoked: 1 });
    const { slowest, codes } = await closedCodes(theirs, started);
    assert.deepEqual(codes, { personal: CLOSE_SESSION_ENDED, inRoom: CLOSE_SESSION_ENDED });
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    assert.ok(await stillOpen(mine.inRoom));
    assert.equal((await request("GET", "/account", other)).status, 401);
    assert.equal((await request("GET", "/account", me)).status, 200);
    // The old password no longer logs in; the new one does, in any normal form.
    assert.equal((await login(me.user.username)).status, 401);
    assert.equal((await login(me.user.username, "a new password")).status, 200);
    mine.personal.ws.close();
    mine.inRoom.ws.close();
  });

  it("refuses a new password that breaks the signup rules, with a clear error", async () => {
    const me = await signup(base, "pw");
    const res = await request("POST", "/account/password", me, { current: PASSWORD, new: "short" });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "password_too_short");
    // NFKC: "①②③④⑤⑥⑦⑧" is "12345678", and logs in typed either way.
    assert.equal((await request("POST", "/account/password", me, { current: PASSWORD, new: "①②③④⑤⑥⑦⑧" })).status, 200);
    assert.equal((await login(me.user.username, "12345678")).status, 200);
  });

  it("counts a wrong current password as a failed login, and is throttled like logins", async () => {
    const me = await signup(base, "pw");
    const wrong = () => requestFrom("127.0.0.23", base, "POST", "/account/password", { current: "not it at all", new: "another password" }, auth(me));
    const first = await wrong();
    assert.equal(first.status, 403);
    assert.equal(first.body.error.code, "wrong_password");
    for (let i = 1; i < 10; i++) assert.equal((await wrong()).status, 403);
    const locked = await wrong();
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, "too_many_attempts");
    // The username's counter is the login's: a login is locked too.
    assert.equal((await login(me.user.username)).status, 429);
  });
});

describe("sessions", () => {
  it("a deployment has no debug routes (they need CHAT_DEBUG_COUNTERS)", async () => {
    for (const [method, path] of [["POST", "/__debug/hash?n=8"], ["GET", "/__debug/counters"]]) {
      const r = await fetch(`${base}${path}`, { method });
      assert.equal(r.status, 404, path);
    }
  });

  it("lists my sessions with a coarse client and times, never a token or its hash", async () => {
    const me = await signup(base, "ss");
    const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const other = (await login(me.user.username, PASSWORD, firefox)).body;
    const res = await request("GET", "/account/sessions", me);
    assert.equal(res.status, 200);
    assert.equal(res.body.sessions.length, 2);
    const [newest, oldest] = res.body.sessions;
    assert.equal(newest.client, "Firefox on Linux");
    assert.equal(newest.current, false);
    assert.equal(oldest.current, true);
    for (const s of res.body.sessions) {
      assert.deepEqual(Object.keys(s).sort(), ["client", "created_at", "current", "id", "last_seen_at"]);
      assert.ok(s.last_seen_at >= s.created_at);
    }
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(other.token) && !text.includes(me.token));
    assert.ok(!/[0-9a-f]{64}/.test(text), "no token hash");
  });

  it("DELETE /account/sessions/:id closes that session's sockets within a second, and no other's", async () => {
    const me = await signup(base, "ss");
    const other = (await login(me.user.username)).body;
    const mine = await socketsOf(me);
    const theirs = await socketsOf(other);
    const list = (await request("GET", "/account/sessions", me)).body.sessions;
    const target = list.find((s) => !s.current);
    const started = Date.now();
    assert.deepEqual((await request("DELETE", `/account/sessions/${target.id}`, me)).body, { ok: true });
    const { slowest, codes } = await closedCodes(theirs, started);
    assert.deepEqual(codes, { personal: CLOSE_SESSION_ENDED, inRoom: CLOSE_SESSION_ENDED });
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    assert.ok(await stillOpen(mine.inRoom));
    assert.equal((await request("GET", "/account", other)).status, 401);
    // Gone, or someone else's: not_found.
    assert.equal((await request("DELETE", `/account/sessions/${target.id}`, me)).status, 404);
    const stranger = await signup(base, "ss");
    const theirList = (await request("GET", "/account/sessions", stranger)).body.sessions;
    assert.equal((await request("DELETE", `/account/sessions/${theirList[0].id}`, me)).status, 404);
    assert.equal((await request("GET", "/account", stranger)).status, 200);
    mine.personal.ws.close();
    mine.inRoom.ws.close();
  });

  it("a login past 100 live sessions ends the oldest and closes its sockets (4001); the list holds every live one", async () => {
    const me = await signup(base, "many");
    const sockets = await socketsOf(me);
    const logins = [];
    // at most LIMITS.loginFailsPerUser at once: each login counts as a failed one
    // until its password checks out, and one more in flight would be refused
    const { LIMITS } = await import("../../worker/generated/core.js");
    const batch = LIMITS.loginFailsPerUser;
    for (let i = 0; i < 99; i += batch) {
      logins.push(...await Promise.all(Array.from({ length: Math.min(batch, 99 - i) }, () => login(me.user.username))));
    }
    assert.ok(logins.every((r) => r.status === 200), JSON.stringify(logins.filter((r) => r.status !== 200).map((r) => [r.status, r.body])));
    assert.equal((await request("GET", "/account", me)).status, 200, "100 live sessions: the first still holds");
    const started = Date.now();
    const newest = (await login(me.user.username)).body;
    const { slowest, codes } = await closedCodes(sockets, started);
    assert.deepEqual(codes, { personal: CLOSE_SESSION_ENDED, inRoom: CLOSE_SESSION_ENDED });
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    assert.equal((await request("GET", "/account", me)).status, 401);
    const list = (await request("GET", "/account/sessions", newest)).body.sessions;
    assert.equal(list.length, 100);
    assert.equal(list[0].current, true);
    assert.equal((await request("GET", "/account", logins[0].body)).status, 200, "only the oldest ended");
  });

  it("revoke-others closes every other session's sockets and keeps this one", async () => {
    const me = await signup(base, "ss");
    const a = (await login(me.user.username)).body;
    const b = (await login(me.user.username)).body;
    const mine = await socketsOf(me);
    const sa = await socketsOf(a);
    const sb = await socketsOf(b);
    const started = Date.now();
    assert.deepEqual((await request("POST", "/account/sessions/revoke-others", me)).body, { ok: true, revoked: 2 });
    const { slowest, codes } = await closedCodes({ a: sa.inRoom, ap: sa.personal, b: sb.inRoom, bp: sb.personal }, started);
    assert.deepEqual(Object.values(codes), [4001, 4001, 4001, 4001]);
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    assert.ok(await stillOpen(mine.inRoom));
    assert.equal((await request("GET", "/account/sessions", me)).body.sessions.length, 1);
    mine.personal.ws.close();
    mine.inRoom.ws.close();
  });
});

describe("display name", () => {
  it("reaches the rooms the user belongs to, and never a room that removed them", async () => {
    const owner = await signup(base, "dk");
    const intruder = await signup(base, "dk");
    const made = await post(base, "/rooms", { name: `dk ${Date.now() % 100000}`, private: true }, auth(owner));
    const priv = made.body.room;
    await post(base, `/rooms/${priv.id}/invite`, { username: intruder.user.username }, auth(owner));
    assert.equal((await post(base, `/rooms/${priv.id}/join`, "", auth(intruder))).status, 200);
    const { c: once } = await joinRoom(base, priv.id, intruder);
    once.ws.close();
    await once.closed;
    assert.equal((await post(base, `/rooms/${priv.id}/kick`, { username: intruder.user.username }, auth(owner))).status, 200);
    const { c: watching } = await joinRoom(base, priv.id, owner);
    assert.equal((await request("PUT", "/account/profile", intruder, { display_name: "still here" })).status, 200);
    // The owner's socket hears nothing from the removed user: its ping's pong comes first.
    watching.send({ type: "ping", ref: "p" });
    for (;;) {
      const f = await watching.next();
      assert.notEqual(f.type, "user_updated", "a removed user's profile change reached the room");
      if (f.type === "pong") break;
    }
    watching.ws.close();
  });

  it("is normalised, reaches the open sockets of the user's rooms, and shows beside the username", async () => {
    const me = await signup(base, "dn");
    const other = await signup(base, "dn");
    const { c: mine } = await joinRoom(base, room.id, me);
    const { c: theirs } = await joinRoom(base, room.id, other);
    const res = await request("PUT", "/account/profile", me, { display_name: "  Ｚoe\u0308 " });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.user, { id: me.user.id, username: me.user.username, display_name: "Zoë" });
    const seen = await theirs.nextOf("user_updated", 1000);
    assert.deepEqual(seen.user, { id: me.user.id, username: me.user.username, display_name: "Zoë" });
    assert.equal((await mine.nextOf("user_updated", 1000)).user.display_name, "Zoë");
    assert.equal((await request("GET", "/account", me)).body.user.display_name, "Zoë");
    const list = await request("GET", `/users/profiles?ids=${me.user.id},${other.user.id},999999999`, other);
    assert.deepEqual(list.body.profiles, [
      { id: me.user.id, username: me.user.username, display_name: "Zoë" },
      { id: other.user.id, username: other.user.username, display_name: null },
    ]);
    // Cleared: null again, and told.
    assert.equal((await request("PUT", "/account/profile", me, { display_name: null })).body.user.display_name, null);
    assert.equal((await theirs.nextOf("user_updated", 1000)).user.display_name, null);
    mine.ws.close();
    theirs.ws.close();
  });

  it("refuses control and bidi-override characters, empty and overlong names, with clear errors", async () => {
    const me = await signup(base, "dn");
    for (const [name, code] of [["a\u202Eb", "display_name_invalid"], ["a\nb", "display_name_invalid"],
      ["a\u2066b", "display_name_invalid"], ["   ", "display_name_empty"], ["x".repeat(65), "display_name_too_long"]]) {
      const res = await request("PUT", "/account/profile", me, { display_name: name });
      assert.equal(res.status, 400, name);
      assert.equal(res.body.error.code, code, name);
    }
    assert.equal((await request("PUT", "/account/profile", me, { display_name: "x".repeat(64) })).status, 200);
    assert.equal((await request("GET", "/users/profiles?ids=1,x", me)).status, 400);
  });
});

describe("account deletion", () => {
  /** A user who wrote in a room and in a conversation with a friend, who watches both. */
  async function leaver() {
    const me = await signup(base, "del");
    const friend = await signup(base, "fr");
    await post(base, "/users/add", { username: friend.user.username }, auth(me));
    await post(base, "/users/add", { username: me.user.username }, auth(friend));
    const dm = (await post(base, "/dms", { username: friend.user.username }, auth(me))).body.conversation.id;
    const personal = await openSocket(base, me.token, "/ws");
    await personal.nextOf("connection");
    const { c: inRoom } = await joinRoom(base, room.id, me);
    const inDm = await openSocket(base, me.token, `/dms/${dm}/ws`);
    await inDm.nextOf("connection");
    inDm.send({ type: "join_room" });
    await inDm.nextOf("history");
    inRoom.send({ type: "new_chat_message", body: "secret in the room", client_id: "r1" });
    await inRoom.nextOf("new_chat_message");
    inDm.send({ type: "new_direct_message", body: "secret in the dm", client_id: "d1" });
    await inDm.nextOf("new_direct_message");
    const { c: watchRoom } = await joinRoom(base, room.id, friend);
    const watchDm = await openSocket(base, friend.token, `/dms/${dm}/ws`);
    await watchDm.nextOf("connection");
    watchDm.send({ type: "join_room" });
    const before = await watchDm.nextOf("history");
    assert.ok(before.messages.some((m) => m.body === "secret in the dm"));
    return { me, friend, dm, sockets: { personal, inRoom, inDm }, watchRoom, watchDm };
  }

  it("closes the conversation for the other person's open socket, and leaves nobody to target by the old name", async () => {
    const { me, friend, watchDm, sockets } = await leaver();
    const owner = await signup(base, "dlo");
    const priv = (await post(base, "/rooms", { name: `dl ${Date.now() % 100000}`, private: true }, auth(owner))).body.room;
    await post(base, `/rooms/${priv.id}/invite`, { username: me.user.username }, auth(owner));
    await post(base, `/rooms/${priv.id}/join`, "", auth(me));
    assert.equal((await request("DELETE", "/account", me, { password: PASSWORD })).status, 200);
    await Promise.all(Object.values(sockets).map((s) => s.closed));
    // the friend's socket, open all along, can no longer write into the conversation
    watchDm.send({ type: "new_direct_message", body: "are you there?", client_id: "gone1" });
    for (;;) {
      const f = await watchDm.next();
      assert.notEqual(f.type, "new_direct_message", "a message to a deleted account was accepted");
      if (f.type === "error") { assert.equal(f.code, "dm_closed"); break; }
    }
    // the name, kept until its release, is nobody to befriend, block, invite or ban
    for (const path of ["/users/add", "/users/block"]) {
      const r = await post(base, path, { username: me.user.username }, auth(friend));
      assert.deepEqual([r.status, r.body.error?.code], [404, "user_not_found"], path);
    }
    const inv = await post(base, `/rooms/${priv.id}/invite`, { username: me.user.username }, auth(owner));
    assert.deepEqual([inv.status, inv.body.error?.code], [404, "user_not_found"]);
    const admin = await signup(base, "dla");
    stack.makeAdmin(admin.user.username);
    for (const path of ["/users/ban", "/users/promote"]) {
      const r = await post(base, path, { username: me.user.username, reason: "gone" }, auth(admin));
      assert.deepEqual([r.status, r.body.error?.code], [404, "user_not_found"], path);
    }
    // and no longer listed among the private room's members
    const members = (await (await fetch(`${base}/rooms/${priv.id}/members`, { headers: auth(owner) })).json()).members;
    assert.ok(!members.some((m) => m.id === me.user.id));
    watchDm.ws.close();
  });

  it("refuses a wrong password as a failed login, and changes nothing", async () => {
    const me = await signup(base, "del");
    const res = await request("DELETE", "/account", me, { password: "not my password" });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, "wrong_password");
    assert.equal((await request("GET", "/account", me)).status, 200);
  });

  it("closes every socket, tombstones every message in rooms and conversations, and keeps the name for the grace period", async () => {
    const ctx = await leaver();
    const { me, friend, dm } = ctx;
    // An entry of the moderation log about the account (a promotion), to be kept.
    const admin = await signup(base, "adm");
    stack.makeAdmin(admin.user.username);
    assert.equal((await post(base, "/users/promote", { username: me.user.username }, auth(admin))).status, 200);
    const started = Date.now();
    const res = await request("DELETE", "/account", me, { password: PASSWORD });
    assert.equal(res.status, 200);
    assert.ok(res.body.release_at >= started + 30 * 24 * 3600 * 1000);
    const { slowest, codes } = await closedCodes(ctx.sockets, started);
    assert.deepEqual(codes, { personal: CLOSE_SESSION_ENDED, inRoom: CLOSE_SESSION_ENDED, inDm: CLOSE_SESSION_ENDED });
    assert.ok(slowest < 2000, `closed at once (${slowest} ms)`);
    // The others are told, in the room and in the conversation.
    const told = await ctx.watchRoom.nextOf("account_deleted", 2000);
    assert.deepEqual({ ...told, change: undefined }, { type: "account_deleted", user_id: me.user.id, tombstone: "deleted account", change: undefined });
    assert.ok(told.change > 0, "a change of the room's change log (PROTOCOL.md Guarantees)");
    assert.equal((await ctx.watchDm.nextOf("account_deleted", 2000)).user_id, me.user.id);
    // Nothing of the messages through any route: history pages, a resume, the list of conversations.
    for (const p of [`/rooms/${room.id}/messages?limit=50`, `/dms/${dm}/messages?limit=50`]) {
      const page = await request("GET", p, p.startsWith("/dms") ? friend : await signup(base, "rd"));
      assert.equal(page.status, 200, p);
      assert.ok(!JSON.stringify(page.body).includes("secret"), `${p}: ${JSON.stringify(page.body)}`);
      assert.ok(!page.body.messages.some((m) => m.user_id === me.user.id), p);
    }
    // A client that was away learns it when it comes back: its resume replays the
    // change log (each message of theirs, deleted), however long it was gone.
    const back = await openSocket(base, friend.token, `/rooms/${room.id}/ws`);
    await back.nextOf("connection");
    back.send({ type: "join_room", since: 0 });
    const history = await back.nextOf("history");
    assert.ok(!history.messages.some((m) => m.user.id === me.user.id));
    back.send({ type: "join_room", since: history.last_seq, changes_since: 0 });
    const resumed = await back.nextOf("history");
    const gone = resumed.changes.filter((m) => m.deleted);
    assert.ok(gone.length >= 1, JSON.stringify(resumed.changes));
    assert.ok(!JSON.stringify(resumed).includes("secret"), JSON.stringify(resumed));
    back.ws.close();
    const list = await request("GET", "/dms", friend);
    assert.ok(!JSON.stringify(list.body).includes("secret"), JSON.stringify(list.body));
    // Relations are gone both ways; the account shows as a tombstone.
    assert.deepEqual((await request("GET", "/friends", friend)).body.friends, []);
    assert.deepEqual((await request("GET", `/users/profiles?ids=${me.user.id}`, friend)).body.profiles,
      [{ id: me.user.id, username: "deleted account", display_name: null }]);
    // No session, no login; the name stays taken for the grace period.
    assert.equal((await request("GET", "/account", me)).status, 401);
    assert.equal((await login(me.user.username)).status, 401);
    const again2 = await post(base, "/signup", { username: me.user.username, password: "someone else" });
    assert.equal(again2.status, 409);
    assert.equal(again2.body.error.code, "username_taken");
    // The moderation log keeps its entry about the account, by id.
    const rows = d1(`SELECT action, target_id, actor_id FROM moderation_log WHERE target_id = ${me.user.id}`);
    assert.deepEqual(rows, [{ action: "promote", target_id: me.user.id, actor_id: admin.user.id }]);
    // Once the grace period is over (made so here), anyone may take the name.
    d1(`UPDATE users SET release_at = ${Date.now() - 1} WHERE id = ${me.user.id}`);
    const taken = await post(base, "/signup", { username: me.user.username, password: "someone else" });
    assert.equal(taken.status, 201);
    assert.notEqual(taken.body.user.id, me.user.id);
    ctx.watchRoom.ws.close();
    ctx.watchDm.ws.close();
  });
});

describe("export", () => {
  it("streams my account, relations, rooms and every message I wrote, as one documented JSON document", async () => {
    const me = await signup(base, "ex");
    const friend = await signup(base, "ex");
    const blocked = await signup(base, "ex");
    await post(base, "/users/add", { username: friend.user.username }, auth(me));
    await post(base, "/users/add", { username: me.user.username }, auth(friend));
    await post(base, "/users/block", { username: blocked.user.username }, auth(me));
    const mine = await createRoom(base, me);
    const dm = (await post(base, "/dms", { username: friend.user.username }, auth(me))).body.conversation.id;
    const { c: inRoom } = await joinRoom(base, mine.id, me);
    for (const [i, body] of ["first", "second", "to delete"].entries()) {
      inRoom.send({ type: "new_chat_message", body, client_id: `x${i}` });
      await inRoom.nextOf("new_chat_message");
    }
    inRoom.send({ type: "delete_message", seq: 3 });
    await inRoom.nextOf("message_deleted");
    const inDm = await openSocket(base, me.token, `/dms/${dm}/ws`);
    await inDm.nextOf("connection");
    inDm.send({ type: "join_room" });
    await inDm.nextOf("history");
    inDm.send({ type: "new_direct_message", body: "hello friend", client_id: "d0" });
    await inDm.nextOf("new_direct_message");
    // Someone else's message is not mine to export.
    const { c: theirs } = await joinRoom(base, mine.id, friend);
    theirs.send({ type: "new_chat_message", body: "not yours", client_id: "t0" });
    await theirs.nextOf("new_chat_message");

    const res = await fetch(`${base}/account/export`, { headers: auth(me) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-disposition"), /^attachment; filename="chat-export-\d+\.json"$/);
    const text = await res.text();
    const doc = JSON.parse(text);
    assert.equal(doc.format, "chat-export/1");
    assert.deepEqual(Object.keys(doc), ["format", "exported_at", "account", "sessions", "friends", "requests_sent",
      "requests_received", "blocks", "rooms_created", "conversations", "messages"]);
    assert.equal(doc.account.username, me.user.username);
    assert.deepEqual(doc.friends.map((f) => f.id), [friend.user.id]);
    assert.deepEqual(doc.blocks.map((b) => b.id), [blocked.user.id]);
    assert.deepEqual(doc.rooms_created.map((r) => r.id), [mine.id]);
    assert.deepEqual(doc.conversations.map((c) => c.id), [dm]);
    const bodies = doc.messages.map((m) => `${m.kind}:${m.body}`).sort();
    assert.deepEqual(bodies, ["dm:hello friend", "room:first", "room:second"]);
    assert.ok(doc.messages.every((m) => typeof m.seq === "number" && typeof m.created_at === "number"));
    assert.ok(!text.includes(me.token) && !/[0-9a-f]{64}/.test(text), "no token or hash");
    assert.equal((await fetch(`${base}/account/export`)).status, 401);
    for (const s of [inRoom, inDm, theirs]) s.ws.close();
  });
});
