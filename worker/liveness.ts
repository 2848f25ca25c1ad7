/**
 * Idle sockets (issue 18): the shell's half of wasm/liveness.h, shared by the room
 * and hub objects. A socket that sends nothing, no frame and no ping, for
 * LIMITS.idleTimeoutMs is closed with LIMITS.closeIdle, so sockets whose peer
 * vanished without a Close frame do not linger.
 *
 * Platform facts this is shaped by (durable-objects/README.md):
 * - A timer would keep the object awake; an alarm does not. The object's alarm is
 *   set when a socket opens and none is pending, and each alarm sets the next one
 *   for when the first remaining socket could become idle (the core's check_at).
 * - A bare `{"type":"ping"}` is answered `{"type":"pong"}` by the runtime itself
 *   (setWebSocketAutoResponse), without waking the object or spending a rate
 *   token; the time of a socket's last such answer is the platform's
 *   (getWebSocketAutoResponseTimestamp), and counts as heard.
 * - Memory goes with hibernation, so when a socket was last heard is written in
 *   its attachment (`heard`), at most every LIMITS.idleRecordMs per socket rather
 *   than on every frame: the core knows the time is that coarse.
 */
import type { CoreHost } from "./core";
import { LIMITS, type FrameType } from "./generated/core";

const PING = JSON.stringify({ type: "ping" satisfies FrameType });
const PONG = JSON.stringify({ type: "pong" satisfies FrameType });

/** The reason of an idle socket's close frame. */
export const IDLE_REASON = "nothing heard in time: reconnect";

/** The attachment field this file owns. */
interface Heard { heard?: number }

export class IdleWatch {
  /** When each socket's attachment last recorded it heard (a cache of `heard`). */
  private readonly recorded = new WeakMap<WebSocket, number>();
  /** Whether an alarm is known to be pending (false after a wake: ask storage). */
  private armed = false;
  private readonly timeoutMs: number;
  private readonly recordMs: number;

  /** `scale` (the CHAT_IDLE_SCALE var, tests only) divides the idle time. */
  constructor(private readonly ctx: DurableObjectState, private readonly core: CoreHost, private readonly scale: number) {
    this.timeoutMs = LIMITS.idleTimeoutMs / scale;
    this.recordMs = LIMITS.idleRecordMs / scale;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** The `heard` field of a new socket's first attachment. */
  static opened(now = Date.now()): Required<Heard> {
    return { heard: now };
  }

  /** A frame came from `ws`: its attachment records it if its record is older
   * than LIMITS.idleRecordMs (one attachment write per socket that often at most). */
  heard(ws: WebSocket, now = Date.now()): void {
    let at = this.recorded.get(ws);
    if (at === undefined) {
      at = (ws.deserializeAttachment() as Heard | null)?.heard ?? 0;
      this.recorded.set(ws, at);
    }
    if (now - at < this.recordMs) return;
    const att = ws.deserializeAttachment() as Heard | null;
    if (!att) return;
    ws.serializeAttachment({ ...att, heard: now });
    this.recorded.set(ws, now);
  }

  /** Sets the alarm for the idle check unless one is pending (a storage read once
   * per wake, then nothing). */
  async arm(): Promise<void> {
    if (this.armed) return;
    this.armed = true;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.timeoutMs);
  }

  /** From the object's alarm: which of `sockets` are idle now (the core decides,
   * CHAT_OP_IDLE), the caller closes them; the alarm is set again for the others. */
  async check(sockets: WebSocket[]): Promise<WebSocket[]> {
    const heard = sockets.map((ws) => Math.max((ws.deserializeAttachment() as Heard | null)?.heard ?? 0,
      this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0));
    const { idle, check_at } = this.core.call<{ idle: number[]; check_at: number | null }>("idle", undefined,
      { heard, scale: this.scale });
    this.armed = check_at !== null;
    if (check_at !== null) await this.ctx.storage.setAlarm(check_at);
    return idle.map((i) => sockets[i]!);
  }
}

/** The idle time's scale from the environment (CHAT_IDLE_SCALE, tests only): 1
 * unless a number over 1 is given. */
export function idleScale(value: string | undefined): number {
  const n = Number(value ?? 1);
  return Number.isFinite(n) && n > 1 ? n : 1;
}
