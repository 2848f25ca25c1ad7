// The production topology on this machine, as `make dev-pages` runs it: the site
// served by `wrangler pages dev` from pages/ (its static files, _routes.json,
// _headers and the Pages Function functions/[[path]].ts), whose service binding API
// reaches the Worker that `wrangler dev` runs beside it (startStack). The two find
// each other through wrangler's dev registry: a private one per stack here
// (WRANGLER_REGISTRY_PATH), so no other Worker of the same name on this machine
// can answer for it.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startStack, toolEnv } from "./harness.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Starts the Worker (wrangler dev) and the site in front of it (wrangler pages dev
 * on pages/dist: run `make site` first). `base` is the site's origin, the only one
 * whose pages may open WebSockets; `worker` is the Worker's own stack. The site's
 * port is picked before either starts (the Worker's allowed origin names it), and
 * another process on the machine may take it before wrangler binds it: then both
 * start again on fresh ports, 3 tries at most (as startStack does for its own). */
export async function startPagesStack(options = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/.test(String(e.message))) throw e;
    }
  }
}

async function startOnce({ vars = {} } = {}) {
  const registry = mkdtempSync(path.join(os.tmpdir(), "chat-registry-"));
  const state = mkdtempSync(path.join(os.tmpdir(), "chat-pages-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...toolEnv, WRANGLER_REGISTRY_PATH: registry };
  const worker = await startStack({ vars: { CHAT_ALLOWED_ORIGINS: base, ...vars }, env: { WRANGLER_REGISTRY_PATH: registry } });
  let log = "";
  // From pages/, as a new user would run it: pages/package.json makes pages/ the
  // Pages project's root, so wrangler reads pages/wrangler.toml (not the Worker's).
  const child = spawn(path.join(root, "node_modules/.bin/wrangler"), ["pages", "dev", "dist", "--ip", "127.0.0.1",
    "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", state],
  { cwd: path.join(root, "pages"), env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
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
    await worker.stop();
    rmSync(registry, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }

  // Ready when the site answers with its page and an API path reaches the Worker
  // through the Function and the binding (401 from the Worker, not Pages' own 404).
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler pages dev exited:\n${log}`);
    }
    try {
      // (a time limit: the port may be another process's, which need not answer)
      const [page, api] = await Promise.all([fetch(`${base}/`, { signal: AbortSignal.timeout(2000) }),
        fetch(`${base}/account`, { signal: AbortSignal.timeout(2000) })]);
      if (page.status === 200 && api.status === 401 && api.headers.get("www-authenticate")) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler pages dev did not reach the Worker:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { base, worker, log: () => log, stop };
}
