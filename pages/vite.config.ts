// The web client, built into pages/dist for Cloudflare Pages (`make site`).
// It imports the protocol from worker/generated/core.ts (made by `make build`),
// one directory above this root.
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  oxc: { jsx: { runtime: "automatic" } },
});
