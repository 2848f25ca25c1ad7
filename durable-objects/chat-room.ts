/**
 * ChatRoom: one Durable Object per room, and one per direct-message conversation
 * (configured as "dm": a room with exactly two members), holding its WebSockets
 * and its message log. A shell around the C room (wasm/room.h): each entry point
 * below decodes the event, asks the core, and hands the effects to the applier
 * (room-effects.ts), which writes the log (room-storage.ts). No chat rule is
 * decided here. The platform facts this object is shaped by (hibernation,
 * attachments, durability, deploys): durable-objects/README.md.
 *
 * Errors of the core (wasm/chat_error.h classes): a refusal of one client's input
 * is answered to that client, and the room goes on serving everyone else; a fatal
 * error or a trap drops the core's room, which the next event rebuilds from
 * storage and the sockets' attachments.
 */
import { DurableObject } from "cloudflare:workers";
import { closeSocket, echoClose, revokes } from "../worker/close";
import { CoreError, CoreHost, coreLost, type Effects, type RoomEventKind } from "../worker/core";
import { FACTS_HEADER, type Env, type Revocation, type SocketFacts } from "../worker/env";
import { errorResponse } from "../worker/errors";
import { IDLE_REASON, IdleWatch, idleScale } from "../worker/liveness";
import { BUDGETS, ERRORS, LIMITS, type BudgetName, type ErrorCode } from "../worker/generated/core";
import { RoomEffects, type Attachment, type RoomSocket } from "./room-effects";
import { RELAY_HEADER, RelayLinks, RelayedSocket, type RelayFacts, type RelayOpened } from "./room-relay";
import { RoomStorage, type Standing, type Upload } from "./room-storage";

/** What this object is: a room, or a conversation between two users (the core's
 * ROOM_CONFIG; a conversation's is the core's CHAT_OP_DM_CONFIG answer). */
export interface RoomConfig {
  kind: "room" | "dm";
  members?: [number, number];
  open?: boolean;
  private?: boolean;
  rate?: { burst: number; per_second: number };
  room_rate?: { burst: number; per_second: number };
}

/** The facts of a membership request the Worker looked up (api.h CHAT_OP_MEMBERSHIP);
 * standings and the member count are this object's. */
export interface MembershipRequest {
  action: "join" | "leave" | "invite" | "kick" | "view";
  room: { id: number; name: string; private: boolean; owner: number };
  actor: { id: number; username: string; role: string };
  target?: { id: number; username: string } | null;
}

/** What a membership request changed: whose standing, to what, and the frame
 * (room_invite) for the target's personal sockets. */
export interface MembershipAnswer {
  user_id: number;
  standing: Standing;
  close: boolean;
  tell: string | null;
}

