/**
 * A WebSocket that comes back. The token travels as the subprotocol
 * "bearer.<token>" next to "chat.v1" (never in the URL). When the socket drops
 * (a deploy restarts every server object, a network flap, a laptop waking up),
 * it reconnects with exponential backoff and jitter (0.5 s doubling to 10 s) and
 * reports "reconnecting" meanwhile. Its users resume through `onOpen`, called on
 * every `connection` frame, the first frame of each new socket.
 *
 * A socket that goes quiet is not trusted: a ping every 20 s, and a socket that
 * has received nothing for 45 s is closed and replaced. Close codes 4003 (a ban)
 * and 4001 (the session ended: a logout, here or on another tab) end it for good.
 */
import { LIMITS, type ClientFrame, type ServerFrame, type WireFrame } from "./protocol";

export type SocketStatus = "connecting" | "open" | "reconnecting" | "ended";

export interface SocketHandlers {
  onOpen(): void;
  onFrame(frame: ServerFrame): void;
  onStatus(status: SocketStatus): void;
  /** The server closed with a code that says "do not come back" (banned, or the
   * session ended). */
  onEnded(code: number, reason: string): void;
  /** A connection attempt failed before its first frame: the session may be over. */
  onRefused?(): void;
}

const PING_MS = 20_000;
const SILENCE_MS = 45_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

export function socketUrl(path: string): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

export class ResilientSocket {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lastHeard = 0;
  private greeted = false;
  status: SocketStatus = "connecting";

  constructor(private readonly path: string, private readonly token: string, private readonly handlers: SocketHandlers) {}

  start(): void {
    this.stopped = false;
    window.addEventListener("online", this.reconnectNow);
    this.connect();
    this.ticker = setInterval(() => this.tick(), PING_MS / 2);
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("online", this.reconnectNow);
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

  /** Drops the current socket and opens a new one at once. */
  readonly reconnectNow = (): void => {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.attempts = 0;
    const old = this.ws;
    this.ws = null;
    old?.close(1000, "reconnect");
    this.connect();
  };

  private setStatus(s: SocketStatus) {
    if (this.status === s) return;
    this.status = s;
    this.handlers.onStatus(s);
  }

  private connect() {
    if (this.stopped) return;
    this.greeted = false;
    const ws = new WebSocket(socketUrl(this.path), [LIMITS.wsProtocol, `${LIMITS.wsBearerPrefix}${this.token}`]);
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
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
      if (ev.code === LIMITS.closeBanned || ev.code === LIMITS.closeSessionEnded) {
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
    this.setStatus("reconnecting");
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private tick() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      // A dead network may never deliver the close: do not wait for it.
      const ws = this.ws;
      this.ws = null;
      ws.close(4000, "silent");
      this.scheduleReconnect();
      return;
    }
    this.send({ type: "ping" });
  }
}
