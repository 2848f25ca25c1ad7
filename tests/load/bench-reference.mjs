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

/** Waits until `ready()` resolves true, or throws after `ms` with `what()`. */
async function until(ready, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    try { if (await ready()) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a process in its own process group, its output kept; returns
 * { child, log(), stop() } where stop() ends that group (SIGTERM, then SIGKILL). */
function startGroup(bin, args, env = toolEnv) {
  const child = spawn(bin, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  child.on("error", (e) => { log += String(e); });
  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    const exited = new Promise((r) => child.once("exit", r));
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
    const timer = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(timer);
  }
  return { child, log: () => log, stop };
}

/**
 * The second reference (tests/load/reference-socketio/): Debian's redis-server on
 * a free loopback port (no persistence), and two socket.io processes on it
 * (@socket.io/redis-adapter). Resolves to { base: "http://...:A,http://...:B"
 * (bots.mjs takes the list: HTTP to the first, sockets spread over both),
 * bases, stop() }; stop() ends the three by their process groups.
 */
export async function startSocketioReference() {
  const redisPort = await freePort();
  const redis = startGroup("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "",
    "--appendonly", "no", "--protected-mode", "yes"]);
  const procs = [redis];
  const stop = async () => { for (const p of procs.reverse()) await p.stop(); };
  try {
    await until(() => /Ready to accept connections/.test(redis.log()), 10_000,
      () => `redis-server did not start (install it: apt-get install redis-server, or make bench):\n${redis.log()}`);
    const bases = [];
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const p = startGroup(path.join(root, "node_modules/.bin/node"),
        [path.join(here, "reference-socketio/server.mjs"), "--port", String(port), "--redis", String(redisPort)]);
      procs.push(p);
      const base = `http://127.0.0.1:${port}`;
      await until(async () => (await fetch(`${base}/`)).status === 404, 30_000,
        () => `socket.io reference process ${i} did not start:\n${p.log()}`);
      bases.push(base);
    }
    // the server's processes (redis-server and the two socket.io processes), for its CPU
    return { base: bases.join(","), bases, stop, pids: () => procs.map((p) => p.child.pid) };
  } catch (e) {
    await stop();
    throw e;
  }
}
