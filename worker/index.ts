/**
 * The Worker's router: HTTP routes and the WebSocket upgrade. Thin by design: it
 * checks HTTP framing (method, content type, body size), hands the bytes to the
 * chat core, talks to D1, and forwards sockets to Durable Objects. The rules live
 * in C (wasm/); the protocol is in PROTOCOL.md.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { authenticate, forgetSocketSession, login, logout, signup, socketLiveSession, type LiveSession } from "./accounts";
import { accountView, changePassword, deleteAccount, exportAccount, listSessions, profiles, revokeOthers, revokeSession, setProfile } from "./account";
import { LimitReached, refusedLately, rememberRefusal, spend } from "./budgets";
import { CoreError, CoreHost, CoreTrap } from "./core";
import { FACTS_HEADER, type Env, type SocketFacts } from "./env";
import { errorResponse } from "./errors";
import { defensiveHeaders } from "./headers";
import { BUDGETS, LIMITS } from "./generated/core";
import { conversationConfig, listConversations, myConversation, openConversation } from "./dms";
import { changeMembership, createRoom, listMembers, listRooms, roomStub } from "./rooms";
import { ban, clientIp, ipBanned, listBans, promote, recordIp, unban, verifyBans } from "./moderation";
import { act, blockList, conversationStub, friendsOf, hub } from "./social";
import { searchConversation, searchEverywhere, searchRoom } from "./search";
import { originAllowed } from "./origin";
import { countedDb, debugCounters, debugHashes, noteOpen, noteRelayed } from "./debug";
import { download, upload, type Place } from "./files";
import { isolateCache } from "./isolate-cache";
import { RELAY_HEADER, relayName } from "../durable-objects/room-relay";

export { ChatRoom } from "../durable-objects/chat-room";
export { UserHub } from "../durable-objects/user-hub";
export { RoomRelay } from "../durable-objects/room-relay";

// The Worker is stateless, so one core instance per isolate is safe here (unlike
// in Durable Objects, which each own one). Created lazily on the first call.
const core = new CoreHost();

type App = { Bindings: Env };
const app = new Hono<App>();

// Outermost: defensive headers (nosniff, a CSP that allows nothing, no framing) on
// every response that follows, refusals, errors and 404s included (worker/headers.ts).
app.use("*", defensiveHeaders);

// The very first thing: requests (WebSocket upgrades included) from a banned
// address are refused before any other work. The list is cached per isolate.
app.use("*", async (c, next) => {
  if (await ipBanned(c.env.DB, c.req.raw)) return errorResponse("ip_banned");
  await next();
});

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

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** Registers handlers for `path`, one list per method, and 405 for other methods. */
function route(path: string, methods: Partial<Record<Method, MiddlewareHandler<App>[]>>) {
  for (const [method, handlers] of Object.entries(methods)) {
    app.on(method, [path], ...(handlers as [MiddlewareHandler<App>]));
  }
  const allow = Object.keys(methods).join(", ");
  app.all(path, () => errorResponse("method_not_allowed", { Allow: allow }));
}

/** The user behind the request's Authorization header. */
const auth = async (c: Context<App>) =>
  authenticate(core, c.env.DB, c.req.header("Authorization") ?? null);

route("/signup", {
  POST: [limitBody, async (c) => c.json(await signup(core, { ...c.env, DB: countedDb(c.env) }, await jsonBody(c),
    clientIp(c.req.raw), c.req.header("User-Agent") ?? ""), 201)],
});

route("/login", {
  POST: [limitBody, async (c) => c.json(await login(core, { ...c.env, DB: countedDb(c.env) }, await jsonBody(c), clientIp(c.req.raw), c.req.header("User-Agent") ?? ""), 200)],
});

route("/logout", {
  POST: [async (c) => {
    await logout(c.env, await auth(c));
    return c.json({ ok: true });
  }],
});

route("/account", {
  GET: [async (c) => c.json(await accountView(c.env.DB, await auth(c)))],
  DELETE: [limitBody, async (c) => c.json(await deleteAccount(core, c.env, await auth(c), await jsonBody(c), clientIp(c.req.raw)))],
});

