// The site for Cloudflare Pages: `make site` writes the web client's build to
// pages/dist; its Pages Function (pages/functions) compiles into a Worker; and
// the pieces that make the site and the API one origin agree with each other:
// _routes.json keeps the site's own files away from the Function and sends every
// other path to the API, pages/wrangler.toml binds each Pages environment to the
// Worker of the matching wrangler.toml environment, and that Worker lets the
// site's origin open WebSockets.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { it } from "node:test";
import { experimental_readRawConfig } from "wrangler";
import { configFor, offlineEnv, root } from "./util.mjs";

const dist = path.join(root, "pages/dist");
const functions = path.join(root, "pages/functions");

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

it("builds the Pages Function", { skip: !existsSync(functions) && "no pages/functions" }, () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "chat-pages-functions-"));
  try {
    const { compatibility_date } = configFor(undefined);
    const r = spawnSync(path.join(root, "node_modules/.bin/wrangler"),
      ["pages", "functions", "build", functions, "--outdir", out, "--compatibility-date", compatibility_date],
      { cwd: path.join(root, "pages"), env: offlineEnv(), encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.ok(readdirSync(out).some((f) => f.endsWith(".js")), "a Worker script was written");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
