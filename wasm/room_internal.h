/*
 * room_internal.h -- what the files of the room state machine share (room.h lists
 * them): the room's state, the change an event makes to it, and the functions one
 * file calls in another. Not part of the core's API: nothing outside room*.c
 * includes it.
 *
 * How an event runs (room.c, room_event): a handler reads the event and writes its
 * effects into an `effects` list, and records what it changes in the room in a
 * room_change, touching nothing observable; once the effects are written,
 * room_commit() applies the change (or, on failure, undoes the buckets it drew
 * from), so a failed event (out of memory) leaves the room as it was.
 */
#ifndef ROOM_INTERNAL_H
#define ROOM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "chat_limits.h"
#include "effects.h"
#include "ratelimit.h"
#include "room.h"
#include "room_index.h"
#include "room_rules.h"

/* ---- state ------------------------------------------------------------------ */

/* A socket. */
typedef struct {
  int64_t conn;
  int64_t user_id;
  char username[CHAT_USERNAME_MAX + 1];
  room_role role;
  int joined;       /* receives messages only after join_room */
  double opened_at; /* ms; an unjoined socket is closed CHAT_UNJOINED_TIMEOUT_MS later */
  unsigned relay;   /* 1 + the relay holding the socket (ROOM_OPEN "relay"), or 0: the room */
} room_member;

/* Per user (not per socket): rate-limit buckets, whom the user blocks, and how many
 * sockets (joined ones among them) the user holds here. */
typedef struct {
  int64_t user_id;
  ratelimit_bucket rate, flood;
  int64_t *blocks; /* user ids this user blocks (owned; NULL when none) */
  size_t n_blocks;
  uint32_t n_conns, n_joined;
  int member;       /* a member of the room (facts, ROOM_MEMBER) */
  int64_t read_seq; /* their read marker (facts, then mark_read) */
  double typed_at;  /* when their typing was last told (room_typing_due) */
  int typed;        /* (typed_at is set) */
} room_user;

/* A broadcast waiting in the outbox: a deletion's encoded frame, or a message not
 * yet stored (it gets its seq, its row in storage and its frame from the flush). */
typedef struct {
  char *text;     /* a deletion's frame (owned, cJSON_free); NULL for a message */
  size_t len;
  int64_t author; /* whose blockers do not get it; 0: everyone gets it */
  cJSON *message; /* a message (owned): {user_id,username,body,client_id,created_at} */
  int64_t conn;   /* the socket that sent the message */
  int skip_author; /* not sent to the author's own sockets (typing) */
} room_outbox_entry;

/* What the pending query is for. */
enum { ROOM_P_NONE, ROOM_P_FLUSH, ROOM_P_DELETE, ROOM_P_JOIN, ROOM_P_PAGE, ROOM_P_EDIT, ROOM_P_REACT, ROOM_P_SEARCH };

/* The question a room is waiting on, and what it needs to finish the event. */
typedef struct {
  int kind;
  int64_t conn;
  char ref[CHAT_REF_MAX + 1];
  int has_ref;
  int64_t seq; /* ROOM_P_DELETE, ROOM_P_EDIT, ROOM_P_REACT: the message */
  int has_since;
  int64_t since; /* ROOM_P_JOIN */
  int has_changes;
  int64_t changes_since; /* ROOM_P_JOIN: the client's last change */
  int limit;     /* ROOM_P_JOIN, ROOM_P_PAGE, ROOM_P_SEARCH: rows asked for (one more than a page) */
  char *text;    /* ROOM_P_EDIT: the new body (owned: freed with the question) */
  int64_t *blocked; /* ROOM_P_PAGE: whom the viewer blocks (owned, as text) */
  size_t n_blocked;
  char emoji[CHAT_REACTION_BYTES_MAX + 1]; /* ROOM_P_REACT */
  int add;       /* ROOM_P_REACT: react (1) or unreact (0) */
} room_pending;

