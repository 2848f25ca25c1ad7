// Count budgets (wasm/budget.h) in the Workers runtime, with D1 filled directly to
// the edge of a budget: blocks, pending requests and friends; paged friend lists;
// the personal socket's rate. Each case is named after the abuse it stops.
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BUDGETS, LIMITS } from "../../worker/generated/core";
import { BASE, connect, createRoom, joinRoom, post, signup, type Account } from "./helpers";

const auth = (a: Account) => ({ Authorization: `Bearer ${a.token}` });

/** `n` users made directly in D1 (no argon2id): ids of rows that only fill lists. */
async function fillers(n: number, prefix: string): Promise<number[]> {
  const stamp = `${prefix}${Date.now() % 1000000}`;
  const rows = Array.from({ length: n }, (_, i) => `${stamp}_${i}`);
  for (let i = 0; i < rows.length; i += 50) {
    await env.DB.batch(rows.slice(i, i + 50).map((name) => env.DB.prepare(
      `INSERT INTO users (username, username_key, username_skeleton, password_hash, created_at)
       VALUES (?1, ?1, 'skeleton-' || ?1, 'x', 0)`).bind(name)));
  }
  const ids = await env.DB.prepare("SELECT id FROM users WHERE username_key LIKE ? ORDER BY id").bind(`${stamp}_%`).all<{ id: number }>();
  return ids.results.map((r) => r.id);
}

async function insertAll(sql: string, me: number, others: number[]) {
  for (let i = 0; i < others.length; i += 50) {
    await env.DB.batch(others.slice(i, i + 50).map((o) => env.DB.prepare(sql).bind(me, o, Date.now())));
  }
}

describe("count budgets", () => {
  it("a user at the blocks budget is refused one more block with 429, and rooms keep serving everyone", async () => {
    expect(BUDGETS.blocks.limit).toBe(LIMITS.blocksMax);
    const [me, other, target] = [await signup("blocker"), await signup("other"), await signup("target")];
    await insertAll("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)", me.user.id,
      await fillers(LIMITS.blocksMax, "blk"));
    const res = await post("/users/block", { username: target.user.username }, auth(me));
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "limit_reached", budget: "blocks", limit: LIMITS.blocksMax } });
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM blocks WHERE blocker_id = ?").bind(me.user.id).first<{ n: number }>();
    expect(stored!.n).toBe(LIMITS.blocksMax); // nothing stored
    // With the most blocks allowed, the user's sockets and everyone else's work.
    const room = await createRoom(other);
    const { c: mine } = await joinRoom(room.id, me);
    const { c: theirs } = await joinRoom(room.id, other);
    theirs.send({ type: "new_chat_message", body: "hello", client_id: "h1" });
    expect((await mine.nextOf("new_chat_message")).body).toBe("hello");
    expect((await theirs.nextOf("new_chat_message")).body).toBe("hello");
  });

  it("a user with 100 unanswered requests cannot send another", async () => {
    const [me, target] = [await signup("asker"), await signup("asked")];
    await insertAll("INSERT INTO friend_requests (from_id, to_id, created_at) VALUES (?, ?, ?)", me.user.id,
      await fillers(BUDGETS.pending_requests.limit, "req"));
    const res = await post("/users/add", { username: target.user.username }, auth(me));
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "limit_reached", budget: "pending_requests" } });
  });

  it("concurrent friend requests cannot pass the pending requests budget", async () => {
    const me = await signup("racer");
    const limit = BUDGETS.pending_requests.limit;
    await insertAll("INSERT INTO friend_requests (from_id, to_id, created_at) VALUES (?, ?, ?)", me.user.id,
      await fillers(limit - 5, "pre"));
    const targets = await fillers(25, "tgt");
    const names = await env.DB.prepare(`SELECT username FROM users WHERE id IN (${targets.join(",")})`).all<{ username: string }>();
    const answers = await Promise.all(names.results.map((t) => post("/users/add", { username: t.username }, auth(me))));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
    expect(answers.filter((r) => r.status === 429)).toHaveLength(20);
    const held = await env.DB.prepare("SELECT count(*) AS n FROM friend_requests WHERE from_id = ?").bind(me.user.id).first<{ n: number }>();
    expect(held!.n).toBe(limit);
  });

  it("accepting a request past either one's friends budget is refused", async () => {
    const [me, full] = [await signup("me"), await signup("full")];
    await insertAll("INSERT INTO friendships (user_id, friend_id, since) VALUES (?, ?, ?)", full.user.id,
      await fillers(BUDGETS.friends.limit, "fr"));
    expect((await post("/users/add", { username: me.user.username }, auth(full))).status).toBe(200); // a request only
    const res = await post("/users/add", { username: full.user.username }, auth(me)); // accepting it
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "limit_reached", budget: "friends" } });
  });
});

