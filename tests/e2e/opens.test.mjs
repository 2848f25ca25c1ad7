// End-to-end: a warm socket open costs no D1 query (issue 21: the session is
// checked in D1 once per LIMITS.sessionCacheMs per isolate, the room is known,
// whom the user blocks comes from their hub, the address was written lately), and
// what that must not weaken: a session revoked in any way cannot open a socket,
// even one this isolate checked a moment before; a block made right after a socket
// opened reaches it; an unknown room is refused.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

describe("socket opens against wrangler dev", () => {
  let stack;
  before(async () => { stack = await startStack({ vars: { CHAT_DEBUG_COUNTERS: "1" } }); });
  after(async () => { await stack?.stop(); });

  const counters = async () => (await fetch(`${stack.base}/__debug/counters`)).json();

  it("reads nothing from D1 for a warm open, and refuses a revoked session", async () => {
    const { base } = stack;
    const a = await signup(base);
    const room = await createRoom(base, a);
    const first = await joinRoom(base, room.id, a); // cold: the session, the room, the address
    first.c.ws.close();
    const before = await counters();
    const opens = 5;
    for (let i = 0; i < opens; i++) {
      const { c, history } = await joinRoom(base, room.id, a);
      assert.equal(history.room_id, room.id);
      c.ws.close();
    }
    const after = await counters();
    assert.equal(after.socket_opens - before.socket_opens, opens);
    assert.equal(after.d1_queries - before.d1_queries, 0, "a warm open asks D1 nothing");
    // logging out revokes the session at once, though this isolate checked it lately
    assert.equal((await post(base, "/logout", "", auth(a))).status, 200);
    await assert.rejects(openSocket(base, a.token, `/rooms/${room.id}/ws`), (e) => e.status === 401);
    await assert.rejects(openSocket(base, a.token, "/ws"), (e) => e.status === 401);
    // an unknown room is refused, warm or not
    const b = await signup(base);
    await assert.rejects(openSocket(base, b.token, "/rooms/999999/ws"), (e) => e.status === 404);
  });

  it("refuses a session this isolate checked a moment ago once anything revoked it: another session's logout of it, a password change, a deletion", async () => {
    const { base } = stack;
    const password = "correct horse battery";
    const cases = {
      "revoked from another session": async (who, other) => {
        const listed = (await (await fetch(`${base}/account/sessions`, { headers: auth(other) })).json()).sessions;
        const target = listed.find((s) => !s.current); // who's
        const res = await fetch(`${base}/account/sessions/${target.id}`, { method: "DELETE", headers: auth(other) });
        assert.equal(res.status, 200);
      },
      "a password change elsewhere": async (who, other) => {
        const res = await post(base, "/account/password", { current: password, new: `${password} 2` }, auth(other));
        assert.equal(res.status, 200, JSON.stringify(res.body));
      },
      "the account deleted": async (who) => {
        const res = await fetch(`${base}/account`, { method: "DELETE", headers: { ...auth(who), "Content-Type": "application/json" },
          body: JSON.stringify({ password }) });
        assert.equal(res.status, 200);
      },
    };
    let deleted;
    for (const [what, revoke] of Object.entries(cases)) {
      const name = `rev${Date.now() % 1e6}${Object.keys(cases).indexOf(what)}`;
      const made = await post(base, "/signup", { username: name, password });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const who = { token: made.body.token, user: made.body.user };
      const login = await post(base, "/login", { username: name, password });
      const other = { token: login.body.token, user: login.body.user };
      const room = await createRoom(base, other);
      (await joinRoom(base, room.id, who)).c.ws.close(); // this isolate now knows the session
      (await openSocket(base, who.token)).ws.close();
      await revoke(who, other);
      // from an address the user was never seen at
      await assert.rejects(openSocket(base, who.token, `/rooms/${room.id}/ws`, "127.0.0.7"), (e) => e.status === 401, what);
      await assert.rejects(openSocket(base, who.token, "/ws", "127.0.0.7"), (e) => e.status === 401, what);
      if (what === "the account deleted") deleted = who.user.id;
    }
    // A refused open records nothing: the deletion removed the account's addresses,
    // and none came back (the hub refuses before the Worker records an address).
    const [ips] = stack.d1(`SELECT ip FROM user_ips WHERE user_id = ${deleted}`);
    assert.deepEqual(ips, []);
  });

  it("a block made right after a socket opens reaches it (whom a user blocks now comes from their hub)", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const room = await createRoom(base, a);
    const { c: ca } = await joinRoom(base, room.id, a);
    const { c: cb } = await joinRoom(base, room.id, b);
    assert.equal((await post(base, "/users/block", { username: a.user.username }, auth(b))).status, 200);
    ca.send({ type: "new_chat_message", body: "can you hear me", client_id: "x1" });
    await ca.nextOf("new_chat_message");
    ca.send({ type: "new_chat_message", body: "still there?", client_id: "x2" });
    await ca.nextOf("new_chat_message");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(cb.frames.filter((f) => f.type === "new_chat_message").length, 0);
    // a new socket of b's, opened after the block, knows it from the start: its
    // history marks a's messages as blocked (a placeholder b may reveal)
    const again = await joinRoom(base, room.id, b);
    assert.deepEqual(again.history.messages.map((m) => [m.body, m.blocked]), [["can you hear me", true], ["still there?", true]]);
  });
});
