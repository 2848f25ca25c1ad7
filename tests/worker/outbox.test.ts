// A busy room's outbox holds accepted messages that are not stored yet. If the
// room's core fails then (a trap here; any failed event drops the core the same
// way), those messages are gone unacknowledged: the room must not leave their
// senders waiting on an open socket, but close every socket (1011) so clients
// reconnect and resend what is still pending (PROTOCOL.md, "Busy rooms: batches").
// Found by review; the reproducer is kept as this test.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../../durable-objects/chat-room";
import { createRoom, joinRoom, signup } from "./helpers";

describe("a room whose core fails while messages wait", () => {
  it("closes every socket with 1011, and a resend is stored once", async () => {
    const a = await signup(), b = await signup();
    const room = await createRoom(a);
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    const closed = (ws: WebSocket) => new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
    const closedA = closed(ca.ws), closedB = closed(cb.ws);
    const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`));
    await runInDurableObject(stub, async (obj: ChatRoom, state) => {
      const wsB = state.getWebSockets().find(
        (ws) => (ws.deserializeAttachment() as { data: { user: { id: number } } }).data.user.id === b.user.id)!;
      // the first goes out at once (a quiet room); the second, in the same
      // millisecond, waits in the outbox for the flush timer
      await obj.webSocketMessage(wsB, JSON.stringify({ type: "new_chat_message", body: "one", client_id: "k1" }));
      await obj.webSocketMessage(wsB, JSON.stringify({ type: "new_chat_message", body: "two", client_id: "k2" }));
      await obj.trapForTest();
    });
    expect(await closedB).toBe(1011);
    expect(await closedA).toBe(1011);
    // B reconnects, resumes and resends k2 (as the web client does): stored once.
    const { c: again, history } = await joinRoom(room.id, b);
    expect((history.messages as { client_id: string }[]).map((m) => m.client_id)).toEqual(["k1"]);
    again.send({ type: "new_chat_message", body: "two", client_id: "k2" });
    const got = await again.nextOf("new_chat_message");
    expect([got.client_id, got.seq]).toEqual(["k2", 2]);
    again.ws.close();
  });
});
