/**
 * Friends and blocks: D1 holds the relations, the core decides every change
 * (wasm/social.h), and the people concerned hear of it through their UserHub.
 */
import type { CoreHost } from "./core";
import { CoreError } from "./core";
import { allow, LimitReached, spend } from "./budgets";
import type { Env, PublicUser } from "./env";
import { BUDGETS, LIMITS, type BudgetName } from "./generated/core";
import { tooManyAttempts } from "./moderation";
import { conversationConfig } from "./dms";

export type RelationState = "none" | "outgoing" | "incoming" | "friends";

export interface Relation {
  state: RelationState;
  i_block: boolean;
  they_block: boolean;
}

interface Decision extends Relation {
  blocks_changed: boolean;
  tell: string | null;
  /** The budgets the change uses (budget.h): a count's `held`, or a rate's use. */
  spends: { budget: BudgetName; held?: number }[];
}

type Action = "add" | "remove" | "block" | "unblock";

/** The user a request names ({"username"}), or null when there is none. */
export async function findTarget(core: CoreHost, db: D1Database, body: Uint8Array) {
  const { username_key } = core.call<{ username_key: string }>("user_target", body);
  // A deleted account keeps its name for a while (release_at), but is nobody to
  // befriend, block, invite or write to: user_not_found.
  return db.prepare("SELECT id, username, role FROM users WHERE username_key = ? AND deleted_at IS NULL")
    .bind(username_key).first<PublicUser>();
}

/** The stored relation's five facts, from ?1's side towards ?2. */
const RELATION_SQL = `
      EXISTS (SELECT 1 FROM friendships WHERE user_id = ?1 AND friend_id = ?2) AS friends,
      EXISTS (SELECT 1 FROM friend_requests WHERE from_id = ?1 AND to_id = ?2) AS outgoing,
      EXISTS (SELECT 1 FROM friend_requests WHERE from_id = ?2 AND to_id = ?1) AS incoming,
      EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ?1 AND blocked_id = ?2) AS i_block,
      EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ?2 AND blocked_id = ?1) AS they_block`;

/** The relation between me and them as stored, from my side. */
export async function relation(db: D1Database, me: number, them: number): Promise<Relation> {
  const r = await db.prepare(`SELECT ${RELATION_SQL}`).bind(me, them).first<Record<string, number>>();
  const state: RelationState = r!.friends ? "friends" : r!.outgoing ? "outgoing" : r!.incoming ? "incoming" : "none";
  return { state, i_block: !!r!.i_block, they_block: !!r!.they_block };
}

/** A statement that fails its batch (SQLite's json() of malformed text: "malformed
 * JSON", distinct from a budget guard's overflow) when the stored relation is no
 * longer `seen`: a change decided from a relation that changed meanwhile is not
 * stored, and is decided again. */
function unchanged(db: D1Database, me: number, them: number, seen: Relation) {
  return db.prepare(`SELECT CASE WHEN (SELECT
        (friends, outgoing, incoming, i_block, they_block) != (?3, ?4, ?5, ?6, ?7) FROM (SELECT ${RELATION_SQL}))
      THEN json('relation changed') END`)
    .bind(me, them, seen.state === "friends" ? 1 : 0, seen.state === "outgoing" ? 1 : 0, seen.state === "incoming" ? 1 : 0,
      seen.i_block ? 1 : 0, seen.they_block ? 1 : 0);
}

/** The store of a relation change failed because the relation changed since it
 * was read (unchanged): decide again. */
class RelationChanged extends Error {}

/** How many of each count budget a user holds, as stored (SQL with ?1 = the user). */
const HELD_SQL: Partial<Record<BudgetName, string>> = {
  friends: "SELECT count(*) FROM friendships WHERE user_id = ?1",
  pending_requests: "SELECT count(*) FROM friend_requests WHERE from_id = ?1",
  blocks: "SELECT count(*) FROM blocks WHERE blocker_id = ?1",
};

/**
 * A statement that fails, and so rolls back the batch it is in (a D1 batch is one
 * transaction), when `user` already holds `limit` of `budget`: the check and the
 * change are then one atomic step, and concurrent requests cannot pass a count
 * budget between the core's answer and the write. It fails by asking SQLite for
 * abs(-2^63), an integer overflow (SQLite's documented abs() behaviour), since a
 * plain statement cannot raise an error of its own.
 */
function guard(db: D1Database, budget: BudgetName, user: number) {
  return db.prepare(`SELECT CASE WHEN (${HELD_SQL[budget]!}) >= ?2 THEN abs(-9223372036854775807 - 1) END`)
    .bind(user, BUDGETS[budget].limit);
}

/** Stores a relation as the core decided it from `seen`, in one transaction, with a
 * guard that `seen` is still what is stored and one for each count budget the
 * change uses (for a friendship, both people's). Throws RelationChanged or
 * LimitReached if a guard fails. */
