// Search in the web client (issue 17), in a real browser against the real stack:
// a room's search box finds a message with its match highlighted as <mark> (a
// marker in a message's own text is not one), a result opens the history around it
// with the focus on it, Esc closes; the search across rooms on the home screen opens
// the room at the result. axe finds nothing serious on the results and the context.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startStack } from "../e2e/harness.mjs";
import { scan } from "./a11y.mjs";
import { cspViolations, launch, person, shot } from "./browser.mjs";

const PASSWORD = "browser password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const room = `Finds ${stamp}`;

let stack, browser, alice;

async function say(page, text, shown = text) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(text);
  await box.press("Enter");
  await page.locator("[data-testid=message]:not([data-pending]) .body", { hasText: shown }).last().waitFor();
}

describe("search in the web client", { timeout: 120_000 }, () => {
  before(async () => {
    stack = await startStack({ site: true });
    browser = await launch();
  });
  after(async () => {
    if (alice) assert.deepEqual(alice.errors, [], "no script errors");
    assert.deepEqual(cspViolations, [], "no Content-Security-Policy violation");
    await browser?.close();
    await stack?.stop();
  });

  it("finds a message in a room, highlights the match, and jumps to it in context", async () => {
    alice = await person(browser, stack.base);
    const { page } = alice;
    await page.getByRole("tab", { name: "Sign up" }).click();
    await page.getByLabel("Username").fill(`finder${stamp}`);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByLabel("Password").press("Enter");
    await page.getByTestId("whoami").waitFor();
    await page.getByLabel("New room name").fill(room);
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { name: room }).waitFor();

    await say(page, "the walrus arrives at noon");
    for (let i = 0; i < 12; i++) await say(page, `filler message ${i}`);
    await say(page, "a fake \u0002mark\u0003 and the walrus leaves", "and the walrus leaves");

    const box = page.getByRole("searchbox", { name: "Search this room" });
    await box.fill("walrus");
    await box.press("Enter");
    const results = page.getByRole("list", { name: "Results for walrus" });
    await results.waitFor();
    const items = results.getByTestId("search-result");
    assert.equal(await items.count(), 2);
    // newest first; only the index's matches are <mark>, never the message's own markers
    assert.deepEqual(await items.nth(0).locator("mark").allTextContents(), ["walrus"]);
    assert.equal(await items.nth(0).locator(".snippet").textContent(), "a fake mark and the walrus leaves");
    await page.getByRole("status").filter({ hasText: "2 messages match" }).waitFor();
    await scan(page, "search results");
    await shot(page, "search-01-results");

    // the older one, by keyboard: its page of history, it in view and focused
    await items.nth(1).focus();
    await page.keyboard.press("Enter");
    const context = page.getByTestId("search-context");
    await context.waitFor();
    const target = context.locator("[aria-current=true]");
    await target.filter({ hasText: "the walrus arrives at noon" }).waitFor();
    assert.equal(await target.evaluate((el) => el === document.activeElement), true);
    assert.ok((await context.locator("li.message").count()) > 1, "the messages around it are shown");
    await scan(page, "search context");
    await shot(page, "search-02-context");
    await page.keyboard.press("Escape");
    await context.waitFor({ state: "detached" });
    assert.equal(await box.evaluate((el) => el === document.activeElement), true);

    // a malformed query is told, not a failure
    await box.fill('"unclosed');
    await box.press("Enter");
    await page.getByRole("alert").filter({ hasText: "Invalid query" }).waitFor();
  });

  it("searches all my rooms from the home screen and opens the room at the result", async () => {
    const { page } = alice;
    await page.goto(`${stack.base}/#/`);
    const box = page.getByRole("searchbox", { name: "Search all my rooms and conversations" });
    await box.fill("noon");
    await box.press("Enter");
    const result = page.getByRole("list", { name: "Results for noon" }).getByTestId("search-result");
    await result.filter({ hasText: `in ${room}` }).waitFor();
    assert.deepEqual(await result.locator("mark").allTextContents(), ["noon"]);
    await result.click();
    await page.getByRole("heading", { name: room }).waitFor();
    await page.getByTestId("search-context").locator("[aria-current=true]").filter({ hasText: "at noon" }).waitFor();
    await shot(page, "search-03-from-home");
  });
});