// What a person controls about their own account (worker/account.ts, PROTOCOL.md).
route("/account/password", {
  POST: [limitBody, async (c) => c.json(await changePassword(core, c.env, await auth(c), await jsonBody(c), clientIp(c.req.raw)))],
});

// Everything of mine, as one streamed JSON document (worker/account.ts, PROTOCOL.md).
route("/account/export", {
  GET: [async (c) => {
    const s = await auth(c);
    await spend(core, c.env, "exports_per_account", s.user.id); // each reads everything the account wrote
    return exportAccount(c.env, s, (p) => c.executionCtx.waitUntil(p));
  }],
});

route("/account/profile", {
  PUT: [limitBody, async (c) => c.json(await setProfile(core, c.env, await auth(c), await jsonBody(c)))],
});

// Display names of the people a client shows: ?ids=1,2,3 (at most LIMITS.listPage).
route("/users/profiles", {
  GET: [async (c) => {
    await auth(c);
    return c.json(await profiles(c.env.DB, new URL(c.req.url).searchParams));
  }],
});

route("/account/sessions", {
  GET: [async (c) => c.json(await listSessions(c.env.DB, await auth(c)))],
});

route("/account/sessions/revoke-others", {
  POST: [async (c) => c.json(await revokeOthers(c.env, await auth(c)))],
});

route("/account/sessions/:id{[0-9]{1,15}}", {
  DELETE: [async (c) => c.json(await revokeSession(c.env, await auth(c), Number(c.req.param("id"))))],
});

/** The session of a WebSocket upgrade. Browsers cannot set headers on a WebSocket,
 * so the session token travels in the Sec-WebSocket-Protocol list as
 * "bearer.<token>" next to "chat.v1" (never in the URL, which ends up in logs). */
async function socketSession(c: Context<App>) {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") throw new CoreError("upgrade_required");
  // Only our own site's pages may open sockets (worker/origin.ts).
  if (!originAllowed(c.req.header("Origin") ?? null, c.env.CHAT_ALLOWED_ORIGINS)) throw new CoreError("origin_not_allowed");
  const { token_hash } = core.call<{ token_hash: string }>(
    "ws_protocol", c.req.header("Sec-WebSocket-Protocol") ?? "");
  // A session just refused for a rate budget is refused again, until the time its
  // hub gave, without a D1 query or an RPC: a client that reopens sockets in a
  // loop costs this isolate a map lookup each (budgets.ts, refusedLately).
  refusedLately(token_hash);
  noteOpen(c.env);
  // The session is read from D1 once per LIMITS.sessionCacheMs per isolate
  // (socketLiveSession): the user's hub refuses a socket whose session was revoked
  // meanwhile (UserHub.admit), and a promotion shows within that time.
  const s = await socketLiveSession(countedDb(c.env), token_hash);
  // A session revoked since this isolate checked it, or a socket past the user's
  // budgets, is refused here, before any more work (the object that takes a
  // socket counts it for good: UserHub.admit). A revoked session's next open
  // reads D1 again, which refuses it.
  const ip = clientIp(c.req.raw);
  const refused = await hub(c.env, s.user.id).mayOpen(s.user.id, { session: s.session, ip });
  if (refused && "revoked" in refused) {
    forgetSocketSession(token_hash);
    throw new CoreError(refused.revoked.code === LIMITS.closeBanned ? "banned" : "unauthorized");
  }
  if (refused) rememberRefusal(token_hash, new LimitReached(refused.budget, refused.limit, refused.retry_after_ms));
  if (seenLately(s.user.id, ip)) c.executionCtx.waitUntil(recordIp(countedDb(c.env), s.user.id, ip));
  return s;
}

/** Where users were seen lately, per isolate ("user|address" keys, each kept for
 * LIMITS.sessionSeenRefreshMs): a socket's address is written to D1 (recordIp,
 * what an IP ban covers) when this isolate has not written it for
 * LIMITS.sessionSeenRefreshMs (5 minutes, the precision of a
 * session's last_seen_at too), not on every open: that D1 write was most of a room
 * socket's D1 time, and D1 takes one query at a time. The address is written at
 * the first socket from it, so a ban covers it as before. Returns whether to write. */
