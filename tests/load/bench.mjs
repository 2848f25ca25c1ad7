#!/usr/bin/env node
// The fan-out benchmark (`make bench`), three systems side by side, measured with
// the same load client (tests/load/bots.mjs) on the same machine, one server at a
// time:
//   ours      a fresh local `wrangler dev` (tests/e2e/harness.mjs), restarted on the
//             same state between runs (its accounts are signed up once: each is an
//             argon2id);
//   plain DO  tests/load/reference/: a plain JavaScript Durable Object chat under
//             its own `wrangler dev` (tests/load/bench-reference.mjs);
//   socket.io tests/load/reference-socketio/: socket.io 4 with its Redis adapter, two
//             Node processes on Debian's redis-server, started and stopped here.
// For each, rooms of SIZES members (100, 1 000, 5 000), 10 % of them sending:
//   (a) a moderate 20 messages/s for STEP_SECONDS (after 3 s of warm-up): p50/p99;
//   (b) a ramp of 50 ... 3 200 messages/s, STEP_SECONDS each: the highest rate at
//       which at least 99 % of deliveries arrive and p99 stays under 250 ms; a ramp
//       ends once a step's p99 is known to be past 5 s (the rest: collapsed). Each
//       step carries the load client's own CPU (process.cpuUsage over the step's
//       wall time, in cores): near 100 %, the client may be the limit;
//   (c) the join storm: STORM clients (1 000, 200) open one room (20 messages of
//       history) at once: time until all have their history, p50, spread (p90 - p10).
// Ours only:
//   (d) the restart under load: RESTART_CLIENTS (1 000) bots in 10 rooms sending
//       RESTART_RATE msg/s in all; 10 s in, the runtime (the workerd under the
//       harness's wrangler dev) is SIGKILLed, and wrangler starts it again on the
//       same state (the whole stack is restarted only if it does not); the bots reconnect (backoff with full jitter, rejoin since their last
//       seq, resend what was unacknowledged): the time from the kill until every
//       client is joined again, and lost / duplicated / reordered (all must be 0);
//   (e) one join on an idle server (p50), D1 queries per socket open (the Worker's
//       debug counter, CHAT_DEBUG_COUNTERS: GET /__debug/counters -> {d1_queries};
//       "n/a" while the Worker has none), and the single-shot probes of
//       tests/load/bench-probes.mjs: open -> history for 100 sockets 8 at a time,
//       the first message after hibernation, argon2id in workerd, in Node's V8 and
//       natively (build/native/pwhash).
// Repeated RUNS times (default 3); the tables show medians. Knobs to shorten:
// SIZES, RUNS, STEP_SECONDS, SETTLE_SECONDS, SYSTEMS (ours,plain,socketio), STORM,
// RESTART_CLIENTS (0: no restart scenario), RESTART_RATE, RESTART_SECONDS; and
// RELAY_FROM (CHAT_RELAY_FROM for ours: 100000 runs a big room without relays).
// Writes build/bench/results.json, results.md and chart.svg (and chart.png when
// rsvg-convert is installed). Figures, not assertions: nothing here fails a build.
//
// The per-user rate limit of ours is lifted for the run (CHAT_RATE_PER_SECOND);
// everything else (storage, blocks, the room's checks and its 2 000/s limit) is on.
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { startStack, toolEnv } from "../e2e/harness.mjs";
import { argon2Native, argon2Node, argon2Runtime, cpuOfTree, d1PerOpen, idleJoin, joinLatency, joinStorm, median, signupUsers,
  runtimeEntry, wakeLatency, workerdPidsOf } from "./bench-probes.mjs";
import { startReference, startSocketioReference } from "./bench-reference.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const out = path.join(root, "build/bench");
const list = (name, fallback) => (process.env[name] ?? fallback).split(",").filter(Boolean);
const RUNS = Number(process.env.RUNS ?? 3);
const SIZES = list("SIZES", "100,1000,5000").map(Number);
const SYSTEMS = list("SYSTEMS", "ours,plain,socketio");
const STORM = list("STORM", "1000,200").map(Number);
const RAMP = [50, 100, 200, 400, 800, 1600, 3200];
const STEP_S = Number(process.env.STEP_SECONDS ?? 10);
const COLLAPSE_MS = 5000; // a ramp ends once a step's p99 is past this
const PROBE_M = 100; // sockets of the join probe
const DIRECT_FROM = 5000; // room sizes whose bots bypass wrangler's dev proxy (measureOurs)
const SETTLE_MS = Number(process.env.SETTLE_SECONDS ?? 12) * 1000;
const WAKE = { members: 5, idleS: Number(process.env.WAKE_IDLE_SECONDS ?? 15), tries: Number(process.env.WAKE_TRIES ?? 3) };
const RESTART = { clients: Number(process.env.RESTART_CLIENTS ?? 1000), rooms: 10, rate: Number(process.env.RESTART_RATE ?? 200),
  seconds: Number(process.env.RESTART_SECONDS ?? 30), killAfterS: 10 };
