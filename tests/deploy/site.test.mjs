// The site for Cloudflare Pages: `make site` writes pages/dist with an
// index.html (today the placeholder page, later the web client's build), and
// Pages Functions, when pages/functions exists, compile into a Worker.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { it } from "node:test";
import { configFor, offlineEnv, root } from "./util.mjs";

const dist = path.join(root, "pages/dist");
const functions = path.join(root, "pages/functions");

it("make site writes the build output that wrangler pages deploy uploads", () => {
  const r = spawnSync("make", ["--no-print-directory", "site"], { cwd: root, env: offlineEnv(), encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  const html = readFileSync(path.join(dist, "index.html"), "utf8");
  assert.match(html, /^<!doctype html>/i);
  assert.match(html, /<title>[^<]+<\/title>/);
  assert.ok(!existsSync(path.join(dist, "_worker.js")), "no advanced-mode Worker: Functions come from pages/functions");
});

it("builds the Pages Functions, if the site has any", { skip: !existsSync(functions) && "no pages/functions yet" }, () => {
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