const seenAt = isolateCache<string, true>(LIMITS.sessionSeenRefreshMs);
function seenLately(userId: number, ip: string): boolean {
  const key = `${userId}|${ip}`;
  if (seenAt.has(key)) return false;
  seenAt.set(key, true);
  return true;
}

/**
 * Hands an authenticated upgrade to a Durable Object. The request is built from
 * nothing: the upgrade and the facts the Worker vouches for, in FACTS_HEADER.
 * Nothing of the client's request is copied (its headers could pre-set ours), and
 * the object reads nothing else (durable-objects/README.md).
 */
function forwardSocket(stub: DurableObjectStub, facts: SocketFacts) {
  return stub.fetch(new Request("https://object.invalid/socket", {
    headers: { Upgrade: "websocket", [FACTS_HEADER]: JSON.stringify(facts) },
  }));
}

/** A room's socket: to the room, or, when the room answers with a relay (a big
 * room, durable-objects/room-relay.ts), to that relay with the same facts. */
async function forwardRoomSocket(env: Env, stub: DurableObjectStub, facts: SocketFacts & { room: { object: string } }) {
  const answer = await forwardSocket(stub, facts);
  const relay = answer.status === 101 ? null : answer.headers.get(RELAY_HEADER);
  if (relay === null) return answer;
  const j = Number(relay);
  noteRelayed(env);
  const relayStub = env.ROOM_RELAY.get(env.ROOM_RELAY.idFromName(relayName(facts.room.object, j)));
  return forwardSocket(relayStub, { ...facts, room: { ...facts.room, relay: j } });
}

/** The facts of a socket: the session's user, the session and the address. */
function socketFacts(c: Context<App>, s: LiveSession): SocketFacts {
  return { user: s.user, session: s.session, ip: clientIp(c.req.raw) };
}

// The personal socket of a user (every device of theirs), held by their UserHub.
route("/ws", {
  GET: [async (c) => {
    const s = await socketSession(c);
    return forwardSocket(hub(c.env, s.user.id), socketFacts(c, s));
  }],
});

route("/rooms", {
  GET: [async (c) => {
    const { user } = await auth(c);
    return c.json(await listRooms(core, c.env, user.id, new URL(c.req.url).search.slice(1)));
  }],
  POST: [limitBody, async (c) => {
    const { user } = await auth(c);
    return c.json(await createRoom(core, c.env, user, await jsonBody(c), clientIp(c.req.raw)), 201);
  }],
});

// Membership (issue 15): the room's object decides (the core's rules), D1 mirrors.
for (const action of ["join", "leave"] as const) {
  route(`/rooms/:id{[0-9]{1,15}}/${action}`, {
    POST: [async (c) => c.json(await changeMembership(core, c.env, (await auth(c)).user, Number(c.req.param("id")), action))],
  });
}
for (const action of ["invite", "kick"] as const) {
  route(`/rooms/:id{[0-9]{1,15}}/${action}`, {
    POST: [limitBody, async (c) => c.json(await changeMembership(core, c.env, (await auth(c)).user,
      Number(c.req.param("id")), action, await jsonBody(c)))],
  });
}

// Members, a page at a time: ?after=<user id>&limit=<1..500>.
route("/rooms/:id{[0-9]{1,15}}/members", {
  GET: [async (c) => c.json(await listMembers(core, c.env, (await auth(c)).user, Number(c.req.param("id")),
    new URL(c.req.url).search.slice(1)))],
});

// A room's socket, held by its ChatRoom.
route("/rooms/:id{[0-9]{1,15}}/ws", {
  GET: [async (c) => {
    const s = await socketSession(c);
    const roomId = Number(c.req.param("id"));
    // whom the user blocks comes from their hub when the room admits the socket
    const stub = await roomStub({ ...c.env, DB: countedDb(c.env) }, roomId);
    return forwardRoomSocket(c.env, stub, { ...socketFacts(c, s), room: { id: roomId, object: `room:${roomId}` } });
  }],
});

