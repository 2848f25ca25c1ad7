/**
 * UserHub: one Durable Object per user, holding that person's own sockets (every
 * device) — where DM and friend notifications will arrive, and what a ban closes.
 *
 * It also keeps a register of the Durable Objects (rooms and conversations) where
 * the user has sockets open, kept up to date by those objects, so that a change
 * about the user (whom they block) reaches every open socket of theirs at once. It
 * is in storage, not memory, because the object hibernates.
 *
 * It tells the user's friends when the user comes online (a first personal
 * socket) and goes (the last one closed), and tells the user at connect which
 * friends are online (issue 15): the online_users row in D1 is this hub's, and the
 * core decides who may see whose presence (social_shows_presence). Sockets silent
 * past LIMITS.idleTimeoutMs are closed from the hub's alarm (worker/liveness.ts),
 * which also catches a restart that dropped every socket without a close.
 *
 * Whatever a socket needs after a wake (the user) lives in its attachment: the
 * platform facts (hibernation, a core instance per room and one for all hubs) are
 * written once in durable-objects/README.md.
 */
import { DurableObject } from "cloudflare:workers";
import { closeSocket, echoClose, revokes } from "../worker/close";
import { allow, checkHere, countersDropped, LimitReached, spendHere } from "../worker/budgets";
import { CoreHost, coreLost } from "../worker/core";
import { errorResponse } from "../worker/errors";
import { FACTS_HEADER, type Env, type Revocation, type SocketFacts } from "../worker/env";
import { BUDGETS, ERRORS, LIMITS, type BudgetName } from "../worker/generated/core";
import { IDLE_REASON, IdleWatch, idleScale } from "../worker/liveness";
import { blockList, hub, onlineFriends } from "../worker/social";

/** How long a socket's release may wait before it is written to the presence
 * register, in ms (UserHub.presence): closes within it cost one write together. */
const RELEASE_WRITE_DELAY_MS = 1000;

/** What each socket carries through hibernation: the facts it was opened with, and
 * when it was last heard (worker/liveness.ts). */
type Attachment = Pick<SocketFacts, "user" | "session" | "ip"> & { heard?: number };

/** The hubs' core instance. A hub's every call is stateless (budgets, presence,
 * notices, idleness: no room handle lives in it), so the hubs of an isolate share
 * one, as the Worker's requests do, instead of one per user (a storm of 1 000
 * users waking made 1 000 instances, each about 1 ms and 2 MiB of memory). */
const hubCore = new CoreHost();

export class UserHub extends DurableObject<Env> {
  private readonly core = hubCore;
  /** The user's rate and flood buckets over all their personal sockets (a hub is
   * one user's), as the core last left them: in memory, so after hibernation
   * (about 10 s idle) they start full, close to what 10 s of refill gives. */
  private buckets: { bucket: object | null; flood: object | null } = { bucket: null, flood: null };
  private readonly idle: IdleWatch;
  /** Presence work (telling friends, greeting a socket), one step after another so
   * that friends hear this user's changes in order. */
  private presenceQueue: Promise<void> = Promise.resolve();
  /** Sockets waiting for their friends_presence frame, with the friend_presence
   * frames that came meanwhile (sent after it, so the snapshot never overrides a
   * newer change). */
  private readonly greeting = new Map<WebSocket, string[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.idle = new IdleWatch(ctx, this.core, idleScale(env.CHAT_IDLE_SCALE));
    this.createTables();
  }

