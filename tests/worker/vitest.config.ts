// Integration tests inside the real Workers runtime (workerd, through
// @cloudflare/vitest-plugin): the Worker, its Durable Objects, local D1 with the
// migrations applied, and the Wasm core, configured from wrangler.toml.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(here, "../../migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: path.join(here, "../../wrangler.toml") },
        miniflare: {
          // every test client is one address: rate budgets (wasm/budget.h) raised 1000-fold
          bindings: { TEST_MIGRATIONS: migrations, CHAT_TEST_HOOKS: "1", CHAT_BUDGET_SCALE: "1000" },
        },
      }),
    ],
    test: {
      root: here,
      include: ["*.test.ts"],
      setupFiles: ["./apply-migrations.ts"],
      // A Durable Object may still be telling a UserHub that a socket closed when a
      // test file ends and the runtime is torn down under it; that one error says
      // nothing about the code under test. Every other unhandled error fails the run.
      onUnhandledError(error: { name?: string }) {
        if (error.name === "EnvironmentTeardownError") return false;
      },
    },
  };
});
