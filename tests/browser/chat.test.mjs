// The web client in a real browser against the real stack (`wrangler dev`
// serving the built site and the API on one origin, as `make dev` does): two
// people sign up, chat in a room both ways, delete, become friends and write
// directly, block, and keep chatting across a restart of the server. Each step
// leaves a screenshot in test-results/browser/.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openSocket, post, requestFrom, startStack } from "../e2e/harness.mjs";
import { cspViolations, launch, person, shot, watchCsp } from "./browser.mjs";

const PASSWORD = "browser password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const name = (who) => `${who}${stamp}`;

let stack, browser, alice, bob;
const room = `Lobby ${stamp}`;

/** Signs up through the form, with the keyboard only. */
async function signUp(page, username, password = PASSWORD) {
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.getByLabel("Username").focus();
  await page.keyboard.press("Control+A");
  await page.keyboard.type(username);
  await page.keyboard.press("Tab");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
}

const messages = (page) => page.locator("[data-testid=message]:not([data-pending]) .body");
const bodies = (page) => messages(page).allTextContents();
const message = (page, text) => page.locator("[data-testid=message]:not([data-pending])", { has: page.locator(".body", { hasText: text }) });

async function say(page, text) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** Waits until `text` is shown, acknowledged, exactly once. */
async function seen(page, text) {
  await message(page, text).waitFor();
  assert.equal(await message(page, text).count(), 1, `"${text}" shown once`);
}

