// The site for Cloudflare Pages: `make site` writes the web client's build to
// pages/dist; its Pages Function (pages/functions) compiles into a Worker that,
// run in workerd, hands every request to the API binding as it came; and
// the pieces that make the site and the API one origin agree with each other:
// _routes.json keeps the site's own files away from the Function and sends every
// other path to the API, pages/wrangler.toml binds each Pages environment to the
// Worker of the matching wrangler.toml environment, and that Worker lets the
// site's origin open WebSockets.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { it } from "node:test";
import { experimental_readRawConfig } from "wrangler";
import WebSocket from "ws";
import { configFor, offlineEnv, root } from "./util.mjs";

const dist = path.join(root, "pages/dist");
const functions = path.join(root, "pages/functions");

/** A free TCP port on the loopback address. */
const freePort = () => new Promise((resolve, reject) => {
  const srv = net.createServer();
  srv.once("error", reject);
  srv.listen(0, "127.0.0.1", () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

/** Every file under dir, as a URL path ("/assets/x.js"). */
function files(dir, prefix = "") {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name), `${prefix}/${e.name}`) : [`${prefix}/${e.name}`]);
}

/** Whether a _routes.json rule ("/assets/*", "/") matches a path. */
const matches = (rule, p) => (rule.endsWith("/*") ? p.startsWith(rule.slice(0, -1)) : p === rule);

it("make site writes the web client's build, which wrangler pages deploy uploads", () => {
  const r = spawnSync("make", ["--no-print-directory", "site"], { cwd: root, env: offlineEnv(), encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  const html = readFileSync(path.join(dist, "index.html"), "utf8");
  assert.match(html, /^<!doctype html>/i);
  assert.match(html, /<title>[^<]+<\/title>/);
  assert.match(html, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/, "the built client");
  assert.ok(!existsSync(path.join(dist, "_worker.js")), "no advanced-mode Worker: Functions come from pages/functions");
});

it("routes the site's own files to Pages and every other path to the API", () => {
  const routes = JSON.parse(readFileSync(path.join(dist, "_routes.json"), "utf8"));
  assert.equal(routes.version, 1);
  assert.deepEqual(routes.include, ["/*"]);
  // _routes.json and _headers configure Pages; they are not served.
  for (const file of files(dist).filter((f) => f !== "/_routes.json" && f !== "/_headers")) {
    assert.ok(routes.exclude.some((rule) => matches(rule, file)), `${file} would run the Function`);
  }
  assert.ok(routes.exclude.includes("/"), "the page itself");
  for (const api of ["/signup", "/login", "/account", "/ws", "/rooms", "/rooms/12/ws", "/rooms/12/messages", "/users/block",
    "/friends", "/dms", "/dms/3/ws", "/bans"]) {
    assert.ok(!routes.exclude.some((rule) => matches(rule, api)), `${api} would not reach the API`);
  }
});

/** The rules of a _headers file: URL pattern -> { header name (lower case): value }. */
function parseHeaders(text) {
  const rules = new Map();
  let current = null;
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trimStart().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      current = {};
      rules.set(line.trim(), current);
      continue;
    }
    const m = /^\s+([A-Za-z-]+):\s*(.+)$/.exec(line);
    assert.ok(m && current, `a header line under a URL pattern: ${JSON.stringify(line)}`);
    current[m[1].toLowerCase()] = m[2].trim();
  }
  return rules;
}

it("gives the site defensive headers through _headers, the one file of Pages and of make dev", () => {
  const source = readFileSync(path.join(root, "pages/public/_headers"), "utf8");
  assert.equal(readFileSync(path.join(dist, "_headers"), "utf8"), source, "make site copies it into the build");
  const all = parseHeaders(source).get("/*");
  assert.ok(all, "a rule for every path");
  assert.equal(all["x-content-type-options"], "nosniff");
  assert.equal(all["x-frame-options"], "DENY");
  assert.equal(all["referrer-policy"], "no-referrer");
  for (const feature of ["camera", "microphone", "geolocation"]) {
    assert.match(all["permissions-policy"], new RegExp(`(^|, )${feature}=\\(\\)`), feature);
  }
  const csp = new Map(all["content-security-policy"].split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  const expected = {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"], "connect-src": ["'self'"],
    "object-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'self'"], "frame-ancestors": ["'none'"],
  };
  for (const [directive, sources] of Object.entries(expected)) assert.deepEqual(csp.get(directive), sources, directive);
  for (const [directive, sources] of csp) {
    for (const bad of ["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"]) {
      assert.ok(!sources.includes(bad), `${directive} allows ${bad}`);
    }
  }
  // What the policy refuses, the built page must not need: no inline script or style.
  const html = readFileSync(path.join(dist, "index.html"), "utf8");
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "an inline script");
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "an inline style or event handler");
});

it("binds each Pages environment to the Worker of its wrangler.toml environment, which accepts the site's origin", () => {
  const pages = experimental_readRawConfig({ config: path.join(root, "pages/wrangler.toml") }).rawConfig;
  const makefile = readFileSync(path.join(root, "Makefile"), "utf8");
  const project = /^PAGES_PROJECT \?= (\S+)$/m.exec(makefile)[1];
  assert.equal(pages.name, project);
  assert.equal(pages.pages_build_output_dir, "./dist");
  assert.equal(pages.compatibility_date, configFor(undefined).compatibility_date);
  const api = (services) => services?.find((s) => s.binding === "API")?.service;
  assert.equal(api(pages.services), configFor(undefined).name, "local: the Worker of make dev");
  // Pages' production environment is the production branch; staging deploys are previews.
  for (const [pagesEnv, env, origin] of [["production", "production", `https://${project}.pages.dev`],
    ["preview", "staging", `https://staging.${project}.pages.dev`]]) {
    const worker = configFor(env);
    assert.equal(api(pages.env[pagesEnv].services), worker.name, `${pagesEnv} calls ${worker.name}`);
    assert.ok(worker.vars.CHAT_ALLOWED_ORIGINS.split(/\s+/).includes(origin), `${worker.name} accepts ${origin}`);
  }
});

