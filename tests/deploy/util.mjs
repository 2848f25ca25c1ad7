// Shared by the deploy checks: the repository root, wrangler.toml as wrangler
// reads it, and an environment for child processes that holds no Cloudflare
// credentials at all, so no test here can ever reach an account.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const configPath = path.join(root, "wrangler.toml");

/** wrangler.toml as written (environments under `env`). */
export const rawConfig = () => experimental_readRawConfig({ config: configPath }).rawConfig;

/** The deployed environments: every [env.*] of wrangler.toml. */
export const environments = () => Object.keys(rawConfig().env ?? {});

/** The configuration wrangler uses for `--env env` (undefined: the top level). */
export const configFor = (env) => unstable_readConfig({ config: configPath, env }, { hideWarnings: true });

// An empty HOME for child processes, removed when this test process ends.
let home;
function emptyHome() {
  if (!home) {
    home = mkdtempSync(path.join(os.tmpdir(), "chat-deploy-home-"));
    process.on("exit", () => rmSync(home, { recursive: true, force: true }));
  }
  return home;
}

/** process.env without Cloudflare credentials or the calling make's flags, with
 * an empty HOME (wrangler keeps its OAuth login under HOME). */
export function offlineEnv(extra = {}) {
  const home = emptyHome();
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}`,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    NO_COLOR: "1",
    ...extra,
  };
  for (const name of Object.keys(env)) {
    if (/^(CLOUDFLARE_API|CLOUDFLARE_ACCOUNT|CLOUDFLARE_EMAIL|CF_API)/.test(name) && !(name in extra)) delete env[name];
  }
  for (const name of ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ENV"]) delete env[name];
  return env;
}