struct room {
  int64_t id;
  int64_t next_seq;
  int64_t next_change;     /* the number the next change to a stored message gets */
  int64_t next_conn;
  room_member *members;    /* in no order; member_at finds one by conn id */
  size_t n_members, cap_members;
  size_t n_joined;         /* joined sockets (what a flush sends to) */
  size_t relay_joined[CHAT_RELAYS]; /* of those, held by each relay (room_fanout_sends) */
  room_index member_at;
  room_user *users;        /* those with a socket here, and departed ones whose */
  size_t n_users, cap_users; /* buckets have not refilled yet; user_at finds one */
  room_index user_at;
  size_t prune_next;       /* where room_prune_departed looks next */
  room_deadlines unjoined; /* every socket opened or restored unjoined, earliest first */
  room_kind kind;          /* a room, or a conversation (ROOM_CONFIG) */
  double rate_burst;       /* the per-user token bucket: CHAT_RATE_* unless configured */
  double rate_per_second;
  double last_activity_report;
  ratelimit_bucket room_rate; /* new messages the room accepts (load shedding) */
  double room_burst, room_per_second;
  room_outbox_entry *outbox; /* CHAT_BATCH_MAX slots: broadcasts not sent yet, in order */
  size_t n_outbox, outbox_bytes;
  double last_flush_ms;    /* when broadcasts were last sent */
  int flush_due;           /* a flush_at effect is out: a ROOM_FLUSH will come */
  double flush_at_ms;      /* when, while flush_due (the last flush_at asked for) */
  uint64_t looking_version; /* changes whenever a user starts or stops looking */
  uint64_t looking_told;   /* the version the last room_activity effect listed */
  room_pending p;
  unsigned char *unread; /* output that did not fit the caller's buffer */
  size_t unread_len;
};

/* What an event changes in the room, applied by room_commit() only once its
 * effects are written. */
typedef struct {
  int add;             /* add `m` (capacity was reserved by the handler) */
  room_member m;
  int has_flood;       /* the facts of m's user carry their flood bucket */
  ratelimit_bucket flood;
  int facts_member;    /* the facts of m's user: a member, and their marker */
  int64_t facts_read;
  int marked;          /* user mark_user's marker moves to mark_seq */
  int64_t mark_user, mark_seq;
  int set_member;      /* user mark_user is a member (facts_member) or not now */
  double evict_before; /* unjoined sockets opened at or before this are evicted */
  int evicting;        /* (their heap entries popped at commit) */
  int64_t removed_inline[4]; /* sockets the event removes (closed, or a close effect) */
  int64_t *removed;    /* removed_inline, or owned when more */
  size_t n_removed, cap_removed;
  int ask;             /* wait for an answer to the query in the effects */
  room_pending p;
  int64_t n_stored;    /* messages stored from seq next_seq on */
  int64_t n_changes;   /* change numbers used from next_change on */
  int reported;        /* the directory's activity was reported at `at` */
  double at;
  int64_t joined;      /* this connection joined (0: none) */
  room_user *limit;    /* a rate-limit bucket that was drawn from, */
  room_user before;    /* and its state before, to undo on failure */
  int set_blocks;      /* replace the block list of user `blocks_user` */
  int64_t blocks_user;
  int64_t *blocks;     /* owned by the change until committed */
  size_t n_blocks;
  int config;          /* replace the room's kind and rates */
  room_kind kind;
  double rate_burst, rate_per_second, room_burst, room_per_second;
  int room_drawn;      /* a token was taken from the room's bucket, */
  ratelimit_bucket room_before; /* which was like this before */
  int queue;           /* a broadcast joins the outbox (or is sent by the flush) */
  room_outbox_entry q; /* owned by the change until committed */
  size_t q_bytes;      /* what it adds to the outbox's size */
  int told_looking;    /* this event's room_activity listed who is looking */
  int typed;           /* user mark_user's typing was told at `at` */
  int flushed;         /* the outbox (and q) were sent at flush_ms */
  double flush_ms;
  int schedule;        /* a flush_at effect was written, for schedule_at */
  double schedule_at;
  int unschedule;      /* the ROOM_FLUSH that flush_at asked for arrived */
} room_change;

