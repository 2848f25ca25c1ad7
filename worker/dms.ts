/**
 * Direct-message conversations: the index in D1 (who, last message, unread
 * counts) and the way into a conversation's Durable Object, a ChatRoom configured
 * as "dm". Whether two people may write to each other is the core's call.
 */
import type { RoomConfig } from "../durable-objects/chat-room";
import { CoreError, type CoreHost } from "./core";
import type { Env, PublicUser } from "./env";
import { blockList, conversationStub, findTarget, relation } from "./social";

export interface Conversation {
  id: number;
  user_a: number;
  user_b: number;
}

/** What the conversation's room is (its members, whether it takes new messages),
 * as the core decides it from the relation between the two (CHAT_OP_DM_CONFIG). */
export async function conversationConfig(core: CoreHost, db: D1Database, c: Conversation): Promise<RoomConfig> {
  const facts = await relation(db, c.user_a, c.user_b);
  return core.call<RoomConfig>("dm_config", undefined, { members: [c.user_a, c.user_b], ...facts });
}

/** POST /dms {username}: the conversation with a friend, created on first use. */
export async function openConversation(core: CoreHost, env: Env, me: PublicUser, body: Uint8Array) {
  const them = await findTarget(core, env.DB, body);
  const facts = them ? await relation(env.DB, me.id, them.id) : { state: "none", i_block: false, they_block: false };
  core.call("dm_check", undefined, { me, them, ...facts });
  const other = them!; // the core refused unknown users above
  const [a, b] = [Math.min(me.id, other.id), Math.max(me.id, other.id)];
  await env.DB.prepare("INSERT INTO dm_conversations (user_a, user_b, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
    .bind(a, b, Date.now()).run();
  const c = (await env.DB.prepare("SELECT id, user_a, user_b FROM dm_conversations WHERE user_a = ? AND user_b = ?")
    .bind(a, b).first<Conversation>())!;
  await conversationStub(env, c.id).configure(c.id, await conversationConfig(core, env.DB, c));
  return { conversation: { id: c.id, with: { id: other.id, username: other.username } } };
}

/** GET /dms: my conversations, latest message first, with what I have not read,
 * as the core shows them to me (CHAT_OP_DMS_PAGE): nothing written by someone I
 * block shows, as in the history (wasm/social.h social_shows). */
export async function listConversations(core: CoreHost, db: D1Database, me: number) {
  const [rows, blocks] = await Promise.all([
    db.prepare(`SELECT c.id, u.id AS with_id, u.username AS with_username,
          c.last_seq, c.last_at, c.last_user_id, c.last_body,
          CASE WHEN c.user_a = ?1 THEN c.unread_a ELSE c.unread_b END AS unread
        FROM dm_conversations c JOIN users u ON u.id = CASE WHEN c.user_a = ?1 THEN c.user_b ELSE c.user_a END
        WHERE c.user_a = ?1 OR c.user_b = ?1
        ORDER BY COALESCE(c.last_at, c.created_at) DESC, c.id DESC`)
      .bind(me).all<Record<string, number | string | null>>(),
    blockList(db, me),
  ]);
  return core.call<{ conversations: unknown[] }>("dms_page", undefined, { viewer: { id: me, blocks }, rows: rows.results });
}

/** A conversation I am in, or CoreError("not_member") (also for unknown ids). */
export async function myConversation(db: D1Database, me: number, id: number) {
  const c = await db.prepare("SELECT id, user_a, user_b FROM dm_conversations WHERE id = ?1 AND (user_a = ?2 OR user_b = ?2)")
    .bind(id, me).first<Conversation>();
  if (!c) throw new CoreError("not_member");
  return c;
}
