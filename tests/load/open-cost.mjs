#!/usr/bin/env node
// Open-path benchmark (issue 13): figures, not a test. What one room socket costs
// to open, and what a refused one costs, against a fresh local `wrangler dev` (test
// budget scale, so that only the room's own limit refuses): USERS accounts each open
// CHAT_USER_CONNS_MAX sockets to one room (accepted: upgrade to the connection
// frame), then REFUSED more each (429 too_many_connections, the socket hoarder's
// case), one at a time. Prints the median and p90 of each, per run and the median
// over runs. Traffic goes to 127.0.0.1 only, bounded by the counts.
//
//   node tests/load/open-cost.mjs [--users 5] [--refused 40] [--runs 3]
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { createRoom, signup, startStack } from "../e2e/harness.mjs";
import { LIMITS } from "../../worker/generated/core.js";

const { values: opt } = parseArgs({
  options: { users: { type: "string", default: "5" }, refused: { type: "string", default: "40" }, runs: { type: "string", default: "3" } },
});

/** Opens a socket; resolves to { ws, ms } once the connection frame came, or { status, ms } when refused. */
function open(base, token, path) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, ["chat.v1", `bearer.${token}`]);
    ws.once("message", () => resolve({ ws, ms: performance.now() - t0 }));
    ws.once("error", reject);
    ws.once("unexpected-response", (req, res) => { res.resume(); req.destroy(); resolve({ status: res.statusCode, ms: performance.now() - t0 }); });
  });
}

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const runs = [];
for (let run = 0; run < Number(opt.runs); run++) {
  const stack = await startStack();
  try {
    const owner = await signup(stack.base, "oc");
    const room = await createRoom(stack.base, owner);
    const path = `/rooms/${room.id}/ws`;
    const accepted = [], refused = [], held = [];
    for (let u = 0; u < Number(opt.users); u++) {
      const who = await signup(stack.base, "oc");
      for (let i = 0; i < LIMITS.userConnsMax; i++) {
        const r = await open(stack.base, who.token, path);
        if (!r.ws) throw new Error(`open refused ${r.status}`);
        held.push(r.ws);
        accepted.push(r.ms);
      }
      for (let i = 0; i < Number(opt.refused); i++) {
        const r = await open(stack.base, who.token, path);
        if (r.ws) throw new Error("an open past the room's limit was accepted");
        refused.push(r.ms);
      }
    }
    held.forEach((ws) => ws.terminate());
    const row = { run, accepted: { n: accepted.length, p50: +q(accepted, 0.5).toFixed(2), p90: +q(accepted, 0.9).toFixed(2) },
      refused: { n: refused.length, p50: +q(refused, 0.5).toFixed(2), p90: +q(refused, 0.9).toFixed(2) } };
    console.log(JSON.stringify(row));
    runs.push(row);
  } finally {
    await stack.stop();
  }
}
const med = (xs) => q(xs, 0.5);
console.log(`open path, ${opt.users} users x ${LIMITS.userConnsMax} sockets, ${opt.refused} refused each, ${runs.length} runs (medians):`);
console.log(`  accepted open: p50 ${med(runs.map((r) => r.accepted.p50))} ms, p90 ${med(runs.map((r) => r.accepted.p90))} ms`);
console.log(`  refused open:  p50 ${med(runs.map((r) => r.refused.p50))} ms, p90 ${med(runs.map((r) => r.refused.p90))} ms`);