const NAMES = { ours: "ours", plain: "plain DO", socketio: "socket.io 4 + Redis" };
const node = path.join(root, "node_modules/.bin/node");
const tmp = mkdtempSync(path.join(os.tmpdir(), "chat-bench-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

const botArgs = (base, args) => [path.join(here, "bots.mjs"), "--base", base, "--quiet", "--drain", "5", ...args];

async function bots(base, args) {
  const { stdout, stderr } = await promisify(execFile)(node, botArgs(base, args),
    { env: toolEnv, timeout: 900_000, maxBuffer: 1 << 26 }).catch((e) => e); // lost => exit 1, still a report
  if (!stdout.includes("{")) throw new Error(`the bots gave no report: ${String(stderr).trim().split("\n").slice(-3).join(" | ")}`);
  return JSON.parse(stdout.slice(stdout.indexOf("{")));
}

const sustained = (p) => p.run !== false && p.delivery_ratio >= 0.99 && p.p99_ms < 250;
const note = (text) => process.stderr.write(`${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits for the server to finish with the last run's sockets: wrangler dev takes
 * about 10 s to end a closed WebSocket, and then the rooms and the users' hubs do
 * their bookkeeping (presence), which measured as 50-130 ms stalls in the next run
 * when it started at once. Each measurement starts on a quiet server. */
const settle = () => sleep(SETTLE_MS);

/** (a) and (b) for one room size against a server. `who` names the system. */
async function loadRuns(target, m, run, who) {
  const extra = [...target.botArgs, "--stop-p99-ms", String(COLLAPSE_MS)];
  await settle();
  // 3 s of the same load first, not counted: a fresh server's first messages pay
  // for compiling (JIT, Wasm tiers) and creating objects, for every system alike.
  const warm = await bots(target.base, ["--users", String(m), "--senders", "0.1", "--ramp", `20:3,20:${STEP_S}`, ...target.botArgs]);
  const moderate = { p50: warm.phases[1].p50_ms, p99: warm.phases[1].p99_ms, client_cpu: warm.phases[1].client_cpu };
  await settle();
  const ramp = await bots(target.base, ["--users", String(m), "--senders", "0.1",
    "--ramp", RAMP.map((r) => `${r}:${STEP_S}`).join(","), ...extra]);
  const ok = ramp.phases.filter(sustained).map((p) => p.rate);
  const r = { run, system: who, members: m, moderate, phases: ramp.phases, max_rate: ok.length ? Math.max(...ok) : 0,
    lost: warm.lost + ramp.lost, duplicated: warm.duplicated + ramp.duplicated, reordered: warm.reordered + ramp.reordered };
  const top = ramp.phases.find((p) => p.rate === r.max_rate);
  note(`run ${run}, ${NAMES[who]} M=${m}: moderate p50 ${r.moderate.p50} ms p99 ${r.moderate.p99} ms; max sustained ${r.max_rate}/s` +
    ` (client CPU there ${top ? `${Math.round(100 * top.client_cpu)} %` : "—"})`);
  return r;
}

/** (c) for every STORM size. */
async function storms(target, users, run, who) {
  const res = [];
  for (const n of STORM) {
    await settle();
    const s = await joinStorm(target.api, users.slice(0, n), { protocol: target.protocol, bases: target.bases, serverCpu: target.serverCpu });
    note(`run ${run}, ${NAMES[who]}: join storm of ${n}: all in ${s.all_in_ms ?? `— (${s.failed} failed: ${s.first_error})`} ms,` +
      ` p50 ${s.p50_ms} ms, spread (p90 - p10) ${s.spread_ms} ms; CPU in cores: client ${s.client_cpu}, server ${s.server_cpu}`);
    res.push({ run, system: who, ...s });
  }
  return res;
}

/**
 * (d): bots in RESTART.rooms rooms sending; RESTART.killAfterS seconds after they
 * start, every workerd under the stack's wrangler dev gets SIGKILL (a crash, not a
 * shutdown); wrangler starts it again on the same state and port.
 */
async function restartUnderLoad(stack, accountsFile, run) {
  const child = spawn(node, botArgs(stack.base, ["--accounts", accountsFile, "--users", String(RESTART.clients),
    "--rooms", String(RESTART.rooms), "--senders", "0.1", "--rate", String(RESTART.rate),
    "--duration", String(RESTART.seconds), "--signal-ready", "--drain", "60"]), { env: toolEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d) => { stdout += d; });
  const exited = new Promise((r) => child.once("exit", r));
  await new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => { stderr += d; if (stderr.includes("bots: sending")) resolve(); });
    child.once("exit", () => reject(new Error(`bots ended before sending:\n${stderr}`)));
  });
  await sleep(RESTART.killAfterS * 1000);
  const pids = workerdPidsOf(stack.port), groups = pgidsOf(pids);
  const killedAt = Date.now();
  for (const pid of pids) { try { process.kill(pid, "SIGKILL"); } catch { /* gone */ } }
  // wrangler dev would start a new runtime by itself, but one that did not answer
  // here: end the rest of its process group too (SIGKILL: nothing exits cleanly),
  // wait until none of it is left, so no old runtime still holds the storage, and
  // start the stack again on the same state and port.
  for (const g of groups) { try { process.kill(-g, "SIGKILL"); } catch { /* gone */ } }
  while (groups.some(groupAlive)) await sleep(20);
  await stack.restart();
  const restarted = true;
  const upAt = Date.now();
  await exited;
  const r = JSON.parse(stdout.slice(stdout.indexOf("{")));
  const res = { run, clients: RESTART.clients, rooms: RESTART.rooms, rate: RESTART.rate, killed: pids.length,
    stack_restarted: restarted,
    runtime_back_ms: upAt - killedAt,
    all_live_ms: r.reconnects.recovered === r.reconnects.outages && r.reconnects.last_live_at ? r.reconnects.last_live_at - killedAt : null,
    outages: r.reconnects.outages, recovered: r.reconnects.recovered, attempts: r.reconnects.attempts,
    offline_ms: r.reconnects.offline_ms, replayed: r.reconnects.replayed_deliveries,
    sent: r.sent, acked: r.acked, unacked: r.unacked, delivered: r.delivered, expected: r.expected_deliveries,
    lost: r.lost, duplicated: r.duplicated, reordered: r.reordered, errors: r.errors };
  note(`run ${run}: restart under load (${RESTART.clients} clients, ${RESTART.rooms} rooms, ${RESTART.rate} msg/s): ` +
    `runtime back in ${res.runtime_back_ms} ms, every client live again ${res.all_live_ms ?? "never"} ms after the kill ` +
    `(${res.recovered}/${res.outages}); lost ${res.lost}, duplicated ${res.duplicated}, reordered ${res.reordered}, unacknowledged ${res.unacked}`);
  return res;
}

/** The process groups of some pids (from /proc/<pid>/stat). */
function pgidsOf(pids) {
  const out = new Set();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      out.add(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]));
    } catch { /* gone */ }
  }
  return [...out];
}
const groupAlive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };

/** Our stack, all runs: accounts once, then per run (the runtime fresh each time)
 * the loads, the storms, the probes and last the restart scenario. */
async function measureOurs() {
  // X_LOCAL_OBSERVABILITY=false: wrangler dev's local explorer otherwise streams
  // every event of the Worker to a collector written in JavaScript, running in
  // the same single-threaded workerd as the room. A development tool with no
  // counterpart in production; with it on, a room of 100 collapsed near 1 200
  // messages/s instead of shedding past 2 000.
  // RELAY_FROM replaces CHAT_RELAY_FROM (a large number: no relays, to compare).
  const relays = process.env.RELAY_FROM ? { CHAT_RELAY_FROM: process.env.RELAY_FROM } : {};
  const stack = await startStack({ vars: { CHAT_RATE_PER_SECOND: "1000000", CHAT_DEBUG_COUNTERS: "1", ...relays },
    env: { X_LOCAL_OBSERVABILITY: "false" } });
  const res = { loads: [], storms: [], probes: [], restarts: [] };
  try {
    const need = Math.max(...SIZES, ...STORM, RESTART.clients, PROBE_M);
    const started = Date.now();
    const users = await signupUsers(stack.base, need);
    note(`ours: ${need} accounts signed up in ${((Date.now() - started) / 1000).toFixed(0)} s (once for every run)`);
    const accountsFile = path.join(tmp, "accounts.json");
    writeFileSync(accountsFile, JSON.stringify(users));
    const target = { base: stack.base, api: stack.base, bases: [stack.base], protocol: "chat", botArgs: ["--accounts", accountsFile],
      serverCpu: () => cpuOfTree(workerdPidsOf(stack.port)) };
    for (let run = 1; run <= RUNS; run++) {
      if (run > 1) await stack.restart(); // a fresh runtime, the same accounts
      // Rooms of DIRECT_FROM members and more: the bots reach the runtime's own
      // entry, past wrangler's dev proxy, which restarted at about 5 000 sockets
      // and left the stack hung (a development tool with no counterpart in
      // production). Every other figure goes through it, as a client's would.
      const direct = SIZES.some((m) => m >= DIRECT_FROM) ? await runtimeEntry(stack.port) : null;
      for (const m of SIZES) {
        res.loads.push(await loadRuns(m >= DIRECT_FROM && direct ? { ...target, base: direct } : target, m, run, "ours"));
      }
      res.storms.push(...await storms(target, users, run, "ours"));
      await settle();
      const argon2 = await argon2Runtime(stack.base);
      note(`run ${run}: argon2id in workerd ≈ ${argon2.argon2id_ms} ms (${argon2.measured}; login ${argon2.login_ms} − no hash ${argon2.no_hash_ms} = ${argon2.login_minus_no_hash_ms})`);
      const probeUsers = users.slice(0, PROBE_M);
      const idle = await idleJoin(stack.base, probeUsers);
      note(`run ${run}: one join on an idle server: p50 ${idle.p50_ms} ms, max ${idle.max_ms} ms`);
      const d1 = await d1PerOpen(stack.base, probeUsers);
      note(`run ${run}: D1 queries per socket open: ${d1.unavailable ? `n/a (${d1.unavailable})` : `${d1.cold} first, ${d1.warm} warm`}`);
      const join = await joinLatency(stack.base, probeUsers);
      note(`run ${run}: open → history, M=${PROBE_M}: p50 ${join.first.p50_ms} p99 ${join.first.p99_ms} max ${join.first.max_ms} ms`);
      await settle();
      const wake = await wakeLatency(stack, probeUsers, WAKE);
      note(`run ${run}: after hibernation ${wake.cold_ms} ms, warm ${wake.warm_ms} ms (woken ${wake.woken ?? "unverified"}/${wake.tries})`);
      res.probes.push({ run, argon2_workerd: argon2, idle_join: idle, d1, join, wake, ...measureHashing() });
      if (RESTART.clients > 0) {
        await settle();
        res.restarts.push(await restartUnderLoad(stack, accountsFile, run));
      }
    }
    return res;
  } finally {
    await stack.stop();
  }
}

/** A reference, all runs (each on a fresh server): the loads and the storms. */
async function measureReference(who) {
  const res = { loads: [], storms: [] };
  for (let run = 1; run <= RUNS; run++) {
    const ref = who === "plain" ? await startReference() : await startSocketioReference();
    try {
      const bases = ref.bases ?? [ref.base];
      const target = { base: ref.base, api: bases[0], bases, protocol: who === "socketio" ? "socketio" : "chat",
        botArgs: who === "socketio" ? ["--protocol", "socketio"] : [],
        serverCpu: () => cpuOfTree(who === "plain" ? workerdPidsOf(Number(new URL(ref.base).port)) : ref.pids()) };
      for (const m of SIZES) res.loads.push(await loadRuns(target, m, run, who));
      const users = await signupUsers(bases[0], Math.max(...STORM, 1));
      res.storms.push(...await storms(target, users, run, who));
    } finally {
      await ref.stop();
    }
  }
  return res;
}

/** argon2id off the server: the same .wasm in Node's V8, and native libsodium. */
function measureHashing() {
  return { argon2_node: argon2Node(), argon2_native: argon2Native() };
}

/** Medians across runs per offered rate; a step not run (the ramp ended before it)
 * counts as collapsed. */
function summarize(mine) {
  if (!mine.length) return null;
  return {
    members: mine[0].members,
    moderate_p50_ms: median(mine.map((r) => r.moderate.p50)),
    moderate_p99_ms: median(mine.map((r) => r.moderate.p99)),
    moderate_client_cpu: median(mine.map((r) => r.moderate.client_cpu)),
    max_rate: median(mine.map((r) => r.max_rate)),
    max_rates: mine.map((r) => r.max_rate),
    lost: mine.reduce((a, r) => a + r.lost, 0), duplicated: mine.reduce((a, r) => a + r.duplicated, 0),
    ramp: RAMP.map((rate) => {
      const at = mine.map((r) => r.phases.find((p) => p.rate === rate))
        .map((p) => (p.run === false ? { delivered_per_second: 0, delivery_ratio: 0, p99_ms: Infinity, client_cpu: null } : p));
      const p99 = median(at.map((p) => p.p99_ms));
      const cpu = at.map((p) => p.client_cpu).filter((x) => x !== null && x !== undefined);
      return { rate, delivered_per_second: median(at.map((p) => p.delivered_per_second)),
        delivery_ratio: median(at.map((p) => p.delivery_ratio)), p99_ms: p99 === Infinity ? null : p99,
        client_cpu: cpu.length ? median(cpu) : null, ...(p99 === Infinity ? { collapsed: true } : {}) };
    }),
  };
}

/** Medians across runs of one system's join storms, per storm size. */
function summarizeStorms(mine) {
  return STORM.map((n) => {
    const at = mine.filter((s) => s.clients === n);
    const m = (f) => median(at.map(f).filter((x) => x !== null && x !== undefined));
    return { clients: n, all_in_ms: m((s) => s.all_in_ms), p50_ms: m((s) => s.p50_ms), spread_ms: m((s) => s.spread_ms),
      client_cpu: m((s) => s.client_cpu), server_cpu: m((s) => s.server_cpu),
      all_in_runs_ms: at.map((s) => s.all_in_ms), failed: at.reduce((a, s) => a + s.failed, 0) };
  });
}

/** Medians across runs of the probes. */
function summarizeProbes(probes) {
  const m = (f) => median(probes.map(f).filter((x) => x !== null && x !== undefined));
  const native = m((p) => p.argon2_native?.median_ms);
  const ratio = (x, y) => (x && y ? x / y : null);
  return {
    join_first: { p50_ms: m((p) => p.join.first.p50_ms), p99_ms: m((p) => p.join.first.p99_ms), max_ms: m((p) => p.join.first.max_ms) },
    join_rejoin: { p50_ms: m((p) => p.join.rejoin.p50_ms), p99_ms: m((p) => p.join.rejoin.p99_ms), max_ms: m((p) => p.join.rejoin.max_ms) },
    join_history_messages: probes[0].join.first.history_messages,
    wake_cold_ms: m((p) => p.wake.cold_ms),
    wake_warm_ms: m((p) => p.wake.warm_ms),
    wake_woken: probes.every((p) => p.wake.verified) ? probes.reduce((a, p) => a + p.wake.woken, 0) : null,
    wake_tries: probes.reduce((a, p) => a + p.wake.tries, 0),
    argon2_workerd_ms: m((p) => p.argon2_workerd.argon2id_ms),
    argon2_login_ms: m((p) => p.argon2_workerd.login_ms),
    argon2_no_hash_ms: m((p) => p.argon2_workerd.no_hash_ms),
    argon2_node_ms: m((p) => p.argon2_node.median_ms),
    argon2_node_engine: probes[0].argon2_node.engine,
    argon2_native_ms: native,
    argon2_native_simd_ms: m((p) => p.argon2_native?.variants?.simd?.median_ms),
    argon2_native_ssse3_ms: m((p) => p.argon2_native?.variants?.ssse3?.median_ms),
    argon2_native_debian_ms: m((p) => p.argon2_native?.variants?.debian?.median_ms),
    // Wasm over native (issue 21, 6: within 2x of native SIMD), per run, then the median.
    argon2_workerd_x_simd: m((p) => ratio(p.argon2_workerd.argon2id_ms, p.argon2_native?.variants?.simd?.median_ms)),
    argon2_node_x_simd: m((p) => ratio(p.argon2_node.median_ms, p.argon2_native?.variants?.simd?.median_ms)),
    argon2_workerd_x_debian: m((p) => ratio(p.argon2_workerd.argon2id_ms, p.argon2_native?.variants?.debian?.median_ms)),
    argon2_node_x_debian: m((p) => ratio(p.argon2_node.median_ms, p.argon2_native?.variants?.debian?.median_ms)),
    idle_join_p50_ms: m((p) => p.idle_join.p50_ms),
    idle_join_max_ms: m((p) => p.idle_join.max_ms),
    d1_cold: m((p) => p.d1.cold),
    d1_warm: m((p) => p.d1.warm),
    d1_unavailable: probes.find((p) => p.d1.unavailable)?.d1.unavailable ?? null,
  };
}

const measured = {};
for (const who of SYSTEMS) measured[who] = who === "ours" ? await measureOurs() : await measureReference(who);

const tables = Object.fromEntries(SYSTEMS.map((who) => [who, {
  sizes: SIZES.map((m) => summarize(measured[who].loads.filter((r) => r.members === m))),
  storms: summarizeStorms(measured[who].storms),
}]));
const probes = measured.ours?.probes.length ? summarizeProbes(measured.ours.probes) : null;
const restarts = measured.ours?.restarts ?? [];
const restart = restarts.length ? {
  all_live_ms: median(restarts.map((r) => r.all_live_ms).filter((x) => x !== null)),
  all_live_runs_ms: restarts.map((r) => r.all_live_ms), runtime_back_ms: median(restarts.map((r) => r.runtime_back_ms)),
  lost: restarts.reduce((a, r) => a + r.lost, 0), duplicated: restarts.reduce((a, r) => a + r.duplicated, 0),
  reordered: restarts.reduce((a, r) => a + r.reordered, 0), unacked: restarts.reduce((a, r) => a + r.unacked, 0),
  acked: restarts.reduce((a, r) => a + r.acked, 0), sent: restarts.reduce((a, r) => a + r.sent, 0),
  recovered: restarts.reduce((a, r) => a + r.recovered, 0), outages: restarts.reduce((a, r) => a + r.outages, 0),
} : null;

const cpu = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}`;
const int = (x) => (x === null || x === undefined ? "—" : Math.round(x).toLocaleString("en-US").replace(/,/g, " "));
const ms = (x, digits = 1) => (x === null || x === undefined ? "n/a" : `${x.toFixed(digits)} ms`);
const times = (x) => (x === null || x === undefined ? "n/a" : `${x.toFixed(2)}×`);
const pct = (x) => (x === null || x === undefined ? "—" : `${Math.round(100 * x)} %`);
const cols = SYSTEMS.map((w) => NAMES[w]);
const head = (first) => [`| ${first} | ${cols.join(" | ")} |`, `|---|${cols.map(() => "---").join("|")}|`];
const row = (label, f) => `| ${label} | ${SYSTEMS.map((w) => f(tables[w], w)).join(" | ")} |`;
const size = (t, m) => t.sizes[SIZES.indexOf(m)];
/** One ramp step of one system: delivered/s, share, p99, the client's CPU. */
const step = (r) => (!r ? "—" : r.collapsed ? "collapsed" : `${int(r.delivered_per_second)}/s · ${(100 * r.delivery_ratio).toFixed(1)} %` +
  ` · ${r.delivered_per_second ? `${r.p99_ms.toFixed(0)} ms` : "—"} · client ${pct(r.client_cpu)}`);
const maxRate = (s) => {
  if (!s) return "—";
  const top = s.ramp.find((r) => r.rate === s.max_rate);
  return `${int(s.max_rate)} (${s.max_rates.map(int).join(" / ")}; client ${pct(top?.client_cpu)})`;
};
const storm = (t, n) => {
  const s = t.storms.find((x) => x.clients === n);
  return !s || s.all_in_ms === null ? `— (${s?.failed ?? 0} failed)`
    : `${ms(s.all_in_ms, 0)} (p50 ${ms(s.p50_ms, 0)}, spread ${ms(s.spread_ms, 0)}; client ${pct(s.client_cpu)}, server ${pct(s.server_cpu)})`;
};
const lines = [
  `# Benchmark (medians of ${RUNS} run(s))`,
  "",
  `Machine: ${cpu}; the load client (one Node process) and the server under test share it, one server at a time. "client" is the load client's own CPU over the step (process.cpuUsage / wall time, in cores): near 100 % the figure may be the client's limit, not the server's.`,
  "",
  ...head("one room, 10 % sending"),
  ...SIZES.flatMap((m) => [
    row(`${int(m)} members, max msg/s with ≥ 99 % delivered and p99 < 250 ms (runs)`, (t) => maxRate(size(t, m))),
    row(`${int(m)} members, 20 msg/s, p50 / p99`, (t) => (size(t, m) ? `${ms(size(t, m).moderate_p50_ms)} / ${ms(size(t, m).moderate_p99_ms)} (client ${pct(size(t, m).moderate_client_cpu)})` : "—")),
  ]),
  ...STORM.map((n) => row(`${int(n)} clients join one room at once: all in (p50, spread p90 − p10)`, (t) => storm(t, n))),
  row(`restart under load (${int(RESTART.clients)} clients, ${RESTART.rooms} rooms, ${RESTART.rate} msg/s): every client live again after the kill`,
    (t, w) => (w !== "ours" || !restart ? "—" : `${ms(restart.all_live_ms, 0)} (runs ${restart.all_live_runs_ms.map((x) => int(x)).join(" / ")}; runtime back ${ms(restart.runtime_back_ms, 0)})`)),
  row("restart under load: lost / duplicated / reordered (all runs)",
    (t, w) => (w !== "ours" || !restart ? "—" : `${restart.lost} / ${restart.duplicated} / ${restart.reordered} (${int(restart.acked)} of ${int(restart.sent)} acknowledged; ${restart.recovered}/${restart.outages} clients back)`)),
  row("one join on an idle server, p50", (t, w) => (w !== "ours" || !probes ? "—" : ms(probes.idle_join_p50_ms))),
  row("D1 queries per socket open (first / warm)", (t, w) => (w !== "ours" || !probes ? "—"
    : probes.d1_unavailable ? "n/a: no debug counter" : `${probes.d1_cold} / ${probes.d1_warm}`)),
  "",
  ...SIZES.flatMap((m) => [
    `### ${int(m)} members: delivered msg/s · delivered share · p99 · load client CPU`,
    "",
    ...head("offered msg/s"),
    ...RAMP.map((rate) => row(String(rate), (t) => step(size(t, m)?.ramp.find((r) => r.rate === rate)))),
    "",
  ]),
  `Each ramp ends before the next step once a step's p99 is known to be past ${COLLAPSE_MS / 1000} s (steps not run: collapsed). ` +
    "plain DO: tests/load/reference/, a plain JavaScript Durable Object chat (per-message broadcast, one storage write each) under its own `wrangler dev`. " +
    "socket.io 4 + Redis: tests/load/reference-socketio/, two Node processes with @socket.io/redis-adapter on Debian's redis-server, each message numbered, stored and published by one Redis script; the bots' sockets alternate between the processes.",
];
if (probes) {
  const woken = probes.wake_woken === null ? "eviction not verified" : `${probes.wake_woken} of ${probes.wake_tries} tries evicted`;
  const pr = measured.ours.probes[0];
  lines.push(
    "",
    "## Joining, waking, hashing (ours)",
    "",
    "| measure | p50 / median | p99 | max |",
    "|---|---|---|---|",
    `| one join on an idle server (${pr.idle_join.tries} one after another) | ${ms(probes.idle_join_p50_ms)} | | ${ms(probes.idle_join_max_ms)} |`,
    `| open → history, M = ${PROBE_M}, first join | ${ms(probes.join_first.p50_ms)} | ${ms(probes.join_first.p99_ms)} | ${ms(probes.join_first.max_ms)} |`,
    `| open → history, M = ${PROBE_M}, rejoin | ${ms(probes.join_rejoin.p50_ms)} | ${ms(probes.join_rejoin.p99_ms)} | ${ms(probes.join_rejoin.max_ms)} |`,
    `| first message after hibernation, send → all ${WAKE.members} members | ${ms(probes.wake_cold_ms)} | | |`,
    `| warm message, same room | ${ms(probes.wake_warm_ms)} | | |`,
    `| argon2id, Wasm in workerd (${pr.argon2_workerd.measured}) | ${ms(probes.argon2_workerd_ms)} | | |`,
    `| argon2id, the same Wasm in ${probes.argon2_node_engine} | ${ms(probes.argon2_node_ms)} | | |`,
    `| argon2id, native libsodium, portable C (gcc -O2; the Wasm build's C before issue 21) | ${ms(probes.argon2_native_ms)} | | |`,
    `| argon2id, native libsodium with SIMD (its SSSE3/AVX2/AVX-512F variants, by cpuid) | ${ms(probes.argon2_native_simd_ms)} | | |`,
    `| argon2id, native libsodium, SSSE3 variant only (the one Wasm translates) | ${ms(probes.argon2_native_ssse3_ms)} | | |`,
    `| argon2id, Debian's libsodium23 (SIMD; maps its memory afresh per hash) | ${ms(probes.argon2_native_debian_ms)} | | |`,
    `| argon2id, Wasm ÷ native SIMD: workerd, ${probes.argon2_node_engine.split(" (")[0]} (goal ≤ 2×) | ${times(probes.argon2_workerd_x_simd)}, ${times(probes.argon2_node_x_simd)} | | |`,
    `| argon2id, Wasm ÷ Debian's libsodium23: workerd, ${probes.argon2_node_engine.split(" (")[0]} | ${times(probes.argon2_workerd_x_debian)}, ${times(probes.argon2_node_x_debian)} | | |`,
    "",
    `- Join storm: a room with 20 messages of history, then every client creates its socket in one loop and joins; "all in" is from the first socket's creation until the last history arrived, p50 and the spread (p90 − p10) of each client's time from that same start: a spread near 0 means the answers were released together. "client" and "server" are the CPU of the load client and of the server's processes (every workerd of the stack; redis-server and both socket.io processes) from the first socket until the last history, in cores: a workerd near 100 % is its one thread busy all along (the object's thread is the limit); well under it, the runtime waited.`,
    `- Restart under load: the bots reconnect with capped exponential backoff and full jitter (LIMITS.reconnectBaseMs, reconnectCapMs), rejoin with since = their last seq and resend what was unacknowledged with its client_id; "live again" is when the last of them had its history, measured from the SIGKILL of the runtime (the workerd under wrangler dev), which wrangler starts again on the same state.`,
    `- D1 queries per socket open: the Worker's debug counter (CHAT_DEBUG_COUNTERS: GET /__debug/counters → {"d1_queries"}), read around ${pr.d1.opens ?? 20} opens one at a time, first in a new room, then the same again (warm)${probes.d1_unavailable ? `; not measured: ${probes.d1_unavailable}` : ""}.`,
    `- Open → history: from creating the socket (subprotocols chat.v1 and bearer.<token>) to its history frame (${probes.join_history_messages} messages) in a room holding ${pr.join.seeded}, ${PROBE_M} users joining ${pr.join.width} at a time; "first join" is each user's first socket in that room, "rejoin" the same users again right after.`,
    `- After hibernation: a room with ${WAKE.members} joined sockets idles ${WAKE.idleS} s until wrangler dev evicts its Durable Object (${woken}: ChatRoom's constructor seen running again, through the inspector), then one message, send → received by every member; warm: the next message 200 ms later.`,
    `- argon2id in workerd: with the bench's CHAT_DEBUG_COUNTERS, the median of (POST /__debug/hash?n=4 − ?n=0) ÷ 4, the same verification a login of an unknown user makes, without its D1 statements; beside it, median POST /login of an unknown user (one argon2id against the dummy hash, plus the login's D1 statements) minus median GET /account without a token (401, no hashing), ${pr.argon2_workerd.tries} each (medians ${ms(probes.argon2_login_ms)} − ${ms(probes.argon2_no_hash_ms)}): the runtime's clock stands still during synchronous work, so both are timed from outside.`,
    `- argon2id elsewhere: build/chat.wasm's login_verify (the same hash) timed in ${probes.argon2_node_engine}, not workerd; and crypto_pwhash_str_alg natively (tests/bench/pwhash.c) in four builds taking turns (tests/load/bench-probes.mjs argon2Native); the Wasm build runs libsodium's SSSE3 argon2 in 128-bit Wasm SIMD (Makefile, issue 21); all m = 19 MiB, t = 2, p = 1 (wasm/chat_limits.h), median of ${pr.argon2_node.tries}.`,
    `- argon2id ratios: each run's Wasm figure over the same run's native one (measured within a minute or two of each other on a shared machine), then the median across runs; native SIMD is the same libsodium sources built as its configure builds them on x86-64; Debian's build maps its 19 MiB afresh for every hash (some 4 900 page faults each).`,
  );
}
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, "results.json"), JSON.stringify({ machine: cpu, runs: RUNS, sizes: SIZES, systems: SYSTEMS,
  measured, tables, probes, restart }, null, 2));
writeFileSync(path.join(out, "results.md"), `${lines.join("\n")}\n`);
console.log(lines.join("\n"));

// The chart: delivered messages/s and p99 latency against offered rate, one line
// per system and room size (vega-lite, rendered to SVG by vega without a
// browser). A step that collapsed has no point.
const points = (t, name) => (t ? t.ramp.filter((r) => !r.collapsed).map((r) => ({ series: name, offered: r.rate,
  delivered: r.delivered_per_second, p99: r.delivered_per_second ? r.p99_ms : null })) : []);
const values = SYSTEMS.flatMap((w) => tables[w].sizes.flatMap((t, i) => points(t, `${NAMES[w]}, M = ${SIZES[i]}`)));
const panel = (field, title) => ({
  width: 360, height: 240, mark: { type: "line", point: true },
  encoding: {
    x: { field: "offered", type: "quantitative", scale: { type: "log" }, title: "offered messages/s" },
    y: { field, type: "quantitative", scale: { type: "symlog" }, title },
    color: { field: "series", type: "nominal", title: "system, room" },
  },
});
const spec = vegaLite.compile({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: `One room, 10 % sending (medians of ${RUNS}; client and server on one ${os.cpus().length}-core machine)`,
  data: { values },
  hconcat: [panel("delivered", "delivered messages/s (all recipients)"), panel("p99", "p99 delivery latency (ms)")],
}).spec;
const svg = await new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
writeFileSync(path.join(out, "chart.svg"), svg);
try {
  execFileSync("rsvg-convert", ["-b", "white", "-o", path.join(out, "chart.png"), path.join(out, "chart.svg")]);
} catch {
  // no converter: the SVG is the chart
}
console.log(`\nwritten: ${path.relative(root, out)}/results.{json,md}, chart.svg`);
