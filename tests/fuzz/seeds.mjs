// Seed corpora of the fuzz targets, from the golden files (tests/golden/*.json):
//   node tests/fuzz/seeds.mjs <dir>   writes <dir>/json, <dir>/api and <dir>/room.
// json: every input, fact and frame of the golden vectors and scripts, as is.
// api:  every golden vector as [op][flags 0][in length, u16 LE][in][aux] (fuzz_api.c).
// room: every golden script as events of fuzz_room.c (opens, raw frames, closes,
//       flushes, block changes, pages, a wake for a restore), plus a few scripted
//       conversations. The files are named by their SHA-1, so reruns add nothing.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) throw new Error("usage: node tests/fuzz/seeds.mjs <dir>");
const golden = (name) => JSON.parse(readFileSync(new URL(`../golden/${name}`, import.meta.url), "utf8"));
const core = golden("core.json");
const room = golden("room.json");

// Operation numbers from CHAT_OPS in wasm/api.h: X(CHAT_OP_..., number, "name").
const apiH = readFileSync(new URL("../../wasm/api.h", import.meta.url), "utf8");
const OPS = Object.fromEntries([...apiH.matchAll(/X\(CHAT_OP_\w+,\s*(\d+),\s*"(\w+)"\)/g)].map((m) => [m[2], +m[1]]));

const counts = {};
function write(target, bytes) {
  const dir = join(out, target);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, createHash("sha1").update(bytes).digest("hex")), bytes);
  counts[target] = (counts[target] ?? 0) + 1;
}
const utf8 = (s) => Buffer.from(s, "utf8");
const text = (v) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));

// ---- json and api ---------------------------------------------------------------
for (const c of core.cases) {
  const input = c.in_hex !== undefined ? Buffer.from(c.in_hex, "hex") : utf8(text(c.in));
  const aux = utf8(text(c.aux));
  for (const doc of [input, aux]) if (doc.length) write("json", doc);
  const op = typeof c.op === "number" ? c.op : OPS[c.op];
  if (op === undefined || op > 255) throw new Error(`unknown op ${c.op} in tests/golden/core.json`);
  const head = Buffer.from([op, 0, input.length & 0xff, (input.length >> 8) & 0xff]);
  write("api", Buffer.concat([head, input.subarray(0, 0xffff), aux]));
}
for (const script of room.scripts)
  for (const step of script.steps) {
    if (step.in) write("json", utf8(step.in));
    for (const e of step.effects ?? []) if (typeof e.frame === "string") write("json", utf8(e.frame));
  }

// ---- room ---------------------------------------------------------------------------
// Event bytes of fuzz_room.c's run_one(): [kind][arg][...].
const EV = { open: 0, join: 2, send: 3, del: 5, ping: 6, raw: 7, close: 8, flush: 9, time: 10, blocks: 11, kick: 12, page: 13, wake: 14 };
const NO_RATE_LIMITS = 4;

function fromScript(script) {
  const config = script.steps.find((s) => s.event === "config");
  const facts = config ? JSON.parse(config.in) : { kind: "room" };
  const bytes = [(facts.kind === "dm" ? 1 : 0) | (facts.open ? 2 : 0) | NO_RATE_LIMITS];
  const conns = []; // the model's socket order: conn ids in the order they opened
  const users = new Map(); // golden user id -> fuzz user index (0..3)
  const userOf = (id) => {
    if (!users.has(id)) users.set(id, users.size % 4);
    return users.get(id);
  };
  let now = script.steps[0]?.now ?? 0;
  for (const step of script.steps) {
    if (step.now > now) bytes.push(EV.time, Math.min(127, step.now - now));
    now = step.now ?? now;
    let input = {};
    try {
      input = JSON.parse(step.in ?? "{}");
    } catch {} // a frame refused as bad_json: sent as is
    switch (step.event) {
      case "open":
        bytes.push(EV.open, userOf(input.id));
        conns.push(conns.length + 1);
        break;
      case "restore":
        bytes.push(EV.wake, 0);
        break;
      case "frame": {
        const frame = utf8(step.in).subarray(0, 255);
        bytes.push(EV.raw, Math.max(0, conns.indexOf(step.conn)), frame.length, ...frame);
        break;
      }
      case "close": {
        const i = conns.indexOf(step.conn);
        if (i >= 0) {
          bytes.push(EV.close, i);
          conns.splice(i, 1);
        }
        break;
      }
      case "flush":
        bytes.push(EV.flush, 0);
        break;
      case "blocks": {
        let mask = 0;
        for (const id of input.blocks ?? []) mask |= 1 << userOf(id);
        bytes.push(EV.blocks, userOf(input.user_id), mask);
        break;
      }
      case "page":
        bytes.push(EV.page, userOf(input.viewer?.id ?? 1), 0, 1, 0);
        break;
      default: // answers come from the model; config is the first byte
    }
  }
  return Buffer.from(bytes);
}
for (const script of room.scripts) write("room", fromScript(script));

// Scripted conversations: two users join, talk, retry, delete, block, wake, ban.
const say = (sock, how, body) => [EV.send, sock, how, body.length, ...utf8(body)];
for (const config of [NO_RATE_LIMITS, 0, 1 | 2 | NO_RATE_LIMITS]) {
  write("room", Buffer.from([config,
    EV.open, 0, EV.open, 1, EV.join, 0, 0, EV.join, 1, 0,
    ...say(0, 1, "hello"), EV.time, 20, ...say(1, 2, "hi there"), ...say(1, 2, "hi there"),
    EV.del, 0, 1, EV.time, 5, ...say(0, 3, "quick"), ...say(0, 4, "burst"), EV.time, 20,
    EV.blocks, 1, 1, ...say(0, 5, "unseen by 2"), EV.time, 200, EV.ping, 1,
    EV.wake, 0, ...say(1, 0, "after a wake"), EV.page, 0, 0, 1, 0, EV.kick, 1, EV.time, 200,
    EV.open, 3, EV.join, 1, 1, ...say(1, 1, "admin"), EV.del, 0, 2, EV.close, 0]));
}
// A busy room: three members send 70 messages within one flush interval, so the
// outbox fills (CHAT_BATCH_MAX) and flushes by itself, then the timer flushes the rest.
{
  const bytes = [NO_RATE_LIMITS, EV.open, 0, EV.open, 1, EV.open, 2, EV.join, 0, 0, EV.join, 1, 0, EV.join, 2, 0];
  for (let k = 0; k < 70; k++) bytes.push(...say(k % 3, Math.floor(k / 3), `m${k}`));
  bytes.push(EV.time, 20, EV.del, 0, 3, EV.time, 20);
  write("room", Buffer.from(bytes));
}
// Socket hoarding: one user opens past CHAT_USER_CONNS_MAX (20), none joins, time
// passes, and the next opens find them idle.
{
  const bytes = [0];
  for (let k = 0; k < 22; k++) bytes.push(EV.open, 0);
  bytes.push(EV.time, 127 + 60, EV.open, 1, EV.time, 127 + 60, EV.open, 0, EV.join, 0, 0);
  write("room", Buffer.from(bytes));
}
console.log(Object.entries(counts).map(([t, n]) => `${t}: ${n}`).join(", "), `seed files in ${out}`);
