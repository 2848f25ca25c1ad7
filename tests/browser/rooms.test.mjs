// Rooms people live in (issue 15), in a real browser against the real stack:
// Alice makes a private room and invites Bob, who sees the invitation live and
// joins; Carol cannot find it. Away from the room, Bob sees unread and mention
// badges and the tab title change live, and a desktop notification while the tab
// is hidden; opening the room shows the "new messages" divider and the mention
// highlighted, and clears the badges. Typing is shown and cleared, and who is
// online. Each step leaves a screenshot in test-results/browser/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startStack } from "../e2e/harness.mjs";
import { cspViolations, launch, person, shot } from "./browser.mjs";

const PASSWORD = "browser password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const name = (who) => `${who}${stamp}`;
const room = `Den ${stamp}`;

let stack, browser, alice, bob, carol;

async function signUp(page, username) {
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Password").press("Enter");
  await page.getByTestId("whoami").filter({ hasText: username }).waitFor();
}

async function say(page, text) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(text);
  await box.press("Enter");
  await page.locator("[data-testid=message]:not([data-pending]) .body", { hasText: text }).waitFor();
}

const myRoom = (page) => page.getByRole("list", { name: "My rooms" }).getByTestId("my-room").filter({ hasText: room });

describe("rooms people live in", { timeout: 170_000 }, () => {
  before(async () => {
    stack = await startStack({ site: true });
    browser = await launch();
  });
  after(async () => {
    for (const p of [alice, bob, carol]) if (p) assert.deepEqual(p.errors, [], "no script errors");
    assert.deepEqual(cspViolations, [], "no Content-Security-Policy violation in any flow");
    await browser?.close();
    await stack?.stop();
  });

  it("makes a private room, invites a friend live, and hides it from others", async () => {
    alice = await person(browser, stack.base);
    bob = await person(browser, stack.base);
    carol = await person(browser, stack.base);
    // Bob's notifications: granted, recorded, and the tab's visibility under the test's control
    await bob.context.addInitScript(() => {
      window.__notes = [];
      window.__hidden = false;
      Object.defineProperty(document, "hidden", { get: () => window.__hidden });
      window.Notification = class {
        static permission = "granted";
        static requestPermission() { return Promise.resolve("granted"); }
        constructor(title, options) { window.__notes.push([title, options?.body]); }
      };
    });
    await bob.page.reload();
    await signUp(alice.page, name("alice"));
    await signUp(bob.page, name("bob"));
    await signUp(carol.page, name("carol"));

    await alice.page.getByLabel("New room name").fill(room);
    await alice.page.getByLabel("Private").check();
    await alice.page.getByRole("button", { name: "Create" }).click();
    await alice.page.getByRole("heading", { name: room }).waitFor();
    await alice.page.getByTestId("private").waitFor();
    await alice.page.getByLabel("Invite by username").fill(name("bob"));
    await alice.page.getByRole("button", { name: "Invite", exact: true }).click();
    await alice.page.getByRole("status").filter({ hasText: "is invited" }).waitFor();
    await shot(alice.page, "20-private-room-invite");

    // Bob: the invitation arrives live (a toast and the room in his list)
    await bob.page.getByRole("status").filter({ hasText: `invited you to ${room}` }).waitFor();
    await myRoom(bob.page).getByText("invited").waitFor();
    await shot(bob.page, "21-invitation-live");

    // Carol: the directory does not show it, even searched for
    await carol.page.getByLabel("Search rooms").fill(room.slice(0, 6));
    await carol.page.getByText("No room starts with that.").waitFor();
    assert.equal(await carol.page.getByRole("link", { name: room }).count(), 0);
    await shot(carol.page, "22-private-room-invisible");

    await myRoom(bob.page).getByRole("button", { name: `Join ${room}` }).click();
    await bob.page.getByRole("heading", { name: room }).waitFor();
    await bob.page.getByText("No messages yet").waitFor();
  });

  it("counts unread messages and mentions live, notifies when hidden, and shows where the new ones begin", async () => {
    await say(alice.page, "before you looked");
    await bob.page.locator("[data-testid=message] .body", { hasText: "before you looked" }).waitFor();
    await bob.page.goto(`${stack.base}/#/`); // away from the room
    await bob.page.evaluate(() => { window.__hidden = true; });
    await say(alice.page, `hey @${name("bob").toUpperCase()}, look at this`);
    await say(alice.page, "and one more");
    await myRoom(bob.page).getByTestId("room-unread").filter({ hasText: "2" }).waitFor();
    await myRoom(bob.page).getByTestId("room-mentions").filter({ hasText: "@1" }).waitFor();
    await bob.page.waitForFunction(() => document.title === "(2) Edge chat");
    await bob.page.waitForFunction(() => window.__notes.length > 0);
    const notes = await bob.page.evaluate(() => window.__notes);
    assert.ok(notes.some(([title]) => title === `${name("alice")} mentioned you`), JSON.stringify(notes));
    await shot(bob.page, "23-unread-and-mention-badges");

    await bob.page.evaluate(() => { window.__hidden = false; });
    await myRoom(bob.page).getByRole("link").click();
    await bob.page.getByTestId("new-messages").waitFor();
    const after = await bob.page.locator("[data-testid=new-messages] + [data-testid=message] .body").textContent();
    assert.match(after, /look at this/);
    await bob.page.locator("[data-testid=message].mention", { hasText: "look at this" }).waitFor();
    assert.equal(await bob.page.locator("[data-testid=message].mention").count(), 1);
    await bob.page.getByTestId("presence-dot").first().waitFor(); // Alice, the author, is online
    // reading it clears the badges and the title
    await myRoom(bob.page).getByTestId("room-unread").waitFor({ state: "detached" });
    await myRoom(bob.page).getByTestId("room-mentions").waitFor({ state: "detached" });
    await bob.page.waitForFunction((r) => document.title === `${r} · Edge chat`, room); // the room, nothing unread
    await shot(bob.page, "24-new-messages-divider-and-mention");
  });

  it("shows who is online and who is typing, and clears it", async () => {
    await alice.page.getByTestId("online").filter({ hasText: "2 online" }).waitFor();
    await bob.page.getByRole("textbox", { name: "Message", exact: true }).pressSequentially("typing some");
    await alice.page.getByTestId("typing").filter({ hasText: `${name("bob")} is typing…` }).waitFor();
    await shot(alice.page, "25-typing-and-online");
    await bob.page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
    await alice.page.locator("[data-testid=message] .body", { hasText: "typing some" }).waitFor();
    await alice.page.getByTestId("typing").filter({ hasText: /^$/ }).waitFor();
    // Bob leaves the room's page: Alice sees one person online
    await bob.page.goto(`${stack.base}/#/`);
    await alice.page.getByTestId("online").filter({ hasText: "1 online" }).waitFor();
  });
});
