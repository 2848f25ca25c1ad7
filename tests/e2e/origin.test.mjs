// The Origin check on WebSocket upgrades (worker/origin.ts): a browser page of an
// origin in CHAT_ALLOWED_ORIGINS may open sockets; a page of any other origin is
// refused with 403 origin_not_allowed before the token is even looked at; a
// client that sends no Origin (not a browser) is let through.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { createRoom, signup, startStack } from "./harness.mjs";

const SITE = "https://chat.example";

/** Opens a socket with a given Origin header (or none); resolves to the HTTP
 * status of the refusal, or 101 and the first frame. */
function open(base, path, token, origin) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, ["chat.v1", `bearer.${token}`],
      origin === undefined ? {} : { origin });
    ws.once("unexpected-response", (req, res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => { req.destroy(); ws.terminate(); resolve({ status: res.statusCode, body: JSON.parse(text) }); });
    });
    ws.once("message", (data) => { ws.close(); resolve({ status: 101, frame: JSON.parse(String(data)) }); });
    ws.once("error", reject);
  });
}

describe("WebSocket Origin check", () => {
  let stack, alice, room;
  before(async () => {
    stack = await startStack({ vars: { CHAT_ALLOWED_ORIGINS: `http://other.example ${SITE}` } });
    alice = await signup(stack.base, "origin");
    room = await createRoom(stack.base, alice);
  });
  after(() => stack?.stop());

  it("accepts a page of a listed origin, on every socket route", async () => {
    for (const path of ["/ws", `/rooms/${room.id}/ws`]) {
      const r = await open(stack.base, path, alice.token, SITE);
      assert.equal(r.status, 101, JSON.stringify(r));
      assert.equal(r.frame.type, "connection");
    }
  });

  it("refuses a page of any other origin, and Origin: null", async () => {
    for (const origin of ["https://evil.example", "https://chat.example:8443", "http://chat.example", "null"]) {
      const r = await open(stack.base, `/rooms/${room.id}/ws`, alice.token, origin);
      assert.equal(r.status, 403, origin);
      assert.equal(r.body.error.code, "origin_not_allowed");
    }
  });

  it("refuses before looking at the token", async () => {
    const r = await open(stack.base, "/ws", "x".repeat(43), "https://evil.example");
    assert.equal(r.body.error.code, "origin_not_allowed");
  });

  it("lets a client without Origin through (not a browser)", async () => {
    const r = await open(stack.base, "/ws", alice.token, undefined);
    assert.equal(r.status, 101);
  });
});
