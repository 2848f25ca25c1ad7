// The edge bundle: `wrangler deploy --dry-run` builds it without an account, and
// it carries the Wasm core as a separate module (imported, never compiled from
// bytes at run time) that is valid Wasm with the expected exports.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { toolEnv } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

it("wrangler deploy --dry-run produces a bundle with the Wasm module", () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "chat-dry-run-"));
  try {
    execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
      cwd: root,
      stdio: "pipe",
      env: toolEnv,
    });
    const files = readdirSync(out);
    const wasm = files.find((f) => f.endsWith("chat.wasm"));
    assert.ok(wasm, `no chat.wasm in ${files}`);
    const module = new WebAssembly.Module(readFileSync(path.join(out, wasm)));
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    for (const name of ["chat_alloc", "chat_dealloc", "chat_init", "chat_call", "memory"]) {
      assert.ok(exports.includes(name), `missing export ${name}`);
    }
    const index = readFileSync(path.join(out, "index.js"), "utf8");
    assert.match(index, /chat\.wasm/);
    assert.match(index, /UserHub = class extends DurableObject/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