describe("sockets per account", () => {
  it("a user holding 100 sockets across objects is refused one more anywhere, and gets it back when one closes", async () => {
    const me = await signup("hoarder");
    const rooms = [];
    for (let i = 0; i < 5; i++) rooms.push(await createRoom(me));
    const held = [];
    for (let i = 0; i < 99; i++) held.push(await connect(`/rooms/${rooms[i % 5]!.id}/ws`, me.token));
    held.push(await connect("/ws", me.token)); // the 100th
    for (const path of ["/ws", `/rooms/${rooms[0]!.id}/ws`]) {
      const res = await SELF.fetch(`${BASE}${path}`, {
        headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${me.token}` } });
      expect(res.status, path).toBe(429);
      expect(await res.json()).toMatchObject({ error: { code: "limit_reached", budget: "sockets_per_account", limit: 100 } });
    }
    const closed = held.shift()!;
    closed.ws.close(1000, "done");
    await new Promise((r) => setTimeout(r, 200));
    const { c } = await joinRoom(rooms[0]!.id, me); // where one closed: 20 per room is its own limit
    c.send({ type: "ping", ref: "in" });
    expect((await c.nextOf("pong")).ref).toBe("in");
    for (const h of [...held, c]) h.ws.close(1000, "done");
  });

  it("sockets closed in a burst leave the hub's register together, within a second", async () => {
    const me = await signup("burst");
    const room = await createRoom(me);
    const hub = env.USER_HUB.get(env.USER_HUB.idFromName(String(me.user.id)));
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await connect(`/rooms/${room.id}/ws`, me.token));
    const register = () => runInDurableObject(hub, async (_obj, state) =>
      state.storage.sql.exec<{ sockets: number }>("SELECT sockets FROM presence").toArray().map((r) => r.sockets));
    expect(await register()).toEqual([5]);
    for (const h of held) h.ws.close(1000, "done");
    await new Promise((r) => setTimeout(r, 1500));
    expect(await register()).toEqual([]);
  });

  it("sockets a restart dropped without a close do not count for good", async () => {
    const me = await signup("restarted");
    const hub = env.USER_HUB.get(env.USER_HUB.idFromName(String(me.user.id)));
    // The register says 100 sockets are open in a room that holds none of them now
    // (as after a deploy, which drops every socket without a close event).
    await runInDurableObject(hub, async (_obj, state) => {
      state.storage.sql.exec("INSERT INTO presence (object, sockets) VALUES ('room:424242', 100)");
    });
    const c = await connect("/ws", me.token);
    expect((await c.next()).type).toBe("connection");
    await runInDurableObject(hub, async (_obj, state) => {
      expect(state.storage.sql.exec("SELECT count(*) AS n FROM presence").one().n).toBe(0);
    });
  });
});

describe("GET /friends", () => {
  it("answers a page of each list, and the next page of one list on demand", async () => {
    const me = await signup("paged");
    const ids = await fillers(LIMITS.listPage + 20, "pg");
    await insertAll("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)", me.user.id, ids);
    const first = await (await SELF.fetch(`${BASE}/friends`, { headers: auth(me) })).json() as
      { blocked: { id: number }[]; friends: unknown[]; next: Record<string, number | null> };
    expect(first.blocked).toHaveLength(LIMITS.listPage);
    expect(first.friends).toEqual([]);
    expect(first.next.friends).toBeNull();
    const cursor = first.next.blocked!;
    const second = await (await SELF.fetch(`${BASE}/friends?list=blocked&after=${cursor}`, { headers: auth(me) })).json() as
      { blocked: { id: number }[]; next: Record<string, number | null> };
    expect([...first.blocked, ...second.blocked].map((u) => u.id)).toEqual(ids);
    expect(second.next.blocked).toBeNull();
    for (const q of ["list=everyone", "after=5", "list=blocked&after=-1", "list=blocked&after=1e3", "limit=5"]) {
      const bad = await SELF.fetch(`${BASE}/friends?${q}`, { headers: auth(me) });
      expect(bad.status, q).toBe(400);
    }
  });
});

describe("the personal socket", () => {
  it("refuses a flood of frames with rate_limited, echoing each ref", async () => {
    const me = await signup("flood");
    const c = await connect("/ws", me.token);
    expect((await c.next()).type).toBe("connection");
    expect((await c.next()).type).toBe("friends_presence");
    const sent = LIMITS.rateBurst + 10;
    for (let i = 0; i < sent; i++) c.send({ type: "ping", ref: `p${i}` });
    const replies = [];
    for (let i = 0; i < sent; i++) replies.push(await c.next());
    const refused = replies.filter((f) => f.code === "rate_limited");
    expect(replies.filter((f) => f.type === "pong").length).toBeGreaterThanOrEqual(LIMITS.rateBurst);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((f) => typeof f.ref === "string" && /^p\d+$/.test(f.ref))).toBe(true);
  });

  it("closes a socket that keeps flooding past its refusals (1008), and the rate is the user's, not the socket's", async () => {
    const me = await signup("flooder");
    const [a, b] = [await connect("/ws", me.token), await connect("/ws", me.token)];
    for (const c of [a, b]) {
      expect((await c.next()).type).toBe("connection");
      expect((await c.next()).type).toBe("friends_presence");
    }
    const closed = new Promise<number>((r) => b.ws.addEventListener("close", (e) => r(e.code)));
    // A's burst empties the user's bucket: B's first frame is already refused.
    for (let i = 0; i < LIMITS.rateBurst; i++) a.send({ type: "ping", ref: `a${i}` });
    for (let i = 0; i < LIMITS.rateBurst; i++) expect((await a.next()).type).toBe("pong");
    b.send({ type: "ping", ref: "b0" });
    expect((await b.next()).code).toBe("rate_limited");
    for (let i = 1; i <= LIMITS.floodBurst + 5; i++) b.send({ type: "ping", ref: `b${i}` });
    expect(await closed).toBe(LIMITS.closePolicy);
  });
});

describe("unread counts", () => {
  it("a room with a long history counts a member who never read it over its last unreadCountMax messages only", async () => {
    const a = await signup(), b = await signup();
    const room = await createRoom(a);
    expect((await post(`/rooms/${room.id}/join`, "", auth(b))).status).toBe(200);
    const { c } = await joinRoom(room.id, a);
    c.send({ type: "new_chat_message", body: "first", client_id: "first" });
    await c.nextOf("new_chat_message");
    c.ws.close();
    // A history of 5 000 messages by a, which b never read (stored as a room stores them).
    const total = 5 * LIMITS.unreadCountMax;
    await runInDurableObject(env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${room.id}`)), async (_o, state) => {
      for (let seq = 2; seq <= total; seq++) {
        state.storage.sql.exec("INSERT INTO messages (seq, user_id, username, body, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
          seq, a.user.id, a.user.username, `m${seq} @${b.user.username}`, `c${seq}`, Date.now());
        state.storage.sql.exec("INSERT INTO mentions (user_id, seq) VALUES (?, ?)", b.user.id, seq);
      }
    });
    const res = await SELF.fetch(`${BASE}/rooms?mine=1`, { headers: auth(b) });
    const row = ((await res.json()) as { rooms: { id: number; unread: number; mentions: number; last_seq: number }[] })
      .rooms.find((r) => r.id === room.id)!;
    // Counting every message behind the marker made each mention of b a scan of the
    // whole history on the room's thread (5 mentions a second stalled a 40 000-message room).
    expect([row.last_seq, row.unread, row.mentions]).toEqual([total, LIMITS.unreadCountMax, LIMITS.unreadCountMax]);
  });
});
