/**
 * ChatRoom: one Durable Object per room, and one per direct-message conversation
 * (configured as "dm": a room with exactly two members), holding its WebSockets
 * and its message log (this object's own SQLite storage). A shell around the C room
 * (wasm/room.h): every handler decodes the event, asks the core, and carries out
 * the effects it returns, in order. No chat rule is decided here.
 *
 * Platform facts this file is shaped by:
 * - Hibernation: sockets are accepted with ctx.acceptWebSocket, so the object can
 *   be evicted from memory (about 10 s idle) while they stay open. The Wasm heap
 *   goes with it; the core's room is rebuilt on the next event from storage (the
 *   next seq) and from each socket's attachment (who it is, whether it joined),
 *   which the core itself decides (the "attach" effect). The one timer is a busy
 *   room's flush (at most CHAT_FLUSH_INTERVAL_MS): a pending setTimeout keeps the
 *   object awake, so nothing else waits on one.
 * - Durability before visibility: a "store" effect comes before the "send" that
 *   reveals the message, storage.sql writes are synchronous, and the runtime's
 *   output gate holds outgoing messages until the write is durable.
 * - Each object owns its Wasm instance: module-level state is shared by every
 *   object of an isolate.
 * - A deploy restarts every object and drops every socket; clients reconnect and
 *   resume with join_room {since}.
 */
import { DurableObject } from "cloudflare:workers";
import { closeSocket, echoClose, revokes } from "../worker/close";
import { CoreError, CoreHost, CoreTrap, type Effects, type RoomQuery, type StoredMessage } from "../worker/core";
import { FACTS_HEADER, type Env, type PublicUser, type Revocation, type SocketFacts } from "../worker/env";
import { errorResponse } from "../worker/errors";
import { BUDGETS, ERRORS, LIMITS, type BudgetName } from "../worker/generated/core";

/** What each socket carries through hibernation: its id, the core's data, and the
 * session and address it was opened with (what a revocation matches). */
interface Attachment extends Pick<SocketFacts, "session" | "ip"> {
  conn: number;
  data: { user: PublicUser } & Record<string, unknown>;
  /** Set when the room closed the socket itself (and told the core and the hub):
   * such a socket is never restored, even while the runtime still lists it. */
  closed?: true;
}

/** What this object is: a room, or a conversation between two users. */
export interface RoomConfig {
  kind: "room" | "dm";
  members?: [number, number];
  open?: boolean;
  rate?: { burst: number; per_second: number };
  room_rate?: { burst: number; per_second: number };
}

const MESSAGE_COLUMNS = "seq, user_id, username, body, client_id, created_at, deleted_at";

