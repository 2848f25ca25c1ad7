#!/usr/bin/env node
// Chat bots: sign up N bot users, put them in rooms, have a share of them send
// messages at a total rate for a while, and check that every accepted message
// reached every member of its room exactly once, in order. Prints a progress line while it
// runs and a report at the end; exits 1 if any accepted message was lost,
// duplicated or reordered. Talks to any base URL (local `wrangler dev` or a deployed site).
//
//   node tests/load/bots.mjs --base http://127.0.0.1:8787 --users 20 --rooms 1 \
//        --senders 0.1 --rate 20 --duration 10 [--max-messages N] [--json out.json]
//        [--ramp 50:10,100:10,...]   (phases of rate:seconds instead of --rate/--duration,
//                                     each reported on its own)
//        [--stop-p99-ms MS]          (end a ramp before the next phase once some phase's
//                                     p99 is known to be past MS; the phases not run
//                                     report run: false)
//        [--accounts FILE]           (a JSON array of {token, user} to play, instead of
//                                     signing up --users new ones: signups cost an
//                                     argon2id each, and the bench reuses its accounts)
//        [--protocol chat|socketio]  (the wire form, tests/load/transport.mjs; --base
//                                     may list several servers, comma-separated: the
//                                     HTTP calls go to the first, bot i's socket to
//                                     server i mod their number)
//        [--signal-ready]            (write "bots: sending" on stderr when the first
//                                     phase starts: the bench's restart scenario waits
//                                     for it)
//
// Reconnects: a bot whose socket drops (any close code but the final ones, 4001
// session ended, 4003 banned, 4004 removed) opens a new one after a capped
// exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
// and Jitter"): random(0, min(LIMITS.reconnectCapMs, LIMITS.reconnectBaseMs x
// 2^attempt)), the attempt counted from 0 and reset once joined; then it joins
// with {since: the last seq it saw}, takes the missed messages from the history
// (its newest page; with has_more, the rest paged back over HTTP, GET
// /rooms/:id/messages?before=) as deliveries, and resends its unacknowledged messages
// with the same client_id (the server stores a client_id once and answers a resend
// of a stored one with duplicate: true). A message sent while the bot is offline
// waits for the reconnect. So lost / duplicated / reordered stay exact across a
// server restart; the report adds each outage (close -> joined again, wall clock).

// Heartbeat (our protocol): every bot sends {"type":"ping"} each
// LIMITS.pingIntervalMs (30 s), as the web client does: a room closes a socket
// silent for LIMITS.idleTimeoutMs (60 s), and a set-up of thousands of bots, or a
// listener that never sends, outlasts it (the object answers the ping itself,
// without waking: PROTOCOL.md).

// Bounded by --duration (seconds) and --max-messages. Latency is measured from the
// sender's send() to each receipt, in this one process (one clock). A busy room
// coalesces its broadcasts into "batch" frames (PROTOCOL.md); their frames count
// one by one. One process plays every bot, so it keeps its own cost per delivery
// low: frames arrive in seq order on each socket (PROTOCOL.md), so a bot checks
// for duplicates and gaps with its last seq rather than a set, and identical
// frame bytes sent to many bots are parsed once. Each bot's
// sends are limited by the server's per-user rate limit (PROTOCOL.md): a total
// rate above senders x 5/s is refused in part with rate_limited, which is counted
// as an error, not as a loss.
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { readFileSync } from "node:fs";
import * as hdr from "hdr-histogram-js";
import { api, pool } from "./client.mjs";
import { openRoomSocket } from "./transport.mjs";
import { LIMITS } from "../../worker/generated/core.ts";

