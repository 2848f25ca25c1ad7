/**
 * ChatRoom: one Durable Object per room, holding the room's WebSockets and its
 * message log (this object's own SQLite storage). A shell around the C room
 * (wasm/room.h): every handler decodes the event, asks the core, and carries out
 * the effects it returns, in order. No chat rule is decided here.
 *
 * Platform facts this file is shaped by:
 * - Hibernation: sockets are accepted with ctx.acceptWebSocket, so the object can
 *   be evicted from memory (about 10 s idle) while they stay open. The Wasm heap
 *   goes with it; the core's room is rebuilt on the next event from storage (the
 *   next seq) and from each socket's attachment (who it is, whether it joined),
 *   which the core itself decides (the "attach" effect). No timers: a pending
 *   setTimeout would keep the object awake.
 * - Durability before visibility: a "store" effect comes before the "send" that
 *   reveals the message, storage.sql writes are synchronous, and the runtime's
 *   output gate holds outgoing messages until the write is durable.
 * - Each object owns its Wasm instance: module-level state is shared by every
 *   object of an isolate.
 * - A deploy restarts every object and drops every socket; clients reconnect and
 *   resume with join_room {since}.
 */
import { DurableObject } from "cloudflare:workers";
import { CoreError, CoreHost, type Effects, type RoomQuery, type StoredMessage } from "../worker/core";
import type { Env, PublicUser } from "../worker/env";
import { ERRORS, LIMITS } from "../worker/generated/core";

/** What each socket carries through hibernation: its id and the core's data. */
interface Attachment {
  conn: number;
  data: unknown;
}

const MESSAGE_COLUMNS = "seq, user_id, username, body, client_id, created_at, deleted_at";

