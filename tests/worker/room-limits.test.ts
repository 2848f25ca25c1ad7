// A room's limits of one client, in the Workers runtime (issue 13, items 3 to 5):
// a rate_limited refusal echoes the frame's ref; the flood penalty outlives the
// room's memory (hibernation, a reconnect); sockets that never join are closed
// after CHAT_UNJOINED_TIMEOUT_MS, even across a hibernation, so that hoarders
// cannot hold a room full. Each case is named after the abuse it stops.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../worker/generated/core";
import { type Client, connect, createRoom, joinRoom, signup } from "./helpers";

const closed = (ws: WebSocket) => new Promise<CloseEvent>((r) => ws.addEventListener("close", r));

/** Sends pings until the socket is closed; returns how many were refused first. */
async function floodUntilClosed(c: Client): Promise<{ refused: number; code: number }> {
  const end = closed(c.ws);
  let refused = 0, over = false;
  void end.then(() => { over = true; });
  for (let i = 0; i < 200 && !over; i++) {
    try {
      c.send({ type: "ping", ref: `f${i}` });
    } catch {
      break; // closing
    }
  }
  const ev = await end;
  for (;;) { // what arrived before the close
    const f = await Promise.race([c.next(), new Promise<null>((r) => setTimeout(() => r(null), 50))]);
    if (!f) break;
    if (f.type === "error" && f.code === "rate_limited") refused++;
  }
  return { refused, code: ev.code };
}

describe("a room's limits of one client", () => {
  it("a message refused for its sender's rate carries its ref, so the client can match it", async () => {
    const a = await signup("rl");
    const room = await createRoom(a);
    const { c } = await joinRoom(room.id, a);
    for (let i = 0; i < LIMITS.rateBurst + 5; i++) {
      c.send({ type: "new_chat_message", body: `m${i}`, client_id: `c${i}`, ref: `c${i}` });
    }
    const refusals = [];
    for (let seen = 0; seen < LIMITS.rateBurst + 5; seen++) {
      const f = await c.next();
      if (f.type === "error") refusals.push(f);
    }
    expect(refusals.length).toBeGreaterThan(0);
    for (const f of refusals) expect(f).toMatchObject({ code: "rate_limited", ref: expect.stringMatching(/^c\d+$/) });
    c.ws.close();
  });

  it("a flooder closed with 1008 gets no fresh flood allowance from a hibernation and a reconnect", async () => {
    const a = await signup("flooder");
    const room = await createRoom(a);
    const { c } = await joinRoom(room.id, a);
    const first = await floodUntilClosed(c);
    expect(first).toEqual({ refused: LIMITS.floodBurst, code: LIMITS.closePolicy });

    await evictDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`)));
    const { c: again } = await joinRoom(room.id, a); // join_room takes a token: none are left
    const second = await floodUntilClosed(again);
    expect(second.code).toBe(LIMITS.closePolicy);
    // the flood bucket refills at CHAT_FLOOD_PER_SECOND: a few seconds gave a few back
    expect(second.refused).toBeLessThan(LIMITS.floodBurst / 2);
  });

  it("sockets that never join are closed once they are older than the timeout, across a hibernation", async () => {
    const [a, b] = [await signup("hoard"), await signup("late")];
    const room = await createRoom(a);
    const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`));
    const idle: Client[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connect(`/rooms/${room.id}/ws`, a.token);
      await c.nextOf("connection");
      idle.push(c);
    }
    const { c: member } = await joinRoom(room.id, a); // joined: it stays
    const endings = idle.map((c) => closed(c.ws));
    // As if they had opened long ago: their attachments say when (the core's attach).
    await runInDurableObject(stub, async (_obj, state) => {
      for (const ws of state.getWebSockets()) {
        const att = ws.deserializeAttachment() as { data: { joined: boolean; opened_at?: number } };
        if (!att.data.joined) {
          expect(att.data.opened_at).toBeTypeOf("number");
          ws.serializeAttachment({ ...att, data: { ...att.data, opened_at: Date.now() - LIMITS.unjoinedTimeoutMs - 1 } });
        }
      }
    });
    await evictDurableObject(stub);
    const { c: newcomer } = await joinRoom(room.id, b); // the next open closes them
    for (const ev of await Promise.all(endings)) expect(ev.code).toBe(LIMITS.closeUnjoined);
    newcomer.send({ type: "new_chat_message", body: "there is room", client_id: "r1" });
    expect((await member.nextOf("new_chat_message")).body).toBe("there is room");
    member.ws.close();
    newcomer.ws.close();
  });
});
