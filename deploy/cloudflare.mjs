#!/usr/bin/env node
// The account side of `make deploy` (README "Deploy to Cloudflare"), in two steps:
//
//   node deploy/cloudflare.mjs preflight ENV
//     Refuses, with the way forward, unless ENV is an environment of wrangler.toml
//     and wrangler is logged in to exactly one Cloudflare account (or
//     CLOUDFLARE_ACCOUNT_ID picks one). Without credentials it makes no network
//     call, so `make deploy` stops at once instead of after the tests.
//
//   node deploy/cloudflare.mjs setup ENV PAGES_PROJECT
//     The first-time set-up, idempotent: creates ENV's D1 database and the Pages
//     project when they do not exist yet (Terraform in infra/ may have made them).
//
// Wrangler is the repository's own (node_modules/.bin/wrangler) unless WRANGLER
// names another, which is how tests/deploy/ runs this against a stand-in.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const configPath = path.join(root, "wrangler.toml");
const wrangler = process.env.WRANGLER || path.join(root, "node_modules/.bin/wrangler");
const PRODUCTION_BRANCH = "main";

function refuse(lines) {
  console.error(["", "Deploy stopped.", ...lines, ""].join("\n"));
  process.exit(2);
}

/** Runs wrangler; resolves to { ok, stdout }. Its own messages go to stderr. */
function run(args, { quiet = false } = {}) {
  try {
    const stdout = execFileSync(wrangler, args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", quiet ? "pipe" : "inherit"],
    });
    return { ok: true, stdout };
  } catch (err) {
    return { ok: false, stdout: String(err.stdout ?? "") };
  }
}

/** The JSON document in wrangler's --json output (a banner may come first). */
function parseJson(text) {
  const start = text.search(/^[[{]/m);
  if (start < 0) throw new Error(`no JSON in wrangler's output:\n${text}`);
  return JSON.parse(text.slice(start));
}

function environment(env) {
  const names = Object.keys(experimental_readRawConfig({ config: configPath }).rawConfig.env ?? {});
  if (!names.includes(env)) {
    refuse([`"${env}" is not an environment of wrangler.toml. Use one of: ${names.join(", ")}`,
      `  make deploy ENV=${names[0] ?? "staging"}`]);
  }
  return unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
}

function preflight(env) {
  const config = environment(env);
  const who = run(["whoami", "--json"], { quiet: true });
  let user = { loggedIn: false };
  try { user = parseJson(who.stdout); } catch { /* not logged in, or no answer */ }
  if (!who.ok || !user.loggedIn) {
    refuse([
      "Wrangler has no Cloudflare credentials (or they did not work). Either:",
      "  npx wrangler login                    # opens a browser, stores an OAuth token",
      "or, with an API token (README \"Deploy to Cloudflare\" lists its permissions):",
      "  export CLOUDFLARE_API_TOKEN=...  CLOUDFLARE_ACCOUNT_ID=...",
      "then run make deploy again. Nothing was changed.",
    ]);
  }
  const accounts = user.accounts ?? [];
  const chosen = process.env.CLOUDFLARE_ACCOUNT_ID;
  const account = chosen ? accounts.find((a) => a.id === chosen) : accounts.length === 1 ? accounts[0] : undefined;
  if (!account) {
    refuse([
      chosen ? `CLOUDFLARE_ACCOUNT_ID=${chosen} is not one of this login's accounts:`
        : "This login reaches several accounts: set CLOUDFLARE_ACCOUNT_ID to one of",
      ...accounts.map((a) => `  ${a.id}  ${a.name}`),
    ]);
  }
  console.log(`Deploying "${config.name}" (environment ${env}) to account ${account.name} (${account.id})` +
    (user.email ? ` as ${user.email}` : ""));
}

function setup(env, project) {
  if (!project) refuse(["setup needs the Pages project name: node deploy/cloudflare.mjs setup ENV PROJECT"]);
  const config = environment(env);

  const list = run(["d1", "list", "--json"]);
  if (!list.ok) refuse(["Could not list the account's D1 databases (wrangler d1 list)."]);
  const have = new Set(parseJson(list.stdout).map((db) => db.name));
  for (const db of config.d1_databases) {
    if (have.has(db.database_name)) continue;
    console.log(`Creating D1 database ${db.database_name} (binding ${db.binding})`);
    if (!run(["d1", "create", db.database_name]).ok) refuse([`wrangler d1 create ${db.database_name} failed.`]);
  }

  // The attachments' bucket (issue 17): `wrangler r2 bucket create` refuses a name
  // that exists, so the list is asked first.
  const buckets = run(["r2", "bucket", "list"]);
  if (!buckets.ok) refuse(["Could not list the account's R2 buckets (wrangler r2 bucket list)."]);
  for (const b of config.r2_buckets ?? []) {
    if (new RegExp(`^name:\\s+${b.bucket_name}$`, "m").test(buckets.stdout)) continue;
    console.log(`Creating R2 bucket ${b.bucket_name} (binding ${b.binding})`);
    if (!run(["r2", "bucket", "create", b.bucket_name]).ok) refuse([`wrangler r2 bucket create ${b.bucket_name} failed.`]);
  }

  const projects = run(["pages", "project", "list", "--json"]);
  if (!projects.ok) refuse(["Could not list the account's Pages projects (wrangler pages project list)."]);
  if (!parseJson(projects.stdout).some((p) => p["Project Name"] === project)) {
    console.log(`Creating Pages project ${project} (production branch ${PRODUCTION_BRANCH})`);
    if (!run(["pages", "project", "create", project, "--production-branch", PRODUCTION_BRANCH]).ok) {
      refuse([`wrangler pages project create ${project} failed.`]);
    }
  }
}

const [command, env, project] = process.argv.slice(2);
if (command === "preflight" && env) preflight(env);
else if (command === "setup" && env) setup(env, project);
else refuse(["usage: node deploy/cloudflare.mjs preflight ENV | setup ENV PAGES_PROJECT"]);