// A stand-in for the chat Worker behind the service binding: it describes each
// request it gets, and accepts WebSocket upgrades with an echo.
const STAND_IN_API = `export default {
  async fetch(request) {
    if (request.headers.get("Upgrade") === "websocket") {
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      server.addEventListener("message", (e) => server.send("api heard " + e.data));
      const protocol = request.headers.get("Sec-WebSocket-Protocol").split(",")[0].trim();
      return new Response(null, { status: 101, webSocket: client, headers: { "Sec-WebSocket-Protocol": protocol } });
    }
    return Response.json({ method: request.method, url: request.url, body: await request.text(),
      headers: Object.fromEntries(request.headers) }, { status: 418, headers: { "X-From": "api" } });
  },
};`;

/** Waits until `url` answers at all (any status). */
async function listening(url, child, log) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${log()}`);
    try {
      // (a time limit: the port may be another process's, which need not answer)
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wrangler dev did not start:\n${log()}`);
}

it("builds the Pages Function and runs it: every request reaches the API binding as it came, WebSocket upgrades included",
  { skip: !existsSync(functions) && "no pages/functions" }, async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), "chat-pages-functions-"));
    const work = mkdtempSync(path.join(os.tmpdir(), "chat-pages-run-"));
    let child;
    try {
      const { compatibility_date } = configFor(undefined);
      const r = spawnSync(path.join(root, "node_modules/.bin/wrangler"),
        ["pages", "functions", "build", functions, "--outdir", out, "--compatibility-date", compatibility_date],
        { cwd: path.join(root, "pages"), env: offlineEnv(), encoding: "utf8" });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.ok(existsSync(path.join(out, "index.js")), "a Worker script was written");
      // The built script as it is (no second bundling) in workerd, with `wrangler dev`
      // running it and the stand-in in one process, its API binding pointing at the
      // stand-in as Pages binds it to the chat Worker.
      // (Each in a folder of its own: without bundling, wrangler attaches every file
      // beside the main module.)
      const dir = (name) => { mkdirSync(path.join(work, name)); return path.join(work, name); };
      const site = dir("site"), api = dir("api");
      copyFileSync(path.join(out, "index.js"), path.join(site, "index.js"));
      writeFileSync(path.join(api, "index.js"), STAND_IN_API);
      writeFileSync(path.join(work, "site.toml"), `name = "site-under-test"\nmain = "site/index.js"\nno_bundle = true
compatibility_date = "${compatibility_date}"\n[[services]]\nbinding = "API"\nservice = "api-stand-in"\n`);
      writeFileSync(path.join(work, "api.toml"), `name = "api-stand-in"\nmain = "api/index.js"\ncompatibility_date = "${compatibility_date}"\n`);
      const state = dir("state"), registry = dir("registry");
      let base;
      // A port freePort() gave may be taken by another process before wrangler binds
      // it: then wrangler starts again on fresh ports, 3 tries at most.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        let log = "";
        child = spawn(path.join(root, "node_modules/.bin/wrangler"), ["dev", "-c", "site.toml", "-c", "api.toml", "--ip", "127.0.0.1",
          "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", state],
        { cwd: work, env: offlineEnv({ WRANGLER_REGISTRY_PATH: registry }), detached: true, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout.on("data", (d) => { log += d; });
        child.stderr.on("data", (d) => { log += d; });
        base = `http://127.0.0.1:${port}`;
        try {
          await listening(base, child, () => log);
          break;
        } catch (e) {
          if (attempt >= 3 || !/Address already in use/.test(log)) throw e;
        }
      }

      const body = JSON.stringify({ username: "alice", password: "correct horse" });
      const res = await fetch(`${base}/signup?x=1`, {
        method: "POST", body, headers: { "Content-Type": "application/json", Authorization: "Bearer t0ken" },
      });
      assert.equal(res.status, 418, "the API's own status");
      assert.equal(res.headers.get("X-From"), "api", "and its headers");
      const seen = await res.json();
      assert.equal(seen.method, "POST");
      assert.equal(seen.url, `${base}/signup?x=1`, "the same URL: the API owns the site's paths");
      assert.equal(seen.body, body);
      assert.equal(seen.headers.authorization, "Bearer t0ken");
      assert.equal(seen.headers["content-type"], "application/json");
      assert.ok(seen.headers["cf-connecting-ip"], "the client's address, which the Worker's IP bans and budgets read");

      const ws = new WebSocket(`${base.replace("http", "ws")}/rooms/3/ws`, ["chat.v1", "bearer.t0ken"]);
      await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
      assert.equal(ws.protocol, "chat.v1");
      const heard = new Promise((resolve) => ws.once("message", (d) => resolve(String(d))));
      ws.send("hello");
      assert.equal(await heard, "api heard hello");
      ws.close();
    } finally {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        process.kill(-child.pid, "SIGTERM");
        await exited;
      }
      rmSync(out, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
