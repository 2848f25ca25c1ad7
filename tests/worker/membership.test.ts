// Membership, read markers and presence in the Workers runtime (issue 15): what a
// room's object keeps in its own storage survives an eviction (hibernation), and
// its rebuilt core still knows who is a member and where their marker is.
import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, connect, createRoom, joinRoom, post, signup } from "./helpers";

const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

async function mine(token: string) {
  const res = await SELF.fetch(`${BASE}/rooms?mine=1`, { headers: auth(token) });
  return ((await res.json()) as { rooms: { id: number; unread: number; mentions: number; last_seq: number }[] }).rooms;
}

describe("membership across an eviction", () => {
  it("keeps members, markers and counts in the room's storage, and its rebuilt core applies them", async () => {
    const a = await signup(), b = await signup();
    const room = await createRoom(a);
    expect((await post(`/rooms/${room.id}/join`, "", auth(b.token))).status).toBe(200);
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    for (const id of ["1", "2", "3"]) {
      ca.send({ type: "new_chat_message", body: `m${id} @${b.user.username}`, client_id: id });
      await cb.nextOf("new_chat_message");
    }
    cb.send({ type: "mark_read", seq: 2 });
    cb.send({ type: "ping", ref: "after-mark" });
    await cb.nextOf("pong");

    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`)));

    // the marker stayed: one unread; b was looking, so no mention was counted
    const row = (await mine(b.token)).find((r) => r.id === room.id)!;
    expect([row.last_seq, row.unread, row.mentions]).toEqual([3, 1, 0]);
    // the rebuilt core knows b is a member with marker 2: backwards changes nothing,
    // forwards moves it
    cb.send({ type: "mark_read", seq: 1 });
    cb.send({ type: "mark_read", seq: 3 });
    cb.send({ type: "ping", ref: "p2" });
    await cb.nextOf("pong");
    expect((await mine(b.token)).find((r) => r.id === room.id)!.unread).toBe(0);
    // and a stranger still has no marker there
    const s = await signup();
    const { c: cs } = await joinRoom(room.id, s);
    cs.send({ type: "mark_read", seq: 3, ref: "m" });
    expect(await cs.nextOf("error")).toMatchObject({ code: "not_member", ref: "m" });
    for (const c of [ca, cb, cs]) c.ws.close();
  });

  it("keeps a private room closed to a non-member after an eviction", async () => {
    const a = await signup(), x = await signup();
    const made = await post("/rooms", { name: `priv ${Date.now()}`, private: true }, auth(a.token));
    const { room } = (await made.json()) as { room: { id: number } };
    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`)));
    await expect(connect(`/rooms/${room.id}/ws`, x.token)).rejects.toThrow();
    const page = await SELF.fetch(`${BASE}/rooms/${room.id}/messages`, { headers: auth(x.token) });
    expect(page.status).toBe(404);
    const { c } = await joinRoom(room.id, a);
    c.ws.close();
  });
});
