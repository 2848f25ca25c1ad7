// Attachments in the web client (issue 17), in a real browser against the real
// stack (`wrangler dev` with its local R2, serving the built site): Alice pastes
// an image (a real PNG File made in the page, in a paste event's DataTransfer),
// watches it upload and sends it; Bob sees it inline at its natural size, and
// again after a reload. Bob attaches a document by the file picker; Alice gets a
// download link with its name and size, and downloads it. A file over the
// server's limit is refused before any upload; a file the server refuses shows
// its reason; a dropped file can be removed before sending; a missing file says
// so. axe-core on the screens with attachments, light and dark, desktop and
// phone. Screenshots go to test-results/browser/files-*.png.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { post, startStack } from "../e2e/harness.mjs";
import { pngOf } from "../e2e/png.mjs";
import { scan, scanned } from "./a11y.mjs";
import { cspViolations, launch, person, shot } from "./browser.mjs";

const PASSWORD = "browser password";
const stamp = `${process.pid % 1000}${Date.now() % 10000}`;
const name = (who) => `${who}${stamp}`;
const room = `Gallery ${stamp}`;
// The server's limit, as the client reads it (generated from wasm/chat_limits.h).
const LIMITS = { attachmentBytesMax: Number(readFileSync(new URL("../../worker/generated/core.ts", import.meta.url), "utf8")
  .match(/attachmentBytesMax: (\d+)/)[1]) };


let stack, browser, alice, bob, roomId;
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
const sent = (page) => page.locator("[data-testid=message]:not([data-pending])");
async function openRoom(page) {
  await page.goto(`${stack.base}/#/room/${roomId}`);
  await page.getByRole("heading", { level: 1, name: room }).waitFor();
  await page.locator(".messages .empty, [data-testid=message]").first().waitFor();
}
/** Attaches files through the composer's button and the browser's file chooser. */
async function pick(page, files) {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"),
    page.getByRole("button", { name: "Attach files" }).click()]);
  await chooser.setFiles(files);
}
/** The <img> of the attachment `alt`, loaded: its natural size. */
async function loadedImage(page, alt) {
  const img = page.getByRole("img", { name: alt, exact: true });
  await img.waitFor();
  await page.waitForFunction((a) => [...document.querySelectorAll("img[data-testid=attachment-image]")]
    .some((i) => i.alt === a && i.complete && i.naturalWidth > 0), alt);
  return img.evaluate((i) => ({ natural: [i.naturalWidth, i.naturalHeight], attrs: [Number(i.getAttribute("width")), Number(i.getAttribute("height"))],
    box: [i.getBoundingClientRect().width, i.getBoundingClientRect().height], src: i.src.slice(0, 5) }));
}

