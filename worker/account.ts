/**
 * What a person controls about their own account (issue 20): the password and the
 * sessions. The core decides (password rules, argon2id, client descriptions);
 * this file moves bytes between the request, the core, D1 and the user's hub.
 * Every revoked session's sockets close within a second through UserHub.revoke
 * (LIMITS.closeSessionEnded), as a logout's do.
 */
import type { LiveSession } from "./accounts";
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import type { Env } from "./env";
import { LIMITS } from "./generated/core";
import { throttleReserve, throttleSucceed } from "./moderation";
import { hub } from "./social";

/**
 * POST /account/password {current, new}: the new password obeys the signup rules
 * (checked before anything else, so a refused one is no failed login); the
 * attempt is then counted like a login (throttleReserve, per username and
 * address), a wrong `current` is wrong_password and stays counted as a failed
 * login, a right one is given back. Every other session is revoked and its
 * sockets closed; the session that made the change stays.
 */
export async function changePassword(core: CoreHost, env: Env, s: LiveSession, body: Uint8Array, ip: string): Promise<{ ok: true; revoked: number }> {
  const db = env.DB;
  core.call("password_change", body);
  const row = await db.prepare("SELECT username_key, password_hash, password_nfkc FROM users WHERE id = ?")
    .bind(s.user.id).first<{ username_key: string; password_hash: string; password_nfkc: number }>();
  if (!row) throw new CoreError("unauthorized");
  const attempt = await throttleReserve(core, db, row.username_key, ip);
  const { password_hash } = core.call<{ password_hash: string }>("password_change", body,
    { password_hash: row.password_hash, password_nfkc: row.password_nfkc !== 0 });
  const now = Date.now();
  const [, revoked] = await db.batch([
    db.prepare("UPDATE users SET password_hash = ?, password_nfkc = 1 WHERE id = ?").bind(password_hash, s.user.id),
    db.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND rowid != ? AND revoked_at IS NULL")
      .bind(now, s.user.id, s.session),
  ]);
  await Promise.all([
    throttleSucceed(core, db, attempt),
    hub(env, s.user.id).revoke(s.user.id, { except: s.session }, LIMITS.closeSessionEnded, "password changed"),
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
  await hub(env, s.user.id).revoke(s.user.id, { session: id }, LIMITS.closeSessionEnded, "session revoked");
  return { ok: true };
}

/** POST /account/sessions/revoke-others: every session but this one. */
export async function revokeOthers(env: Env, s: LiveSession): Promise<{ ok: true; revoked: number }> {
  const r = await env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND rowid != ? AND revoked_at IS NULL")
    .bind(Date.now(), s.user.id, s.session).run();
  await hub(env, s.user.id).revoke(s.user.id, { except: s.session }, LIMITS.closeSessionEnded, "logged out elsewhere");
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
  await env.DB.prepare("UPDATE users SET display_name = ? WHERE id = ?").bind(display_name, s.user.id).run();
  await hub(env, s.user.id).profileChanged(frame);
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