  private createTables(): void {
    const sql = this.ctx.storage.sql;
    // The hub's own facts: "user" (whose hub this is), "online" (1 while its
    // online_users row says the user is online), "told" (what friends were told last).
    sql.exec("CREATE TABLE IF NOT EXISTS hub_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    // object name (as in idFromName) -> how many of the user's sockets it holds
    sql.exec("CREATE TABLE IF NOT EXISTS presence (object TEXT PRIMARY KEY, sockets INTEGER NOT NULL)");
    // Every room and conversation that ever admitted a socket of the user: where
    // their messages can be (a message needs a socket), for an export or a deletion.
    sql.exec("CREATE TABLE IF NOT EXISTS visited (object TEXT PRIMARY KEY)");
    // Revocations of the last LIMITS.revocationRecallMs: which sockets they end
    // (a Revocation, as JSON), up to which session id (sessions made later are not
    // concerned), with what close code and reason.
    sql.exec(`CREATE TABLE IF NOT EXISTS revocations (id INTEGER PRIMARY KEY, rule TEXT NOT NULL,
      through INTEGER NOT NULL, code INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL)`);
    // Whom the user blocks (issue 21): read from D1 once, then kept here by every
    // change (blocksChanged), with a version that rises at each, so that a room
    // keeps the newest of what reaches it (an admit and a change may cross). A
    // socket's open then reads no D1 for it.
    sql.exec(`CREATE TABLE IF NOT EXISTS blocks (id INTEGER PRIMARY KEY CHECK (id = 1),
      list TEXT NOT NULL, version INTEGER NOT NULL)`);
  }

  /** Whom the user blocks, and the version of that list (read from D1 the first
   * time only). */
  private async blocks(userId: number): Promise<{ list: number[]; version: number }> {
    const stored = () => this.ctx.storage.sql.exec<{ list: string; version: number }>("SELECT list, version FROM blocks")
      .toArray().map((r) => ({ list: JSON.parse(r.list) as number[], version: r.version }))[0];
    const known = stored();
    if (known) return known;
    const list = await blockList(this.env.DB, userId);
    // a change may have been kept while D1 answered: it is newer
    const meanwhile = stored();
    if (meanwhile) return meanwhile;
    this.ctx.storage.sql.exec("INSERT INTO blocks (id, list, version) VALUES (1, ?, 1)", JSON.stringify(list));
    return { list, version: 1 };
  }

  /**
   * Remembers a revocation, so that a socket whose opening began before it (its
   * session checked in D1 just before the session ended) is refused when it
   * arrives after it: sockets are admitted here (admit, fetch), one event at a
   * time, so either the socket was counted before the revocation (and is closed
   * by it, wherever it is) or it arrives after and is refused.
   */
  private async remember(userId: number, r: Revocation, code: number, reason: string): Promise<void> {
    if (r.ips !== undefined) return; // an address ban is enforced at the front of the Worker
    const latest = await this.env.DB.prepare("SELECT max(rowid) AS s FROM sessions WHERE user_id = ?")
      .bind(userId).first<{ s: number | null }>();
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM revocations WHERE at < ?", now - LIMITS.revocationRecallMs);
    sql.exec("INSERT INTO revocations (rule, through, code, reason, at) VALUES (?, ?, ?, ?, ?)",
      JSON.stringify(r), r.session ?? latest?.s ?? Number.MAX_SAFE_INTEGER, code, reason, now);
  }

  /** The revocation that ends a socket of this session and address, if one does. */
  private revokedBy(s: Pick<SocketFacts, "session" | "ip">): { code: number; reason: string } | null {
    const rows = this.ctx.storage.sql.exec<{ rule: string; through: number; code: number; reason: string }>(
      "SELECT rule, through, code, reason FROM revocations WHERE at >= ? AND through >= ? ORDER BY id",
      Date.now() - LIMITS.revocationRecallMs, s.session).toArray();
    const hit = rows.find((row) => revokes(JSON.parse(row.rule) as Revocation, s));
    return hit ? { code: hit.code, reason: hit.reason } : null;
  }

  /** How many sockets the user holds now: their personal ones here, and those the
   * presence register counts in rooms and conversations. */
  private held(): number {
    const elsewhere = this.ctx.storage.sql.exec<{ n: number }>("SELECT coalesce(sum(sockets), 0) AS n FROM presence").one().n;
    let released = 0;
    for (const n of this.released.values()) released += n;
    return this.ctx.getWebSockets().length + Math.max(elsewhere - released, 0);
  }

  /** Whether one more socket fits the user's budgets (budget.h): the sockets held
   * (sockets_per_account) and those opened this minute (socket_opens_per_account,
   * counted here); throws LimitReached. */
  private async admitOne(userId: number): Promise<void> {
    await this.allowOneMore(userId);
    spendHere(this.core, this.ctx.storage.sql, this.env.CHAT_BUDGET_SCALE, "socket_opens_per_account", "me");
  }

  /**
   * Whether one more socket fits the sockets_per_account budget; throws
   * LimitReached. At the limit, the presence register is first checked against the
   * objects themselves: a restart or a deploy drops sockets without a close event,
   * and their counts would otherwise stay here for good.
   */
  private async allowOneMore(userId: number): Promise<void> {
    try {
      allow(this.core, "sockets_per_account", this.held());
      return;
    } catch (e) {
      // Checked against the objects lately, and nothing changed since: a refusal
      // costs no RPC (a client retrying at the limit would make one per object).
      if (!(e instanceof LimitReached) ||
          (this.verified === this.registerStamp && Date.now() - this.verifiedAt < LIMITS.idleTimeoutMs)) throw e;
    }
    const sql = this.ctx.storage.sql;
    this.writeReleased();
    const listed = sql.exec<{ object: string }>("SELECT object FROM presence").toArray();
    const counts = await Promise.all(listed.map(({ object }) =>
      this.env.CHAT_ROOM.get(this.env.CHAT_ROOM.idFromName(object)).socketsOf(userId)));
    listed.forEach(({ object }, i) => sql.exec("UPDATE presence SET sockets = ? WHERE object = ?", counts[i], object));
    sql.exec("DELETE FROM presence WHERE sockets = 0");
    this.verified = ++this.registerStamp;
    this.verifiedAt = Date.now();
    allow(this.core, "sockets_per_account", this.held());
  }

  /** Bumped at every change of the sockets the user holds (the register, a personal
   * socket); `verified` is its value when the register was last checked against
   * the objects, at `verifiedAt`. In memory: a restart (which may drop sockets
   * without a close) forgets it, and a check is at most LIMITS.idleTimeoutMs old. */
  private registerStamp = 0;
  private verified = -1;
  private verifiedAt = 0;

  /** Whether one more socket of this session and address may open, without
   * counting it: null; the revocation that ended the session (a session the
   * Worker checked in D1 before it, and keeps for a while: accounts.ts
   * socketLiveSession); or the budget it would break. The Worker refuses early,
   * before the queries, the address it records and the object a socket costs. */
  async mayOpen(userId: number, socket: Pick<SocketFacts, "session" | "ip">): Promise<
      { budget: BudgetName; limit: number; retry_after_ms: number | null } | { revoked: { code: number } } | null> {
    const revoked = this.revokedBy(socket);
    if (revoked) return { revoked: { code: revoked.code } };
    try {
      await this.allowOneMore(userId);
      checkHere(this.core, this.ctx.storage.sql, this.env.CHAT_BUDGET_SCALE, "socket_opens_per_account", "me");
      return null;
    } catch (e) {
      if (e instanceof LimitReached) return { budget: e.budget, limit: e.limit, retry_after_ms: e.retryAfter ? e.retryAfter * 1000 : null };
      throw e;
    }
  }

  /**
   * A room or conversation object asks to hold one more socket of the user: it is
   * counted at once (presence +1) if it fits the user's budget of sockets, else
   * the answer names the budget and the object refuses the socket.
   */
  async admit(object: string, socket: Pick<SocketFacts, "user" | "session" | "ip">):
      Promise<{ ok: true; blocks: number[]; blocks_version: number } | { ok: false; budget: string; limit: number } |
        { ok: false; revoked: { code: number; reason: string } }> {
    const revoked = this.revokedBy(socket);
    if (revoked) return { ok: false, revoked };
    try {
      await this.admitOne(socket.user.id);
    } catch (e) {
      if (e instanceof LimitReached) return { ok: false, budget: e.budget, limit: e.limit };
      throw e;
    }
    await this.presence(object, 1);
    // written once per object, not at every socket (a write holds the answer until durable)
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM visited WHERE object = ?", object).toArray().length === 0) {
      sql.exec("INSERT INTO visited (object) VALUES (?)", object);
    }
    const blocks = await this.blocks(socket.user.id);
    return { ok: true, blocks: blocks.list, blocks_version: blocks.version };
  }

