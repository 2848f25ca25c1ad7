#!/usr/bin/env node
// Search benchmark (`make bench-search`): figures, not a test (issue 17). Against
// fresh local `wrangler dev` servers (traffic to 127.0.0.1 only, bounded by the
// counts below):
//
// 1. What the search index costs a busy room: one sender stores messages through
//    one socket, WINDOW in flight at once (the room coalesces them into batches,
//    one storage transaction each), into a room with its FTS5 index and into one
//    without (CHAT_SEARCH_INDEX=off, a benchmark-only switch), on two servers
//    running side by side, in 10 x RUNS bursts of STORE / (10 x RUNS) messages to
//    each in turn. Prints messages per second (median, min, max) and the median
//    of the per-burst ratios (with / without), whose pairs share the machine's
//    background load.
// 2. Search latency in a room of MESSAGES messages: GET /rooms/:id/search for a
//    set of queries (a common word, a rare one, two words, a phrase, prefixes, a
//    word found nowhere, a page further back with `before`), each QUERIES times;
//    p50 and p99 in ms, beside GET /rooms/:id/messages (a history page) as the
//    floor of one HTTP request through the Worker to the room.
//
// Message bodies are 6 to 14 words drawn from 5 000 made-up words with a Zipf
// distribution (as word frequencies in text), so the index sees a realistic
// vocabulary. The load client and the server share this machine.
//
//   node tests/load/search.mjs [--messages 100000] [--store 20000] [--runs 3] [--queries 200]
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { createRoom, joinRoom, signup, startStack } from "../e2e/harness.mjs";

const { values: opt } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    store: { type: "string", default: "20000" },
    runs: { type: "string", default: "3" },
    queries: { type: "string", default: "200" },
  },
});
const MESSAGES = Number(opt.messages), STORE = Number(opt.store), RUNS = Number(opt.runs), QUERIES = Number(opt.queries);
const WINDOW = 100;
const LIFTED = { CHAT_RATE_PER_SECOND: "1000000", CHAT_RATE_BURST: "1000000",
  CHAT_ROOM_RATE_PER_SECOND: "1000000", CHAT_ROOM_RATE_BURST: "1000000" };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// A deterministic vocabulary: 5 000 words of 2 to 4 syllables, Zipf weights.