const { values: opt } = parseArgs({
  options: {
    base: { type: "string", default: "http://127.0.0.1:8787" },
    users: { type: "string", default: "10" },
    rooms: { type: "string", default: "1" },
    senders: { type: "string", default: "0.1" },
    rate: { type: "string", default: "10" },
    duration: { type: "string", default: "5" },
    "max-messages": { type: "string", default: "100000" },
    drain: { type: "string", default: "3" },
    json: { type: "string" },
    ramp: { type: "string" },
    quiet: { type: "boolean", default: false },
    "stop-p99-ms": { type: "string" },
    accounts: { type: "string" },
    protocol: { type: "string", default: "chat" },
    "signal-ready": { type: "boolean", default: false },
  },
});
const N = Number(opt.users), ROOMS = Number(opt.rooms), MAX = Number(opt["max-messages"]);
const PHASES = (opt.ramp ?? `${opt.rate}:${opt.duration}`).split(",").map((p) => {
  const [rate, seconds] = p.split(":").map(Number);
  return { rate, ms: seconds * 1000 };
});
const RATE = PHASES[0].rate, DURATION_MS = PHASES.reduce((a, p) => a + p.ms, 0);
const SENDERS = Math.max(1, Math.round(N * Number(opt.senders)));
const bases = opt.base.split(",").map((b) => b.replace(/\/$/, ""));
const base = bases[0];
const PROTOCOL = opt.protocol;
/** Close codes after which a client must not reconnect (PROTOCOL.md, close codes). */
const FINAL_CLOSES = new Set([4001, 4003, 4004]);
/** Full jitter: a random wait in [0, min(cap, base x 2^attempt)) ms. */
const backoff = (attempt) => Math.random() * Math.min(LIMITS.reconnectCapMs, LIMITS.reconnectBaseMs * 2 ** attempt);
let stopping = false;
const outages = []; // { bot, code, closed_at, live_at, attempts } (Date.now())
const run = `${Date.now() % 1_000_000}`;

const stats = {
  sent: 0, acked: 0, delivered: 0, duplicates: 0, errors: {}, final_closes: {}, reconnect_attempts: 0, from_history: 0,
  latency: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 }),
};
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const phaseStats = PHASES.map((p) => ({ ...p, run: false, sent: 0, acked: 0, delivered: 0, latency: newHistogram(),
  late: 0, ids: [] }));
const STOP_MS = opt["stop-p99-ms"] === undefined ? Infinity : Number(opt["stop-p99-ms"]);
const phaseOf = new Map(); // client_id -> phase index
const sentAt = new Map(); // client_id -> performance.now() at send
const ackSeq = new Map(); // client_id -> seq of the sender's acknowledgement
const storedAs = new Map(); // `${room}:${client_id}` -> Set of seqs seen for it
// Per room, per seq (on its first receipt): { at: send time or undefined, phase, n: receipts }
const bySeq = new Map();
let batches = 0;
// With --stop-p99-ms: each message's receipt record (n: receipts so far) by client_id.
const receiptsOf = new Map();

/** Whether more than 1 % of a phase's deliveries are known, at `now`, to take
 * longer than --stop-p99-ms: those that did, and those still owed by its messages
 * sent longer ago than that. */
function collapsed(ph, now) {
  const owed = N / ROOMS;
  let slow = ph.late;
  for (const id of ph.ids) { // in send order
    if (now - sentAt.get(id) <= STOP_MS) break;
    slow += owed - (receiptsOf.get(id)?.n ?? 0);
  }
  return slow > 0.01 * ph.sent * owed;
}

// The last few distinct frames received, parsed: a room sends the same bytes to
// every member, and parsing them once per bot would make this process the limit.
const recent = [];
function parse(data) {
  for (const r of recent) if (r.data.length === data.length && r.data.equals(data)) return r.frames;
  const f = JSON.parse(data.toString());
  const frames = f.type === "batch" ? f.frames : [f];
  if (f.type === "batch") batches++;
  recent.unshift({ data, frames });
  if (recent.length > 8) recent.pop();
  return frames;
}

/**
 * Opens bot's socket and joins; resolves once the first history arrived. A bot
 * is `live` while it is joined; a drop schedules a reconnect (see the header).
 */
function connect(bot) {
  bot.last = 0; // the highest seq received
  bot.first = 0; // the first seq received after joining
  bot.gaps = new Set(); // seqs skipped over (never received)
  bot.unacked = new Map(); // client_id -> frame, sent or waiting to be, not yet acknowledged
  bot.attempt = 0;
  return new Promise((resolve, reject) => {
    bot.joined = resolve;
    bot.failed = reject;
    open(bot);
  });
}