  /**
   * A room or conversation object reports one more (+1) or one fewer (-1) socket.
   * One more is written at once (with any releases waiting), before the admit
   * answers. One fewer waits in `released` for the hub's next write, or for
   * RELEASE_WRITE_DELAY_MS: a storage write is a commit (on a local disk, an
   * fsync on the thread every object shares), and a client closing sockets in a
   * loop would otherwise make one per socket. held() counts them at once. Were the
   * object to stop before they are written, the register would count sockets
   * already gone: too many, never too few, and at the limit allowOneMore checks
   * the register against the objects anyway.
   */
  async presence(object: string, delta: 1 | -1): Promise<void> {
    this.registerStamp++;
    if (delta < 0) {
      this.released.set(object, (this.released.get(object) ?? 0) + 1);
      this.releaseTimer ??= setTimeout(() => this.writeReleased(), RELEASE_WRITE_DELAY_MS);
      return;
    }
    this.writeReleased();
    this.ctx.storage.sql.exec(`INSERT INTO presence (object, sockets) VALUES (?1, 1)
              ON CONFLICT (object) DO UPDATE SET sockets = sockets + 1`, object);
  }

  /** Sockets gone from rooms and conversations, not yet written: object -> count. */
  private readonly released = new Map<string, number>();
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;

