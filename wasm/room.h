/*
 * room.h -- one chat room as a state machine: members, sequence numbers, rate
 * limits, and the decisions of every frame. No I/O.
 *
 * Events go in (a socket opened, a frame arrived, a socket closed, the answer to a
 * question); *effects* come out as one JSON object {"effects":[...]} that the shell
 * (durable-objects/chat-room.ts) carries out in order:
 *
 *   {"op":"attach","conn":c,"data":{...}}     store data as socket c's attachment
 *                                              (what room_restore needs after a wake)
 *   {"op":"send","to":[c,...],"frame":"..."}  send these exact bytes to each socket:
 *                                              a frame is encoded once for all
 *   {"op":"close","conn":c,"code":n,"reason":"..."}
 *   {"op":"store","message":{seq,user_id,username,body,client_id,created_at}}
 *                                              insert into the message log; always
 *                                              before the sends that reveal it
 *   {"op":"tombstone","seq":n,"at":ms}         mark message n deleted
 *   {"op":"activity","at":ms}                  update the directory's last activity
 *   {"op":"dm_message","seq","at","user_id","body","unread_for":u|null}
 *                                              a direct message was stored: the
 *                                              conversation list's last message, and
 *                                              one more unread for user u
 *   {"op":"dm_read","user_id":u}               u is looking: nothing unread for u
 *   {"op":"notify","user_id":u,"frame":[o,n]}  deliver this frame to u's personal
 *                                              sockets (u is not looking here)
 *   {"op":"flush_at","at":ms}                  broadcasts wait in the outbox: send
 *                                              ROOM_FLUSH at that time (a timer)
 *   {"op":"reply","body":"..."}                the answer to an HTTP request
 *   {"op":"query", ...}                        a question; always the last effect.
 *                                              The shell answers it with
 *                                              room_answer() before any other event.
 *
 * Queries and their answers ({"row": R|null} or {"rows": [R, ...]}, R a stored
 * message {seq,user_id,username,body,client_id,created_at,deleted_at}):
 *   {"what":"dedup","messages":[{"user_id":u,"client_id":s}, ...]}
 *                                                the stored messages among these
 *                                                (retries), in any order
 *   {"what":"message","seq":n}                   message n
 *   {"what":"history","after":n|null,"before":n|null,"limit":k,
 *    "include_deleted":false,"exclude_users":[ids]}
 *                                                newest first, at most k rows,
 *                                                none by the excluded users
 *
 * A room is a public chat room unless ROOM_CONFIG makes it a direct-message
 * conversation ("dm"): then only its two members may open sockets, messages are
 * "new_direct_message" frames keyed by "conversation_id", and new ones are refused
 * with dm_closed while the conversation is not open (social.h).
 *
 * Blocks: a message is not sent to sockets whose user blocks its author, and the
 * history a user loads leaves such messages out (the query's exclude_users).
 *
 * Coalescing (fan-out under load): a new message waits in the room's outbox,
 * with no seq yet, and deletions' broadcasts wait with it. A quiet room (nothing
 * sent for CHAT_FLUSH_INTERVAL_MS) flushes at once; a busy one asks the shell for
 * a ROOM_FLUSH at the end of the interval (a flush_at effect). A flush asks
 * storage once which waiting messages are retries of stored ones (the dedup
 * query), then in one event gives the others their seqs, stores them (one storage
 * transaction however many) and sends: each socket gets one frame,
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
 * Invariants: seq numbers are gap-free and increase by one per stored message; a
 * message is in a "store" effect before any "send" that carries it; a connection
 * receives messages only after join_room. Rate-limit buckets live in memory and
 * restart full after a wake (documented in PROTOCOL.md).
 *
 * Workload: one room per Durable Object; a few hundred members, tens to thousands
 * of frames a second. Member lookups are linear: fan-out is linear anyway.
 */
#ifndef ROOM_H
#define ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "chat_limits.h"

typedef struct room room;

/* Event kinds of room_event(). Numbers are part of the Wasm ABI. */
#define ROOM_OPEN 1    /* in: user facts {"id","username","role","blocks"?: [ids]} */
#define ROOM_RESTORE 2 /* in: an attachment's data, after the object woke, with the
                          user's current "blocks" added to its "user" */
#define ROOM_FRAME 3   /* in: the bytes of a frame from socket `conn` */
#define ROOM_CLOSE 4   /* socket `conn` closed */
#define ROOM_ANSWER 5  /* in: the answer to the pending query */
#define ROOM_PAGE 6    /* in: {"query": query string of GET .../messages, "viewer":
                          {"id", "blocks"}} */
#define ROOM_BLOCKS 7  /* in: {"user_id", "blocks": [ids]}: whom a user blocks now */
#define ROOM_CONFIG 8  /* in: {"kind": "room"|"dm", "members": [a, b], "open": bool,
                          "rate"?: {"burst", "per_second"}, "room_rate"?: {...}}
                          (rate, room_rate: load tests only) */
#define ROOM_KICK 9    /* in: {"user_id", "reason"}: close every socket of that user here
                          (a ban), with CHAT_CLOSE_BANNED */
#define ROOM_FLUSH 10  /* the time a flush_at effect named has come: send the outbox */

/* A room with id `id` whose next message gets sequence number next_seq (1 for an
 * empty log, else the largest stored seq + 1). Returns CHAT_OK and *out, or
 * CHAT_E_NOMEM. Free with room_free. */
int room_new(int64_t id, int64_t next_seq, room **out);

/* Release a room. Accepts NULL. */
void room_free(room *r);

/* Handle one event at time now_ms (see the kinds above) and write the effects
 * into out (capacity cap). Returns the length written, or a negative chat_error:
 * CHAT_E_BUFFER_TOO_SMALL (*out_len = length needed; call again with the same
 * event: nothing changed), CHAT_E_NOMEM, CHAT_E_MISUSE (an event other than
 * ROOM_ANSWER while a query is pending, or an answer with none pending), and for
 * ROOM_OPEN CHAT_E_ROOM_FULL. Bad client input is not an error of the call: it
 * yields an error frame to that client. */
int room_event(room *r, int kind, int64_t conn, const unsigned char *in, size_t in_len,
               double now_ms, unsigned char *out, size_t cap, size_t *out_len);

/* Check a room name (len bytes) and write its uniqueness key, the name with ASCII
 * letters lowercased, into key (capacity 4 * CHAT_ROOM_NAME_MAX + 1, NUL-terminated).
 * Errors: CHAT_E_ROOM_NAME_EMPTY, CHAT_E_ROOM_NAME_TOO_LONG, CHAT_E_ROOM_NAME_INVALID. */
int room_check_name(const char *name, size_t len, char *key);

#endif
