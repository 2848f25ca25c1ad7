/**
 * A room object's own SQLite storage (ctx.storage.sql): the message log, what the
 * object is (meta), and whom each user with a socket here blocks. The room's core
 * asks its questions of this log (wasm/room.h ROOM_QUERIES) and tells what to
 * write ("store", "tombstone" effects); nothing here decides.
 *
 * DO SQLite: writes are synchronous and the runtime's output gate holds outgoing
 * messages until they are durable, so a "store" before a "send" is durable before
 * anyone sees the message. Schema changes are append-only, with a version check in
 * `meta` (there is no PRAGMA user_version).
 */
import { unreachable, type FloodBucket, type RoomQuery, type StoredMessage } from "../worker/core";

/** What a person is to a room (wasm/room_rules.h room_standing). */
export type Standing = "none" | "invited" | "member";

const MESSAGE_COLUMNS = "seq, user_id, username, body, client_id, created_at, deleted_at";

export class RoomStorage {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS messages (
      seq        INTEGER PRIMARY KEY,   -- gap-free, from 1
      user_id    INTEGER NOT NULL,
      username   TEXT    NOT NULL,
      body       TEXT    NOT NULL,
      client_id  TEXT    NOT NULL,
      created_at INTEGER NOT NULL,      -- ms since the Unix epoch
      deleted_at INTEGER,               -- tombstone: set when deleted
      UNIQUE (user_id, client_id)       -- a retried send is stored once
    )`);
    // room_id (its id in D1), object (its name, as in idFromName), config (a
    // conversation's RoomConfig)
    sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)");
    // Whom each user with a socket here blocks, as last told: the core needs it
    // again after a wake, and it can be longer than an attachment may be.
    sql.exec("CREATE TABLE IF NOT EXISTS user_blocks (user_id INTEGER PRIMARY KEY, blocks TEXT NOT NULL)");
    // Accounts deleted whose messages here are tombstones, and the frame that told
    // the sockets then, which every new socket gets too (a resuming client learns it).
    sql.exec("CREATE TABLE IF NOT EXISTS erased_users (user_id INTEGER PRIMARY KEY, at INTEGER NOT NULL, frame TEXT NOT NULL)");
    // Each user's flood bucket as the core last gave it (a limits effect): it takes
    // 30 s to refill, longer than the core's memory lives in an idle room.
    sql.exec("CREATE TABLE IF NOT EXISTS user_limits (user_id INTEGER PRIMARY KEY, flood TEXT NOT NULL)");
    // The room's members and invitees (issue 15), as the core's membership
    // decisions left them; D1's room_members mirrors it for "my rooms".
    sql.exec(`CREATE TABLE IF NOT EXISTS members (
      user_id  INTEGER PRIMARY KEY,
      standing TEXT    NOT NULL,      -- 'member' or 'invited'
      since    INTEGER NOT NULL       -- ms since the Unix epoch
    )`);
    // Each member's read marker (the last seq they have seen; mark_read moves it
    // forward), added to the members table after it first shipped.
    if (!sql.exec("SELECT 1 FROM pragma_table_info('members') WHERE name = 'last_read'").toArray().length) {
      sql.exec("ALTER TABLE members ADD COLUMN last_read INTEGER NOT NULL DEFAULT 0");
    }
    // The mentions that reached someone (the core's room_mention_reaches): their
    // count after their marker is the room's "mentions" for them.
    sql.exec("CREATE TABLE IF NOT EXISTS mentions (user_id INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user_id, seq))");
  }

  /** A member's read marker (0 for none). */
  readMarker(userId: number): number {
    return this.sql.exec<{ last_read: number }>("SELECT last_read FROM members WHERE user_id = ?", userId)
      .toArray()[0]?.last_read ?? 0;
  }

  /** Keeps a member's new marker (the core moved it forward). */
  setReadMarker(userId: number, seq: number): void {
    this.sql.exec("UPDATE members SET last_read = max(last_read, ?) WHERE user_id = ?", seq, userId);
  }

  /** Keeps a mention that reached a member. */
  addMention(userId: number, seq: number): void {
    this.sql.exec("INSERT OR IGNORE INTO mentions (user_id, seq) VALUES (?, ?)", userId, seq);
  }

  /** The members, by id (not the invitees). */
  memberIds(): number[] {
    return this.sql.exec<{ user_id: number }>("SELECT user_id FROM members WHERE standing = 'member'").toArray()
      .map((r) => r.user_id);
  }

  /** A member's counts from their marker: the last seq, the messages after the
   * marker that are not theirs, not deleted and not by someone they block, and the
   * mentions of them after it. */
  counts(userId: number): { last_seq: number; unread: number; mentions: number } {
    const read = this.readMarker(userId);
    const row = this.sql.exec<{ unread: number }>(`SELECT count(*) AS unread FROM messages
        WHERE seq > ?1 AND user_id != ?2 AND deleted_at IS NULL
          AND user_id NOT IN (SELECT value FROM json_each(?3))`, read, userId, JSON.stringify(this.blocksOf(userId))).one();
    const mentions = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM mentions WHERE user_id = ? AND seq > ?",
      userId, read).one().n;
    return { last_seq: this.nextSeq() - 1, unread: row.unread, mentions };
  }

  /** What a user is to this room: "member", "invited" or "none". */
  standing(userId: number): Standing {
    return this.sql.exec<{ standing: Standing }>("SELECT standing FROM members WHERE user_id = ?", userId)
      .toArray()[0]?.standing ?? "none";
  }

  /** Members and invitations, counted together (CHAT_ROOM_MEMBERS_MAX). */
  memberCount(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM members").one().n;
  }

  /** Records a user's new standing ("none" forgets them). */
  setStanding(userId: number, standing: Standing, at: number): void {
    if (standing === "none") this.sql.exec("DELETE FROM members WHERE user_id = ?", userId);
    else this.sql.exec(`INSERT INTO members (user_id, standing, since) VALUES (?1, ?2, ?3)
      ON CONFLICT (user_id) DO UPDATE SET standing = ?2, since = CASE WHEN standing = ?2 THEN since ELSE ?3 END`,
      userId, standing, at);
  }

  meta<T extends string | number>(key: string): T | undefined {
    return this.sql.exec<{ value: T }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
  }

  setMeta(key: string, value: string | number): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2", key, value);
  }

  /** The room's id in the D1 directory (or the conversation's), set by the Worker. */
  roomId(): number {
    const id = this.meta<number>("room_id");
    if (id === undefined) throw new Error("room id unknown");
    return id;
  }

  /** The seq the next stored message gets. */
  nextSeq(): number {
    const last = this.sql.exec<{ last: number | null }>("SELECT max(seq) AS last FROM messages").one().last;
    return (last ?? 0) + 1;
  }

  blocksOf(userId: number): number[] {
    const row = this.sql.exec<{ blocks: string }>("SELECT blocks FROM user_blocks WHERE user_id = ?", userId).toArray()[0];
    return row ? (JSON.parse(row.blocks) as number[]) : [];
  }

  setBlocks(userId: number, blocks: number[]): void {
    this.sql.exec("INSERT INTO user_blocks (user_id, blocks) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET blocks = ?2",
      userId, JSON.stringify(blocks));
  }

  /** Replaces the blocks of a user who has had a socket here; false for a stranger. */
  updateBlocks(userId: number, blocks: number[]): boolean {
    const known = this.sql.exec("SELECT 1 FROM user_blocks WHERE user_id = ?", userId).toArray().length > 0;
    if (known) this.sql.exec("UPDATE user_blocks SET blocks = ? WHERE user_id = ?", JSON.stringify(blocks), userId);
    return known;
  }

  /** The user's facts a room keeps for the core: whom they block, their flood
   * bucket if the core ever gave it, and whether they are a member (wasm/room.h
   * ROOM_OPEN, ROOM_RESTORE). */
  userFacts(userId: number): { blocks: number[]; flood?: FloodBucket; member: boolean; read: number } {
    const row = this.sql.exec<{ flood: string }>("SELECT flood FROM user_limits WHERE user_id = ?", userId).toArray()[0];
    return { blocks: this.blocksOf(userId), ...(row ? { flood: JSON.parse(row.flood) as FloodBucket } : {}),
      member: this.standing(userId) === "member", read: this.readMarker(userId) };
  }

  /** Keeps a user's flood bucket (a limits effect). */
  setFlood(userId: number, flood: FloodBucket): void {
    this.sql.exec("INSERT INTO user_limits (user_id, flood) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET flood = ?2",
      userId, JSON.stringify(flood));
  }

  /** The answer to one of the core's questions (wasm/room.h ROOM_QUERIES). */
  answer(q: RoomQuery): object {
    switch (q.what) {
      case "dedup": // which of these messages are stored already (retries)
        return { rows: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE (user_id, client_id) IN
             (SELECT json_extract(value, '$.user_id'), json_extract(value, '$.client_id') FROM json_each(?))`,
          JSON.stringify(q.messages)).toArray() };
      case "message":
        return { row: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq = ?`, q.seq).toArray()[0] ?? null };
      case "history":
        return { rows: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages
           WHERE seq > ? AND seq < ? AND (? OR deleted_at IS NULL)
             AND user_id NOT IN (SELECT value FROM json_each(?))
           ORDER BY seq DESC LIMIT ?`,
          q.after ?? 0, q.before ?? Number.MAX_SAFE_INTEGER, q.include_deleted ? 1 : 0,
          JSON.stringify(q.exclude_users), q.limit).toArray() };
      default:
        return unreachable(q);
    }
  }

  /** Inserts messages into the log, in order, with one statement. */
  store(rows: StoredMessage[]): void {
    this.sql.exec(`INSERT INTO messages (seq, user_id, username, body, client_id, created_at)
      SELECT value ->> 'seq', value ->> 'user_id', value ->> 'username', value ->> 'body', value ->> 'client_id',
             value ->> 'created_at' FROM json_each(?)`, JSON.stringify(rows));
  }

  /** A deleted account: every message of the user becomes a tombstone (its body
   * and name gone, deleted at `at` unless it was already), and what the room kept
   * about them (blocks, flood bucket) goes. */
  eraseUser(userId: number, at: number, tombstone: string, frame: string): void {
    this.sql.exec("INSERT OR IGNORE INTO erased_users (user_id, at, frame) VALUES (?, ?, ?)", userId, at, frame);
    this.sql.exec("UPDATE messages SET body = '', username = ?, deleted_at = coalesce(deleted_at, ?) WHERE user_id = ?",
      tombstone, at, userId);
    this.sql.exec("DELETE FROM user_blocks WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM user_limits WHERE user_id = ?", userId);
  }

  /** A page of a user's own messages here (an export), in seq order after `after`;
   * deleted ones are left out. */
  authored(userId: number, after: number, limit: number): { seq: number; body: string; created_at: number }[] {
    return this.sql.exec<{ seq: number; body: string; created_at: number }>(
      `SELECT seq, body, created_at FROM messages WHERE user_id = ? AND seq > ? AND deleted_at IS NULL
       ORDER BY seq LIMIT ?`, userId, after, limit).toArray();
  }

  /** The frames of the most recent account erasures here, oldest first. */
  erasedFrames(limit: number): string[] {
    return this.sql.exec<{ frame: string }>(
      "SELECT frame FROM (SELECT frame, at, user_id FROM erased_users ORDER BY at DESC, user_id DESC LIMIT ?) ORDER BY at, user_id",
      limit).toArray().map((r) => r.frame);
  }

  /** Marks message seq deleted at `at` (once). */
  tombstone(seq: number, at: number): void {
    this.sql.exec("UPDATE messages SET deleted_at = ? WHERE seq = ? AND deleted_at IS NULL", at, seq);
  }
}