export class ChatRoom extends DurableObject<Env> {
  private readonly core = new CoreHost();
  private readonly sql: SqlStorage;
  /** The core's room, or null until the first event after a start or a trap. */
  private room: number | null = null;
  private readonly sockets = new Map<number, WebSocket>();
  /** Each known socket's conn id, so a frame needs no attachment read. */
  private readonly connOf = new WeakMap<WebSocket, number>();
  /** The timer of a flush_at effect: broadcasts wait in the core's outbox until it
   * fires (at most CHAT_FLUSH_INTERVAL_MS; a pending timer keeps the object awake
   * that long, never longer). */
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Accepted messages may wait in the core's outbox (a flush was asked for and has
   * not run since): losing the core now loses them unacknowledged. */
  private waiting = false;
  /** D1 writes of this object, one after another so they land in order. */
  private d1Queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // The message log. Append-only schema changes go here with a version check in
    // `meta` (DO SQLite has no PRAGMA user_version).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS messages (
      seq        INTEGER PRIMARY KEY,   -- gap-free, from 1
      user_id    INTEGER NOT NULL,
      username   TEXT    NOT NULL,
      body       TEXT    NOT NULL,
      client_id  TEXT    NOT NULL,
      created_at INTEGER NOT NULL,      -- ms since the Unix epoch
      deleted_at INTEGER,               -- tombstone: set when deleted
      UNIQUE (user_id, client_id)       -- a retried send is stored once
    )`);
    // room_id (its id in D1), object (its name, as in idFromName), config (RoomConfig)
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)");
    // Whom each user with a socket here blocks, as last told: the core needs it
    // again after a wake, and it can be longer than an attachment may be.
    this.sql.exec("CREATE TABLE IF NOT EXISTS user_blocks (user_id INTEGER PRIMARY KEY, blocks TEXT NOT NULL)");
  }

  private meta<T extends string | number>(key: string): T | undefined {
    return this.sql.exec<{ value: T }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: string | number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2", key, value);
  }

  /** The room's id in the D1 directory (or the conversation's), set by the Worker. */
  private roomId(): number {
    const id = this.meta<number>("room_id");
    if (id === undefined) throw new Error("room id unknown");
    return id;
  }

  private blocksOf(userId: number): number[] {
    const row = this.sql.exec<{ blocks: string }>("SELECT blocks FROM user_blocks WHERE user_id = ?", userId).toArray()[0];
    return row ? (JSON.parse(row.blocks) as number[]) : [];
  }

  private hub(userId: number) {
    return this.env.USER_HUB.get(this.env.USER_HUB.idFromName(String(userId)));
  }

  /** Runs D1 writes in order, after the ones before, without holding the event. */
  private d1(write: () => Promise<unknown>): void {
    this.d1Queue = this.d1Queue.then(write).catch((err) => console.error("D1 write failed", err));
    this.ctx.waitUntil(this.d1Queue);
  }

  /** The core's room, rebuilt from storage and the sockets' attachments if needed. */
  private ensureRoom(): number {
    if (this.room !== null) return this.room;
    const last = this.sql.exec<{ last: number | null }>("SELECT max(seq) AS last FROM messages").one().last;
    const room = this.core.roomNew(this.roomId(), (last ?? 0) + 1);
    this.sockets.clear();
    try {
      const config = this.config();
      if (config) this.core.roomEvent(room, "config", 0, config);
      for (const ws of this.ctx.getWebSockets()) {
        const att = ws.deserializeAttachment() as Attachment | null;
        // A socket this room closed (a flood, a ban, a logout) may still be listed
        // while it closes, even as OPEN if its close failed; its id may be given to
        // a new socket, so it must never come back.
        if (!att || att.closed || ws.readyState !== WebSocket.OPEN) continue;
        const data = { ...att.data, user: { ...att.data.user, blocks: this.blocksOf(att.data.user.id) } };
        this.core.roomEvent(room, "restore", 0, data);
        this.sockets.set(att.conn, ws);
        this.connOf.set(ws, att.conn);
      }
    } catch (e) {
      this.room = room;
      this.dropRoom(e);
      throw e;
    }
    this.room = room;
    return room;
  }

  /** Forgets the core's room after a trap or a misuse (freeing it unless the trap
   * took the whole instance); the next event rebuilds it. */
  private dropRoom(cause: unknown): void {
    if (this.room !== null && !(cause instanceof CoreTrap)) {
      try {
        this.core.roomFree(this.room);
      } catch {
        // the instance is gone after all
      }
    }
    this.room = null;
    this.sockets.clear();
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.waiting) return;
    // Messages accepted but not yet stored died with the core. Their senders were
    // not acknowledged; closing every socket (1011, RFC 6455 section 7.4.1) makes
    // clients reconnect, resume and resend what is still pending, by client_id.
    this.waiting = false;
    for (const ws of this.ctx.getWebSockets()) closeSocket(ws, 1011, "room restarted: reconnect and resend");
  }

  /** Answers a query of the core from storage. */
  private answer(q: RoomQuery): object {
    switch (q.what) {
      case "dedup": // which of these messages are stored already (retries)
        return { rows: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE (user_id, client_id) IN
             (SELECT json_extract(value, '$.user_id'), json_extract(value, '$.client_id') FROM json_each(?))`,
          JSON.stringify(q.messages)).toArray() };
      case "message":
        return { row: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq = ?`, q.seq).toArray()[0] ?? null };
      case "history":
        return { rows: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages
           WHERE seq > ? AND seq < ? AND (? OR deleted_at IS NULL)
             AND user_id NOT IN (SELECT value FROM json_each(?))
           ORDER BY seq DESC LIMIT ?`,
          q.after ?? 0, q.before ?? Number.MAX_SAFE_INTEGER, q.include_deleted ? 1 : 0,
          JSON.stringify(q.exclude_users), q.limit).toArray() };
    }
  }

  /**
   * Carries out the effects of one event, in order, answering the core's queries
   * as they come. `opening` is a socket accepted in this event but not yet known
   * by id. Returns the body of a "reply" effect, if any.
   */
  private apply(room: number, effects: Effects, opening?: { ws: WebSocket; facts: SocketFacts }): string | undefined {
    let reply: string | undefined;
    const stores: StoredMessage[] = [];
    for (;;) {
      let next: Effects | undefined;
      for (const e of effects.list) {
        if (stores.length) this.store(stores.splice(0));
        switch (e.op) {
          case "attach": {
            const ws = this.sockets.get(e.conn) ?? opening!.ws;
            const { session, ip } = this.sockets.has(e.conn) ? ws.deserializeAttachment() as Attachment : opening!.facts;
            ws.serializeAttachment({ conn: e.conn, data: e.data as Attachment["data"], session, ip } satisfies Attachment);
            this.sockets.set(e.conn, ws);
            this.connOf.set(ws, e.conn);
            break;
          }
          case "send": {
            const text = effects.frame(e.frame);
            for (const conn of e.to) {
              try {
                this.sockets.get(conn)?.send(text);
              } catch {
                // closing or closed: its close event will remove it
              }
            }
            break;
          }
          case "close": {
            const ws = this.sockets.get(e.conn);
            this.sockets.delete(e.conn);
            this.core.roomEvent(room, "close", e.conn);
            if (ws) {
              this.leftHub(ws);
              ws.serializeAttachment({ ...(ws.deserializeAttachment() as Attachment), closed: true });
            }
            if (ws) closeSocket(ws, e.code, e.reason);
            break;
          }
          case "store": // a flush's stores come together: one statement for them all
            stores.push(e.message);
            continue;
          case "tombstone":
            this.sql.exec("UPDATE messages SET deleted_at = ? WHERE seq = ? AND deleted_at IS NULL", e.at, e.seq);
            break;
          case "activity": {
            const id = this.roomId();
            this.d1(() => this.env.DB.prepare("UPDATE rooms SET last_activity_at = ? WHERE id = ?").bind(e.at, id).run());
            break;
          }
          case "dm_message": {
            const id = this.roomId();
            this.d1(() => this.env.DB.prepare(`UPDATE dm_conversations SET last_seq = ?2, last_at = ?3,
                last_user_id = ?4, last_body = ?5, unread_a = unread_a + (user_a = ?6),
                unread_b = unread_b + (user_b = ?6) WHERE id = ?1`)
              .bind(id, e.seq, e.at, e.user_id, e.body, e.unread_for ?? 0).run());
            break;
          }
          case "dm_read": {
            const id = this.roomId();
            this.d1(() => this.env.DB.prepare(`UPDATE dm_conversations
                SET unread_a = CASE WHEN user_a = ?2 THEN 0 ELSE unread_a END,
                    unread_b = CASE WHEN user_b = ?2 THEN 0 ELSE unread_b END WHERE id = ?1`)
              .bind(id, e.user_id).run());
            break;
          }
          case "notify": {
            const text = effects.frame(e.frame);
            this.ctx.waitUntil(this.hub(e.user_id).deliver(text).catch((err) => console.error("notify failed", err)));
            break;
          }
          case "flush_at":
            this.waiting = true;
            if (this.flushTimer === null) {
              this.flushTimer = setTimeout(() => this.flush(), Math.max(0, e.at - Date.now()));
            }
            break;
          case "reply":
            reply = e.body;
            break;
          case "query": // always the last effect: answer it and carry on with what follows
            next = this.core.roomEvent(room, "answer", 0, this.answer(e));
            break;
        }
      }
      if (stores.length) this.store(stores.splice(0));
      if (!next) return reply;
      effects = next;
    }
  }

  /** Inserts messages into the log, in order, with one statement. */
  private store(rows: StoredMessage[]): void {
    this.sql.exec(`INSERT INTO messages (seq, user_id, username, body, client_id, created_at)
      SELECT value ->> 'seq', value ->> 'user_id', value ->> 'username', value ->> 'body', value ->> 'client_id',
             value ->> 'created_at' FROM json_each(?)`, JSON.stringify(rows));
  }

  /** The outbox's time has come: the core sends what waits in it. */
  private flush(): void {
    this.flushTimer = null;
    try {
      this.run("flush", 0);
      this.waiting = this.flushTimer !== null; // a flush_at during it starts a new wait
    } catch (e) {
      console.error("room flush failed; the room will be rebuilt", e);
    }
  }

  /** Runs one event through the core; a trap or misuse drops the room for a rebuild. */
  private run(kind: "frame" | "close" | "page" | "blocks" | "kick" | "flush", conn: number, input?: Uint8Array | string | object): string | undefined {
    const room = this.ensureRoom();
    try {
      return this.apply(room, this.core.roomEvent(room, kind, conn, input));
    } catch (e) {
      // Only a page query can be refused without anything being wrong with the room.
      if (!(e instanceof CoreError && e.code === "query_invalid")) this.dropRoom(e);
      throw e;
    }
  }

  /** What this object is, with the load-test rate overrides if the Worker has them
   * (CHAT_RATE_* and CHAT_ROOM_RATE_* vars; never set in wrangler.toml). A room
   * ("room:<id>") has no configuration of its own; only a conversation ("dm:<id>")
   * has one, set by the Worker's configure() call. (A configuration stored in a
   * room by an older version, which took it from a header, is ignored.) */
  private config(): RoomConfig | undefined {
    const stored = this.meta<string>("object")?.startsWith("dm:") ? this.meta<string>("config") : undefined;
    const base: RoomConfig | undefined = stored ? (JSON.parse(stored) as RoomConfig) : undefined;
    const { CHAT_RATE_PER_SECOND: user, CHAT_RATE_BURST: userBurst,
            CHAT_ROOM_RATE_PER_SECOND: room, CHAT_ROOM_RATE_BURST: roomBurst } = this.env;
    if (!user && !room) return base;
    const bucket = (perSecond: string, burst?: string) => ({ burst: Number(burst ?? perSecond), per_second: Number(perSecond) });
    return { ...(base ?? { kind: "room" }),
      ...(user ? { rate: bucket(user, userBurst) } : {}),
      ...(room ? { room_rate: bucket(room, roomBurst) } : {}) };
  }

  /** Records what this object is; applied now if the room is live, else on rebuild. */
  private setConfig(roomId: number, object: string, config?: RoomConfig): void {
    this.setMeta("room_id", roomId);
    this.setMeta("object", object);
    if (!config) return;
    this.setMeta("config", JSON.stringify(config));
    if (this.room !== null) this.core.roomEvent(this.room, "config", 0, this.config()!);
  }

  /** The Worker's view of a conversation changed (friendship, blocks). */
  async configure(roomId: number, config: RoomConfig): Promise<void> {
    this.setConfig(roomId, `dm:${roomId}`, config);
  }

  /** A ban: every socket of the user here closes. */
  async kick(userId: number, reason: string): Promise<void> {
    if (this.meta("room_id") === undefined) return;
    this.run("kick", 0, { user_id: userId, reason });
  }

  /** Some sockets of a user lost their right to stay (worker/close.ts, revokes):
   * each closes with `code`, and the core forgets it as if it had gone away. */
  async revoke(userId: number, r: Revocation, code: number, reason: string): Promise<void> {
    if (this.meta("room_id") === undefined) return;
    this.ensureRoom();
    for (const [conn, ws] of [...this.sockets]) {
      const att = ws.deserializeAttachment() as Attachment;
      if (att.data.user.id !== userId || !revokes(r, att)) continue;
      this.sockets.delete(conn);
      ws.serializeAttachment({ ...att, closed: true } satisfies Attachment);
      this.leftHub(ws);
      closeSocket(ws, code, reason);
      this.run("close", conn);
    }
  }

  /** Whom a user blocks changed: their sockets here filter from now on. */
  async updateBlocks(userId: number, blocks: number[]): Promise<void> {
    const known = this.sql.exec("SELECT 1 FROM user_blocks WHERE user_id = ?", userId).toArray().length > 0;
    if (!known || this.meta("room_id") === undefined) return;
    this.sql.exec("UPDATE user_blocks SET blocks = ? WHERE user_id = ?", JSON.stringify(blocks), userId);
    this.run("blocks", 0, { user_id: userId, blocks });
  }

  /**
   * A socket the Worker authenticated. The Worker's request is built from nothing
   * and carries only FACTS_HEADER (worker/index.ts, forwardSocket): who the user is,
   * whom they block, the session, and which object this is. What a conversation is
   * comes by configure(), before the socket.
   */
  override async fetch(request: Request): Promise<Response> {
    const facts = JSON.parse(request.headers.get(FACTS_HEADER)!) as Required<SocketFacts>;
    const user = { ...facts.user, blocks: facts.blocks };
    this.setConfig(facts.room.id, facts.room.object);
    this.sql.exec("INSERT INTO user_blocks (user_id, blocks) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET blocks = ?2",
      user.id, JSON.stringify(user.blocks));
    // The user's hub counts the socket first (their budget of sockets across every
    // object), and so knows of it before we answer: a block made right after this
    // socket opens already reaches it.
    const object = this.meta<string>("object")!;
    const admitted = await this.hub(user.id).admit(object);
    if (!admitted.ok) return errorResponse("limit_reached", undefined,
      { budget: admitted.budget, limit: admitted.limit, message: BUDGETS[admitted.budget as BudgetName].message });
    const room = this.ensureRoom();
    let effects: Effects;
    try {
      effects = this.core.roomEvent(room, "open", 0, user);
    } catch (e) {
      this.ctx.waitUntil(this.hub(user.id).presence(object, -1));
      if (e instanceof CoreError && ["room_full", "not_member", "too_many_connections"].includes(e.code)) {
        return errorResponse(e.code);
      }
      this.dropRoom(e);
      throw e;
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.apply(room, effects, { ws: server, facts });
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { "Sec-WebSocket-Protocol": LIMITS.wsProtocol },
    });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Frames still arriving on a socket the room has closed are not read.
    if (ws.readyState !== WebSocket.OPEN) return;
    const conn = this.connOf.get(ws) ?? (ws.deserializeAttachment() as Attachment | null)?.conn;
    if (conn === undefined) return;
    try {
      // Only a socket the room knows now speaks for its conn id: one it closed or
      // forgot may share the id with a newer socket.
      this.ensureRoom();
      if (this.sockets.get(conn) !== ws) return;
      this.run("frame", conn, typeof message === "string" ? message : new Uint8Array(message));
    } catch (e) {
      console.error("room event failed; the room will be rebuilt", e);
      // The core is gone (a trap) or out of step: this one error frame is encoded here.
      ws.send(JSON.stringify({ type: "error", code: "internal", message: ERRORS.internal.message }));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.forget(ws);
    echoClose(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  /** Tells the core a socket is gone (unless a "close" effect already did). */
  private forget(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (!att || att.closed) return;
    this.leftHub(ws);
    this.ensureRoom();
    // Only this very socket: after a wake it is not restored (it is closing), and
    // one the room closed may share its id with a newer socket.
    if (this.sockets.get(att.conn) !== ws) return;
    this.run("close", att.conn);
    this.sockets.delete(att.conn);
  }

  /** Tells the socket's user's hub that this object holds one socket fewer of theirs. */
  private leftHub(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    const object = this.meta<string>("object");
    if (!att || !object) return;
    this.ctx.waitUntil(this.hub(att.data.user.id).presence(object, -1).catch((err) => console.error("presence", err)));
  }

  /** Tests only (CHAT_TEST_HOOKS): make this room's core trap, as a bug would. */
  async trapForTest(): Promise<boolean> {
    if (this.env.CHAT_TEST_HOOKS !== "1") return false;
    this.ensureRoom();
    try {
      this.core.trapForTest();
    } catch (e) {
      this.dropRoom(e);
    }
    return true;
  }

  /** GET /rooms/:id/messages: a page of history (the query string is checked by the core). */
  async history(roomId: number, object: string, query: string, viewer: { id: number; blocks: number[] }):
      Promise<{ body: string } | { error: string }> {
    if (this.meta("room_id") === undefined) this.setConfig(roomId, object);
    try {
      return { body: this.run("page", 0, { query, viewer })! };
    } catch (e) {
      if (e instanceof CoreError && e.code === "query_invalid") return { error: e.code };
      throw e;
    }
  }
}
