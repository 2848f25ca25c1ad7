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
import { LIMITS, SEARCH_MARKS } from "../worker/generated/core";

/** What a person is to a room (wasm/room_rules.h room_standing). */
export type Standing = "none" | "invited" | "member";

const MESSAGE_COLUMNS = "seq, user_id, username, body, client_id, created_at, deleted_at";

/** A message as the core reads a history row (wasm/message.h): its columns, the
 * original a reply quotes as it is now (its body cut to ?1 code points), and its
 * reactions counted for viewer ?2 without those of the users in JSON array ?3.
 * From `messages m LEFT JOIN messages o ON o.seq = m.reply_to`. */
const ROW_COLUMNS = `m.seq, m.user_id, m.username, m.body, m.client_id, m.created_at, m.deleted_at, m.edited_at,
  m.change, m.reply_to, o.user_id AS reply_user_id, o.username AS reply_username,
  substr(o.body, 1, ?1) AS reply_body, o.deleted_at AS reply_deleted_at,
  (SELECT json_group_array(json_object('emoji', emoji, 'count', n, 'me', me)) FROM
     (SELECT emoji, count(*) AS n, max(user_id = ?2) AS me, min(at) AS first FROM reactions
      WHERE seq = m.seq AND user_id NOT IN (SELECT value FROM json_each(?3))
      GROUP BY emoji ORDER BY first, emoji)) AS reactions,
  (SELECT json_group_array(json_object('id', id, 'type', type, 'size', size, 'name', name, 'width', width,
     'height', height, 'url', url)) FROM attachments WHERE seq = m.seq) AS attachments`;

/** A history row with its reactions and attachments read (SQLite hands them over
 * as JSON text). */
function withReactions(row: StoredMessage & { reactions: string; attachments: string }): StoredMessage {
  return { ...row, reactions: JSON.parse(row.reactions) as unknown[],
    attachments: JSON.parse(row.attachments) as unknown[] } as StoredMessage;
}

/** An upload to this room (issue 17), as the core's attachment_check named it. */
export type Upload = {
  id: string; user_id: number; type: string; size: number; name: string; width?: number | null;
  height?: number | null; url: string; created_at: number;
};

/** An upload's fields a message carries (wasm/message.h). */
const FILE_COLUMNS = "id, user_id, seq, type, size, name, width, height, url";

/** A body as the search index holds it: without the snippet markers (wasm/search.h),
 * so that only the index marks a match. */
const SEARCHED_BODY = (body: string) =>
  `replace(replace(${body}, char(${SEARCH_MARKS.start.charCodeAt(0)}), ''), char(${SEARCH_MARKS.end.charCodeAt(0)}), '')`;

/**
 * The search index (issue 17): an FTS5 table over the text of the messages not
 * deleted. Its content is the view message_text (no copy of the bodies is kept),
 * and triggers on messages keep it in step within the statement that changes a
 * message, so in the same transaction: a new message is indexed, an edit replaces
 * its text, a tombstone or an account's erasure takes it out. unicode61 splits
 * words on what is not a letter or digit, folds case and removes diacritics
 * (crème finds creme). Added after messages first shipped: a room that had
 * messages before is indexed once, when its object first starts with this code.
 */
function searchIndex(sql: SqlStorage): void {
  if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'message_search'").toArray().length) return;
  sql.exec(`CREATE VIEW IF NOT EXISTS message_text AS
    SELECT seq, ${SEARCHED_BODY("body")} AS body FROM messages WHERE deleted_at IS NULL`);
  sql.exec(`CREATE VIRTUAL TABLE message_search USING fts5(body, content='message_text', content_rowid='seq',
    tokenize='unicode61 remove_diacritics 2')`);
  sql.exec(`CREATE TRIGGER IF NOT EXISTS message_search_insert AFTER INSERT ON messages WHEN new.deleted_at IS NULL
    BEGIN INSERT INTO message_search (rowid, body) VALUES (new.seq, ${SEARCHED_BODY("new.body")}); END`);
  // an edit, a tombstone, an erasure: the old text out (if it was in), the new in (if not deleted)
  sql.exec(`CREATE TRIGGER IF NOT EXISTS message_search_update AFTER UPDATE OF body, deleted_at ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, body)
      SELECT 'delete', old.seq, ${SEARCHED_BODY("old.body")} WHERE old.deleted_at IS NULL;
    INSERT INTO message_search (rowid, body)
      SELECT new.seq, ${SEARCHED_BODY("new.body")} WHERE new.deleted_at IS NULL;
  END`);
  sql.exec(`CREATE TRIGGER IF NOT EXISTS message_search_delete AFTER DELETE ON messages WHEN old.deleted_at IS NULL
    BEGIN INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.seq, ${SEARCHED_BODY("old.body")}); END`);
  // the messages stored before the index existed (the view: those not deleted)
  sql.exec("INSERT INTO message_search (message_search) VALUES ('rebuild')");
}

