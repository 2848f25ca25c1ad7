// Shared helpers of the runtime tests: accounts, rooms and sockets through SELF.
import { SELF, env } from "cloudflare:test";
import { expect } from "vitest";
import { CoreHost } from "../../worker/core";

export const BASE = "https://chat.test";
let n = 0;

export function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export interface Account {
  token: string;
  user: { id: number; username: string; role: string };
}

export async function signup(prefix = "u"): Promise<Account> {
  const username = `${prefix}${Date.now() % 100000}_${n++}`;
  const res = await post("/signup", { username, password: "test password" });
  expect(res.status).toBe(201);
  return (await res.json()) as Account;
}

export async function createRoom(owner: Account, name = `room ${Date.now()} ${n++}`) {
  const res = await post("/rooms", { name }, { Authorization: `Bearer ${owner.token}` });
  expect(res.status).toBe(201);
  return ((await res.json()) as { room: { id: number; name: string } }).room;
}

export type Frame = Record<string, unknown> & { type: string };

/** An open socket with a queue of the frames it received. */
export interface Client {
  ws: WebSocket;
  next(): Promise<Frame>;
  /** Waits for the next frame of this type, dropping others. */
  nextOf(type: string): Promise<Frame>;
  send(frame: object): void;
}

export async function connect(path: string, token: string): Promise<Client> {
  const res = await SELF.fetch(`${BASE}${path}`, {
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${token}` },
  });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    // a busy room's broadcasts come coalesced in one "batch" frame, in order
    const f = JSON.parse(e.data as string);
    if (f.type === "batch") frames.push(...f.frames);
    else frames.push(f);
    waiters.splice(0).forEach((w) => w());
  });
  ws.accept();
  const next = async (): Promise<Frame> => {
    while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
    return frames.shift()!;
  };
  return {
    ws,
    next,
    async nextOf(type) {
      for (;;) {
        const f = await next();
        if (f.type === type) return f;
      }
    },
    send: (frame) => ws.send(JSON.stringify(frame)),
  };
}

/** Connects to a room and joins it; returns the client and its history frame. */
export async function joinRoom(roomId: number, who: Account, since?: number) {
  const c = await connect(`/rooms/${roomId}/ws`, who.token);
  expect((await c.next()).type).toBe("connection");
  c.send(since === undefined ? { type: "join_room" } : { type: "join_room", since });
  const history = await c.nextOf("history");
  return { c, history };
}

/**
 * A core and an env for calling a Worker function directly, in which `change()`'s
 * statements land in D1 right after the core answered `op` (a password checked, a
 * relation decided) and before any later statement of the function: the order a
 * concurrent request can take. Deterministic, unlike two requests sent together.
 */
export function racing(op: string, change: () => D1PreparedStatement[]) {
  let pending: Promise<unknown> = Promise.resolve();
  let fired = false;
  const core = new Proxy(new CoreHost(), {
    get(t, k) {
      if (k !== "call") return Reflect.get(t, k);
      return (name: string, ...rest: unknown[]) => {
        const out = (t.call as (...a: unknown[]) => unknown)(name, ...rest);
        if (name === op && !fired) { fired = true; pending = env.DB.batch(change()); }
        return out;
      };
    },
  }) as CoreHost;
  const wrap = (st: D1PreparedStatement): D1PreparedStatement => new Proxy(st, {
    get(t, k) {
      if (k === "real") return t;
      if (k === "bind") return (...a: unknown[]) => wrap(t.bind(...a));
      if (k === "run" || k === "first" || k === "all" || k === "raw") {
        return async (...a: unknown[]) => { await pending; return (Reflect.get(t, k) as (...x: unknown[]) => unknown).apply(t, a); };
      }
      return Reflect.get(t, k);
    },
  });
  const db = {
    prepare: (sql: string) => wrap(env.DB.prepare(sql)),
    batch: async (sts: D1PreparedStatement[]) => {
      await pending;
      return env.DB.batch(sts.map((x) => (x as unknown as { real?: D1PreparedStatement }).real ?? x));
    },
  } as unknown as D1Database;
  return { core, env: { ...env, DB: db } };
}
