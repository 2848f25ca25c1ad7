// Defensive headers (issue 12, worker/headers.ts): every API response carries
// them, successes, refusals, errors and 404s alike, and WebSocket upgrades still
// work (their 101 is left alone).
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, connect, post, signup } from "./helpers";

function expectDefensive(res: Response) {
  const h = res.headers;
  expect(h.get("X-Content-Type-Options")).toBe("nosniff");
  const csp = h.get("Content-Security-Policy") ?? "";
  for (const d of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) {
    expect(csp).toContain(d);
  }
  expect(h.get("X-Frame-Options")).toBe("DENY");
  expect(h.get("Referrer-Policy")).toBe("no-referrer");
  expect(h.get("Permissions-Policy")).toMatch(/(^|, )camera=\(\)/);
  expect(h.get("Permissions-Policy")).toMatch(/(^|, )microphone=\(\)/);
  expect(h.get("Cross-Origin-Resource-Policy")).toBe("same-origin");
}

describe("defensive headers on the API", () => {
  it("are on successes, refusals, errors, 404s and 405s", async () => {
    const u = await signup("hdr");
    const responses = [
      await post("/signup", { username: `hdr${Date.now() % 100000}x`, password: "header password" }), // 201
      await SELF.fetch(`${BASE}/account`, { headers: { Authorization: `Bearer ${u.token}` } }), // 200
      await SELF.fetch(`${BASE}/account`), // 401
      await post("/login", "not json"), // 400
      await post("/login", { username: "x" }, { "Content-Type": "text/plain" }), // 415
      await SELF.fetch(`${BASE}/no/such/route`), // 404
      await SELF.fetch(`${BASE}/signup`, { method: "DELETE" }), // 405
      await SELF.fetch(`${BASE}/ws`), // 426: not an upgrade
      await SELF.fetch(`${BASE}/__test/trap`, { method: "POST" }), // 500: a trap in the core
    ];
    expect(responses.map((r) => r.status)).toEqual([201, 200, 401, 400, 415, 404, 405, 426, 500]);
    for (const r of responses) expectDefensive(r);
  });

  it("leave WebSocket upgrades working", async () => {
    const u = await signup("hdr");
    const c = await connect("/ws", u.token);
    expect((await c.next()).type).toBe("connection");
    c.ws.close();
  });
});
