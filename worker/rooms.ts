/**
 * The room directory in D1 (create, list, look up) and the way into a room's
 * Durable Object. Names are checked and keyed by the core; pages are shaped by it.
 */
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import { spend } from "./budgets";
import type { Env, PublicUser } from "./env";
import { findTarget, hub } from "./social";
import { isolateCache } from "./isolate-cache";
import type { Standing } from "../durable-objects/room-storage";

export interface RoomRow {
  id: number;
  name: string;
  created_at: number;
  last_activity_at: number;
  creator_id: number;
  creator_username: string;
  private: number;
  standing?: string;
}

const ROOM_SELECT = `SELECT r.id, r.name, r.created_at, r.last_activity_at, r.private,
  u.id AS creator_id, u.username AS creator_username
  FROM rooms r JOIN users u ON u.id = r.created_by`;

/** POST /rooms {name, private?}: 201 with the room, or room_name_taken; limit_reached
 * past the rooms an account or an address may make in an hour (budget.h). Its
 * creator is its first member (and its owner: created_by); a private room is in no
 * directory, and its object knows it is private before any socket opens. */
export async function createRoom(core: CoreHost, env: Env, user: PublicUser, body: Uint8Array, ip: string) {
  const db = env.DB;
  const { name, name_key, private: isPrivate = false } =
    core.call<{ name: string; name_key: string; private?: boolean }>("room_create", body);
  await spend(core, env, "rooms_per_account", user.id);
  await spend(core, env, "rooms_per_address", ip);
  const now = Date.now();
  const inserted = await db
    .prepare(`INSERT INTO rooms (name, name_key, created_by, created_at, last_activity_at, private)
              VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name_key) DO NOTHING RETURNING id`)
    .bind(name, name_key, user.id, now, now, isPrivate ? 1 : 0)
    .first<{ id: number }>();
  if (!inserted) throw new CoreError("room_name_taken");
  await objectOf(env, inserted.id).founded(inserted.id, isPrivate, user.id);
  await mirror(db, inserted.id, user.id, "member");
  const row = await db.prepare(`${ROOM_SELECT} WHERE r.id = ?`).bind(inserted.id).first<RoomRow>();
  const page = core.call<{ rooms: unknown[] }>("rooms_page", undefined, { limit: 1, rows: [row] });
  return { room: page.rooms[0] };
}

/** GET /rooms?limit&cursor&mine&q: rooms by most recent activity, a page at a
 * time: the public directory (names starting with q, by key), or (mine=1) the
 * rooms I am a member of or invited to, with my standing. */
export async function listRooms(core: CoreHost, env: Env, me: number, query: string) {
  const db = env.DB;
  const q = core.call<{ limit: number; cursor: { activity: number; id: number } | null; mine?: boolean;
    prefix?: string | null }>("rooms_query", query);
  const page = "(?1 IS NULL OR (r.last_activity_at, r.id) < (?1, ?2)) ORDER BY r.last_activity_at DESC, r.id DESC LIMIT ?3";
  const rows = q.mine
    ? await db.prepare(`${ROOM_SELECT.replace("r.private,", "r.private, m.standing,")} JOIN room_members m ON m.room_id = r.id AND m.user_id = ?4 WHERE ${page}`)
      .bind(q.cursor?.activity ?? null, q.cursor?.id ?? 0, q.limit + 1, me).all<RoomRow>()
    : await db.prepare(`${ROOM_SELECT} WHERE r.private = 0
        AND (?4 IS NULL OR (r.name_key >= ?4 AND substr(r.name_key, 1, length(?4)) = ?4)) AND ${page}`)
      .bind(q.cursor?.activity ?? null, q.cursor?.id ?? 0, q.limit + 1, q.prefix ?? null).all<RoomRow>();
  // my rooms carry my counts, from each room's markers (one call per room shown)
  const results = q.mine
    ? await Promise.all(rows.results.map(async (r) => ({ ...r, ...(await objectOf(env, r.id).counts(me)) })))
    : rows.results;
  return core.call("rooms_page", undefined, { limit: q.limit, rows: results });
}

/** The room's Durable Object, after checking the room exists (once per isolate:
 * rooms are never deleted, so a room known to exist is not asked of D1 again). */