function open(bot) {
  bot.live = false;
  bot.joining = false;
  const sock = openRoomSocket(bases[bot.index % bases.length], bot.room, bot.token, {
    protocol: PROTOCOL,
    onData: (data) => {
      for (const f of parse(data)) {
        if (f.type === "new_chat_message") onMessage(bot, f, false);
        else if (f.type === "connection") join(bot);
        else if (f.type === "history") onHistory(bot, f);
        else if (f.type === "error") stats.errors[f.code] = (stats.errors[f.code] ?? 0) + 1;
      }
    },
    onClose: (code) => {
      clearInterval(heartbeat);
      onClose(bot, sock, code);
    },
    onError: () => {}, // a close follows
  });
  const heartbeat = PROTOCOL === "chat" ? setInterval(() => sock.send({ type: "ping" }), LIMITS.pingIntervalMs) : undefined;
  bot.sock = sock;
}

function join(bot) {
  bot.joining = true;
  bot.sock.send(bot.joinedOnce ? { type: "join_room", since: bot.last } : { type: "join_room" });
}

function onHistory(bot, h) {
  if (!bot.joining) return;
  if (!bot.joinedOnce) {
    bot.last = bot.first = h.last_seq;
  } else {
    // A rejoin {since: last}: the newest page of what was missed, oldest first;
    // with has_more, the rest is paged back over HTTP from the page's first seq
    // (PROTOCOL.md, history), while live messages already come (the socket is
    // joined). Asking join_room {since: last} again instead asked past them.
    for (const m of h.messages ?? []) onMessage(bot, m, true);
    if (h.has_more && h.messages?.length) void fillBack(bot, h.since, h.messages[0].seq);
  }
  bot.joining = false;
  bot.live = true;
  bot.attempt = 0;
  if (bot.outage) {
    bot.outage.live_at = Date.now();
    bot.outage = null;
  }
  // Whatever is still unacknowledged goes (again), with its client_id.
  for (const frame of bot.unacked.values()) bot.sock.send(frame);
  if (!bot.joinedOnce) {
    bot.joinedOnce = true;
    bot.joined(bot);
  }
}

/** Pages back GET /rooms/:id/messages?before= from `before` down to `since`,
 * filling the bot's gaps (a history page is its newest messages). */
async function fillBack(bot, since, before) {
  bot.filling = (bot.filling ?? 0) + 1;
  try {
    while (before > since + 1) {
      const page = await api(base, `/rooms/${bot.room}/messages?before=${before}&limit=50`, undefined, bot.token);
      for (const m of page.messages) if (m.seq > since) onMessage(bot, m, true);
      if (!page.has_more || !page.messages.length) break;
      before = page.messages[0].seq;
    }
  } catch (e) {
    stats.errors.fill_back = (stats.errors.fill_back ?? 0) + 1;
    if (!opt.quiet) process.stderr.write(`bot ${bot.index}: paging back failed: ${e.message}\n`);
  } finally {
    bot.filling--;
  }
}

function onClose(bot, sock, code) {
  if (sock !== bot.sock) return;
  bot.live = false;
  if (stopping) return;
  if (!bot.joinedOnce && code !== 1006) { // refused before ever joining: a set-up failure
    bot.failed(new Error(`bot ${bot.index}: socket closed with ${code} before joining`));
    return;
  }
  if (FINAL_CLOSES.has(code)) {
    stats.final_closes[code] = (stats.final_closes[code] ?? 0) + 1;
    return;
  }
  if (!bot.outage) {
    bot.outage = { bot: bot.index, code, closed_at: Date.now(), live_at: null, attempts: 0 };
    outages.push(bot.outage);
  }
  bot.outage.attempts++;
  stats.reconnect_attempts++;
  setTimeout(() => { if (!stopping) open(bot); }, backoff(bot.attempt++));
}

/** Sends (or, offline, queues for the reconnect) a new message of bot's. */
function say(bot, frame) {
  bot.unacked.set(frame.client_id, frame);
  if (bot.live) bot.sock.send(frame);
}

/** Whether bot received seq (of its room, after it joined). */
const seen = (bot, seq) => seq > bot.first && seq <= bot.last && !bot.gaps.has(seq);

function acknowledge(bot, m, ph) {
  bot.unacked.delete(m.client_id);
  if (ackSeq.has(m.client_id)) return; // acknowledged before (a rejoin's history, a resend's answer)
  stats.acked++;
  if (ph) ph.acked++;
  ackSeq.set(m.client_id, { seq: m.seq, room: bot.room });
}

