// Rooms in the Workers runtime: the directory, the room socket, hibernation
// (eviction) round-trips and recovery from a trap in the room's core.
import { SELF, env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, createRoom, joinRoom, post, signup, type Frame } from "./helpers";

const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

describe("room directory", () => {
  it("creates rooms with unique names regardless of case", async () => {
    const a = await signup();
    const name = `Unique ${Date.now()}`;
    const room = await createRoom(a, name);
    expect(room).toMatchObject({ name, creator: { id: a.user.id, username: a.user.username } });
    const dup = await post("/rooms", { name: name.toUpperCase() }, auth(a.token));
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { error: { code: string } }).error.code).toBe("room_name_taken");
  });

  it.each([
    [{ name: "" }, "room_name_empty"],
    [{ name: "x".repeat(65) }, "room_name_too_long"],
    [{ name: " padded" }, "room_name_invalid"],
    [{ name: 12 }, "field_type"],
  ])("refuses %j with 400 %s", async (body, code) => {
    const a = await signup();
    const res = await post("/rooms", body, auth(a.token));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("needs a session to create or list rooms", async () => {
    expect((await post("/rooms", { name: "nope" })).status).toBe(401);
    expect((await SELF.fetch(`${BASE}/rooms`)).status).toBe(401);
  });

  it("lists rooms by latest activity, a page at a time", async () => {
    const a = await signup();
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createRoom(a));
    // Activity in the oldest room moves it to the front.
    const { c } = await joinRoom(made[0]!.id, a);
    c.send({ type: "new_chat_message", body: "wake up", client_id: "w1" });
    await c.nextOf("new_chat_message");
    await new Promise((r) => setTimeout(r, 50)); // the directory update is asynchronous
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await SELF.fetch(`${BASE}/rooms?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { headers: auth(a.token) });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { rooms: { id: number }[]; next_cursor: string | null };
      expect(page.rooms.length).toBeLessThanOrEqual(2);
      seen.push(...page.rooms.map((r) => r.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen[0]).toBe(made[0]!.id);
    expect(new Set(seen).size).toBe(seen.length); // no room twice across pages
    for (const r of made) expect(seen).toContain(r.id);
    const bad = await SELF.fetch(`${BASE}/rooms?limit=0`, { headers: auth(a.token) });
    expect(bad.status).toBe(400);
    c.ws.close();
  });
});

describe("room socket", () => {
  it("refuses unknown rooms with 404 and missing sessions with 401", async () => {
    const a = await signup();
    const unknown = await SELF.fetch(`${BASE}/rooms/999999/ws`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${a.token}` },
    });
    expect(unknown.status).toBe(404);
    const room = await createRoom(a);
    const anon = await SELF.fetch(`${BASE}/rooms/${room.id}/ws`, { headers: { Upgrade: "websocket" } });
    expect(anon.status).toBe(401);
  });

  it("keeps members and messages across an eviction (hibernation)", async () => {
    const a = await signup(), b = await signup();
    const room = await createRoom(a);
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    ca.send({ type: "new_chat_message", body: "before", client_id: "b4" });
    expect((await cb.nextOf("new_chat_message")).seq).toBe(1);
    await ca.nextOf("new_chat_message");

    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`)));

    // Both sockets are still members: the core was rebuilt from their attachments.
    cb.send({ type: "new_chat_message", body: "after", client_id: "af" });
    const seen = await ca.nextOf("new_chat_message");
    expect(seen).toMatchObject({ seq: 2, body: "after" });
    expect((await cb.nextOf("new_chat_message")).seq).toBe(2);
    // The retry check reaches storage, not memory: a resend is still recognised.
    ca.send({ type: "new_chat_message", body: "before", client_id: "b4" });
    expect(await ca.nextOf("new_chat_message")).toMatchObject({ seq: 1, duplicate: true });
    ca.ws.close();
    cb.ws.close();
  });

  it("stores nothing when a user who blocks nobody joins, and keeps a blocker's list across an eviction", async () => {
    // A write holds every frame the room sends until it is durable (the output
    // gate): a join storm of new users must not make one per join (issue 21).
    const a = await signup(), b = await signup(), c = await signup();
    expect((await post("/users/block", { username: a.user.username }, { Authorization: `Bearer ${c.token}` })).status).toBe(200);
    const room = await createRoom(a);
    const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`));
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    const { c: cc } = await joinRoom(room.id, c);
    const kept = await runInDurableObject(stub, (_obj, state) =>
      state.storage.sql.exec<{ user_id: number }>("SELECT user_id FROM user_blocks").toArray().map((r) => r.user_id));
    expect(kept).toEqual([c.user.id]);

    await evictDurableObject(stub);
    ca.send({ type: "new_chat_message", body: "from a", client_id: "k1" });
    expect((await cb.nextOf("new_chat_message")).body).toBe("from a");
    cb.send({ type: "new_chat_message", body: "from b", client_id: "k2" });
    expect((await cb.nextOf("new_chat_message")).body).toBe("from b");
    // c blocks a: after the wake too, only b's message reaches c
    expect(await cc.nextOf("new_chat_message")).toMatchObject({ body: "from b", seq: 2 });
    for (const x of [ca, cb, cc]) x.ws.close();
  });

  it("answers a trap in the room's core with an error frame and carries on", async () => {
    const a = await signup();
    const room = await createRoom(a);
    const { c } = await joinRoom(room.id, a);
    c.send({ type: "new_chat_message", body: "one", client_id: "t1" });
    expect((await c.nextOf("new_chat_message")).seq).toBe(1);
    const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`));
    expect(await stub.trapForTest()).toBe(true);
    c.send({ type: "new_chat_message", body: "two", client_id: "t2" });
    const f: Frame = await c.nextOf("new_chat_message");
    expect(f).toMatchObject({ seq: 2, body: "two" });
    c.ws.close();
  });

  it("serves older history over HTTP, 50 a page by default", async () => {
    const a = await signup();
    const room = await createRoom(a);
    const { c } = await joinRoom(room.id, a);
    for (let i = 1; i <= 8; i++) {
      c.send({ type: "new_chat_message", body: `m${i}`, client_id: `c${i}` });
      await c.nextOf("new_chat_message");
    }
    const res = await SELF.fetch(`${BASE}/rooms/${room.id}/messages?before=6&limit=3`, { headers: auth(a.token) });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { messages: { seq: number }[]; has_more: boolean };
    expect(page.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(page.has_more).toBe(true);
    const bad = await SELF.fetch(`${BASE}/rooms/${room.id}/messages?limit=51`, { headers: auth(a.token) });
    expect(bad.status).toBe(400);
    expect((await SELF.fetch(`${BASE}/rooms/${room.id}/messages`)).status).toBe(401);
    c.ws.close();
  });
});

describe("personal and room sockets are separate objects", () => {
  it("does not mix rooms: a message in one room never reaches another", async () => {
    const a = await signup();
    const r1 = await createRoom(a), r2 = await createRoom(a);
    const { c: c1 } = await joinRoom(r1.id, a);
    const { c: c2 } = await joinRoom(r2.id, a);
    c1.send({ type: "new_chat_message", body: "only in r1", client_id: "x" });
    expect(await c1.nextOf("new_chat_message")).toMatchObject({ room_id: r1.id, seq: 1 });
    c2.send({ type: "new_chat_message", body: "only in r2", client_id: "x" });
    expect(await c2.nextOf("new_chat_message")).toMatchObject({ room_id: r2.id, seq: 1, body: "only in r2" });
    c1.ws.close();
    c2.ws.close();
  });
});
