/**
 * Moderation: bans (with the user's addresses), unbans, promotions, the audit
 * trail, the IP-ban gate at the front of the Worker, and login throttling. The
 * core decides who may do what (wasm/moderation.h); this file stores and enforces.
 */
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import type { Env, PublicUser } from "./env";
import { LIMITS } from "./generated/core";
import { hub } from "./social";

/** The address the platform reports for the client. Cloudflare sets
 * CF-Connecting-IP on every request (overwriting any sent by the client); the
 * local runtime sets it from the socket's peer address. */
export function clientIp(req: Request): string {
  return req.headers.get("CF-Connecting-IP") ?? "unknown";
}

// The banned addresses, per isolate, reloaded when older than LIMITS.ipBanCacheMs:
// one D1 query per isolate per 10 s instead of one per request. A ban made in this
// isolate updates it at once.
let banned: { ips: Set<string>; loadedAt: number } | null = null;

async function bannedIps(db: D1Database): Promise<Set<string>> {
  if (!banned || Date.now() - banned.loadedAt > LIMITS.ipBanCacheMs) {
    const rows = await db.prepare("SELECT ip FROM ip_bans").all<{ ip: string }>();
    banned = { ips: new Set(rows.results.map((r) => r.ip)), loadedAt: Date.now() };
  }
  return banned.ips;
}

/** Whether the request's address is banned (the Worker answers 403 ip_banned). */
export async function ipBanned(db: D1Database, req: Request): Promise<boolean> {
  return (await bannedIps(db)).has(clientIp(req));
}

/** Remembers that a user was seen at an address (signup, login, socket connect). */
export function recordIp(db: D1Database, userId: number, ip: string): Promise<unknown> {
  const now = Date.now();
  return db.prepare(`INSERT INTO user_ips (user_id, ip, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                     ON CONFLICT (user_id, ip) DO UPDATE SET last_seen = ?3`).bind(userId, ip, now).run();
}

interface Target extends PublicUser {
  banned: boolean;
}

async function target(db: D1Database, usernameKey: string) {
  return db.prepare(`SELECT u.id, u.username, u.role, EXISTS (SELECT 1 FROM user_bans b WHERE b.user_id = u.id) AS banned
                     FROM users u WHERE u.username_key = ?`).bind(usernameKey)
    .first<Target>().then((t) => (t ? { ...t, banned: !!t.banned } : null));
}

/** Reads the request and asks the core whether `actor` may do `action`. */
async function decide(core: CoreHost, db: D1Database, actor: PublicUser, action: "ban" | "unban" | "promote",
                      body: Uint8Array) {
  const req = core.call<{ username_key: string; ip: boolean; reason: string | null }>("mod_request", body);
  const t = actor.role === "ADMIN" ? await target(db, req.username_key) : null;
  core.call("moderate", undefined, { action, actor: { id: actor.id, role: actor.role }, target: t });
  return { req, target: t! }; // the core refused a missing target
}

/**
 * POST /users/ban {username, ip?, reason?}: revokes every session, refuses the
 * account from now on, closes every socket it holds (personal, rooms, DMs), and
 * with ip: true bans every address it was seen with. Logged in the audit trail.
 */
export async function ban(core: CoreHost, env: Env, actor: PublicUser, body: Uint8Array) {
  const { req, target: t } = await decide(core, env.DB, actor, "ban", body);
  const now = Date.now();
  const ips = req.ip
    ? (await env.DB.prepare("SELECT ip FROM user_ips WHERE user_id = ?").bind(t.id).all<{ ip: string }>()).results.map((r) => r.ip)
    : [];
  await env.DB.batch([
    env.DB.prepare("INSERT INTO user_bans (user_id, banned_by, reason, created_at) VALUES (?, ?, ?, ?)")
      .bind(t.id, actor.id, req.reason, now),
    env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL").bind(now, t.id),
    ...ips.map((ip) => env.DB.prepare("INSERT OR IGNORE INTO ip_bans (ip, user_id, created_at) VALUES (?, ?, ?)")
      .bind(ip, t.id, now)),
    env.DB.prepare(`INSERT INTO moderation_log (action, target_id, actor_id, reason, ip, ips, created_at)
                    VALUES ('ban', ?, ?, ?, ?, ?, ?)`).bind(t.id, actor.id, req.reason, req.ip ? 1 : 0, JSON.stringify(ips), now),
  ]);
  if (banned) for (const ip of ips) banned.ips.add(ip);
  await hub(env, t.id).ban(t.id, req.reason ? `banned: ${req.reason}` : "banned");
  return { banned: { id: t.id, username: t.username }, ips };
}

