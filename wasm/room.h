/*
 * room.h -- one chat room as a state machine: members, sequence numbers, rate
 * limits, and the decisions of every frame. No I/O. The rules it applies are
 * listed, as pure functions over facts, in room_rules.h.
 *
 * Events go in (a socket opened, a frame arrived, a socket closed, the answer to a
 * question); *effects* come out as one JSON object {"effects":[...]} that the shell
 * (durable-objects/room-effects.ts) carries out in order. The three vocabularies
 * below (ROOM_EVENTS, ROOM_EFFECTS, ROOM_QUERIES) are the whole ABI of a room; the
 * core names an effect or a query only through ROOM_EFFECT() / ROOM_QUERY(), which
 * fail to compile for a name missing from its list, and wasm/tools/gen_protocol.c
 * prints the lists into worker/generated/core.ts, where the shell's switch over
 * them is exhaustive (a `never` check).
 *
 * Re-entrancy (as nghttp2's programmer's guide states its callbacks' rule): while
 * the shell carries out the effects of one event, it calls the core only to answer
 * the query, which is always the last effect (ROOM_ANSWER); everything else it
 * learns while applying (a socket that fails to send) waits for the next event.
 * Every change an effect announces has already happened in the core: a "close"
 * removes its member in the same event, so the shell never reports it back.
 *
 * A private room (ROOM_CONFIG "private") opens its sockets and history to its
 * members only: the shell tells whether a user is one ("member" in the facts of
 * ROOM_OPEN and ROOM_PAGE), from the member table in the room's storage, which
 * the membership operation (api.h CHAT_OP_MEMBERSHIP) decides.
 *
 * A room is a public chat room unless ROOM_CONFIG makes it a direct-message
 * conversation ("dm"): then only its two members may open sockets, messages are
 * "new_direct_message" frames keyed by "conversation_id", and new ones are refused
 * with dm_closed while the conversation is not open (social.h social_dm_open, as
 * the shell's facts carry it).
 *
 * Blocks: a message is not sent to sockets whose user blocks its author, and the
 * history a user loads leaves such messages out (the query's exclude_users).
 *
 * Coalescing (fan-out under load, room_outbox.c): a new message waits in the
 * room's outbox, with no seq yet, and deletions' broadcasts wait with it. A quiet
 * room (nothing sent for CHAT_FLUSH_INTERVAL_MS) flushes at once; a busy one asks
 * the shell for a ROOM_FLUSH at the end of the interval (a flush_at effect). A
 * flush asks storage once which waiting messages are retries of stored ones (the
 * dedup query), then in one event gives the others their seqs, stores them (one
 * storage transaction however many) and sends: each socket gets one frame,
 * {"type":"batch","frames":[...]} when it carries more than one, encoded once per
 * group of sockets that get the same frames. So a busy room costs one event, no
 * storage work, per message, and one query, one transaction and one frame per
 * socket per interval. Nothing is acknowledged or delivered before it is stored;
 * a waiting message is lost only with the object (a crash, a trap), unacknowledged,
 * and its sender's retry (same client_id) stores it then. Broadcasts reach each
 * socket in seq order; direct replies (error, pong, a retry's acknowledgement) may
 * overtake broadcasts waiting in the outbox. Past CHAT_ROOM_RATE_PER_SECOND new
 * messages are refused with rate_limited (load shedding).
 *
 * Changes (issue 16): an edit, a deletion, a reaction and an account's erasure
 * change stored messages. Each takes the room's next change number (next_change;
 * an erasure one per seq of the log), which its effect stores on the message and
 * its broadcast carries, so a client keeps a cursor; join_room {since,
 * changes_since} asks storage for the messages up to since whose last change is
 * after the cursor, in change order, a page at a time, and the history frame
 * carries their current state and the new cursor (room_fill_changes). Edits and
 * reactions ask storage about the message first (ROOM_QUERY message, reaction),
 * like a deletion; a reply's quote is read with the original (the dedup query's
 * originals, history rows' reply_* columns), never copied, so it follows edits.
 *
 * Limits of one client (room_rules.h; PROTOCOL.md): a user's rate bucket lives in
 * memory and restarts full after a wake (it refills in 4 s anyway); their flood
 * bucket is handed to the shell in a limits effect at every refusal and comes back
 * in their facts, so a hibernation or a reconnect gives no fresh allowance. A
 * socket that has not joined CHAT_UNJOINED_TIMEOUT_MS after it opened (its
 * attachment keeps opened_at) is closed with CHAT_CLOSE_UNJOINED by the next open.
 *
 * Invariants: seq numbers are gap-free and increase by one per stored message; a
 * message is in a "store" effect before any "send" that carries it; a connection
 * receives messages only after join_room; a socket named by a close effect is
 * already forgotten.
 *
 * Workload: one room per Durable Object; up to CHAT_ROOM_CONNS_MAX sockets, tens to
 * thousands of frames a second. Sockets and users are found in O(1) (room_index.h),
 * so an open costs O(1) but for the unjoined sockets' heap, O(log n), however many
 * users and sockets the room holds; fan-out is linear in the joined sockets.
 *
 * Files: room.c (the event entry point, state and its commit), room_members.c
 * (sockets and users: open, restore, close, blocks, configuration, bans),
 * room_frames.c (frames from clients and the answers that finish them),
 * room_outbox.c (the outbox, fan-out and flush), room_history.c (history pages),
 * room_rules.c (the rules), room_index.c (its lookups), sharing private types
 * through room_internal.h.
 */