export class ChatRoom extends DurableObject<Env> {
  private readonly core = new CoreHost();
  private readonly sql: SqlStorage;
  /** The core's room, or null until the first event after a start or a trap. */
  private room: number | null = null;
  private readonly sockets = new Map<number, WebSocket>();

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
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)");
  }

  /** The room's id in the D1 directory, recorded the first time the Worker names it. */
  private roomId(given?: number): number {
    if (given !== undefined) {
      this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('room_id', ?)", given);
    }
    const row = this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'room_id'").toArray()[0];
    if (!row) throw new Error("room id unknown");
    return row.value;
  }

  /** The core's room, rebuilt from storage and the sockets' attachments if needed. */
  private ensureRoom(): number {
    if (this.room !== null) return this.room;
    const last = this.sql.exec<{ last: number | null }>("SELECT max(seq) AS last FROM messages").one().last;
    const room = this.core.roomNew(this.roomId(), (last ?? 0) + 1);
    this.sockets.clear();
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      // A socket this room closed (a flood) may still be listed while it closes.
      if (!att || ws.readyState !== WebSocket.OPEN) continue;
      this.core.roomEvent(room, "restore", 0, att.data as object);
      this.sockets.set(att.conn, ws);
    }
    this.room = room;
    return room;
  }

  /** Forgets the core's room after a trap or a misuse; the next event rebuilds it. */
  private dropRoom(): void {
    this.room = null;
  }

  /** Answers a query of the core from storage. */
  private answer(q: RoomQuery): object {
    switch (q.what) {
      case "dedup":
        return { row: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE user_id = ? AND client_id = ?`,
          q.user_id, q.client_id).toArray()[0] ?? null };
      case "message":
        return { row: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq = ?`, q.seq).toArray()[0] ?? null };
      case "history":
        return { rows: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages
           WHERE seq > ? AND seq < ? AND (? OR deleted_at IS NULL)
           ORDER BY seq DESC LIMIT ?`,
          q.after ?? 0, q.before ?? Number.MAX_SAFE_INTEGER, q.include_deleted ? 1 : 0, q.limit).toArray() };
    }
  }

  /**
   * Carries out the effects of one event, in order, answering the core's queries
   * as they come. `opening` is a socket accepted in this event but not yet known
   * by id. Returns the body of a "reply" effect, if any.
   */
  private apply(room: number, effects: Effects, opening?: WebSocket): string | undefined {
    let reply: string | undefined;
    for (;;) {
      let next: Effects | undefined;
      for (const e of effects.list) {
        switch (e.op) {
          case "attach": {
            const ws = this.sockets.get(e.conn) ?? opening!;
            ws.serializeAttachment({ conn: e.conn, data: e.data } satisfies Attachment);
            this.sockets.set(e.conn, ws);
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
            try {
              ws?.close(e.code, e.reason);
            } catch {
              // already closed
            }
            break;
          }
          case "store": {
            const m = e.message;
            this.sql.exec("INSERT INTO messages (seq, user_id, username, body, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
              m.seq, m.user_id, m.username, m.body, m.client_id, m.created_at);
            break;
          }
          case "tombstone":
            this.sql.exec("UPDATE messages SET deleted_at = ? WHERE seq = ? AND deleted_at IS NULL", e.at, e.seq);
            break;
          case "activity": {
            const id = this.roomId();
            this.ctx.waitUntil(this.env.DB.prepare("UPDATE rooms SET last_activity_at = ? WHERE id = ?")
              .bind(e.at, id).run().catch((err) => console.error("activity update failed", err)));
            break;
          }
          case "reply":
            reply = e.body;
            break;
          case "query": // always the last effect: answer it and carry on with what follows
            next = this.core.roomEvent(room, "answer", 0, this.answer(e));
            break;
        }
      }
      if (!next) return reply;
      effects = next;
    }
  }

  /** Runs one event through the core; a trap or misuse drops the room for a rebuild. */
  private run(kind: "frame" | "close" | "page", conn: number, input?: Uint8Array | string): string | undefined {
    const room = this.ensureRoom();
    try {
      return this.apply(room, this.core.roomEvent(room, kind, conn, input));
    } catch (e) {
      // Only a page query can be refused without anything being wrong with the room.
      if (!(e instanceof CoreError && e.code === "query_invalid")) this.dropRoom();
      throw e;
    }
  }

  /** A socket the Worker authenticated: X-Chat-User is the user, X-Chat-Room the room id. */
  override async fetch(request: Request): Promise<Response> {
    const user = JSON.parse(request.headers.get("X-Chat-User") ?? "null") as PublicUser;
    this.roomId(Number(request.headers.get("X-Chat-Room")));
    const room = this.ensureRoom();
    let effects: Effects;
    try {
      effects = this.core.roomEvent(room, "open", 0, user);
    } catch (e) {
      if (e instanceof CoreError && e.code === "room_full") {
        return Response.json({ error: { code: e.code, message: ERRORS.room_full.message } }, { status: 503 });
      }
      this.dropRoom();
      throw e;
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.apply(room, effects, server);
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { "Sec-WebSocket-Protocol": LIMITS.wsProtocol },
    });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as Attachment | null;
    // Frames still arriving on a socket the room has closed are not read.
    if (!att || ws.readyState !== WebSocket.OPEN) return;
    try {
      this.run("frame", att.conn, typeof message === "string" ? message : new Uint8Array(message));
    } catch (e) {
      console.error("room event failed; the room will be rebuilt", e);
      // The core is gone (a trap) or out of step: this one error frame is encoded here.
      ws.send(JSON.stringify({ type: "error", code: "internal", message: ERRORS.internal.message }));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.forget(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  /** Tells the core a socket is gone (unless a "close" effect already did). */
  private forget(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (!att || (this.room !== null && !this.sockets.has(att.conn))) return;
    this.run("close", att.conn);
    this.sockets.delete(att.conn);
  }

  /** Tests only (CHAT_TEST_HOOKS): make this room's core trap, as a bug would. */
  async trapForTest(): Promise<boolean> {
    if (this.env.CHAT_TEST_HOOKS !== "1") return false;
    this.ensureRoom();
    try {
      this.core.trapForTest();
    } catch {
      this.dropRoom();
    }
    return true;
  }

  /** GET /rooms/:id/messages: a page of history (the query string is checked by the core). */
  async history(roomId: number, query: string): Promise<{ body: string } | { error: string }> {
    this.roomId(roomId);
    try {
      return { body: this.run("page", 0, query)! };
    } catch (e) {
      if (e instanceof CoreError && e.code === "query_invalid") return { error: e.code };
      throw e;
    }
  }
}
