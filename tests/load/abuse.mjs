#!/usr/bin/env node
// Abuse benchmark (`make bench-abuse`): figures, not a test. Against a fresh local
// `wrangler dev` with the real budgets (no test scale), a normal room of MEMBERS
// people, SENDERS of whom talk at RATE messages a second in all, is measured for
// PHASE seconds alone, then for PHASE seconds while abusive clients run beside it:
//
//   heavy    HEAVY accounts in the same room sending worst-case 32 KiB frames (many
//            long member names, nested to the depth limit) at their rate limit
//            (bursts, then 5 a second; refused frames count toward the flood close,
//            after which they reconnect at once);
//   hoarders HOARDERS accounts each opening sockets to the room without joining, up
//            to their budgets, closing and reopening them;
//   signups  a signup script from one address, as fast as the server answers.
//
// Prints, per phase, the normal room's delivery latency (p50, p99, max, in ms, sender
// to every receiver, one clock) and what the abusers got (accepted, refused, by
// code). Traffic goes to 127.0.0.0/8 only, bounded by PHASE and the counts.
//
//   node tests/load/abuse.mjs [--members 20] [--senders 4] [--rate 10] [--phase 15]
//                             [--heavy 3] [--hoarders 10] [--signups 1] [--runs 3]
// (--heavy 0, --hoarders 0 or --signups 0 leave that abuser out, to see each one's
// share; each phase also prints its worst latency per second, "timeline").
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { requestFrom, startStack } from "../e2e/harness.mjs";
import { LIMITS } from "../../worker/generated/core.ts";

const { values: opt } = parseArgs({
  options: {
    members: { type: "string", default: "20" },
    senders: { type: "string", default: "4" },
    rate: { type: "string", default: "10" },
    phase: { type: "string", default: "15" },
    heavy: { type: "string", default: "3" },
    hoarders: { type: "string", default: "10" },
    signups: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
  },
});
const MEMBERS = Number(opt.members), SENDERS = Number(opt.senders), RATE = Number(opt.rate);
const PHASE_MS = Number(opt.phase) * 1000, HEAVY = Number(opt.heavy), HOARDERS = Number(opt.hoarders);
const SIGNUPS = Number(opt.signups);

