// End-to-end: edits, replies, reactions and the resume that replays every change
// (issue 16) against `wrangler dev`. A client that was away while messages it had
// (old and new) were edited, reacted to and deleted resumes with
// join_room {since, changes_since} and ends with exactly the room's final state,
// as GET /rooms/:id/messages pages it, with nothing told twice.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });
const THUMBS = "\u{1F44D}";

/** A client's copy of a room, kept as PROTOCOL.md "Guarantees" says: messages by
 * seq, and the change cursor. */
class Copy {
  constructor() { this.bySeq = new Map(); this.cursor = 0; this.lastSeq = 0; this.told = []; }

  /** Applies a history frame; returns whether more changes wait (changes_more). */
  history(h) {
    for (const m of h.messages) this.put(m);
    for (const m of h.changes ?? []) {
      this.told.push(m.seq);
      if (m.deleted) this.bySeq.delete(m.seq);
      else this.put(m);
    }
    this.cursor = h.change;
    return Boolean(h.changes_more);
  }

  put(m) {
    const { change, ...message } = m;
    void change;
    this.bySeq.set(m.seq, message);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
  }

  /** A live frame; a change at or before the cursor is in the state already. */
  live(f, me) {
    if (f.type === "new_chat_message") return this.put(f);
    if (f.change === undefined || f.change <= this.cursor) return;
    this.cursor = f.change;
    const m = this.bySeq.get(f.seq);
    if (f.type === "message_deleted") this.bySeq.delete(f.seq);
    if (!m) return;
    if (f.type === "message_edited") Object.assign(m, { body: f.body, edited_at: f.edited_at });
    if (f.type === "reactions_changed") {
      const list = m.reactions ?? [];
      const r = list.find((x) => x.emoji === f.emoji) ?? list[list.push({ emoji: f.emoji, count: 0, me: false }) - 1];
      r.count += f.added ? 1 : -1;
      if (f.user_id === me) r.me = f.added;
      m.reactions = list.filter((x) => x.count > 0);
      if (!m.reactions.length) delete m.reactions;
    }
  }
}

/** Every message of the room as `who` sees it now, over HTTP pages. */
async function everything(base, roomId, who) {
  const all = new Map();
  let before = "";
  for (;;) {
    const res = await fetch(`${base}/rooms/${roomId}/messages?limit=50${before}`, { headers: auth(who) });
    assert.equal(res.status, 200);
    const page = await res.json();
    for (const m of page.messages) all.set(m.seq, m);
    if (!page.has_more) return all;
    before = `&before=${page.messages[0].seq}`;
  }
}

/** Resumes `who`'s copy: join_room {since, changes_since} until no change waits. */
async function resume(base, roomId, who, copy) {
  const { c, history } = await joinRoom(base, roomId, who, copy.lastSeq);
  void history; // joinRoom sends {since} only: ask again with the cursor
  let more = true, rounds = 0;
  while (more) {
    c.send({ type: "join_room", since: copy.lastSeq, changes_since: copy.cursor });
    more = copy.history(await c.nextOf("history"));
    rounds++;
  }
  return { c, rounds };
}

/** Sends a frame and waits for the room's answer to the sender. */
async function act(c, frame, type) {
  c.send(frame);
  return c.nextOf(type);
}

