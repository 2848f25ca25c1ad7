// The benchmark's single-shot probes (tests/load/bench.mjs), against a running
// stack (tests/e2e/harness.mjs) or on this machine:
//   joinLatency    open -> history for M sockets joining a room that holds history;
//   wakeLatency    the first message after a room's Durable Object was evicted
//                  (hibernation), against a warm one in the same room;
//   argon2Runtime  argon2id in workerd, from outside: POST /login of an unknown
//                  user (one argon2id against the dummy hash) minus a request that
//                  hashes nothing (GET /account without a token);
//   argon2Node     the same verification in build/chat.wasm under Node's V8;
//   argon2Native   crypto_pwhash_str natively (build/native/pwhash, tests/bench/pwhash.c);
//   joinStorm      N clients opening one room at once (any of the bench's servers);
//   idleJoin       one join at a time on an idle server;
//   d1PerOpen      D1 queries per socket open, from the Worker's debug counter;
//   workerdPidsOf  the runtime under a `wrangler dev` (the restart scenario kills it);
//   cpuOfTree      the CPU time a server's processes used (what limited a storm).
// Sockets speak as the bots do (tests/load/bots.mjs): the subprotocols
// [LIMITS.wsProtocol, LIMITS.wsBearerPrefix + token], "join_room" after the
// "connection" frame, and "batch" frames unwrapped.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { api, pool } from "./client.mjs";
import { openRoomSocket } from "./transport.mjs";
import { ERRORS, LIMITS, OPS } from "../../worker/generated/core.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tag = `${Date.now() % 1_000_000}`;
let storms = 0; // a new room name for each storm (names are unique)

export const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
/** Nearest-rank percentile. */
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x) => Math.round(x * 100) / 100;

/** Signs up n users; resolves to [{ token, user }]. Each signup is one argon2id. */
export function signupUsers(base, n) {
  return pool(Array.from({ length: n }, (_, i) => i), 4, (i) =>
    api(base, "/signup", { username: `bench${tag}_${i}`, password: "bench password 1" }));
}

const newRoom = async (base, owner, name) => (await api(base, "/rooms", { name: `${name} ${tag}` }, owner.token)).room.id;

/**
 * Opens a room socket and joins. Resolves, once the history frame arrives, to
 * { ws, openedAt, historyAt, history, listeners }: openedAt is taken just before
 * the socket is created, historyAt on receipt (performance.now()); each of
 * `listeners` is called with every new_chat_message frame and its receipt time.
 */
