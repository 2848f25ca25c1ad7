// End-to-end: rooms with real WebSocket clients against `wrangler dev`: order,
// history, resume, retry, durability across restarts, concurrency, rate limits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, signup, startStack } from "./harness.mjs";

/** Collects `count` new_chat_message frames from a client. */
async function collect(c, count) {
  const got = [];
  while (got.length < count) got.push(await c.nextOf("new_chat_message"));
  return got;
}

const seqs = (msgs) => msgs.map((m) => m.seq);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("rooms against wrangler dev", () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  it("two clients see each other's messages in one order with contiguous seq", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const room = await createRoom(base, a);
    const { c: ca } = await joinRoom(base, room.id, a);
    const { c: cb } = await joinRoom(base, room.id, b);
    for (let i = 0; i < 10; i++) {
      ca.send({ type: "new_chat_message", body: `a${i}`, client_id: `a${i}` });
      cb.send({ type: "new_chat_message", body: `b${i}`, client_id: `b${i}` });
    }
    const [ga, gb] = await Promise.all([collect(ca, 20), collect(cb, 20)]);
    assert.deepEqual(seqs(ga), range(1, 20));
    assert.deepEqual(ga.map((m) => m.body), gb.map((m) => m.body)); // the same order for both
    assert.deepEqual(ga.map((m) => m.body).filter((x) => x.startsWith("a")), range(0, 9).map((i) => `a${i}`));
    ca.ws.close(); cb.ws.close();
  });

  it("shows a late joiner the last 50, without deleted ones, and pages back to the first", async () => {
    const { base } = stack;
    const a = await signup(base), late = await signup(base);
    const room = await createRoom(base, a);
    const { c } = await joinRoom(base, room.id, a);
    // 60 messages, sent in bursts the rate limit allows (20, then 5 a second)
    for (let i = 1; i <= 60; i++) {
      c.send({ type: "new_chat_message", body: `m${i}`, client_id: `m${i}` });
      const m = await c.nextOf("new_chat_message");
      assert.equal(m.seq, i);
      if (i >= 15) await new Promise((r) => setTimeout(r, 210));
    }
    await new Promise((r) => setTimeout(r, 1000));
    c.send({ type: "delete_message", seq: 60 });
    await c.nextOf("message_deleted");
    c.send({ type: "delete_message", seq: 30 });
    await c.nextOf("message_deleted");

    const { c: cl, history } = await joinRoom(base, room.id, late);
    assert.equal(history.messages.length, 50);
    assert.equal(history.has_more, true);
    const shown = seqs(history.messages);
    assert.ok(!shown.includes(60) && !shown.includes(30));
    assert.equal(shown.at(-1), 59);
    assert.deepEqual(shown, range(9, 59).filter((s) => s !== 30));

    // Page back over HTTP until the first message.
    const all = [...shown];
    let before = shown[0];
    for (;;) {
      const res = await fetch(`${base}/rooms/${room.id}/messages?before=${before}`, { headers: { Authorization: `Bearer ${late.token}` } });
      assert.equal(res.status, 200);
      const page = await res.json();
      all.unshift(...seqs(page.messages));
      if (!page.has_more) break;
      before = page.messages[0].seq;
    }
    assert.deepEqual(all, range(1, 59).filter((s) => s !== 30));
    c.ws.close(); cl.ws.close();
  });

  it("resumes after a disconnect with exactly the missed messages, once each", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const room = await createRoom(base, a);
    const { c: ca } = await joinRoom(base, room.id, a);
    let { c: cb } = await joinRoom(base, room.id, b);
    ca.send({ type: "new_chat_message", body: "seen", client_id: "s1" });
    const lastSeen = (await cb.nextOf("new_chat_message")).seq;
    cb.ws.close();
    await cb.closed;
    for (let i = 0; i < 5; i++) ca.send({ type: "new_chat_message", body: `missed ${i}`, client_id: `x${i}` });
    await collect(ca, 6);
    const resumed = await joinRoom(base, room.id, b, lastSeen);
    cb = resumed.c;
    assert.deepEqual(seqs(resumed.history.messages), range(lastSeen + 1, lastSeen + 5));
    assert.equal(resumed.history.has_more, false);
    assert.equal(resumed.history.since, lastSeen);
    ca.send({ type: "new_chat_message", body: "live again", client_id: "l1" });
    assert.equal((await cb.nextOf("new_chat_message")).seq, lastSeen + 6);
    ca.ws.close(); cb.ws.close();
  });

  it("stores a retried client_id once and acknowledges it with the original seq", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const room = await createRoom(base, a);
    const { c: ca } = await joinRoom(base, room.id, a);
    const { c: cb } = await joinRoom(base, room.id, b);
    ca.send({ type: "new_chat_message", body: "once", client_id: "retry-1" });
    const first = await ca.nextOf("new_chat_message");
    ca.send({ type: "new_chat_message", body: "once", client_id: "retry-1" });
    const ack = await ca.nextOf("new_chat_message");
    assert.equal(ack.seq, first.seq);
    assert.equal(ack.duplicate, true);
    ca.send({ type: "new_chat_message", body: "next", client_id: "retry-2" });
    const got = await collect(cb, 2);
    assert.deepEqual(got.map((m) => [m.seq, m.client_id]), [[first.seq, "retry-1"], [first.seq + 1, "retry-2"]]);
    ca.ws.close(); cb.ws.close();
  });

  it("answers bad frames with errors, keeps the socket, and disconnects a flood", async () => {
    const { base } = stack;
    const a = await signup(base);
    const room = await createRoom(base, a);
    const { c } = await joinRoom(base, room.id, a);
    c.send({ type: "new_chat_message", body: "", client_id: "e1", ref: "r1" });
    assert.deepEqual(await c.next(), { type: "error", code: "body_empty", message: "Messages need at least one visible character.", ref: "r1" });
    c.ws.send("not json");
    assert.equal((await c.next()).code, "bad_json");
    c.send({ type: "new_chat_message", body: "x".repeat(4001), client_id: "e2" });
    assert.equal((await c.next()).code, "body_too_long");
    c.send({ type: "new_chat_message", body: "still here", client_id: "e3" });
    assert.equal((await c.nextOf("new_chat_message")).seq, 1);
    for (let i = 0; i < 100; i++) c.send({ type: "new_chat_message", body: `flood ${i}`, client_id: `f${i}`, ref: `f${i}` });
    const { code } = await c.closed;
    assert.equal(code, 1008);
    const refused = new Set(c.frames.filter((f) => f.code === "rate_limited").map((f) => f.ref));
    const acked = c.frames.filter((f) => f.type === "new_chat_message").map((f) => f.client_id);
    assert.ok(refused.size > 0);
    // Refused messages were not stored; accepted ones were, acknowledged or not (a
    // busy room may close the socket before its batch went out: PROTOCOL.md).
    const other = await signup(base);
    const { c: co, history } = await joinRoom(base, room.id, other);
    const stored = history.messages.map((m) => m.client_id);
    assert.equal(stored[0], "e3");
    for (const id of stored.slice(1)) assert.ok(id.startsWith("f") && !refused.has(id), id);
    for (const id of acked) assert.ok(stored.includes(id), id);
    assert.ok(stored.length > 1);
    co.ws.close();
  });

  it("delivers 20 clients sending at once to every member, once each, in one order", async () => {
    const { base } = stack;
    const owner = await signup(base);
    const room = await createRoom(base, owner);
    const users = await Promise.all(Array.from({ length: 20 }, () => signup(base)));
    const clients = await Promise.all(users.map(async (u) => (await joinRoom(base, room.id, u)).c));
    const perClient = 5;
    clients.forEach((c, i) => {
      for (let k = 0; k < perClient; k++) c.send({ type: "new_chat_message", body: `c${i} m${k}`, client_id: `c${i}-${k}` });
    });
    const total = clients.length * perClient;
    const received = await Promise.all(clients.map((c) => collect(c, total)));
    const order = received[0].map((m) => m.client_id);
    assert.deepEqual(seqs(received[0]), range(1, total));
    assert.equal(new Set(order).size, total); // each message once
    for (const got of received) assert.deepEqual(got.map((m) => m.client_id), order);
    clients.forEach((c) => c.ws.close());
  });

  it("keeps rooms and messages across a restart of the server", async () => {
    const { base } = stack;
    const a = await signup(base);
    const room = await createRoom(base, a, `durable ${Date.now()}`);
    const { c } = await joinRoom(base, room.id, a);
    for (let i = 1; i <= 3; i++) c.send({ type: "new_chat_message", body: `keep ${i}`, client_id: `k${i}` });
    await collect(c, 3);
    await stack.restart();
    const list = await (await fetch(`${base}/rooms?limit=100`, { headers: { Authorization: `Bearer ${a.token}` } })).json();
    assert.ok(list.rooms.some((r) => r.id === room.id && r.name === room.name));
    const { c: again, history } = await joinRoom(base, room.id, a);
    assert.deepEqual(history.messages.map((m) => m.body), ["keep 1", "keep 2", "keep 3"]);
    again.send({ type: "new_chat_message", body: "after restart", client_id: "k4" });
    assert.equal((await again.nextOf("new_chat_message")).seq, 4);
    again.ws.close();
  });
});
