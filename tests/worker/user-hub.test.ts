// The personal socket: upgrade through the Worker, greeting and frames from the
// core, error frames for bad input, and survival of hibernation (eviction).
import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const BASE = "https://chat.test";
let n = 0;

async function signup() {
  const username = `hub${Date.now() % 100000}_${n++}`;
  const res = await SELF.fetch(`${BASE}/signup`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: "hub password" }),
  });
  return (await res.json()) as { token: string; user: { id: number; username: string } };
}

function upgrade(protocols: string | null) {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (protocols !== null) headers["Sec-WebSocket-Protocol"] = protocols;
  return SELF.fetch(`${BASE}/ws`, { headers });
}

/** Opens the socket and collects its frames. */
async function open(token: string) {
  const res = await upgrade(`chat.v1, bearer.${token}`);
  expect(res.status).toBe(101);
  expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("chat.v1");
  const ws = res.webSocket!;
  const frames: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
    waiters.splice(0).forEach((w) => w());
  });
  ws.accept();
  const next = async (): Promise<Record<string, unknown>> => {
    while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
    return frames.shift()!;
  };
  return { ws, next };
}

describe("personal socket", () => {
  it("greets the user with a connection frame and answers ping", async () => {
    const u = await signup();
    const { ws, next } = await open(u.token);
    expect(await next()).toEqual({ type: "connection", protocol: "chat.v1", user: { ...u.user, role: "USER" } });
    expect(await next()).toEqual({ type: "friends_presence", online: [] }); // no friend online (issue 15)
    ws.send(JSON.stringify({ type: "ping", ref: "p1" }));
    expect(await next()).toEqual({ type: "pong", ref: "p1" });
    ws.close(1000, "done");
  });

  it("answers bad frames with error frames and keeps the socket open", async () => {
    const u = await signup();
    const { ws, next } = await open(u.token);
    await next();
    expect((await next()).type).toBe("friends_presence");
    ws.send("not json");
    expect(await next()).toMatchObject({ type: "error", code: "bad_json" });
    ws.send(JSON.stringify({ type: "nope", ref: "x" }));
    expect(await next()).toMatchObject({ type: "error", code: "unknown_type", ref: "x" });
    ws.send(JSON.stringify({ type: "ping", pad: "x".repeat(40000) }));
    expect(await next()).toMatchObject({ type: "error", code: "frame_too_large" });
    ws.send(new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(await next()).toMatchObject({ type: "error", code: "bad_json" });
    ws.send(JSON.stringify({ type: "ping" }));
    expect(await next()).toEqual({ type: "pong" });
    ws.close(1000, "done");
  });

  it("refuses upgrades without a valid session", async () => {
    const u = await signup();
    const cases: [string | null, number, string][] = [
      [null, 401, "token_missing"],
      ["chat.v1", 401, "token_missing"],
      [`chat.v1, bearer.${"A".repeat(43)}`, 401, "unauthorized"],
      [`bearer.${u.token}`, 401, "token_malformed"],
    ];
    for (const [protocols, status, code] of cases) {
      const res = await upgrade(protocols);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const plain = await SELF.fetch(`${BASE}/ws`);
    expect(plain.status).toBe(426);
  });

  it("keeps serving an open socket after the object is evicted (hibernation)", async () => {
    const u = await signup();
    const { ws, next } = await open(u.token);
    await next();
    expect((await next()).type).toBe("friends_presence");
    const stub = env.USER_HUB.get(env.USER_HUB.idFromName(String(u.user.id)));
    await evictDurableObject(stub);
    ws.send(JSON.stringify({ type: "ping", ref: "after-eviction" }));
    expect(await next()).toEqual({ type: "pong", ref: "after-eviction" });
    ws.close(1000, "done");
  });
});
