/**
 * The effect applier of a room object: carries out, in order, the effects of one
 * event of the room's core (wasm/room.h ROOM_EFFECTS) on the sockets, the room's
 * own storage (room-storage.ts), D1 (the directory's last activity, the
 * conversation index, in order through one queue), the users' hubs and the flush
 * timer. Its switch is exhaustive: an effect the C list gains and this file does
 * not handle fails to compile.
 *
 * One-way (the re-entrancy rule of wasm/room.h): while applying, it calls the core
 * only to answer the query that ends an event's effects (RoomCore.answer), and
 * carries on with the answer's effects. Everything an effect announces has already
 * happened in the core: a "close" comes with the socket forgotten there, so
 * nothing is reported back.
 */
import { closeSocket } from "../worker/close";
import { unreachable, type CoreOp, type Effects, type RoomQuery, type StoredMessage } from "../worker/core";
import { LIMITS } from "../worker/generated/core";
import type { Env, PublicUser, SocketFacts } from "../worker/env";
import type { RoomStorage } from "./room-storage";

/** What each socket carries through hibernation: its id, the core's data, and the
 * session and address it was opened with (what a revocation matches). */
export interface Attachment extends Pick<SocketFacts, "session" | "ip"> {
  conn: number;
  data: { user: PublicUser } & Record<string, unknown>;
  /** Set when the room closed the socket itself (and told the hub): such a socket
   * is never restored, even while the runtime still lists it. */
  closed?: true;
  /** When the socket was last heard, to within LIMITS.idleRecordMs (worker/liveness.ts). */
  heard?: number;
}

/** A socket as the room uses it: a WebSocket it holds, or one a relay holds for
 * it (RelayedSocket, room-relay.ts). */
export type RoomSocket = Pick<WebSocket, "send" | "close" | "serializeAttachment" | "deserializeAttachment" | "readyState">;

/** The only calls into the core an applier makes. */
export interface RoomCore {
  /** Answers the core's pending query from storage: the effects of the answer. */
  answer(q: RoomQuery): Effects;
  /** A flush_at effect's time has come: the core's ROOM_FLUSH event (later, from a timer). */
  flush(): void;
  /** One of the core's operations (api.h) that makes a frame: its answer's text. */
  call(op: CoreOp, aux: object): string;
}