// Older history, a page at a time: ?before=<seq>&limit=<1..50>.
route("/rooms/:id{[0-9]{1,15}}/messages", {
  GET: [async (c) => {
    const { user } = await auth(c);
    const roomId = Number(c.req.param("id"));
    const page = await (await roomStub(c.env, roomId)).history(roomId, `room:${roomId}`,
      new URL(c.req.url).search.slice(1), { id: user.id, blocks: await blockList(c.env.DB, user.id) });
    if ("error" in page) throw new CoreError(page.error);
    return c.body(page.body, 200, { "Content-Type": "application/json" });
  }],
});

// Attachments (issue 17; worker/files.ts): POST the raw file (its name in
// X-File-Name), then name it in a message; GET it back, members only.
route("/rooms/:id{[0-9]{1,15}}/uploads", {
  POST: [async (c) => c.json(await upload(core, c.env, (await auth(c)).user.id, await roomPlace(c), c.req.raw), 201)],
});
route("/rooms/:id{[0-9]{1,15}}/attachments/:file{[0-9a-f]{32}}", {
  GET: [async (c) => download(core, c.env, (await auth(c)).user.id, await roomPlace(c), c.req.param("file")!)],
});
route("/dms/:id{[0-9]{1,15}}/uploads", {
  POST: [async (c) => {
    const { user } = await auth(c);
    const place = await dmPlace(c, user.id);
    const conversation = { id: place.id, user_a: place.members![0], user_b: place.members![1] };
    place.open = (await conversationConfig(core, c.env.DB, conversation)).open !== false;
    return c.json(await upload(core, c.env, user.id, place, c.req.raw), 201);
  }],
});
route("/dms/:id{[0-9]{1,15}}/attachments/:file{[0-9a-f]{32}}", {
  GET: [async (c) => {
    const { user } = await auth(c);
    return download(core, c.env, user.id, await dmPlace(c, user.id), c.req.param("file")!);
  }],
});

/** The room of a files route. */
async function roomPlace(c: Context<App>): Promise<Place> {
  const id = Number(c.req.param("id"));
  return { kind: "room", id, stub: await roomStub(c.env, id) };
}

/** The conversation of a files route: only its two people get one (not_member). */
async function dmPlace(c: Context<App>, userId: number): Promise<Place> {
  const conversation = await myConversation(c.env.DB, userId, Number(c.req.param("id")));
  return { kind: "dm", id: conversation.id, stub: conversationStub(c.env, conversation.id),
    members: [conversation.user_a, conversation.user_b] };
}

// Search (issue 17): ?q=<query>&before=<seq>&limit=<1..50>, newest first (worker/search.ts).
route("/rooms/:id{[0-9]{1,15}}/search", {
  GET: [async (c) => c.body(await searchRoom(c.env, (await auth(c)).user, Number(c.req.param("id")),
    new URL(c.req.url).search.slice(1)), 200, { "Content-Type": "application/json" })],
});

route("/dms/:id{[0-9]{1,15}}/search", {
  GET: [async (c) => c.body(await searchConversation(c.env, (await auth(c)).user, Number(c.req.param("id")),
    new URL(c.req.url).search.slice(1)), 200, { "Content-Type": "application/json" })],
});

// Across my rooms and conversations: ?q=<query>&limit=<1..50>.
route("/search", {
  GET: [async (c) => c.json(await searchEverywhere(core, c.env, (await auth(c)).user, new URL(c.req.url).search.slice(1)))],
});

// Friends and blocks: {username} in, the new relation out.
for (const action of ["add", "remove", "block", "unblock"] as const) {
  route(`/users/${action}`, {
    POST: [limitBody, async (c) => {
      const { user } = await auth(c);
      return c.json(await act(core, c.env, user, action, await jsonBody(c)));
    }],
  });
}

// Moderation (ADMIN only; the core decides): bans with the audit trail.
const moderation = { ban, unban, promote };
for (const [action, run] of Object.entries(moderation)) {
  route(`/users/${action}`, {
    POST: [limitBody, async (c) => c.json(await run(core, c.env, (await auth(c)).user, await jsonBody(c)))],
  });
}

route("/bans", {
  GET: [async (c) => c.json(await listBans(core, c.env.DB, (await auth(c)).user))],
});

