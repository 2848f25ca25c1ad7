#!/usr/bin/env node
// Runs the k6 scripts (tests/load/k6/: steady.js, spike.js) with the k6 this
// machine has, and says which:
//   - $K6 when set (a path to a k6 binary),
//   - else `k6` from PATH,
//   - else the build shared beside the repository, ../shared/tools/k6/k6 (k6 1.3.0
//     with the k6/websockets module registered under its current name; its README
//     says how it was made: these machines cannot download k6).
//
//   node tests/load/k6.mjs smoke
//     `make test-k6`, part of `make test`: starts the local stack (wrangler dev, as
//     the end-to-end tests do) and runs each script for a few seconds with small
//     numbers; their thresholds must pass. Without any k6 it says so loudly and
//     skips (exit 0).
//   node tests/load/k6.mjs run SCRIPT BASE [NAME=value ...]
//     `make k6 SCRIPT=steady BASE=https://… K6_ENV="MEMBERS=20 DURATION=60s"`: one
//     script against any server, with the parameters given (k6 -e), at full size
//     by default. Exit status: k6's (99 when a threshold failed).
// Either way k6 gets -e RECONNECT_BASE_MS and -e RECONNECT_CAP_MS from
// LIMITS.reconnectBaseMs / reconnectCapMs (worker/generated/core.ts, from
// wasm/chat_limits.h): the scripts' reconnect backoff (tests/load/k6/lib.js).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LIMITS } from "../../worker/generated/core.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
// Beside the repository; or where this workplace keeps it, for a clone made
// elsewhere (a CI run on a fresh clone).
const SHARED = [path.resolve(root, "../shared/tools/k6/k6"), "/work/shared/tools/k6/k6"].find((p) => existsSync(p))
  ?? path.resolve(root, "../shared/tools/k6/k6");

// The smoke: each script short and small. The thresholds are the scripts' own.
const SMOKE = {
  steady: { MEMBERS: "10", SENDERS: "0.3", INTERVAL_MS: "500", DURATION: "10s", JOIN_SPREAD: "1s" },
  spike: { LISTENERS: "6", PEAK_SENDERS: "6", INTERVAL_MS: "500", SENDER_SECONDS: "4", START: "1s", RAMP: "3s", HOLD: "3s",
    JOIN_SPREAD: "1s" },
};

/** Which k6 to run: { bin, how }, or null. */
function findK6() {
  if (process.env.K6) return { bin: process.env.K6, how: "$K6" };
  const onPath = spawnSync("sh", ["-c", "command -v k6"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return { bin: onPath, how: "k6 from PATH" };
  if (existsSync(SHARED)) return { bin: SHARED, how: `the shared build ${SHARED} (no k6 on PATH)` };
  return null;
}

/** Runs k6 on a script with -e parameters; resolves to its exit status. The
 * reconnect backoff's two numbers come from the generated LIMITS (k6 cannot
 * import TypeScript): RECONNECT_BASE_MS and RECONNECT_CAP_MS, unless given. */
function runK6(k6, script, base, params) {
  const env = { RECONNECT_BASE_MS: String(LIMITS.reconnectBaseMs), RECONNECT_CAP_MS: String(LIMITS.reconnectCapMs),
    ...params, BASE_URL: base };
  const args = ["run", "--quiet", ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    path.join(here, "k6", `${script}.js`)];
  console.log(`\n== k6 ${script}.js against ${base} (${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(" ") || "full size"})`);
  return new Promise((resolve) => {
    const child = spawn(k6.bin, args, { cwd: root, stdio: "inherit", env: { ...process.env, K6_NO_USAGE_REPORT: "true" } });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function loudSkip() {
  const line = "#".repeat(78);
  console.error([line,
    "#  SKIPPED: the k6 smoke tests (tests/load/k6/*.js) did not run.",
    "#  There is no k6 on PATH, no $K6, and no shared build at ../shared/tools/k6/k6.",
    "#  Install k6 (1.6 or later, for the k6/websockets module) to run them.",
    line].join("\n"));
}

const [command, ...args] = process.argv.slice(2);
const k6 = findK6();
if (command === "smoke") {
  if (!k6) {
    loudSkip();
    process.exit(0);
  }
  console.log(`k6: ${k6.bin}, ${k6.how}`);
  const { startStack } = await import("../e2e/harness.mjs");
  const stack = await startStack();
  let failed = [];
  try {
    for (const [script, params] of Object.entries(SMOKE)) {
      if ((await runK6(k6, script, stack.base, params)) !== 0) failed.push(script);
    }
  } finally {
    await stack.stop();
  }
  if (failed.length) {
    console.error(`\nk6 smoke: ${failed.join(", ")} failed (a threshold, or k6 itself; k6 was ${k6.how})`);
    process.exit(1);
  }
  console.log(`\nk6 smoke: steady.js and spike.js passed their thresholds (k6 was ${k6.how})`);
} else if (command === "run" && args.length >= 2) {
  const [script, base, ...rest] = args;
  if (!existsSync(path.join(here, "k6", `${script}.js`))) {
    console.error(`no script tests/load/k6/${script}.js (steady, spike)`);
    process.exit(2);
  }
  if (!k6) {
    console.error("no k6: none on PATH, no $K6, no ../shared/tools/k6/k6. Install k6 (1.6 or later).");
    process.exit(2);
  }
  console.log(`k6: ${k6.bin}, ${k6.how}`);
  const params = Object.fromEntries(rest.map((p) => {
    const i = p.indexOf("=");
    if (i < 1) throw new Error(`a parameter is NAME=value: ${p}`);
    return [p.slice(0, i), p.slice(i + 1)];
  }));
  process.exit(await runK6(k6, script, base, params));
} else {
  console.error("usage: node tests/load/k6.mjs smoke | run SCRIPT BASE [NAME=value ...]");
  process.exit(2);
}
