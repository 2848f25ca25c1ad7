// Shared helpers of the runtime tests: accounts, rooms and sockets through SELF.
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

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
