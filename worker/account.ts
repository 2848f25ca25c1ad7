/**
 * What a person controls about their own account (issue 20): the password and the
 * sessions. The core decides (password rules, argon2id, client descriptions);
 * this file moves bytes between the request, the core, D1 and the user's hub.
 * Every revoked session's sockets close within a second through UserHub.revoke
 * (LIMITS.closeSessionEnded), as a logout's do.
 */
import { passwordChecksRefused, revokeSockets, spendPasswordCheck, type LiveSession } from "./accounts";
import { spend } from "./budgets";
import type { CoreHost } from "./core";
import { CoreError, unreachable } from "./core";
import type { Env } from "./env";
import { LIMITS, type DeletionStep } from "./generated/core";
import { throttleReserve, throttleSucceed } from "./moderation";
import { conversationConfig, type Conversation } from "./dms";
import { conversationStub, hub } from "./social";

/**
 * POST /account/password {current, new}: the new password obeys the signup rules
 * (checked before anything else, so a refused one is no failed login); the
 * attempt is then counted like a login (throttleReserve, per username and
 * address), a wrong `current` is wrong_password and stays counted as a failed
 * login, a right one is given back and counted in the account's
 * password_checks_per_account budget (429 limit_reached past it: the password is
 * not changed). Every other session is revoked and its sockets closed; the
 * session that made the change stays.
 */
export async function changePassword(core: CoreHost, env: Env, s: LiveSession, body: Uint8Array, ip: string): Promise<{ ok: true; revoked: number }> {
  const db = env.DB;
  core.call("password_change", body);
  const row = await db.prepare("SELECT username_key, password_hash, password_nfkc FROM users WHERE id = ?")
    .bind(s.user.id).first<{ username_key: string; password_hash: string; password_nfkc: number }>();
  if (!row) throw new CoreError("unauthorized");
  passwordChecksRefused(row.username_key);
  const attempt = await throttleReserve(core, db, row.username_key, ip);
  const { password_hash } = await core.callHashing<{ password_hash: string }>("password_change", body,
    { password_hash: row.password_hash, password_nfkc: row.password_nfkc !== 0 });
  try {
    await spendPasswordCheck(core, env, row.username_key);
  } catch (e) {
    await throttleSucceed(core, db, attempt); // the password was right: no failed login
    throw e;
  }
  const now = Date.now();
  const [, revoked] = await db.batch([
    db.prepare("UPDATE users SET password_hash = ?, password_nfkc = 1 WHERE id = ?").bind(password_hash, s.user.id),
    db.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND rowid != ? AND revoked_at IS NULL")
      .bind(now, s.user.id, s.session),
  ]);
  await Promise.all([
    throttleSucceed(core, db, attempt),
    revokeSockets(env, s.user.id, { except: s.session }, LIMITS.closeSessionEnded, "password changed"),
  ]);
  return { ok: true, revoked: revoked?.meta.changes ?? 0 };
}

/** One session as its owner sees it: never its token or the token's hash. */
export interface SessionView {
  id: number;
  created_at: number;
  last_seen_at: number | null;
  client: string | null;
  current: boolean;
}

/** GET /account/sessions: my live sessions, newest first (at most LIMITS.listPage). */
export async function listSessions(db: D1Database, s: LiveSession): Promise<{ sessions: SessionView[] }> {
  const { results } = await db.prepare(
    `SELECT rowid AS id, created_at, last_seen_at, client FROM sessions
     WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, rowid DESC LIMIT ?`)
    .bind(s.user.id, Date.now(), LIMITS.listPage)
    .all<Omit<SessionView, "current">>();
  return { sessions: results.map((r) => ({ ...r, current: r.id === s.session })) };
}

/** DELETE /account/sessions/:id: revokes one of my sessions (this one too, like a
 * logout) and closes its sockets; not_found for a session that is not mine or
 * not live. */
export async function revokeSession(env: Env, s: LiveSession, id: number): Promise<{ ok: true }> {
  const r = await env.DB.prepare(
    "UPDATE sessions SET revoked_at = ?1 WHERE rowid = ?2 AND user_id = ?3 AND revoked_at IS NULL AND expires_at > ?1")
    .bind(Date.now(), id, s.user.id).run();
  if (r.meta.changes === 0) throw new CoreError("not_found");
  await revokeSockets(env, s.user.id, { session: id }, LIMITS.closeSessionEnded, "session revoked");
  return { ok: true };
}

/** POST /account/sessions/revoke-others: every session but this one. */
export async function revokeOthers(env: Env, s: LiveSession): Promise<{ ok: true; revoked: number }> {
  const r = await env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND rowid != ? AND revoked_at IS NULL")
    .bind(Date.now(), s.user.id, s.session).run();
  await revokeSockets(env, s.user.id, { except: s.session }, LIMITS.closeSessionEnded, "logged out elsewhere");
  return { ok: true, revoked: r.meta.changes };
}

/** A person as others see them: the username (the identity) and the display name
 * beside it (null: none; the client shows initials of whichever it shows). */
export interface Profile {
  id: number;
  username: string;
  display_name: string | null;
}