async function storeRelation(db: D1Database, me: number, them: number, seen: Relation, next: Relation, now: number,
                             counts: BudgetName[]) {
  const guards = counts.flatMap((b) => (b === "friends" ? [guard(db, b, me), guard(db, b, them)] : [guard(db, b, me)]));
  const statements = [
    unchanged(db, me, them, seen),
    ...guards,
    db.prepare(`DELETE FROM friend_requests WHERE (from_id = ?1 AND to_id = ?2) OR (from_id = ?2 AND to_id = ?1)`).bind(me, them),
    db.prepare(`DELETE FROM friendships WHERE (user_id = ?1 AND friend_id = ?2) OR (user_id = ?2 AND friend_id = ?1)`).bind(me, them),
    db.prepare("DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?").bind(me, them),
  ];
  const insert: Record<RelationState, D1PreparedStatement[]> = {
    none: [],
    incoming: [db.prepare("INSERT INTO friend_requests (from_id, to_id, created_at) VALUES (?, ?, ?)").bind(them, me, now)],
    outgoing: [db.prepare("INSERT INTO friend_requests (from_id, to_id, created_at) VALUES (?, ?, ?)").bind(me, them, now)],
    friends: [db.prepare("INSERT INTO friendships (user_id, friend_id, since) VALUES (?1, ?2, ?3), (?2, ?1, ?3)").bind(me, them, now)],
  };
  statements.push(...insert[next.state]);
  if (next.i_block) {
    statements.push(db.prepare("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)").bind(me, them, now));
  }
  try {
    return await db.batch(statements);
  } catch (e) {
    if (/malformed JSON/i.test(String(e))) throw new RelationChanged();
    if (guards.length && /integer overflow/i.test(String(e))) {
      const budget = counts[0]!;
      throw new LimitReached(budget, BUDGETS[budget].limit, null);
    }
    throw e;
  }
}

/** What I hold of each count budget a social change can use (budget.h). */
async function heldBy(db: D1Database, me: number, them: number) {
  return (await db.prepare(`SELECT
      (SELECT count(*) FROM friendships WHERE user_id = ?1) AS friends,
      (SELECT count(*) FROM friendships WHERE user_id = ?2) AS their_friends,
      (SELECT count(*) FROM friend_requests WHERE from_id = ?1) AS pending_requests,
      (SELECT count(*) FROM blocks WHERE blocker_id = ?1) AS blocks`)
    .bind(me, them).first<Record<string, number>>())!;
}

/** Everyone `userId` blocks: at most LIMITS.blocksMax (the blocks budget; rows
 * beyond it, from before the budget existed, are left out). */
export async function blockList(db: D1Database, userId: number): Promise<number[]> {
  const rows = await db.prepare("SELECT blocked_id FROM blocks WHERE blocker_id = ? ORDER BY blocked_id LIMIT ?")
    .bind(userId, LIMITS.blocksMax).all<{ blocked_id: number }>();
  return rows.results.map((r) => r.blocked_id);
}

/** The relation facts of a user's friends who are online (online_users), as the
 * core's presence rules read them (api.h CHAT_OP_FRIENDS_ONLINE and
 * CHAT_OP_PRESENCE_TELL): whom `userId` may be told about at connect, and whom a
 * change of theirs may reach. At most LIMITS.friendsMax (the friends budget). */
export async function onlineFriends(db: D1Database, userId: number) {
  const rows = await db.prepare(`SELECT f.friend_id AS id, 1 AS friends, 1 AS online,
      EXISTS (SELECT 1 FROM blocks WHERE blocker_id = ?1 AND blocked_id = f.friend_id) AS i_block,
      EXISTS (SELECT 1 FROM blocks WHERE blocker_id = f.friend_id AND blocked_id = ?1) AS they_block
      FROM friendships f JOIN online_users o ON o.user_id = f.friend_id
      WHERE f.user_id = ?1 ORDER BY f.friend_id LIMIT ?2`)
    .bind(userId, LIMITS.friendsMax).all<{ id: number; friends: number; online: number; i_block: number; they_block: number }>();
  return rows.results;
}

export function hub(env: Env, userId: number) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(String(userId)));
}

/** The conversation between two users, if they have one. */
export async function conversationBetween(db: D1Database, a: number, b: number) {
  return db.prepare("SELECT id, user_a, user_b FROM dm_conversations WHERE user_a = ? AND user_b = ?")
    .bind(Math.min(a, b), Math.max(a, b)).first<{ id: number; user_a: number; user_b: number }>();
}

export function conversationStub(env: Env, id: number) {
  return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`dm:${id}`));
}

/**
 * POST /users/add, /users/remove, /users/block, /users/unblock {username}.
 * Returns the new relation from my side and the other user.
 */
