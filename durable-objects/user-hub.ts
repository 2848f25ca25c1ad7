/**
 * UserHub: one Durable Object per user, holding that person's own sockets (every
 * device) — where DM and friend notifications will arrive, and what a ban closes.
 *
 * It also keeps a register of the Durable Objects (rooms and conversations) where
 * the user has sockets open, kept up to date by those objects, so that a change
 * about the user (whom they block) reaches every open socket of theirs at once. It
 * is in storage, not memory, because the object hibernates.
 *
 * Sockets are accepted with the Hibernation API: the object may be evicted from
 * memory (about 10 s after the last message) while its sockets stay open, and it
 * is rebuilt on the next message. The Wasm heap is lost with it, so whatever a
 * socket needs after waking (the user) lives in the socket's attachment (keep it
 * small: a local runtime may cap it at 2 KiB). Each object has its own core
 * instance: module-level state would be shared by every object of the isolate.
 */
import { DurableObject } from "cloudflare:workers";
import { CoreHost, CoreTrap } from "../worker/core";
import type { Env, PublicUser } from "../worker/env";
import { ERRORS, LIMITS } from "../worker/generated/core";

interface Attachment {
  user: PublicUser;
}

export class UserHub extends DurableObject<Env> {
  private readonly core = new CoreHost();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // object name (as in idFromName) -> how many of the user's sockets it holds
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS presence (object TEXT PRIMARY KEY, sockets INTEGER NOT NULL)");
  }

  /** A room or conversation object reports one more (+1) or one fewer (-1) socket. */
  async presence(object: string, delta: 1 | -1): Promise<void> {
    const sql = this.ctx.storage.sql;
    sql.exec(`INSERT INTO presence (object, sockets) VALUES (?1, max(?2, 0))
              ON CONFLICT (object) DO UPDATE SET sockets = max(sockets + ?2, 0)`, object, delta);
    sql.exec("DELETE FROM presence WHERE sockets = 0");
  }

  /** Sends a frame (encoded by the core) to every personal socket of the user. */
  async deliver(frame: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // closing: nothing to deliver to
      }
    }
  }

  /** The user was banned: every socket of theirs closes, here and in every room
   * and conversation, with CHAT_CLOSE_BANNED and the reason. */
  async ban(userId: number, reason: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(LIMITS.closeBanned, reason);
      } catch {
        // already closed
      }
    }
    const objects = this.ctx.storage.sql.exec<{ object: string }>("SELECT object FROM presence").toArray();
    await Promise.all(objects.map(({ object }) =>
      this.env.CHAT_ROOM.get(this.env.CHAT_ROOM.idFromName(object)).kick(userId, reason)));
  }

  /** Whom the user blocks changed: every room and conversation where they have a
   * socket filters at once. */
  async blocksChanged(userId: number, blocks: number[]): Promise<void> {
    const objects = this.ctx.storage.sql.exec<{ object: string }>("SELECT object FROM presence").toArray();
    await Promise.all(objects.map(({ object }) =>
      this.env.CHAT_ROOM.get(this.env.CHAT_ROOM.idFromName(object)).updateBlocks(userId, blocks)));
  }

  /** Accepts a socket the Worker has authenticated (the user is in X-Chat-User). */
  override async fetch(request: Request): Promise<Response> {
    const user = JSON.parse(request.headers.get("X-Chat-User") ?? "null") as PublicUser;
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ user } satisfies Attachment);
    server.send(this.core.callText("connection", undefined, user));
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { "Sec-WebSocket-Protocol": LIMITS.wsProtocol },
    });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const bytes = typeof message === "string" ? message : new Uint8Array(message);
    try {
      ws.send(this.core.callText("user_frame", bytes));
    } catch (e) {
      if (!(e instanceof CoreTrap)) throw e;
      // The core is gone (and will be rebuilt), so this one frame is encoded here.
      ws.send(JSON.stringify({ type: "error", code: "internal", message: ERRORS.internal.message }));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Complete the closing handshake; 1005/1006 may not be sent back.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}
