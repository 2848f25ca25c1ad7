// The web client through the production topology (`make dev-pages`): the site on
// `wrangler pages dev` with its Pages Function, whose service binding reaches the
// Worker that `wrangler dev` runs beside it (tests/e2e/pages.mjs). Two people sign
// up, one creates a room, and each receives the other's messages over a WebSocket
// that goes browser -> Pages Function -> service binding -> Worker -> ChatRoom.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startPagesStack } from "../e2e/pages.mjs";
import { cspViolations, launch, person, shot } from "./browser.mjs";

const PASSWORD = "browser password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const room = `Pages ${stamp}`;

async function signUp(page, username) {
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Password").press("Enter");
  await page.getByTestId("whoami").filter({ hasText: username }).waitFor();
}

const message = (page, text) => page.locator("[data-testid=message]:not([data-pending])", { has: page.locator(".body", { hasText: text }) });

async function say(page, text) {
  const box = page.getByRole("textbox", { name: "Message", exact: true });
  await box.fill(text);
  await box.press("Enter");
}

describe("the web client through Pages, its Function and the service binding", { timeout: 150_000 }, () => {
  let stack, browser, alice, bob;
  const sockets = [];

  before(async () => {
    stack = await startPagesStack();
    browser = await launch();
  });
  after(async () => {
    for (const p of [alice, bob]) if (p) assert.deepEqual(p.errors, [], "no script errors");
    assert.deepEqual(cspViolations, [], "no Content-Security-Policy violation");
    await browser?.close();
    await stack?.stop();
  });

  it("serves the site's files from Pages and every API path through the Function to the Worker", async () => {
    alice = await person(browser, stack.base);
    // The page: a static file of pages/dist, with the headers of pages/public/_headers.
    assert.equal(alice.response.status(), 200);
    const site = await alice.response.allHeaders();
    assert.match(site["content-security-policy"], /script-src 'self'/);
    // An API path: the Worker's answer (its own defensive headers) on the site's origin.
    const api = await alice.page.request.get(`${stack.base}/account`);
    assert.equal(api.status(), 401);
    assert.equal(api.headers()["www-authenticate"], 'Bearer realm="chat"');
    assert.match(api.headers()["content-security-policy"], /default-src 'none'/);
    assert.equal((await api.json()).error.code, "token_missing");
  });

  it("signs up two people, and each receives the other's message over a WebSocket", async () => {
    bob = await person(browser, stack.base);
    for (const p of [alice, bob]) {
      p.page.on("websocket", (ws) => sockets.push(ws.url()));
    }
    await signUp(alice.page, `alice${stamp}`);
    await signUp(bob.page, `bob${stamp}`);

    await alice.page.getByLabel("New room name").fill(room);
    await alice.page.getByRole("button", { name: "Create" }).click();
    await alice.page.getByRole("heading", { name: room }).waitFor();
    await bob.page.reload();
    await bob.page.getByRole("link", { name: room }).click();
    await bob.page.getByRole("heading", { name: room }).waitFor();
    await bob.page.locator(".messages .empty, [data-testid=message]").first().waitFor();

    await say(alice.page, "hello through Pages");
    await message(bob.page, "hello through Pages").waitFor();
    await say(bob.page, "and back through the binding");
    await message(alice.page, "and back through the binding").waitFor();
    assert.equal(await message(alice.page, "hello through Pages").count(), 1);
    assert.equal(await message(bob.page, "and back through the binding").count(), 1);
    await shot(alice.page, "pages-01-room-alice");

    // Every socket went to the site's origin: the Function carried the upgrade.
    const origin = stack.base.replace(/^http/, "ws");
    assert.ok(sockets.some((u) => u.startsWith(`${origin}/rooms/`)), `room sockets: ${sockets}`);
    assert.ok(sockets.every((u) => u.startsWith(`${origin}/`)), `sockets: ${sockets}`);
  });
});
