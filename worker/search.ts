/**
 * Message search (issue 17): in one room or conversation, and across mine. Each
 * room answers from its own FTS5 index (durable-objects/room-storage.ts) after its
 * core has read the query and checked the viewer (wasm/room.h ROOM_SEARCH); the
 * core also reads a search across rooms before it starts and merges the rooms'
 * pages (CHAT_OP_SEARCH_QUERY, CHAT_OP_SEARCH_MERGE). Syntax, markers and
 * limits: wasm/search.h, PROTOCOL.md "Search".
 */
import { spend } from "./budgets";
import { CoreError, type CoreHost } from "./core";
import type { Env, PublicUser } from "./env";
import { LIMITS } from "./generated/core";
import { myConversation } from "./dms";
import { roomStub } from "./rooms";
import { blockList, conversationStub } from "./social";

/** GET /rooms/:id/search: a page of the room's matching messages, as its core
 * shapes it (a private room's only for its members). */
export async function searchRoom(env: Env, user: PublicUser, roomId: number, query: string): Promise<string> {
  const page = await (await roomStub(env, roomId)).search(roomId, `room:${roomId}`, query,
    { id: user.id, blocks: await blockList(env.DB, user.id) });
  if ("error" in page) throw new CoreError(page.error);
  return page.body;
}

/** GET /dms/:id/search: the same in a conversation of mine. */
export async function searchConversation(env: Env, user: PublicUser, id: number, query: string): Promise<string> {
  const c = await myConversation(env.DB, user.id, id);
  const page = await conversationStub(env, c.id).search(c.id, `dm:${c.id}`, query,
    { id: user.id, blocks: await blockList(env.DB, user.id) });
  if ("error" in page) throw new CoreError(page.error);
  return page.body;
}

type Place = { kind: "room" | "dm"; id: number };

/**
 * GET /search?q=&limit=: the newest matches across the rooms I am a member of and
 * my conversations. Its cost: two D1 queries (my places, my blocks), then one
 * Durable Object call and one FTS5 query in each of my LIMITS.searchRoomsMax most
 * recently active places, all at once; the answer waits at most
 * LIMITS.searchDeadlineMs, and the places that did not answer by then (or failed)
 * are listed in "skipped". "more_rooms": I have more places than were searched.
 */
export async function searchEverywhere(core: CoreHost, env: Env, user: PublicUser, query: string) {
  const q = core.call<{ limit: number; query: string }>("search_query", query);
  // Each search asks up to LIMITS.searchRoomsMax objects: counted once the query is valid.
  await spend(core, env, "searches_per_account", user.id);
  const [places, blocks] = await Promise.all([
    env.DB.prepare(`SELECT 'room' AS kind, r.id AS id, r.last_activity_at AS at
        FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ?1 AND m.standing = 'member'
      UNION ALL
      SELECT 'dm' AS kind, c.id AS id, COALESCE(c.last_at, c.created_at) AS at
        FROM dm_conversations c WHERE c.user_a = ?1 OR c.user_b = ?1
      ORDER BY at DESC, id DESC LIMIT ?2`).bind(user.id, LIMITS.searchRoomsMax + 1).all<Place>(),
    blockList(env.DB, user.id),
  ]);
  const asked = places.results.slice(0, LIMITS.searchRoomsMax);
  const viewer = { id: user.id, blocks };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => { timer = setTimeout(() => resolve("late"), LIMITS.searchDeadlineMs); });
  const answers = await Promise.all(asked.map(async (p) => {
    const stub = p.kind === "room" ? env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`room:${p.id}`)) : conversationStub(env, p.id);
    try {
      const page = await Promise.race([stub.search(p.id, `${p.kind}:${p.id}`, q.query, viewer), late]);
      return page === "late" || "error" in page ? null : (JSON.parse(page.body) as object);
    } catch {
      return null; // a room that failed is skipped, as one that is late
    }
  }));
  if (timer !== undefined) clearTimeout(timer);
  const skipped = asked.filter((_, i) => answers[i] === null)
    .map((p) => (p.kind === "room" ? { room_id: p.id } : { conversation_id: p.id }));
  const merged = core.call<object>("search_merge", undefined,
    { limit: q.limit, pages: answers.filter((a) => a !== null), skipped });
  return { ...merged, more_rooms: places.results.length > asked.length };
}
