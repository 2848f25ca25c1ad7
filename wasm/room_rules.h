/*
 * room_rules.h -- every rule of a room and of a direct-message conversation, as
 * pure functions over facts (as social.h and moderation.h list theirs).
 *
 * The state machine (room.h) gathers the facts (who the socket's user is, whether
 * it joined, what the room is, the buckets) and applies these answers; nothing
 * else in the room decides. Pure: no allocation, no I/O, time passed in (ms).
 * Limits are chat_limits.h's.
 *
 * - Who may open a socket: in a conversation only its two members; nobody past
 *   CHAT_ROOM_CONNS_MAX sockets in the room or CHAT_USER_CONNS_MAX of their own.
 * - Who may post: a socket that sent join_room; in a conversation, only while it is
 *   open, which is social.h's social_dm_open (friends, and neither blocks the
 *   other), told to the room by the shell (ROOM_CONFIG "open").
 * - Who may delete: the author, and an ADMIN any message (room_may_delete_any, which
 *   the connection frame tells the client).
 * - Who may edit: the author only, ADMINs included (an ADMIN may delete, but not
 *   put words in someone's mouth); a deleted message is not edited; the body keeps
 *   a new message's limits.
 * - Replies: a reply quotes a message stored in the same room or conversation (a
 *   seq the room has given).
 * - Reactions (room_reaction_decide): a message holds at most
 *   CHAT_REACTIONS_DISTINCT_MAX distinct ones, a person puts at most
 *   CHAT_REACTIONS_PER_USER_MAX on it; adding one you have, or removing one you do
 *   not, changes nothing. Who reacted is not told to someone who blocks them.
 * - How fast: every frame takes a token of the user's rate bucket; a frame without
 *   one is refused and takes a flood token; without a flood token the socket is
 *   closed (CHAT_CLOSE_POLICY). New messages also take a token of the room's bucket
 *   (load shedding), with no flood penalty.
 * - How long a socket may stay without joining: CHAT_UNJOINED_TIMEOUT_MS after it
 *   opened it is overdue, and the next open closes it (CHAT_CLOSE_UNJOINED).
 * - What a socket is told: the message frame type of the room's kind.
 * - Read markers: a member's marker (the last seq they have seen) only moves
 *   forward, and never past the room's last stored message; only members have one.
 * - Mentions (message_mentions): a mention reaches a person only if they do not
 *   block its author, and, in a private room, only a member; the author's own name
 *   is no mention.
 * - Presence and typing: who is here is per user (a joined socket or more), told as
 *   it changes; typing is a joined socket's, at most once per user every
 *   CHAT_TYPING_INTERVAL_MS, and never stored. Neither reaches someone who blocks
 *   that user (the fan-out's block filter), nor comes back to its own author.
 * - Membership (issue 15): anyone may join a public room and leave it; a private
 *   room is joined only on an invitation, which its owner or an ADMIN gives; its
 *   owner or an ADMIN removes anyone but the owner (a kick closes their sockets
 *   there). Only members open a private room's sockets or read its history. A room
 *   holds at most CHAT_ROOM_MEMBERS_MAX members and invitations.
 */
#ifndef ROOM_RULES_H
#define ROOM_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "chat_limits.h"
#include "ratelimit.h"

typedef enum { ROOM_ROLE_USER, ROOM_ROLE_ADMIN } room_role;

/* The role named by `name` (len bytes: "USER" or "ADMIN"), or -1. */
int room_role_parse(const char *name, size_t len);

/* "USER" or "ADMIN". */
const char *room_role_name(room_role role);

/* What a room is, as far as the rules care. */
typedef struct {
  int dm;             /* a direct-message conversation */
  int64_t members[2]; /* its two users (dm only) */
  int open;           /* new messages allowed (dm only: social_dm_open) */
  int is_private;     /* a private room: members only (room only) */
} room_kind;

/* What a person is to a room. */
typedef enum { ROOM_STANDING_NONE, ROOM_STANDING_INVITED, ROOM_STANDING_MEMBER } room_standing;

/* The standing named by `name` ("none", "invited", "member"), or -1; and its name. */
int room_standing_parse(const char *name);
const char *room_standing_name(room_standing s);

/* Whether someone may open a socket in a room of this kind or read its history:
 * CHAT_OK, or CHAT_E_NOT_MEMBER for a non-member of a private room. */
int room_may_read(const room_kind *k, int member);

