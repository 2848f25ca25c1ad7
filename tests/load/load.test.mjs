// The load tools: the k6 scripts parse as the ES modules k6 runs and speak the
// project's protocol; the bots run a short load against a real `wrangler dev` and
// find nothing lost or duplicated.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as acorn from "acorn";
import { startStack, toolEnv } from "../e2e/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const parse = (file) => acorn.parse(readFileSync(file, "utf8"), { ecmaVersion: "latest", sourceType: "module" });

/** Every node of an AST. */
function* walk(node) {
  if (!node || typeof node.type !== "string") return;
  yield node;
  for (const v of Object.values(node)) {
    if (Array.isArray(v)) for (const c of v) yield* walk(c);
    else if (v && typeof v === "object") yield* walk(v);
  }
}

describe("k6 scripts", () => {
  for (const script of ["steady.js", "spike.js"]) {
    it(`${script} parses and has options with scenarios and thresholds, setup and its exec functions`, () => {
      const ast = parse(path.join(here, "k6", script));
      const exported = ast.body.filter((n) => n.type === "ExportNamedDeclaration").map((n) =>
        n.declaration.type === "VariableDeclaration" ? n.declaration.declarations[0].id.name : n.declaration.id.name);
      assert.ok(exported.includes("options") && exported.includes("setup"));
      const options = ast.body.find((n) => n.declaration?.declarations?.[0]?.id.name === "options").declaration.declarations[0].init;
      const keys = options.properties.map((p) => p.key.name);
      assert.ok(keys.includes("scenarios") && keys.includes("thresholds"));
      const scenarios = options.properties.find((p) => p.key.name === "scenarios").value.properties;
      for (const s of scenarios) {
        const exec = s.value.properties.find((p) => p.key.name === "exec").value.value;
        assert.ok(exported.includes(exec), `scenario ${s.key.name} runs exported ${exec}`);
      }
      // Durations, VUs and targets are parameters (k6 -e), not numbers written in.
      const scenariosNode = options.properties.find((p) => p.key.name === "scenarios").value;
      for (const node of walk(scenariosNode)) {
        if (node.type !== "Property") continue;
        const key = node.key.name ?? node.key.value;
        if (["vus", "target", "duration", "maxDuration", "startTime"].includes(key) && node.value.value !== 0) {
          assert.notEqual(node.value.type, "Literal", `${script}: ${key} is written in (${node.value.raw})`);
        }
      }
    });
  }

  it("lib.js uses k6/websockets and takes its protocol names from the generated module", async () => {
    const ast = parse(path.join(here, "k6", "lib.js"));
    const sources = ast.body.filter((n) => n.type === "ImportDeclaration").map((n) => n.source.value);
    assert.ok(sources.includes("k6/websockets") && sources.includes("k6/metrics"));
    const protocolImport = ast.body.find((n) => n.type === "ImportDeclaration" && n.source.value.endsWith("generated/core.js"));
    const generated = await import(path.resolve(here, "k6", protocolImport.source.value));
    for (const spec of protocolImport.specifiers) assert.ok(spec.imported.name in generated, `${spec.imported.name} is generated`);
    const strings = new Set([...walk(ast)].filter((n) => n.type === "Literal" && typeof n.value === "string").map((n) => n.value));
    for (const frame of ["join_room", "history", "new_chat_message", "batch", "rate_limited"]) assert.ok(strings.has(frame), frame);
    const members = new Set([...walk(ast)].filter((n) => n.type === "MemberExpression" && n.object.name === "LIMITS").map((n) => n.property.name));
    for (const m of members) assert.ok(m in generated.LIMITS, `LIMITS.${m} exists`);
  });
});

describe("bots", () => {
  it("run a short load with nothing lost or duplicated", async () => {
    const stack = await startStack();
    try {
      const { stdout } = await promisify(execFile)(path.join(here, "../../node_modules/.bin/node"), [
        path.join(here, "bots.mjs"), "--base", stack.base, "--users", "12", "--rooms", "2", "--senders", "0.5",
        "--rate", "12", "--duration", "3", "--quiet",
      ], { env: toolEnv, timeout: 120_000 });
      const report = JSON.parse(stdout);
      assert.equal(report.lost, 0);
      assert.equal(report.duplicated, 0);
      assert.ok(report.acked > 20, `acked ${report.acked}`);
      assert.equal(report.delivered, report.expected_deliveries);
      assert.equal(report.delivered, report.acked * 6); // 6 members per room
      assert.ok(report.latency_ms.p99 > 0);
    } finally {
      await stack.stop();
    }
  });

  it("see a busy room batch its messages and shed past its rate, with nothing lost, duplicated or reordered", async () => {
    // The room's limit set low (20 a second, bursts of 20), the per-user one lifted:
    // 5 senders offer 200 messages a second for 3 s.
    const stack = await startStack({ vars: { CHAT_RATE_PER_SECOND: "1000", CHAT_ROOM_RATE_PER_SECOND: "20",
      CHAT_ROOM_RATE_BURST: "20" } });
    try {
      const { stdout } = await promisify(execFile)(path.join(here, "../../node_modules/.bin/node"), [
        path.join(here, "bots.mjs"), "--base", stack.base, "--users", "10", "--senders", "0.5",
        "--rate", "200", "--duration", "3", "--quiet",
      ], { env: toolEnv, timeout: 120_000 });
      const report = JSON.parse(stdout);
      assert.equal(report.lost, 0);
      assert.equal(report.duplicated, 0);
      assert.equal(report.reordered, 0);
      assert.ok(report.batches > 0, "coalesced into batch frames");
      // Every message was either accepted (and reached all 10) or refused.
      assert.equal(report.acked + report.errors.rate_limited, report.sent);
      assert.equal(report.delivered, report.acked * 10);
      // About 20 + 20 a second were accepted: the rest was shed, no socket closed.
      assert.ok(report.acked >= 60 && report.acked <= 110, `acked ${report.acked}`);
      assert.deepEqual(Object.keys(report.errors), ["rate_limited"]);
    } finally {
      await stack.stop();
    }
  });
});
