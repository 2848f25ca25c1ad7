/**
 * Moderation: bans (with the user's addresses), unbans, promotions, the audit
 * trail, the IP-ban gate at the front of the Worker, and login throttling. The
 * core decides who may do what (wasm/moderation.h); this file stores and enforces.
 */
import { forgetSocketSessions } from "./accounts";
import { appendLog, sealTail, verifyLog } from "./audit";
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
    // One row per (address, banned user): an address stays banned while any ban names it.
    const rows = await db.prepare("SELECT DISTINCT ip FROM ip_bans").all<{ ip: string }>();
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
                     FROM users u WHERE u.username_key = ? AND u.deleted_at IS NULL`).bind(usernameKey)
    .first<Target>().then((t) => (t ? { ...t, banned: !!t.banned } : null));
}

/** Reads the request and asks the core whether `actor` may do `action` (the core
 * checks the actor's role before anything about the target). */
async function decide(core: CoreHost, db: D1Database, actor: PublicUser, action: "ban" | "unban" | "promote",
                      body: Uint8Array) {
  const req = core.call<{ username_key: string; ip: boolean; reason: string | null }>("mod_request", body);
  const t = await target(db, req.username_key);
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
  await appendLog(core, env.DB, { action: "ban", target_id: t.id, actor_id: actor.id, reason: req.reason,
    ip: req.ip ? 1 : 0, ips: JSON.stringify(ips), created_at: now }, [
    env.DB.prepare("INSERT INTO user_bans (user_id, banned_by, reason, created_at) VALUES (?, ?, ?, ?)")
      .bind(t.id, actor.id, req.reason, now),
    env.DB.prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL").bind(now, t.id),
    ...ips.map((ip) => env.DB.prepare("INSERT OR IGNORE INTO ip_bans (ip, user_id, created_at) VALUES (?, ?, ?)")
      .bind(ip, t.id, now)),
  ]);
  if (banned) for (const ip of ips) banned.ips.add(ip);
  forgetSocketSessions(t.id); // this isolate's cache lets none through, even if the hub could not be told
  await hub(env, t.id).ban(t.id, req.reason ? `banned: ${req.reason}` : "banned");
  if (ips.length) await closeFromAddresses(env, t.id, ips);
  return { banned: { id: t.id, username: t.username }, ips };
}

/**
 * An IP ban refuses new requests from the addresses at the front of the Worker;
 * this ends what is already open from them: every socket that another user seen at
 * one of the addresses opened from it closes with LIMITS.closeBanned.
 */
async function closeFromAddresses(env: Env, bannedId: number, ips: string[]) {
  const seen = await env.DB.prepare(`SELECT DISTINCT user_id FROM user_ips
      WHERE user_id != ?1 AND ip IN (SELECT value FROM json_each(?2))`)
    .bind(bannedId, JSON.stringify(ips)).all<{ user_id: number }>();
  await Promise.all(seen.results.map(({ user_id }) =>
    hub(env, user_id).revoke(user_id, { ips }, LIMITS.closeBanned, "address banned")));
}

/** POST /users/unban {username}: lifts the ban and the address bans it brought;
 * an address another ban in force also names stays banned (migration 0006). */
export async function unban(core: CoreHost, env: Env, actor: PublicUser, body: Uint8Array) {
  const { req, target: t } = await decide(core, env.DB, actor, "unban", body);
  await appendLog(core, env.DB, { action: "unban", target_id: t.id, actor_id: actor.id, reason: req.reason,
    ip: 0, ips: null, created_at: Date.now() }, [
    env.DB.prepare("DELETE FROM user_bans WHERE user_id = ?").bind(t.id),
    env.DB.prepare("DELETE FROM ip_bans WHERE user_id = ?").bind(t.id),
  ]);
  banned = null; // reload: the lifted addresses are allowed again at once here
  return { unbanned: { id: t.id, username: t.username } };
}

/** POST /users/promote {username}: makes a USER an ADMIN. */
export async function promote(core: CoreHost, env: Env, actor: PublicUser, body: Uint8Array) {
  const { req, target: t } = await decide(core, env.DB, actor, "promote", body);
  await appendLog(core, env.DB, { action: "promote", target_id: t.id, actor_id: actor.id, reason: req.reason,
    ip: 0, ips: null, created_at: Date.now() }, [
    env.DB.prepare("UPDATE users SET role = 'ADMIN' WHERE id = ?").bind(t.id),
  ]);
  forgetSocketSessions(t.id); // their next socket here carries the role
  return { promoted: { id: t.id, username: t.username, role: "ADMIN" } };
}

/**
 * GET /bans/verify (ADMIN): checks the audit trail's hash chain (worker/audit.ts),
 * after sealing the rows written without a hash (from before the chain, or by
 * `make admin` on an older checkout). {"ok": true, "rows", "head", "head_id"}, or
 * {"ok": false, "broken_at": the first broken row's id, "why"}.
 */
export async function verifyBans(core: CoreHost, db: D1Database, actor: PublicUser) {
  core.call("moderate", undefined, { action: "view", actor: { id: actor.id, role: actor.role } });
  await sealTail(core, db);
  return verifyLog(core, db);
}

/** GET /bans (ADMIN): the bans in force and the whole audit trail, newest first. */
export async function listBans(core: CoreHost, db: D1Database, actor: PublicUser) {
  core.call("moderate", undefined, { action: "view", actor: { id: actor.id, role: actor.role } });
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
interface Counters { user: Counter; ip: Counter }
interface Keys { user: string; ip: string }

/** A login attempt counted by throttleReserve, to settle once its password is known. */
export interface Attempt {
  keys: Keys;
  /** The address counter's window the attempt was counted in (the core's "ip_window"). */
  ipWindow: number;
}

/** Both counters of a login as stored now. Missing rows are created at zero first,
 * so that every later write is a compare-and-swap on a row that exists. */
async function readCounters(db: D1Database, k: Keys): Promise<Counters> {
  const [, rows] = await db.batch<Counter & { key: string }>([
    db.prepare("INSERT INTO login_failures (key, count, window_start) VALUES (?1, 0, 0), (?2, 0, 0) ON CONFLICT (key) DO NOTHING")
      .bind(k.user, k.ip),
    db.prepare("SELECT key, count, window_start FROM login_failures WHERE key IN (?1, ?2)").bind(k.user, k.ip),
  ]);
  const get = (key: string): Counter => {
    const r = rows!.results.find((x) => x.key === key)!;
    return { count: r.count, window_start: r.window_start };
  };
  return { user: get(k.user), ip: get(k.ip) };
}

/**
 * Writes both counters if both still hold what was read, and says whether it did.
 * D1 has no interactive transactions, so this is a compare-and-swap in one
 * statement: D1 runs statements one at a time, and SQLite evaluates the
 * uncorrelated sub-select once, before any row changes, so the two rows change
 * together or not at all. Of two logins that read the same counters, one writes.
 */
async function swapCounters(db: D1Database, k: Keys, seen: Counters, next: Counters): Promise<boolean> {
  const r = await db.prepare(`UPDATE login_failures
      SET count = CASE key WHEN ?1 THEN ?3 ELSE ?4 END, window_start = CASE key WHEN ?1 THEN ?5 ELSE ?6 END
      WHERE key IN (?1, ?2) AND (SELECT count(*) FROM login_failures
        WHERE (key = ?1 AND count = ?7 AND window_start = ?8) OR (key = ?2 AND count = ?9 AND window_start = ?10)) = 2`)
    .bind(k.user, k.ip, next.user.count, next.ip.count, next.user.window_start, next.ip.window_start,
      seen.user.count, seen.user.window_start, seen.ip.count, seen.ip.window_start).run();
  return r.meta.changes === 2;
}

export const tooManyAttempts = (retryAfterMs: number) =>
  Object.assign(new CoreError("too_many_attempts"), { retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)) });

/**
 * Before a login's password is verified: counts the attempt against the username
 * and the address (the core's "reserve", wasm/moderation.h), or refuses it with
 * too_many_attempts and the seconds to wait. The attempt is stored before the
 * argon2id work starts, so concurrent logins cannot get more than the limit
 * verified. A lost race reads again, at most LIMITS.loginReserveTries times; then
 * the login is refused as too many attempts (Retry-After 1 s): the counters are that
 * busy only under a burst of logins on one name or address.
 */
export async function throttleReserve(core: CoreHost, db: D1Database, userKey: string, ip: string): Promise<Attempt> {
  const keys = { user: `user:${userKey}`, ip: `ip:${ip}` };
  for (let i = 0; i < LIMITS.loginReserveTries; i++) {
    const seen = await readCounters(db, keys);
    const d = core.call<Counters & { allowed: boolean; retry_after_ms: number }>("throttle", undefined, { step: "reserve", ...seen });
    if (!d.allowed) throw tooManyAttempts(d.retry_after_ms);
    if (await swapCounters(db, keys, seen, d)) return { keys, ipWindow: d.ip.window_start };
  }
  throw tooManyAttempts(1000);
}

/**
 * After a reserved attempt's password checked out: the username's failures are
 * forgotten, and the address gets its attempt back, as the core's "success"
 * decides. So an address counts failed logins only: people behind one NAT who log
 * in correctly do not lock each other out. If every try loses a race, the attempt
 * stays counted (the safe side).
 */
export async function throttleSucceed(core: CoreHost, db: D1Database, attempt: Attempt): Promise<void> {
  for (let i = 0; i < LIMITS.loginReserveTries; i++) {
    const seen = await readCounters(db, attempt.keys);
    const next = core.call<Counters>("throttle", undefined, { step: "success", ...seen, ip_window: attempt.ipWindow });
    if (await swapCounters(db, attempt.keys, seen, next)) return;
  }
}
