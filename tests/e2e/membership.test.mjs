// End-to-end: room membership (issue 15) against `wrangler dev`: join and leave,
// my rooms against the searchable directory, private rooms (invisible, closed to
// non-members, invitations with a live room_invite, kicks that close sockets),
// and member pages.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, openSocket, post, signup, startStack } from "./harness.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });

async function get(base, route, who) {
  const res = await fetch(`${base}${route}`, { headers: auth(who) });
  return { status: res.status, body: await res.json() };
}

describe("room membership against wrangler dev", () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  it("joining makes a member until they leave; my rooms and the directory differ", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    const tag = `zq${Date.now() % 100000}`;
    const room = await createRoom(base, a, `${tag} Garden`);
    await createRoom(base, a, `other ${tag}`);
    // the creator is its first member
    let mine = await get(base, "/rooms?mine=1", a);
    assert.ok(mine.body.rooms.some((r) => r.id === room.id && r.standing === "member"));
    assert.equal((await get(base, "/rooms?mine=1", b)).body.rooms.length, 0);
    // the directory by name prefix, case-insensitively
    const found = await get(base, `/rooms?q=${tag.toUpperCase()}%20g`, b);
    assert.deepEqual(found.body.rooms.map((r) => r.id), [room.id]);
    assert.equal((await get(base, "/rooms?q=%zz", b)).status, 400);

    assert.equal((await post(base, `/rooms/${room.id}/join`, "", auth(b))).body.standing, "member");
    assert.equal((await post(base, `/rooms/${room.id}/join`, "", auth(b))).body.standing, "member"); // again: the same
    mine = await get(base, "/rooms?mine=1", b);
    assert.deepEqual(mine.body.rooms.map((r) => [r.id, r.standing]), [[room.id, "member"]]);
    const members = await get(base, `/rooms/${room.id}/members`, b);
    assert.deepEqual(members.body.members.map((m) => m.id).sort(), [a.user.id, b.user.id].sort());
    const page = await get(base, `/rooms/${room.id}/members?limit=1`, b);
    assert.equal(page.body.members.length, 1);
    assert.ok(page.body.next_cursor);
    const rest = await get(base, `/rooms/${room.id}/members?limit=1&after=${page.body.next_cursor}`, b);
    assert.equal(rest.body.members.length, 1);
    assert.equal(rest.body.next_cursor, null);

    assert.equal((await post(base, `/rooms/${room.id}/leave`, "", auth(b))).body.standing, "none");
    assert.equal((await get(base, "/rooms?mine=1", b)).body.rooms.length, 0);
    const again = await post(base, `/rooms/${room.id}/leave`, "", auth(b));
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, "not_member");
  });

  it("a private room is invisible and closed to non-members until they are invited", async () => {
    const { base } = stack;
    const owner = await signup(base), friend = await signup(base), stranger = await signup(base);
    const tag = `pv${Date.now() % 100000}`;
    const made = await post(base, "/rooms", { name: `${tag} den`, private: true }, auth(owner));
    assert.equal(made.status, 201);
    const room = made.body.room;
    assert.equal(room.private, true);
    // not in the directory, for anyone
    assert.equal((await get(base, `/rooms?q=${tag}`, stranger)).body.rooms.length, 0);
    assert.equal((await get(base, `/rooms?q=${tag}`, owner)).body.rooms.length, 0);
    // no socket, no history, no members, no joining without an invitation
    await assert.rejects(openSocket(base, stranger.token, `/rooms/${room.id}/ws`), (e) => e.status === 404);
    assert.equal((await get(base, `/rooms/${room.id}/messages`, stranger)).status, 404);
    assert.equal((await get(base, `/rooms/${room.id}/members`, stranger)).status, 404);
    const refused = await post(base, `/rooms/${room.id}/join`, "", auth(stranger));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, "not_invited");
    // only the owner invites
    const notOwner = await post(base, `/rooms/${room.id}/invite`, { username: friend.user.username }, auth(stranger));
    assert.equal(notOwner.body.error.code, "forbidden");
    const nobody = await post(base, `/rooms/${room.id}/invite`, { username: "no_such_person_xx" }, auth(owner));
    assert.equal(nobody.body.error.code, "user_not_found");

    const personal = await openSocket(base, friend.token);
    await personal.nextOf("connection");
    await personal.nextOf("friends_presence");
    const invited = await post(base, `/rooms/${room.id}/invite`, { username: friend.user.username }, auth(owner));
    assert.equal(invited.body.standing, "invited");
    const told = await personal.nextOf("room_invite");
    assert.deepEqual(told.room, { id: room.id, name: `${tag} den` });
    assert.equal(told.user.id, owner.user.id);
    const listed = await get(base, "/rooms?mine=1", friend);
    assert.deepEqual(listed.body.rooms.map((r) => [r.id, r.standing, r.private]), [[room.id, "invited", true]]);
    // an invitee is not a member yet
    await assert.rejects(openSocket(base, friend.token, `/rooms/${room.id}/ws`), (e) => e.status === 404);
    assert.equal((await post(base, `/rooms/${room.id}/join`, "", auth(friend))).body.standing, "member");

    const { c: fc } = await joinRoom(base, room.id, friend);
    const { c: oc } = await joinRoom(base, room.id, owner);
    fc.send({ type: "new_chat_message", body: "hello den", client_id: "h1" });
    assert.equal((await oc.nextOf("new_chat_message")).body, "hello den");
    assert.equal((await get(base, `/rooms/${room.id}/messages`, friend)).status, 200);

    // a member cannot kick, the owner can; the kick closes the member's sockets there
    const byMember = await post(base, `/rooms/${room.id}/kick`, { username: owner.user.username }, auth(friend));
    assert.equal(byMember.body.error.code, "forbidden");
    const kicked = await post(base, `/rooms/${room.id}/kick`, { username: friend.user.username }, auth(owner));
    assert.equal(kicked.body.standing, "none");
    const closed = await fc.closed;
    assert.equal(closed.code, 4004);
    await assert.rejects(openSocket(base, friend.token, `/rooms/${room.id}/ws`), (e) => e.status === 404);
    assert.equal((await get(base, "/rooms?mine=1", friend)).body.rooms.length, 0);
    // the owner's socket stays
    oc.send({ type: "ping", ref: "p" });
    assert.equal((await oc.nextOf("pong")).ref, "p");
    oc.ws.close(); personal.ws.close();
  });

  it("a blocked inviter's invitation is not delivered live", async () => {
    const { base } = stack;
    const owner = await signup(base), blocker = await signup(base);
    const made = await post(base, "/rooms", { name: `blk${Date.now() % 100000} room`, private: true }, auth(owner));
    await post(base, "/users/block", { username: owner.user.username }, auth(blocker));
    const personal = await openSocket(base, blocker.token);
    await personal.nextOf("connection");
    await personal.nextOf("friends_presence");
    const invited = await post(base, `/rooms/${made.body.room.id}/invite`, { username: blocker.user.username }, auth(owner));
    assert.equal(invited.body.standing, "invited");
    personal.send({ type: "ping", ref: "after" });
    const next = await personal.next();
    assert.equal(next.type, "pong"); // no room_invite came first
    personal.ws.close();
  });
});