/* Whether someone of standing `s` may join (a room holding `members` members and
 * invitations): CHAT_OK (a member joins again: nothing changes), CHAT_E_NOT_INVITED
 * (a private room without an invitation) or CHAT_E_MEMBERS_FULL. An invitation
 * counts already, so an invitee always finds room. */
int room_may_join(const room_kind *k, room_standing s, size_t members);

/* Whether someone of standing `s` may leave: CHAT_OK or CHAT_E_NOT_MEMBER (an
 * invitee declines with leave too). */
int room_may_leave(room_standing s);

/* Whether `actor` (role `role`) may invite someone of standing `target` into a
 * room owned by `owner` with `members` members and invitations: CHAT_OK (a member
 * or an invitee: nothing changes), CHAT_E_FORBIDDEN (not the owner nor an ADMIN),
 * CHAT_E_SELF, or CHAT_E_MEMBERS_FULL. */
int room_may_invite(int64_t actor, room_role role, int64_t owner, int64_t target_id, room_standing target,
                    size_t members);

/* Whether `actor` (role `role`) may remove `target_id` (standing `target`) from a
 * room owned by `owner`: CHAT_OK, CHAT_E_SELF (leave instead), CHAT_E_FORBIDDEN
 * (not the owner nor an ADMIN, or the target is the owner) or CHAT_E_NOT_MEMBER. */
int room_may_kick(int64_t actor, room_role role, int64_t owner, int64_t target_id, room_standing target);

/* Whether someone may move a read marker here: CHAT_OK, or CHAT_E_NOT_MEMBER. */
int room_may_mark_read(int member);

/* A marker at `current` asked to move to `requested` in a room whose last stored
 * message is `last_seq`: the new marker (never behind current, never past
 * last_seq). */
int64_t room_marker_next(int64_t current, int64_t requested, int64_t last_seq);

/* Whether a mention of `person` by `author` reaches them (counted, and told):
 * 1 or 0. member: whether they are a member here; blocks_author: whether they
 * block the author. Members only, public rooms too: Slack, Discord and Zulip
 * notify no one outside the channel, so naming strangers cannot notify them. */
int room_mention_reaches(int64_t person, int64_t author, int member, int blocks_author);

/* Whether a person's profile change (user_updated) is told to the sockets of a room
 * or conversation: 1 or 0. Always in a conversation (its two people); in a room,
 * only about a member or someone with `sockets` open there now, so a room that
 * removed someone hears nothing more from them. */
int room_profile_reaches(int conversation, int member, size_t sockets);

/* Which relay takes a new socket of `user_id` in a room or conversation that holds
 * `sockets` open sockets: -1 (the object holds it itself) in a conversation or
 * below `from` sockets, else user_id mod CHAT_RELAYS (chat_limits.h, relays).
 * `from` is CHAT_RELAY_FROM, or a smaller test override (at least 1). */
int room_relay_for(int conversation, int64_t user_id, size_t sockets, size_t from);

/* Whether a room that last told its members of activity at `last_ms` tells them
 * again at now_ms (CHAT_ROOM_ACTIVITY_MS): 1 or 0. */
int room_activity_due(double last_ms, double now_ms);

/* Whether a socket may say it is typing: CHAT_OK or CHAT_E_NOT_JOINED. */
int room_may_type(int joined);

/* Whether a user who last said they were typing at last_ms is told to the room
 * again at now_ms (CHAT_TYPING_INTERVAL_MS): 1, or 0 (dropped). */
int room_typing_due(double last_ms, double now_ms);

/* Whether `user` may open one more socket, with `sockets` open in the room and
 * `mine` of them the user's. CHAT_OK, CHAT_E_NOT_MEMBER, CHAT_E_ROOM_FULL or
 * CHAT_E_TOO_MANY_CONNECTIONS. */
int room_may_open(const room_kind *k, int64_t user, size_t sockets, size_t mine);

/* Whether a socket may post a new message: CHAT_OK, CHAT_E_NOT_JOINED (send
 * join_room first) or CHAT_E_DM_CLOSED. */
int room_may_post(const room_kind *k, int joined);

/* Whether a socket may ask to delete a message (before it is looked up): CHAT_OK
 * or CHAT_E_NOT_JOINED. */
int room_may_ask_delete(int joined);

/* Whether a user with `role` may delete any message, not only their own: 1 or 0. */
int room_may_delete_any(room_role role);

/* Whether `actor` (with `role`) may delete a message by `author`: CHAT_OK or
 * CHAT_E_FORBIDDEN. */
int room_may_delete(int64_t actor, room_role role, int64_t author);

