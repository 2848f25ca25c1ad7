/**
 * A WebSocket that comes back. The token travels as the subprotocol
 * "bearer.<token>" next to "chat.v1" (never in the URL). When the socket drops
 * (a deploy restarts every server object, a network flap, a laptop waking up),
 * it reconnects with capped exponential backoff and full jitter (a random wait up
 * to LIMITS.reconnectBaseMs doubling to LIMITS.reconnectCapMs: chat_limits.h) and
 * reports "reconnecting" meanwhile. Its users resume through `onOpen`, called on
 * every `connection` frame, the first frame of each new socket.
 *
 * Connection state in seconds (issue 18):
 * - Heartbeat: after PING_IDLE_MS without a frame from the server, a
 *   bare `{"type":"ping"}` (the server's runtime answers it without waking the
 *   room or spending a rate token: PROTOCOL.md "Idle sockets"); if nothing at all (the pong or any other
 *   frame) arrives within PONG_TIMEOUT_MS, the connection is dead: it is dropped
 *   and replaced at once, without waiting for TCP to give up (which took about
 *   50 s). `probe()` sends one at once (a message waiting for its
 *   acknowledgement asks). An active socket, which hears frames anyway, sends none.
 * - The browser's `offline` event: the status becomes "offline" at once and no
 *   attempt is made until `online`, which reconnects at once.
 * Close codes 4003 (a ban), 4001 (the session ended: a logout, here or on another
 * tab) and 4004 (removed from this room) end it for good.
 */
import { LIMITS, type ClientFrame, type ServerFrame, type WireFrame } from "./protocol";

export type SocketStatus = "connecting" | "open" | "reconnecting" | "offline" | "ended";

export interface SocketHandlers {
  onOpen(): void;
  onFrame(frame: ServerFrame): void;
  onStatus(status: SocketStatus): void;
  /** The server closed with a code that says "do not come back" (banned, the
   * session ended, or removed from the room). */
  onEnded(code: number, reason: string): void;
  /** A connection attempt failed before its first frame: the session may be over,
   * or the room may not exist. */
  onRefused?(): void;
}

/** Quiet time (ms) after which a ping asks whether the connection still lives. */
export const PING_IDLE_MS = 10_000;
/** How long (ms) a ping may go unanswered before the connection counts as dead. */
export const PONG_TIMEOUT_MS = 4_000;
const TICK_MS = 1_000;

export function socketUrl(path: string): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

const FINAL_CODES: readonly number[] = [LIMITS.closeBanned, LIMITS.closeSessionEnded, LIMITS.closeRemoved];

export class ResilientSocket {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lastHeard = 0;
  /** When the unanswered ping was sent (0: none is waiting). */
  private pingedAt = 0;
  private greeted = false;
  status: SocketStatus = "connecting";

  constructor(private readonly path: string, private readonly token: string, private readonly handlers: SocketHandlers) {}

  start(): void {
    this.stopped = false;
    window.addEventListener("online", this.reconnectNow);
    window.addEventListener("offline", this.wentOffline);
    if (navigator.onLine === false) this.wentOffline();
    else this.connect();
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("online", this.reconnectNow);
    window.removeEventListener("offline", this.wentOffline);
    clearTimeout(this.retry);
    clearInterval(this.ticker);
    this.ws?.close(1000, "done");
    this.ws = null;
  }

  /** Sends a frame if the socket is open; false if not (the caller keeps it for later). */
  send(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.greeted) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Asks now whether the connection lives (a ping, unless one is waiting). */
  probe(): void {
    if (this.pingedAt === 0) this.ping();
  }

  /** Drops the current socket and opens a new one at once. */
  readonly reconnectNow = (): void => {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.attempts = 0;
    this.drop("reconnect");
    this.connect();
  };

  /** The browser says the network is gone: say so, and wait for `online`. */
  private readonly wentOffline = (): void => {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.drop("offline");
    this.setStatus("offline");
  };

  private drop(reason: string) {
    const old = this.ws;
    this.ws = null;
    this.pingedAt = 0;
    // A dead network may never deliver the close: nothing waits for it.
    old?.close(old.readyState === WebSocket.OPEN ? 4000 : 1000, reason);
  }

  private setStatus(s: SocketStatus) {
    if (this.status === s) return;
    this.status = s;
    this.handlers.onStatus(s);
  }

  private connect() {
    if (this.stopped) return;
    this.greeted = false;
    this.pingedAt = 0;
    const ws = new WebSocket(socketUrl(this.path), [LIMITS.wsProtocol, `${LIMITS.wsBearerPrefix}${this.token}`]);
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      this.pingedAt = 0; // any frame proves the connection alive
      let wire: WireFrame;
      try {
        wire = JSON.parse(String(ev.data)) as WireFrame;
      } catch {
        return;
      }
      for (const frame of wire.type === "batch" ? wire.frames : [wire]) {
        if (frame.type === "connection") {
          this.greeted = true;
          this.attempts = 0;
          this.setStatus("open");
          this.handlers.onOpen();
        }
        this.handlers.onFrame(frame);
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      if (FINAL_CODES.includes(ev.code)) {
        this.stop();
        this.setStatus("ended");
        this.handlers.onEnded(ev.code, ev.reason);
        return;
      }
      if (!this.greeted) this.handlers.onRefused?.();
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    if (navigator.onLine === false) return this.wentOffline();
    this.setStatus("reconnecting");
    const delay = Math.random() * Math.min(LIMITS.reconnectCapMs, LIMITS.reconnectBaseMs * 2 ** this.attempts);
    this.attempts++;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private ping() {
    if (!this.send({ type: "ping" })) return;
    this.pingedAt = Date.now();
  }

  private tick() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.greeted) return;
    const now = Date.now();
    if (this.pingedAt !== 0 && now - this.pingedAt > PONG_TIMEOUT_MS) {
      this.drop("no pong");
      this.scheduleReconnect();
      return;
    }
    if (this.pingedAt === 0 && now - this.lastHeard > PING_IDLE_MS) this.ping();
  }
}