/** POST /users/unban {username}: lifts the ban and the address bans it brought. */
export async function unban(core: CoreHost, env: Env, actor: PublicUser, body: Uint8Array) {
  const { req, target: t } = await decide(core, env.DB, actor, "unban", body);
  await env.DB.batch([
    env.DB.prepare("DELETE FROM user_bans WHERE user_id = ?").bind(t.id),
    env.DB.prepare("DELETE FROM ip_bans WHERE user_id = ?").bind(t.id),
    env.DB.prepare(`INSERT INTO moderation_log (action, target_id, actor_id, reason, created_at)
                    VALUES ('unban', ?, ?, ?, ?)`).bind(t.id, actor.id, req.reason, Date.now()),
  ]);
  banned = null; // reload: the lifted addresses are allowed again at once here
  return { unbanned: { id: t.id, username: t.username } };
}

/** POST /users/promote {username}: makes a USER an ADMIN. */
export async function promote(core: CoreHost, env: Env, actor: PublicUser, body: Uint8Array) {
  const { req, target: t } = await decide(core, env.DB, actor, "promote", body);
  await env.DB.batch([
    env.DB.prepare("UPDATE users SET role = 'ADMIN' WHERE id = ?").bind(t.id),
    env.DB.prepare(`INSERT INTO moderation_log (action, target_id, actor_id, reason, created_at)
                    VALUES ('promote', ?, ?, ?, ?)`).bind(t.id, actor.id, req.reason, Date.now()),
  ]);
  return { promoted: { id: t.id, username: t.username, role: "ADMIN" } };
}

/** GET /bans (ADMIN): the bans in force and the whole audit trail, newest first. */
export async function listBans(core: CoreHost, db: D1Database, actor: PublicUser) {
  if (actor.role !== "ADMIN") {
    core.call("moderate", undefined, { action: "ban", actor: { id: actor.id, role: actor.role }, target: null });
  }
  const [current, log] = await db.batch<Record<string, unknown>>([
    db.prepare(`SELECT u.id, u.username, a.id AS by_id, a.username AS by_username, b.reason, b.created_at,
                  (SELECT json_group_array(ip) FROM ip_bans i WHERE i.user_id = b.user_id) AS ips
                FROM user_bans b JOIN users u ON u.id = b.user_id JOIN users a ON a.id = b.banned_by
                ORDER BY b.created_at DESC`),
    db.prepare(`SELECT l.id, l.action, t.id AS target_id, t.username AS target, a.id AS actor_id,
                  a.username AS actor, l.reason, l.ip, l.ips, l.created_at
                FROM moderation_log l JOIN users t ON t.id = l.target_id LEFT JOIN users a ON a.id = l.actor_id
                ORDER BY l.id DESC LIMIT 500`),
  ]);
  return {
    bans: current!.results.map((b) => ({
      user: { id: b.id, username: b.username }, by: { id: b.by_id, username: b.by_username },
      reason: b.reason, at: b.created_at, ips: JSON.parse(b.ips as string),
    })),
    log: log!.results.map((l) => ({
      id: l.id, action: l.action, target: { id: l.target_id, username: l.target },
      actor: l.actor_id === null ? null : { id: l.actor_id, username: l.actor },
      reason: l.reason, ip: !!l.ip, ips: l.ips ? JSON.parse(l.ips as string) : [], at: l.created_at,
    })),
  };
}

type Counter = { count: number; window_start: number };

async function counters(db: D1Database, userKey: string, ip: string) {
  const rows = await db.prepare("SELECT key, count, window_start FROM login_failures WHERE key IN (?, ?)")
    .bind(`user:${userKey}`, `ip:${ip}`).all<Counter & { key: string }>();
  const get = (k: string): Counter => rows.results.find((r) => r.key === k) ?? { count: 0, window_start: 0 };
  return { user: get(`user:${userKey}`), ip: get(`ip:${ip}`) };
}

/** Before a login: refuses with too_many_attempts (and the seconds to wait) when
 * the username or the address failed too often (the core's numbers). */
export async function throttleCheck(core: CoreHost, db: D1Database, userKey: string, ip: string) {
  const c = await counters(db, userKey, ip);
  const { allowed, retry_after_ms } = core.call<{ allowed: boolean; retry_after_ms: number }>(
    "throttle", undefined, { step: "check", ...c });
  if (!allowed) throw Object.assign(new CoreError("too_many_attempts"), { retryAfter: Math.ceil(retry_after_ms / 1000) });
}

/** After a failed login: one more failure for the username and the address. */
export async function throttleFail(core: CoreHost, db: D1Database, userKey: string, ip: string) {
  const next = core.call<{ user: Counter; ip: Counter }>("throttle", undefined, { step: "fail", ...(await counters(db, userKey, ip)) });
  const put = (k: string, v: Counter) =>
    db.prepare(`INSERT INTO login_failures (key, count, window_start) VALUES (?1, ?2, ?3)
                ON CONFLICT (key) DO UPDATE SET count = ?2, window_start = ?3`).bind(k, v.count, v.window_start);
  await db.batch([put(`user:${userKey}`, next.user), put(`ip:${ip}`, next.ip)]);
}

/** After a correct login: the username's failures are forgotten. */
export function throttleReset(db: D1Database, userKey: string) {
  return db.prepare("DELETE FROM login_failures WHERE key = ?").bind(`user:${userKey}`).run();
}
