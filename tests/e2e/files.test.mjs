// End-to-end: attachments (issue 17) against `wrangler dev` and its local R2:
// upload, a message that carries the file, fetching it back with safe headers,
// refusals for non-members, spoofed types, polyglots, bombs, oversize and
// missing lengths, and a deleted message's file gone.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { createRoom, joinRoom, post, signup, startStack } from "./harness.mjs";
import { pngOf } from "./png.mjs";

const auth = (who) => ({ Authorization: `Bearer ${who.token}` });


/** A request that declares `declared` bytes and sends only `sent` of them, then
 * waits for the answer (the server must not wait for the rest to refuse). */
function declaredOnly(base, path, who, declared, sent) {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: "POST", headers: { ...auth(who), "Content-Length": declared,
      "X-File-Name": "big.bin" } }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => { req.destroy(); resolve({ status: res.statusCode, body: JSON.parse(text) }); });
    });
    req.on("error", reject);
    req.write(Buffer.alloc(sent, 1));
  });
}

async function uploadTo(base, path, who, bytes, name) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { ...auth(who), "Content-Type": "application/octet-stream", "X-File-Name": encodeURIComponent(name) },
    body: bytes,
  });
  return { status: res.status, body: await res.json() };
}

describe("attachments against wrangler dev and local R2", () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  it("uploads, sends, fetches with safe headers, and refuses strangers", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base), stranger = await signup(base);
    const room = await createRoom(base, a);
    assert.equal((await post(base, `/rooms/${room.id}/join`, "", auth(b))).status, 200);
    const png = pngOf(8, 6);
    const up = await uploadTo(base, `/rooms/${room.id}/uploads`, a, png, "dot.png");
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const file = up.body.attachment;
    assert.match(file.id, /^[0-9a-f]{32}$/);
    assert.deepEqual({ ...file, id: undefined }, { id: undefined, url: `/rooms/${room.id}/attachments/${file.id}`,
      type: "image/png", size: png.length, name: "dot.png", width: 8, height: 6 });

    // a message carries it (no text needed); everyone joined sees it
    const { c: ca } = await joinRoom(base, room.id, a);
    const { c: cb } = await joinRoom(base, room.id, b);
    ca.send({ type: "new_chat_message", body: "", client_id: "f1", attachments: [file.id] });
    const seen = await cb.nextOf("new_chat_message");
    assert.deepEqual(seen.attachments, [{ id: file.id, type: "image/png", size: png.length, name: "dot.png",
      url: file.url, width: 8, height: 6 }]);
    // and history keeps it
    const page = await (await fetch(`${base}/rooms/${room.id}/messages`, { headers: auth(b) })).json();
    assert.equal(page.messages.at(-1).attachments[0].id, file.id);

    // a member fetches the bytes, typed from the bytes, never run
    const got = await fetch(`${base}${file.url}`, { headers: auth(b) });
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), png);
    assert.equal(got.headers.get("content-type"), "image/png");
    assert.equal(got.headers.get("x-content-type-options"), "nosniff");
    assert.match(got.headers.get("content-security-policy"), /sandbox/);
    assert.match(got.headers.get("content-disposition"), /^inline; filename\*=UTF-8''dot\.png$/);

    // strangers may neither fetch nor upload; nobody may send someone else's upload
    const peek = await fetch(`${base}${file.url}`, { headers: auth(stranger) });
    assert.deepEqual([peek.status, (await peek.json()).error.code], [404, "not_member"]);
    const sneak = await uploadTo(base, `/rooms/${room.id}/uploads`, stranger, png, "x.png");
    assert.deepEqual([sneak.status, sneak.body.error.code], [404, "not_member"]);
    const bs = await uploadTo(base, `/rooms/${room.id}/uploads`, b, png, "b.png");
    ca.send({ type: "new_chat_message", body: "mine?", client_id: "f2", attachments: [bs.body.attachment.id] });
    const refused = await ca.nextOf("error");
    assert.deepEqual([refused.code, refused.ref], ["attachment_invalid", "f2"]);
    // nor send one twice
    ca.send({ type: "new_chat_message", body: "again", client_id: "f3", attachments: [file.id] });
    assert.equal((await ca.nextOf("error")).code, "attachment_invalid");

    // deleting the message deletes the file
    ca.send({ type: "delete_message", seq: seen.seq });
    await cb.nextOf("message_deleted");
    const gone = await fetch(`${base}${file.url}`, { headers: auth(a) });
    assert.equal(gone.status, 404);
  });

  it("a conversation closed by a block takes no more files (as it takes no messages), and keeps its old ones", async () => {
    const { base } = stack;
    const a = await signup(base), b = await signup(base);
    assert.equal((await post(base, "/users/add", { username: b.user.username }, auth(a))).status, 200);
    assert.equal((await post(base, "/users/add", { username: a.user.username }, auth(b))).status, 200);
    const dm = (await post(base, "/dms", { username: b.user.username }, auth(a))).body.conversation;
    const png = pngOf(4, 4);
    const before = await uploadTo(base, `/dms/${dm.id}/uploads`, a, png, "before.png");
    assert.equal(before.status, 201, JSON.stringify(before.body));
    assert.equal((await post(base, "/users/block", { username: a.user.username }, auth(b))).status, 200);
    const after = await uploadTo(base, `/dms/${dm.id}/uploads`, a, png, "after.png");
    assert.deepEqual([after.status, after.body.error?.code], [403, "dm_closed"]);
    const old = await fetch(`${base}${before.body.attachment.url}`, { headers: auth(a) });
    assert.equal(old.status, 200);
  });

  it("decides types from the bytes and refuses spoofs, polyglots, bombs and bad lengths", async () => {
    const { base } = stack;
    const a = await signup(base);
    const room = await createRoom(base, a);
    const path = `/rooms/${room.id}/uploads`;
    const html = Buffer.from("<!doctype html><script>alert(document.cookie)</script>");
    // an HTML page named .png
    const spoof = await uploadTo(base, path, a, html, "cat.png");
    assert.deepEqual([spoof.status, spoof.body.error.code], [415, "attachment_mismatch"]);
    // a GIF with a script inside (a polyglot)
    const gif = Buffer.concat([Buffer.from("GIF89a\x0a\x00\x0a\x00\x00\x00\x00", "latin1"), Buffer.from("/*<script>alert(1)</script>*/")]);
    const poly = await uploadTo(base, path, a, gif, "funny.gif");
    assert.deepEqual([poly.status, poly.body.error.code], [415, "image_invalid"]);
    // a decompression bomb: a tiny file announcing 100 000 x 100 000 pixels
    const bomb = Buffer.from(pngOf(1, 1));
    bomb.writeUInt32BE(100000, 16), bomb.writeUInt32BE(100000, 20);
    const boom = await uploadTo(base, path, a, bomb, "bomb.png");
    assert.deepEqual([boom.status, boom.body.error.code], [413, "image_too_large"]);
    // the same page as a plain file: kept, but only ever downloaded
    const page = await uploadTo(base, path, a, html, "page.html");
    assert.equal(page.status, 201);
    assert.equal(page.body.attachment.type, "application/octet-stream");
    const { c } = await joinRoom(base, room.id, a);
    c.send({ type: "new_chat_message", body: "a page", client_id: "p1", attachments: [page.body.attachment.id] });
    await c.nextOf("new_chat_message");
    const got = await fetch(`${base}${page.body.attachment.url}`, { headers: auth(a) });
    assert.equal(got.headers.get("content-type"), "application/octet-stream");
    assert.match(got.headers.get("content-disposition"), /^attachment; filename\*=UTF-8''page\.html$/);
    // a name that hides its extension is cleaned
    const sneaky = await uploadTo(base, path, a, html, "invoice\u202Efdp.exe");
    assert.equal(sneaky.body.attachment.name, "invoicefdp.exe");
    // over the size limit: refused once its first bytes are read, not after all of it
    const big = await declaredOnly(base, path, a, 10 * 1024 * 1024 + 1, 300 * 1024);
    assert.deepEqual([big.status, big.body.error.code], [413, "attachment_too_large"]);
    // no Content-Length: a streamed body is refused
    const stream = new ReadableStream({ start(ctl) { ctl.enqueue(new Uint8Array([1, 2, 3])); ctl.close(); } });
    const res = await fetch(`${base}${path}`, { method: "POST", headers: auth(a), body: stream, duplex: "half" });
    assert.equal(res.status, 411);
    assert.equal((await res.json()).error.code, "length_required");
  });
});
