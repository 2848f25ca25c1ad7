/**
 * UserHub: one Durable Object per user, holding that person's own sockets (every
 * device) — where DM and friend notifications will arrive, and what a ban closes.
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