#ifndef ROOM_H
#define ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "chat_limits.h"

typedef struct room room;

/* Event kinds of room_event(): X(symbol, ABI number, wire name, what goes in).
 * Numbers are part of the Wasm ABI: append, never renumber. */
#define ROOM_EVENTS(X)                                                                        \
  X(ROOM_OPEN, 1, open, "user facts {\"id\",\"username\",\"role\",\"blocks\"?: [ids], "       \
    "\"flood\"?: the last limits effect's, \"member\"?: bool, \"read\"?: their read marker, "     \
    "\"relay\"?: 0..CHAT_RELAYS-1, the relay holding the socket (room_relay_for)}")                                                   \
  X(ROOM_RESTORE, 2, restore, "an attachment's data after the object woke, with the user's "   \
    "current \"blocks\" (and \"flood\") added to its \"user\"")                                \
  X(ROOM_FRAME, 3, frame, "the bytes of a frame from socket `conn`")                          \
  X(ROOM_CLOSE, 4, close, "socket `conn` closed (nothing when the room closed it itself)")    \
  X(ROOM_ANSWER, 5, answer, "the answer to the pending query")                                \
  X(ROOM_PAGE, 6, page, "{\"query\": query string of GET .../messages, \"viewer\": "          \
    "{\"id\", \"blocks\", \"member\"?: bool}}")                                                                   \
  X(ROOM_BLOCKS, 7, blocks, "{\"user_id\", \"blocks\": [ids]}: whom a user blocks now")       \
  X(ROOM_CONFIG, 8, config, "{\"kind\": \"room\"|\"dm\", \"members\": [a, b], \"open\": bool, " \
    "\"private\"?: bool (a room: members only), "                                                  \
    "\"rate\"?: {\"burst\", \"per_second\"}, \"room_rate\"?: {...}} (rate, room_rate: load "  \
    "tests only)")                                                                             \
  X(ROOM_KICK, 9, kick, "{\"user_id\", \"reason\", \"removed\"?: bool}: close every socket "   \
    "of that user here, with CHAT_CLOSE_BANNED (a ban) or CHAT_CLOSE_REMOVED (removed: a kick)")                                                         \
  X(ROOM_FLUSH, 10, flush, "the time a flush_at effect named has come: send the outbox")       \
  X(ROOM_MEMBER, 11, member, "{\"user_id\", \"member\": bool}: the user joined or left the "    \
    "room (membership, issue 15)")                                                              \
  X(ROOM_ERASE, 12, erase, "{\"user_id\", \"tombstone\"}: the user's account was deleted: "      \
    "each of their messages here becomes a tombstone, a change every socket hears of")                                         \
  X(ROOM_SEARCH, 13, search, "{\"query\": query string of GET .../search (search.h), \"viewer\": " \
    "{\"id\", \"blocks\", \"member\"?: bool}}: a page of search results, as ROOM_PAGE a page "    \
    "of history (issue 17)") \
  X(ROOM_OPEN_CHECK, 14, open_check, "user facts as for ROOM_OPEN: whether ROOM_OPEN would "  \
    "admit that socket now (its refusals), changing nothing and writing no effect, so the "   \
    "shell refuses before the work an open costs (the user's hub)")

