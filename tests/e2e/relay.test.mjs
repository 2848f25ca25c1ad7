// End-to-end: a big room's relays (issue 21, part 5; durable-objects/room-relay.ts).
// CHAT_RELAY_FROM=1 makes a room holding one socket relay, so a handful of clients
// show what thousands would: from that size the room sends each new socket to a
// relay object (counted at /__debug/counters), and for its users nothing changes:
// messages go both ways between held and relayed sockets in one order, history
// and blocks hold, a kick, a logout and a ban close relayed sockets with their
// codes, a refusal keeps its status, a relayed socket that leaves is forgotten,
// and when the room's core is rebuilt its relayed sockets close with
// LIMITS.closeRestart (1012) and reconnect. Against the real
// stack (`wrangler dev`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, signup, startStack } from "./harness.mjs";
import { LIMITS } from "../../worker/generated/core.js";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

/** The next `n` chat messages a client gets (batches are unpacked by the harness). */
async function messages(c, n) {
  const out = [];
  while (out.length < n) {
    const f = await c.nextOf("new_chat_message");
    out.push(f.message ?? f);
  }
  return out;
}

/** Waits for a socket's close; its code, or "open" after `ms`. */
const closeCode = (c, ms = 5000) => Promise.race([c.closed.then((x) => x.code),
  new Promise((r) => setTimeout(() => r("open"), ms))]);

