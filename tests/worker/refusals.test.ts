// An object never drops its core because of what one client sent (issue 13): every
// refusal the room's core can give for a client's input (wasm/chat_error.h class
// REFUSAL) is answered to that client, and the room goes on serving everyone else
// with the same core: never rebuilt, never trapped. Only a trap, misuse or running
// out of memory rebuild it (rooms.test.ts, outbox.test.ts).
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../../durable-objects/chat-room";
import type { CoreHost } from "../../worker/core";
import { FACTS_HEADER, type SocketFacts } from "../../worker/env";
import { LIMITS } from "../../worker/generated/core";
import { BASE, type Account, type Client, connect, createRoom, joinRoom, post, signup } from "./helpers";

const auth = (a: Account) => ({ Authorization: `Bearer ${a.token}` });

/** How often the object built its core's room, and how many instances it lost. */
async function coreOf(object: string) {
  const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(object));
  return runInDurableObject(stub, (obj: ChatRoom) => {
    const o = obj as unknown as { builds: number; core: CoreHost };
    return { builds: o.builds, traps: o.core.traps };
  });
}

/** A socket request as the Worker builds it, with facts of our choosing. */
function openWithFacts(object: string, id: number, facts: Omit<SocketFacts, "room">) {
  const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(object));
  return stub.fetch(new Request("https://object.invalid/socket", {
    headers: { Upgrade: "websocket", [FACTS_HEADER]: JSON.stringify({ ...facts, room: { id, object } }) },
  }));
}

/** Sends a frame (text as is, or an object) and returns the error it is answered with. */
async function refusal(c: Client, frame: string | object) {
  c.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  return c.nextOf("error");
}

/** A message from `from` reaches `to` (and its sender). */
async function served(from: Client, to: Client, body: string) {
  from.send({ type: "new_chat_message", body, client_id: body.replace(/\W/g, "") });
  expect((await to.nextOf("new_chat_message")).body).toBe(body);
  expect((await from.nextOf("new_chat_message")).body).toBe(body);
}

