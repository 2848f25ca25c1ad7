#include "room_rules.h"

#include <string.h>

#include "chat_error.h"
#include "chat_frames.h"
#include "chat_limits.h"

int room_role_parse(const char *name, size_t len) {
  if (len == 4 && memcmp(name, "USER", 4) == 0) return ROOM_ROLE_USER;
  if (len == 5 && memcmp(name, "ADMIN", 5) == 0) return ROOM_ROLE_ADMIN;
  return -1;
}

const char *room_role_name(room_role role) { return role == ROOM_ROLE_ADMIN ? "ADMIN" : "USER"; }

int room_may_open(const room_kind *k, int64_t user, size_t sockets, size_t mine) {
  if (k->dm && user != k->members[0] && user != k->members[1]) return CHAT_E_NOT_MEMBER;
  if (sockets >= CHAT_ROOM_CONNS_MAX) return CHAT_E_ROOM_FULL;
  if (mine >= CHAT_USER_CONNS_MAX) return CHAT_E_TOO_MANY_CONNECTIONS;
  return CHAT_OK;
}

int room_standing_parse(const char *name) {
  if (strcmp(name, "none") == 0) return ROOM_STANDING_NONE;
  if (strcmp(name, "invited") == 0) return ROOM_STANDING_INVITED;
  if (strcmp(name, "member") == 0) return ROOM_STANDING_MEMBER;
  return -1;
}

const char *room_standing_name(room_standing s) {
  return s == ROOM_STANDING_MEMBER ? "member" : s == ROOM_STANDING_INVITED ? "invited" : "none";
}

int room_may_read(const room_kind *k, int member) {
  return !k->dm && k->is_private && !member ? CHAT_E_NOT_MEMBER : CHAT_OK;
}

int room_may_join(const room_kind *k, room_standing s, size_t members) {
  if (s != ROOM_STANDING_NONE) return CHAT_OK; /* a member, or an invitation already counted */
  if (k->is_private) return CHAT_E_NOT_INVITED;
  return members >= CHAT_ROOM_MEMBERS_MAX ? CHAT_E_MEMBERS_FULL : CHAT_OK;
}

int room_may_leave(room_standing s) { return s == ROOM_STANDING_NONE ? CHAT_E_NOT_MEMBER : CHAT_OK; }

/* The owner of a room, or an ADMIN. */
static int runs_room(int64_t actor, room_role role, int64_t owner) {
  return actor == owner || role == ROOM_ROLE_ADMIN;
}

int room_may_invite(int64_t actor, room_role role, int64_t owner, int64_t target_id, room_standing target,
                    size_t members) {
  if (!runs_room(actor, role, owner)) return CHAT_E_FORBIDDEN;
  if (actor == target_id) return CHAT_E_SELF;
  if (target != ROOM_STANDING_NONE) return CHAT_OK;
  return members >= CHAT_ROOM_MEMBERS_MAX ? CHAT_E_MEMBERS_FULL : CHAT_OK;
}

int room_may_kick(int64_t actor, room_role role, int64_t owner, int64_t target_id, room_standing target) {
  if (actor == target_id) return CHAT_E_SELF;
  if (!runs_room(actor, role, owner) || target_id == owner) return CHAT_E_FORBIDDEN;
  return target == ROOM_STANDING_NONE ? CHAT_E_NOT_MEMBER : CHAT_OK;
}

int room_may_mark_read(int member) { return member ? CHAT_OK : CHAT_E_NOT_MEMBER; }

int64_t room_marker_next(int64_t current, int64_t requested, int64_t last_seq) {
  int64_t next = requested < last_seq ? requested : last_seq;
  return next > current ? next : current;
}

int room_mention_reaches(int64_t person, int64_t author, int member, int blocks_author) {
  return person != author && !blocks_author && member;
}

int room_profile_reaches(int conversation, int member, size_t sockets) {
  return conversation || member || sockets > 0;
}

int room_relay_for(int conversation, int64_t user_id, size_t sockets, size_t from) {
  if (conversation || from == 0 || sockets < from) return -1;
  return (int)(user_id % CHAT_RELAYS);
}

int room_activity_due(double last_ms, double now_ms) { return now_ms - last_ms >= CHAT_ROOM_ACTIVITY_MS; }

int room_may_type(int joined) { return joined ? CHAT_OK : CHAT_E_NOT_JOINED; }

int room_typing_due(double last_ms, double now_ms) { return now_ms - last_ms >= CHAT_TYPING_INTERVAL_MS; }