/** GET /account: me, with my display name. */
export async function accountView(db: D1Database, s: LiveSession): Promise<{ user: LiveSession["user"] & { display_name: string | null } }> {
  const row = await db.prepare("SELECT display_name FROM users WHERE id = ?").bind(s.user.id).first<{ display_name: string | null }>();
  return { user: { ...s.user, display_name: row?.display_name ?? null } };
}

/**
 * PUT /account/profile {display_name: s|null}: the core checks and normalises the
 * name (wasm/account.h) and makes the user_updated frame, which reaches every
 * open socket of the user's rooms and conversations (UserHub.profileChanged).
 */
export async function setProfile(core: CoreHost, env: Env, s: LiveSession, body: Uint8Array): Promise<{ user: Profile }> {
  const { display_name, frame } = core.call<{ display_name: string | null; frame: string }>("profile", body,
    { id: s.user.id, username: s.user.username });
  // Each change is told to every room where the user has a socket: counted first.
  await spend(core, env, "profile_changes_per_account", s.user.id);
  await env.DB.prepare("UPDATE users SET display_name = ? WHERE id = ?").bind(display_name, s.user.id).run();
  await hub(env, s.user.id).profileChanged(s.user.id, frame);
  return { user: { id: s.user.id, username: s.user.username, display_name } };
}

/** GET /users/profiles?ids=1,2,3: the profiles of up to LIMITS.listPage users (the
 * client asks for the authors it shows); unknown ids are left out. */
export async function profiles(db: D1Database, query: URLSearchParams): Promise<{ profiles: Profile[] }> {
  const ids = query.get("ids") ?? "";
  const list = ids.split(",");
  if (!/^[0-9]{1,15}(,[0-9]{1,15})*$/.test(ids) || list.length > LIMITS.listPage) throw new CoreError("query_invalid");
  const { results } = await db.prepare(
    "SELECT id, username, display_name FROM users WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id")
    .bind(JSON.stringify(list.map(Number))).all<Profile>();
  return { profiles: results };
}

/** The names (as in idFromName) of every room and conversation where the user's
 * messages can be, a page of at most LIMITS.listPage at a time: those the user's
 * hub saw them open a socket in (UserHub.visited), then their conversations in D1
 * (which the register may not know if it is younger than they are). */
async function* objectPages(env: Env, userId: number): AsyncGenerator<string[]> {
  const seen = new Set<string>();
  for (let after = "";;) {
    const page = await hub(env, userId).visited(after, LIMITS.listPage);
    if (page.length === 0) break;
    page.forEach((o) => seen.add(o));
    yield page;
    after = page[page.length - 1]!;
  }
  for await (const results of conversationPages(env.DB, userId)) {
    const page = results.map((r) => `dm:${r.id}`).filter((o) => !seen.has(o));
    if (page.length) yield page;
  }
}

/** The user's conversations in D1, a page of at most LIMITS.listPage at a time. */
async function* conversationPages(db: D1Database, userId: number): AsyncGenerator<Conversation[]> {
  for (let after = 0;;) {
    const { results } = await db.prepare(
      "SELECT id, user_a, user_b FROM dm_conversations WHERE (user_a = ?1 OR user_b = ?1) AND id > ?2 ORDER BY id LIMIT ?3")
      .bind(userId, after, LIMITS.listPage).all<Conversation>();
    if (results.length === 0) return;
    yield results;
    after = results[results.length - 1]!.id;
  }
}

const objectStub = (env: Env, name: string) => env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(name));

/**
 * DELETE /account {password}: the password is verified (throttled like a login, a
 * wrong one counted as a failed login), then the core's effects are carried out
 * in the core's order (wasm/account.h ACCOUNT_DELETION_STEPS; PROTOCOL.md says
 * what is deleted and kept). Each effect is idempotent.
 */