describe("a big room's relays", () => {
  let stack, base, admin;
  before(async () => {
    stack = await startStack({ vars: { CHAT_RELAY_FROM: "1", CHAT_DEBUG_COUNTERS: "1", CHAT_TEST_HOOKS: "1" } });
    base = stack.base;
    admin = await signup(base, "admin");
    stack.makeAdmin(admin.user.username);
  });
  after(async () => { await stack?.stop(); });

  const relayed = async () => (await (await fetch(`${base}/__debug/counters`)).json()).relayed_opens;

  /** A room of `owner` that `people` joined as members. */
  async function bigRoom(owner, people) {
    const room = await createRoom(base, owner);
    for (const p of people) assert.equal((await post(base, `/rooms/${room.id}/join`, "", auth(p))).status, 200);
    return room;
  }

  it("sends new sockets through relays, and chat works across held and relayed sockets in one order", async () => {
    const owner = await signup(base), b = await signup(base), c = await signup(base);
    const room = await createRoom(base, owner);
    const before = await relayed();
    const { c: co } = await joinRoom(base, room.id, owner); // no socket there yet: held by the room
    assert.equal(await relayed(), before);
    co.send({ type: "new_chat_message", body: "before", client_id: "m0" });
    assert.equal((await messages(co, 1))[0].body, "before");
    assert.equal((await post(base, `/rooms/${room.id}/join`, "", auth(b))).status, 200);
    const { c: cb, history } = await joinRoom(base, room.id, b);
    const { c: cc } = await joinRoom(base, room.id, c); // a reader of a public room, not a member
    assert.equal(await relayed(), before + 2, "both later sockets went through relays");
    assert.deepEqual(history.messages.map((m) => m.body), ["before"]);
    for (let i = 0; i < 5; i++) {
      co.send({ type: "new_chat_message", body: `o${i}`, client_id: `o${i}` });
      cb.send({ type: "new_chat_message", body: `b${i}`, client_id: `b${i}` });
    }
    const [mo, mb, mc] = await Promise.all([messages(co, 10), messages(cb, 10), messages(cc, 10)]);
    assert.deepEqual(mo.map((m) => m.seq), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(mb.map((m) => m.body), mo.map((m) => m.body));
    assert.deepEqual(mc.map((m) => m.body), mo.map((m) => m.body));
    // a relayed sender is acknowledged as any sender is (its own message comes back with its client_id)
    assert.deepEqual(mb.filter((m) => m.body.startsWith("b")).map((m) => m.client_id), ["b0", "b1", "b2", "b3", "b4"]);
    for (const x of [co, cb, cc]) x.ws.close();
  });

  it("filters what a relayed socket's user blocks", async () => {
    const owner = await signup(base), b = await signup(base), c = await signup(base);
    const room = await bigRoom(owner, [b, c]);
    const { c: co } = await joinRoom(base, room.id, owner);
    const { c: cb } = await joinRoom(base, room.id, b);
    const { c: cc } = await joinRoom(base, room.id, c);
    assert.equal((await post(base, "/users/block", { username: owner.user.username }, auth(c))).status, 200);
    co.send({ type: "new_chat_message", body: "from the blocked", client_id: "x1" });
    await messages(cb, 1);
    cb.send({ type: "new_chat_message", body: "from b", client_id: "x2" });
    assert.deepEqual((await messages(cb, 1)).map((m) => m.body), ["from b"]);
    assert.deepEqual((await messages(cc, 1)).map((m) => m.body), ["from b"], "c never got the blocked user's message");
    for (const x of [co, cb, cc]) x.ws.close();
  });

  it("closes relayed sockets on a kick, a logout and a ban, with their codes, within a second", async () => {
    const owner = await signup(base), b = await signup(base), c = await signup(base), d = await signup(base);
    const room = await bigRoom(owner, [b, c, d]);
    const { c: co } = await joinRoom(base, room.id, owner);
    const [{ c: cb }, { c: cc }, { c: cd }] = await Promise.all([b, c, d].map((p) => joinRoom(base, room.id, p)));
    const cases = [
      [cb, () => post(base, `/rooms/${room.id}/kick`, { username: b.user.username }, auth(owner)), LIMITS.closeRemoved],
      [cc, () => post(base, "/logout", "", auth(c)), LIMITS.closeSessionEnded],
      [cd, () => post(base, "/users/ban", { username: d.user.username }, auth(admin)), LIMITS.closeBanned],
    ];
    for (const [socket, act, code] of cases) {
      const started = Date.now();
      assert.equal((await act()).status, 200);
      assert.equal(await closeCode(socket, 3000), code);
      assert.ok(Date.now() - started < 1000 + 500, `closed in ${Date.now() - started} ms`);
    }
    // and the room goes on for the others
    co.send({ type: "new_chat_message", body: "still here", client_id: "k1" });
    assert.equal((await messages(co, 1))[0].body, "still here");
    co.ws.close();
  });

  it("forgets a relayed socket that leaves, and refuses one past the per-room limit as the room would", async () => {
    const owner = await signup(base), b = await signup(base);
    const room = await bigRoom(owner, [b]);
    const { c: co } = await joinRoom(base, room.id, owner);
    const open = () => openSocket(base, b.token, `/rooms/${room.id}/ws`);
    const before = await relayed();
    for (let i = 0; i < LIMITS.userConnsMax + 3; i++) {
      const s = await open();
      await s.nextOf("connection");
      s.ws.close();
      await s.closed;
    }
    assert.equal(await relayed(), before + LIMITS.userConnsMax + 3);
    // the user is not counted as there: a new socket of the owner's sees only the owner
    await new Promise((r) => setTimeout(r, 300));
    const { c: co2, presence } = await joinRoom(base, room.id, owner);
    assert.deepEqual(presence.online, [owner.user.id]);
    // held at once, a user's relayed sockets count toward their limit here
    const heldOpen = [];
    for (let i = 0; i < LIMITS.userConnsMax; i++) heldOpen.push(await open());
    await assert.rejects(open(), (e) => e.status === 429);
    for (const x of [co, co2, ...heldOpen]) x.ws.close();
  });

  it("closes relayed sockets with closeRestart when the room's core is rebuilt, and they reconnect", async () => {
    const owner = await signup(base), b = await signup(base);
    const room = await bigRoom(owner, [b]);
    const { c: co } = await joinRoom(base, room.id, owner);
    const { c: cb } = await joinRoom(base, room.id, b);
    const trapped = await post(base, `/__test/rooms/${room.id}/trap`, "");
    assert.deepEqual(trapped.body, { trapped: true });
    assert.equal(await closeCode(cb), LIMITS.closeRestart);
    const { c: again } = await joinRoom(base, room.id, b);
    co.send({ type: "new_chat_message", body: "after", client_id: "r1" });
    assert.equal((await messages(again, 1))[0].body, "after");
    again.ws.close(); co.ws.close();
  });
});