  /** Writes the releases waiting in `released` to the presence register. */
  private writeReleased(): void {
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    if (this.released.size === 0) return;
    const sql = this.ctx.storage.sql;
    for (const [object, n] of this.released) {
      sql.exec("UPDATE presence SET sockets = max(sockets - ?2, 0) WHERE object = ?1", object, n);
    }
    sql.exec("DELETE FROM presence WHERE sockets = 0");
    this.released.clear();
  }

  private state(key: "user" | "online" | "told"): number | undefined {
    return this.ctx.storage.sql.exec<{ value: number }>("SELECT value FROM hub_state WHERE key = ?", key).toArray()[0]?.value;
  }

  private setState(key: "user" | "online" | "told", value: number): void {
    if (this.state(key) === value) return;
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO hub_state (key, value) VALUES (?, ?)", key, value);
  }

  /** Runs a step of presence work after the ones before it. */
  private presenceStep(step: () => Promise<void>): Promise<void> {
    const run = this.presenceQueue.then(step).catch((err) => console.error("presence", err));
    this.presenceQueue = run;
    this.ctx.waitUntil(run);
    return run;
  }

  /** Makes what the hub says (the online_users row) and then what friends were
   * told agree with the sockets open now (mark, tell). */
  private async reconcile(): Promise<void> {
    await this.mark();
    await this.tell();
  }

  /** Writes or removes the online_users row when the user's first personal socket
   * came or their last went. Per user, not per socket: a second tab changes
   * nothing. The row is written before friends are read (tell, greet), so two
   * friends coming at once see each other. */
  private async mark(): Promise<void> {
    const me = this.state("user");
    if (me === undefined) return;
    const online = this.ctx.getWebSockets().some((ws) => ws.readyState === WebSocket.OPEN);
    if (online === (this.state("online") === 1)) return;
    this.setState("online", online ? 1 : 0);
    const db = this.env.DB;
    await (online ? db.prepare("INSERT OR REPLACE INTO online_users (user_id, since) VALUES (?, ?)").bind(me, Date.now())
      : db.prepare("DELETE FROM online_users WHERE user_id = ?").bind(me)).run();
  }

  /** Tells the friends who are online and may see it (the core's
   * CHAT_OP_PRESENCE_TELL) friend_presence, if the row says other than they were
   * told last: from the state when it runs, so steps that ran in between cannot
   * leave friends with an old answer. */
  private async tell(): Promise<void> {
    const me = this.state("user");
    const online = this.state("online") === 1;
    if (me === undefined || online === (this.state("told") === 1)) return;
    this.setState("told", online ? 1 : 0);
    const { to, frame } = this.core.call<{ to: number[]; frame: string }>("presence_tell", undefined,
      { user_id: me, online, rows: await onlineFriends(this.env.DB, me) });
    await Promise.all(to.map((id) => hub(this.env, id).friendPresence(frame)));
  }

  /** A new socket learns which friends are online (friends_presence, as the core's
   * CHAT_OP_FRIENDS_ONLINE shows them), then the changes that came meanwhile. */
  private async greet(ws: WebSocket, me: number): Promise<void> {
    this.greeting.set(ws, []);
    try {
      const { frame } = this.core.call<{ frame: string }>("friends_online", undefined, { rows: await onlineFriends(this.env.DB, me) });
      for (const f of [frame, ...this.greeting.get(ws)!]) ws.send(f);
    } catch {
      // closing, or the snapshot failed: the client reads GET /friends on (re)connect
    } finally {
      this.greeting.delete(ws);
    }
  }