// The audit trail's hash chain, checked from the first row (worker/audit.ts).
route("/bans/verify", {
  GET: [async (c) => c.json(await verifyBans(core, c.env.DB, (await auth(c)).user))],
});

route("/friends", {
  GET: [async (c) => c.json(await friendsOf(core, c.env.DB, (await auth(c)).user.id, new URL(c.req.url).searchParams))],
});

// Direct-message conversations: open one with a friend, list mine, and their
// socket and history, as for rooms.
route("/dms", {
  GET: [async (c) => c.json(await listConversations(core, c.env.DB, (await auth(c)).user.id))],
  POST: [limitBody, async (c) => c.json(await openConversation(core, c.env, (await auth(c)).user, await jsonBody(c)))],
});

route("/dms/:id{[0-9]{1,15}}/ws", {
  GET: [async (c) => {
    const s = await socketSession(c);
    const conversation = await myConversation(c.env.DB, s.user.id, Number(c.req.param("id")));
    const stub = conversationStub(c.env, conversation.id);
    // What the conversation is (its members, whether it is open) is told by RPC.
    await stub.configure(conversation.id, await conversationConfig(core, c.env.DB, conversation));
    return forwardSocket(stub, { ...socketFacts(c, s), room: { id: conversation.id, object: `dm:${conversation.id}` } });
  }],
});

route("/dms/:id{[0-9]{1,15}}/messages", {
  GET: [async (c) => {
    const { user } = await auth(c);
    const conversation = await myConversation(c.env.DB, user.id, Number(c.req.param("id")));
    const page = await conversationStub(c.env, conversation.id).history(conversation.id, `dm:${conversation.id}`,
      new URL(c.req.url).search.slice(1), { id: user.id, blocks: await blockList(c.env.DB, user.id) });
    if ("error" in page) throw new CoreError(page.error);
    return c.body(page.body, 200, { "Content-Type": "application/json" });
  }],
});

// Tests and benchmarks only (CHAT_DEBUG_COUNTERS): the D1 queries socket opens made
// in this isolate (worker/debug.ts), and argon2id alone: ?n= (0 to 8) verifications
// of a login against the dummy hash in this isolate's core, as a login of an
// unknown user makes one (the bench times n = 4 against n = 0: the runtime's clock
// does not move during the work, so it is timed from outside).
app.get("/__debug/counters", (c) => c.env.CHAT_DEBUG_COUNTERS === "1" ? c.json(debugCounters) : errorResponse("not_found"));
app.post("/__debug/hash", (c) => {
  if (c.env.CHAT_DEBUG_COUNTERS !== "1") return errorResponse("not_found");
  const n = Number(c.req.query("n") ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 8) return errorResponse("query_invalid");
  return c.json({ hashed: debugHashes(core, n) });
});

// Test-only: make the core trap, to prove the Worker survives it. Enabled only when
// the CHAT_TEST_HOOKS binding is "1" (set by the test configs, never in wrangler.toml).

app.post("/__test/trap", (c) => {
  if (c.env.CHAT_TEST_HOOKS !== "1") return errorResponse("not_found");
  core.trapForTest();
  return c.json({ trapped: false });
});

// Test-only: make a room's core trap, as a bug would (its object rebuilds it).
app.post("/__test/rooms/:id{[0-9]{1,15}}/trap", async (c) => {
  if (c.env.CHAT_TEST_HOOKS !== "1") return errorResponse("not_found");
  return c.json({ trapped: await (await roomStub(c.env, Number(c.req.param("id")))).trapForTest() });
});

app.notFound(() => errorResponse("not_found"));

app.onError((err) => {
  if (err instanceof CoreError) {
    const retry = (err as CoreError & { retryAfter?: number }).retryAfter;
    const details = err instanceof LimitReached
      ? { budget: err.budget, limit: err.limit, message: BUDGETS[err.budget].message } : undefined;
    return errorResponse(err.code, retry ? { "Retry-After": String(retry) } : undefined, details);
  }
  if (err instanceof CoreTrap) console.error("chat core trapped; instance rebuilt", err.message);
  else console.error("unhandled error", err);
  return errorResponse("internal");
});

export default app satisfies ExportedHandler<Env>;