export async function act(core: CoreHost, env: Env, me: PublicUser, action: Action, body: Uint8Array) {
  const them = await findTarget(core, env.DB, body);
  let d: Decision | undefined;
  for (let i = 0; !d; i++) {
    const facts: Relation = them ? await relation(env.DB, me.id, them.id) : { state: "none", i_block: false, they_block: false };
    const held = them ? await heldBy(env.DB, me.id, them.id) : {};
    const next = core.call<Decision>("social", undefined, {
      action, me: { id: me.id, username: me.username },
      them: them ? { id: them.id, username: them.username } : null, ...facts, held,
    });
    // What the change uses: counts first (nothing is spent if one is full), then the
    // hour's friend actions, counted before the change is stored (once).
    for (const s of next.spends) if (BUDGETS[s.budget].windowMs === 0) allow(core, s.budget, s.held!);
    if (i === 0) for (const s of next.spends) if (BUDGETS[s.budget].windowMs > 0) await spend(core, env, s.budget, me.id);
    try {
      await storeRelation(env.DB, me.id, them!.id, facts, next, Date.now(),
        next.spends.filter((s) => BUDGETS[s.budget].windowMs === 0).map((s) => s.budget));
      d = next;
    } catch (e) {
      // The other person changed it meanwhile (accepted, blocked, withdrew): decide
      // again from what is stored now.
      if (!(e instanceof RelationChanged)) throw e;
      if (i + 1 >= LIMITS.relationStoreTries) throw tooManyAttempts(1000);
    }
  }
  const other = them!; // the core answered user_not_found when there was none

  const after: Promise<unknown>[] = [];
  if (d.tell) after.push(hub(env, other.id).deliver(d.tell));
  if (d.blocks_changed) {
    // Rooms where I have sockets open filter at once (within this request).
    after.push(hub(env, me.id).blocksChanged(me.id, await blockList(env.DB, me.id)));
  }
  const conversation = await conversationBetween(env.DB, me.id, other.id);
  if (conversation) {
    // What the conversation is now, as the core says for the relation stored now
    // (read again: the other person may have changed it since this one was stored).
    after.push(conversationStub(env, conversation.id).configure(conversation.id, await conversationConfig(core, env.DB, conversation)));
  }
  await Promise.all(after);
  return { state: d.state, blocked: d.i_block, user: { id: other.id, username: other.username } };
}

const FRIEND_LISTS = {
  // with the facts of the presence rule (social_shows_presence): whether each is online
  friends: `SELECT u.id, u.username, 1 AS friends,
            EXISTS (SELECT 1 FROM online_users o WHERE o.user_id = u.id) AS online,
            EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ?1 AND b.blocked_id = u.id) AS i_block,
            EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = ?1) AS they_block
            FROM friendships f JOIN users u ON u.id = f.friend_id
            WHERE f.user_id = ?1 AND u.id > ?2 ORDER BY u.id LIMIT ?3`,
  incoming: `SELECT u.id, u.username FROM friend_requests r JOIN users u ON u.id = r.from_id
             WHERE r.to_id = ?1 AND u.id > ?2 ORDER BY u.id LIMIT ?3`,
  outgoing: `SELECT u.id, u.username FROM friend_requests r JOIN users u ON u.id = r.to_id
             WHERE r.from_id = ?1 AND u.id > ?2 ORDER BY u.id LIMIT ?3`,
  blocked: `SELECT u.id, u.username FROM blocks b JOIN users u ON u.id = b.blocked_id
            WHERE b.blocker_id = ?1 AND u.id > ?2 ORDER BY u.id LIMIT ?3`,
} as const;
type FriendList = keyof typeof FRIEND_LISTS;

/**
 * GET /friends: friends, requests both ways, and whom I block, each a page of at
 * most LIMITS.listPage users in the order they joined, with `next` (per list) the
 * cursor of the following page or null. GET /friends?list=L&after=C: the page of
 * list L after cursor C. Anything else in the query is query_invalid. Each friend
 * carries `online`, as the core's presence rule shows it (CHAT_OP_FRIENDS_ONLINE).
 */
export async function friendsOf(core: CoreHost, db: D1Database, me: number, query: URLSearchParams) {
  const list = query.get("list");
  const after = query.get("after") ?? "0";
  const keys = [...query.keys()];
  if (keys.some((k) => k !== "list" && k !== "after") || (list !== null && !Object.hasOwn(FRIEND_LISTS, list)) ||
      (list === null && query.has("after")) || !/^[0-9]{1,15}$/.test(after)) {
    throw new CoreError("query_invalid");
  }
  const lists = (list === null ? Object.keys(FRIEND_LISTS) : [list]) as FriendList[];
  const pages = await db.batch<{ id: number; username: string }>(lists.map((l) =>
    db.prepare(FRIEND_LISTS[l]).bind(me, Number(after), LIMITS.listPage + 1)));
  const out: Record<string, unknown> = {};
  const next: Record<string, number | null> = {};
  lists.forEach((l, i) => {
    const rows = pages[i]!.results;
    out[l] = rows.slice(0, LIMITS.listPage);
    if (l === "friends") {
      const shown = out[l] as { id: number; username: string }[];
      const online = new Set(core.call<{ online: number[] }>("friends_online", undefined, { rows: shown }).online);
      out[l] = shown.map(({ id, username }) => ({ id, username, online: online.has(id) }));
    }
    next[l] = rows.length > LIMITS.listPage ? rows[LIMITS.listPage - 1]!.id : null;
  });
  return { ...out, next };
}
