// Accounts through the Worker's routes, in the Workers runtime with local D1.
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { login } from "../../worker/accounts";
import { CoreHost } from "../../worker/core";
import { LIMITS } from "../../worker/generated/core";
import { connect, racing, signup as signupAs } from "./helpers";

const BASE = "https://chat.test";

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe("string");
  return body.error.code;
}

let n = 0;
const fresh = () => `user${Date.now() % 100000}_${n++}`;

describe("signup", () => {
  it("creates a USER and returns a session token", async () => {
    const name = fresh();
    const res = await post("/signup", { username: name, password: "correct horse" });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { user: { id: number; username: string; role: string }; token: string; expires_at: number };
    expect(body.user).toMatchObject({ username: name, role: "USER" });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.expires_at).toBeGreaterThan(Date.now() + 29 * 24 * 3600 * 1000);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(body.user.id).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const sessions = await env.DB.prepare("SELECT token_hash FROM sessions WHERE user_id = ?").bind(body.user.id).all<{ token_hash: string }>();
    expect(sessions.results).toHaveLength(1);
    expect(sessions.results[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(sessions.results)).not.toContain(body.token); // only the hash is stored
  });

  it("refuses a taken name regardless of case with 409", async () => {
    const name = fresh();
    expect((await post("/signup", { username: name, password: "password1" })).status).toBe(201);
    const res = await post("/signup", { username: name.toUpperCase(), password: "password2" });
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe("username_taken");
  });

  it("refuses a look-alike of a taken name with 409, by its skeleton", async () => {
    const tag = fresh().slice(4); // digits: their skeleton is the same in every name below
    expect((await post("/signup", { username: `alice_${tag}`, password: "password1" })).status).toBe(201);
    for (const name of [`aIice_${tag}`, `a1ice_${tag}`, `AL1CE_${tag}`]) {
      const res = await post("/signup", { username: name, password: "password2" });
      expect(res.status, name).toBe(409);
      expect(await errorCode(res)).toBe("username_taken");
    }
    const { username_skeleton } = new CoreHost().call<{ username_skeleton: string }>("signup_check",
      JSON.stringify({ username: `alice_${tag}`, password: "password1" }));
    const row = await env.DB.prepare("SELECT username_skeleton, password_nfkc FROM users WHERE username_key = ?")
      .bind(`alice_${tag}`).first<{ username_skeleton: string; password_nfkc: number }>();
    expect(row).toEqual({ username_skeleton, password_nfkc: 1 });
    expect((await post("/signup", { username: `arnie_${tag}`, password: "password1" })).status).toBe(201);
    expect((await post("/signup", { username: `amie_${tag}`, password: "password1" })).status).toBe(409);
  });

  it.each([
    [{ username: "ab", password: "password1" }, "username_too_short"],
    [{ username: "a".repeat(33), password: "password1" }, "username_too_long"],
    [{ username: "bad name", password: "password1" }, "username_invalid_chars"],
    [{ username: "okname", password: "short" }, "password_too_short"],
    [{ username: "okname", password: "p".repeat(257) }, "password_too_long"],
    [{ username: "okname" }, "field_missing"],
    [{ username: 42, password: "password1" }, "field_type"],
    [[1, 2], "not_object"],
    ['{"username": "x"', "bad_json"],
    ['{"username":"okname","password":"abc\\u0000defgh"}', "bad_json"],
  ])("rejects %j with 400 %s", async (body, code) => {
    const res = await post("/signup", body);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe(code);
  });

  it("rejects a body that is not UTF-8 with 400 bad_json", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"username":"okname","password":"passw'), 0xff, 0x22, 0x7d]);
    const res = await SELF.fetch(`${BASE}/signup`, { method: "POST", headers: { "Content-Type": "application/json" }, body: bytes });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("bad_json");
  });

  it("rejects a raw NUL in a string instead of cutting the password short", async () => {
    const name = fresh();
    const res = await post("/signup", `{"username":"${name}","password":"12345678\u0000garbage"}`);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("bad_json");
  });

  it("accepts JSON in UTF-8 only: other types and charsets get 415", async () => {
    expect((await post("/signup", { username: fresh(), password: "charset ok" }, { "Content-Type": "application/json; charset=UTF-8" })).status).toBe(201);
    for (const type of ["application/x-www-form-urlencoded", "text/plain", "application/json; charset=iso-8859-1", "application/jsonx"]) {
      const res = await post("/signup", { username: fresh(), password: "password1" }, { "Content-Type": type });
      expect(res.status, type).toBe(415);
      expect(await errorCode(res)).toBe("unsupported_media_type");
    }
  });

  it("checks the rules before the name: a taken name with a short password is a 400", async () => {
    const name = fresh();
    expect((await post("/signup", { username: name, password: "password1" })).status).toBe(201);
    const short = await post("/signup", { username: name, password: "short" });
    expect(short.status).toBe(400);
    expect(await errorCode(short)).toBe("password_too_short");
  });

  it("rejects a wrong content type with 415 and a body over 16 KiB with 413", async () => {
    const res = await post("/signup", "username=a", { "Content-Type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(await errorCode(res)).toBe("unsupported_media_type");
    const big = await post("/signup", { username: "bigbody", password: "x".repeat(17000) });
    expect(big.status).toBe(413);
    expect(await errorCode(big)).toBe("payload_too_large");
  });
});

describe("login, account, logout", () => {
  async function signup() {
    const username = fresh();
    const res = await post("/signup", { username, password: "s3cret pass" });
    return { username, ...((await res.json()) as { token: string; user: { id: number } }) };
  }

  it("logs in with any case of the name and returns a new token", async () => {
    const u = await signup();
    const res = await post("/login", { username: u.username.toUpperCase(), password: "s3cret pass" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: { id: number } };
    expect(body.user.id).toBe(u.user.id);
    expect(body.token).not.toBe(u.token);
  });

  it("verifies any password at login: a short one is a wrong one, not a 400", async () => {
    const u = await signup();
    const res = await post("/login", { username: u.username, password: "short" });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("invalid_credentials");
  });

  it("answers unknown user and wrong password with the same 401", async () => {
    const u = await signup();
    const wrong = await post("/login", { username: u.username, password: "not the password" });
    const unknown = await post("/login", { username: "nobody_here", password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it("gives a row from before normalisation an NFKC hash and a skeleton at its next login", async () => {
    const u = await signup();
    const nfd = "Cre\u0300me-bru\u0302le\u0301e-9", nfc = nfd.normalize("NFC");
    // As migrations/0005 left older rows: a hash of the password as typed (here NFD,
    // made natively with libsodium, m = 8 KiB, t = 1), no skeleton.
    const LEGACY_HASH = "$argon2id$v=19$m=8,t=1,p=1$9pmGVlwNGjKYJipQh21NRQ$o/MIstE9FvhEE2FCqpOvjwjxNis77AEdw0D9Rbpe4GE";
    await env.DB.prepare("UPDATE users SET password_hash = ?, password_nfkc = 0, username_skeleton = NULL WHERE id = ?")
      .bind(LEGACY_HASH, u.user.id).run();
    expect((await post("/login", { username: u.username, password: nfc })).status).toBe(401); // as typed, until then
    expect((await post("/login", { username: u.username, password: nfd })).status).toBe(200);
    const row = await env.DB.prepare("SELECT password_hash, password_nfkc, username_skeleton FROM users WHERE id = ?")
      .bind(u.user.id).first<{ password_hash: string; password_nfkc: number; username_skeleton: string }>();
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row!.password_nfkc).toBe(1);
    expect(row!.username_skeleton).toBe(new CoreHost().call<{ username_skeleton: string }>("signup_check",
      JSON.stringify({ username: u.username, password: "password1" })).username_skeleton);
    expect((await post("/login", { username: u.username, password: nfc })).status).toBe(200);
    expect((await post("/login", { username: u.username, password: nfd })).status).toBe(200);
  });

  it("rehashes a password stored with old parameters on login", async () => {
    const u = await signup();
    // A hash made natively with libsodium and cheaper parameters (m = 8 KiB, t = 1),
    // as if the cost had been raised since the user signed up.
    const old = {
      OLD_PASSWORD: "old password 1",
      OLD_HASH: "$argon2id$v=19$m=8,t=1,p=1$OaZUqdkgA4wvJrmS7Eivjw$5P/M/nJPr/jLeER9H5+CHyY2fe+b+yu/BySBnl9OvdY",
    };
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(old.OLD_HASH, u.user.id).run();
    const res = await post("/login", { username: u.username, password: old.OLD_PASSWORD });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(u.user.id).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(new CoreHost().call("login_verify", JSON.stringify({ username: u.username, password: old.OLD_PASSWORD }), { password_hash: row!.password_hash })).toMatchObject({ rehash: null });
  });

  it("reads /account with the token, and refuses it after logout", async () => {
    const u = await signup();
    const auth = { Authorization: `Bearer ${u.token}` };
    const acct = await SELF.fetch(`${BASE}/account`, { headers: auth });
    expect(acct.status).toBe(200);
    expect(await acct.json()).toEqual({ user: { id: u.user.id, username: u.username, role: "USER", display_name: null } });
    expect((await SELF.fetch(`${BASE}/logout`, { method: "POST", headers: auth })).status).toBe(200);
    const after = await SELF.fetch(`${BASE}/account`, { headers: auth });
    expect(after.status).toBe(401);
    expect(await errorCode(after)).toBe("unauthorized");
    expect((await SELF.fetch(`${BASE}/logout`, { method: "POST", headers: auth })).status).toBe(401);
  });

  it("refuses missing, malformed and expired tokens with 401", async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, "token_missing"],
      [{ Authorization: "Bearer nope" }, "token_malformed"],
      [{ Authorization: "Basic dXNlcjpwYXNz" }, "token_malformed"],
      [{ Authorization: `Bearer ${"A".repeat(43)}` }, "unauthorized"],
      [{ Authorization: `Bearer ${"A".repeat(41)}\u00e9` }, "token_malformed"],
    ];
    for (const [headers, code] of cases) {
      const res = await SELF.fetch(`${BASE}/account`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toContain("Bearer");
      expect(await errorCode(res)).toBe(code);
    }
    const u = await signup();
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE user_id = ?").bind(Date.now() - 1, u.user.id).run();
    const expired = await SELF.fetch(`${BASE}/account`, { headers: { Authorization: `Bearer ${u.token}` } });
    expect(expired.status).toBe(401);
    expect(await errorCode(expired)).toBe("unauthorized");
  });
});

describe("routing and failures", () => {
  it("answers unknown routes with 404 and wrong methods with 405", async () => {
    const res = await SELF.fetch(`${BASE}/nowhere`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("not_found");
    const m = await SELF.fetch(`${BASE}/signup`);
    expect(m.status).toBe(405);
    expect(m.headers.get("Allow")).toBe("POST");
    expect(await errorCode(m)).toBe("method_not_allowed");
  });

  it("survives a trap in the core: 500 with a structured error, then service as usual", async () => {
    const res = await SELF.fetch(`${BASE}/__test/trap`, { method: "POST" });
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("internal");
    const next = await post("/signup", { username: fresh(), password: "after the trap" });
    expect(next.status).toBe(201);
  });
});

describe("a socket's session, checked in D1 once a minute per isolate (accounts.ts socketLiveSession)", () => {
  it("is refused once its hub revoked it, though this isolate checked it a moment ago, before the address is recorded", async () => {
    const a = await signupAs("cached");
    (await connect("/ws", a.token)).ws.close(); // this isolate now knows the session
    // A revocation this isolate did not make (another isolate's logout, say): the
    // hub knows it, this isolate's cache does not.
    await env.USER_HUB.get(env.USER_HUB.idFromName(String(a.user.id))).revoke(a.user.id, {}, LIMITS.closeSessionEnded, "elsewhere");
    for (const path of ["/ws", "/rooms/999999/ws"]) {
      const res = await SELF.fetch(`${BASE}${path}`, {
        headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `chat.v1, bearer.${a.token}`, "CF-Connecting-IP": "203.0.113.9" },
      });
      expect(res.status).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 200)); // what the Worker would record, it records in waitUntil
    const seen = await env.DB.prepare("SELECT ip FROM user_ips WHERE user_id = ?").bind(a.user.id).all<{ ip: string }>();
    expect(seen.results.map((r) => r.ip)).not.toContain("203.0.113.9");
  });
});

describe("a login racing a credential change", () => {
  const body = (username: string, password: string) => new TextEncoder().encode(JSON.stringify({ username, password }));
  const live = async (id: number) => (await env.DB.prepare(
    "SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL").bind(id).first<{ n: number }>())!.n;

  it("gets no session when the password changed between its check and its session (the change revoked them all)", async () => {
    const me = await signupAs("racepw");
    await env.DB.prepare("UPDATE sessions SET revoked_at = 1 WHERE user_id = ?").bind(me.user.id).run();
    const race = racing("login_verify", () => [env.DB.prepare("UPDATE users SET password_hash = 'changed meanwhile' WHERE id = ?").bind(me.user.id)]);
    await expect(login(race.core, race.env, body(me.user.username, "test password"), "203.0.113.7")).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(await live(me.user.id)).toBe(0);
  });

  it("gets no session when the account was deleted between its check and its session", async () => {
    const me = await signupAs("racedel");
    await env.DB.prepare("UPDATE sessions SET revoked_at = 1 WHERE user_id = ?").bind(me.user.id).run();
    const race = racing("login_verify", () => [env.DB.prepare("UPDATE users SET deleted_at = 1 WHERE id = ?").bind(me.user.id)]);
    await expect(login(race.core, race.env, body(me.user.username, "test password"), "203.0.113.8")).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(await live(me.user.id)).toBe(0);
    // and a session made before a deletion no longer authenticates
    const other = await signupAs("gone");
    await env.DB.prepare("UPDATE users SET deleted_at = 1 WHERE id = ?").bind(other.user.id).run();
    const res = await SELF.fetch(`${BASE}/account`, { headers: { Authorization: `Bearer ${other.token}` } });
    expect(res.status).toBe(401);
  });
});
