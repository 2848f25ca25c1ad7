// `make deploy` without an account: it refuses at once, before the tests, when
// wrangler has no credentials or ENV is no environment; and `make release` (its
// remote part) runs the first-time set-up, the D1 migrations, the Worker and the
// site in that order, against a stand-in wrangler that records its arguments.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { offlineEnv, root } from "./util.mjs";

function make(args, env) {
  const started = Date.now();
  const r = spawnSync("make", ["--no-print-directory", ...args], { cwd: root, env, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, seconds: (Date.now() - started) / 1000 };
}

describe("make deploy without an account", () => {
  it("refuses at once when wrangler has no credentials, and says how to log in", () => {
    const r = make(["deploy", "ENV=staging"], offlineEnv());
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /no Cloudflare credentials/);
    assert.match(r.out, /wrangler login/);
    assert.match(r.out, /CLOUDFLARE_API_TOKEN/);
    assert.doesNotMatch(r.out, /vitest|node --test/, "it stopped before the tests");
    assert.ok(r.seconds < 60, `took ${r.seconds} s`);
  });

  it("refuses an environment wrangler.toml does not define, naming the ones it does", () => {
    const r = make(["deploy", "ENV=prod"], offlineEnv());
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /"prod" is not an environment of wrangler\.toml\. Use one of: staging, production/);
  });
});

describe("make release against a stand-in wrangler", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chat-fake-wrangler-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fake = path.join(dir, "wrangler");
  const log = path.join(dir, "calls.log");
  // Answers what deploy/cloudflare.mjs asks (an account, the existing D1
  // databases and Pages projects) and succeeds at everything else.
  writeFileSync(fake, `#!/usr/bin/env bash
echo "$*" >> "${log}"
case "$*" in
  "whoami --json") echo '{"loggedIn":true,"email":"dev@example.com","accounts":[{"id":"0123abcd","name":"Example"}]}' ;;
  "d1 list --json") cat "${dir}/d1.json" ;;
  "pages project list --json") cat "${dir}/pages.json" ;;
  "r2 bucket list") cat "${dir}/r2.txt" ;;
esac
`);
  chmodSync(fake, 0o755);

  function release(env, { d1 = [], pages = [], r2 = [] }) {
    writeFileSync(path.join(dir, "d1.json"), JSON.stringify(d1.map((name) => ({ uuid: `uuid-${name}`, name }))));
    // as wrangler prints its buckets: labelled values, a blank line between
    writeFileSync(path.join(dir, "r2.txt"), ["Listing buckets...",
      ...r2.map((name) => `name:           ${name}\ncreation_date:  2026-01-01T00:00:00.000Z`)].join("\n\n"));
    writeFileSync(path.join(dir, "pages.json"), JSON.stringify(pages.map((name) => ({ "Project Name": name }))));
    writeFileSync(log, "");
    const r = make(["release", `ENV=${env}`, `WRANGLER=${fake}`], offlineEnv());
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`Deploying "edge-chat-${env}" \\(environment ${env}\\) to account Example \\(0123abcd\\)`));
    return readFileSync(log, "utf8").trim().split("\n");
  }

  it("on a new account: creates the database and the Pages project, migrates, deploys the Worker, then the site", () => {
    assert.deepEqual(release("staging", {}), [
      "whoami --json",
      "d1 list --json",
      "d1 create edge-chat-staging",
      "r2 bucket list",
      "r2 bucket create edge-chat-staging-files",
      "pages project list --json",
      "pages project create edge-chat --production-branch main",
      "d1 migrations apply DB --remote --env staging",
      "deploy --env staging",
      "pages deploy dist --cwd pages --project-name edge-chat --branch staging",
    ]);
  });

  it("on an account already set up: creates nothing, and production deploys the production branch", () => {
    assert.deepEqual(release("production", { d1: ["edge-chat-staging", "edge-chat-production"], pages: ["edge-chat"],
      r2: ["edge-chat-staging-files", "edge-chat-production-files"] }), [
      "whoami --json",
      "d1 list --json",
      "r2 bucket list",
      "pages project list --json",
      "d1 migrations apply DB --remote --env production",
      "deploy --env production",
      "pages deploy dist --cwd pages --project-name edge-chat --branch main",
    ]);
  });
});