/** Alice's own socket in the room, outside the browser, joined. */
async function aliceSocket() {
  const { token } = (await post(stack.base, "/login", { username: name("alice"), password: PASSWORD })).body;
  const rooms = await (await fetch(`${stack.base}/rooms`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const id = rooms.rooms.find((r) => r.name === room).id;
  const ws = await openSocket(stack.base, token, `/rooms/${id}/ws`);
  ws.send({ type: "join_room" });
  await ws.nextOf("history");
  return ws;
}

/** Deletes a message through its menu and the confirmation (issues 16 and 18). */
async function deleteMessage(page, text) {
  await message(page, text).locator("summary.msg-menu-button").click();
  await message(page, text).getByRole("button", { name: "Delete…" }).click();
  await page.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Delete", exact: true }).click();
}

async function openRoom(page) {
  await page.getByRole("link", { name: room }).click();
  await page.getByRole("heading", { name: room }).waitFor();
  await page.locator(".messages .empty, [data-testid=message]").first().waitFor();
}

describe("the web client", { timeout: 170_000 }, () => {
  before(async () => {
    stack = await startStack({ site: true });
    browser = await launch();
  });
  after(async () => {
    for (const p of [alice, bob]) if (p) assert.deepEqual(p.errors, [], "no script errors");
    assert.deepEqual(cspViolations, [], "no Content-Security-Policy violation in any flow");
    await browser?.close();
    await stack?.stop();
  });

  it("signs up with the server's word for each refusal, and keeps the session across a reload", async () => {
    alice = await person(browser, stack.base);
    bob = await person(browser, stack.base);
    await signUp(alice.page, name("alice"), "short");
    await alice.page.getByRole("alert").filter({ hasText: "Passwords have at least 8 bytes." }).waitFor();
    await signUp(alice.page, name("alice"));
    await alice.page.getByTestId("whoami").filter({ hasText: name("alice") }).waitFor();

    await signUp(bob.page, name("alice"));
    await bob.page.getByRole("alert").filter({ hasText: "That username is taken." }).waitFor();
    await shot(bob.page, "01-signup-name-taken");
    await signUp(bob.page, name("bob"));
    await bob.page.getByTestId("whoami").filter({ hasText: name("bob") }).waitFor();

    await alice.page.reload();
    await alice.page.getByTestId("whoami").filter({ hasText: name("alice") }).waitFor();
  });

  it("serves the site with its defensive headers and a policy that refuses inline script, and the API with its own", async () => {
    const policy = (h) => new Map(h["content-security-policy"].split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    const site = await alice.response.allHeaders();
    const csp = policy(site);
    for (const [directive, sources] of Object.entries({ "default-src": ["'self'"], "script-src": ["'self'"],
      "connect-src": ["'self'"], "frame-ancestors": ["'none'"], "base-uri": ["'none'"], "object-src": ["'none'"] })) {
      assert.deepEqual(csp.get(directive), sources, directive);
    }
    assert.equal(site["x-content-type-options"], "nosniff");
    assert.equal(site["x-frame-options"], "DENY");
    assert.equal(site["referrer-policy"], "no-referrer");
    assert.match(site["permissions-policy"], /camera=\(\)/);
    for (const path of ["/account", "/no-such-file.js"]) { // the API, and its 404
      const api = await alice.page.request.get(`${stack.base}${path}`);
      assert.equal(api.headers()["x-content-type-options"], "nosniff", path);
      assert.equal(policy(api.headers()).get("default-src")?.[0], "'none'", path);
    }

    // The policy is enforced, and a violation is noticed: an inline script is
    // refused and reported (to a list of its own here; the flows' list stays empty).
    const context = await browser.newContext();
    const seen = [];
    await watchCsp(context, seen);
    const page = await context.newPage();
    await page.goto(stack.base);
    await page.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "window.inlineRan = true";
      document.body.append(s);
    });
    for (let i = 0; i < 50 && !seen.some((v) => v.startsWith("script-src")); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await page.evaluate(() => window.inlineRan), undefined, "the inline script did not run");
    assert.ok(seen.some((v) => v.startsWith("script-src")), `reported: ${JSON.stringify(seen)}`);
    await context.close();
  });

  it("says when logins are throttled and when an account is banned", async () => {
    const carol = name("carol");
    // Carol signs up from another address, so banning her addresses bans only hers.
    assert.equal((await requestFrom("127.0.0.7", stack.base, "POST", "/signup", { username: carol, password: PASSWORD })).status, 201);
    const dave = name("dave");
    await post(stack.base, "/signup", { username: dave, password: PASSWORD });
    for (let i = 0; i < 10; i++) await post(stack.base, "/login", { username: dave, password: "wrong password" });
    const page = (await person(browser, stack.base)).page;
    await page.getByLabel("Username").fill(dave);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: /Too many failed logins; try again later \(in about \d+ minutes\)\./ }).waitFor();
    await shot(page, "02-login-throttled");
    await page.context().close();
  });

  it("creates a room, and both people chat in it both ways, with message text shown as text", async () => {
    await alice.page.getByLabel("New room name").fill(room);
    await alice.page.getByRole("button", { name: "Create" }).click();
    await alice.page.getByRole("heading", { name: room }).waitFor();
    await alice.page.getByText("No messages yet").waitFor();

    await bob.page.reload(); // the room list is not live: it refreshes on load, focus and every 15 s
    await openRoom(bob.page);

    await say(alice.page, "hello bob");
    await seen(alice.page, "hello bob");
    await seen(bob.page, "hello bob");
    const html = `<b>bold</b> <img src=x onerror="window.pwned=1"> & "quotes"`;
    await say(bob.page, html);
    await seen(bob.page, html);
    await seen(alice.page, html);
    assert.equal(await alice.page.locator(".messages b, .messages img").count(), 0, "no markup from a message");
    assert.equal(await alice.page.evaluate(() => window.pwned), undefined);
    await say(bob.page, "multi\nline");
    await seen(alice.page, "multi");
    assert.deepEqual(await bodies(alice.page), ["hello bob", html, "multi\nline"]);
    await shot(alice.page, "03-room-alice");
  });

  it("deletes a message, and it vanishes for the other person", async () => {
    await say(alice.page, "to be deleted");
    await seen(bob.page, "to be deleted");
    await message(bob.page, "to be deleted").locator("summary.msg-menu-button").click();
    await message(bob.page, "to be deleted").getByRole("button", { name: "Reply" }).waitFor();
    assert.equal(await message(bob.page, "to be deleted").getByRole("button", { name: /Delete/ }).count(), 0,
      "no delete button on someone else's message");
    await bob.page.keyboard.press("Escape");
    await deleteMessage(alice.page, "to be deleted");
    await message(bob.page, "to be deleted").waitFor({ state: "detached" });
    await message(alice.page, "to be deleted").waitFor({ state: "detached" });
    await shot(bob.page, "04-room-bob-after-delete");
  });

  it("shows a burst of messages (a busy room's batch frames) once each, in order", async () => {
    // 15 messages sent at once from another client: the room coalesces them.
    const ws = await aliceSocket();
    for (let i = 1; i <= 15; i++) ws.send({ type: "new_chat_message", body: `burst ${i}`, client_id: `burst-${i}` });
    for (let i = 1; i <= 15; i++) await ws.nextOf("new_chat_message");
    ws.ws.close();
    await seen(bob.page, "burst 15");
    const all = await bodies(bob.page);
    const burst = all.filter((b) => b.startsWith("burst "));
    assert.deepEqual(burst, Array.from({ length: 15 }, (_, i) => `burst ${i + 1}`));
    await shot(bob.page, "04b-room-bob-after-burst");
    await new Promise((r) => setTimeout(r, 4000)); // alice's rate-limit bucket refills
  });

  it("loads older history on scroll", async () => {
    // 55 messages through the API (more than a page of 50), then a fresh view.
    const ws = await aliceSocket();
    for (let i = 1; i <= 55; i++) {
      ws.send({ type: "new_chat_message", body: `bulk ${i}`, client_id: `bulk-${i}` });
      await ws.nextOf("new_chat_message");
      if (i % 15 === 0) await new Promise((r) => setTimeout(r, 3000)); // within the rate limit
    }
    ws.ws.close();
    await seen(bob.page, "bulk 55");
    await bob.page.reload();
    await seen(bob.page, "bulk 55");
    assert.equal(await messages(bob.page).count(), 50, "one page at first");
    await bob.page.locator("[data-testid=messages]").evaluate((el) => { el.scrollTop = 0; });
    await seen(bob.page, "hello bob");
    const all = await bodies(bob.page);
    assert.equal(all.length, 73);
    assert.equal(new Set(all).size, all.length, "nothing twice");
  });

  it("sends a friend request that is accepted live, and delivers a DM live with an unread count", async () => {
    await alice.page.getByRole("link", { name: "Friends" }).click();
    await alice.page.getByLabel("Add a friend by username").fill(name("bob"));
    await alice.page.getByRole("button", { name: "Send request" }).click();
    await alice.page.getByRole("list", { name: "Requests you sent" }).getByText(name("bob")).waitFor();

    await bob.page.getByText(`${name("alice")} sent you a friend request.`).waitFor();
    await bob.page.getByRole("link", { name: /Friends/ }).click();
    const incoming = bob.page.getByRole("list", { name: "Requests for you" });
    await incoming.getByText(name("alice")).waitFor();
    await shot(bob.page, "05-friends-request");
    await incoming.getByRole("button", { name: "Accept" }).click();
    await bob.page.getByRole("list", { name: "Friends" }).getByText(name("alice")).waitFor();

    await alice.page.getByText(`${name("bob")} accepted your friend request.`).waitFor();
    const friends = alice.page.getByRole("list", { name: "Friends" });
    await friends.getByText(name("bob")).waitFor();
    await friends.getByRole("button", { name: "Message" }).click();
    await alice.page.getByRole("heading", { name: `Direct messages with ${name("bob")}` }).waitFor();
    await say(alice.page, "psst, bob");
    await seen(alice.page, "psst, bob");

    // Bob is on the Friends page: the conversation shows up with one unread message.
    const link = bob.page.getByRole("navigation").getByRole("link", { name: new RegExp(name("alice")) });
    await link.getByTestId("unread").filter({ hasText: "1" }).waitFor();
    await shot(bob.page, "06-dm-unread");
    await link.click();
    await seen(bob.page, "psst, bob");
    await link.getByTestId("unread").waitFor({ state: "detached" });
    await say(bob.page, "hi alice, privately");
    await seen(alice.page, "hi alice, privately");
    await shot(alice.page, "07-dm-alice");
  });

  it("blocks from a name: the blocked person's messages vanish live", async () => {
    for (const p of [alice.page, bob.page]) await openRoom(p);
    await say(bob.page, "you will not see this soon");
    await seen(alice.page, "you will not see this soon");
    await alice.page.locator(".messages summary", { hasText: name("bob") }).first().click();
    await alice.page.getByRole("button", { name: "Block" }).click();
    await message(alice.page, "you will not see this soon").waitFor({ state: "detached" });
    await seen(alice.page, "bulk 55"); // her own messages stay
    await say(bob.page, "said while blocked");
    await say(alice.page, "alice after the block");
    await seen(alice.page, "alice after the block");
    await seen(bob.page, "said while blocked");
    assert.equal(await message(alice.page, "said while blocked").count(), 0);
    assert.equal(await alice.page.locator(".messages .name", { hasText: name("bob") }).count(), 0);
    await shot(alice.page, "08-room-alice-blocks-bob");

    await alice.page.getByRole("link", { name: /Friends/ }).click();
    await alice.page.getByRole("list", { name: "Blocked" }).getByRole("button", { name: "Unblock" }).click();
    await alice.page.getByText("Nobody.").waitFor();
    await openRoom(alice.page);
    await seen(alice.page, "said while blocked");
  });

  it("reconnects after the server restarts: messages typed meanwhile are sent once, nothing is lost or doubled", async () => {
    for (const p of [alice.page, bob.page]) await openRoom(p);
    await say(alice.page, "before the restart");
    await seen(bob.page, "before the restart");

    const restarted = stack.restart();
    await alice.page.getByTestId("reconnecting").waitFor({ timeout: 20_000 });
    await say(alice.page, "typed while offline");
    await alice.page.locator("[data-pending]", { hasText: "typed while offline" }).waitFor();
    await shot(alice.page, "09-reconnecting");
    await restarted;

    await seen(alice.page, "typed while offline");
    await seen(bob.page, "typed while offline");
    await alice.page.getByTestId("reconnecting").waitFor({ state: "detached", timeout: 20_000 });
    await say(bob.page, "after the restart");
    await seen(alice.page, "after the restart");
    for (const p of [alice.page, bob.page]) {
      const all = await bodies(p);
      assert.equal(new Set(all).size, all.length, `nothing twice: ${all}`);
      assert.equal(await p.locator("[data-pending]").count(), 0, "nothing left pending");
    }
    await shot(alice.page, "10-after-restart");
  });

  it("gives an ADMIN a moderation view: ban with the addresses, the audit trail, unban", async () => {
    // The first ADMIN comes from `make admin` (a D1 write), and promotes Alice in
    // the app: a promotion reaches her next socket at once (the Worker forgets the
    // session it keeps for sockets; one `make admin` wrote reaches sockets within
    // LIMITS.sessionCacheMs, README).
    const op = await post(stack.base, "/signup", { username: name("op"), password: PASSWORD });
    assert.equal(op.status, 201);
    stack.makeAdmin(name("op"));
    const promoted = await post(stack.base, "/users/promote", { username: name("alice") }, { Authorization: `Bearer ${op.body.token}` });
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    await alice.page.reload(); // the role is read again from /account, and her sockets open again
    await alice.page.getByRole("link", { name: "Moderation" }).click();
    await alice.page.getByLabel("Username").fill(name("carol"));
    await alice.page.getByLabel("Reason (optional)").fill("spam");
    await alice.page.getByLabel("Also ban every address").check();
    await alice.page.getByRole("button", { name: "Ban", exact: true }).click();
    await alice.page.getByText(`${name("carol")} is banned, with their addresses.`).waitFor();
    const bans = alice.page.getByRole("list", { name: "Bans in force" });
    await bans.getByText(name("carol")).waitFor();
    await alice.page.getByRole("table", { name: "Audit trail" }).getByText("ban + IP").waitFor();
    await shot(alice.page, "11-moderation");

    // Carol, from the browser's address (not banned): her account is.
    const page = (await person(browser, stack.base)).page;
    await page.getByLabel("Username").fill(name("carol"));
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "This account is banned." }).waitFor();
    await page.context().close();

    await bans.getByRole("button", { name: "Unban" }).click();
    await alice.page.getByText("Nobody is banned.").waitFor();
    // An ADMIN may delete anyone's message.
    await openRoom(alice.page);
    await deleteMessage(alice.page, "after the restart");
    await message(bob.page, "after the restart").waitFor({ state: "detached" });
  });

  it("fits a phone-sized screen: the list, then the open room", async () => {
    const phone = await person(browser, stack.base, { phone: true });
    await phone.page.getByLabel("Username").fill(name("bob"));
    await phone.page.getByLabel("Password").fill(PASSWORD);
    await phone.page.getByRole("button", { name: "Log in" }).click();
    await phone.page.getByRole("link", { name: room }).waitFor();
    await shot(phone.page, "12-phone-list");
    await openRoom(phone.page);
    await seen(phone.page, "typed while offline");
    assert.equal(await phone.page.getByRole("navigation").isVisible(), false, "one column at a time");
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no sideways scrolling (${width}px)`);
    await shot(phone.page, "13-phone-room");
    await phone.page.getByRole("button", { name: "Log out" }).click();
    await phone.page.getByRole("button", { name: "Log in" }).waitFor();
    assert.deepEqual(phone.errors, []);
    await phone.context.close();
  });
});