describe("a room refuses one client's input and serves everyone else", () => {
  it("answers every bad frame with an error frame to its sender, with the same core", async () => {
    const [a, b] = [await signup("calm"), await signup("bad")];
    const room = await createRoom(a);
    const object = `room:${room.id}`;
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    await served(ca, cb, "first from a");
    const before = await coreOf(object);

    const unjoined = await connect(`/rooms/${room.id}/ws`, b.token);
    await unjoined.nextOf("connection");
    expect(await refusal(unjoined, { type: "new_chat_message", body: "x", client_id: "u", ref: "u" }))
      .toMatchObject({ code: "not_joined", ref: "u" });

    const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
    const cases: [string, string | object, string][] = [
      ["not JSON", "{", "bad_json"],
      ["not an object", "[1]", "not_object"],
      ["no type", { ref: "t" }, "field_missing"],
      ["a number for a type", { type: 5 }, "field_type"],
      ["an unknown type", { type: "sing" }, "unknown_type"],
      ["a frame over the frame limit", { type: "ping", pad: "x".repeat(LIMITS.frameMaxBytes) }, "frame_too_large"],
      ["a ref over its limit", { type: "ping", ref: "r".repeat(LIMITS.refMaxBytes + 1) }, "ref_invalid"],
      ["an object of too many members",
        { type: "ping", ...Object.fromEntries(Array.from({ length: LIMITS.jsonMembersMax }, (_, i) => [`k${i}`, i])) },
        "bad_json"],
      ["nesting past the depth limit", { type: "ping", deep: deep(LIMITS.jsonDepthMax) }, "bad_json"],
      ["an empty body", { type: "new_chat_message", body: " \n", client_id: "e1" }, "body_empty"],
      ["a body over the limit", { type: "new_chat_message", body: "x".repeat(LIMITS.messageMaxChars + 1), client_id: "l1" },
        "body_too_long"],
      ["a bad client_id", { type: "new_chat_message", body: "x", client_id: "not valid" }, "client_id_invalid"],
      ["a negative seq", { type: "delete_message", seq: -1 }, "seq_invalid"],
      ["an unknown message", { type: "delete_message", seq: 999 }, "message_not_found"],
      ["someone else's message", { type: "delete_message", seq: 1 }, "forbidden"],
    ];
    for (const [what, frame, code] of cases) expect((await refusal(cb, frame)).code, what).toBe(code);
    // Past the rate limit: refused (and not closed: the flood allowance is larger).
    let limited = false;
    for (let i = 0; i < LIMITS.rateBurst && !limited; i++) {
      cb.send({ type: "ping", ref: `p${i}` });
      limited = (await cb.next()).type === "error";
    }
    expect(limited).toBe(true);

    await served(ca, cb, "still served");
    expect(await coreOf(object)).toEqual(before);
    for (const c of [ca, cb, unjoined]) c.ws.close();
  });

  it("refuses sockets and facts past its limits without dropping its core", async () => {
    const [a, b] = [await signup("host"), await signup("hoarder")];
    const room = await createRoom(a);
    const object = `room:${room.id}`;
    const { c: ca } = await joinRoom(room.id, a);
    const { c: cb } = await joinRoom(room.id, b);
    const before = await coreOf(object);

    // One user's sockets past CHAT_USER_CONNS_MAX.
    const extra: Client[] = [];
    for (let i = 1; i < LIMITS.userConnsMax; i++) extra.push(await connect(`/rooms/${room.id}/ws`, b.token));
    const over = await SELF.fetch(`${BASE}/rooms/${room.id}/ws`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${b.token}` },
    });
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { code: "too_many_connections" } });
    // closed, and the room has heard it (its close handler echoes the close), so the
    // next open is not refused for these (too_many_connections)
    await Promise.all(extra.map((c) => {
      const heard = new Promise((r) => { c.ws.addEventListener("close", r); setTimeout(r, 2000); });
      c.ws.close();
      return heard;
    }));

    // A block list the core refuses (more blocks than CHAT_BLOCKS_MAX; a socket's
    // own list comes from the user's hub, which keeps to it).
    const blocks = Array.from({ length: LIMITS.blocksMax + 1 }, (_, i) => i + 1);
    expect(await env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(object)).updateBlocks(b.user.id, blocks)).toBe("field_type");

    // A page query the core refuses.
    const page = await SELF.fetch(`${BASE}/rooms/${room.id}/messages?limit=0`, { headers: auth(a) });
    expect(page.status).toBe(400);

    await served(ca, cb, "served after all that");
    expect(await coreOf(object)).toEqual(before);
    ca.ws.close();
    cb.ws.close();
  });

  it("refuses a stranger and a closed conversation's messages, with the same core", async () => {
    const [a, b, stranger] = [await signup("da"), await signup("db"), await signup("ds")];
    expect((await post("/users/add", { username: b.user.username }, auth(a))).status).toBe(200);
    expect((await post("/users/add", { username: a.user.username }, auth(b))).status).toBe(200);
    const opened = await post("/dms", { username: b.user.username }, auth(a));
    const id = ((await opened.json()) as { conversation: { id: number } }).conversation.id;
    const object = `dm:${id}`;
    const ca = await connect(`/dms/${id}/ws`, a.token);
    expect(await ca.nextOf("connection")).toMatchObject({ message_type: "new_direct_message", may_delete_any: false });
    ca.send({ type: "join_room" });
    await ca.nextOf("history");
    const before = await coreOf(object);

    const intruder = await openWithFacts(object, id, { user: stranger.user as SocketFacts["user"], session: 1, ip: "192.0.2.9" });
    expect(intruder.status).toBe(404);
    expect(await intruder.json()).toMatchObject({ error: { code: "not_member" } });

    expect((await post("/users/block", { username: a.user.username }, auth(b))).status).toBe(200);
    expect(await refusal(ca, { type: "new_direct_message", body: "hello?", client_id: "c1", ref: "c1" }))
      .toMatchObject({ code: "dm_closed", ref: "c1" });
    ca.send({ type: "ping", ref: "alive" });
    expect(await ca.nextOf("pong")).toEqual({ type: "pong", ref: "alive" });
    expect(await coreOf(object)).toEqual(before);
    ca.ws.close();
  });
});