describe("edits, replies, reactions and resume against wrangler dev", () => {
  let stack;
  // many frames in a row: the per-user rate limit is raised (load tests' knob)
  before(async () => { stack = await startStack({ vars: { CHAT_RATE_PER_SECOND: "1000", CHAT_RATE_BURST: "1000" } }); });
  after(async () => { await stack?.stop(); });

  it("a client away while old and new messages change resumes to exactly the final state", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base), c = await signup(base);
    const room = await createRoom(base, a);
    const { c: ca } = await joinRoom(base, room.id, a);
    for (let i = 1; i <= 60; i++) {
      ca.send({ type: "new_chat_message", body: `line ${i}`, client_id: `m${i}` });
      await ca.nextOf("new_chat_message");
    }
    // b has every message (a page of history on join, older ones over HTTP)
    const copy = new Copy();
    const { c: cb, history } = await joinRoom(base, room.id, b);
    for (const m of (await everything(base, room.id, b)).values()) copy.put(m);
    copy.history({ ...history, messages: [] });
    assert.equal(copy.bySeq.size, 60);
    assert.equal(copy.cursor, 0);
    cb.ws.close();
    await cb.closed;

    // while b is away: edits, reactions (c's too), deletions, old and new, a reply
    const { c: cc } = await joinRoom(base, room.id, c);
    const edited = await act(ca, { type: "edit_message", seq: 1, body: "line one, *fixed*" }, "message_edited");
    assert.equal(edited.body, "line one, *fixed*");
    assert.ok(edited.change > 0);
    await act(ca, { type: "edit_message", seq: 59, body: "line 59 again" }, "message_edited");
    await act(cc, { type: "react", seq: 2, emoji: THUMBS }, "reactions_changed");
    await act(ca, { type: "react", seq: 2, emoji: THUMBS }, "reactions_changed");
    await act(cc, { type: "react", seq: 58, emoji: "+1" }, "reactions_changed");
    await act(cc, { type: "unreact", seq: 58, emoji: "+1" }, "reactions_changed");
    await act(cc, { type: "react", seq: 57, emoji: "\u{1F389}" }, "reactions_changed");
    await act(ca, { type: "delete_message", seq: 3 }, "message_deleted");
    await act(ca, { type: "delete_message", seq: 60 }, "message_deleted");
    ca.send({ type: "new_chat_message", body: "about that", client_id: "r1", reply_to: 1 });
    const reply = await ca.nextOf("new_chat_message");
    assert.deepEqual(reply.reply_to, { seq: 1, user: { id: a.user.id, username: a.user.username }, excerpt: "line one, *fixed*" });
    // the quote follows its original: edited again, then deleted
    await act(ca, { type: "edit_message", seq: 1, body: "line one, final" }, "message_edited");
    await act(ca, { type: "edit_message", seq: reply.seq, body: "about that, edited" }, "message_edited");
    // refusals: someone else's message, a deleted one, a reaction that is not one
    const refused = async (frame, code) => {
      cc.send({ ...frame, ref: code });
      const e = await cc.nextOf("error");
      assert.equal(e.code, code);
      assert.equal(e.ref, code);
    };
    await refused({ type: "edit_message", seq: 1, body: "not yours" }, "not_author");
    await refused({ type: "edit_message", seq: 3, body: "gone" }, "message_not_found");
    await refused({ type: "react", seq: 4, emoji: "a b" }, "reaction_invalid");
    await refused({ type: "new_chat_message", body: "x", client_id: "bad", reply_to: 9999 }, "reply_not_found");

    // b comes back
    const { c: back, rounds } = await resume(base, room.id, b, copy);
    assert.equal(rounds, 1);
    const final = await everything(base, room.id, b);
    assert.deepEqual([...copy.bySeq.keys()].sort((x, y) => x - y), [...final.keys()].sort((x, y) => x - y));
    for (const [seq, m] of final) assert.deepEqual(copy.bySeq.get(seq), m, `message ${seq}`);
    assert.equal(final.get(1).body, "line one, final");
    assert.ok(final.get(1).edited_at > final.get(1).created_at);
    assert.equal(final.has(3), false);
    assert.equal(final.has(60), false);
    assert.deepEqual(final.get(2).reactions, [{ emoji: THUMBS, count: 2, me: false }]);
    assert.equal(final.get(58).reactions, undefined);
    assert.equal(final.get(reply.seq).reply_to.excerpt, "line one, final");
    // each changed message was told once, in its final state
    assert.equal(new Set(copy.told).size, copy.told.length);

    // live from here: a change reaches b once, and the quote follows a deletion
    await act(ca, { type: "delete_message", seq: 1 }, "message_deleted");
    const gone = await back.nextOf("message_deleted");
    copy.live(gone, b.user.id);
    const page = await everything(base, room.id, b);
    assert.deepEqual(page.get(reply.seq).reply_to, { seq: 1, user: null, excerpt: "", deleted: true });
  });

  it("reactions of someone I block are not counted for me, and a long absence resumes in pages", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base), c = await signup(base);
    const room = await createRoom(base, a);
    const { c: ca } = await joinRoom(base, room.id, a);
    for (let i = 1; i <= 70; i++) {
      ca.send({ type: "new_chat_message", body: `m ${i}`, client_id: `m${i}` });
      await ca.nextOf("new_chat_message");
    }
    const copy = new Copy();
    const { c: cb, history } = await joinRoom(base, room.id, b);
    for (const m of (await everything(base, room.id, b)).values()) copy.put(m);
    copy.history({ ...history, messages: [] });
    cb.ws.close();
    await cb.closed;
    // more changed messages than a page (CHAT_HISTORY_PAGE, 50): a and c react to each
    const { c: cc } = await joinRoom(base, room.id, c);
    for (let seq = 1; seq <= 70; seq++) {
      await act(ca, { type: "react", seq, emoji: "+1" }, "reactions_changed");
      await act(cc, { type: "react", seq, emoji: "+1" }, "reactions_changed");
    }
    assert.equal((await post(base, "/users/block", { username: c.user.username }, auth(b))).status, 200);
    const { rounds } = await resume(base, room.id, b, copy);
    assert.equal(rounds, 2);
    const final = await everything(base, room.id, b);
    assert.equal(final.size, 70);
    for (const [seq, m] of final) {
      assert.deepEqual(m.reactions, [{ emoji: "+1", count: 1, me: false }], `message ${seq}: c's reaction is not counted`);
      assert.deepEqual(copy.bySeq.get(seq), m);
    }
    // c, who is not blocked by a, sees both
    const seenByA = await everything(base, room.id, a);
    assert.deepEqual(seenByA.get(1).reactions, [{ emoji: "+1", count: 2, me: true }]);
  });
});