export async function deleteAccount(core: CoreHost, env: Env, s: LiveSession, body: Uint8Array, ip: string): Promise<{ ok: true; release_at: number }> {
  const db = env.DB;
  const id = s.user.id;
  core.call("account_delete", body);
  const row = await db.prepare("SELECT username_key, password_hash, password_nfkc FROM users WHERE id = ?")
    .bind(id).first<{ username_key: string; password_hash: string; password_nfkc: number }>();
  if (!row) throw new CoreError("unauthorized");
  const attempt = await throttleReserve(core, db, row.username_key, ip);
  const now = Date.now();
  const plan = core.call<{ steps: DeletionStep[]; tombstone: string; release_at: number }>(
    "account_delete", body, { password_hash: row.password_hash, password_nfkc: row.password_nfkc !== 0, user: { id } }, now);
  await throttleSucceed(core, db, attempt);
  for (const step of plan.steps) {
    switch (step) {
      case "revoke_sessions":
        await db.batch([
          db.prepare("UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL").bind(now, id),
          // No password verifies this (not an argon2id string: verified like an
          // unknown user, against the dummy hash, auth.h).
          db.prepare("UPDATE users SET password_hash = '!deleted', deleted_at = coalesce(deleted_at, ?1) WHERE id = ?2").bind(now, id),
        ]);
        break;
      case "close_sockets":
        await revokeSockets(env, id, {}, LIMITS.closeSessionEnded, "account deleted");
        break;
      case "erase_messages":
        for await (const page of objectPages(env, id)) {
          await Promise.all(page.map((o) => objectStub(env, o).eraseUser(id, plan.tombstone)));
        }
        break;
      case "remove_relations":
        await db.batch([
          db.prepare("DELETE FROM friendships WHERE user_id = ?1 OR friend_id = ?1").bind(id),
          db.prepare("DELETE FROM friend_requests WHERE from_id = ?1 OR to_id = ?1").bind(id),
          db.prepare("DELETE FROM blocks WHERE blocker_id = ?1 OR blocked_id = ?1").bind(id),
          db.prepare("DELETE FROM user_ips WHERE user_id = ?1").bind(id),
          db.prepare("DELETE FROM room_members WHERE user_id = ?1").bind(id),
          db.prepare("UPDATE dm_conversations SET last_body = '' WHERE last_user_id = ?1").bind(id),
        ]);
        // Their conversations close now (no friendship left), for a socket the
        // other person already has open too: the configuration comes from D1.
        for await (const page of conversationPages(db, id)) {
          await Promise.all(page.map(async (c) => conversationStub(env, c.id).configure(c.id, await conversationConfig(core, db, c))));
        }
        break;
      case "remove_presence":
        await hub(env, id).erase();
        break;
      case "tombstone_account":
        await db.prepare("UPDATE users SET username = ?1, display_name = NULL, release_at = ?2 WHERE id = ?3")
          .bind(plan.tombstone, plan.release_at, id).run();
        break;
      default:
        unreachable(step);
    }
  }
  return { ok: true, release_at: plan.release_at };
}

/**
 * GET /account/export (GDPR Article 20): one JSON document, streamed, whose shape
 * PROTOCOL.md documents: my account and sessions, friends, requests and blocks, the
 * rooms I created, my conversations, and every message of mine still stored, room
 * by room (a page of LIMITS.listPage objects at a time, each read a page of
 * LIMITS.exportPage messages at a time through the object's RPC). Memory stays
 * bounded by one page whatever the account's size.
 */
export function exportAccount(env: Env, s: LiveSession, waitUntil: (p: Promise<unknown>) => void): Response {
  const db = env.DB;
  const id = s.user.id;
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const enc = new TextEncoder();
  const put = (text: string) => writer.write(enc.encode(text));
  const list = async (sql: string, ...args: unknown[]) => (await db.prepare(sql).bind(...args).all()).results;
  const write = async () => {
    const account = await db.prepare("SELECT id, username, display_name, role, created_at FROM users WHERE id = ?").bind(id).first();
    await put(`{"format":"chat-export/1","exported_at":${Date.now()},"account":${JSON.stringify(account)}`);
    const sections: [string, string][] = [
      ["sessions", "SELECT rowid AS id, created_at, last_seen_at, client FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL ORDER BY created_at"],
      ["friends", "SELECT u.id, u.username, f.since FROM friendships f JOIN users u ON u.id = f.friend_id WHERE f.user_id = ?1 ORDER BY u.id"],
      ["requests_sent", "SELECT u.id, u.username, r.created_at FROM friend_requests r JOIN users u ON u.id = r.to_id WHERE r.from_id = ?1 ORDER BY u.id"],
      ["requests_received", "SELECT u.id, u.username, r.created_at FROM friend_requests r JOIN users u ON u.id = r.from_id WHERE r.to_id = ?1 ORDER BY u.id"],
      ["blocks", "SELECT u.id, u.username, b.created_at FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = ?1 ORDER BY u.id"],
      ["rooms_created", "SELECT id, name, created_at FROM rooms WHERE created_by = ?1 ORDER BY id"],
      ["conversations", `SELECT c.id, u.id AS with_id, u.username AS with_username, c.created_at FROM dm_conversations c
                         JOIN users u ON u.id = CASE WHEN c.user_a = ?1 THEN c.user_b ELSE c.user_a END
                         WHERE c.user_a = ?1 OR c.user_b = ?1 ORDER BY c.id`],
    ];
    for (const [name, sql] of sections) await put(`,${JSON.stringify(name)}:${JSON.stringify(await list(sql, id))}`);
    await put(`,"messages":[`);
    let first = true;
    for await (const page of objectPages(env, id)) {
      for (const object of page) {
        const [kind] = object.split(":") as ["room" | "dm"];
        for (let after = 0;;) {
          const { room_id, messages } = await objectStub(env, object).authored(id, after, LIMITS.exportPage);
          for (const m of messages) {
            await put(`${first ? "" : ","}${JSON.stringify({ kind, [kind === "dm" ? "conversation_id" : "room_id"]: room_id, ...m })}`);
            first = false;
          }
          if (messages.length < LIMITS.exportPage) break;
          after = messages[messages.length - 1]!.seq;
        }
      }
    }
    await put("]}");
    await writer.close();
  };
  waitUntil(write().catch((e) => writer.abort(e)));
  return new Response(readable, {
    headers: { "Content-Type": "application/json", "Content-Disposition": `attachment; filename="chat-export-${id}.json"` },
  });
}
