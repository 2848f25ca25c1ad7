// End-to-end: presence and typing in a room (issue 15) against `wrangler dev`:
// presence on join, presence_changed per user (a second tab does not flicker),
// typing to the others only, rate-limited, and nothing of either to a blocker.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

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

describe("presence and typing against wrangler dev", () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  it("tells who is here per user, and typing to the others at most every 2 s", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base), blocker = await signup(base);
    await post(base, "/users/block", { username: a.user.username }, auth(blocker));
    const room = await createRoom(base, a);
    const { c: ca, presence: here } = await joinRoom(base, room.id, a);
    assert.deepEqual(here.online, [a.user.id]);
    const { c: cb, presence: hereB } = await joinRoom(base, room.id, b);
    assert.deepEqual(hereB.online.sort(), [a.user.id, b.user.id].sort());
    const came = await ca.nextOf("presence_changed");
    assert.deepEqual([came.user_id, came.online], [b.user.id, true]);
    const { c: cx, presence: hereX } = await joinRoom(base, room.id, blocker);
    assert.deepEqual(hereX.online.sort(), [b.user.id, blocker.user.id].sort()); // not a, whom they block

    // a second tab of b: nobody hears of it; closing it neither
    const { c: cb2 } = await joinRoom(base, room.id, b);
    cb2.ws.close();
    // typing: b and not a itself; the blocker never; a second within 2 s dropped
    ca.send({ type: "typing" });
    ca.send({ type: "typing" });
    const typed = await gather(cb, "typing", 1500);
    assert.equal(typed.length, 1);
    assert.deepEqual([typed[0].user_id, typed[0].expires_in], [a.user.id, 6000]);
    assert.equal((await gather(cx, "typing", 300)).length, 0);
    assert.equal((await gather(ca, "typing", 100)).length, 0);
    const flicker = (await gather(ca, "presence_changed", 200)).filter((f) => f.user_id === b.user.id);
    assert.equal(flicker.length, 0);

    // b leaves: a hears it once
    cb.ws.close();
    const gone = await ca.nextOf("presence_changed");
    assert.deepEqual([gone.user_id, gone.online], [b.user.id, false]);
    ca.ws.close(); cx.ws.close();
  });
});
