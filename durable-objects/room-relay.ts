/**
 * Relays (issue 21, part 5; README "Past one object: relays"): both ends of the link
 * between a big room and the relay objects that hold a share of its sockets.
 *
 * One object's thread makes about 20 000 socket sends a second, so a room of
 * thousands spends its whole thread sending. From CHAT_RELAY_FROM open sockets
 * (the core's room_relay_for decides, wasm/room_rules.h), the room answers
 * a new socket with "relay j" (RELAY_HEADER) and the Worker sends it to the
 * RoomRelay "<room object>/relay:<j>". The relay holds the socket and decides
 * nothing: the room keeps everything (the core: who may join, seq, the log, rate
 * limits, blocks), and sees each relayed socket as a RelayedSocket, which the
 * room's code sends to and closes like a WebSocket. What the room sends to one
 * relay in one turn goes as one RPC (RoomRelay.deliver): each frame once, with
 * the conn ids it is for, so the room's work per flush grows with the relays, not
 * with the sockets. Frames from a relayed socket reach the room by RPC
 * (ChatRoom.relayFrame), in order (calls on one stub arrive in the order made).
 *
 * What a relayed socket needs after the room restarts is not kept: each build of
 * the room's core is an epoch (the time it was built, in ms, and later than the
 * last one), every relayed socket belongs to the epoch that admitted it, and a new
 * build tells every relay to close the sockets of older epochs
 * (LIMITS.closeRestart); their clients reconnect and resume by `since`, as after a
 * deploy. A relay that cannot be reached loses its sockets the same way (the room
 * forgets them and closes them there once it can), and each relay's alarm checks
 * its sockets against the room's (relayCheck), so none stays open unknown. So the room stays in memory while it holds relayed
 * sockets (a pending timer keeps a Durable Object from eviction: Cloudflare
 * changelog, 2026-10-01, "Pending I/O operations allow Durable Objects to continue").
 * A relay hibernates as any object with sockets does; its sockets' attachments say
 * which room, epoch and conn each is.
 */
import { DurableObject } from "cloudflare:workers";
import { closeSocket, echoClose } from "../worker/close";
import { CoreHost } from "../worker/core";
import { FACTS_HEADER, type Env, type SocketFacts } from "../worker/env";
import { IDLE_REASON, IdleWatch, idleScale } from "../worker/liveness";
import { LIMITS } from "../worker/generated/core";

/** The header of a room's answer to the Worker that sends a socket to relay j
 * (its value): only the Worker reads it, and never passes that answer on. */
export const RELAY_HEADER = "X-Chat-Relay";

/** The reason of a relayed socket's LIMITS.closeRestart. */
const RESTARTED = "room restarted: reconnect";

/** One step of what a room tells a relay, in order: a frame for some of its
 * sockets (conn ids), or a close of one socket. */
export type RelayOp = { text: string; to: number[] } | { close: number; code: number; reason: string };

/** The room's answer to a relay's open: the socket's conn id in the room's core,
 * the epoch, and the frames the open sent it (the connection frame, ...); or the
 * refusal to answer the client (status and JSON body). */
export type RelayOpened = { conn: number; epoch: number; frames: string[] }
  | { status: number; body: string; headers: Record<string, string> };

/** The object name of relay `j` of a room object (as in idFromName). */
export function relayName(object: string, j: number): string {
  return `${object}/relay:${j}`;
}

/** A socket held by relay `relay`, as its room sees it: the subset of WebSocket
 * the room's code uses. Sends and closes queue on the room's RelayLinks. */
export class RelayedSocket {
  readyState: number = WebSocket.OPEN;
  /** The conn id the core gave it (set by its first attachment, the attach effect). */
  conn = -1;
  /** Frames sent while the open is under way: they go back in the open's answer,
   * since the relay has no socket yet. Null once opened. */
  private early: string[] | null = [];
  private attachment: unknown = null;

  constructor(private readonly links: RelayLinks, readonly relay: number) {}

  send(text: string): void {
    if (this.readyState !== WebSocket.OPEN) throw new TypeError("socket closed");
    if (this.early) this.early.push(text);
    else this.links.send(this.relay, this.conn, text);
  }

  close(code: number, reason: string): void {
    if (this.readyState !== WebSocket.OPEN) return;
    this.readyState = WebSocket.CLOSED;
    this.links.close(this.relay, this.conn, code, reason);
  }

  serializeAttachment(value: unknown): void {
    this.attachment = value;
    this.conn = (value as { conn: number }).conn;
  }

