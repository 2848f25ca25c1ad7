// Starts the real stack for end-to-end tests: `wrangler dev` (workerd) on a free
// loopback port, with its own local D1 and Durable Object state in a temporary
// directory, the D1 migrations applied first. Stops it by its process group.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { d1Execute } from "../../deploy/d1.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = (name) => path.join(root, "node_modules/.bin", name);
export const toolEnv = {
  ...process.env,
  PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}`,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  NO_COLOR: "1",
};

/** A free TCP port on the loopback address. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A running `wrangler dev`. `restart()` stops it and starts it again on the same
 * state directory (as a deploy or a crash would), `stop()` ends it for good.
 * With `site: true` it also serves the built web client (pages/dist, `make site`)
 * on the same origin, as `make dev` does, and lets that origin open WebSockets.
 * `env` adds environment variables for wrangler itself. Every test client comes
 * from a loopback address, so the rate budgets (wasm/budget.h: signups and rooms
 * per address an hour...) are raised 1000-fold by CHAT_BUDGET_SCALE, unless
 * `budgets: true` asks for the real ones (the tests of the budgets). */
export async function startStack({ vars = {}, site = false, env = {}, budgets = false } = {}) {
  const state = mkdtempSync(path.join(os.tmpdir(), "chat-e2e-"));
  execFileSync(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state],
    { cwd: root, env: toolEnv, stdio: "pipe" });
  let port = await freePort();
  let base = `http://127.0.0.1:${port}`;
  let child = null;
  let log = "";

  /** Starts wrangler dev; tries again (3 times at most) when a port it was given
   * was taken meanwhile: freePort() closes its probe before wrangler binds, and
   * another process on the machine may take the port in between. A first start
   * takes fresh ports; a restart keeps its port, which clients reconnect to. */
  async function start(first = false) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch();
      } catch (e) {
        if (attempt >= 3 || !/Address already in use/.test(log)) throw e;
        log = "";
        if (first) {
          port = await freePort();
          base = `http://127.0.0.1:${port}`;
        } else {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }

  async function launch() {
    const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state,
      "--inspector-port", String(await freePort())];
    if (site) args.push("--assets", "pages/dist");
    const all = { ...(budgets ? {} : { CHAT_BUDGET_SCALE: "1000" }), ...(site ? { CHAT_ALLOWED_ORIGINS: base } : {}), ...vars };
    for (const [k, v] of Object.entries(all)) args.push("--var", `${k}:${v}`);
    child = spawn(bin("wrangler"), args, { cwd: root, env: { ...toolEnv, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => { log += d; });
    child.stderr.on("data", (d) => { log += d; });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${log}`);
      try {
        // (a time limit: the port may be another process's, which need not answer)
        const res = await fetch(`${base}/account`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 401) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function halt() {
    // exitCode stays null when a signal ended it (a crash the bench makes)
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(timer);
  }

  await start(true);
  return {
    base,
    port,
    state,
    log: () => log,
    /** SQL on this stack's D1 as an operator runs it (`wrangler d1 execute
     * --local`, deploy/d1.mjs): each statement's rows, in order. */
    d1(sql) {
      return d1Execute(["--local", "--persist-to", state], sql, toolEnv);
    },
    /** Makes a user ADMIN with the project's own command, on this stack's state. */
    makeAdmin(username) {
      execFileSync("make", ["-s", "admin", `NAME=${username}`, `PERSIST=${state}`], { cwd: root, env: toolEnv, stdio: "pipe" });
    },
    async restart() { await halt(); await start(); },
    async stop() { await halt(); rmSync(state, { recursive: true, force: true }); },
  };
}

/** POST JSON; resolves to { status, body }. */
export async function post(base, route, body, headers = {}) {
  const res = await fetch(`${base}${route}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * An HTTP request from a given loopback address (127.0.0.2, 127.0.0.3, ...): the
 * local runtime reports the socket's peer address as CF-Connecting-IP, so this is
 * how a test speaks as a different client address. Resolves to { status, body }.
 */
export function requestFrom(localAddress, base, method, route, body, headers = {}) {
  const url = new URL(route, base);
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname + url.search, method, localAddress, agent: false,
      headers: { ...(data ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } : {}), ...headers },
    }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

/** Signs up a fresh user; resolves to { token, user }. */
let counter = 0;
export async function signup(base, prefix = "user") {
  const username = `${prefix}${process.pid % 1000}_${Date.now() % 100000}_${counter++}`.slice(0, 32);
  const res = await post(base, "/signup", { username, password: "e2e password" });
  if (res.status !== 201) throw new Error(`signup ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Creates a room owned by `who`; resolves to the room. */
export async function createRoom(base, who, name = `room ${Date.now()} ${counter++}`) {
  const res = await post(base, "/rooms", { name }, { Authorization: `Bearer ${who.token}` });
  if (res.status !== 201) throw new Error(`create room ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room;
}

/**
 * Opens a WebSocket (the personal one at /ws, or a room's) with the token in the
 * subprotocol list, collecting frames. next() takes the next frame, nextOf(type)
 * the next of a type (dropping others), closed resolves with the close code.
 */
export function openSocket(base, token, path = "/ws", localAddress = undefined) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, ["chat.v1", `bearer.${token}`], { localAddress });
    const frames = [];
    const waiters = [];
    const closed = new Promise((r) => ws.once("close", (code, reason) => r({ code, reason: String(reason) })));
    // The moment the server's close frame arrived (readyState leaves OPEN), which
    // can be well before the TCP connection ends and "close" fires: after a close
    // the server started, the local runtime keeps the TCP connection until the
    // object hibernates (about 10 s). Once the closing handshake is done (both Close
    // frames exchanged, RFC 6455 section 7.1.1), this client drops the connection
    // itself, as a browser does (Chromium waits 2 s), so "close" fires with the
    // server's code and reason at once.
    const closing = new Promise((r) => {
      const poll = setInterval(() => {
        if (ws.readyState <= WebSocket.OPEN) return;
        r(Date.now());
        if (ws._closeFrameReceived && ws._closeFrameSent) {
          clearInterval(poll);
          ws.terminate();
        }
      }, 5);
      poll.unref();
      ws.once("close", () => { clearInterval(poll); r(Date.now()); });
    });
    ws.on("message", (data) => {
      // A batch (a busy room's broadcasts, coalesced) is its frames, in order.
      const f = JSON.parse(String(data));
      if (f.type === "batch") frames.push(...f.frames);
      else frames.push(f);
      waiters.splice(0).forEach((w) => w());
    });
    ws.once("unexpected-response", (req, res) => {
      // With this listener, ws leaves the refused request open: end it ourselves.
      res.resume();
      req.destroy();
      ws.terminate();
      reject(Object.assign(new Error("refused"), { status: res.statusCode }));
    });
    ws.once("error", reject);
    const next = async (timeoutMs = 10000) => {
      const end = Date.now() + timeoutMs;
      while (frames.length === 0) {
        if (Date.now() > end) throw new Error("no frame within timeout");
        await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
      }
      return frames.shift();
    };
    ws.once("open", () => resolve({
      ws,
      frames,
      closed,
      closing,
      next,
      async nextOf(type, timeoutMs = 10000) {
        for (;;) {
          const f = await next(timeoutMs);
          if (f.type === type) return f;
        }
      },
      send: (frame) => ws.send(JSON.stringify(frame)),
    }));
  });
}

/** Opens a room socket and joins; resolves to { c, history, presence } (a room's
 * presence frame, which follows the history). */
export async function joinRoom(base, roomId, who, since) {
  const path = `/rooms/${roomId}/ws`;
  const c = await openSocket(base, who.token, path);
  const hello = await c.next();
  if (hello.type !== "connection") throw new Error(`expected connection, got ${JSON.stringify(hello)}`);
  c.send(since === undefined ? { type: "join_room" } : { type: "join_room", since });
  const history = await c.nextOf("history");
  // a room then says who is here (issue 15); a conversation does not
  const presence = path.startsWith("/rooms/") ? await c.nextOf("presence") : undefined;
  return { c, history, presence };
}
