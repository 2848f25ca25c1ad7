// End-to-end: everything that ends a session reaches the sockets already open.
// A user holds the three kinds of socket (personal, a room's, a conversation's);
// a ban (short or long reason), an IP ban, or a logout closes every one of them
// within a second with the documented close code, and nothing sent afterwards is
// stored. Against the real stack (`wrangler dev`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, requestFrom, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });
const CLOSE_BANNED = 4003;
const CLOSE_SESSION_ENDED = 4001;

describe("revocation reaches live sockets", () => {
  let stack, base, admin, room;
  before(async () => {
    stack = await startStack();
    base = stack.base;
    admin = await signup(base, "admin");
    stack.makeAdmin(admin.user.username);
    room = await createRoom(base, admin);
  });
  after(async () => { await stack?.stop(); });

  /** A user (from `address`) with a friend, holding a personal socket, a joined
   * room socket and a joined conversation socket; the admin watches the room. */
  async function victimWithSockets(address = "127.0.0.1") {
    const username = `v${process.pid % 1000}_${Date.now() % 1000000}`;
    const up = await requestFrom(address, base, "POST", "/signup", { username, password: "victim password" });
    assert.equal(up.status, 201);
    const victim = up.body;
    const friend = await signup(base, "friend");
    await post(base, "/users/add", { username: friend.user.username }, auth(victim));
    await post(base, "/users/add", { username }, auth(friend));
    const dm = (await post(base, "/dms", { username: friend.user.username }, auth(victim))).body.conversation.id;
    const personal = await openSocket(base, victim.token, "/ws", address);
    await personal.nextOf("connection");
    const inRoom = await openSocket(base, victim.token, `/rooms/${room.id}/ws`, address);
    await inRoom.nextOf("connection");
    inRoom.send({ type: "join_room" });
    await inRoom.nextOf("history");
    const inDm = await openSocket(base, victim.token, `/dms/${dm}/ws`, address);
    await inDm.nextOf("connection");
    inDm.send({ type: "join_room" });
    await inDm.nextOf("history");
    const { c: watcher } = await joinRoom(base, room.id, admin);
    const { c: friendDm } = await joinRoom(base, dm, friend, undefined).catch(() => ({ c: null }));
    return { victim, friend, dm, sockets: { personal, inRoom, inDm }, watcher };
  }

  /** Waits for every socket to close; returns the slowest delay and the codes. */
  async function allClosed(sockets, started) {
    const entries = Object.entries(sockets);
    const closedAt = await Promise.all(entries.map(([, s]) => Promise.race([
      s.closing, new Promise((r) => setTimeout(() => r(Infinity), 5000))])));
    const codes = await Promise.all(entries.map(([, s]) => Promise.race([
      s.closed.then((c) => c.code), new Promise((r) => setTimeout(() => r("open"), 3000))])));
    return {
      slowest: Math.max(...closedAt) - started,
      codes: Object.fromEntries(entries.map(([k], i) => [k, codes[i]])),
    };
  }

  /** Nothing the user sends on the (closed or still open) sockets is stored. */
  async function nothingStoredAfter(ctx, marker) {
    for (const s of Object.values(ctx.sockets)) {
      try { s.send({ type: "new_chat_message", body: marker, client_id: `${marker}-x` }); } catch { /* closed */ }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const path of [`/rooms/${room.id}/messages`, `/dms/${ctx.dm}/messages`]) {
      const reader = path.startsWith("/dms") ? ctx.friend : admin;
      const page = await (await fetch(`${base}${path}?limit=50`, { headers: auth(reader) })).json();
      assert.ok(!page.messages.some((m) => m.body === marker), `${path}: nothing stored after revocation`);
    }
  }

  for (const [label, reason] of [["a short reason", "spam"], ["a 200-byte reason", "é".repeat(100)]]) {
    it(`a ban with ${label} closes every socket of the user within a second (4003)`, async () => {
      const ctx = await victimWithSockets();
      const started = Date.now();
      const res = await post(base, "/users/ban", { username: ctx.victim.user.username, reason }, auth(admin));
      assert.equal(res.status, 200);
      const { slowest, codes } = await allClosed(ctx.sockets, started);
      assert.deepEqual(codes, { personal: CLOSE_BANNED, inRoom: CLOSE_BANNED, inDm: CLOSE_BANNED });
      assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
      await nothingStoredAfter(ctx, `after-ban-${label.length}`);
      // The room keeps serving everyone else.
      ctx.watcher.send({ type: "new_chat_message", body: "still here", client_id: `w${Date.now()}` });
      assert.equal((await ctx.watcher.nextOf("new_chat_message")).body, "still here");
      ctx.watcher.ws.close();
    });
  }

  it("a ban closes a personal socket whose hub has hibernated", async () => {
    const ctx = await victimWithSockets();
    await new Promise((r) => setTimeout(r, 12_000)); // idle past the hibernation timeout
    const started = Date.now();
    assert.equal((await post(base, "/users/ban", { username: ctx.victim.user.username }, auth(admin))).status, 200);
    const { slowest, codes } = await allClosed(ctx.sockets, started);
    assert.deepEqual(codes, { personal: CLOSE_BANNED, inRoom: CLOSE_BANNED, inDm: CLOSE_BANNED });
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    ctx.watcher.ws.close();
  });

  it("an IP ban closes every socket of the user within a second (4003)", async () => {
    const ctx = await victimWithSockets("127.0.0.9");
    const started = Date.now();
    const res = await post(base, "/users/ban", { username: ctx.victim.user.username, ip: true }, auth(admin));
    assert.deepEqual(res.body.ips, ["127.0.0.9"]);
    const { slowest, codes } = await allClosed(ctx.sockets, started);
    assert.deepEqual(codes, { personal: CLOSE_BANNED, inRoom: CLOSE_BANNED, inDm: CLOSE_BANNED });
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    await nothingStoredAfter(ctx, "after-ip-ban");
    ctx.watcher.ws.close();
  });

  for (const mode of ["logout", "ban"]) {
    it(`a socket on its way while the session ends (${mode}) is refused or closed, never kept`, async () => {
      let survivors = 0, opened = 0;
      for (let round = 0; round < 3; round++) {
        const victim = await signup(base, "racer");
        const owner = await signup(base, "owner");
        // Fresh rooms: the victim has no socket there yet when the session ends.
        const rooms = [];
        for (let i = 0; i < 40; i++) rooms.push(await createRoom(base, owner));
        const open = [];
        let next = 0, stop = false;
        const loop = async () => {
          while (!stop && next < rooms.length) {
            const r = rooms[next++];
            try { open.push(await openSocket(base, victim.token, `/rooms/${r.id}/ws`)); } catch { /* refused */ }
          }
        };
        const loops = Array.from({ length: 8 }, loop);
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 150));
        const res = mode === "ban"
          ? await post(base, "/users/ban", { username: victim.user.username }, auth(admin))
          : await post(base, "/logout", {}, auth(victim));
        assert.equal(res.status, 200);
        await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 3000))]);
        stop = true;
        await new Promise((r) => setTimeout(r, 1000));
        opened += open.length;
        const alive = open.filter((s) => s.ws.readyState === 1);
        survivors += alive.length;
        for (const s of open) s.ws.terminate();
      }
      assert.ok(opened > 0, "some sockets opened before the session ended");
      assert.equal(survivors, 0, `${survivors} of ${opened} sockets outlived the ${mode}`);
    });
  }

  it("logging out closes that session's sockets within a second (4001), and no other session's", async () => {
    const ctx = await victimWithSockets();
    // The same user on a second device: a session of its own, which stays.
    const other = await post(base, "/login", { username: ctx.victim.user.username, password: "victim password" });
    assert.equal(other.status, 200);
    const { c: otherRoom } = await joinRoom(base, room.id, other.body);
    const started = Date.now();
    assert.equal((await post(base, "/logout", {}, auth(ctx.victim))).status, 200);
    const { slowest, codes } = await allClosed(ctx.sockets, started);
    assert.deepEqual(codes, { personal: CLOSE_SESSION_ENDED, inRoom: CLOSE_SESSION_ENDED, inDm: CLOSE_SESSION_ENDED });
    assert.ok(slowest < 1000, `closed within a second (${slowest} ms)`);
    await nothingStoredAfter(ctx, "after-logout");
    otherRoom.send({ type: "new_chat_message", body: "second device", client_id: `d${Date.now()}` });
    assert.equal((await otherRoom.nextOf("new_chat_message")).body, "second device");
    otherRoom.ws.close();
    ctx.watcher.ws.close();
  });
});