  deserializeAttachment(): unknown {
    return this.attachment;
  }

  /** The open is done: the frames it sent, and from now on sends go to the relay. */
  opened(): string[] {
    const frames = this.early ?? [];
    this.early = null;
    return frames;
  }
}

/**
 * The room's end: what the room sends its relays in one turn, one RPC per relay
 * (queued, then sent from a microtask when the turn ends), and the epoch of this
 * build of the room's core.
 */
export class RelayLinks {
  /** This build's epoch (newEpoch at each build of the room's core), 0 before the first. */
  epoch = 0;
  private readonly queues = new Map<number, RelayOp[]>();
  private readonly stubs = new Map<number, DurableObjectStub<RoomRelay>>();
  private scheduled = false;
  private keepAwake: ReturnType<typeof setInterval> | null = null;

  /** `room.gone(relay, conns)`: sockets a relay no longer holds (closed there, or
   * lost in its restart) that the room still counted; `room.lost(relay)`: a relay
   * could not be reached, so what it holds is lost to the room. */
  constructor(private readonly ctx: DurableObjectState, private readonly env: Env,
              private readonly object: () => string | undefined,
              private readonly room: { gone(relay: number, conns: number[]): void; lost(relay: number): void }) {}

  /** A new build of the room's core: a new epoch. When `relayed` (the room has
   * had relayed sockets), every relay closes those of older epochs. */
  newEpoch(relayed: boolean): void {
    this.epoch = Math.max(Date.now(), this.epoch + 1);
    this.queues.clear();
    const object = this.object();
    if (!relayed || !object) return;
    for (let j = 0; j < LIMITS.relays; j++) {
      this.ctx.waitUntil(this.stub(j).reset(this.epoch).catch((err) => {
        this.stubs.delete(j); // a stub that threw is not used again
        console.error("relay reset", err);
      }));
    }
  }

  send(relay: number, conn: number, text: string): void {
    const ops = this.queue(relay);
    const last = ops.at(-1);
    // a broadcast is one send per socket of the same text: one op for them all
    if (last && "text" in last && last.text === text) last.to.push(conn);
    else ops.push({ text, to: [conn] });
  }

  close(relay: number, conn: number, code: number, reason: string): void {
    this.queue(relay).push({ close: conn, code, reason });
  }

  /** Keeps the room in memory while `holding()` says it has relayed sockets
   * (checked every LIMITS.idleRecordMs). */
  stayAwake(holding: () => boolean): void {
    if (this.keepAwake !== null) return;
    this.keepAwake = setInterval(() => {
      if (holding()) return;
      clearInterval(this.keepAwake!);
      this.keepAwake = null;
    }, LIMITS.idleRecordMs);
  }

  private queue(relay: number): RelayOp[] {
    let ops = this.queues.get(relay);
    if (!ops) this.queues.set(relay, ops = []);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.deliver());
    }
    return ops;
  }

  private deliver(): void {
    this.scheduled = false;
    const epoch = this.epoch;
    for (const [j, ops] of this.queues) {
      this.ctx.waitUntil(this.stub(j).deliver(epoch, ops)
        .then((gone) => { if (gone.length && epoch === this.epoch) this.room.gone(j, gone); })
        .catch((err) => {
          console.error("relay deliver", err);
          this.stubs.delete(j); // a stub that threw is not used again
          if (epoch === this.epoch) this.room.lost(j);
        }));
    }
    this.queues.clear();
  }

  private stub(j: number): DurableObjectStub<RoomRelay> {
    let stub = this.stubs.get(j);
    if (!stub) {
      const ns = this.env.ROOM_RELAY;
      this.stubs.set(j, stub = ns.get(ns.idFromName(relayName(this.object()!, j))));
    }
    return stub;
  }
}

/** What each relayed socket carries through the relay's hibernation. */
interface RelayAttachment {
  room: string;
  relay: number;
  epoch: number;
  conn: number;
  heard: number;
  closed?: true;
}

/** The facts of a relayed socket: the Worker's, with the relay it chose. */
export type RelayFacts = SocketFacts & { room: { id: number; object: string; relay: number } };

/**
 * RoomRelay: one per (room, j), holding the room's relayed sockets of users with
 * id mod CHAT_RELAYS = j. It decides nothing: the room admits each socket
 * (ChatRoom.relayOpen) and says what to send and close (deliver); the relay passes
 * each frame it hears to the room in order, and closes sockets silent past
 * LIMITS.idleTimeoutMs (worker/liveness.ts), telling the room.
 */