let seed = 17; // mulberry32
const rand = () => {
  let t = (seed = (seed + 0x6d2b79f5) | 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const SYLLABLES = "ka lo mi ne ru ta po shi ve zu an de fo gi hu ja ke li mo nu pe qui ro sa ti vo wa xe yo zi".split(" ");
const WORDS = [];
for (const seen = new Set(); WORDS.length < 5000;) {
  const w = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join("");
  if (!seen.has(w)) seen.add(w), WORDS.push(w);
}
const CUMULATIVE = [];
for (let i = 0, total = 0; i < WORDS.length; i++) CUMULATIVE.push(total += 1 / (i + 1));
const word = () => {
  const x = rand() * CUMULATIVE[CUMULATIVE.length - 1];
  let lo = 0, hi = CUMULATIVE.length - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (CUMULATIVE[mid] < x) lo = mid + 1; else hi = mid; }
  return WORDS[lo];
};
const body = () => Array.from({ length: 6 + Math.floor(rand() * 9) }, word).join(" ");

/** Stores n messages through socket c, WINDOW in flight; resolves to messages/s. */
async function fill(c, n, from = 0) {
  const t0 = performance.now();
  for (let i = 0; i < n; i += WINDOW) {
    const part = Math.min(WINDOW, n - i);
    for (let k = 0; k < part; k++) c.send({ type: "new_chat_message", body: body(), client_id: `m${from + i + k}` });
    for (let k = 0; k < part; k++) {
      const f = await c.next(60000);
      if (f.type === "error") throw new Error(`refused: ${JSON.stringify(f)}`);
      if (f.type !== "new_chat_message") k--;
    }
  }
  return n / ((performance.now() - t0) / 1000);
}

/** A fresh server with a room and its writer's joined socket. */
async function roomOn(vars) {
  const stack = await startStack({ vars: { ...LIFTED, ...vars } });
  const writer = await signup(stack.base, "w");
  const room = await createRoom(stack.base, writer);
  const { c } = await joinRoom(stack.base, room.id, writer);
  return { stack, writer, room, c };
}

// ---- 1. the index's cost to a busy room ----
// Two servers side by side, one without the index; bursts of STORE / PAIRS
// messages go to each in turn (the order alternating), so both see the same
// background load of this shared machine, and each pair gives a ratio.
const PAIRS = 10 * RUNS, BURST = Math.max(WINDOW, Math.round(STORE / PAIRS));
const rates = { on: [], off: [] }, ratios = [];
const rooms = { off: await roomOn({ CHAT_SEARCH_INDEX: "off" }), on: await roomOn({}) };
try {
  for (const mode of ["off", "on"]) await fill(rooms[mode].c, 1000, 0); // warm up
  for (let p = 0; p < PAIRS; p++) {
    const got = {};
    for (const mode of p % 2 ? ["on", "off"] : ["off", "on"]) {
      got[mode] = await fill(rooms[mode].c, BURST, 1000 + p * BURST);
      rates[mode].push(got[mode]);
    }
    ratios.push(got.on / got.off);
  }
} finally {
  for (const { stack, c } of Object.values(rooms)) { c.ws.close(); await stack.stop(); }
}
const line = (xs) => `median ${median(xs).toFixed(0)}, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;
console.log(`storing messages, ${WINDOW} in flight, ${PAIRS} bursts of ${BURST} to each server in turn (messages/s):`);
console.log(`  without the index: ${line(rates.off)}`);
console.log(`  with the index:    ${line(rates.on)}`);
console.log(`  with / without, per pair: median ${((median(ratios) - 1) * 100).toFixed(1)} %, ` +
  `quartiles ${((pct(ratios, 0.25) - 1) * 100).toFixed(1)} % .. ${((pct(ratios, 0.75) - 1) * 100).toFixed(1)} %`);

// ---- 2. search latency in a room of MESSAGES messages (--messages 0: skipped) ----
if (MESSAGES === 0) process.exit(0);
const { stack, writer, room, c } = await roomOn({});
try {
  const t0 = performance.now();
  const rate = await fill(c, MESSAGES);
  console.log(`\n${MESSAGES} messages stored in ${((performance.now() - t0) / 1000).toFixed(1)} s (${rate.toFixed(0)}/s)`);
  const get = async (path) => {
    const s = performance.now();
    const res = await fetch(`${stack.base}${path}`, { headers: { Authorization: `Bearer ${writer.token}` } });
    const json = await res.json();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return { ms: performance.now() - s, json };
  };
  const where = `/rooms/${room.id}`;
  const mid = WORDS[100], rare = WORDS[3000];
  const queries = {
    "common word": WORDS[0],
    "word of rank 100": mid,
    "rare word (rank 3000)": rare,
    "two words": `${WORDS[1]} ${mid}`,
    "phrase": `"${WORDS[0]} ${WORDS[1]}"`,
    "prefix, 2 letters": `${WORDS[0].slice(0, 2)}*`,
    "prefix, 4 letters": `${WORDS[5].slice(0, 4)}*`,
    "found nowhere": "zzzzqx",
  };
  const all = [];
  const rows = [];
  for (const [name, q] of Object.entries(queries)) {
    const times = [];
    let found = 0;
    for (let i = 0; i < QUERIES; i++) {
      const { ms, json } = await get(`${where}/search?q=${encodeURIComponent(q)}`);
      times.push(ms);
      found = json.results.length;
    }
    all.push(...times);
    rows.push([name, q, found, pct(times, 0.5), pct(times, 0.99)]);
  }
  // a page further back: from the middle of the log
  const back = [];
  for (let i = 0; i < QUERIES; i++) back.push((await get(`${where}/search?q=${WORDS[0]}&before=${MESSAGES / 2}`)).ms);
  all.push(...back);
  rows.push(["common word, before the middle", `${WORDS[0]} before=${MESSAGES / 2}`, 20, pct(back, 0.5), pct(back, 0.99)]);
  const history = [];
  for (let i = 0; i < QUERIES; i++) history.push((await get(`${where}/messages?limit=20`)).ms);
  console.log(`\nsearch latency, room of ${MESSAGES} messages, ${QUERIES} requests each, one at a time (ms):`);
  console.log("| query | q | results | p50 | p99 |\n|---|---|---|---|---|");
  for (const [name, q, found, p50, p99] of rows) console.log(`| ${name} | \`${q}\` | ${found} | ${p50.toFixed(1)} | ${p99.toFixed(1)} |`);
  console.log(`| all searches | | | ${pct(all, 0.5).toFixed(1)} | ${pct(all, 0.99).toFixed(1)} |`);
  console.log(`| history page (GET .../messages?limit=20), for comparison | | 20 | ${pct(history, 0.5).toFixed(1)} | ${pct(history, 0.99).toFixed(1)} |`);
} finally {
  c.ws.close();
  await stack.stop();
}