/** A message frame, live or (fromHistory) replayed by a rejoin's history. */
function onMessage(bot, m, fromHistory) {
  const now = performance.now();
  const own = m.user.id === bot.user.id && m.client_id.startsWith(`${bot.index}-`);
  if (m.duplicate) { // a resend's acknowledgement, to the sender only: the original
    if (own) acknowledge(bot, m, phaseStats[phaseOf.get(m.client_id)]);
    return;
  }
  if (m.seq <= bot.last) { // a socket receives its room's messages in seq order
    if (!bot.gaps.has(m.seq)) {
      stats.duplicates++;
      return;
    }
    if (!fromHistory) {
      stats.reordered = (stats.reordered ?? 0) + 1;
      return;
    }
    bot.gaps.delete(m.seq); // a rejoin fills what was skipped
  } else {
    for (let s = bot.last + 1; s < m.seq; s++) bot.gaps.add(s);
    bot.last = m.seq;
  }
  let rooms = bySeq.get(bot.room);
  if (!rooms) bySeq.set(bot.room, (rooms = new Map()));
  let info = rooms.get(m.seq);
  if (!info) { // the first receipt of this message: look it up once
    const key = `${bot.room}:${m.client_id}`;
    if (!storedAs.has(key)) storedAs.set(key, new Set());
    storedAs.get(key).add(m.seq);
    info = { at: sentAt.get(m.client_id), ph: phaseStats[phaseOf.get(m.client_id)], n: 0 };
    rooms.set(m.seq, info);
    if (STOP_MS !== Infinity) receiptsOf.set(m.client_id, info);
  }
  stats.delivered++;
  if (fromHistory) stats.from_history++;
  info.n++;
  const t = info.at, ph = info.ph;
  if (ph) ph.delivered++;
  if (t !== undefined) {
    const us = Math.max(1, Math.round((now - t) * 1000));
    stats.latency.recordValue(us);
    ph?.latency.recordValue(us);
    if (ph && us > STOP_MS * 1000) ph.late++;
  }
  if (own) acknowledge(bot, m, ph);
}
const ms = (us) => (us / 1000).toFixed(1);
/** p50 and max of a list of ms (nearest rank), or null when empty. */
function percentiles(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.ceil(0.5 * s.length) - 1], max: s[s.length - 1] };
}
function progress(final = false) {
  const h = stats.latency;
  const errors = Object.values(stats.errors).reduce((a, b) => a + b, 0);
  const line = `sent ${stats.sent}  acked ${stats.acked}  delivered ${stats.delivered}  dup ${stats.duplicates}` +
    `  errors ${errors}  p50 ${ms(h.getValueAtPercentile(50))} ms  p99 ${ms(h.getValueAtPercentile(99))} ms`;
  if (!opt.quiet || final) process.stderr.write(final ? `${line}\n` : `\r${line}   `);
}

