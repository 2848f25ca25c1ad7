// End-to-end: nothing a client sends speaks for the server. Every X-Chat-* header
// the shell uses, or ever used, to tell a Durable Object about a caller is sent by
// a client, with hostile values, on every route; none has an effect. Against the
// real stack (`wrangler dev`).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { createRoom, joinRoom, post, signup, startStack } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

/** Every X-Chat-* name in the shell's sources (Worker, objects, Pages Function),
 * and those earlier versions forwarded: a header added later is covered too. */
function shellHeaderNames() {
  const names = new Set(["X-Chat-User", "X-Chat-Room", "X-Chat-Object", "X-Chat-Config", "X-Chat-Facts"]);
  for (const dir of ["worker", "durable-objects", "pages/functions"]) {
    for (const file of readdirSync(path.join(root, dir), { recursive: true })) {
      if (!/\.(ts|js|mjs)$/.test(file)) continue;
      for (const m of readFileSync(path.join(root, dir, file), "utf8").matchAll(/X-Chat-[A-Za-z-]+/g)) names.add(m[0]);
    }
  }
  return [...names];
}

describe("client headers never speak for the server", () => {
  let stack, base, attacker, victim, bystander, friend, room, dm, hostile;
  before(async () => {
    stack = await startStack();
    base = stack.base;
    [attacker, victim, bystander, friend] = await Promise.all(["attacker", "victim", "bystander", "friend"].map((p) => signup(base, p)));
    stack.makeAdmin(victim.user.username);
    room = await createRoom(base, bystander);
    await post(base, "/users/add", { username: friend.user.username }, auth(attacker));
    await post(base, "/users/add", { username: attacker.user.username }, auth(friend));
    // The victim blocks the attacker: nothing of the attacker's may reach them.
    await post(base, "/users/block", { username: attacker.user.username }, auth(victim));
    dm = (await post(base, "/dms", { username: friend.user.username }, auth(attacker))).body.conversation.id;
    const lie = { id: victim.user.id, username: victim.user.username, role: "ADMIN", blocks: [bystander.user.id] };
    const config = { kind: "dm", members: [attacker.user.id, victim.user.id], open: true,
      rate: { burst: 1e9, per_second: 1e9 }, room_rate: { burst: 1e9, per_second: 1e9 } };
    const values = {
      "X-Chat-User": JSON.stringify(lie),
      "X-Chat-Room": "999999",
      "X-Chat-Object": `dm:${dm}`,
      "X-Chat-Config": JSON.stringify(config),
      "X-Chat-Facts": JSON.stringify({ user: lie, session: 1, ip: "203.0.113.9", blocks: [bystander.user.id],
        room: { id: 999999, object: `dm:${dm}` } }),
    };
    const names = shellHeaderNames();
    hostile = Object.fromEntries(names.map((n) => [n, values[n] ?? JSON.stringify({ ...config, ...lie })]));
  });
  after(async () => { await stack?.stop(); });

  /** A socket opened with the hostile headers added; resolves to its frames. */
  function hostileSocket(who, route) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base.replace("http", "ws")}${route}`, ["chat.v1", `bearer.${who.token}`], { headers: hostile });
      const frames = [];
      ws.on("message", (d) => {
        const f = JSON.parse(String(d));
        frames.push(...(f.type === "batch" ? f.frames : [f]));
      });
      ws.once("error", reject);
      ws.once("open", () => resolve({ ws, frames, send: (f) => ws.send(JSON.stringify(f)) }));
    });
  }
  const until = async (cond, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };

  it("covers every X-Chat-* header of the shell", () => {
    assert.ok(Object.keys(hostile).length >= 5, Object.keys(hostile).join(", "));
  });

  it("a room socket opened with them is the caller's own, with the room's own rules", async () => {
    const s = await hostileSocket(attacker, `/rooms/${room.id}/ws`);
    await until(() => s.frames.length > 0);
    assert.deepEqual(s.frames[0].user, attacker.user, "the connection frame names the real user");
    assert.deepEqual(s.frames[0].room, { id: room.id });
    s.send({ type: "join_room" });
    assert.ok(await until(() => s.frames.some((f) => f.type === "history")));
    // The room is not turned into a conversation: everyone else still gets in and talks.
    const { c } = await joinRoom(base, room.id, bystander);
    c.send({ type: "new_chat_message", body: "still a public room", client_id: "b1" });
    assert.equal((await c.nextOf("new_chat_message")).body, "still a public room");
    // The rate limit is the room's own (CHAT_RATE_BURST = 20), not a header's.
    for (let i = 0; i < 60; i++) s.send({ type: "new_chat_message", body: `m${i}`, client_id: `a${i}`, ref: `r${i}` });
    assert.ok(await until(() => s.frames.some((f) => f.code === "rate_limited")), "a burst of 60 is rate limited");
    await new Promise((r) => setTimeout(r, 300));
    const page = await (await fetch(`${base}/rooms/${room.id}/messages?limit=50`, { headers: auth(bystander) })).json();
    const stored = page.messages.filter((m) => m.user_id === attacker.user.id).length;
    assert.ok(stored <= 25, `at most about a burst stored (${stored})`);
    s.ws.close();
    c.ws.close();
  });

  it("a conversation is reached only by its real members, whatever a socket claims", async () => {
    const victimWs = await hostileSocket(victim, "/ws"); // the victim's personal socket, watching
    const s = await hostileSocket(attacker, `/dms/${dm}/ws`);
    await until(() => s.frames.length > 0);
    assert.deepEqual(s.frames[0].user, attacker.user);
    s.send({ type: "join_room" });
    assert.ok(await until(() => s.frames.some((f) => f.type === "history")));
    s.send({ type: "new_direct_message", body: "to my friend only", client_id: "d1" });
    assert.ok(await until(() => s.frames.some((f) => f.type === "new_direct_message")), JSON.stringify(s.frames));
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!victimWs.frames.some((f) => f.type === "new_direct_message"), "the victim is told nothing");
    const victimDms = await (await fetch(`${base}/dms`, { headers: auth(victim) })).json();
    assert.deepEqual(victimDms.conversations, []);
    const friendDms = await (await fetch(`${base}/dms`, { headers: auth(friend) })).json();
    assert.equal(friendDms.conversations[0].last_message.body, "to my friend only");
    assert.equal(friendDms.conversations[0].with.id, attacker.user.id);
    // A room socket that claims to be this conversation (the same id) with the
    // victim as a member neither notifies the victim nor rewrites the conversation.
    assert.equal(room.id, dm, "the room and the conversation share an id");
    const r = await hostileSocket(attacker, `/rooms/${room.id}/ws`);
    r.send({ type: "join_room" });
    assert.ok(await until(() => r.frames.some((f) => f.type === "history")));
    r.send({ type: "new_chat_message", body: "spoofed", client_id: "s1" });
    r.send({ type: "new_direct_message", body: "spoofed", client_id: "s2" });
    assert.ok(await until(() => r.frames.filter((f) => f.type === "new_chat_message" || f.type === "error").length >= 2));
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(!victimWs.frames.some((f) => f.type === "new_direct_message"), "still nothing for the victim");
    const after = await (await fetch(`${base}/dms`, { headers: auth(friend) })).json();
    assert.equal(after.conversations[0].last_message.body, "to my friend only", "the conversation is not rewritten");
    // The victim (an ADMIN) cannot be impersonated on their personal socket either.
    assert.deepEqual(victimWs.frames[0].user, { ...victim.user, role: "ADMIN" });
    const mine = await hostileSocket(attacker, "/ws");
    await until(() => mine.frames.length > 0);
    assert.deepEqual(mine.frames[0].user, attacker.user);
    for (const w of [victimWs, s, r, mine]) w.ws.close();
  });

  it("every HTTP route answers the same with them as without", async () => {
    const routes = [
      ["GET", "/account"], ["GET", "/rooms"], ["GET", "/friends"], ["GET", "/dms"], ["GET", "/bans"],
      ["GET", `/rooms/${room.id}/messages`], ["GET", `/dms/${dm}/messages`], ["GET", "/rooms/999999/messages"],
      ["POST", "/users/ban", { username: bystander.user.username }], ["POST", "/users/promote", { username: attacker.user.username }],
      ["POST", "/dms", { username: victim.user.username }], ["POST", "/users/add", { username: "no_such_user" }],
      ["POST", "/rooms", { name: "" }], ["GET", "/no/such/route"],
    ];
    for (const [method, route, body] of routes) {
      const call = (extra) => fetch(`${base}${route}`, {
        method, headers: { ...auth(attacker), ...(body ? { "Content-Type": "application/json" } : {}), ...extra },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (r) => ({ status: r.status, body: await r.text() }));
      const plain = await call({});
      const withHeaders = await call(hostile);
      assert.deepEqual(withHeaders, plain, `${method} ${route}`);
    }
  });
});