describe("attachments in the web client (issue 17)", { timeout: 300_000 }, () => {
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

  it("two people in a room", async () => {
    alice = await person(browser, stack.base);
    bob = await person(browser, stack.base);
    people.push(alice, bob);
    await signUp(alice.page, name("alice"));
    await signUp(bob.page, name("bob"));
    await alice.page.getByLabel("New room name").fill(room);
    await alice.page.getByRole("button", { name: "Create" }).click();
    await alice.page.getByRole("heading", { level: 1, name: room }).waitFor();
    roomId = Number(new URL(alice.page.url()).hash.match(/room\/(\d+)/)[1]);
    const token = (await post(stack.base, "/login", { username: name("bob"), password: PASSWORD })).body.token;
    assert.equal((await post(stack.base, `/rooms/${roomId}/join`, "", { Authorization: `Bearer ${token}` })).status, 200);
    await openRoom(bob.page);
  });

  it("Alice pastes an image, sees it upload, and sends it with no text; Bob sees it inline at its natural size", async () => {
    const page = alice.page;
    // The upload is held back 1.5 s, so its progress bar can be seen.
    await page.route(/\/uploads$/, async (route) => { await new Promise((r) => setTimeout(r, 1500)); await route.continue(); });
    const png = pngOf(300, 200, true);
    await box(page).focus();
    const handled = await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], "image.png", { type: "image/png" }));
      const event = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
      document.activeElement.dispatchEvent(event);
      return event.defaultPrevented;
    }, png.toString("base64"));
    assert.ok(handled, "the paste is taken as a file, not as text");
    const progress = page.getByRole("progressbar", { name: "Uploading image.png" });
    await progress.waitFor();
    assert.equal(await progress.getAttribute("max"), "1");
    await shot(page, "files-1-paste-progress");
    await scan(page, "composer with an upload in progress");
    // sending while it uploads is refused with a sentence, not lost
    await box(page).press("Enter");
    await page.getByTestId("composer-problem").filter({ hasText: "still uploading" }).waitFor();
    await page.getByTestId("uploaded").waitFor();
    await page.unroute(/\/uploads$/);
    assert.equal(await progress.count(), 0, "the bar gives way to Ready");
    assert.equal(await box(page).inputValue(), "", "no text");
    await box(page).press("Enter");
    await page.getByTestId("uploads").waitFor({ state: "detached" });

    const mine = await loadedImage(page, "image.png");
    assert.deepEqual(mine.natural, [300, 200]);
    const seen = await loadedImage(bob.page, "image.png");
    assert.deepEqual(seen.natural, [300, 200], "Bob's image has its natural size");
    assert.deepEqual(seen.attrs, [300, 200], "width and height set from the attachment");
    assert.equal(seen.src, "blob:", "loaded through an object URL (files are members only)");
    assert.ok(Math.abs(seen.box[0] / seen.box[1] - 1.5) < 0.02, `shown in proportion: ${seen.box}`);
    assert.equal(await sent(bob.page).filter({ has: bob.page.locator("img") }).count(), 1, "one message");
    await shot(bob.page, "files-2-image-seen");
  });

  it("the image survives a reload, its box sized before it loads", async () => {
    const page = bob.page;
    // Hold the file back to see the reserved box.
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route(/\/attachments\//, async (route) => { await held; await route.continue(); });
    await page.reload();
    const placeholder = page.getByTestId("image-loading");
    await placeholder.waitFor();
    const reserved = await placeholder.boundingBox();
    assert.ok(Math.abs(reserved.width / reserved.height - 1.5) < 0.02, `a 3:2 box before any byte: ${JSON.stringify(reserved)}`);
    release();
    const after = await loadedImage(page, "image.png");
    await page.unroute(/\/attachments\//);
    assert.deepEqual(after.natural, [300, 200]);
    assert.ok(Math.abs(after.box[0] - reserved.width) < 1 && Math.abs(after.box[1] - reserved.height) < 1,
      `nothing moved: ${JSON.stringify(reserved)} then ${after.box}`);
    await shot(page, "files-3-after-reload");
  });

  it("Bob attaches a document by the file picker; Alice sees its name and size, and downloads it", async () => {
    const page = bob.page;
    const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), randomBytes(1_234_567 - 9)]);
    await pick(page, [{ name: "report.pdf", mimeType: "application/pdf", buffer: pdf }]);
    await page.getByTestId("uploaded").waitFor();
    await box(page).fill("the report");
    await box(page).press("Enter");
    const link = alice.page.getByRole("link", { name: "report.pdf, 1.2 MB" });
    await link.waitFor();
    assert.equal(await link.getAttribute("download"), "report.pdf");
    const [download] = await Promise.all([alice.page.waitForEvent("download"), link.click()]);
    assert.equal(download.suggestedFilename(), "report.pdf");
    assert.deepEqual(readFileSync(await download.path()), pdf, "the same bytes");
    await shot(alice.page, "files-4-download-link");
    await scan(alice.page, "room with an image and a file");
  });

  it("a file over the limit is refused in the client, with a sentence; a file the server refuses shows its reason", async () => {
    const page = alice.page;
    const uploads = [];
    const watch = (r) => { if (r.url().endsWith("/uploads")) uploads.push(r.url()); };
    page.on("request", watch);
    await pick(page, [{ name: "huge.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(LIMITS.attachmentBytesMax + 1) }]);
    const refusal = page.getByTestId("upload-refusal");
    await refusal.waitFor();
    assert.equal(await refusal.textContent(), "huge.bin is 10.5 MB. Files have at most 10 MiB.");
    assert.equal(await refusal.getAttribute("role"), "alert");
    await shot(page, "files-5a-too-big");
    await page.waitForTimeout(300);
    page.off("request", watch);
    assert.deepEqual(uploads, [], "nothing uploaded");
    // a name that claims an image the bytes are not: the server's reason
    await pick(page, [{ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("<html><script>alert(1)</script></html>") }]);
    await page.getByTestId("upload").filter({ hasText: "fake.png" }).getByRole("alert")
      .filter({ hasText: "Not uploaded: This file is not the kind of file its name says." }).waitFor();
    assert.equal(await refusal.count(), 0, "the earlier refusal went");
    await shot(page, "files-5-refused");
    await scan(page, "composer with refusals");
    await page.getByRole("button", { name: "Remove fake.png" }).click();
    await page.getByTestId("uploads").waitFor({ state: "detached" });
  });

  it("a dropped file can be removed before sending; the rest is sent with the text", async () => {
    const page = alice.page;
    const drag = (types) => page.evaluate((types) => {
      window.__drag ??= new DataTransfer();
      if (window.__drag.items.length === 0) {
        window.__drag.items.add(new File(["first notes"], "first.txt", { type: "text/plain" }));
        window.__drag.items.add(new File(["second notes"], "second.txt", { type: "text/plain" }));
      }
      const target = document.querySelector("[data-testid=messages]");
      for (const type of types) target.dispatchEvent(new DragEvent(type, { dataTransfer: window.__drag, bubbles: true, cancelable: true }));
    }, types);
    await drag(["dragenter", "dragover"]);
    await page.locator(".drop-hint").waitFor();
    await shot(page, "files-5b-dragging");
    await drag(["drop"]);
    await page.getByTestId("uploaded").nth(1).waitFor();
    assert.equal(await page.locator(".drop-hint").count(), 0, "the drop hint went");
    await page.getByRole("button", { name: "Remove first.txt" }).click();
    await box(page).fill("only the second");
    await box(page).press("Enter");
    const link = bob.page.getByRole("link", { name: "second.txt, 12 bytes" });
    await link.waitFor();
    const msg = sent(bob.page).filter({ hasText: "only the second" });
    assert.equal(await msg.getByRole("link", { name: /first\.txt/ }).count(), 0, "the removed file is not sent");
    assert.equal(await msg.getByRole("link").count(), 1);
  });

  it("a file that is gone says so", async () => {
    const page = bob.page;
    await page.route(/\/attachments\//, (route) => route.fulfill({ status: 404, contentType: "application/json",
      body: JSON.stringify({ error: { code: "not_found", message: "Not found." } }) }));
    await page.reload();
    await page.getByTestId("attachment-gone").filter({ hasText: "image.png: This file is gone." }).waitFor();
    await page.getByRole("link", { name: "report.pdf, 1.2 MB" }).click();
    await page.getByTestId("attachment-gone").filter({ hasText: "report.pdf: This file is gone." }).waitFor();
    await shot(page, "files-6-gone");
    await page.unroute(/\/attachments\//);
  });

  it("on a phone: the image fits the screen, the attach button is a target of at least 24 px; axe finds nothing serious", async () => {
    const phone = await person(browser, stack.base, { phone: true });
    people.push(phone);
    await logIn(phone.page, name("bob"));
    await openRoom(phone.page);
    const img = await loadedImage(phone.page, "image.png");
    assert.ok(img.box[0] <= 390, `fits: ${img.box}`);
    const attach = await phone.page.getByRole("button", { name: "Attach files" }).boundingBox();
    assert.ok(attach.width >= 24 && attach.height >= 24, JSON.stringify(attach));
    await shot(phone.page, "files-7-phone");
    await scan(phone.page, "room with attachments on a phone");
    await phone.page.emulateMedia({ colorScheme: "dark" });
    await shot(phone.page, "files-8-phone-dark");
    await phone.context.close();
  });
});