export class RoomStorage {
  /** indexed: whether this room keeps its search index (always, but in the
   * benchmark that measures what the index costs: CHAT_SEARCH_INDEX). */
  constructor(private readonly sql: SqlStorage, indexed = true) {
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
    // the version of each list, as the user's hub numbers them (issue 21), added later
    if (!sql.exec("SELECT 1 FROM pragma_table_info('user_blocks') WHERE name = 'version'").toArray().length) {
      sql.exec("ALTER TABLE user_blocks ADD COLUMN version INTEGER NOT NULL DEFAULT 0");
    }
    // (erased_users, the frames of account erasures replayed to every new socket,
    // is no longer written: the change log tells a resuming client; issue 16.)
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
    // Edits, replies and the change log (issue 16), added to messages after it
    // first shipped: when it was last edited, the seq it replies to, and the
    // number of its last change (an edit, a deletion, a reaction): a resuming
    // client asks for the messages changed after the last number it saw.
    for (const [column, type] of [["edited_at", "INTEGER"], ["reply_to", "INTEGER"], ["change", "INTEGER NOT NULL DEFAULT 0"]]) {
      if (!sql.exec("SELECT 1 FROM pragma_table_info('messages') WHERE name = ?", column).toArray().length) {
        sql.exec(`ALTER TABLE messages ADD COLUMN ${column} ${type}`);
      }
    }
    sql.exec("CREATE INDEX IF NOT EXISTS messages_by_change ON messages (change)");
    // Reactions, one row per person and emoji on a message.
    sql.exec(`CREATE TABLE IF NOT EXISTS reactions (
      seq     INTEGER NOT NULL,
      emoji   TEXT    NOT NULL,
      user_id INTEGER NOT NULL,
      at      INTEGER NOT NULL,        -- ms since the Unix epoch
      PRIMARY KEY (seq, emoji, user_id)
    ) WITHOUT ROWID`);
    // Uploads (issue 17): each file sent to this room, whose object in R2 is
    // "<object>/<id>"; seq is the message that carries it (null until one does).
    sql.exec(`CREATE TABLE IF NOT EXISTS attachments (
      id         TEXT    PRIMARY KEY,  -- 32 hex digits, from the core
      user_id    INTEGER NOT NULL,     -- who uploaded it
      seq        INTEGER,              -- the message that carries it
      type       TEXT    NOT NULL,     -- its media type, from its bytes
      size       INTEGER NOT NULL,     -- bytes
      name       TEXT    NOT NULL,     -- cleaned by the core
      width      INTEGER,
      height     INTEGER,
      url        TEXT    NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    sql.exec("CREATE INDEX IF NOT EXISTS attachments_by_seq ON attachments (seq)");
    // Each message's former bodies, the newest CHAT_EDIT_HISTORY_MAX (the edit effect's keep).
    sql.exec("CREATE TABLE IF NOT EXISTS message_edits (seq INTEGER NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL)");
    sql.exec("CREATE INDEX IF NOT EXISTS message_edits_by_seq ON message_edits (seq, at)");
    if (indexed) searchIndex(sql);
  }

  /** The number the room's next change gets: one past the largest a message holds
   * or an erasure reserved. */
  nextChange(): number {
    const last = this.sql.exec<{ last: number | null }>("SELECT max(change) AS last FROM messages").one().last ?? 0;
    return Math.max(last, this.meta<number>("last_change") ?? 0) + 1;
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
   * mentions of them after it; both among the last LIMITS.unreadCountMax messages
   * only (seqs are gap-free: a range of at most that many rows, whatever the
   * history behind the marker). */
  counts(userId: number): { last_seq: number; unread: number; mentions: number } {
    const last = this.nextSeq() - 1;
    const from = Math.max(this.readMarker(userId), last - LIMITS.unreadCountMax);
    const row = this.sql.exec<{ unread: number }>(`SELECT count(*) AS unread FROM messages
        WHERE seq > ?1 AND seq <= ?4 AND user_id != ?2 AND deleted_at IS NULL
          AND user_id NOT IN (SELECT value FROM json_each(?3))`, from, userId, JSON.stringify(this.blocksOf(userId)), last).one();
    const mentions = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM mentions WHERE user_id = ? AND seq > ?",
      userId, from).one().n;
    return { last_seq: last, unread: row.unread, mentions };
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

  /** Keeps whom a user blocks, as of `version` (their hub's: a newer list is never
   * replaced by an older one, since a socket's admit and a change may cross; a list
   * without version, from D1, always wins). Returns false when it was older than
   * the list kept, which stays. */
  setBlocks(userId: number, blocks: number[], version?: number): boolean {
    const text = JSON.stringify(blocks);
    const row = this.sql.exec<{ blocks: string; version: number }>(
      "SELECT blocks, version FROM user_blocks WHERE user_id = ?", userId).toArray()[0];
    if (row && version !== undefined && version < row.version) return false;
    // unchanged (most sockets' opens): no write, which would hold the room's frames
    // until it is durable (the output gate). Nor for a user new here who blocks
    // nobody in the first list their hub made (version 1, or D1's): no row reads
    // as that list, and any later one has a higher version. A join storm of new
    // users into a room so makes no write per join.
    if (row?.blocks === text) return true;
    if (!row && blocks.length === 0 && (version === undefined || version <= 1)) return true;
    this.sql.exec(`INSERT INTO user_blocks (user_id, blocks, version) VALUES (?1, ?2, ?3)
      ON CONFLICT (user_id) DO UPDATE SET blocks = ?2, version = max(version, ?3)`, userId, text, version ?? 0);
    return true;
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
      case "dedup": // which of these messages are stored already (retries), and what replies quote
        return {
          rows: this.sql.exec<StoredMessage>(
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE (user_id, client_id) IN
               (SELECT json_extract(value, '$.user_id'), json_extract(value, '$.client_id') FROM json_each(?))`,
            JSON.stringify(q.messages)).toArray(),
          files: q.attachments?.length ? this.sql.exec(
            `SELECT ${FILE_COLUMNS} FROM attachments WHERE id IN (SELECT value FROM json_each(?))`,
            JSON.stringify(q.attachments)).toArray() : [],
          originals: q.replies?.length ? this.sql.exec(
            `SELECT seq, user_id, username, substr(body, 1, ?) AS body, client_id, created_at, deleted_at FROM messages
             WHERE seq IN (SELECT value FROM json_each(?))`, q.excerpt, JSON.stringify(q.replies)).toArray() : [],
        };
      case "message":
        return { row: this.sql.exec<StoredMessage>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq = ?`, q.seq).toArray()[0] ?? null };
      case "reaction": {
        const row = this.sql.exec<StoredMessage>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq = ?`, q.seq)
          .toArray()[0] ?? null;
        const facts = this.sql.exec<{ distinct_n: number; present: number; mine: number; my_count: number }>(
          `SELECT count(DISTINCT emoji) AS distinct_n, coalesce(max(emoji = ?2), 0) AS present,
                  coalesce(max(emoji = ?2 AND user_id = ?3), 0) AS mine, coalesce(sum(user_id = ?3), 0) AS my_count
           FROM reactions WHERE seq = ?1`, q.seq, q.emoji, q.user_id).one();
        return { row, present: facts.present, mine: facts.mine, distinct: facts.distinct_n, my_count: facts.my_count };
      }
      case "history": {
        const exclude = JSON.stringify(q.exclude_users);
        const rows = this.sql.exec<StoredMessage & { reactions: string; attachments: string }>(
          `SELECT ${ROW_COLUMNS} FROM messages m LEFT JOIN messages o ON o.seq = m.reply_to
           WHERE m.seq > ?4 AND m.seq < ?5 AND (?6 OR m.deleted_at IS NULL)
           ORDER BY m.seq DESC LIMIT ?7`,
          q.excerpt, q.viewer, exclude, q.after ?? 0, q.before ?? Number.MAX_SAFE_INTEGER, q.include_deleted ? 1 : 0,
          q.limit).toArray().map(withReactions);
        if (q.changes_after === undefined) return { rows };
        // the messages changed after the client's cursor, in change order (messages_by_change)
        const changes = this.sql.exec<StoredMessage & { reactions: string; attachments: string }>(
          `SELECT ${ROW_COLUMNS} FROM messages m LEFT JOIN messages o ON o.seq = m.reply_to
           WHERE m.change > ?4 AND m.seq <= ?5 AND m.user_id NOT IN (SELECT value FROM json_each(?3))
           ORDER BY m.change LIMIT ?6`,
          q.excerpt, q.viewer, exclude, q.changes_after, q.changes_seq_max ?? 0, q.limit).toArray().map(withReactions);
        return { rows, changes };
      }
      case "search": // the FTS5 index, newest first; the expression was made safe by the core
        return { rows: this.sql.exec(
          `SELECT m.seq, m.user_id, m.username, m.created_at, m.edited_at,
                  snippet(message_search, 0, ?1, ?2, '…', ?3) AS snippet
           FROM message_search JOIN messages m ON m.seq = message_search.rowid
           WHERE message_search MATCH ?4 AND message_search.rowid < ?5 AND m.deleted_at IS NULL
             AND m.user_id NOT IN (SELECT value FROM json_each(?6))
           ORDER BY message_search.rowid DESC LIMIT ?7`,
          SEARCH_MARKS.start, SEARCH_MARKS.end, q.tokens, q.match, q.before ?? Number.MAX_SAFE_INTEGER,
          JSON.stringify(q.exclude_users), q.limit).toArray() };
      default:
        return unreachable(q);
    }
  }

  /** Inserts messages into the log, in order, with one statement. */
  store(rows: (StoredMessage & { attachments?: string[] })[]): void {
    const json = JSON.stringify(rows);
    this.sql.exec(`INSERT INTO messages (seq, user_id, username, body, client_id, created_at, reply_to)
      SELECT value ->> 'seq', value ->> 'user_id', value ->> 'username', value ->> 'body', value ->> 'client_id',
             value ->> 'created_at', value ->> 'reply_to' FROM json_each(?)`, json);
    // the files they carry are theirs now (the core checked they were free)
    if (rows.some((r) => r.attachments?.length)) {
      this.sql.exec(`UPDATE attachments SET seq = (SELECT m.value ->> 'seq' FROM json_each(?1) m,
          json_each(m.value -> 'attachments') a WHERE a.value = attachments.id)
        WHERE id IN (SELECT a.value FROM json_each(?1) m, json_each(m.value -> 'attachments') a)`, json);
    }
  }

  /** Keeps an upload (not carried by a message yet). */
  addUpload(u: Upload): void {
    this.sql.exec(`INSERT INTO attachments (id, user_id, type, size, name, width, height, url, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.id, u.user_id, u.type, u.size, u.name, u.width ?? null, u.height ?? null,
      u.url, u.created_at);
  }

  /** An upload, by id (null when there is none: never sent, or its message deleted). */
  upload(id: string): (Upload & { seq: number | null }) | null {
    return this.sql.exec<Upload & { seq: number | null }>(
      `SELECT ${FILE_COLUMNS}, created_at FROM attachments WHERE id = ?`, id).toArray()[0] ?? null;
  }

  /** Forgets the uploads of message seq (it was deleted): their ids, whose objects go. */
  dropFiles(seq: number): string[] {
    return this.sql.exec<{ id: string }>("DELETE FROM attachments WHERE seq = ? RETURNING id", seq).toArray().map((r) => r.id);
  }

  /** Forgets every upload of a user (their account was deleted): their ids. */
  dropFilesOf(userId: number): string[] {
    return this.sql.exec<{ id: string }>("DELETE FROM attachments WHERE user_id = ? RETURNING id", userId).toArray()
      .map((r) => r.id);
  }

  /** An edit (the core's edit effect): the former body joins the message's edit
   * history, which keeps its newest `keep`, and the message takes the new body. */
  edit(seq: number, body: string, at: number, change: number, keep: number): void {
    this.sql.exec(`INSERT INTO message_edits (seq, at, body)
      SELECT seq, coalesce(edited_at, created_at), body FROM messages WHERE seq = ?`, seq);
    this.sql.exec("UPDATE messages SET body = ?, edited_at = ?, change = ? WHERE seq = ?", body, at, change, seq);
    this.sql.exec(`DELETE FROM message_edits WHERE seq = ?1 AND rowid NOT IN
      (SELECT rowid FROM message_edits WHERE seq = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2)`, seq, keep);
  }

  /** A reaction added or removed (the core's react effect). */
  react(seq: number, emoji: string, userId: number, add: boolean, at: number, change: number): void {
    if (add) {
      this.sql.exec("INSERT OR IGNORE INTO reactions (seq, emoji, user_id, at) VALUES (?, ?, ?, ?)", seq, emoji, userId, at);
    } else {
      this.sql.exec("DELETE FROM reactions WHERE seq = ? AND emoji = ? AND user_id = ?", seq, emoji, userId);
    }
    this.sql.exec("UPDATE messages SET change = ? WHERE seq = ?", change, seq);
  }

  /** A message's former bodies, newest first (at most CHAT_EDIT_HISTORY_MAX). */
  edits(seq: number): { at: number; body: string }[] {
    return this.sql.exec<{ at: number; body: string }>(
      "SELECT at, body FROM message_edits WHERE seq = ? ORDER BY at DESC, rowid DESC", seq).toArray();
  }

  /** A deleted account (the core's erase effect): every message of the user
   * becomes a tombstone (its body, edit history and name gone, deleted at `at`
   * unless it was already), message seq being change + seq - 1 of the change log,
   * whose numbers up to change + lastSeq - 1 are reserved; and what the room kept
   * about them (blocks, flood bucket) goes. */
  eraseUser(userId: number, at: number, tombstone: string, change: number): void {
    this.sql.exec(`UPDATE messages SET body = '', username = ?1, deleted_at = coalesce(deleted_at, ?2),
      change = ?3 + seq - 1 WHERE user_id = ?4`, tombstone, at, change, userId);
    this.sql.exec("DELETE FROM message_edits WHERE seq IN (SELECT seq FROM messages WHERE user_id = ?)", userId);
    this.setMeta("last_change", change + this.nextSeq() - 2);
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

  /** A conversation's preview after message `seq` was deleted or edited: its latest
   * message not deleted (null: none left), and, for `seq` itself, its author and
   * `from_it`: 1 + how many of their messages after it are not deleted. The other
   * person's unread count is the author's messages not deleted since their last
   * read (each counted as it came, one taken off as a deleted one goes, all
   * cleared by a read), so `seq` was unread when from_it is no more than it. */
  dmPreview(seq: number): { latest: { seq: number; created_at: number; user_id: number; body: string } | null;
      author: number | null; from_it: number } {
    const latest = this.sql.exec<{ seq: number; created_at: number; user_id: number; body: string }>(
      "SELECT seq, created_at, user_id, body FROM messages WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT 1").toArray()[0] ?? null;
    const author = this.sql.exec<{ user_id: number }>("SELECT user_id FROM messages WHERE seq = ?", seq).toArray()[0]?.user_id ?? null;
    const fromIt = author === null ? 0 : 1 + this.sql.exec<{ n: number }>(
      "SELECT count(*) AS n FROM messages WHERE user_id = ? AND seq > ? AND deleted_at IS NULL", author, seq).one().n;
    return { latest, author, from_it: fromIt };
  }

  /** Marks message seq deleted at `at` (once), as change `change`; its edit
   * history goes with its text. */
  tombstone(seq: number, at: number, change: number): void {
    this.sql.exec("UPDATE messages SET deleted_at = ?, change = ? WHERE seq = ? AND deleted_at IS NULL", at, change, seq);
    this.sql.exec("DELETE FROM message_edits WHERE seq = ?", seq);
  }
}