function joinSocket(base, roomId, token, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const openedAt = performance.now();
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/rooms/${roomId}/ws`,
      [LIMITS.wsProtocol, `${LIMITS.wsBearerPrefix}${token}`], { perMessageDeflate: false });
    const sock = { ws, openedAt, historyAt: null, history: null, listeners: new Set() };
    const timer = setTimeout(() => { ws.terminate(); reject(new Error("no history within the timeout")); }, timeoutMs);
    ws.on("message", (data) => {
      const at = performance.now();
      const f = JSON.parse(String(data));
      for (const g of f.type === "batch" ? f.frames : [f]) {
        if (g.type === "connection") ws.send(JSON.stringify({ type: "join_room" }));
        else if (g.type === "history" && !sock.history) {
          Object.assign(sock, { historyAt: at, history: g });
          clearTimeout(timer);
          resolve(sock);
        } else if (g.type === "new_chat_message") for (const l of sock.listeners) l(g, at);
        else if (g.type === "error") reject(new Error(`error frame: ${g.code}`));
      }
    });
    ws.on("error", (e) => { clearTimeout(timer); reject(e); });
    ws.on("unexpected-response", (req, res) => {
      clearTimeout(timer);
      req.destroy();
      reject(new Error(`upgrade refused: ${res.statusCode}`));
    });
  });
}

async function closeAll(socks) {
  await Promise.all(socks.map((s) => new Promise((r) => {
    if (s.ws.readyState === WebSocket.CLOSED) return r();
    const timer = setTimeout(() => { s.ws.terminate(); r(); }, 5000);
    s.ws.once("close", () => { clearTimeout(timer); r(); });
    s.ws.close();
  })));
}

/** Sends one message from socks[0] and resolves to the ms from send() until every
 * socket (the sender's included) has received it. */
function deliver(socks, clientId, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let left = socks.length, last = 0;
    const waiting = socks.map((s) => {
      const l = (m, at) => {
        if (m.client_id !== clientId) return;
        s.listeners.delete(l);
        last = Math.max(last, at);
        if (--left > 0) return;
        clearTimeout(timer);
        resolve(last - sent);
      };
      s.listeners.add(l);
      return [s, l];
    });
    const timer = setTimeout(() => {
      for (const [s, l] of waiting) s.listeners.delete(l);
      reject(new Error(`${clientId}: not delivered to all within the timeout`));
    }, timeoutMs);
    const sent = performance.now();
    socks[0].ws.send(JSON.stringify({ type: "new_chat_message", body: `bench ${clientId}`, client_id: clientId }));
  });
}

/** Joins the room with one socket, stores n messages one after another, leaves. */
async function seedHistory(base, roomId, user, n) {
  const sock = await joinSocket(base, roomId, user.token);
  for (let i = 0; i < n; i++) await deliver([sock], `seed-${i}`);
  await closeAll([sock]);
}

/** Every user opens a socket to the room and joins, `width` at a time; resolves
 * to the p50, p99 and max of open -> history in ms, and the history's size. */
async function joinAll(base, roomId, users, width) {
  const socks = await pool(users, width, (u) => joinSocket(base, roomId, u.token));
  const ms = socks.map((s) => s.historyAt - s.openedAt);
  const historyMessages = socks[0].history.messages.length;
  await closeAll(socks);
  return { history_messages: historyMessages,
    p50_ms: round(percentile(ms, 50)), p99_ms: round(percentile(ms, 99)), max_ms: round(Math.max(...ms)) };
}

/**
 * Open -> history: a room with `seed` stored messages, then every user opens a
 * socket and joins, `width` at a time as the bots do (first: each user's first
 * socket anywhere, so their UserHub objects start too); they all leave, and join
 * again at once (rejoin).
 */
export async function joinLatency(base, users, { seed = 100, width = 8 } = {}) {
  const roomId = await newRoom(base, users[0], "bench join");
  await seedHistory(base, roomId, users[0], seed);
  const first = await joinAll(base, roomId, users, width);
  const rejoin = await joinAll(base, roomId, users, width);
  return { members: users.length, width, seeded: seed, first, rejoin };
}

/** The inspector port of the `wrangler dev` listening on `port` (the harness gives
 * it one on its command line but does not return it), or null. Linux only. */
function inspectorPortOf(port) {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let args;
    try { args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"); } catch { continue; }
    const i = args.indexOf("--port"), j = args.indexOf("--inspector-port");
    if (args.includes("dev") && i >= 0 && args[i + 1] === String(port) && j >= 0) return Number(args[j + 1]);
  }
  return null;
}

const MARK = "bench: ChatRoom constructed";

/**
 * Counts ChatRoom constructions in the stack's workerd, watched from outside the
 * Worker through its inspector (the Chrome DevTools protocol that `wrangler dev`
 * serves): a logpoint (a breakpoint whose condition logs and is false) on the first
 * line of ChatRoom's constructor in the bundle. An object that was evicted is
 * constructed again by the next event, so a construction seen for a room's first
 * message after idling proves the eviction. Resolves to { count, close() }.
 */
async function watchRoomConstructions(port) {
  const inspector = inspectorPortOf(port);
  if (!inspector) throw new Error("the stack's inspector port was not found");
  const ws = new WebSocket(`ws://127.0.0.1:${inspector}/ws`);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  let id = 0;
  const pending = new Map(), scripts = [];
  const watch = { count: 0 };
  ws.on("message", (data) => {
    const m = JSON.parse(String(data));
    if (m.id) pending.get(m.id)?.(m);
    else if (m.method === "Debugger.scriptParsed") scripts.push(m.params);
    else if (m.method === "Runtime.consoleAPICalled" && m.params.args?.[0]?.value === MARK) watch.count++;
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const n = ++id;
    pending.set(n, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  await call("Runtime.enable");
  await call("Debugger.enable"); // announces every script already parsed
  await sleep(200);
  let breakpoint = null;
  for (const s of scripts.filter((x) => x.url.startsWith("file:"))) {
    const lines = (await call("Debugger.getScriptSource", { scriptId: s.scriptId })).scriptSource.split("\n");
    const cls = lines.findIndex((l) => /\bclass ChatRoom\b|\bChatRoom = class\b/.test(l)); // as written, or as bundled
    const ctor = cls < 0 ? -1 : lines.findIndex((l, i) => i > cls && /^\s*constructor\(/.test(l));
    if (ctor < 0) continue;
    breakpoint = (await call("Debugger.setBreakpoint", { location: { scriptId: s.scriptId, lineNumber: ctor + 1 },
      condition: `console.log(${JSON.stringify(MARK)}), false` })).breakpointId;
    break;
  }
  if (!breakpoint) {
    ws.close();
    throw new Error("ChatRoom's constructor was not found in the bundle");
  }
  watch.close = async () => {
    await call("Debugger.removeBreakpoint", { breakpointId: breakpoint }).catch(() => {});
    await call("Debugger.disable").catch(() => {});
    ws.close();
  };
  return watch;
}

/**
 * The first message after hibernation: a room with `members` joined sockets
 * idles `idleS` seconds (wrangler dev evicts an idle object whose sockets are all
 * hibernatable after about 10 s), then one message goes out: send -> received by
 * every member; then, 200 ms later, a warm one in the same room. `tries` times.
 * A try counts as woken only if ChatRoom's constructor ran during it (see
 * watchRoomConstructions); if the watch cannot be set up, nothing is verified.
 */
export async function wakeLatency(stack, users, { members = 5, idleS = 15, tries = 3 } = {}) {
  let watch = null, watchError = null;
  try { watch = await watchRoomConstructions(stack.port); } catch (e) { watchError = String(e.message ?? e); }
  const roomId = await newRoom(stack.base, users[0], "bench wake");
  const socks = await pool(users.slice(0, members), members, (u) => joinSocket(stack.base, roomId, u.token));
  const tried = [];
  try {
    await deliver(socks, "wake-first");
    for (let t = 0; t < tries; t++) {
      const before = watch?.count;
      await sleep(idleS * 1000);
      const cold = await deliver(socks, `wake-cold-${t}`);
      const constructed = watch ? watch.count - before : null;
      await sleep(200);
      const mid = watch?.count;
      const warm = await deliver(socks, `wake-warm-${t}`);
      tried.push({ cold_ms: round(cold), warm_ms: round(warm), constructed_cold: constructed,
        constructed_warm: watch ? watch.count - mid : null });
    }
  } finally {
    await closeAll(socks);
    await watch?.close();
  }
  const woken = tried.filter((t) => t.constructed_cold > 0);
  return { members, idle_s: idleS, tries: tried.length, verified: !!watch, watch_error: watchError,
    woken: watch ? woken.length : null,
    cold_ms: median((watch ? woken : tried).map((t) => t.cold_ms)),
    warm_ms: median(tried.map((t) => t.warm_ms)), each: tried };
}

/** The latency of one request in ms, its answer's status checked. */
async function timed(url, init, status) {
  const t = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  const ms = performance.now() - t;
  if (res.status !== status) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status}, expected ${status}`);
  return ms;
}

/**
 * argon2id in workerd, measured from outside (the clock does not move during
 * synchronous work in the runtime): median latency of POST /login for unknown
 * users (verified against the dummy hash: one argon2id; the login's D1 statements
 * are in it too) minus that of GET /account without a token (401, no hashing),
 * interleaved, after two untimed rounds. Fresh usernames: no throttling.
 */
export async function argon2Runtime(base, tries = 15) {
  const login = (i) => timed(`${base}/login`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: `nobody${tag}_${i}`, password: "not the password" }) }, 401);
  const plain = () => timed(`${base}/account`, undefined, 401);
  const logins = [], plains = [];
  for (let i = -2; i < tries; i++) {
    const a = await login(i + 2), b = await plain();
    if (i >= 0) { logins.push(a); plains.push(b); }
  }
  const l = median(logins), p = median(plains);
  const alone = await argon2Alone(base, tries);
  return { tries, login_ms: round(l), no_hash_ms: round(p), login_minus_no_hash_ms: round(l - p),
    argon2id_ms: alone ?? round(l - p), measured: alone === null ? "login - no hash" : "debug route, 4 hashes - none" };
}

/** argon2id alone in workerd, when the stack runs with CHAT_DEBUG_COUNTERS=1: the
 * median of (POST /__debug/hash?n=4 - ?n=0) / 4 over `tries` interleaved pairs,
 * after one untimed pair (worker/index.ts): the same verification as a login of an
 * unknown user, without the login's D1 statements. Null without the route. */
async function argon2Alone(base, tries) {
  const hash = (n) => timed(`${base}/__debug/hash?n=${n}`, { method: "POST" }, 200);
  try { await hash(0); } catch { return null; }
  const per = [];
  for (let i = -1; i < tries; i++) {
    const four = await hash(4), none = await hash(0);
    if (i >= 0) per.push((four - none) / 4);
  }
  return round(median(per));
}

/**
 * The same verification (login_verify of an unknown user: argon2id against the
 * dummy hash) in build/chat.wasm under Node's V8: not workerd, but the same module.
 * Median of `tries` after one untimed call (which also grows memory to 19 MiB).
 */
export function argon2Node(tries = 9) {
  let memory;
  const module = new WebAssembly.Module(readFileSync(path.join(root, "build/chat.wasm")));
  const { exports: x } = new WebAssembly.Instance(module, {
    env: {
      host_random(ptr, len) {
        for (let off = 0; off < len; off += 65536) {
          crypto.getRandomValues(new Uint8Array(memory.buffer, ptr + off, Math.min(65536, len - off)));
        }
      },
      emscripten_notify_memory_growth() {},
    },
    wasi_snapshot_preview1: { proc_exit(code) { throw new Error(`proc_exit(${code})`); } },
  });
  memory = x.memory;
  x._initialize();
  if (x.chat_init() < 0) throw new Error("chat_init failed");
  const put = (text) => {
    const bytes = new TextEncoder().encode(text);
    const p = x.chat_alloc(bytes.length);
    new Uint8Array(memory.buffer, p, bytes.length).set(bytes);
    return [p, bytes.length];
  };
  const [inp, inLen] = put(JSON.stringify({ username: "nobody", password: "not the password" }));
  const [aux, auxLen] = put(JSON.stringify({ banned: false })); // no password_hash: the dummy hash
  const out = x.chat_alloc(LIMITS.coreOutInitialBytes), outLen = x.chat_alloc(4);
  const verify = () => {
    const rc = x.chat_call(OPS.login_verify, inp, inLen, aux, auxLen, Date.now(), out, LIMITS.coreOutInitialBytes, outLen);
    if (rc !== ERRORS.invalid_credentials.num) throw new Error(`login_verify answered ${rc}`);
  };
  verify();
  const ms = [];
  for (let i = 0; i < tries; i++) {
    const t = performance.now();
    verify();
    ms.push(performance.now() - t);
  }
  return { tries, engine: `Node ${process.versions.node} (V8 ${process.versions.v8})`, median_ms: round(median(ms)) };
}

/**
 * crypto_pwhash_str natively (tests/bench/pwhash.c, built by `make bench`), in
 * each build present: "portable" (build/native/pwhash: portable C, as the Wasm
 * build was before issue 21), "simd" (pwhash-simd: the same sources with
 * libsodium's SSSE3, AVX2 and AVX-512F variants, picked by cpuid: native SIMD),
 * "ssse3" (pwhash-ssse3: the SSSE3 variant only, the one the Wasm build
 * translates), "debian" (pwhash-debian: Debian's libsodium23, which maps the
 * 19 MiB afresh for every hash). The builds take turns, 3 rounds of tries/3 runs
 * each, so that a busy machine slows them alike. Resolves to the portable build's
 * { tries, median_ms, runs_ms } and `variants` for all, or null without it.
 */
export function argon2Native(tries = 9) {
  const bins = { portable: "pwhash", simd: "pwhash-simd", ssse3: "pwhash-ssse3", debian: "pwhash-debian" };
  const present = Object.entries(bins).map(([k, f]) => [k, path.join(root, "build/native", f)]).filter(([, b]) => existsSync(b));
  if (!present.some(([k]) => k === "portable")) return null;
  const runs = Object.fromEntries(present.map(([k]) => [k, []]));
  const per = Math.max(1, Math.round(tries / 3));
  for (let turn = 0; turn < 3; turn++) {
    for (const [k, bin] of present) runs[k].push(...JSON.parse(execFileSync(bin, [String(per)], { encoding: "utf8" })).runs_ms);
  }
  const variants = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, { median_ms: round(median(r)), runs_ms: r }]));
  return { tries: per * 3, median_ms: variants.portable.median_ms, runs_ms: variants.portable.runs_ms, variants };
}

/**
 * One socket through tests/load/transport.mjs (either wire form): opens, joins,
 * resolves at the history frame to { sock, at } (performance.now() at receipt),
 * or rejects on a close, a refusal or the timeout. `onMessage(frame)` sees every
 * new_chat_message after that.
 */
function joinVia(base, roomId, token, protocol, { onMessage, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (e) => { if (!done) { done = true; clearTimeout(timer); sock.terminate(); reject(e); } };
    const timer = setTimeout(() => fail(new Error("no history within the timeout")), timeoutMs);
    const sock = openRoomSocket(base, roomId, token, {
      protocol,
      onData(data) {
        const f = JSON.parse(String(data));
        for (const g of f.type === "batch" ? f.frames : [f]) {
          if (g.type === "connection") sock.send({ type: "join_room" });
          else if (g.type === "history" && !done) {
            done = true;
            clearTimeout(timer);
            resolve({ sock, at: performance.now() });
          } else if (g.type === "new_chat_message") onMessage?.(g);
        }
      },
      onClose: (code) => fail(new Error(`closed with ${code} before the history`)),
      onRefused: (status) => fail(new Error(`upgrade refused: ${status}`)),
    });
  });
}

const closeSocks = (socks) => Promise.all(socks.map(({ sock }) => new Promise((r) => {
  if (sock.ws.readyState === WebSocket.CLOSED) return r();
  const timer = setTimeout(() => { sock.terminate(); r(); }, 5000);
  sock.ws.once("close", () => { clearTimeout(timer); r(); });
  sock.close();
})));

/**
 * The join storm: a room with `seed` messages, then users.length clients open
 * their sockets to it at once (all created in one loop) and join. Resolves to the
 * time from the first open until every one had its history (all_in_ms), the
 * nearest-rank p10/p50/p90 of each client's open -> history measured from that
 * same start, and their spread (p90 - p10: near 0 when the answers are released
 * together). Works against any of the bench's servers (`protocol`, `base` the
 * server for HTTP, `bases` where the sockets go, spread by index).
 */
export async function joinStorm(base, users, { protocol = "chat", bases = [base], seed = 20, serverCpu } = {}) {
  const roomId = (await api(base, "/rooms", { name: `bench storm ${tag} ${users.length} ${++storms}` }, users[0].token)).room.id;
  // The history: seed messages from the first user, each acknowledged before the next.
  const waiting = new Map();
  const seeder = await joinVia(bases[0], roomId, users[0].token, protocol, { onMessage: (m) => waiting.get(m.client_id)?.() });
  for (let i = 0; i < seed; i++) {
    await new Promise((r) => { waiting.set(`storm-${i}`, r); seeder.sock.send({ type: "new_chat_message", body: `history ${i}`, client_id: `storm-${i}` }); });
  }
  await closeSocks([seeder]);
  await sleep(500);
  const cpu = cpuWatch(serverCpu);
  const start = performance.now();
  const results = await Promise.allSettled(users.map((u, i) => joinVia(bases[i % bases.length], roomId, u.token, protocol)));
  const ok = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
  const ms = ok.map((r) => r.at - start);
  const used = cpu.stop();
  await closeSocks(ok);
  const failed = results.filter((r) => r.status === "rejected");
  return { clients: users.length, seeded: seed, joined: ok.length, failed: failed.length,
    first_error: failed[0]?.reason?.message ?? null,
    all_in_ms: failed.length || !ms.length ? null : round(Math.max(...ms)),
    p10_ms: ms.length ? round(percentile(ms, 10)) : null, p50_ms: ms.length ? round(percentile(ms, 50)) : null,
    p90_ms: ms.length ? round(percentile(ms, 90)) : null,
    spread_ms: ms.length ? round(percentile(ms, 90) - percentile(ms, 10)) : null, ...used };
}

/**
 * The CPU the load client (this process) and the server (`serverCpu()`: its
 * processes' CPU time so far in ms, or undefined) use from now until stop(), in
 * cores (CPU time / wall time): { client_cpu, server_cpu }. A figure with the
 * client near 1 may be the client's limit; a server near 1 core is its one thread
 * (workerd runs every object and the Worker on one), not the client.
 */
function cpuWatch(serverCpu) {
  const t0 = performance.now(), c0 = process.cpuUsage(), s0 = serverCpu?.();
  return {
    stop() {
      const wall = performance.now() - t0, c = process.cpuUsage(c0), s1 = serverCpu?.();
      return { client_cpu: round((c.user + c.system) / 1000 / wall),
        server_cpu: s0 === undefined || s1 === undefined ? null : round((s1 - s0) / wall) };
    },
  };
}

/** The CPU time, in ms, that the processes `pids` and every descendant of theirs
 * have used so far (utime + stime of /proc/<pid>/stat, at the kernel's clock tick
 * of 10 ms). Linux only; processes gone meanwhile count no more. */
export function cpuOfTree(pids) {
  const { children, procs } = processTable();
  let ms = 0;
  const walk = (pid) => { ms += procs.get(pid)?.cpu_ms ?? 0; (children.get(pid) ?? []).forEach(walk); };
  pids.map(String).forEach(walk);
  return ms;
}

/** Every process now, from /proc: `children` (ppid -> [pid]) and `procs` (pid ->
 * { comm, cpu_ms: utime + stime in ms, args: its command line }). Linux only. */
function processTable() {
  const children = new Map();
  const procs = new Map();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (!children.has(rest[1])) children.set(rest[1], []);
      children.get(rest[1]).push(pid);
      procs.set(pid, { comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        cpu_ms: (Number(rest[11]) + Number(rest[12])) * 10,
        args: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0") });
    } catch { /* gone meanwhile */ }
  }
  return { children, procs };
}

/** One join at a time on an otherwise idle server: `tries` sockets opened one
 * after another (each closed before the next), open -> history; p50 and max. The
 * users have joined the room before (warm: their hubs and sessions known). */
export async function idleJoin(base, users, { protocol = "chat", tries = 20 } = {}) {
  const roomId = (await api(base, "/rooms", { name: `bench idle join ${tag}` }, users[0].token)).room.id;
  const ms = [];
  for (let i = -1; i < tries; i++) { // one untimed first join
    const u = users[Math.max(0, i) % users.length];
    const t = performance.now();
    const s = await joinVia(base, roomId, u.token, protocol);
    if (i >= 0) ms.push(s.at - t);
    await closeSocks([s]);
  }
  return { tries, p50_ms: round(percentile(ms, 50)), max_ms: round(Math.max(...ms)) };
}

/**
 * D1 queries per socket open, from the Worker's debug counter: GET /__debug/counters
 * answering {"d1_queries": n} (queries since the isolate started) when the stack
 * runs with CHAT_DEBUG_COUNTERS set. `n` users open and join a room one at a
 * time, twice: the first round (cold: first socket of each user in this room),
 * then the same again (warm). Resolves to { cold, warm } queries per open, or
 * { unavailable: reason } when the Worker has no such counter.
 */
export async function d1PerOpen(base, users, n = 20) {
  const read = async () => {
    const res = await fetch(`${base}/__debug/counters`);
    if (!res.ok) throw new Error(`GET /__debug/counters: ${res.status}`);
    const c = (await res.json()).d1_queries;
    if (typeof c !== "number") throw new Error("GET /__debug/counters has no d1_queries");
    return c;
  };
  let before;
  try { before = await read(); } catch (e) { return { unavailable: String(e.message ?? e) }; }
  const roomId = (await api(base, "/rooms", { name: `bench d1 ${tag}` }, users[0].token)).room.id;
  const after = await read(); // the room's creation is not a socket open
  const round1 = async () => {
    for (const u of users.slice(0, n)) await closeSocks([await joinVia(base, roomId, u.token, "chat")]);
    return read();
  };
  const cold = await round1(), warm = await round1();
  void before;
  return { opens: n, cold: round((cold - after) / n), warm: round((warm - cold) / n) };
}

/** The pids of the workerd processes under the `wrangler dev` listening on `port`
 * (its process and their descendants, from /proc). Linux only. */
export function workerdPidsOf(port) {
  const { children, procs } = processTable();
  const wrangler = [...procs].filter(([, { args }]) => {
    const i = args.indexOf("--port");
    return args.includes("dev") && i >= 0 && args[i + 1] === String(port);
  }).map(([pid]) => pid);
  const found = [];
  const walk = (pid) => {
    for (const c of children.get(pid) ?? []) {
      if (procs.get(c)?.comm === "workerd") found.push(Number(c));
      walk(c);
    }
  };
  wrangler.forEach(walk);
  return [...new Set(found)];
}

/** The runtime's own entry under the `wrangler dev` listening on `port`, past
 * wrangler's dev proxy: the listening address of one of its workerd processes,
 * other than the stack's, that answers our Worker (GET /account: 401
 * token_missing). Null when none does. Linux only (ss). The port changes when the
 * runtime restarts. */
export async function runtimeEntry(port) {
  let listening = "";
  try { listening = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" }); } catch { return null; }
  for (const pid of workerdPidsOf(port)) {
    for (const line of listening.split("\n").filter((l) => l.includes(`pid=${pid},`))) {
      const hp = line.match(/127\.0\.0\.1:(\d+)/);
      if (!hp || Number(hp[1]) === port) continue;
      try {
        const res = await fetch(`http://${hp[0]}/account`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 401 && (await res.text()).includes("token_missing")) return `http://${hp[0]}`;
      } catch { /* not ours */ }
    }
  }
  return null;
}