export class ChatRoom extends DurableObject<Env> {
  private readonly core = new CoreHost();
  private readonly storage: RoomStorage;
  private readonly effects: RoomEffects;
  /** The core's room, or null until the first event after a start or a failure. */
  private room: number | null = null;
  /** How many times this object built its core's room (for tests and logs). */
  private builds = 0;
  /** Idle sockets (issue 18): closed from the alarm (worker/liveness.ts). */
  private readonly idle: IdleWatch;
  /** A big room's relays (room-relay.ts): what goes to them, and this build's epoch. */
  private readonly links: RelayLinks;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.storage = new RoomStorage(ctx.storage.sql, env.CHAT_SEARCH_INDEX !== "off");
    this.idle = new IdleWatch(ctx, this.core, idleScale(env.CHAT_IDLE_SCALE));
    this.effects = new RoomEffects(ctx, env, this.storage, {
      answer: (q) => this.core.roomEvent(this.room!, "answer", 0, this.storage.answer(q)),
      flush: () => this.flush(),
      call: (op, aux) => this.core.callText(op, undefined, aux),
    });
    this.links = new RelayLinks(ctx, env, () => this.storage.meta<string>("object"), {
      gone: (j, conns) => void this.relayClosed(j, this.links.epoch, conns).catch((err) => console.error("relay gone", err)),
      lost: (j) => this.relayLost(j),
    });
  }

  /** The core's room, rebuilt from storage and the sockets' attachments if needed. */
  private ensureRoom(): number {
    if (this.room !== null) return this.room;
    const room = this.core.roomNew(this.storage.roomId(), this.storage.nextSeq(), this.storage.nextChange());
    this.room = room;
    this.builds++;
    this.effects.reset();
    // This instance's first build: sockets relays hold for an earlier one are unknown here.
    if (!this.links.epoch) this.links.newEpoch(this.hasRelayed());
    try {
      const config = this.config();
      if (config) this.core.roomEvent(room, "config", 0, config);
      for (const ws of this.ctx.getWebSockets()) {
        const att = ws.deserializeAttachment() as Attachment | null;
        // A socket this room closed (a flood, a ban, a logout) may still be listed
        // while it closes, even as OPEN if its close failed; its id may be given to
        // a new socket, so it must never come back.
        if (!att || att.closed || ws.readyState !== WebSocket.OPEN) continue;
        const data = { ...att.data, user: { ...att.data.user, ...this.storage.userFacts(att.data.user.id) } };
        try {
          this.core.roomEvent(room, "restore", 0, data);
        } catch (e) {
          if (!(e instanceof CoreError) || e.fatal) throw e;
          // This socket's facts are refused now (a limit that changed): it alone
          // goes, and reconnects to be admitted afresh.
          ws.serializeAttachment({ ...att, closed: true } satisfies Attachment);
          this.effects.leftHub(ws);
          closeSocket(ws, 1011, "could not be restored: reconnect");
          continue;
        }
        this.effects.remember(att.conn, ws);
      }
    } catch (e) {
      this.dropRoom(e);
      throw e;
    }
    return room;
  }

  /** Forgets the core's room after a trap, a fatal error or a failed apply (freeing
   * it unless the instance went with it); the next event rebuilds it. */
  private dropRoom(cause: unknown): void {
    if (this.room !== null && !coreLost(cause)) {
      try {
        this.core.roomFree(this.room);
      } catch {
        // the instance is gone after all
      }
    }
    this.room = null;
    // Relayed sockets are not restored: their relays close them (a new epoch), their
    // clients reconnect, and their hubs count them no more.
    for (const ws of this.effects.sockets.values()) if (ws instanceof RelayedSocket) this.effects.leftHub(ws);
    this.links.newEpoch(this.hasRelayed());
    if (!this.effects.reset()) return;
    // Messages accepted but not yet stored died with the core. Their senders were
    // not acknowledged; closing every socket (1011, RFC 6455 section 7.4.1) makes
    // clients reconnect, resume and resend what is still pending, by client_id.
    for (const ws of this.ctx.getWebSockets()) closeSocket(ws, 1011, "room restarted: reconnect and resend");
  }

  /**
   * Runs one event through the core and applies its effects. A refusal (CoreError
   * of class refusal) is thrown to the caller with the room as it was; anything
   * else (a trap, a fatal code, a failure while applying) drops the room.
   */
  private run(kind: Exclude<RoomEventKind, "answer" | "restore">, conn: number, input?: Uint8Array | string | object):
      string | undefined {
    return this.apply(this.event(kind, conn, input));
  }

  /** One event through the core: its effects, not applied yet. */
  private event(kind: RoomEventKind, conn: number, input?: Uint8Array | string | object): Effects {
    const room = this.ensureRoom();
    try {
      return this.core.roomEvent(room, kind, conn, input);
    } catch (e) {
      if (!(e instanceof CoreError) || e.fatal) this.dropRoom(e);
      throw e;
    }
  }

  /** Applies an event's effects (room-effects.ts). */
  private apply(effects: Effects, opening?: { ws: RoomSocket; facts: SocketFacts }): string | undefined {
    try {
      return this.effects.apply(effects, opening);
    } catch (e) {
      this.dropRoom(e); // half applied: the core and the shell may disagree
      throw e;
    }
  }

  /** The outbox's time has come: the core sends what waits in it. */
  private flush(): void {
    this.effects.timerFired();
    try {
      this.run("flush", 0);
      this.effects.settled();
    } catch (e) {
      console.error("room flush failed; the room will be rebuilt", e);
    }
  }

  /** What this object is, with the load-test rate overrides if the Worker has them
   * (CHAT_RATE_* and CHAT_ROOM_RATE_* vars; never set in wrangler.toml). A room
   * ("room:<id>") has no configuration of its own; only a conversation ("dm:<id>")
   * has one, set by the Worker's configure() call. (A configuration stored in a
   * room by an older version, which took it from a header, is ignored.) */
  private config(): RoomConfig | undefined {
    const stored = this.storage.meta<string>("object")?.startsWith("dm:") ? this.storage.meta<string>("config") : undefined;
    const base: RoomConfig | undefined = stored ? (JSON.parse(stored) as RoomConfig)
      : this.storage.meta<number>("private") ? { kind: "room", private: true } : undefined;
    const { CHAT_RATE_PER_SECOND: user, CHAT_RATE_BURST: userBurst,
            CHAT_ROOM_RATE_PER_SECOND: room, CHAT_ROOM_RATE_BURST: roomBurst } = this.env;
    if (!user && !room) return base;
    const bucket = (perSecond: string, burst?: string) => ({ burst: Number(burst ?? perSecond), per_second: Number(perSecond) });
    return { ...(base ?? { kind: "room" }),
      ...(user ? { rate: bucket(user, userBurst) } : {}),
      ...(room ? { room_rate: bucket(room, roomBurst) } : {}) };
  }

  /** Records what this object is (its D1 id and its name, as in idFromName): once.
   * A write holds every outgoing frame of the room until it is durable (the output
   * gate), so a socket's open writes nothing it would not change. */
  private identify(roomId: number, object: string): void {
    if (this.identified === object) return;
    if (this.storage.meta<number>("room_id") !== roomId) this.storage.setMeta("room_id", roomId);
    if (this.storage.meta<string>("object") !== object) this.storage.setMeta("object", object);
    this.identified = object;
  }
  /** The object name identify() last checked (it never changes for an object). */
  private identified: string | null = null;

  /** The Worker's view of a conversation changed (friendship, blocks): the core's
   * CHAT_OP_DM_CONFIG answer. Stored for rebuilds, and a live room gets it as an
   * event of its own. */
  async configure(roomId: number, config: RoomConfig): Promise<void> {
    this.identify(roomId, `dm:${roomId}`);
    this.storage.setMeta("config", JSON.stringify(config));
    if (this.room !== null) this.run("config", 0, this.config()!);
  }

  /** A new room (POST /rooms): whether it is private, and its creator, its first
   * member. */
  async founded(roomId: number, isPrivate: boolean, owner: number): Promise<void> {
    this.identify(roomId, `room:${roomId}`);
    if (isPrivate) this.storage.setMeta("private", 1);
    this.storage.setStanding(owner, "member", Date.now());
    if (this.room !== null && isPrivate) this.run("config", 0, this.config()!);
  }

  /** Join, leave, invite, kick or view (whether the actor may read): the core
   * decides over the standings kept here (api.h CHAT_OP_MEMBERSHIP); the answer is
   * stored, and a kick (or leaving a private room) closes that user's sockets here
   * through the ban's machinery (ROOM_KICK, CHAT_CLOSE_REMOVED). The Worker
   * mirrors the answer to D1. */
  async membership(req: MembershipRequest): Promise<MembershipAnswer | { error: ErrorCode }> {
    if (this.storage.meta("room_id") === undefined) this.identify(req.room.id, `room:${req.room.id}`);
    const facts = {
      action: req.action,
      room: { ...req.room, members: this.storage.memberCount() },
      actor: { ...req.actor, standing: this.storage.standing(req.actor.id) },
      target: req.target ? { ...req.target, standing: this.storage.standing(req.target.id) } : null,
    };
    let answer: MembershipAnswer;
    try {
      answer = this.core.call<MembershipAnswer>("membership", undefined, facts);
    } catch (e) {
      if (e instanceof CoreError && !e.fatal) return { error: e.code };
      throw e;
    }
    if (req.action === "view") return answer;
    this.storage.setStanding(answer.user_id, answer.standing, Date.now());
    // a live room learns it at once: a marker is a member's (mark_read)
    if (this.room !== null) this.run("member", 0, { user_id: answer.user_id, member: answer.standing === "member" });
    if (answer.close) this.run("kick", 0, { user_id: answer.user_id, removed: true,
      reason: req.action === "kick" ? "removed from the room" : "left the room" });
    return answer;
  }

  /** A member's counts here (GET /rooms?mine=1): the last seq, their unread
   * messages and mentions after their read marker. */
  async counts(userId: number): Promise<{ last_seq: number; unread: number; mentions: number }> {
    if (this.storage.meta("room_id") === undefined) return { last_seq: 0, unread: 0, mentions: 0 };
    this.effects.present(userId); // their client is listing its rooms: they are about
    return this.storage.counts(userId);
  }

  /** Revocations that reached this room lately (kick, revoke), for a socket being
   * admitted at the same moment (fetch): kept in memory, LIMITS.revocationRecallMs. */
  private recentRevocations: { at: number; userId: number; r: Revocation; code: number; reason: string }[] = [];

  private noteRevocation(userId: number, r: Revocation, code: number, reason: string): void {
    const now = Date.now();
    this.recentRevocations = this.recentRevocations.filter((x) => x.at >= now - LIMITS.revocationRecallMs);
    this.recentRevocations.push({ at: now, userId, r, code, reason });
  }

  /** A revocation of this user's socket that arrived since `since`, if any. */
  private revokedSince(since: number, userId: number, socket: Pick<SocketFacts, "session" | "ip">) {
    return this.recentRevocations.find((x) => x.at >= since && x.userId === userId && revokes(x.r, socket)) ?? null;
  }

  /** How many open sockets of the user this object holds now (their hub checks
   * its presence register against it: a restart drops sockets without a close). */
  async socketsOf(userId: number): Promise<number> {
    const relayed = [...this.effects.sockets.values()].filter((ws) => ws instanceof RelayedSocket);
    return [...this.ctx.getWebSockets(), ...relayed].filter((ws) => {
      const att = ws.deserializeAttachment() as Attachment | null;
      return ws.readyState === WebSocket.OPEN && att && !att.closed && att.data.user.id === userId;
    }).length;
  }

  /** A ban: every socket of the user here closes. */
  async kick(userId: number, reason: string): Promise<void> {
    this.noteRevocation(userId, {}, LIMITS.closeBanned, reason);
    if (this.storage.meta("room_id") === undefined) return;
    this.run("kick", 0, { user_id: userId, reason });
  }

  /** Tells every socket here a frame the core made about person `userId` (a
   * profile's change: user_updated), as it is, if the core says it reaches here. */
  async tell(userId: number, frame: string): Promise<void> {
    if (this.storage.meta("room_id") === undefined) return;
    // Only about someone who belongs here (the core's room_profile_reaches): a
    // user the room removed hears nothing more from them.
    const { reaches } = this.core.call<{ reaches: boolean }>("profile_reaches", undefined, {
      conversation: this.storage.meta<string>("object")?.startsWith("dm:") === true,
      member: this.storage.standing(userId) === "member", sockets: await this.socketsOf(userId),
    });
    if (!reaches) return;
    this.ensureRoom();
    for (const ws of this.effects.sockets.values()) {
      try {
        ws.send(frame);
      } catch {
        // closing: nothing to tell
      }
    }
  }

  /** Files (issue 17): whether a user is a member here (a room's files are its
   * members': the core's attachment_access decides over this fact). */
  async isMember(roomId: number, object: string, userId: number): Promise<boolean> {
    if (this.storage.meta("room_id") === undefined) this.identify(roomId, object);
    return this.storage.standing(userId) === "member";
  }

  /** Keeps an upload the Worker stored in R2 (as "<object>/<id>"). */
  async addUpload(roomId: number, object: string, upload: Upload): Promise<void> {
    if (this.storage.meta("room_id") === undefined) this.identify(roomId, object);
    this.storage.addUpload(upload);
  }

  /** An upload here, by id, or null (never made, or its message deleted). */
  async upload(id: string): Promise<(Upload & { seq: number | null }) | null> {
    return this.storage.upload(id);
  }

  /** A page of a user's own messages here, for their export (room-storage.ts). */
  async authored(userId: number, after: number, limit: number): Promise<{ room_id: number | null; messages: { seq: number; body: string; created_at: number }[] }> {
    const roomId = this.storage.meta<number>("room_id");
    return { room_id: roomId ?? null, messages: roomId === undefined ? [] : this.storage.authored(userId, after, limit) };
  }

  /**
   * A user's account was deleted (wasm/account.h, erase_messages): what waits in
   * the outbox is stored first, so that nothing of theirs lands after; then the
   * core's ROOM_ERASE makes each of their messages here a tombstone, a change in
   * the room's change log, and tells the joined sockets (account_deleted).
   */
  async eraseUser(userId: number, tombstone: string): Promise<void> {
    if (this.storage.meta("room_id") === undefined) return;
    this.ensureRoom();
    this.flush();
    this.run("erase", 0, { user_id: userId, tombstone });
    // A deleted account is no member or invitee any more (its D1 mirror goes with
    // the account's relations: worker/account.ts).
    this.storage.setStanding(userId, "none", Date.now());
  }

  /** Some sockets of a user lost their right to stay (worker/close.ts, revokes):
   * each closes with `code`, and the core forgets it as if it had gone away. */
  async revoke(userId: number, r: Revocation, code: number, reason: string): Promise<void> {
    this.noteRevocation(userId, r, code, reason);
    if (this.storage.meta("room_id") === undefined) return;
    this.ensureRoom();
    for (const [conn, ws] of [...this.effects.sockets]) {
      const att = ws.deserializeAttachment() as Attachment;
      if (att.data.user.id !== userId || !revokes(r, att)) continue;
      this.effects.closeSocket(conn, ws, code, reason);
      this.run("close", conn);
    }
  }

  /** Whom a user blocks changed: their sockets here filter from now on. Returns the
   * core's refusal of the facts, if it refused them (the room is then as it was). */
  async updateBlocks(userId: number, blocks: number[], version?: number): Promise<ErrorCode | undefined> {
    if (this.storage.meta("room_id") === undefined || !this.storage.setBlocks(userId, blocks, version)) return undefined;
    try {
      this.run("blocks", 0, { user_id: userId, blocks });
    } catch (e) {
      if (e instanceof CoreError && !e.fatal) return e.code;
      throw e;
    }
    return undefined;
  }

  /**
   * A socket the Worker authenticated. The Worker's request is built from nothing
   * and carries only FACTS_HEADER (worker/index.ts, forwardSocket): who the user is,
   * the session, and which object this is. What a conversation is comes by
   * configure(), before the socket. A big room answers instead which relay is to
   * hold the socket (RELAY_HEADER, the core's relay_route); the Worker sends it
   * there, and the relay asks relayOpen.
   */
  override async fetch(request: Request): Promise<Response> {
    const facts = JSON.parse(request.headers.get(FACTS_HEADER)!) as SocketFacts & Required<Pick<SocketFacts, "room">>;
    this.identify(facts.room.id, facts.room.object);
    const relay = this.relayFor(facts);
    if (relay !== null) return new Response(null, { status: 200, headers: { [RELAY_HEADER]: String(relay) } });
    const effects = await this.admit(facts);
    if (effects instanceof Response) return effects;
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.apply(effects, { ws: server, facts });
    this.ctx.waitUntil(this.idle.arm());
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { "Sec-WebSocket-Protocol": LIMITS.wsProtocol },
    });
  }

  /** Whether this room has ever had relayed sockets (kept in its meta, read once):
   * then a new build of its core resets its relays. */
  private hasRelayed(): boolean {
    this.relayedOnce ??= this.storage.meta<number>("relayed") === 1;
    return this.relayedOnce;
  }
  private relayedOnce: boolean | null = null;

  /** Which relay is to hold a new socket of a room (the core's relay_route, over
   * the members and the sockets here), or null: this object holds it. */
  private relayFor(facts: SocketFacts & Required<Pick<SocketFacts, "room">>): number | null {
    this.ensureRoom();
    const from = this.env.CHAT_RELAY_FROM ? { from: Number(this.env.CHAT_RELAY_FROM) } : {};
    return this.core.call<{ relay: number | null }>("relay_route", undefined, {
      conversation: facts.room.object.startsWith("dm:"), user_id: facts.user.id, sockets: this.effects.sockets.size, ...from,
    }).relay;
  }

  /**
   * Admits a new socket: the effects of the core's open event, to apply with the
   * socket, or the refusal to answer. The user's hub counts the socket first
   * (their budget of sockets across every object), and so knows of it before we
   * answer: a block made right after this socket opens already reaches it
   * (updateBlocks, with a newer version than the list the admit gives, which
   * never replaces it). `relay`: the relay that is to hold it (relayOpen), which
   * the core counts in what its flushes cost (room_fanout_sends).
   */
  private async admit(facts: SocketFacts & Required<Pick<SocketFacts, "room">>, relay?: number): Promise<Effects | Response> {
    const object = facts.room.object;
    // A socket the room's own limits refuse (a private room's non-member, a user's
    // CHAT_USER_CONNS_MAX here, a full room) is refused before the hub counts it:
    // the core's check changes nothing.
    try {
      this.event("open_check", 0, { ...facts.user, member: this.storage.standing(facts.user.id) === "member" });
    } catch (e) {
      if (e instanceof CoreError && !e.fatal) return errorResponse(e.code);
      throw e;
    }
    const asked = Date.now();
    const admitted = await this.effects.hub(facts.user.id).admit(object, facts);
    // Whom the user blocks, with their hub's version: a newer list already kept
    // here (a block that crossed this admit, updateBlocks) is never replaced.
    if (admitted.ok) this.storage.setBlocks(facts.user.id, admitted.blocks, admitted.blocks_version);
    const user = { ...facts.user, ...this.storage.userFacts(facts.user.id) };
    // A session that ended while this socket was on its way is refused: by the hub
    // if it knew first, or here if its revocation reached this room while we waited
    // for the hub (after it had counted this socket).
    const revoked = !admitted.ok && "revoked" in admitted ? admitted.revoked : this.revokedSince(asked, user.id, facts);
    if (revoked) {
      if (admitted.ok) this.ctx.waitUntil(this.effects.hub(user.id).presence(object, -1));
      return errorResponse(revoked.code === LIMITS.closeBanned ? "banned" : "unauthorized");
    }
    if (!admitted.ok && "budget" in admitted) return errorResponse("limit_reached", undefined,
      { budget: admitted.budget, limit: admitted.limit, message: BUDGETS[admitted.budget as BudgetName].message });
    try {
      return this.event("open", 0, relay === undefined ? user : { ...user, relay });
    } catch (e) {
      this.ctx.waitUntil(this.effects.hub(user.id).presence(object, -1));
      if (e instanceof CoreError && !e.fatal) return errorResponse(e.code); // refused; the room is as it was
      throw e;
    }
  }

  /** A socket the Worker sent to relay `relay` (the answer of fetch), asking to be
   * admitted as here: the relay then holds it, and this room sends to it and hears
   * from it through the relay (room-relay.ts). */
  async relayOpen(relay: number, facts: RelayFacts): Promise<RelayOpened> {
    this.identify(facts.room.id, facts.room.object);
    const effects = await this.admit(facts, relay);
    if (effects instanceof Response) return { status: effects.status, body: await effects.text(), headers: Object.fromEntries(effects.headers) };
    const ws = new RelayedSocket(this.links, relay);
    this.apply(effects, { ws, facts });
    if (!this.hasRelayed()) {
      this.storage.setMeta("relayed", 1);
      this.relayedOnce = true;
    }
    this.links.stayAwake(() => [...this.effects.sockets.values()].some((s) => s instanceof RelayedSocket));
    return { conn: ws.conn, epoch: this.links.epoch, frames: ws.opened() };
  }

  /** A frame a relayed socket sent; not read when this room does not know that
   * socket now (it closed it, or it is an earlier build's: the relay's check finds it). */
  async relayFrame(relay: number, epoch: number, conn: number, message: string | ArrayBuffer): Promise<void> {
    const ws = this.relayed(relay, epoch, conn);
    if (!ws) return;
    try {
      this.run("frame", conn, typeof message === "string" ? message : new Uint8Array(message));
    } catch (e) {
      console.error("room event failed; the room will be rebuilt", e);
      ws.send(JSON.stringify({ type: "error", code: "internal", message: ERRORS.internal.message }));
    }
  }

  /** Relayed sockets that went (their clients left, or went idle, or their relay
   * lost them): the core forgets them, and their hubs count them no more. */
  async relayClosed(relay: number, epoch: number, conns: number[]): Promise<void> {
    for (const conn of conns) {
      const ws = this.relayed(relay, epoch, conn);
      if (!ws) continue;
      this.effects.leftHub(ws);
      this.effects.sockets.delete(conn);
      ws.readyState = WebSocket.CLOSED;
      this.run("close", conn);
    }
  }

  /** Which of the sockets relay `relay` holds (each with its epoch) this room does
   * not know: the relay closes them (its alarm asks). */
  async relayCheck(relay: number, held: { epoch: number; conn: number }[]): Promise<{ epoch: number; conn: number }[]> {
    return held.filter((x) => !this.relayed(relay, x.epoch, x.conn));
  }

  /** Relay `relay` could not be reached: its sockets are lost to this room. The core
   * forgets them, their hubs count them no more, and the relay is told to close
   * them (LIMITS.closeRestart) once it can be reached: their clients reconnect. */
  private relayLost(relay: number): void {
    for (const [conn, ws] of [...this.effects.sockets]) {
      if (!(ws instanceof RelayedSocket) || ws.relay !== relay) continue;
      this.effects.closeSocket(conn, ws, LIMITS.closeRestart, "relay restarted: reconnect");
      this.run("close", conn);
    }
  }

  /** The relayed socket `conn` of relay `relay` in this build, if it is one. */
  private relayed(relay: number, epoch: number, conn: number): RelayedSocket | undefined {
    this.ensureRoom();
    const ws = this.effects.sockets.get(conn);
    return epoch === this.links.epoch && ws instanceof RelayedSocket && ws.relay === relay ? ws : undefined;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Frames still arriving on a socket the room has closed are not read.
    if (ws.readyState !== WebSocket.OPEN) return;
    this.idle.heard(ws);
    try {
      this.ensureRoom();
      // Only a socket the room knows now speaks for its conn id.
      const conn = this.effects.connOfKnown(ws);
      if (conn === undefined) return;
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

  /** Tells the core a socket is gone (unless the room closed it: then the core
   * forgot it in the same event). */
  private forget(ws: WebSocket): void {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (!att || att.closed) return;
    this.effects.leftHub(ws);
    this.ensureRoom();
    // Only this very socket: after a wake it is not restored (it is closing), and
    // one the room closed may share its id with a newer socket.
    const conn = this.effects.connOfKnown(ws);
    if (conn === undefined) return;
    this.effects.sockets.delete(conn);
    this.run("close", conn);
  }

  /** The alarm (worker/liveness.ts): sockets silent past LIMITS.idleTimeoutMs close
   * with LIMITS.closeIdle, and the core forgets them as if they had gone away. */
  override async alarm(): Promise<void> {
    const open = this.ctx.getWebSockets().filter((ws) =>
      ws.readyState === WebSocket.OPEN && !(ws.deserializeAttachment() as Attachment | null)?.closed);
    const idle = await this.idle.check(open);
    if (!idle.length) return;
    this.ensureRoom();
    for (const ws of idle) {
      const conn = this.effects.connOfKnown(ws);
      if (conn === undefined) {
        closeSocket(ws, LIMITS.closeIdle, IDLE_REASON);
        continue;
      }
      this.effects.closeSocket(conn, ws, LIMITS.closeIdle, IDLE_REASON);
      this.run("close", conn);
    }
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

  /** GET /rooms/:id/messages: a page of history (the query string is checked by
   * the core; a refusal is answered as its code). */
  async history(roomId: number, object: string, query: string, viewer: { id: number; blocks: number[] }):
      Promise<{ body: string } | { error: ErrorCode }> {
    if (this.storage.meta("room_id") === undefined) this.identify(roomId, object);
    try {
      return { body: this.run("page", 0, { query, viewer: { ...viewer, member: this.storage.standing(viewer.id) === "member" } })! };
    } catch (e) {
      if (e instanceof CoreError && !e.fatal) return { error: e.code };
      throw e;
    }
  }

  /** GET /rooms/:id/search: a page of the messages matching a query (the core
   * reads the query string and the viewer's right to read, as for history; the
   * room's FTS5 index answers: room-storage.ts). */
  async search(roomId: number, object: string, query: string, viewer: { id: number; blocks: number[] }):
      Promise<{ body: string } | { error: ErrorCode }> {
    if (this.storage.meta("room_id") === undefined) this.identify(roomId, object);
    try {
      return { body: this.run("search", 0, { query, viewer: { ...viewer, member: this.storage.standing(viewer.id) === "member" } })! };
    } catch (e) {
      if (e instanceof CoreError && !e.fatal) return { error: e.code };
      throw e;
    }
  }
}
