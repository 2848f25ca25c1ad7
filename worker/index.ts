/**
 * The Worker's router: HTTP routes and the WebSocket upgrade. Thin by design: it
 * checks HTTP framing (method, content type, body size), hands the bytes to the
 * chat core, talks to D1, and forwards sockets to Durable Objects. The rules live
 * in C (wasm/); the protocol is in PROTOCOL.md.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { authenticate, login, logout, sessionUser, signup } from "./accounts";
import { CoreError, CoreHost, CoreTrap } from "./core";
import type { Env } from "./env";
import { errorResponse } from "./errors";
import { LIMITS } from "./generated/core";

export { UserHub } from "../durable-objects/user-hub";

// The Worker is stateless, so one core instance per isolate is safe here (unlike
// in Durable Objects, which each own one). Created lazily on the first call.
const core = new CoreHost();

type App = { Bindings: Env };
const app = new Hono<App>();

/** The request body as bytes, after the HTTP-level checks: JSON content type and
 * at most LIMITS.httpBodyMaxBytes (enforced while streaming by bodyLimit). */
async function jsonBody(c: Context<App>): Promise<Uint8Array> {
  // JSON is UTF-8 (RFC 8259 section 8.1): no other charset is accepted.
  const type = (c.req.header("Content-Type") ?? "").toLowerCase().replace(/\s+/g, "");
  if (type !== "application/json" && type !== "application/json;charset=utf-8") {
    throw new CoreError("unsupported_media_type");
  }
  try {
    return new Uint8Array(await c.req.arrayBuffer());
  } catch {
    // The only way reading fails is the stream being cut: by bodyLimit when a body
    // without Content-Length passes the limit, or by the client going away.
    throw new CoreError("payload_too_large");
  }
}

const limitBody = bodyLimit({
  maxSize: LIMITS.httpBodyMaxBytes,
  onError: () => errorResponse("payload_too_large"),
});

/** Registers `handler` for `method path` and answers 405 for other methods. */
function route(method: "GET" | "POST", path: string, ...handlers: MiddlewareHandler<App>[]) {
  app.on(method, [path], ...(handlers as [MiddlewareHandler<App>]));
  app.all(path, () => errorResponse("method_not_allowed", { Allow: method }));
}

route("POST", "/signup", limitBody, async (c: Context<App>) =>
  c.json(await signup(core, c.env.DB, await jsonBody(c)), 201));

route("POST", "/login", limitBody, async (c: Context<App>) =>
  c.json(await login(core, c.env.DB, await jsonBody(c)), 200));

route("POST", "/logout", async (c: Context<App>) => {
  const { tokenHash } = await authenticate(core, c.env.DB, c.req.header("Authorization") ?? null);
  await logout(c.env.DB, tokenHash);
  return c.json({ ok: true });
});

route("GET", "/account", async (c: Context<App>) => {
  const { user } = await authenticate(core, c.env.DB, c.req.header("Authorization") ?? null);
  return c.json({ user });
});

// The personal socket of a user (every device of theirs), held by their UserHub.
// Browsers cannot set headers on a WebSocket, so the session token travels in the
// Sec-WebSocket-Protocol list as "bearer.<token>" next to "chat.v1" (never in the URL).
route("GET", "/ws", async (c: Context<App>) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new CoreError("upgrade_required");
  const { token_hash } = core.call<{ token_hash: string }>(
    "ws_protocol", c.req.header("Sec-WebSocket-Protocol") ?? "");
  const user = await sessionUser(c.env.DB, token_hash);
  const hub = c.env.USER_HUB.get(c.env.USER_HUB.idFromName(String(user.id)));
  const headers = new Headers(c.req.raw.headers);
  headers.set("X-Chat-User", JSON.stringify(user));
  return hub.fetch(new Request(c.req.raw.url, { headers }));
});

// Test-only: make the core trap, to prove the Worker survives it. Enabled only when
// the CHAT_TEST_HOOKS binding is "1" (set by the test configs, never in wrangler.toml).
app.post("/__test/trap", (c) => {
  if (c.env.CHAT_TEST_HOOKS !== "1") return errorResponse("not_found");
  core.trapForTest();
  return c.json({ trapped: false });
});

app.notFound(() => errorResponse("not_found"));

app.onError((err) => {
  if (err instanceof CoreError) return errorResponse(err.code);
  if (err instanceof CoreTrap) console.error("chat core trapped; instance rebuilt", err.message);
  else console.error("unhandled error", err);
  return errorResponse("internal");
});

export default app satisfies ExportedHandler<Env>;