let addr = 10;
let made = 0;
/** A new account, from an address of its own every 5 (the signup budget is 10 an hour). */
async function account(base, prefix) {
  const ip = `127.0.${Math.floor(addr / 250) + 10}.${(addr % 250) + 1}`;
  if (++made % 5 === 0) addr++;
  const username = `${prefix}${process.pid % 1000}_${made}`;
  const r = await requestFrom(ip, base, "POST", "/signup", { username, password: "abuse bench" });
  if (r.status !== 201) throw new Error(`signup ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function socket(base, token, path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, ["chat.v1", `bearer.${token}`]);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (req, res) => { res.resume(); req.destroy(); reject(Object.assign(new Error("refused"), { status: res.statusCode })); });
  });
}

/** The worst-case frame within the JSON limits: objects of CHAT_JSON_MEMBERS_MAX
 * names of CHAT_JSON_KEY_MAX bytes, in arrays nested to the depth limit, ~32 KiB. */
function heavyFrame(i) {
  const obj = {};
  for (let k = 0; k < LIMITS.jsonMembersMax; k++) obj[`${"k".repeat(LIMITS.jsonKeyMaxBytes - 3)}${String(k).padStart(3, "0")}`] = 0;
  const one = JSON.stringify(obj);
  const parts = [];
  let size = 60;
  while (size + one.length + 1 < LIMITS.frameMaxBytes - 200) { parts.push(one); size += one.length + 1; }
  let inner = `[${parts.join(",")}]`;
  for (let d = 2; d < LIMITS.jsonDepthMax - 1; d++) inner = `[${inner}]`;
  return `{"type":"ping","ref":"h${i}","o":${inner}}`;
}

const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;

async function measure(base, room, members, abusing) {
  const lat = [];
  const timeline = []; // second of the phase -> worst latency of a message sent then, ms
  let start = performance.now();
  const sentAt = new Map();
  let seq = 0;
  for (const m of members) {
    m.ws.removeAllListeners("message");
    m.ws.on("message", (d) => {
      const f = JSON.parse(String(d));
      for (const x of f.type === "batch" ? f.frames : [f]) {
        if (x.type !== "new_chat_message") continue;
        const t = sentAt.get(x.client_id);
        if (t === undefined) continue;
        const now = performance.now();
        lat.push(now - t);
        const s = Math.floor((t - start) / 1000);
        timeline[s] = Math.max(timeline[s] ?? 0, Math.round(now - t));
      }
    });
  }
  const abuse = { heavy: { sent: 0, refused: {} }, hoard: { opened: 0, refused: {} }, signups: { ok: 0, refused: {} } };
  let stop = false;
  const tasks = [];
  if (abusing) {
    const frame = heavyFrame(0);
    for (const h of abusing.heavy) {
      tasks.push((async () => {
        while (!stop) {
          let ws;
          try { ws = await socket(base, h.token, `/rooms/${room}/ws`); } catch (e) { abuse.heavy.refused[e.status] = (abuse.heavy.refused[e.status] ?? 0) + 1; await new Promise((r) => setTimeout(r, 200)); continue; }
          ws.on("message", (d) => { const f = JSON.parse(String(d)); if (f.type === "error") abuse.heavy.refused[f.code] = (abuse.heavy.refused[f.code] ?? 0) + 1; });
          const closed = new Promise((r) => ws.once("close", r));
          ws.send(JSON.stringify({ type: "join_room" }));
          const timer = setInterval(() => { if (ws.readyState === 1) { ws.send(frame); abuse.heavy.sent++; } }, 1000 / (LIMITS.ratePerSecond * 2));
          await Promise.race([closed, new Promise((r) => { const t = setInterval(() => { if (stop) { clearInterval(t); r(); } }, 100); })]);
          clearInterval(timer);
          ws.terminate();
        }
      })());
    }
    for (const h of abusing.hoarders) {
      tasks.push((async () => {
        const held = [];
        while (!stop) {
          try { held.push(await socket(base, h.token, `/rooms/${room}/ws`)); abuse.hoard.opened++; } catch (e) {
            abuse.hoard.refused[e.status] = (abuse.hoard.refused[e.status] ?? 0) + 1;
            held.splice(0, 5).forEach((w) => w.terminate()); // give some up, hoard again
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        held.forEach((w) => w.terminate());
      })());
    }
    if (SIGNUPS) tasks.push((async () => {
      let i = 0;
      while (!stop) {
        const r = await requestFrom("127.0.0.250", base, "POST", "/signup", { username: `spam${process.pid % 1000}_${Date.now() % 1e6}_${i++}`, password: "spam password" });
        if (r.status === 201) abuse.signups.ok++; else abuse.signups.refused[r.body?.error?.code ?? r.status] = (abuse.signups.refused[r.body?.error?.code ?? r.status] ?? 0) + 1;
      }
    })());
  }
  const senders = members.slice(0, SENDERS);
  start = performance.now();
  const sendTimer = setInterval(() => {
    const s = senders[seq % senders.length];
    const id = `${abusing ? "a" : "q"}${seq++}`;
    sentAt.set(id, performance.now());
    s.ws.send(JSON.stringify({ type: "new_chat_message", body: `normal message ${id}`, client_id: id }));
  }, 1000 / RATE);
  await new Promise((r) => setTimeout(r, PHASE_MS));
  clearInterval(sendTimer);
  await new Promise((r) => setTimeout(r, 1000)); // drain
  stop = true;
  await Promise.all(tasks);
  lat.sort((a, b) => a - b);
  return { ms: Math.round(performance.now() - start), messages: seq, deliveries: lat.length, expected: seq * members.length,
    p50: +pct(lat, 0.5).toFixed(1), p99: +pct(lat, 0.99).toFixed(1), max: +(lat.at(-1) ?? NaN).toFixed(1), timeline, abuse: abusing ? abuse : undefined };
}

const results = [];
for (let run = 0; run < Number(opt.runs); run++) {
  /** How this run's normal members' sockets closed while measured, if they did:
   * "code reason" -> count (the bench's own terminate at the end is not counted). */
  const closes = {};
  // wrangler's local explorer off, as in make bench (tests/load/bench.mjs says why):
  // its trace store wrote to disk (fsync) for every request, on the room's thread.
  const stack = await startStack({ budgets: true, env: { X_LOCAL_OBSERVABILITY: "false" } });
  try {
    const base = stack.base;
    const owner = await account(base, "own");
    const room = (await requestFrom("127.0.0.1", base, "POST", "/rooms", { name: `abuse ${run}` }, { Authorization: `Bearer ${owner.token}` })).body.room.id;
    const members = [];
    for (let i = 0; i < MEMBERS; i++) {
      const a = await account(base, "m");
      const ws = await socket(base, a.token, `/rooms/${room}/ws`);
      ws.send(JSON.stringify({ type: "join_room" }));
      ws.on("close", (code, reason) => { closes[`${code} ${reason}`] = (closes[`${code} ${reason}`] ?? 0) + 1; });
      members.push({ a, ws });
    }
    await new Promise((r) => setTimeout(r, 500));
    const heavy = [], hoarders = [];
    for (let i = 0; i < HEAVY; i++) heavy.push(await account(base, "heavy"));
    for (let i = 0; i < HOARDERS; i++) hoarders.push(await account(base, "hoard"));
    const quiet = await measure(base, room, members, null);
    const abused = await measure(base, room, members, { heavy, hoarders });
    results.push({ quiet, abused });
    console.log(JSON.stringify({ run, quiet, abused, memberCloses: closes }));
    members.forEach((m) => { m.ws.removeAllListeners("close"); m.ws.terminate(); });
  } finally {
    await stack.stop();
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
console.log(`\nnormal room of ${MEMBERS}, ${RATE} msg/s, ${opt.phase} s phases, ${results.length} runs (medians):`);
console.log(`  alone:        p50 ${med(results.map((r) => r.quiet.p50))} ms, p99 ${med(results.map((r) => r.quiet.p99))} ms`);
console.log(`  beside abuse: p50 ${med(results.map((r) => r.abused.p50))} ms, p99 ${med(results.map((r) => r.abused.p99))} ms` +
  ` (${HEAVY} heavy-frame senders, ${HOARDERS} socket hoarders, ${SIGNUPS ? "a" : "no"} signup script)`);
