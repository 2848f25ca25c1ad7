// The search index in a room's own SQLite (issue 17), in the real runtime: FTS5
// works in a Durable Object's storage, its triggers keep it in step with every
// change of a message, a room with messages from before the index is indexed on
// its next start, and every expression the core makes is one FTS5 accepts.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../../durable-objects/chat-room";
import { RoomStorage } from "../../durable-objects/room-storage";
import { CoreError, CoreHost, type StoredMessage } from "../../worker/core";

let n = 0;
const row = (seq: number, body: string, user_id = 1): StoredMessage =>
  ({ seq, user_id, username: `u${user_id}`, body, client_id: `c${seq}`, created_at: 1000 + seq, deleted_at: null });

/** Runs f with the storage of a fresh room object. */
function withStorage(f: (s: RoomStorage, sql: SqlStorage) => void) {
  const stub = env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(`search-test-${n++}`));
  return runInDurableObject(stub, (_o: ChatRoom, state) => f(new RoomStorage(state.storage.sql), state.storage.sql));
}

const core = new CoreHost();
/** The MATCH expression the core makes of q (through the room's own reader). */
function match(q: string): string {
  const room = core.roomNew(1, 1, 1);
  try {
    const effects = core.roomEvent(room, "search", 0,
      { query: `q=${encodeURIComponent(q)}`, viewer: { id: 1, blocks: [] } });
    const query = effects.list.at(-1) as { what: string; match: string };
    expect(query.what).toBe("search");
    core.roomEvent(room, "answer", 0, { rows: [] });
    return query.match;
  } finally {
    core.roomFree(room);
  }
}

const search = (s: RoomStorage, q: string, before: number | null = null, exclude: number[] = []) =>
  (s.answer({ what: "search", match: match(q), before, limit: 10, exclude_users: exclude, tokens: 8 }) as
    { rows: { seq: number; snippet: string }[] }).rows;

describe("a room's search index", () => {
  it("finds new messages, newest first, with the matches marked", () => withStorage((s) => {
    s.store([row(1, "hello brave new world"), row(2, "Crème brûlée for the brave"), row(3, "nothing here")]);
    expect(search(s, "brave").map((r) => r.seq)).toEqual([2, 1]);
    expect(search(s, "creme").map((r) => r.seq)).toEqual([2]);
    expect(search(s, "wor*")[0]!.snippet).toBe("hello brave new \u0002world\u0003");
    expect(search(s, '"new world"').map((r) => r.seq)).toEqual([1]);
    expect(search(s, '"world new"')).toEqual([]);
    expect(search(s, "brave", 2).map((r) => r.seq)).toEqual([1]);
    expect(search(s, "brave", null, [1])).toEqual([]);
  }));

  it("follows edits, tombstones and erasures in the same statement", () => withStorage((s) => {
    s.store([row(1, "the old text"), row(2, "keep me"), row(3, "erase me", 7), row(4, "erase me too", 7)]);
    s.edit(1, "the fresh words", 2000, 1, 10);
    expect(search(s, "old")).toEqual([]);
    expect(search(s, "fresh").map((r) => r.seq)).toEqual([1]);
    s.tombstone(2, 2001, 2);
    expect(search(s, "keep")).toEqual([]);
    s.tombstone(3, 2002, 3); // deleted, then erased with the rest: nothing to take out twice
    s.eraseUser(7, 2003, "deleted user", 4);
    expect(search(s, "erase")).toEqual([]);
    s.edit(2, "keep edited after deletion", 2004, 10, 10); // never happens (the core refuses), and still not found
    expect(search(s, "keep")).toEqual([]);
  }));

  it("a message's own markers are not shown as matches", () => withStorage((s) => {
    s.store([row(1, "fake \u0002mark\u0003 and real")]);
    expect(search(s, "real")[0]!.snippet).toBe("fake mark and \u0002real\u0003");
  }));

  it("indexes the messages a room held before the index existed, once", () => withStorage((s, sql) => {
    s.store([row(1, "from before"), row(2, "also before, deleted")]);
    s.tombstone(2, 2000, 1);
    for (const t of ["message_search_insert", "message_search_update", "message_search_delete"]) sql.exec(`DROP TRIGGER ${t}`);
    sql.exec("DROP TABLE message_search");
    sql.exec("DROP VIEW message_text");
    const again = new RoomStorage(sql); // the object starting with this code
    expect(search(again, "before").map((r) => r.seq)).toEqual([1]);
    new RoomStorage(sql); // and a later start changes nothing
    again.store([row(3, "after, before nothing")]);
    expect(search(again, "before").map((r) => r.seq)).toEqual([3, 1]);
  }));

  it("runs every expression the core makes of hostile queries", () => withStorage((s) => {
    s.store([row(1, "near body secret a b c and or not x y z"), row(2, "日本語 テキスト")]);
    const hostile = ["NEAR(a b, 2)", "body:secret", "{body}:x", "^a", "(a OR b)", "a AND b", "NOT x", "- x", "a*b",
      "x:yy*", "日本語", "日本*", "OR", "AND*", '"a "" b"', "ÀÉÎ", "a\u00adb", "\u0301a", "x\u200by"];
    for (const q of hostile) expect(() => search(s, q), q).not.toThrow();
    expect(search(s, "body:secret").map((r) => r.seq)).toEqual([1]);
    expect(search(s, "NEAR(a b, 2)")).toEqual([]); // the words near, a, b and 2: no 2
    expect(search(s, "日本語").map((r) => r.seq)).toEqual([2]);
  }));

  it("refuses malformed queries in the core, before storage", () => {
    for (const q of ['"open', "*", "", "a*", "a\u0001", "x ".repeat(9)]) {
      expect(() => match(q), JSON.stringify(q)).toThrow(CoreError);
    }
  });
});