/* ---- lookups: O(1) (inline: the fan-out calls them once per member) ---------- */

static inline room_member *room_find_member(const room *r, int64_t conn) {
  uint32_t i = room_index_get(&r->member_at, conn);
  return i == ROOM_INDEX_NONE ? NULL : &r->members[i];
}

static inline room_user *room_find_user(const room *r, int64_t user_id) {
  uint32_t i = room_index_get(&r->user_at, user_id);
  return i == ROOM_INDEX_NONE ? NULL : &r->users[i];
}

/* ---- room.c: the pending query and the change --------------------------------- */

/* {"what": what}, or NULL when memory is exhausted. */
cJSON *room_query(const char *what);

/* Adds {"op":"query", ...q} as the event's last effect and the question to wait
 * for (p). Takes q (NULL: CHAT_E_NOMEM). */
int room_ask(effects *e, room_change *c, cJSON *q, const room_pending *p);

/* Records that the event removes socket conn. CHAT_OK or CHAT_E_NOMEM. */
int room_change_remove(room_change *c, int64_t conn);

/* ---- room_members.c: sockets, users, blocks, configuration, bans ---------------- */

int room_on_open(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now);
int room_on_restore(room *r, room_change *c, const unsigned char *in, size_t len, double now);
int room_on_open_check(room *r, room_change *c, const unsigned char *in, size_t len, double now);
int room_on_blocks(room *r, effects *e, room_change *c, const unsigned char *in, size_t len);
int room_on_config(room_change *c, const unsigned char *in, size_t len);
int room_on_kick(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now);
int room_on_member(room_change *c, const unsigned char *in, size_t len);

/* Writes a close effect for socket conn and removes it in the same event (room.h:
 * the shell does not report it back). */
int room_close_socket(effects *e, room_change *c, int64_t conn, int code, const char *reason);

/* Writes an attach effect: what ROOM_RESTORE needs of socket m after a wake. */
int room_attach(effects *e, const room_member *m);

/* {"id","username","role"?} (role NULL: left out), or NULL when memory is exhausted. */
cJSON *room_user_json(int64_t id, const char *username, const char *role);

/* Reads "blocks": [user ids] from facts into a new array (*out NULL when empty);
 * *present says whether the member was there at all. CHAT_E_FIELD_TYPE past
 * CHAT_BLOCKS_MAX or for a non-id. */
int room_read_blocks(const cJSON *facts, int64_t **out, size_t *n, int *present);

/* Adds the member of the change, and its user if new (capacity was reserved by
 * room_on_open or room_on_restore). */
void room_add_member(room *r, const room_change *c);

/* Forgets socket conn (nothing if unknown); its user's buckets stay until
 * room_prune_departed finds them refilled. */
void room_remove_member(room *r, int64_t conn);

/* The socket conn joined: it receives messages from now on. */
void room_member_joined(room *r, int64_t conn);

/* Forgets a few users with no socket here whose buckets are full again by now_ms
 * (a constant number per call, so an open costs O(1): users cannot pile up faster
 * than sockets open). No observable change. */
void room_prune_departed(room *r, double now_ms);

/* Writes the limits effect of a user whose flood bucket changed. */
int room_limits_effect(effects *e, const room_user *u);

/* ---- room_frames.c: frames from clients, and the answers that finish them ------ */

int room_on_frame(room *r, effects *e, room_change *c, int64_t conn, const unsigned char *in, size_t len,
                  double now);
int room_answer_delete(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now);
int room_answer_join(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now);
int room_answer_edit(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now);
int room_answer_react(room *r, effects *e, room_change *c, const room_pending *p, const cJSON *a, double now);

/* ROOM_ERASE: a deleted account's messages become tombstones (an erase effect),
 * and the joined sockets hear it (account_deleted, through the outbox). */
