// Closing sockets: every close reason fits a Close frame (RFC 6455 section 5.5),
// and a socket a room closed never comes back when the room is rebuilt.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { closeReason, revokes } from "../../worker/close";
import { LIMITS } from "../../worker/generated/core";
import { createRoom, joinRoom, signup } from "./helpers";

const bytes = (s: string) => new TextEncoder().encode(s).length;
/** Whether s survives a UTF-8 round trip (no half character, no lone surrogate). */
const wholeUtf8 = (s: string) => new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(new TextEncoder().encode(s)) === s;

describe("closeReason", () => {
  it("keeps a reason of at most 123 bytes as it is", () => {
    expect(LIMITS.closeReasonMax).toBe(123);
    const exact = "x".repeat(123);
    expect(closeReason(exact)).toBe(exact);
    expect(closeReason("banned: spam")).toBe("banned: spam");
    expect(closeReason("")).toBe("");
  });

  it("cuts a longer reason to 123 bytes at a character boundary", () => {
    for (const unit of ["x", "é", "€", "😀", "a😀", "é€😀"]) {
      for (const reps of [40, 41, 42, 62, 63, 100, 1000]) {
        const reason = `banned: ${unit.repeat(reps)}`;
        const out = closeReason(reason);
        expect(bytes(out)).toBeLessThanOrEqual(123);
        expect(wholeUtf8(out)).toBe(true);
        if (bytes(reason) > 123) {
          expect(out.endsWith("…")).toBe(true);
          expect(reason.startsWith(out.slice(0, -1))).toBe(true);
          // nothing more would have fitted
          expect(bytes(out) + bytes([...reason.slice(out.length - 1)][0]!)).toBeGreaterThan(123);
        } else {
          expect(out).toBe(reason);
        }
      }
    }
  });

  it("is what a real socket accepts: a 500-character ban reason closes the socket", async () => {
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    client.accept();
    const closed = new Promise<CloseEvent>((r) => client.addEventListener("close", r));
    expect(() => server.close(4003, `banned: ${"é".repeat(500)}`)).toThrow();
    server.close(4003, closeReason(`banned: ${"é".repeat(500)}`));
    const ev = await closed;
    expect(ev.code).toBe(4003);
    expect(ev.reason.startsWith("banned: éé")).toBe(true);
  });
});

describe("revokes", () => {
  it("matches one session, some addresses, or every socket", () => {
    const socket = { session: 7, ip: "192.0.2.1" };
    expect(revokes({ session: 7 }, socket)).toBe(true);
    expect(revokes({ session: 8 }, socket)).toBe(false);
    expect(revokes({ ips: ["192.0.2.1"] }, socket)).toBe(true);
    expect(revokes({ ips: ["192.0.2.2"] }, socket)).toBe(false);
    expect(revokes({}, socket)).toBe(true);
  });
});

describe("a room rebuilt after hibernation", () => {
  it("never restores a socket it closed, even one the runtime still lists as open", async () => {
    const [a, b] = [await signup("closed"), await signup("kept")];
    const room = await createRoom(a);
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`));
    // As if the room had closed A's socket and the close had not gone through.
    await runInDurableObject(stub, async (_obj, state) => {
      for (const ws of state.getWebSockets()) {
        const att = ws.deserializeAttachment() as { data: { user: { id: number } } };
        if (att.data.user.id === a.user.id) ws.serializeAttachment({ ...att, closed: true });
      }
    });
    await evictDurableObject(stub);
    ca.send({ type: "ping", ref: "from-closed" });
    cb.send({ type: "ping", ref: "from-kept" });
    expect((await cb.nextOf("pong")).ref).toBe("from-kept");
    const heard = await Promise.race([ca.nextOf("pong").then(() => true), new Promise((r) => setTimeout(() => r(false), 500))]);
    expect(heard).toBe(false);
    cb.send({ type: "new_chat_message", body: "B is still served", client_id: "k1" });
    expect((await cb.nextOf("new_chat_message")).body).toBe("B is still served");
  });
});
