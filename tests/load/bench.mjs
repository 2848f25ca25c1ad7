#!/usr/bin/env node
// The fan-out benchmark (`make bench`): against a fresh local `wrangler dev`, one
// room with M = 10 and M = 100 members, 10 % of them sending:
//   (a) a moderate load of 20 messages/s for 10 s: delivery latency p50/p99;
//   (b) a ramp of 50, 100, 200, 400, 800, 1600, 3200 messages/s, 10 s each: the
//       highest rate at which at least 99 % of fan-out deliveries arrive and p99
//       stays under 250 ms.
// Repeated RUNS times (default 3) on a fresh server each; the table shows medians.
// Writes build/bench/results.json, results.md and chart.svg (and chart.png when
// rsvg-convert is installed). Figures, not assertions: nothing here fails a build.
//
// The load client and the server share this machine; the per-user rate limit is
// lifted for the run (CHAT_RATE_PER_SECOND), everything else (storage, blocks,
// the room's checks) is on.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { startStack, toolEnv } from "../e2e/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const out = path.join(root, "build/bench");
const RUNS = Number(process.env.RUNS ?? 3);
const SIZES = (process.env.SIZES ?? "10,100").split(",").map(Number);
const RAMP = [50, 100, 200, 400, 800, 1600, 3200];
const STEP_S = Number(process.env.STEP_SECONDS ?? 10);

async function bots(base, args) {
  const { stdout } = await promisify(execFile)(path.join(root, "node_modules/.bin/node"),
    [path.join(here, "bots.mjs"), "--base", base, "--quiet", "--drain", "5", ...args],
    { env: toolEnv, timeout: 600_000, maxBuffer: 1 << 24 }).catch((e) => e); // lost => exit 1, still a report
  return JSON.parse(stdout.slice(stdout.indexOf("{")));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const runs = [];
for (let run = 1; run <= RUNS; run++) {
  // X_LOCAL_OBSERVABILITY=false: wrangler dev's local explorer otherwise streams
  // every event of the Worker to a collector written in JavaScript, running in
  // the same single-threaded workerd as the room. A development tool with no
  // counterpart in production; with it on, a room of 100 collapsed near 1 200
  // messages/s instead of shedding past 2 000.
  const stack = await startStack({ vars: { CHAT_RATE_PER_SECOND: "1000000" }, env: { X_LOCAL_OBSERVABILITY: "false" } });
  try {
    for (const m of SIZES) {
      const moderate = await bots(stack.base, ["--users", String(m), "--senders", "0.1", "--rate", "20", "--duration", String(STEP_S)]);
      const ramp = await bots(stack.base, ["--users", String(m), "--senders", "0.1",
        "--ramp", RAMP.map((r) => `${r}:${STEP_S}`).join(",")]);
      const ok = ramp.phases.filter((p) => p.delivery_ratio >= 0.99 && p.p99_ms < 250).map((p) => p.rate);
      runs.push({ run, members: m, moderate: moderate.latency_ms, phases: ramp.phases, max_rate: ok.length ? Math.max(...ok) : 0 });
      process.stderr.write(`run ${run}, M=${m}: moderate p50 ${moderate.latency_ms.p50} ms p99 ${moderate.latency_ms.p99} ms; max sustained ${runs.at(-1).max_rate}/s\n`);
    }
  } finally {
    await stack.stop();
  }
}

// Medians across runs, per room size and per offered rate.
const table = SIZES.map((m) => {
  const mine = runs.filter((r) => r.members === m);
  return {
    members: m,
    moderate_p50_ms: median(mine.map((r) => r.moderate.p50)),
    moderate_p99_ms: median(mine.map((r) => r.moderate.p99)),
    max_rate: median(mine.map((r) => r.max_rate)),
    ramp: RAMP.map((rate) => {
      const at = mine.map((r) => r.phases.find((p) => p.rate === rate));
      return { rate, delivered_per_second: median(at.map((p) => p.delivered_per_second)),
        delivery_ratio: median(at.map((p) => p.delivery_ratio)), p99_ms: median(at.map((p) => p.p99_ms)) };
    }),
  };
});

const cpu = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "CPU"}`;
const lines = [
  `# Fan-out benchmark (medians of ${RUNS} run(s))`,
  "",
  `Machine: ${cpu}; the load client (one Node process) and \`wrangler dev\` share it.`,
  "",
  "| members | 20 msg/s p50 | 20 msg/s p99 | highest rate with ≥ 99 % delivered and p99 < 250 ms |",
  "|---|---|---|---|",
  ...table.map((t) => `| ${t.members} | ${t.moderate_p50_ms.toFixed(1)} ms | ${t.moderate_p99_ms.toFixed(1)} ms | ${t.max_rate} msg/s |`),
  "",
  "| members | offered msg/s | delivered msg/s | delivered share | p99 |",
  "|---|---|---|---|---|",
  ...table.flatMap((t) => t.ramp.map((r) =>
    `| ${t.members} | ${r.rate} | ${Math.round(r.delivered_per_second)} | ${(100 * r.delivery_ratio).toFixed(1)} % | ${r.p99_ms.toFixed(0)} ms |`)),
];
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, "results.json"), JSON.stringify({ machine: cpu, runs, table }, null, 2));
writeFileSync(path.join(out, "results.md"), `${lines.join("\n")}\n`);
console.log(lines.join("\n"));

// The chart: delivered messages/s and p99 latency against offered rate, one line
// per room size (vega-lite, rendered to SVG by vega without a browser).
const values = table.flatMap((t) => t.ramp.map((r) => ({ members: `M = ${t.members}`, offered: r.rate,
  delivered: r.delivered_per_second, p99: r.delivered_per_second ? r.p99_ms : null })));
const panel = (field, title) => ({
  width: 360, height: 240, mark: { type: "line", point: true },
  encoding: {
    x: { field: "offered", type: "quantitative", scale: { type: "log" }, title: "offered messages/s" },
    y: { field, type: "quantitative", scale: { type: "symlog" }, title },
    color: { field: "members", type: "nominal", title: "room" },
  },
});
const spec = vegaLite.compile({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: `One room, 10 % sending (medians of ${RUNS}; client and server on one 2-core machine)`,
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