int room_may_post(const room_kind *k, int joined) {
  if (!joined) return CHAT_E_NOT_JOINED;
  return k->dm && !k->open ? CHAT_E_DM_CLOSED : CHAT_OK;
}

int room_may_ask_delete(int joined) { return joined ? CHAT_OK : CHAT_E_NOT_JOINED; }

int room_may_delete_any(room_role role) { return role == ROOM_ROLE_ADMIN; }

int room_may_delete(int64_t actor, room_role role, int64_t author) {
  return actor == author || room_may_delete_any(role) ? CHAT_OK : CHAT_E_FORBIDDEN;
}

size_t room_fanout_sends(size_t joined, const size_t relay_joined[CHAT_RELAYS]) {
  size_t own = joined, biggest = 0;
  for (size_t j = 0; j < CHAT_RELAYS; j++) {
    if (!relay_joined[j]) continue;
    own -= relay_joined[j] - 1; /* its sockets, for one RPC */
    if (relay_joined[j] > biggest) biggest = relay_joined[j];
  }
  return own > biggest ? own : biggest;
}

double room_flush_interval(size_t joined) {
  double ms = 1000.0 * (double)joined / CHAT_SEND_BUDGET_PER_SECOND;
  return ms < CHAT_FLUSH_INTERVAL_MS ? CHAT_FLUSH_INTERVAL_MS : ms > CHAT_FLUSH_INTERVAL_MAX_MS ? CHAT_FLUSH_INTERVAL_MAX_MS : ms;
}

double room_presence_interval(size_t joined) {
  double ms = 1000.0 * (double)joined / CHAT_PRESENCE_SENDS_PER_SECOND, floor = room_flush_interval(joined);
  return ms < floor ? floor : ms > CHAT_PRESENCE_INTERVAL_MAX_MS ? CHAT_PRESENCE_INTERVAL_MAX_MS : ms;
}

int room_may_edit(int64_t actor, int64_t author) { return actor == author ? CHAT_OK : CHAT_E_NOT_AUTHOR; }

int room_may_reply(int64_t reply_to, int64_t next_seq) {
  return reply_to >= 1 && reply_to < next_seq ? CHAT_OK : CHAT_E_REPLY_NOT_FOUND;
}

int room_reaction_decide(int add, int present, int mine, int64_t distinct, int64_t my_count) {
  if (!add) return mine ? ROOM_REACT_APPLY : ROOM_REACT_NONE;
  if (mine) return ROOM_REACT_NONE;
  if (!present && distinct >= CHAT_REACTIONS_DISTINCT_MAX) return CHAT_E_REACTIONS_FULL;
  if (my_count >= CHAT_REACTIONS_PER_USER_MAX) return CHAT_E_REACTION_LIMIT;
  return ROOM_REACT_APPLY;
}

room_admission room_admit_frame(ratelimit_bucket *rate, ratelimit_bucket *flood, double cost, double burst,
                                double per_second, double now) {
  if (ratelimit_take_n(rate, burst, per_second, now, cost)) return ROOM_ADMIT;
  return ratelimit_take(flood, CHAT_FLOOD_BURST, CHAT_FLOOD_PER_SECOND, now) ? ROOM_REFUSE : ROOM_EVICT;
}

double room_frame_cost(size_t len) {
  /* a frame past CHAT_FRAME_MAX is refused unread: it costs what a small one does */
  if (len <= CHAT_FRAME_TOKEN_BYTES || len > CHAT_FRAME_MAX) return 1.0;
  return (double)((len + CHAT_FRAME_TOKEN_BYTES - 1) / CHAT_FRAME_TOKEN_BYTES);
}

int room_accepts_message(ratelimit_bucket *room_rate, double burst, double per_second, double now) {
  return ratelimit_take(room_rate, burst, per_second, now);
}

int room_limits_refilled(const ratelimit_bucket *rate, const ratelimit_bucket *flood, double burst,
                         double per_second, double now) {
  const double rate_ms = 1000.0 * burst / per_second;
  const double flood_ms = 1000.0 * CHAT_FLOOD_BURST / CHAT_FLOOD_PER_SECOND;
  return now - rate->last_ms >= rate_ms && now - flood->last_ms >= flood_ms;
}

double room_unjoined_overdue_before(double now) { return now - CHAT_UNJOINED_TIMEOUT_MS; }

const char *room_message_type(const room_kind *k) {
  return k->dm ? CHAT_FRAME(new_direct_message) : CHAT_FRAME(new_chat_message);
}

const char *room_id_key(const room_kind *k) { return k->dm ? "conversation_id" : "room_id"; }
