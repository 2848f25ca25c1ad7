// End-to-end: friends' online state (issue 15) and idle sockets (issue 18) against
// `wrangler dev`. A person learns at connect which friends are online
// (friends_presence) and then each change (friend_presence), per user: a second tab
// does not flicker, and a blocked or removed friend is told nothing more; GET
// /friends says who is online. A socket that sends nothing for the idle time
// (scaled down here by CHAT_IDLE_SCALE) is closed with closeIdle; one that pings
// stays, whether its pings reach the object or the runtime answers them itself.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Frames of `type` that arrive on c within ms. */
async function gather(c, type, ms) {
  const got = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const f = await c.next(Math.max(1, end - Date.now()));
      if (f.type === type) got.push(f);
    } catch {
      break;
    }
  }
  return got;
}

/** Opens a personal socket and reads its first two frames: connection, then the
 * friends online now. */
async function personal(base, who) {
  const c = await openSocket(base, who.token);
  assert.equal((await c.next()).type, "connection");
  const here = await c.nextOf("friends_presence");
  return { c, online: here.online };
}

describe("friends' presence against wrangler dev", () => {
  let stack, base;
  before(async () => { stack = await startStack(); base = stack.base; });
  after(async () => { await stack?.stop(); });

  const act = (who, action, target) => post(base, `/users/${action}`, { username: target.user.username }, auth(who));
  const onlineIn = async (who) => Object.fromEntries(
    (await (await fetch(`${base}/friends`, { headers: auth(who) })).json()).friends.map((u) => [u.id, u.online]));
  async function befriend(a, b) {
    assert.equal((await act(a, "add", b)).status, 200);
    assert.equal((await act(b, "add", a)).body.state, "friends");
  }

  it("tells a friend who comes and goes, per user, and nothing after a block or a removal", async () => {
    const a = await signup(base), b = await signup(base), c = await signup(base), stranger = await signup(base);
    await befriend(a, b);
    await befriend(a, c);
    const { c: pa, online: first } = await personal(base, a);
    assert.deepEqual(first, []);
    assert.deepEqual(await onlineIn(a), { [b.user.id]: false, [c.user.id]: false });

    // B comes: A is told once, B learns A is here; GET /friends agrees.
    const { c: b1, online: bSees } = await personal(base, b);
    assert.deepEqual(bSees, [a.user.id]);
    assert.deepEqual(await pa.nextOf("friend_presence"), { type: "friend_presence", user_id: b.user.id, online: true });
    assert.deepEqual(await onlineIn(a), { [b.user.id]: true, [c.user.id]: false });
    assert.deepEqual(await onlineIn(b), { [a.user.id]: true });
    // A stranger comes: nobody is told, and the stranger learns nothing.
    const { c: ps, online: strangerSees } = await personal(base, stranger);
    assert.deepEqual(strangerSees, []);

    // A second tab of B, and closing the first: no flicker.
    const { c: b2, online: b2Sees } = await personal(base, b);
    assert.deepEqual(b2Sees, [a.user.id]);
    b1.ws.close();
    await b1.closed;
    assert.deepEqual(await gather(pa, "friend_presence", 1500), []);
    assert.deepEqual(await onlineIn(a), { [b.user.id]: true, [c.user.id]: false });

    // B's last tab goes: A is told once.
    b2.ws.close();
    await b2.closed;
    assert.deepEqual(await pa.nextOf("friend_presence"), { type: "friend_presence", user_id: b.user.id, online: false });
    assert.deepEqual(await onlineIn(a), { [b.user.id]: false, [c.user.id]: false });

    // A second person of A's sees B come back too; then B blocks A: nothing more.
    const { c: b3 } = await personal(base, b);
    assert.equal((await pa.nextOf("friend_presence")).online, true);
    assert.equal((await act(b, "block", a)).status, 200);
    b3.ws.close();
    await b3.closed;
    const { c: b4, online: blockedSees } = await personal(base, b);
    assert.deepEqual(blockedSees, []);
    b4.ws.close();
    await b4.closed;
    assert.deepEqual(await gather(pa, "friend_presence", 1500), []);

    // C is removed by A: C's comings are not told either.
    assert.equal((await act(a, "remove", c)).status, 200);
    const { c: pc } = await personal(base, c);
    assert.deepEqual(await gather(pa, "friend_presence", 1500), []);
    assert.deepEqual(await onlineIn(a), {});
    for (const s of [pa, ps, pc]) s.ws.close();
  });
});

describe("idle sockets against wrangler dev (idle time scaled down 20-fold)", () => {
  const SCALE = 20;
  let stack, base, limits;
  before(async () => {
    stack = await startStack({ vars: { CHAT_IDLE_SCALE: String(SCALE) } });
    base = stack.base;
    ({ LIMITS: limits } = await import("../../worker/generated/core.js"));
  });
  after(async () => { await stack?.stop(); });

  it("closes personal and room sockets that send nothing, keeps those that ping, and friends hear the user went", async () => {
    const idleMs = limits.idleTimeoutMs / SCALE; // 3 s
    const a = await signup(base), b = await signup(base);
    assert.equal((await post(base, "/users/add", { username: b.user.username }, auth(a))).status, 200);
    assert.equal((await post(base, "/users/add", { username: a.user.username }, auth(b))).body.state, "friends");
    const room = await createRoom(base, a);

    const { c: watcher } = await personal(base, a); // pings with a ref: the object reads them
    const { c: silent } = await personal(base, b);
    await watcher.nextOf("friend_presence");
    const { c: autoPinger } = await personal(base, a); // bare pings: the runtime answers
    const { c: roomSilent } = await joinRoom(base, room.id, b);
    const { c: roomPinger } = await joinRoom(base, room.id, a);

    const started = Date.now();
    let n = 0;
    const ping = setInterval(() => {
      watcher.send({ type: "ping", ref: `w${n}` });
      roomPinger.send({ type: "ping", ref: `r${n++}` });
      autoPinger.ws.send('{"type":"ping"}');
    }, idleMs / 4);
    try {
      const [personalClose, roomClose] = await Promise.all([silent.closed, roomSilent.closed]);
      const took = Date.now() - started;
      assert.equal(personalClose.code, limits.closeIdle);
      assert.equal(roomClose.code, limits.closeIdle);
      assert.ok(took >= idleMs * 0.7, `closed after ${took} ms, idle time ${idleMs} ms`);
      // B's only personal socket went: A is told.
      assert.deepEqual(await watcher.nextOf("friend_presence"), { type: "friend_presence", user_id: b.user.id, online: false });
      await sleep(idleMs * 2);
      for (const c of [watcher, autoPinger, roomPinger]) assert.equal(c.ws.readyState, c.ws.OPEN);
      assert.ok(autoPinger.frames.some((f) => f.type === "pong") || (await autoPinger.nextOf("pong")));
      console.log(`idle sockets closed after ${took} ms (idle time ${idleMs} ms)`);
    } finally {
      clearInterval(ping);
      for (const c of [watcher, autoPinger, roomPinger]) c.ws.close();
    }
  });
});