export class RoomRelay extends DurableObject<Env> {
  private readonly core = new CoreHost();
  private readonly idle: IdleWatch;
  /** The sockets, by conn id (built from the attachments after a wake). */
  private conns: Map<number, WebSocket> | null = null;
  /** Opens under way, and what the room sent meanwhile for sockets not held yet
   * (a frame may overtake the open's answer); dropped when no open is under way. */
  private opening = 0;
  private pending = new Map<number, { epoch: number; ops: RelayOp[] }>();
  /** The newest epoch of the room this relay heard of (0 until it did, or after a
   * wake: its sockets' attachments say). An open answered in an older one is closed. */
  private newest = 0;
  private roomStub: DurableObjectStub<import("./chat-room").ChatRoom> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.idle = new IdleWatch(ctx, this.core, idleScale(env.CHAT_IDLE_SCALE));
  }

  private held(): Map<number, WebSocket> {
    if (this.conns) return this.conns;
    this.conns = new Map();
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as RelayAttachment | null;
      if (!att || att.closed || ws.readyState !== WebSocket.OPEN) continue;
      this.conns.set(att.conn, ws);
      this.newest = Math.max(this.newest, att.epoch);
    }
    return this.conns;
  }

  /** The room's stub (a stub that threw is dropped, and the next call makes another). */
  private room(object: string) {
    this.roomStub ??= this.env.CHAT_ROOM.get(this.env.CHAT_ROOM.idFromName(object));
    return this.roomStub;
  }

  /** A call to the room failed: its stub is not used again. */
  private roomFailed(what: string, err: unknown): void {
    this.roomStub = null;
    console.error(what, err);
  }

  /** A socket the Worker sent here (the room's RELAY_HEADER answer), with its facts
   * in FACTS_HEADER as for a room; the room admits it. */
  override async fetch(request: Request): Promise<Response> {
    const facts = JSON.parse(request.headers.get(FACTS_HEADER)!) as RelayFacts;
    const { object, relay } = facts.room;
    this.opening++;
    let answer: RelayOpened;
    try {
      answer = await this.room(object).relayOpen(relay, facts);
    } catch (e) {
      this.opening--;
      this.settle();
      this.roomFailed("relay open", e);
      throw e;
    }
    this.opening--; // what waited for this socket is taken below, before settle()
    if (!("conn" in answer)) {
      this.settle();
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    }
    const conns = this.held(); // before this socket is among the runtime's
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ room: object, relay, epoch: answer.epoch, conn: answer.conn,
      ...IdleWatch.opened() } satisfies RelayAttachment);
    if (answer.epoch < this.newest) {
      // admitted by a build of the room that has since ended: it knows this socket no more
      this.end(server, LIMITS.closeRestart, RESTARTED);
    } else {
      this.newest = answer.epoch;
      const older = conns.get(answer.conn);
      if (older) this.end(older, LIMITS.closeRestart, RESTARTED); // an older epoch's conn id
      conns.set(answer.conn, server);
      for (const text of answer.frames) server.send(text);
      const early = this.pending.get(answer.conn);
      this.pending.delete(answer.conn);
      if (early?.epoch === answer.epoch) this.apply(answer.epoch, early.ops);
    }
    this.settle();
    this.ctx.waitUntil(this.idle.arm());
    return new Response(null, { status: 101, webSocket: client, headers: { "Sec-WebSocket-Protocol": LIMITS.wsProtocol } });
  }

  /** No open under way: what waited for a socket that never came is dropped (the
   * room hears of it as gone at its next send there). */
  private settle(): void {
    if (this.opening === 0) this.pending.clear();
  }

  /** What the room sends, in order: each frame to the sockets named, each close.
   * Answers the conn ids named that this relay does not hold (or holds for another
   * epoch), for the room to forget. */
  async deliver(epoch: number, ops: RelayOp[]): Promise<number[]> {
    return this.apply(epoch, ops);
  }

  private apply(epoch: number, ops: RelayOp[]): number[] {
    const conns = this.held();
    this.newest = Math.max(this.newest, epoch);
    const gone = new Set<number>();
    const holds = (conn: number): WebSocket | undefined => {
      const ws = conns.get(conn);
      if (ws && (ws.deserializeAttachment() as RelayAttachment).epoch === epoch) return ws;
      const waiting = this.pending.get(conn);
      if (this.opening > 0 && (waiting?.ops.length ?? 0) < LIMITS.relayPendingMax) {
        // perhaps a socket whose open's answer is still on its way
        if (waiting?.epoch !== epoch) this.pending.set(conn, { epoch, ops: [] });
        return undefined;
      }
      this.pending.delete(conn);
      gone.add(conn);
      return undefined;
    };
    for (const op of ops) {
      if ("text" in op) {
        for (const conn of op.to) {
          const ws = holds(conn);
          if (ws) {
            try {
              ws.send(op.text);
            } catch {
              // closing: its close event tells the room
            }
          } else this.pending.get(conn)?.ops.push({ text: op.text, to: [conn] });
        }
      } else {
        const ws = holds(op.close);
        if (ws) this.end(ws, op.code, op.reason);
        else this.pending.get(op.close)?.ops.push(op);
        gone.delete(op.close); // the room closed it: nothing to tell back
      }
    }
    return [...gone];
  }

  /** The room's core was built again (epoch `epoch`): its sockets of older epochs
   * are unknown to it now; they close, and their clients reconnect. */
  async reset(epoch: number): Promise<void> {
    const conns = this.held();
    this.newest = Math.max(this.newest, epoch);
    for (const ws of [...conns.values()]) {
      if ((ws.deserializeAttachment() as RelayAttachment).epoch < this.newest) this.end(ws, LIMITS.closeRestart, RESTARTED);
    }
  }

  /** Closes a socket for the room (or as stale). */
  private end(ws: WebSocket, code: number, reason: string): void {
    this.drop(ws);
    closeSocket(ws, code, reason);
  }

  /** Lets a socket go: marked closed (never held again after a wake), and not held. */
  private drop(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as RelayAttachment;
    ws.serializeAttachment({ ...att, closed: true } satisfies RelayAttachment);
    if (this.conns?.get(att.conn) === ws) this.conns.delete(att.conn);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (ws.readyState !== WebSocket.OPEN) return;
    const att = ws.deserializeAttachment() as RelayAttachment | null;
    if (!att || att.closed) return;
    this.idle.heard(ws);
    // Not awaited, so the next frame's call follows this one on the same stub. A
    // frame the room does not take (it closed this socket: its close, with its
    // code, is on its way) is dropped; one the room does not know at all is found
    // by the alarm's check (relayCheck).
    this.ctx.waitUntil(this.room(att.room).relayFrame(att.relay, att.epoch, att.conn, message)
      .catch((err) => this.roomFailed("relay frame", err)));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.forget(ws);
    echoClose(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  /** The client went: the room forgets the socket (unless the room closed it). */
  private forget(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as RelayAttachment | null;
    if (!att || att.closed) return;
    this.drop(ws);
    this.ctx.waitUntil(this.room(att.room).relayClosed(att.relay, att.epoch, [att.conn])
      .catch((err) => this.roomFailed("relay close", err)));
  }

  /** Sockets silent past LIMITS.idleTimeoutMs close (LIMITS.closeIdle), and the
   * room forgets them; then the others are checked against the room's own list
   * (relayCheck): one it does not know (a reset or a close that never arrived)
   * closes, and its client reconnects. */
  override async alarm(): Promise<void> {
    const open = [...this.held().values()];
    const idle = new Set(await this.idle.check(open));
    const told = new Map<number, { att: RelayAttachment; conns: number[] }>();
    const held: { epoch: number; conn: number }[] = [];
    for (const ws of open) {
      const att = ws.deserializeAttachment() as RelayAttachment;
      if (!idle.has(ws)) {
        held.push({ epoch: att.epoch, conn: att.conn });
        continue;
      }
      this.end(ws, LIMITS.closeIdle, IDLE_REASON);
      const entry = told.get(att.epoch) ?? { att, conns: [] };
      entry.conns.push(att.conn);
      told.set(att.epoch, entry);
    }
    const any = open[0]?.deserializeAttachment() as RelayAttachment | undefined;
    if (!any) return;
    try {
      for (const { att, conns } of told.values()) await this.room(att.room).relayClosed(att.relay, att.epoch, conns);
      const unknown = new Set((await this.room(any.room).relayCheck(any.relay, held)).map((x) => `${x.epoch}:${x.conn}`));
      for (const ws of [...this.held().values()]) {
        const att = ws.deserializeAttachment() as RelayAttachment;
        if (unknown.has(`${att.epoch}:${att.conn}`)) this.end(ws, LIMITS.closeRestart, RESTARTED);
      }
    } catch (e) {
      this.roomFailed("relay alarm", e);
    }
  }
}