int room_on_erase(room *r, effects *e, room_change *c, const unsigned char *in, size_t len, double now);

/* Releases what a pending question owns (its text). */
void room_pending_free(room_pending *p);

/* A socket closes (ROOM_CLOSE): if it was its user's last joined one, the room
 * hears they are gone (presence_changed, through the outbox). */
int room_on_close(room *r, effects *e, room_change *c, int64_t conn, double now);

/* The room closes every joined socket `user` has here in this event (a ban, a
 * kick, a flood): the others hear they are gone (presence_changed). */
int room_departed(room *r, effects *e, room_change *c, int64_t conn, int64_t user, double now);

/* ---- room_outbox.c: the outbox, fan-out and flush ------------------------------ */

/* Adds this event's broadcast (c->q, `bytes` long) to the outbox, and sends the
 * outbox now (a quiet room, a full outbox, a conversation) or asks for a flush. */
int room_enqueue(room *r, effects *e, room_change *c, size_t bytes, double now);

/* A broadcast that is not a message (presence_changed, typing: c->q, a frame
 * `bytes` long): sent at once when nothing waits in the outbox (and, in a big room,
 * its last flush is a presence interval old: then it counts as a flush); else it
 * joins the outbox and rides in its batch, the next message's flush or one a
 * presence interval after the last (room_presence_interval). */
int room_broadcast(room *r, effects *e, room_change *c, size_t bytes, double now);

/* Sends what waits in the outbox: first one dedup query if messages wait. */
int room_start_flush(room *r, effects *e, room_change *c, double now);

/* The second half of a flush, with storage's answer to the dedup query (NULL when
 * no message waited): rows (the stored retries), originals (what replies quote),
 * files (the uploads attachments name). */
int room_finish_flush(room *r, effects *e, room_change *c, const cJSON *answer, double now);

/* Whether a message of `user` with client id `cid` waits in the outbox. */
int room_outbox_holds(const room *r, int64_t user, const char *cid);

/* Releases an outbox entry's frame or message. */
void room_outbox_entry_free(room_outbox_entry *f);

/* ---- room_history.c: history queries and pages --------------------------------- */

/* The query for the newest `limit` messages after/before a seq, leaving out
 * deleted ones and those by the users in `exclude` (an array this takes). NULL
 * when memory is exhausted. */
cJSON *room_history_query(const int64_t *after, const int64_t *before, int limit, cJSON *exclude, int64_t viewer);

/* The array of user ids `viewer` blocks here, for a query's exclude_users. */
cJSON *room_blocks_json(const room *r, int64_t viewer);

/* Adds the room's id, then message_add_page (at most `page` of `rows`, those by
 * the users `viewer` blocks marked), to o. */
int room_fill_page(const room *r, cJSON *o, const cJSON *rows, int page, const int64_t *blocked, size_t n_blocked);

/* Adds "changes" (at most `page` of `rows`, in change order: each a message with
 * its "change", or {seq, deleted: true, change} for a deleted one), "changes_more"
 * (there were more rows than `page`), and "change": the client's new cursor, the
 * last change listed when there are more, else `latest`. */
int room_fill_changes(cJSON *o, const cJSON *rows, int page, int64_t latest);

int room_on_page(const room *r, effects *e, room_change *c, const unsigned char *in, size_t in_len);
int room_answer_page(room *r, effects *e, const room_pending *p, const cJSON *a);

/* ---- room_search.c: search pages (issue 17) -------------------------------------- */

/* ROOM_SEARCH: checks the viewer (room_may_read) and the query string
 * (search_read_request), and asks storage (the search query). */
int room_on_search(const room *r, effects *e, room_change *c, const unsigned char *in, size_t in_len);

/* The results, from storage: the body of the HTTP answer (a reply effect). */
int room_answer_search(const room *r, effects *e, const room_pending *p, const cJSON *a);

#endif
