// Accessibility in the browser tests (issue 18): axe-core (the npm package, its
// own built file) is evaluated in the page through the DevTools protocol, which
// the site's Content-Security-Policy does not apply to, and run against WCAG 2.x
// A and AA (2.0, 2.1 and 2.2's target size). A serious or critical violation
// fails the test; `scan` runs it in light and in dark (prefers-color-scheme).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/** Every screen scanned, with what axe found at any impact (for the report). */
export const scanned = [];

/** axe's serious and critical violations on the page as it is now, one line each. */
export async function violations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const result = await page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"],
  }), TAGS);
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")} — ${n.failureSummary?.split("\n").slice(1, 2).join("").trim()}`));
}

/** Scans the page in light and in dark; fails on any serious or critical violation. */
export async function scan(page, label) {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(50);
    const found = await violations(page);
    scanned.push(`${label} (${scheme}): ${found.length}`);
    assert.deepEqual(found, [], `axe on ${label} in ${scheme}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
}