typedef enum {
#define ROOM_EVENT_ENUM_(sym, num, name, in) sym = (num),
  ROOM_EVENTS(ROOM_EVENT_ENUM_)
#undef ROOM_EVENT_ENUM_
} room_event_kind;

/* Effects, in the order an event writes them: X(op, what the shell does). */
#define ROOM_EFFECTS(X)                                                                       \
  X(attach, "{conn, data}: store data as socket conn's attachment (what ROOM_RESTORE needs "  \
    "after a wake)")                                                                           \
  X(send, "{to: [conn...], frame: [offset, length]}: send these exact bytes to each socket; " \
    "a frame is encoded once for all")                                                         \
  X(close, "{conn, code, reason}: close the socket; the room has forgotten it already")       \
  X(store, "{message: {seq,user_id,username,body,client_id,created_at,reply_to?,attachments?, "\
    "mentions?}}: insert "                                                                     \
    "into the message log, always before the sends that reveal it; mentions: the username "    \
    "keys it names (message_mentions) but its author's and those looking here")                                    \
  X(tombstone, "{seq, at, change}: mark message seq deleted, as change number `change`")      \
  X(edit, "{seq, body, at, change, keep}: message seq's body is now `body`, edited at `at`, "  \
    "as change `change`; its former body joins its edit history, which keeps the newest "     \
    "`keep` (CHAT_EDIT_HISTORY_MAX)")                                                          \
  X(react, "{seq, emoji, user_id, add, at, change}: user_id's reaction `emoji` on message "   \
    "seq is added (add) or removed, as change `change`")                                       \
  X(erase, "{user_id, at, tombstone, change}: every message of the user becomes a "           \
    "tombstone (body emptied, username `tombstone`, deleted at `at` unless it was), message "  \
    "seq's change number being change + seq")                                                  \
  X(activity, "{at}: update the directory's last activity")                                   \
  X(dm_message, "{seq, at, user_id, body, unread_for: u|null}: a direct message was stored: " \
    "the conversation list's last message, and one more unread for user u")                   \
  X(dm_read, "{user_id}: u is looking: nothing unread for u")                                 \
  X(notify, "{user_id, frame: [offset, length]}: deliver this frame to u's personal "         \
    "sockets (u is not looking here)")                                                         \
  X(read_marker, "{user_id, seq}: u's read marker moved forward to seq (mark_read): keep it "  \
    "and tell u's personal sockets the room's counts")                                           \
  X(room_activity, "{looking: [user ids]}: who has a joined socket here, after a flush that "   \
    "stored messages when it changed since the last one: after stores, the members not "       \
    "looking are told the room's counts (room_activity frames, at most every "                  \
    "CHAT_ROOM_ACTIVITY_MS)")                                                         \
  X(flush_at, "{at}: broadcasts wait in the outbox: send ROOM_FLUSH at that time (a timer)")  \
  X(limits, "{user_id, flood: {tokens, last_ms}}: keep the user's flood bucket (room "         \
    "storage); give it back as the \"flood\" of their facts at open and restore")            \
  X(reply, "{body}: the answer to an HTTP request")                                           \
  X(query, "{what, ...}: a question (ROOM_QUERIES); always the last effect. The shell "       \
    "answers it with ROOM_ANSWER before any other event")

#define ROOM_EFFECT_ENUM_(op, doc) ROOM_EFFECT_ID_##op,
enum room_effect_id { ROOM_EFFECTS(ROOM_EFFECT_ENUM_) ROOM_EFFECT_COUNT };
#undef ROOM_EFFECT_ENUM_

/* The wire name of an effect, as a string literal; a compile error if `op` is not
 * in ROOM_EFFECTS. */
#define ROOM_EFFECT(op) ((void)ROOM_EFFECT_ID_##op, #op)

/* Queries ({"op":"query","what":...}) and their answers ({"row": R|null} or
 * {"rows": [R, ...]}, R a stored message as message.h reads it: {seq,user_id,
 * username,body,client_id,created_at,deleted_at}, and in history rows also
 * edited_at, change, reply_to and the quoted original's reply_* columns (its body
 * cut to `excerpt` code points), and reactions counted for `viewer` without those
 * of exclude_users): X(what, fields, answer). */
