// The edge bundle of every environment of wrangler.toml (the top level that
// local development uses, staging, production): `wrangler deploy --dry-run`
// builds it without an account; it carries the Wasm core as a separate module
// (imported, never compiled from bytes at run time) that is valid Wasm with the
// expected exports; and the Durable Object classes it exports are exactly the
// ones the environment binds and its migrations create, all SQLite-backed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { unstable_readConfig } from "wrangler";
import { toolEnv } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const configPath = path.join(root, "wrangler.toml");

/** Classes a list of Durable Object migrations leaves in place, and whether any
 * was created KV-backed (new_classes) rather than SQLite-backed. */
function liveClasses(migrations) {
  const live = new Set();
  let kvBacked = [];
  for (const m of migrations) {
    for (const c of m.new_sqlite_classes ?? []) live.add(c);
    for (const c of m.new_classes ?? []) { live.add(c); kvBacked.push(c); }
    for (const { from, to } of m.renamed_classes ?? []) { live.delete(from); live.add(to); }
    for (const c of m.deleted_classes ?? []) live.delete(c);
  }
  kvBacked = kvBacked.filter((c) => live.has(c));
  return { live, kvBacked };
}

/** The classes a bundle exports that extend DurableObject. */
function exportedDurableObjects(index) {
  const block = /export\s*\{([^}]*)\}\s*;?\s*(\/\/# sourceMappingURL=.*)?\s*$/.exec(index);
  assert.ok(block, "the bundle ends with an export list");
  const exported = block[1].split(",").map((s) => s.trim()).filter((s) => s && !s.includes(" as "));
  return exported.filter((name) => new RegExp(`\\b${name} = class extends DurableObject\\d*\\b`).test(index));
}

for (const env of ["", "staging", "production"]) {
  describe(`wrangler deploy --dry-run --env "${env}"`, () => {
    const config = unstable_readConfig({ config: configPath, env: env || undefined }, { hideWarnings: true });
    const out = mkdtempSync(path.join(os.tmpdir(), "chat-dry-run-"));
    let files = [];
    let index = "";
    after(() => rmSync(out, { recursive: true, force: true }));

    it("builds the bundle", () => {
      try {
        execFileSync(path.join(root, "node_modules/.bin/wrangler"),
          ["deploy", "--dry-run", "--outdir", out, "--env", env], { cwd: root, stdio: "pipe", env: toolEnv });
      } catch (err) {
        assert.fail(`dry run failed:\n${err.stdout}\n${err.stderr}`);
      }
      files = readdirSync(out);
      index = readFileSync(path.join(out, "index.js"), "utf8");
      assert.match(readFileSync(path.join(out, "README.md"), "utf8"), new RegExp(`"${config.name}"`));
    });

    it("carries the Wasm module with the core's exports", () => {
      const wasm = files.find((f) => f.endsWith("chat.wasm"));
      assert.ok(wasm, `no chat.wasm in ${files}`);
      const module = new WebAssembly.Module(readFileSync(path.join(out, wasm)));
      const exports = WebAssembly.Module.exports(module).map((e) => e.name);
      for (const name of ["chat_alloc", "chat_dealloc", "chat_init", "chat_call", "memory"]) {
        assert.ok(exports.includes(name), `missing export ${name}`);
      }
      assert.match(index, /chat\.wasm/);
    });

    it("exports exactly the Durable Object classes its bindings and migrations name", () => {
      const exported = exportedDurableObjects(index).sort();
      const bound = [...new Set(config.durable_objects.bindings.map((b) => b.class_name))].sort();
      const { live, kvBacked } = liveClasses(config.migrations);
      assert.ok(exported.length > 0, "the bundle exports Durable Object classes");
      assert.deepEqual(bound, exported, "every exported class is bound, every bound class exported");
      assert.deepEqual([...live].sort(), exported, "the migrations create exactly the exported classes");
      assert.deepEqual(kvBacked, [], "Durable Objects use SQLite storage (new_sqlite_classes)");
      const tags = config.migrations.map((m) => m.tag);
      assert.equal(new Set(tags).size, tags.length, `duplicate migration tags in ${tags}`);
    });
  });
}
