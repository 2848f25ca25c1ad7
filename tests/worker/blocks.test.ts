// A block hides the blocked person's messages from the blocker wherever a body
// would reach them (wasm/social.h social_shows). The conversation's room refuses
// new messages once it is told of the block, but it can be told late: a message
// racing the block, or a configuration gone stale. The personal socket's
// notification is checked against the user's blocks when it is delivered, so
// none gets through even then (durable-objects/user-hub.ts, deliver).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { PublicUser } from "../../worker/env";
import { act } from "../../worker/social";
import { type Account, connect, post, racing, signup } from "./helpers";

const auth = (who: Account) => ({ Authorization: `Bearer ${who.token}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Makes a and b friends, and a opens their conversation: its id. */
async function friendsInConversation(a: Account, b: Account): Promise<number> {
  expect((await post("/users/add", { username: b.user.username }, auth(a))).status).toBe(200);
  expect((await post("/users/add", { username: a.user.username }, auth(b))).status).toBe(200);
  const opened = await post("/dms", { username: b.user.username }, auth(a));
  return ((await opened.json()) as { conversation: { id: number } }).conversation.id;
}

describe("blocks and the personal socket", () => {
  it("withholds a DM notification from a user who blocks its author, even when the room still takes the message", async () => {
    const a = await signup("na"), b = await signup("nb");
    const id = await friendsInConversation(a, b);

    const personal = await connect("/ws", b.token);
    expect((await personal.next()).type).toBe("connection");
    const conv = await connect(`/dms/${id}/ws`, a.token);
    await conv.next();
    conv.send({ type: "join_room" });
    await conv.nextOf("history");
    conv.send({ type: "new_direct_message", body: "before the block", client_id: "n1" });
    expect((await conv.nextOf("new_direct_message")).body).toBe("before the block");
    expect((await personal.nextOf("new_direct_message")).body).toBe("before the block");

    expect((await post("/users/block", { username: a.user.username }, auth(b))).status).toBe(200);
    // The room learns of it late: it still thinks the conversation open.
    const members: [number, number] = [Math.min(a.user.id, b.user.id), Math.max(a.user.id, b.user.id)];
    await env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`dm:${id}`)).configure(id, { kind: "dm", members, open: true });
    conv.send({ type: "new_direct_message", body: "after the block", client_id: "n2" });
    expect((await conv.nextOf("new_direct_message")).body).toBe("after the block");
    await sleep(300); // the notification would have been delivered by now
    personal.send({ type: "ping", ref: "last" });
    expect(await personal.next()).toEqual({ type: "pong", ref: "last" }); // nothing arrived before it
    conv.ws.close();
    personal.ws.close();
  });

  it("keeps the newest block list a conversation holds when a socket opens: an older one never replaces it", async () => {
    const a = await signup("va"), b = await signup("vb");
    const id = await friendsInConversation(a, b);
    // b's hub told the conversation of a newer list (a block that crossed the
    // socket's opening): version 5 says b blocks a, while D1 and the hub's first
    // list (version 1) still say nobody.
    const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`dm:${id}`));
    const ca = await connect(`/dms/${id}/ws`, a.token);
    await ca.nextOf("connection");
    expect(await stub.updateBlocks(b.user.id, [a.user.id], 5)).toBeUndefined();
    const cb = await connect(`/dms/${id}/ws`, b.token);
    await cb.nextOf("connection");
    cb.send({ type: "join_room" });
    await cb.nextOf("history");
    ca.send({ type: "join_room" });
    await ca.nextOf("history");
    ca.send({ type: "new_direct_message", body: "can you see this", client_id: "v1" });
    await ca.nextOf("new_direct_message");
    await sleep(300);
    cb.send({ type: "ping", ref: "last" });
    expect(await cb.next()).toEqual({ type: "pong", ref: "last" }); // a's message never reached b
    ca.ws.close();
    cb.ws.close();
  });
});

describe("a block racing an accept", () => {
  it("never stores a friendship beside a block: the accept decided before the block is decided again", async () => {
    const a = await signup(), b = await signup();
    expect((await post("/users/add", { username: b.user.username }, auth(a))).status).toBe(200);
    // b accepts (adds a back); a's block lands between b's decision and b's store,
    // as a's own request stores it (requests and friendship gone, the block in).
    const race = racing("social", () => [
      env.DB.prepare("DELETE FROM friend_requests WHERE (from_id = ?1 AND to_id = ?2) OR (from_id = ?2 AND to_id = ?1)").bind(a.user.id, b.user.id),
      env.DB.prepare("DELETE FROM friendships WHERE (user_id = ?1 AND friend_id = ?2) OR (user_id = ?2 AND friend_id = ?1)").bind(a.user.id, b.user.id),
      env.DB.prepare("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)").bind(a.user.id, b.user.id, Date.now()),
    ]);
    const accept = new TextEncoder().encode(JSON.stringify({ username: a.user.username }));
    const answer = await act(race.core, race.env, b.user as PublicUser, "add", accept).catch((e: unknown) => e);
    const friends = await env.DB.prepare("SELECT count(*) AS n FROM friendships WHERE user_id = ? AND friend_id = ?")
      .bind(a.user.id, b.user.id).first<{ n: number }>();
    expect(friends!.n).toBe(0);
    expect((answer as { state?: string }).state).not.toBe("friends");
    const blocks = await env.DB.prepare("SELECT count(*) AS n FROM blocks WHERE blocker_id = ? AND blocked_id = ?")
      .bind(a.user.id, b.user.id).first<{ n: number }>();
    expect(blocks!.n).toBe(1);
  });
});
