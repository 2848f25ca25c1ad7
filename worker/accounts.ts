/**
 * Accounts: signup, login, logout, the current user. The core decides (username
 * and password rules, argon2id, token format and hashing); this file moves bytes
 * between the request, the core and D1.
 */
import { budgetKey, refusedLately, spend } from "./budgets";
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import type { Env, PublicUser, Revocation } from "./env";
import { LIMITS } from "./generated/core";
import { hub } from "./social";
import { isolateCache } from "./isolate-cache";
import { recordIp, throttleReserve, throttleSucceed } from "./moderation";

interface SessionFacts {
  token: string;
  token_hash: string;
  expires_at: number;
}

/** What signup and login answer: the user and a new session token. */
export interface SessionBody {
  user: PublicUser;
  token: string;
  expires_at: number;
}

/** A new session of the user, described by the core from its User-Agent (a coarse
 * "Firefox on Linux", never the header itself: account.h), made only while
 * `passwordHash` (the hash the password was just proven against) is still the
 * account's and the account is not deleted: a password change or a deletion that
 * lands between the check and this insert revoked every session there was, and
 * this one is not made (invalid_credentials). The user keeps at most
 * LIMITS.userSessionsMax live sessions: those past it, oldest first, end in the
 * same batch, and their sockets close (LIMITS.closeSessionEnded) as a logout's do. */