export class RoomEffects {
  /** The sockets the core knows, by conn id. */
  readonly sockets = new Map<number, RoomSocket>();
  /** Each known socket's conn id, so a frame needs no attachment read. */
  private readonly connOf = new WeakMap<RoomSocket, number>();
  /** The timer of a flush_at effect: broadcasts wait in the core's outbox until it
   * fires (at most CHAT_FLUSH_INTERVAL_MAX_MS for a message, CHAT_PRESENCE_INTERVAL_MAX_MS
   * for presence alone; a pending timer keeps the object awake that long, never
   * longer). */
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** When flushTimer fires (ms since the epoch). */
  private flushAt = 0;
  /** Accepted messages may wait in the core's outbox (a flush was asked for and has
   * not run since): losing the core now loses them unacknowledged. */
  waiting = false;
  /** Messages were stored since members were last told, and when that was (at
   * most every LIMITS.roomActivityMs: a busy room tells them once a second). */
  private activity = false;
  /** Who is looking (a joined socket here), as the core's last list said. */
  private looking = new Set<number>();
  private activityTimer: ReturnType<typeof setTimeout> | null = null;
  private activityToldAt = 0;
  /** Members whose hub said they had no personal socket: user id -> until when
   * room_activity leaves them out (LIMITS.activityAwayMs; present() ends it). In
   * memory, at most one entry per member. */
  private readonly away = new Map<number, number>();
  /** D1 writes of this object, one after another so they land in order. */
  private d1Queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: DurableObjectState, private readonly env: Env,
              private readonly storage: RoomStorage, private readonly core: RoomCore) {}

  /** Remembers a socket the core knows as `conn` (a restored one). */
  remember(conn: number, ws: RoomSocket): void {
    this.sockets.set(conn, ws);
    this.connOf.set(ws, conn);
  }

  /** The conn id of a socket, if the core knows this very socket now: one the room
   * closed or forgot may share its id with a newer socket. */
  connOfKnown(ws: RoomSocket): number | undefined {
    const conn = this.connOf.get(ws) ?? (ws.deserializeAttachment() as Attachment | null)?.conn;
    return conn !== undefined && this.sockets.get(conn) === ws ? conn : undefined;
  }

  /** Forgets every socket and the flush timer (the core is gone). Returns whether
   * accepted messages were waiting in its outbox. */
  reset(): boolean {
    this.sockets.clear();
    this.looking.clear(); // the rebuilt core lists them again with its first room_activity
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const waiting = this.waiting;
    this.waiting = false;
    return waiting;
  }

  /** The flush timer fired; the flush event runs next. */
  timerFired(): void {
    this.flushTimer = null;
  }

  /** The flush event went through: messages wait only if it asked for another. */
  settled(): void {
    this.waiting = this.flushTimer !== null;
  }

  /** Closes a socket the room ended: it is marked closed first (never restored),
   * and its user's hub counts one socket fewer. */
  closeSocket(conn: number, ws: RoomSocket, code: number, reason: string): void {
    this.sockets.delete(conn);
    ws.serializeAttachment({ ...(ws.deserializeAttachment() as Attachment), closed: true } satisfies Attachment);
    this.leftHub(ws);
    closeSocket(ws, code, reason);
  }

  /** Tells the socket's user's hub that this object holds one socket fewer of theirs. */
  leftHub(ws: RoomSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    const object = this.storage.meta<string>("object");
    if (!att || !object) return;
    this.ctx.waitUntil(this.hub(att.data.user.id).presence(object, -1).catch((err) => console.error("presence", err)));
  }

  /** Deletes the objects of files no message carries any more (R2 keys
   * "<object>/<id>"), without holding the event. */
  private dropFiles(ids: string[]): void {
    const object = this.storage.meta<string>("object");
    if (!ids.length || !object) return;
    this.ctx.waitUntil(this.env.FILES.delete(ids.map((id) => `${object}/${id}`))
      .catch((err) => console.error("R2 delete failed", err)));
  }

  hub(userId: number) {
    return this.env.USER_HUB.get(this.env.USER_HUB.idFromName(String(userId)));
  }

  /** Runs D1 writes in order, after the ones before, without holding the event. */
  private d1(write: () => Promise<unknown>): void {
    this.d1Queue = this.d1Queue.then(write).catch((err) => console.error("D1 write failed", err));
    this.ctx.waitUntil(this.d1Queue);
  }

  /** Messages were stored: the members not looking will be told (a timer, at most
   * once per LIMITS.roomActivityMs). */
  private activitySoon(): void {
    this.activity = true;
    if (this.activityTimer !== null) return;
    const wait = Math.max(0, this.activityToldAt + LIMITS.roomActivityMs - Date.now());
    this.activityTimer = setTimeout(() => this.tellActivity(), wait);
  }

  /** Tells the members who are not looking (as the core's last room_activity
   * listed them) the room's counts for them. */
  private tellActivity(): void {
    this.activityTimer = null;
    this.activityToldAt = Date.now();
    if (!this.activity) return;
    this.activity = false;
    this.tellCounts(this.storage.memberIds().filter((id) => !this.looking.has(id)));
  }

  /** Sends each user their counts here (room_activity, made by the core) on their
   * personal sockets; not to a member away lately (no personal socket when last
   * told): counting and sending for them is left out until present() or
   * LIMITS.activityAwayMs later. */
  private tellCounts(userIds: number[]): void {
    if (!userIds.length || this.storage.meta<string>("object")?.startsWith("dm:")) return;
    const roomId = this.storage.roomId();
    const now = Date.now();
    for (const id of userIds) {
      if ((this.away.get(id) ?? 0) > now) continue;
      this.away.delete(id);
      const frame = this.core.call("room_activity", { room_id: roomId, ...this.storage.counts(id) });
      this.ctx.waitUntil(this.hub(id).deliver(frame)
        .then((online) => { if (!online && !this.away.has(id)) this.away.set(id, Date.now() + LIMITS.activityAwayMs); })
        .catch((err) => console.error("room_activity", err)));
    }
  }

  /** A conversation's message `seq` was deleted or edited: its index row in D1
   * (GET /dms) shows the latest message as it now is (never a deleted text or an
   * edited one's old text), and a deleted one the other person had not read is no
   * longer counted (RoomStorage.dmPreview). Rooms keep no such row. */
  private dmPreviewChanged(seq: number, deleted: boolean): void {
    if (!this.storage.meta<string>("object")?.startsWith("dm:")) return;
    const id = this.storage.roomId();
    const { latest, author, from_it } = this.storage.dmPreview(seq);
    const uncount = deleted && author !== null ? 1 : 0;
    this.d1(() => this.env.DB.prepare(`UPDATE dm_conversations SET last_seq = ?2, last_at = ?3, last_user_id = ?4,
        last_body = ?5,
        unread_a = CASE WHEN ?6 AND user_a != ?7 AND unread_a >= ?8 THEN unread_a - 1 ELSE unread_a END,
        unread_b = CASE WHEN ?6 AND user_b != ?7 AND unread_b >= ?8 THEN unread_b - 1 ELSE unread_b END
        WHERE id = ?1`)
      .bind(id, latest?.seq ?? 0, latest?.created_at ?? null, latest?.user_id ?? null, latest?.body ?? null,
        uncount, author ?? 0, from_it).run());
  }

  /** The user is here now (they asked for their counts, or moved their marker):
   * room_activity reaches them again. */
  present(userId: number): void {
    this.away.delete(userId);
  }

  /** A stored message mentions people (its store effect's keys): each one the
   * core's room_mention_reaches lets it reach (a member, not blocking the author)
   * counts it and gets a mention frame; their counts follow with everyone's, at
   * most once per LIMITS.roomActivityMs (activitySoon). Who they are and whom they
   * block is D1's. */
  private mentioned(row: StoredMessage & { mentions?: string[] }): void {
    const roomId = this.storage.roomId();
    this.d1(async () => {
      const people = await this.env.DB.prepare(`SELECT u.id, EXISTS (SELECT 1 FROM blocks b
          WHERE b.blocker_id = u.id AND b.blocked_id = ?1) AS blocks_author
          FROM users u WHERE u.username_key IN (SELECT value FROM json_each(?2))`)
        .bind(row.user_id, JSON.stringify(row.mentions)).all<{ id: number; blocks_author: number }>();
      // Every mention stored in this one turn (one commit, which holds the room's
      // outgoing frames until it is durable, not one per person), then told.
      const told: Promise<boolean>[] = [];
      for (const p of people.results) {
        const { reaches, frame } = JSON.parse(this.core.call("mention_check", {
          room_id: roomId, seq: row.seq, person: p.id, from: { id: row.user_id, username: row.username },
          member: this.storage.standing(p.id) === "member", blocks_author: p.blocks_author === 1,
        })) as { reaches: boolean; frame: string | null };
        if (!reaches) continue;
        this.storage.addMention(p.id, row.seq);
        told.push(this.hub(p.id).deliver(frame!));
      }
      if (told.length) this.activitySoon();
      await Promise.all(told);
    });
  }

  /**
   * Carries out the effects of one event, in order, and those of the answers to
   * its query. `opening` is a socket accepted in this event but not known by id
   * yet. Returns the body of a "reply" effect, if any.
   */
  apply(effects: Effects, opening?: { ws: RoomSocket; facts: SocketFacts }): string | undefined {
    let reply: string | undefined;
    const stores: StoredMessage[] = [];
    for (;;) {
      let next: Effects | undefined;
      for (const e of effects.list) {
        if (e.op !== "store" && stores.length) this.storage.store(stores.splice(0));
        switch (e.op) {
          case "attach": {
            const ws = this.sockets.get(e.conn) ?? opening!.ws;
            const { session, ip, heard } = this.sockets.has(e.conn) ? ws.deserializeAttachment() as Attachment
              : { ...opening!.facts, heard: Date.now() };
            ws.serializeAttachment({ conn: e.conn, data: e.data as Attachment["data"], session, ip, heard } satisfies Attachment);
            this.remember(e.conn, ws);
            break;
          }
          case "send": {
            const text = effects.frame(e.frame);
            for (const conn of e.to) {
              try {
                this.sockets.get(conn)?.send(text);
              } catch {
                // closing or closed: its close event will tell the core
              }
            }
            break;
          }
          case "close": {
            const ws = this.sockets.get(e.conn);
            if (ws) this.closeSocket(e.conn, ws, e.code, e.reason);
            break;
          }
          case "store": // a flush's stores come together: one statement for them all
            stores.push(e.message);
            if (e.message.mentions) this.mentioned(e.message);
            this.activitySoon();
            break;
          case "read_marker": {
            this.storage.setReadMarker(e.user_id, e.seq);
            this.present(e.user_id);
            this.tellCounts([e.user_id]); // the user's other tabs and devices
            break;
          }
          case "room_activity":
            this.looking = new Set(e.looking);
            break;
          case "tombstone":
            this.storage.tombstone(e.seq, e.at, e.change);
            this.dropFiles(this.storage.dropFiles(e.seq));
            this.dmPreviewChanged(e.seq, true);
            break;
          case "edit":
            this.storage.edit(e.seq, e.body, e.at, e.change, e.keep);
            this.dmPreviewChanged(e.seq, false);
            break;
          case "react":
            this.storage.react(e.seq, e.emoji, e.user_id, e.add, e.at, e.change);
            break;
          case "erase":
            this.storage.eraseUser(e.user_id, e.at, e.tombstone, e.change);
            this.dropFiles(this.storage.dropFilesOf(e.user_id));
            break;
          case "activity": {
            const id = this.storage.roomId();
            this.d1(() => this.env.DB.prepare("UPDATE rooms SET last_activity_at = ? WHERE id = ?").bind(e.at, id).run());
            break;
          }
          case "dm_message": {
            const id = this.storage.roomId();
            this.d1(() => this.env.DB.prepare(`UPDATE dm_conversations SET last_seq = ?2, last_at = ?3,
                last_user_id = ?4, last_body = ?5, unread_a = unread_a + (user_a = ?6),
                unread_b = unread_b + (user_b = ?6) WHERE id = ?1`)
              .bind(id, e.seq, e.at, e.user_id, e.body, e.unread_for ?? 0).run());
            break;
          }
          case "dm_read": {
            const id = this.storage.roomId();
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
            // One timer, for the earliest time asked: a message's flush comes
            // before the presence flush already asked for (room_presence_interval).
            this.waiting = true;
            if (this.flushTimer === null || e.at < this.flushAt) {
              if (this.flushTimer !== null) clearTimeout(this.flushTimer);
              this.flushAt = e.at;
              this.flushTimer = setTimeout(() => this.core.flush(), Math.max(0, e.at - Date.now()));
            }
            break;
          case "limits": // the flood bucket outlives the core's memory
            this.storage.setFlood(e.user_id, e.flood);
            break;
          case "reply":
            reply = e.body;
            break;
          case "query": // always the last effect: its answer's effects come next
            next = this.core.answer(e);
            break;
          default:
            unreachable(e);
        }
      }
      if (stores.length) this.storage.store(stores.splice(0));
      if (!next) return reply;
      effects = next;
    }
  }
}