async function main() {
  const started = Date.now();
  const accounts = opt.accounts ? JSON.parse(readFileSync(opt.accounts, "utf8")) : null;
  if (accounts && accounts.length < N) throw new Error(`--accounts holds ${accounts.length} accounts, --users asks for ${N}`);
  const bots = await pool(Array.from({ length: N }, (_, i) => i), 4, async (i) => {
    const s = accounts ? accounts[i]
      : await api(base, "/signup", { username: `bot${run}_${i}`.slice(0, 32), password: "bot password 1" });
    return { index: i, token: s.token, user: s.user };
  });
  const rooms = [];
  for (let r = 0; r < ROOMS; r++) rooms.push((await api(base, "/rooms", { name: `bots ${run} ${r}` }, bots[0].token)).room.id);
  bots.forEach((b, i) => { b.room = rooms[i % ROOMS]; });
  await pool(bots, 8, connect);
  const members = new Map(rooms.map((id) => [id, bots.filter((b) => b.room === id).length]));
  if (!opt.quiet) process.stderr.write(`${N} bots in ${ROOMS} room(s), ${SENDERS} sending ${PHASES.map((p) => `${p.rate}/s for ${p.ms / 1000} s`).join(", then ")} (set-up ${Date.now() - started} ms)\n`);
  if (opt["signal-ready"]) process.stderr.write("bots: sending\n");

  const senders = bots.slice(0, SENDERS);
  const counters = new Map();
  const ticker = setInterval(() => progress(), 500);
  let k = 0;
  for (let p = 0; p < phaseStats.length; p++) {
    const phase = phaseStats[p];
    const now = performance.now();
    if (STOP_MS !== Infinity && phaseStats.slice(0, p).some((ph) => collapsed(ph, now))) break;
    phase.run = true;
    const start = performance.now(), cpu = process.cpuUsage();
    while (performance.now() - start < phase.ms && stats.sent < MAX) {
      const due = Math.floor(((performance.now() - start) / 1000) * phase.rate);
      while (phase.sent < due && stats.sent < MAX) {
        const bot = senders[k++ % senders.length];
        const n = counters.get(bot.index) ?? 0;
        counters.set(bot.index, n + 1);
        const clientId = `${bot.index}-${n}`;
        sentAt.set(clientId, performance.now());
        phaseOf.set(clientId, p);
        if (STOP_MS !== Infinity) phase.ids.push(clientId);
        say(bot, { type: "new_chat_message", body: `bot ${bot.index} message ${n}`, client_id: clientId });
        stats.sent++;
        phase.sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    // This process's CPU time (all threads) over the phase's wall time, in cores:
    // near 1, the load client, not the server, may be what limits the phase.
    const used = process.cpuUsage(cpu);
    phase.client_cpu = (used.user + used.system) / 1000 / (performance.now() - start);
  }
  // Let what is in flight arrive.
  const drainEnd = performance.now() + Number(opt.drain) * 1000;
  let expected = 0;
  for (;;) {
    expected = 0;
    for (const { room } of ackSeq.values()) expected += members.get(room);
    if (stats.delivered >= expected && stats.acked + (stats.errors.rate_limited ?? 0) >= stats.sent) break;
    if (performance.now() > drainEnd) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  clearInterval(ticker);
  stopping = true;
  progress(true);

  // Lost: an accepted (acknowledged) message some member of its room never got.
  let lost = 0;
  for (const { seq, room } of ackSeq.values()) {
    for (const b of bots) if (b.room === room && !seen(b, seq)) lost++;
  }
  // Duplicated: a client_id stored under two seqs, or a seq received twice.
  let stored_twice = 0;
  for (const seqs of storedAs.values()) if (seqs.size > 1) stored_twice++;
  const h = stats.latency;
  const report = {
    bots: N, rooms: ROOMS, senders: SENDERS, rate: RATE, duration_s: DURATION_MS / 1000,
    sent: stats.sent, acked: stats.acked, delivered: stats.delivered, expected_deliveries: expected,
    lost, duplicated: stats.duplicates + stored_twice, reordered: stats.reordered ?? 0, batches,
    errors: stats.errors,
    unacked: bots.reduce((a, b) => a + b.unacked.size, 0),
    reconnects: {
      outages: outages.length, recovered: outages.filter((o) => o.live_at !== null).length,
      attempts: stats.reconnect_attempts, replayed_deliveries: stats.from_history, final_closes: stats.final_closes,
      first_close_at: outages.length ? Math.min(...outages.map((o) => o.closed_at)) : null,
      last_live_at: outages.some((o) => o.live_at !== null) ? Math.max(...outages.map((o) => o.live_at ?? 0)) : null,
      offline_ms: percentiles(outages.filter((o) => o.live_at !== null).map((o) => o.live_at - o.closed_at)),
    },
    latency_ms: { p50: h.getValueAtPercentile(50) / 1000, p95: h.getValueAtPercentile(95) / 1000,
      p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000 },
    phases: phaseStats.map((p) => ({
      rate: p.rate, seconds: p.ms / 1000, run: p.run, sent: p.sent, acked: p.acked, delivered: p.delivered,
      // deliveries that arrived, of those a fan-out of every sent message owes
      delivery_ratio: p.sent ? p.delivered / (p.sent * (N / ROOMS)) : 0,
      delivered_per_second: p.delivered / (p.ms / 1000),
      p50_ms: p.latency.getValueAtPercentile(50) / 1000, p99_ms: p.latency.getValueAtPercentile(99) / 1000,
      client_cpu: p.client_cpu === undefined ? null : Math.round(p.client_cpu * 1000) / 1000,
    })),
  };
  for (const b of bots) b.sock.close();
  console.log(JSON.stringify(report, null, 2));
  if (opt.json) (await import("node:fs")).writeFileSync(opt.json, JSON.stringify(report, null, 2));
  process.exit(report.lost > 0 || report.duplicated > 0 || report.reordered > 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