#define ROOM_QUERIES(X)                                                                       \
  X(dedup, "messages: [{user_id, client_id}, ...], replies?: [seqs], excerpt?: n (only when " \
    "replies wait), attachments?: [ids] (only when attachments wait)",                         \
    "{rows, originals, files}: the stored messages among these (retries), in any order; "      \
    "the messages the replies quote, {seq,user_id,username,body,deleted_at} with body cut "    \
    "to `excerpt` code points; the uploads to this room among the attachments, {id, "          \
    "user_id, seq (null: unused), type, size, name, width, height, url}")                      \
  X(message, "seq", "{row}: message seq, or null")                                            \
  X(reaction, "seq, user_id, emoji", "{row, present, mine, distinct, my_count}: message seq " \
    "(or null), whether `emoji` is on it, whether user_id put it there, how many distinct "    \
    "emoji it has and how many user_id put on it")                                             \
  X(history, "after: n|null, before: n|null, limit: k, include_deleted: false, "              \
    "exclude_users: [ids], viewer: id, excerpt: n, changes_after: c|null, "                    \
    "changes_seq_max: n",                                                                      \
    "{rows, changes?}: rows newest first, at most k (the excluded users' too: the core marks " \
    "them blocked, for a placeholder; their reactions are not counted); with "                \
    "changes_after, changes: the messages of seq <= changes_seq_max whose last change is "     \
    "after c (deleted ones too), in change order, at most k, none by the excluded users")        \
  X(search, "match: an FTS5 MATCH expression (search.h: every term a quoted string), before: "  \
    "n|null, limit: k, exclude_users: [ids], tokens: t",                                       \
    "{rows}: the messages not deleted whose text matches, seq < before, newest first, at most " \
    "k, none by the excluded users: {seq,user_id,username,created_at,edited_at,snippet}, the "  \
    "snippet of about t tokens around the matches, each between SEARCH_MARK_START and "        \
    "SEARCH_MARK_END")

#define ROOM_QUERY_ENUM_(what, fields, answer) ROOM_QUERY_ID_##what,
enum room_query_id { ROOM_QUERIES(ROOM_QUERY_ENUM_) ROOM_QUERY_COUNT };
#undef ROOM_QUERY_ENUM_

/* The wire name of a query, as a string literal; a compile error if `what` is not
 * in ROOM_QUERIES. */
#define ROOM_QUERY(what) ((void)ROOM_QUERY_ID_##what, #what)

/* A room with id `id` whose next message gets sequence number next_seq (1 for an
 * empty log, else the largest stored seq + 1) and whose next change (an edit, a
 * deletion, a reaction: the change log of PROTOCOL.md "Guarantees") gets number
 * next_change (1, else the largest stored change + 1). Returns CHAT_OK and *out,
 * or CHAT_E_NOMEM. Free with room_free. */
int room_new(int64_t id, int64_t next_seq, int64_t next_change, room **out);

/* Release a room. Accepts NULL. */
void room_free(room *r);

/* Handle one event at time now_ms (see ROOM_EVENTS) and write the effects into out
 * (capacity cap). Returns the length written, or a negative chat_error:
 * CHAT_E_BUFFER_TOO_SMALL (*out_len = length needed; call again with the same
 * event: nothing changed), and otherwise, with nothing changed:
 * - a refusal (chat_error.h class CHAT_REFUSAL) of facts that came from a client:
 *   for ROOM_OPEN CHAT_E_ROOM_FULL, CHAT_E_TOO_MANY_CONNECTIONS, CHAT_E_NOT_MEMBER
 *   and the field errors of the user facts; for ROOM_PAGE CHAT_E_QUERY_INVALID and
 *   the field errors of its facts; for ROOM_RESTORE those of the attachment. The
 *   room goes on serving everyone else.
 * - a fatal code (class CHAT_FATAL): CHAT_E_NOMEM, CHAT_E_UNKNOWN_OP (no such event
 *   kind), or CHAT_E_MISUSE (an event other than ROOM_ANSWER while a query is
 *   pending, an answer with none pending, a frame from a socket the room does not
 *   know): the shell drops this room and rebuilds it.
 * Bad client input in a frame is not an error of the call: it yields an error
 * frame to that client. */
int room_event(room *r, int kind, int64_t conn, const unsigned char *in, size_t in_len,
               double now_ms, unsigned char *out, size_t cap, size_t *out_len);

#endif
