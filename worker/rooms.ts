/**
 * The room directory in D1 (create, list, look up) and the way into a room's
 * Durable Object. Names are checked and keyed by the core; pages are shaped by it.
 */
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import { spend } from "./budgets";
import type { Env, PublicUser } from "./env";

export interface RoomRow {
  id: number;
  name: string;
  created_at: number;
  last_activity_at: number;
  creator_id: number;
  creator_username: string;
}

const ROOM_SELECT = `SELECT r.id, r.name, r.created_at, r.last_activity_at,
  u.id AS creator_id, u.username AS creator_username
  FROM rooms r JOIN users u ON u.id = r.created_by`;

/** POST /rooms {name}: 201 with the room, or room_name_taken; limit_reached past
 * the rooms an account or an address may make in an hour (budget.h). */
export async function createRoom(core: CoreHost, env: Env, user: PublicUser, body: Uint8Array, ip: string) {
  const db = env.DB;
  const { name, name_key } = core.call<{ name: string; name_key: string }>("room_create", body);
  await spend(core, env, "rooms_per_account", user.id);
  await spend(core, env, "rooms_per_address", ip);
  const now = Date.now();
  const inserted = await db
    .prepare(`INSERT INTO rooms (name, name_key, created_by, created_at, last_activity_at)
              VALUES (?, ?, ?, ?, ?) ON CONFLICT (name_key) DO NOTHING RETURNING id`)
    .bind(name, name_key, user.id, now, now)
    .first<{ id: number }>();
  if (!inserted) throw new CoreError("room_name_taken");
  const row = await db.prepare(`${ROOM_SELECT} WHERE r.id = ?`).bind(inserted.id).first<RoomRow>();
  const page = core.call<{ rooms: unknown[] }>("rooms_page", undefined, { limit: 1, rows: [row] });
  return { room: page.rooms[0] };
}

/** GET /rooms?limit&cursor: rooms by most recent activity, a page at a time. */
export async function listRooms(core: CoreHost, db: D1Database, query: string) {
  const q = core.call<{ limit: number; cursor: { activity: number; id: number } | null }>("rooms_query", query);
  const rows = await db
    .prepare(`${ROOM_SELECT} WHERE ?1 IS NULL OR (r.last_activity_at, r.id) < (?1, ?2)
              ORDER BY r.last_activity_at DESC, r.id DESC LIMIT ?3`)
    .bind(q.cursor?.activity ?? null, q.cursor?.id ?? 0, q.limit + 1)
    .all<RoomRow>();
  return core.call("rooms_page", undefined, { limit: q.limit, rows: rows.results });
}

/** The room's Durable Object, after checking the room exists. */
export async function roomStub(env: Env, roomId: number) {
  const exists = await env.DB.prepare("SELECT 1 FROM rooms WHERE id = ?").bind(roomId).first();
  if (!exists) throw new CoreError("room_not_found");
  return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${roomId}`));
}
