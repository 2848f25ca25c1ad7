// The account page in a real browser against the real stack (issue 20): Alice,
// logged in twice, sets a display name that Bob sees in the room, logs her other
// browser out from the sessions list, changes her password (which logs the other
// browser out again), exports her data, and deletes her account: Bob sees
// "deleted account" where her message was. Screenshots in test-results/browser/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startStack } from "../e2e/harness.mjs";
import { cspViolations, launch, person, shot } from "./browser.mjs";

const PASSWORD = "browser password";
const NEW_PASSWORD = "a brand new password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const alice = `alice${stamp}`;
const bobName = `bob${stamp}`;
const room = `Account room ${stamp}`;

let stack, browser, a1, a2, bob;

async function enter(page, tab, username, password) {
  await page.getByRole("tab", { name: tab }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("Password").press("Enter");
  await page.getByTestId("whoami").filter({ hasText: username }).waitFor();
}

/** The page was signed out: the login form is back. */
const signedOut = (page) => page.getByRole("tab", { name: "Log in" }).waitFor({ timeout: 5000 });

async function openAccount(page) {
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
}

describe("the account page", { timeout: 170_000 }, () => {
  before(async () => {
    stack = await startStack({ site: true });
    browser = await launch();
    [a1, a2, bob] = [await person(browser, stack.base), await person(browser, stack.base), await person(browser, stack.base)];
    await enter(a1.page, "Sign up", alice, PASSWORD);
    await enter(bob.page, "Sign up", bobName, PASSWORD);
    await enter(a2.page, "Log in", alice, PASSWORD);
    // Alice writes in a room that Bob reads.
    await a1.page.getByLabel("New room name").fill(room);
    await a1.page.getByLabel("New room name").press("Enter");
    await a1.page.getByRole("heading", { name: room }).waitFor();
    await a1.page.getByRole("textbox", { name: "Message", exact: true }).fill("hello from alice");
    await a1.page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
    await a1.page.locator("[data-testid=message]:not([data-pending]) .body", { hasText: "hello from alice" }).waitFor();
    await bob.page.reload();
    await bob.page.getByRole("link", { name: room }).click();
    await bob.page.locator("[data-testid=message] .body", { hasText: "hello from alice" }).waitFor();
  });
  after(async () => {
    for (const p of [a1, a2, bob]) if (p) assert.deepEqual(p.errors, [], "no script errors");
    assert.deepEqual(cspViolations, [], "no Content-Security-Policy violation");
    await browser?.close();
    await stack?.stop();
  });

  it("sets a display name, and Bob sees it beside her username at once", async () => {
    await openAccount(a1.page);
    await a1.page.getByLabel("Display name").fill("Alice Liddell");
    await a1.page.getByRole("button", { name: "Save" }).click();
    await a1.page.getByRole("status").filter({ hasText: "You appear as Alice Liddell." }).waitFor();
    const meta = bob.page.locator("[data-testid=message]", { hasText: "hello from alice" }).locator(".meta");
    await meta.locator(".display-name", { hasText: "Alice Liddell" }).waitFor();
    assert.match(await meta.textContent(), new RegExp(`AL.*Alice Liddell.*@${alice}`));
    await shot(bob.page, "account-01-display-name-seen");
    // A refused name is refused with the server's words.
    await a1.page.getByLabel("Display name").fill("evil\u202Eeman");
    await a1.page.getByRole("button", { name: "Save" }).click();
    await a1.page.getByRole("alert").filter({ hasText: "bidirectional-override" }).waitFor();
  });

  it("lists sessions and logs out the other browser", async () => {
    await a1.page.reload();
    await a1.page.getByRole("heading", { name: "Account", exact: true }).waitFor();
    const sessions = a1.page.getByTestId("session");
    await sessions.nth(1).waitFor();
    assert.equal(await sessions.count(), 2);
    await shot(a1.page, "account-02-sessions");
    await a1.page.locator("[data-testid=session][data-current=false]").getByRole("button", { name: /Log out session/ }).click();
    await a1.page.getByRole("status").filter({ hasText: "That session was logged out." }).waitFor();
    await signedOut(a2.page);
    assert.equal(await sessions.count(), 1);
  });

  it("changes the password, and the other logged-in browser is logged out", async () => {
    await enter(a2.page, "Log in", alice, PASSWORD);
    await a1.page.getByLabel("Current password").fill("not my password");
    await a1.page.getByLabel("New password").fill(NEW_PASSWORD);
    await a1.page.getByRole("button", { name: "Change password" }).click();
    await a1.page.getByRole("alert").filter({ hasText: "The current password is not right." }).waitFor();
    await a1.page.getByLabel("Current password").fill(PASSWORD);
    await a1.page.getByLabel("New password").fill(NEW_PASSWORD);
    await a1.page.getByRole("button", { name: "Change password" }).click();
    await a1.page.getByRole("status").filter({ hasText: "Password changed. 1 other session was logged out." }).waitFor();
    await signedOut(a2.page);
    await a2.page.getByRole("status").filter({ hasText: "Your session ended" }).waitFor();
    await shot(a2.page, "account-03-logged-out-by-password-change");
  });

  it("exports her data", async () => {
    await a1.page.getByRole("button", { name: "Export my data" }).click();
    await a1.page.getByRole("status").filter({ hasText: "Your export is ready: 1 message." }).waitFor();
    const href = await a1.page.getByRole("link", { name: "Save chat-export.json" }).getAttribute("href");
    assert.match(href, /^blob:/);
  });

  it("deletes the account, and Bob sees \"deleted account\" where her message was", async () => {
    await a1.page.locator("#delete-h ~ form").getByLabel("Password").fill(NEW_PASSWORD);
    await a1.page.getByRole("button", { name: "Delete my account" }).click();
    await a1.page.getByRole("status").filter({ hasText: "Your account was deleted." }).waitFor();
    await bob.page.locator("[data-testid=message] .tombstone", { hasText: "deleted account" }).waitFor();
    assert.equal(await bob.page.locator("[data-testid=message] .body", { hasText: "hello from alice" }).count(), 0);
    await shot(bob.page, "account-04-deleted-account");
    // After a reload the message is gone for good; the name cannot be used to log in.
    await bob.page.reload();
    await bob.page.getByRole("link", { name: room }).click();
    await bob.page.locator(".messages .empty").waitFor();
    await enter(a2.page, "Log in", alice, NEW_PASSWORD).then(() => assert.fail("logged in"), () => {});
    await a2.page.getByRole("alert").waitFor();
  });
});
