// End-to-end: message search (issue 17) against `wrangler dev`. A room's search
// finds a message by its words with the match marked, never once it is deleted,
// by its new words once edited; leaves out blocked authors as history does; is
// refused to a non-member of a private room; answers hostile queries with 400
// query_invalid (never a 500); pages with `before`; and GET /search merges my
// rooms and conversations newest first.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });
const MARK = ["\u0002", "\u0003"];

describe("search", () => {
  let stack, base;
  before(async () => {
    stack = await startStack();
    base = stack.base;
  });
  after(async () => stack?.stop());

  const get = async (who, path) => {
    const res = await fetch(`${base}${path}`, { headers: auth(who) });
    return { status: res.status, body: await res.json() };
  };
  const search = (who, where, q, extra = "") => get(who, `${where}/search?q=${encodeURIComponent(q)}${extra}`);
  const seqs = (res) => res.body.results.map((r) => r.seq);

  /** Sends a message on a joined socket; resolves to its seq. */
  async function say(c, body, type = "new_chat_message") {
    const client_id = `k${Math.random().toString(36).slice(2)}`;
    c.send({ type, body, client_id });
    for (;;) {
      const f = await c.next();
      if (f.client_id === client_id && typeof f.seq === "number") return f.seq;
      if (f.type === "error") throw new Error(JSON.stringify(f));
    }
  }

  it("finds a message by its words, marks them, and follows edits and deletions", async () => {
    const alice = await signup(base, "sa");
    const room = await createRoom(base, alice);
    const where = `/rooms/${room.id}`;
    const { c } = await joinRoom(base, room.id, alice);
    const s1 = await say(c, "The quick brown fox jumps");
    const s2 = await say(c, "a lazy dog sleeps");
    const s3 = await say(c, "Crème brûlée for the fox");

    const found = await search(alice, where, "fox");
    assert.equal(found.status, 200);
    assert.equal(found.body.room_id, room.id);
    assert.deepEqual(seqs(found), [s3, s1]);
    assert.equal(found.body.results[1].snippet, `The quick brown ${MARK[0]}fox${MARK[1]} jumps`);
    assert.deepEqual(found.body.results[1].user, { id: alice.user.id, username: alice.user.username });
    assert.equal(typeof found.body.results[1].created_at, "number");
    assert.deepEqual(seqs(await search(alice, where, "creme")), [s3]);
    assert.deepEqual(seqs(await search(alice, where, '"brown fox"')), [s1]);
    assert.deepEqual(seqs(await search(alice, where, '"fox brown"')), []);
    assert.deepEqual(seqs(await search(alice, where, "qui* fox")), [s1]);

    c.send({ type: "delete_message", seq: s1 });
    await c.nextOf("message_deleted");
    assert.deepEqual(seqs(await search(alice, where, "fox")), [s3]);
    assert.deepEqual(seqs(await search(alice, where, "quick")), []);

    c.send({ type: "edit_message", seq: s2, body: "an energetic hound runs" });
    const edited = await c.nextOf("message_edited");
    assert.equal(edited.seq, s2);
    assert.deepEqual(seqs(await search(alice, where, "lazy")), []);
    const byNew = await search(alice, where, "hound");
    assert.deepEqual(seqs(byNew), [s2]);
    assert.equal(typeof byNew.body.results[0].edited_at, "number");
    c.ws.close();
  });

  it("leaves out the messages of people I block, as history does", async () => {
    const me = await signup(base, "sb"), rude = await signup(base, "sr");
    const room = await createRoom(base, me);
    const { c: mine } = await joinRoom(base, room.id, me);
    const { c: theirs } = await joinRoom(base, room.id, rude);
    const kept = await say(mine, "pineapple pizza is fine");
    await say(theirs, "pineapple pizza is a crime");
    assert.equal((await search(me, `/rooms/${room.id}`, "pineapple")).body.results.length, 2);
    assert.equal((await post(base, "/users/block", { username: rude.user.username }, auth(me))).status, 200);
    assert.deepEqual(seqs(await search(me, `/rooms/${room.id}`, "pineapple")), [kept]);
    assert.equal((await search(rude, `/rooms/${room.id}`, "pineapple")).body.results.length, 2);
    mine.ws.close();
    theirs.ws.close();
  });

  it("refuses a private room's search to a non-member, and an unknown room", async () => {
    const owner = await signup(base, "so"), stranger = await signup(base, "ss");
    const made = await post(base, "/rooms", { name: `secret ${Date.now()}`, private: true }, auth(owner));
    const id = made.body.room.id;
    const { c } = await joinRoom(base, id, owner);
    await say(c, "the launch code is banana");
    assert.equal((await search(owner, `/rooms/${id}`, "banana")).body.results.length, 1);
    const refused = await search(stranger, `/rooms/${id}`, "banana");
    const history = await get(stranger, `/rooms/${id}/messages`);
    assert.equal(refused.body.error.code, "not_member");
    assert.deepEqual([refused.status, refused.body], [history.status, history.body]); // as history refuses it
    assert.equal((await search(stranger, "/rooms/999999", "banana")).status, 404);
    const global = await get(stranger, `/search?q=banana`);
    assert.deepEqual(global.body.results, []);
    c.ws.close();
  });

  it("answers hostile queries with 400 query_invalid or a plain search, never a 500", async () => {
    const me = await signup(base, "sh");
    const room = await createRoom(base, me);
    const { c } = await joinRoom(base, room.id, me);
    await say(c, "near body secret and or not");
    const invalid = ['"unbalanced', "*", "", "   ", "^", "()", "a*", "x\u0001y", "a ".repeat(9), "x".repeat(257),
      "w ".repeat(5 * 1024)];
    for (const q of invalid) {
      const res = await search(me, `/rooms/${room.id}`, q);
      assert.equal(res.status, 400, JSON.stringify(q).slice(0, 40));
      assert.equal(res.body.error.code, "query_invalid");
    }
    const literal = ["NEAR(near body)", "body:secret", "{body}:secret", "^near", "(near OR body)", "near AND body",
      "NOT secret", "near + body", "sec*", '"and or"', "日本語", "ÀÉÎ"];
    for (const q of literal) {
      const res = await search(me, `/rooms/${room.id}`, q);
      assert.equal(res.status, 200, q);
    }
    assert.equal((await search(me, `/rooms/${room.id}`, "body:secret")).body.results.length, 1);
    assert.equal((await search(me, `/rooms/${room.id}`, "NOT secret")).body.results.length, 1); // the words not and secret
    for (const extra of ["&before=0", "&before=x", "&limit=0", "&limit=51", "&q=again"]) {
      assert.equal((await search(me, `/rooms/${room.id}`, "near", extra)).status, 400, extra);
    }
    const raw = await get(me, `/rooms/${room.id}/search?q=%zz`);
    assert.equal(raw.status, 400);
    assert.equal((await get(me, `/search?q=%22open`)).status, 400);
    assert.equal((await get(me, `/search?q=near&before=5`)).status, 400);
    c.ws.close();
  });

  it("pages back with before, newest first", async () => {
    const me = await signup(base, "sp");
    const room = await createRoom(base, me);
    const { c } = await joinRoom(base, room.id, me);
    const all = [];
    for (let i = 0; i < 7; i++) {
      all.push(await say(c, `needle number ${i}`));
      await say(c, `hay ${i}`);
    }
    const pages = [];
    let cursor = "";
    for (;;) {
      const res = await search(me, `/rooms/${room.id}`, "needle", `&limit=3${cursor}`);
      assert.equal(res.status, 200);
      pages.push(seqs(res));
      if (!res.body.has_more) {
        assert.equal(res.body.next_before, null);
        break;
      }
      cursor = `&before=${res.body.next_before}`;
    }
    assert.deepEqual(pages, [all.slice(4).reverse(), all.slice(1, 4).reverse(), [all[0]]]);
    c.ws.close();
  });

  it("searches across my rooms and conversations, merged newest first", async () => {
    const me = await signup(base, "sg"), friend = await signup(base, "sf"), other = await signup(base, "sx");
    const r1 = await createRoom(base, me), r2 = await createRoom(base, me), notMine = await createRoom(base, other);
    const { c: c1 } = await joinRoom(base, r1.id, me);
    const { c: c2 } = await joinRoom(base, r2.id, me);
    const { c: c3 } = await joinRoom(base, notMine.id, other);
    await post(base, "/users/add", { username: friend.user.username }, auth(me));
    await post(base, "/users/add", { username: me.user.username }, auth(friend));
    const dm = (await post(base, "/dms", { username: friend.user.username }, auth(me))).body.conversation.id;
    const d = await openSocket(base, me.token, `/dms/${dm}/ws`);
    await d.nextOf("connection");
    d.send({ type: "join_room" });
    await d.nextOf("history");

    const a = await say(c1, "walrus one");
    await say(c3, "walrus in a room that is not mine");
    const b = await say(c2, "walrus two");
    const x = await say(d, "walrus in a conversation", "new_direct_message");
    const cc = await say(c1, "walrus three");

    const res = await get(me, `/search?q=walrus`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.results.map((r) => [r.room_id ?? `dm${r.conversation_id}`, r.seq]),
      [[r1.id, cc], [`dm${dm}`, x], [r2.id, b], [r1.id, a]]);
    assert.ok(res.body.results[0].snippet.includes(`${MARK[0]}walrus${MARK[1]}`));
    assert.deepEqual(res.body.skipped, []);
    assert.equal(res.body.more_rooms, false);
    const two = await get(me, `/search?q=walrus&limit=2`);
    assert.equal(two.body.results.length, 2);
    assert.equal(two.body.has_more, true);
    assert.deepEqual((await get(me, `/dms/${dm}/search?q=walrus`)).body.results.map((r) => r.seq), [x]);
    assert.equal((await get(other, `/dms/${dm}/search?q=walrus`)).body.error.code, "not_member");
    for (const s of [c1, c2, c3, d]) s.ws.close();
  });
});
