// Debian's Chromium (/usr/bin/chromium, `make chromium`), driven by playwright-core,
// which never downloads a browser of its own. Each test file launches one
// browser; playwright gives it a fresh temporary profile (--user-data-dir) and
// each person gets an isolated context in it (own storage, like a private window).
// Screenshots go to test-results/browser/.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const shots = path.join(root, "test-results/browser");

export async function launch() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
}

/** Every Content-Security-Policy violation any person's page reported: the site's
 * policy (pages/public/_headers) must allow everything the client does, so a test
 * file asserts this stays empty. */
export const cspViolations = [];

/**
 * Reports each CSP violation in the context's pages to `sink`: the page's own
 * securitypolicyviolation events (an init script, which runs before the site's
 * scripts), and the browser's console messages about the policy.
 */
export async function watchCsp(context, sink) {
  await context.exposeBinding("__reportCspViolation", (_source, v) => { sink.push(v); });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__reportCspViolation(`${e.effectiveDirective} refused ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
    }, true);
  });
  context.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) sink.push(`console: ${m.text()}`); });
}

/** A person: a browser context of its own and one page on the site. `response`
 * is the site's answer to that first visit. */
export async function person(browser, base, { phone = false } = {}) {
  const context = await browser.newContext(phone
    ? { viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 }
    : { viewport: { width: 1100, height: 720 } });
  await watchCsp(context, cspViolations);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const response = await page.goto(base);
  return { context, page, errors, response };
}

export const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`) });