/* Whether `actor` may edit a message by `author`: CHAT_OK or CHAT_E_NOT_AUTHOR,
 * whatever the actor's role. */
int room_may_edit(int64_t actor, int64_t author);

/* Whether a new message may reply to `reply_to` in a room whose next seq is
 * next_seq (its messages are 1..next_seq - 1): CHAT_OK or CHAT_E_REPLY_NOT_FOUND. */
int room_may_reply(int64_t reply_to, int64_t next_seq);

/* What a react (add) or unreact (!add) of one emoji does to a message, given
 * storage's facts: whether the emoji is on it (present), whether this user put it
 * there (mine), how many distinct emoji it has (distinct) and how many this user
 * put on it (my_count). */
typedef enum {
  ROOM_REACT_APPLY, /* store it and tell the room (reactions_changed) */
  ROOM_REACT_NONE   /* nothing to change (yours already, or not yours to remove) */
} room_react;

/* ROOM_REACT_APPLY, ROOM_REACT_NONE, or a refusal: CHAT_E_REACTIONS_FULL (a new
 * emoji past CHAT_REACTIONS_DISTINCT_MAX) or CHAT_E_REACTION_LIMIT (past
 * CHAT_REACTIONS_PER_USER_MAX of this user's). */
int room_reaction_decide(int add, int present, int mine, int64_t distinct, int64_t my_count);

/* What one flush costs the busiest object it passes through, in sends: a room with
 * `joined` joined sockets, relay_joined[j] of them held by relay j (chat_limits.h,
 * relays), sends to its own sockets and one RPC to each relay that holds any
 * (counted as a send each), and each relay sends to its share. The larger of the
 * room's sends and the biggest share: with no relays, `joined`. */
size_t room_fanout_sends(size_t joined, const size_t relay_joined[CHAT_RELAYS]);

/* How long after a flush the next one may come, in ms, in a room whose flush costs
 * `joined` sends (room_fanout_sends; cost-aware coalescing, chat_limits.h
 * CHAT_SEND_BUDGET_PER_SECOND): joined / budget seconds, between
 * CHAT_FLUSH_INTERVAL_MS and CHAT_FLUSH_INTERVAL_MAX_MS. */
double room_flush_interval(size_t joined);

/* The same for a flush that carries only presence and typing frames: joined /
 * CHAT_PRESENCE_SENDS_PER_SECOND seconds, at least room_flush_interval(joined), at
 * most CHAT_PRESENCE_INTERVAL_MAX_MS. In ms. */
double room_presence_interval(size_t joined);

/* What a frame from a socket costs, and what happens past the limits. */
typedef enum {
  ROOM_ADMIT,  /* a rate token was taken: act on the frame */
  ROOM_REFUSE, /* no rate token; a flood token was taken: refuse with rate_limited */
  ROOM_EVICT   /* neither: close the socket with CHAT_CLOSE_POLICY */
} room_admission;

/* One frame of a user at now_ms against their buckets (rate: `burst` tokens,
 * `per_second` back; flood: CHAT_FLOOD_*), which it updates. The frame costs
 * `cost` rate tokens (room_frame_cost). */
room_admission room_admit_frame(ratelimit_bucket *rate, ratelimit_bucket *flood, double cost, double burst,
                                double per_second, double now_ms);

/* The rate tokens a frame of len bytes costs: one per started
 * CHAT_FRAME_TOKEN_BYTES (chat_limits.h), at least one; one for a frame past
 * CHAT_FRAME_MAX, which is refused without being read. */
double room_frame_cost(size_t len);

/* Whether the room takes one more new message now (load shedding: a token of its
 * bucket, `burst` and `per_second`, is taken): 1, or 0 for rate_limited. */
int room_accepts_message(ratelimit_bucket *room_rate, double burst, double per_second, double now_ms);

/* Whether a user with no socket left may be forgotten at now_ms: both their
 * buckets (rate: `burst`, `per_second`) would be full again, as a new user's are. */
int room_limits_refilled(const ratelimit_bucket *rate, const ratelimit_bucket *flood, double burst,
                         double per_second, double now_ms);

/* Sockets that have not joined by now_ms and opened at or before the time this
 * returns are overdue (CHAT_UNJOINED_TIMEOUT_MS). */
double room_unjoined_overdue_before(double now_ms);

/* The frame type of messages in a room of this kind ("new_chat_message" or
 * "new_direct_message"), and the key of its id in frames ("room_id" or
 * "conversation_id"). Static strings. */
const char *room_message_type(const room_kind *k);
const char *room_id_key(const room_kind *k);

#endif