  /** A friend came online or went (their hub's reconcile): every personal socket of
   * this user gets the core's friend_presence frame, after its greeting if one is
   * under way. Whom a change reaches was decided by the core from D1's facts. */
  async friendPresence(frame: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const waiting = this.greeting.get(ws);
      if (waiting) {
        waiting.push(frame);
        continue;
      }
      try {
        ws.send(frame);
      } catch {
        // closing
      }
    }
  }

  /** The alarm (worker/liveness.ts): personal sockets silent past
   * LIMITS.idleTimeoutMs close with LIMITS.closeIdle; then friends are told if the
   * user is gone (also after a restart dropped every socket without a close). */
  override async alarm(): Promise<void> {
    const open = this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
    for (const ws of await this.idle.check(open)) closeSocket(ws, LIMITS.closeIdle, IDLE_REASON);
    await this.presenceStep(() => this.reconcile());
  }

  /** Sends a frame (encoded by the core) to every personal socket of the user,
   * unless the core withholds it: nothing by someone the user blocks reaches them,
   * whatever the sender's room believed (a block made a moment ago, a stale
   * configuration). Whom the user blocks is this hub's copy (blocks()). Answers
   * whether the user has a personal socket at all (a room leaves someone who has
   * none out of its room_activity for a while). */
  async deliver(frame: string): Promise<boolean> {
    const sockets = this.ctx.getWebSockets();
    const att = sockets[0]?.deserializeAttachment() as Attachment | null | undefined;
    if (!att) return false; // no socket: nothing to deliver to
    const { deliver } = this.core.call<{ deliver: boolean }>("notify_check", frame, { blocks: (await this.blocks(att.user.id)).list });
    if (!deliver) return true;
    for (const ws of sockets) {
      try {
        ws.send(frame);
      } catch {
        // closing: nothing to deliver to
      }
    }
    return true;
  }

  /** The user was banned: every socket of theirs closes, here and in every room
   * and conversation, with CHAT_CLOSE_BANNED and the reason. */
  async ban(userId: number, reason: string): Promise<void> {
    await this.remember(userId, {}, LIMITS.closeBanned, reason);
    for (const ws of this.ctx.getWebSockets()) closeSocket(ws, LIMITS.closeBanned, reason);
    void this.presenceStep(() => this.reconcile());
    await Promise.all(this.objects().map((room) => room.kick(userId, reason)));
  }

  /**
   * Some sockets of the user lost their right to stay: those of one session (a
   * logout), or those opened from banned addresses (an IP ban), here and in every
   * room and conversation, closed with `code` and `reason`.
   */
  async revoke(userId: number, r: Revocation, code: number, reason: string): Promise<void> {
    await this.remember(userId, r, code, reason);
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att && revokes(r, att)) closeSocket(ws, code, reason);
    }
    void this.presenceStep(() => this.reconcile());
    await Promise.all(this.objects().map((room) => room.revoke(userId, r, code, reason)));
  }

  /** The rooms and conversations where the user has sockets (the presence register). */
  private objects() {
    return this.ctx.storage.sql.exec<{ object: string }>("SELECT object FROM presence").toArray()
      .map(({ object }) => this.env.CHAT_ROOM.get(this.env.CHAT_ROOM.idFromName(object)));
  }

  /** The user's profile changed: the core's user_updated frame reaches their own
   * sockets and the open sockets of every room and conversation they have had a
   * socket in (the visited register, a page of LIMITS.listPage at a time; the
   * profile_changes_per_account budget bounds how often), whose clients show the
   * new name at once. Each object tells its sockets only if the user is still a
   * member there or has a socket there now (ChatRoom.tell): a room that removed
   * them hears nothing more from them. */
  async profileChanged(userId: number, frame: string): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // closing
      }
    }
    for (let after = "";;) {
      const page = await this.visited(after, LIMITS.listPage);
      if (page.length === 0) break;
      await Promise.all(page.map((o) => this.env.CHAT_ROOM.get(this.env.CHAT_ROOM.idFromName(o)).tell(userId, frame)));
      after = page[page.length - 1]!;
    }
  }

  /** A page of the objects the user ever had a socket in, by name, after `after`
   * (at most `limit`): an export's or a deletion's pages of rooms. */
  async visited(after: string, limit: number): Promise<string[]> {
    return this.ctx.storage.sql.exec<{ object: string }>(
      "SELECT object FROM visited WHERE object > ? ORDER BY object LIMIT ?", after, limit).toArray().map((r) => r.object);
  }

  /** The account was deleted: its presence register, its register of visited
   * objects and its counters go (wasm/account.h, remove_presence). */
  async erase(): Promise<void> {
    this.released.clear();
    this.writeReleased(); // stops its timer
    const me = this.state("user");
    if (me !== undefined) await this.env.DB.prepare("DELETE FROM online_users WHERE user_id = ?").bind(me).run();
    // The revocations stay (the account's deletion made one): a Worker isolate may
    // still open sockets with a session it checked before (accounts.ts
    // socketLiveSession), and they are refused here. They hold no personal data.
    const revocations = this.ctx.storage.sql.exec("SELECT rule, through, code, reason, at FROM revocations").toArray();
    await this.ctx.storage.deleteAll();
    countersDropped(this.ctx.storage.sql);
    this.createTables();
    for (const r of revocations) {
      this.ctx.storage.sql.exec("INSERT INTO revocations (rule, through, code, reason, at) VALUES (?, ?, ?, ?, ?)",
        r.rule, r.through, r.code, r.reason, r.at);
    }
  }

  /** Whom the user blocks changed: every room and conversation where they have a
   * socket filters at once. */
  async blocksChanged(userId: number, blocks: number[]): Promise<void> {
    const sql = this.ctx.storage.sql;
    const version = (sql.exec<{ version: number }>("SELECT version FROM blocks").toArray()[0]?.version ?? 1) + 1;
    sql.exec(`INSERT INTO blocks (id, list, version) VALUES (1, ?1, ?2)
      ON CONFLICT (id) DO UPDATE SET list = ?1, version = ?2`, JSON.stringify(blocks), version);
    await Promise.all(this.objects().map((room) => room.updateBlocks(userId, blocks, version)));
  }

  /** Accepts a socket the Worker has authenticated; the Worker's request carries
   * only FACTS_HEADER (worker/index.ts, forwardSocket). */
  override async fetch(request: Request): Promise<Response> {
    const { user, session, ip } = JSON.parse(request.headers.get(FACTS_HEADER)!) as SocketFacts;
    // A session that ended while this socket was on its way (remember) is refused.
    const revoked = this.revokedBy({ session, ip });
    if (revoked) return errorResponse(revoked.code === LIMITS.closeBanned ? "banned" : "unauthorized");
    try {
      await this.admitOne(user.id);
    } catch (e) {
      if (e instanceof LimitReached) return errorResponse("limit_reached", undefined, { budget: e.budget, limit: e.limit, message: BUDGETS[e.budget].message });
      throw e;
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.registerStamp++;
    server.serializeAttachment({ user, session, ip, ...IdleWatch.opened() } satisfies Attachment);
    server.send(this.core.callText("connection", undefined, user));
    this.setState("user", user.id);
    await this.idle.arm();
    // This socket hears which friends are here as its second frame (the row is
    // written first), then friends hear that the user came (their first socket).
    await this.presenceStep(async () => {
      await this.mark();
      await this.greet(server, user.id);
    });
    void this.presenceStep(() => this.tell());
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { "Sec-WebSocket-Protocol": LIMITS.wsProtocol },
    });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Frames still arriving on a socket closed here (a ban, a logout) are not read.
    if (ws.readyState !== WebSocket.OPEN) return;
    this.idle.heard(ws);
    const bytes = typeof message === "string" ? message : new Uint8Array(message);
    try {
      // One rate for the user however many personal sockets they hold (CHAT_RATE_*),
      // and the socket that floods past refusals is closed (CHAT_FLOOD_*), as in rooms.
      const { reply, bucket, flood, close } = this.core.call<{ reply: string; bucket: object; flood: object;
        close?: { code: number; reason: string } }>("user_frame", bytes, this.buckets);
      this.buckets = { bucket, flood };
      ws.send(reply);
      if (close) closeSocket(ws, close.code, close.reason);
    } catch (e) {
      if (!coreLost(e)) throw e;
      // The core is gone (and will be rebuilt), so this one frame is encoded here.
      ws.send(JSON.stringify({ type: "error", code: "internal", message: ERRORS.internal.message }));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    echoClose(ws, code, reason);
    this.registerStamp++;
    await this.presenceStep(() => this.reconcile()); // their last socket: friends are told
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    closeSocket(ws, 1011);
    await this.presenceStep(() => this.reconcile());
  }
}
