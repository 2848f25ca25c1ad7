// The web client as people expect it (issue 18), in a real browser against the
// real stack: one test per defect the issue lists (named "defect N"), and axe-core
// on every screen, light and dark, desktop and phone (a serious or critical
// violation fails). Screenshots go to test-results/browser/exp-*.png.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { post, startStack } from "../e2e/harness.mjs";
import { scan, scanned } from "./a11y.mjs";
import { cspViolations, launch, person, shot } from "./browser.mjs";

const PASSWORD = "browser password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const name = (who) => `${who}${stamp}`;
const room = `Plaza ${stamp}`;

let stack, browser, alice, bob;
const people = [];

async function signUp(page, username) {
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Password").press("Enter");
  await page.getByTestId("whoami").filter({ hasText: username }).waitFor();
}
async function logIn(page, username) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Password").press("Enter");
  await page.getByTestId("whoami").filter({ hasText: username }).waitFor();
}
const box = (page) => page.getByRole("textbox", { name: "Message", exact: true });
const message = (page, text) => page.locator("[data-testid=message]:not([data-pending])", { has: page.locator(".body", { hasText: text }) });
async function say(page, text) {
  await box(page).fill(text);
  await box(page).press("Enter");
  await message(page, text).first().waitFor();
}
async function openRoom(page, r = room) {
  await page.getByRole("link", { name: r }).first().click();
  await page.getByRole("heading", { level: 1, name: r }).waitFor();
  await page.locator(".messages .empty, [data-testid=message]").first().waitFor();
}
async function tokenOf(username) {
  return (await post(stack.base, "/login", { username, password: PASSWORD })).body.token;
}
async function apiAs(token, method, route, body) {
  const res = await fetch(`${stack.base}${route}`, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
const rect = (loc) => loc.boundingBox();

describe("the web client as people expect it (issue 18)", { timeout: 300_000 }, () => {
  before(async () => {
    stack = await startStack({ site: true });
    browser = await launch();
  });
  after(async () => {
    for (const p of people) assert.deepEqual(p.errors, [], "no script errors");
    assert.deepEqual(cspViolations, [], "no Content-Security-Policy violation");
    console.log(`# axe screens scanned (serious+critical violations):\n# ${scanned.join("\n# ")}`);
    await browser?.close();
    await stack?.stop();
  });

  it("defect 13: the password rule says bytes in the hint, is checked before sending, and marks the field; axe on the sign-up screen", async () => {
    alice = await person(browser, stack.base);
    people.push(alice);
    const page = alice.page;
    await scan(page, "log in");
    await page.getByRole("tab", { name: "Sign up" }).click();
    const hint = page.locator("#password-hint");
    assert.match(await hint.textContent(), /At least 8 bytes/);
    const password = page.getByLabel("Password");
    assert.match(await password.getAttribute("aria-describedby"), /password-hint/);
    const sent = [];
    page.on("request", (r) => { if (r.url().endsWith("/signup")) sent.push(r.url()); });
    await page.getByLabel("Username").fill(name("alice"));
    await password.fill("short");
    await password.press("Enter");
    await page.getByRole("alert").filter({ hasText: "Passwords have at least 8 bytes." }).waitFor();
    assert.equal(await password.getAttribute("aria-invalid"), "true");
    assert.match(await password.getAttribute("aria-describedby"), /auth-error/);
    assert.deepEqual(sent, [], "refused before sending");
    // "ééééé" is 5 characters but 10 bytes, "ééé" 3 but 6: the server's rule
    await password.fill("ééé");
    await password.press("Enter");
    await page.getByRole("alert").filter({ hasText: "8 bytes" }).waitFor();
    assert.deepEqual(sent, []);
    await shot(page, "exp-13-password-bytes");
    await scan(page, "sign up with an error");
    await password.fill(PASSWORD);
    await password.press("Enter");
    await page.getByTestId("whoami").filter({ hasText: name("alice") }).waitFor();
    bob = await person(browser, stack.base);
    people.push(bob);
    await signUp(bob.page, name("bob"));
  });

  it("a11y: after login there is one level-one heading, a skip link, and axe finds nothing serious", async () => {
    const page = alice.page;
    assert.equal(await page.getByRole("heading", { level: 1 }).count(), 1);
    await scan(page, "home");
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: /Skip to/ });
    assert.ok(await skip.evaluate((el) => el === document.activeElement), "the skip link comes first");
    await shot(page, "exp-a11y-skip-link");
  });

  it("defect 10: an error line goes away when it stops applying", async () => {
    const page = alice.page;
    await page.getByLabel("New room name").fill("x".repeat(70));
    await page.getByRole("button", { name: "Create" }).click();
    const error = page.getByRole("alert").filter({ hasText: "Room names have at most 64 characters." });
    await error.waitFor();
    assert.equal(await page.getByLabel("New room name").getAttribute("aria-invalid"), "true");
    await shot(page, "exp-10-error-shown");
    await page.getByRole("link", { name: "Friends", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Friends" }).waitFor();
    assert.equal(await error.count(), 0, "gone on the next page");
    await scan(page, "friends");
    await shot(page, "exp-10-error-gone");
  });

  it("opening a room puts the focus in the message box; the list is a polite live region; the tab title names the room", async () => {
    const page = alice.page;
    await page.getByLabel("New room name").fill(room);
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { level: 1, name: room }).waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === "Message");
    assert.equal(await page.getByTestId("messages").getAttribute("aria-live"), "polite");
    await page.waitForFunction((r) => document.title === `${r} · Edge chat`, room);
    await say(page, "hello plaza");
    await bob.page.reload();
    await openRoom(bob.page);
    await message(bob.page, "hello plaza").waitFor();
    await scan(page, "room");
  });

  it("defect 2: a room that does not exist says so, with the way back and no message box", async () => {
    const page = bob.page;
    await page.goto(`${stack.base}/#/room/999999`);
    const missing = page.getByTestId("room-missing");
    await missing.waitFor({ timeout: 10_000 });
    await page.getByRole("heading", { level: 1, name: "This room does not exist" }).waitFor();
    assert.equal(await box(page).count(), 0, "no message box");
    assert.equal(await page.getByTestId("reconnecting").count(), 0, "not reconnecting");
    await page.getByRole("link", { name: "Back to your rooms and conversations" }).waitFor();
    await shot(page, "exp-02-room-missing");
    await scan(page, "unknown room");
  });

  it("defect 7: an over-long message is not sent: the text stays, and the box says by how much it is over", async () => {
    const page = alice.page;
    const long = "a".repeat(4100);
    await box(page).fill(long);
    await page.getByTestId("count").filter({ hasText: "4100/4000" }).waitFor();
    await box(page).press("Enter");
    await page.getByTestId("composer-problem").filter({ hasText: "Shorten it by 100" }).waitFor();
    assert.equal(await box(page).inputValue(), long, "the text is kept");
    assert.equal(await box(page).getAttribute("aria-invalid"), "true");
    assert.equal(await page.locator("[data-pending]").count(), 0, "nothing sent");
    await shot(page, "exp-07-over-long");
    await scan(page, "over-long message");
    await box(page).fill("");
    await page.getByTestId("composer-problem").waitFor({ state: "detached" });
  });
});
