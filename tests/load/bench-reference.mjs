// The benchmark's comparison baseline (tests/load/reference/): the plain
// JavaScript Durable Object chat under its own `wrangler dev`, on a free loopback
// port with its own state directory, without the local explorer's collector
// (X_LOCAL_OBSERVABILITY=false, as our stack in the benchmark). Stopped by its
// process group.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, toolEnv } from "../e2e/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");


/** Starts the reference; resolves to { base, log(), stop() } once it answers. */
export async function startReference() {
  const state = mkdtempSync(path.join(os.tmpdir(), "chat-reference-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = ["dev", "--config", path.join(here, "reference/wrangler.toml"), "--ip", "127.0.0.1",
    "--port", String(port), "--persist-to", state, "--inspector-port", String(await freePort())];
  const child = spawn(path.join(root, "node_modules/.bin/wrangler"), args,
    { cwd: root, env: { ...toolEnv, X_LOCAL_OBSERVABILITY: "false" }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });

  async function stop() {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(state, { recursive: true, force: true });
  }

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`reference wrangler dev exited:\n${log}`);
    try {
      if ((await fetch(`${base}/`)).status === 404) break; // its answer to any other route
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`reference wrangler dev did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { base, log: () => log, stop };
}