export async function roomStub(env: Env, roomId: number) {
  if (!knownRooms.has(roomId)) {
    await roomRow(env.DB, roomId);
    knownRooms.set(roomId, true);
  }
  return objectOf(env, roomId);
}

/** Rooms this isolate has seen exist. */
const knownRooms = isolateCache<number, true>();

function objectOf(env: Env, roomId: number) {
  return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${roomId}`));
}

/** A room's directory row (room_not_found when there is none). */
async function roomRow(db: D1Database, roomId: number) {
  const row = await db.prepare("SELECT id, name, private, created_by FROM rooms WHERE id = ?").bind(roomId)
    .first<{ id: number; name: string; private: number; created_by: number }>();
  if (!row) throw new CoreError("room_not_found");
  return row;
}

/** Mirrors a standing the room's object decided into D1 (for GET /rooms?mine=1 and
 * member pages). */
async function mirror(db: D1Database, roomId: number, userId: number, standing: Standing) {
  if (standing === "none") {
    await db.prepare("DELETE FROM room_members WHERE room_id = ? AND user_id = ?").bind(roomId, userId).run();
  } else {
    await db.prepare(`INSERT INTO room_members (room_id, user_id, standing, since) VALUES (?1, ?2, ?3, ?4)
      ON CONFLICT (room_id, user_id) DO UPDATE SET standing = ?3`).bind(roomId, userId, standing, Date.now()).run();
  }
}

/**
 * POST /rooms/:id/join, /leave, /invite {username}, /kick {username}: the room's
 * object decides over the standings it keeps (the core's CHAT_OP_MEMBERSHIP), then
 * D1 mirrors it; an invitee's personal sockets get room_invite (unless they block
 * whoever invites: the hub asks the core).
 */
export async function changeMembership(core: CoreHost, env: Env, user: PublicUser, roomId: number,
    action: "join" | "leave" | "invite" | "kick", body?: Uint8Array) {
  const row = await roomRow(env.DB, roomId);
  const target = body ? await findTarget(core, env.DB, body) : undefined;
  // An invitation reaches someone's screen: counted before the room sees it.
  if (action === "invite") await spend(core, env, "room_invites_per_account", user.id);
  const answer = await objectOf(env, roomId).membership({
    action,
    room: { id: row.id, name: row.name, private: row.private === 1, owner: row.created_by },
    actor: { id: user.id, username: user.username, role: user.role },
    target: target === undefined ? undefined : target && { id: target.id, username: target.username },
  });
  if ("error" in answer) throw new CoreError(answer.error);
  await mirror(env.DB, roomId, answer.user_id, answer.standing);
  if (answer.tell) await hub(env, answer.user_id).deliver(answer.tell);
  return { room_id: roomId, user_id: answer.user_id, standing: answer.standing };
}

/** GET /rooms/:id/members?limit=K&after=U: members (not invitees) by id, a page at a
 * time; a private room's only for its members (the core's CHAT_OP_MEMBERSHIP
 * "view"). */
export async function listMembers(core: CoreHost, env: Env, user: PublicUser, roomId: number, query: string) {
  const row = await roomRow(env.DB, roomId);
  const seen = await objectOf(env, roomId).membership({
    action: "view",
    room: { id: row.id, name: row.name, private: row.private === 1, owner: row.created_by },
    actor: { id: user.id, username: user.username, role: user.role },
  });
  if ("error" in seen) throw new CoreError(seen.error);
  const q = core.call<{ limit: number; after: number | null }>("members_query", query);
  const rows = await env.DB.prepare(`SELECT u.id, u.username FROM room_members m JOIN users u ON u.id = m.user_id
      WHERE m.room_id = ?1 AND m.standing = 'member' AND m.user_id > ?2 ORDER BY m.user_id LIMIT ?3`)
    .bind(roomId, q.after ?? 0, q.limit + 1).all<{ id: number; username: string }>();
  const members = rows.results.slice(0, q.limit);
  return { room_id: roomId, owner: row.created_by, members,
    next_cursor: rows.results.length > q.limit ? String(members[members.length - 1]!.id) : null };
}