async function newSession(core: CoreHost, env: Env, userId: number, passwordHash: string, userAgent: string): Promise<SessionFacts> {
  const now = Date.now();
  const s = core.call<SessionFacts>("session_new", undefined, undefined, now);
  const { client } = core.call<{ client: string }>("client_describe", userAgent);
  const db = env.DB;
  const [made, ended] = await db.batch<{ session: number }>([
    db.prepare(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, client)
                SELECT ?1, ?2, ?3, ?4, ?3, ?5 WHERE EXISTS
                  (SELECT 1 FROM users WHERE id = ?2 AND password_hash = ?6 AND deleted_at IS NULL)`)
      .bind(s.token_hash, userId, now, s.expires_at, client, passwordHash),
    db.prepare(`UPDATE sessions SET revoked_at = ?1 WHERE rowid IN (
                  SELECT rowid FROM sessions WHERE user_id = ?2 AND revoked_at IS NULL AND expires_at > ?1
                  ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?3)
                RETURNING rowid AS session`).bind(now, userId, LIMITS.userSessionsMax),
  ]);
  await Promise.all((ended?.results ?? []).map(({ session }) =>
    revokeSockets(env, userId, { session }, LIMITS.closeSessionEnded, "signed in on too many devices")));
  if (made?.meta.changes !== 1) throw new CoreError("invalid_credentials");
  return s;
}

/** Throws the refusal of the user's password_checks_per_account budget while an
 * isolate remembers one: before the throttle counts an attempt and before argon2id. */
export function passwordChecksRefused(usernameKey: string): void {
  refusedLately(budgetKey("password_checks_per_account", usernameKey));
}

/** One correct password of the user (a login, a password change) against their
 * password_checks_per_account budget, counted once argon2id said it is right:
 * throws LimitReached past it. Wrong ones are the login throttle's. */
export async function spendPasswordCheck(core: CoreHost, env: Pick<Env, "DB" | "CHAT_BUDGET_SCALE">,
                                         usernameKey: string): Promise<void> {
  await spend(core, env, "password_checks_per_account", usernameKey);
}

/** POST /signup: body {username, password}. 201 with a session, or a CoreError.
 * A name is taken when its key (case) or its skeleton (look-alike characters) is
 * (auth.h); the hash is of the password's NFKC form (password_nfkc = 1). */
export async function signup(core: CoreHost, env: Env, body: Uint8Array, ip: string, userAgent = ""): Promise<SessionBody> {
  const db = env.DB;
  // An address refused a signup lately is refused again before any query (budgets.ts).
  refusedLately(budgetKey("signups_per_address", ip));
  // A taken name is refused before argon2id spends ~60 ms on it; the INSERT below
  // still settles races between two signups of one name or of two look-alikes:
  // ON CONFLICT without a target covers both UNIQUE indexes.
  const { username_key, username_skeleton } =
    core.call<{ username_key: string; username_skeleton: string }>("signup_check", body);
  // A deleted account's name is free once its release time has passed
  // (CHAT_USERNAME_RELEASE_MS): its key and skeleton move aside ("deleted:<id>",
  // which no username can be), and the tombstone row stays.
  await db.prepare(`UPDATE users SET username_key = 'deleted:' || id, username_skeleton = NULL, release_at = NULL
                    WHERE (username_key = ?1 OR username_skeleton = ?2) AND release_at <= ?3`)
    .bind(username_key, username_skeleton, Date.now()).run();
  if (await db.prepare("SELECT 1 FROM users WHERE username_key = ? OR username_skeleton = ?")
    .bind(username_key, username_skeleton).first()) {
    throw new CoreError("username_taken");
  }
  // Each address makes at most CHAT_SIGNUPS_PER_ADDRESS accounts an hour, counted
  // before argon2id's work (budget.h).
  await spend(core, env, "signups_per_address", ip);
  const u = await core.callHashing<{ username: string; username_key: string; username_skeleton: string; password_hash: string }>(
    "signup", body);
  const row = await db
    .prepare(
      `INSERT INTO users (username, username_key, username_skeleton, password_hash, password_nfkc, created_at)
       VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING RETURNING id, username, role`,
    )
    .bind(u.username, u.username_key, u.username_skeleton, u.password_hash, Date.now())
    .first<PublicUser>();
  if (!row) throw new CoreError("username_taken");
  await recordIp(db, row.id, ip);
  const s = await newSession(core, env, row.id, u.password_hash, userAgent);
  return { user: row, token: s.token, expires_at: s.expires_at };
}

/** POST /login: body {username, password}. Unknown user and wrong password are
 * the same invalid_credentials, after the same argon2id work (see auth.h);
 * every attempt is counted per username and per address before the password is
 * verified, and a correct one is given back (throttleReserve); a banned account
 * is refused after its password checks out; a correct one is then counted in the
 * account's password_checks_per_account budget (429 limit_reached past it, and
 * no argon2id for that name while the isolate remembers the refusal). */
export async function login(core: CoreHost, env: Env, body: Uint8Array, ip: string, userAgent = ""): Promise<SessionBody> {
  const db = env.DB;
  const { username_key } = core.call<{ username_key: string }>("login_begin", body);
  passwordChecksRefused(username_key);
  const attempt = await throttleReserve(core, db, username_key, ip);
  const row = await db
    .prepare(`SELECT id, username, role, password_hash, password_nfkc,
                EXISTS (SELECT 1 FROM user_bans b WHERE b.user_id = users.id) AS banned
              FROM users WHERE username_key = ?`)
    .bind(username_key)
    .first<PublicUser & { password_hash: string; password_nfkc: number; banned: number }>();
  const { rehash, username_skeleton } = await core.callHashing<{ rehash: string | null; username_skeleton: string }>("login_verify", body, {
    password_hash: row?.password_hash ?? null, password_nfkc: row?.password_nfkc !== 0, banned: !!row?.banned,
  });
  const user: PublicUser = { id: row!.id, username: row!.username, role: row!.role };
  await Promise.all([throttleSucceed(core, db, attempt), recordIp(db, user.id, ip)]);
  await spendPasswordCheck(core, env, username_key);
  // Of the NFKC form, whatever the stored hash was (auth.h); only over the hash just
  // checked (a password changed meanwhile stays, and this login gets no session).
  let proven = row!.password_hash;
  if (rehash !== null) {
    const r = await db.prepare("UPDATE users SET password_hash = ?1, password_nfkc = 1 WHERE id = ?2 AND password_hash = ?3")
      .bind(rehash, user.id, proven).run();
    if (r.meta.changes === 1) proven = rehash;
  }
  // A row made before skeletons existed gets its own now (migrations/0005); one of
  // two old look-alikes keeps NULL (OR IGNORE: the skeleton is taken).
  await db.prepare("UPDATE OR IGNORE users SET username_skeleton = ? WHERE id = ? AND username_skeleton IS NULL")
    .bind(username_skeleton, user.id).run();
  const s = await newSession(core, env, user.id, proven, userAgent);
  return { user, token: s.token, expires_at: s.expires_at };
}

/** A live session: its user, and its id (the sessions row's rowid), which the
 * sockets opened with it carry so that its end reaches them. */
export interface LiveSession {
  user: PublicUser;
  session: number;
  tokenHash: string;
  /** When it expires, in ms since the Unix epoch. */
  expiresAt: number;
}

/** The live session of a token hash (from the core's "bearer" or "ws_protocol"
 * operation), or CoreError("unauthorized"). */
export async function liveSession(db: D1Database, tokenHash: string): Promise<LiveSession> {
  const now = Date.now();
  const row = await db
    .prepare(
      `SELECT s.rowid AS session, s.last_seen_at, s.expires_at, u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND u.deleted_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM user_bans b WHERE b.user_id = u.id)`,
    )
    .bind(tokenHash, now)
    .first<PublicUser & { session: number; last_seen_at: number | null; expires_at: number }>();
  if (!row) throw new CoreError("unauthorized");
  // "Last seen" is written at most once per CHAT_SESSION_SEEN_REFRESH_MS, so that
  // most requests cost no D1 write (chat_limits.h).
  if (row.last_seen_at === null || now - row.last_seen_at >= LIMITS.sessionSeenRefreshMs) {
    await db.prepare("UPDATE sessions SET last_seen_at = ? WHERE rowid = ?").bind(now, row.session).run();
  }
  return { user: { id: row.id, username: row.username, role: row.role }, session: row.session, tokenHash,
    expiresAt: row.expires_at };
}

/** Sessions this isolate checked in D1 for a socket lately: token hash -> the
 * session, kept for LIMITS.sessionCacheMs or until it expires if sooner. */
const socketSessions = isolateCache<string, LiveSession>();

/**
 * The live session of a socket's token hash: as liveSession, but read from D1 at
 * most once per LIMITS.sessionCacheMs (chat_limits.h CHAT_SESSION_CACHE_MS) per
 * isolate, so that a warm socket open costs no D1 query (issue 21). For sockets
 * only: the user's hub admits every socket and refuses one whose session a
 * revocation ended since (UserHub.revokedBy, remembered longer than this), which
 * an HTTP request never meets. CoreError("unauthorized") as liveSession.
 */
export async function socketLiveSession(db: D1Database, tokenHash: string): Promise<LiveSession> {
  const known = socketSessions.get(tokenHash);
  if (known) return known;
  const s = await liveSession(db, tokenHash);
  const ttl = Math.min(LIMITS.sessionCacheMs, s.expiresAt - Date.now());
  if (ttl > 0) socketSessions.set(tokenHash, s, { ttl });
  return s;
}

/** Forgets the sessions of a user this isolate checked for sockets (a role changed:
 * their next socket carries it at once here, elsewhere within LIMITS.sessionCacheMs;
 * a revocation: revokeSockets). */
export function forgetSocketSessions(userId: number): void {
  for (const [hash, s] of [...socketSessions.entries()]) if (s.user.id === userId) socketSessions.delete(hash);
}

/** Forgets one session this isolate checked for sockets (its hub refused it). */
export function forgetSocketSession(tokenHash: string): void {
  socketSessions.delete(tokenHash);
}

/** Ends the user's sockets that `rule` names (worker/close.ts revokes): their hub
 * closes them and remembers the revocation, which refuses a socket of those
 * sessions opened later (UserHub.revokedBy). This isolate forgets the sessions it
 * checked first, so its cache lets none through even if the hub could not be told. */
export async function revokeSockets(env: Env, userId: number, rule: Revocation, code: number, reason: string): Promise<void> {
  forgetSocketSessions(userId);
  await hub(env, userId).revoke(userId, rule, code, reason);
}

/** The session behind an Authorization header, or CoreError. */
export async function authenticate(core: CoreHost, db: D1Database, authorization: string | null) {
  const { token_hash } = core.call<{ token_hash: string }>("bearer", authorization ?? "");
  return liveSession(db, token_hash);
}

/** POST /logout: revokes this session, and closes every socket opened with it
 * (personal, rooms, conversations) with LIMITS.closeSessionEnded. */
export async function logout(env: Env, s: LiveSession): Promise<void> {
  await env.DB
    .prepare("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL")
    .bind(Date.now(), s.tokenHash)
    .run();
  await revokeSockets(env, s.user.id, { session: s.session }, LIMITS.closeSessionEnded, "logged out");
}
