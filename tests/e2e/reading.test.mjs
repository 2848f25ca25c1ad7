// End-to-end: read markers, unread and mention counts (issue 15) against
// `wrangler dev`: counts in GET /rooms?mine=1 and live room_activity on the
// personal socket, mark_read moving forward only, mention frames, and mentions that
// never reach a blocker or a non-member of a private room.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

async function mine(base, who) {
  const res = await fetch(`${base}/rooms?mine=1`, { headers: auth(who) });
  return (await res.json()).rooms;
}

/** The next frame of `type` whose fields match `want`, within the timeout. */
async function nextMatching(c, type, want, timeoutMs = 8000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const f = await c.nextOf(type, Math.max(1, end - Date.now()));
    if (Object.entries(want).every(([k, v]) => f[k] === v)) return f;
  }
}

describe("read markers, unread counts and mentions against wrangler dev", () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  it("counts unread messages and mentions from a member's marker, live and in my rooms", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const room = await createRoom(base, a);
    await post(base, `/rooms/${room.id}/join`, "", auth(b));
    const personal = await openSocket(base, b.token);
    await personal.nextOf("connection");
    const { c: ca } = await joinRoom(base, room.id, a);
    ca.send({ type: "new_chat_message", body: "one", client_id: "1" });
    await ca.nextOf("new_chat_message");
    ca.send({ type: "new_chat_message", body: `hey @${b.user.username.toUpperCase()}, look`, client_id: "2" });
    await ca.nextOf("new_chat_message");
    ca.send({ type: "new_chat_message", body: "three", client_id: "3" });
    await ca.nextOf("new_chat_message");

    const mention = await personal.nextOf("mention");
    assert.equal(mention.room_id, room.id);
    assert.equal(mention.seq, 2);
    assert.deepEqual(mention.from, { id: a.user.id, username: a.user.username });
    const live = await nextMatching(personal, "room_activity", { room_id: room.id, unread: 3 });
    assert.equal(live.mentions, 1);
    assert.equal(live.last_seq, 3);
    const listed = (await mine(base, b)).find((r) => r.id === room.id);
    assert.deepEqual([listed.last_seq, listed.unread, listed.mentions], [3, 3, 1]);
    // the author has nothing unread from themselves
    assert.equal((await mine(base, a)).find((r) => r.id === room.id).unread, 0);

    // b reads up to 2: one unread left, and the mention is read
    const { c: cb } = await joinRoom(base, room.id, b);
    cb.send({ type: "mark_read", seq: 2 });
    const after2 = await nextMatching(personal, "room_activity", { room_id: room.id, unread: 1 });
    assert.equal(after2.mentions, 0);
    // backwards changes nothing; past the end stops at the last message
    cb.send({ type: "mark_read", seq: 1 });
    cb.send({ type: "mark_read", seq: 99 });
    await nextMatching(personal, "room_activity", { room_id: room.id, unread: 0 });
    const read = (await mine(base, b)).find((r) => r.id === room.id);
    assert.deepEqual([read.unread, read.mentions], [0, 0]);
    // a non-member has no marker
    const stranger = await signup(base);
    const { c: cs } = await joinRoom(base, room.id, stranger);
    cs.send({ type: "mark_read", seq: 3, ref: "m" });
    const refused = await cs.nextOf("error");
    assert.deepEqual([refused.code, refused.ref], ["not_member", "m"]);
    ca.ws.close(); cb.ws.close(); cs.ws.close(); personal.ws.close();
  });

  it("a member who was away gets live counts again as soon as their client lists their rooms", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const room = await createRoom(base, a);
    await post(base, `/rooms/${room.id}/join`, "", auth(b));
    const { c: ca } = await joinRoom(base, room.id, a);
    // b has no personal socket: the room finds them away and leaves them out
    ca.send({ type: "new_chat_message", body: "while away", client_id: "w1" });
    await ca.nextOf("new_chat_message");
    await new Promise((r) => setTimeout(r, 1500));
    const personal = await openSocket(base, b.token);
    await personal.nextOf("connection");
    assert.equal((await mine(base, b)).find((r) => r.id === room.id).unread, 1); // listing: about again
    ca.send({ type: "new_chat_message", body: "now here", client_id: "w2" });
    await ca.nextOf("new_chat_message");
    const live = await nextMatching(personal, "room_activity", { room_id: room.id, unread: 2 }, 5000);
    assert.equal(live.last_seq, 2);
    ca.ws.close(); personal.ws.close();
  });

  it("naming strangers in a public room notifies none of them (no mention, no room_activity)", async () => {
    const { base } = stack;
    const a = await signup(base), stranger = await signup(base);
    const room = await createRoom(base, a);
    const personal = await openSocket(base, stranger.token);
    await personal.nextOf("connection");
    const { c: ca } = await joinRoom(base, room.id, a);
    for (let i = 0; i < 3; i++) {
      ca.send({ type: "new_chat_message", client_id: `s${i}`, body: `@${stranger.user.username} look ${i}` });
      await ca.nextOf("new_chat_message");
    }
    await new Promise((r) => setTimeout(r, 1500)); // past a room_activity interval
    personal.send({ type: "ping", ref: "p" });
    for (;;) {
      const f = await personal.next();
      assert.ok(!["mention", "room_activity"].includes(f.type), `a stranger was told ${f.type}`);
      if (f.type === "pong") break;
    }
    assert.equal((await mine(base, stranger)).find((r) => r.id === room.id), undefined);
    ca.ws.close(); personal.ws.close();
  });

  it("never tells a mention to someone who blocks the author, or to a non-member of a private room", async () => {
    const { base } = stack;
    const a = await signup(base), blocker = await signup(base), outsider = await signup(base), friend = await signup(base);
    const made = await post(base, "/rooms", { name: `mx${Date.now() % 100000} private`, private: true }, auth(a));
    const room = made.body.room;
    for (const who of [blocker, friend]) {
      await post(base, `/rooms/${room.id}/invite`, { username: who.user.username }, auth(a));
      await post(base, `/rooms/${room.id}/join`, "", auth(who));
    }
    await post(base, "/users/block", { username: a.user.username }, auth(blocker));
    const sockets = {};
    for (const [name, who] of Object.entries({ blocker, outsider, friend })) {
      sockets[name] = await openSocket(base, who.token);
      await sockets[name].nextOf("connection");
    }
    const { c: ca } = await joinRoom(base, room.id, a);
    ca.send({ type: "new_chat_message", client_id: "x",
      body: `@${blocker.user.username} @${outsider.user.username} @${friend.user.username} hello` });
    await ca.nextOf("new_chat_message");
    const told = await sockets.friend.nextOf("mention");
    assert.equal(told.seq, 1);
    // the others get nothing: a ping's pong comes first
    for (const name of ["blocker", "outsider"]) {
      sockets[name].send({ type: "ping", ref: "p" });
      for (;;) {
        const f = await sockets[name].next();
        assert.notEqual(f.type, "mention", `${name} was told a mention`);
        if (f.type === "pong") break;
      }
    }
    assert.equal((await mine(base, blocker)).find((r) => r.id === room.id).mentions, 0);
    assert.equal((await mine(base, friend)).find((r) => r.id === room.id).mentions, 1);
    ca.ws.close();
    for (const s of Object.values(sockets)) s.ws.close();
  });
});
