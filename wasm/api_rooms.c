/* Room membership as a core operation (api.h CHAT_OP_MEMBERSHIP): the facts of a
 * join, leave, invite, kick or view read from JSON, the rules in room_rules.h.
 * Shared declarations: api_internal.h. */
#include <string.h>

#include "api_internal.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"
#include "query.h"
#include "room_rules.h"

/* A person in the facts: {"id","username","role"?,"standing"?} (no standing: none). */
typedef struct {
  int64_t id;
  const char *username;
  room_role role;
  room_standing standing;
} person;

static int read_person(const cJSON *o, person *p) {
  const char *name;
  size_t n;
  int rc;
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
  const cJSON *standing = cJSON_GetObjectItemCaseSensitive(o, "standing");
  if (!cJSON_IsObject(o)) return CHAT_E_FIELD_TYPE;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(o, "id"), &p->id)) < 0 ||
      (rc = json_get_string(o, "username", &name, &n)) < 0)
    return rc;
  int r = cJSON_IsString(role) ? room_role_parse(role->valuestring, strlen(role->valuestring)) : ROOM_ROLE_USER;
  int s = cJSON_IsString(standing) ? room_standing_parse(standing->valuestring) : standing ? -1 : ROOM_STANDING_NONE;
  if (r < 0 || s < 0) return CHAT_E_FIELD_TYPE;
  p->username = name;
  p->role = (room_role)r;
  p->standing = (room_standing)s;
  return CHAT_OK;
}

/* room_invite {room: {id, name}, user: {id, username}} for the invitee's personal
 * sockets; "user" is who invites (so a blocker never gets it: NOTIFY_CHECK). */
static char *invite_frame(int64_t room_id, const char *room_name, const person *from) {
  cJSON *f = cJSON_CreateObject(), *room = cJSON_CreateObject(), *user = cJSON_CreateObject();
  char *text = NULL;
  if (f && room && user && json_add_str(f, "type", CHAT_FRAME(room_invite)) >= 0 &&
      json_add_num(room, "id", (double)room_id) >= 0 && json_add_str(room, "name", room_name) >= 0 &&
      json_add_num(user, "id", (double)from->id) >= 0 && json_add_str(user, "username", from->username) >= 0) {
    int rc = json_add_item(f, "room", room);
    room = NULL;
    if (rc >= 0) rc = json_add_item(f, "user", user);
    user = NULL;
    if (rc >= 0) text = cJSON_PrintUnformatted(f);
  }
  cJSON_Delete(room);
  cJSON_Delete(user);
  cJSON_Delete(f);
  return text;
}

int api_op_membership(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL;
  const char *action, *room_name;
  size_t n;
  int64_t room_id, owner, members;
  person actor, target = {0};
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc < 0) return rc;
  const cJSON *room = cJSON_GetObjectItemCaseSensitive(facts, "room");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(facts, "target");
  if ((rc = json_get_string(facts, "action", &action, &n)) < 0 || (rc = read_person(cJSON_GetObjectItemCaseSensitive(facts, "actor"), &actor)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(room, "id"), &room_id)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(room, "owner"), &owner)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(room, "members"), &members)) < 0 ||
      (rc = json_get_string(room, "name", &room_name, &n)) < 0)
    goto done;
  room_kind kind = {0, {0, 0}, 0, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(room, "private"))};
  int has_target = strcmp(action, "invite") == 0 || strcmp(action, "kick") == 0;
  if (has_target && (!t || cJSON_IsNull(t))) {
    rc = CHAT_E_USER_NOT_FOUND;
    goto done;
  }
  if (has_target && (rc = read_person(t, &target)) < 0) goto done;
  const person *who = has_target ? &target : &actor; /* whose standing the action changes */
  room_standing next = who->standing;
  int close = 0;
  char *tell = NULL;
  if (strcmp(action, "join") == 0) {
    if ((rc = room_may_join(&kind, actor.standing, (size_t)members)) >= 0) next = ROOM_STANDING_MEMBER;
  } else if (strcmp(action, "leave") == 0) {
    /* a private room's sockets are its members': leaving one closes them */
    if ((rc = room_may_leave(actor.standing)) >= 0) next = ROOM_STANDING_NONE, close = kind.is_private;
  } else if (strcmp(action, "invite") == 0) {
    rc = room_may_invite(actor.id, actor.role, owner, target.id, target.standing, (size_t)members);
    if (rc >= 0 && target.standing == ROOM_STANDING_NONE) {
      next = ROOM_STANDING_INVITED;
      if (!(tell = invite_frame(room_id, room_name, &actor))) rc = CHAT_E_NOMEM;
    }
  } else if (strcmp(action, "kick") == 0) {
    if ((rc = room_may_kick(actor.id, actor.role, owner, target.id, target.standing)) >= 0)
      next = ROOM_STANDING_NONE, close = 1;
  } else if (strcmp(action, "view") == 0) {
    rc = room_may_read(&kind, actor.standing == ROOM_STANDING_MEMBER);
  } else {
    rc = CHAT_E_FIELD_TYPE;
  }
  if (rc >= 0) rc = json_add_num(out, "user_id", (double)who->id);
  if (rc >= 0) rc = json_add_str(out, "standing", room_standing_name(next));
  if (rc >= 0) rc = json_add_bool(out, "close", close);
  if (rc >= 0) rc = tell ? json_add_str(out, "tell", tell) : json_add_null(out, "tell");
  cJSON_free(tell);
done:
  cJSON_Delete(facts);
  return rc;
}

int api_op_members_query(const unsigned char *in, size_t len, cJSON *out) {
  query_iter it = {(const char *)in, len, 0};
  const char *key, *val;
  size_t klen, vlen;
  int64_t limit = CHAT_MEMBERS_PAGE, after = 0;
  int has_after = 0, rc;
  while (query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "limit")) {
      if (query_uint(val, vlen, &limit) < 0 || limit < 1 || limit > CHAT_MEMBERS_PAGE_MAX) return CHAT_E_QUERY_INVALID;
    } else if (query_is(key, klen, "after")) {
      if (query_uint(val, vlen, &after) < 0) return CHAT_E_QUERY_INVALID;
      has_after = 1;
    }
  }
  if ((rc = json_add_num(out, "limit", (double)limit)) < 0) return rc;
  return has_after ? json_add_num(out, "after", (double)after) : json_add_null(out, "after");
}

/* mention {room_id, seq, from: {id, username}} for the person's personal sockets,
 * when room_mention_reaches says it reaches them. "user" is the author too, so the
 * hub's NOTIFY_CHECK withholds it from a blocker whatever the room believed. */
int api_op_mention_check(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL, *f = NULL;
  int64_t room_id, seq, who_id;
  person author;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc < 0) return rc;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "room_id"), &room_id)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "seq"), &seq)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "person"), &who_id)) < 0)
    goto done;
  if ((rc = read_person(cJSON_GetObjectItemCaseSensitive(facts, "from"), &author)) < 0) goto done;
  int reaches = room_mention_reaches(who_id, author.id,
                                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "member")),
                                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "blocks_author")));
  if ((rc = json_add_bool(out, "reaches", reaches)) < 0) goto done;
  if (!reaches) {
    rc = json_add_null(out, "frame");
    goto done;
  }
  cJSON *who = cJSON_CreateObject();
  if ((f = cJSON_CreateObject()) && who && json_add_str(f, "type", CHAT_FRAME(mention)) >= 0 &&
      json_add_num(f, "room_id", (double)room_id) >= 0 && json_add_num(f, "seq", (double)seq) >= 0 &&
      json_add_num(who, "id", (double)author.id) >= 0 && json_add_str(who, "username", author.username) >= 0 &&
      json_add_copy(f, "user", who) >= 0) {
    rc = json_add_item(f, "from", who); /* takes who, or frees it */
    who = NULL;
    if (rc >= 0) rc = json_add_text(out, "frame", f);
  } else {
    rc = CHAT_E_NOMEM;
  }
  cJSON_Delete(who);
done:
  cJSON_Delete(f);
  cJSON_Delete(facts);
  return rc;
}

/* room_activity {room_id, last_seq, unread, mentions}: a room's counts for one of
 * its members, for their personal sockets. */
int api_op_room_activity(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL;
  static const char *const fields[] = {"room_id", "last_seq", "unread", "mentions"};
  int64_t v;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc >= 0) rc = json_add_str(out, "type", CHAT_FRAME(room_activity));
  for (size_t i = 0; rc >= 0 && i < sizeof fields / sizeof *fields; i++)
    if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, fields[i]), &v)) >= 0)
      rc = json_add_num(out, fields[i], (double)v);
  cJSON_Delete(facts);
  return rc;
}

/* {"reaches": bool}: whether a user_updated about someone is told here
 * (room_profile_reaches), from the room's facts about them. */
int api_op_profile_reaches(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL;
  int64_t sockets = 0;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc < 0) return rc;
  const cJSON *conv = cJSON_GetObjectItemCaseSensitive(facts, "conversation");
  const cJSON *member = cJSON_GetObjectItemCaseSensitive(facts, "member");
  if (!cJSON_IsBool(conv) || !cJSON_IsBool(member)) rc = CHAT_E_FIELD_TYPE;
  else rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "sockets"), &sockets);
  if (rc >= 0)
    rc = json_add_bool(out, "reaches", room_profile_reaches(cJSON_IsTrue(conv), cJSON_IsTrue(member), (size_t)sockets));
  cJSON_Delete(facts);
  return rc;
}

/* {"relay": j | null}: which relay object takes a new socket (room_relay_for),
 * from the object's facts; "from", when given (tests only), replaces
 * CHAT_RELAY_FROM and is at least 1. */
int api_op_relay_route(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL;
  int64_t user = 0, sockets = 0, from = CHAT_RELAY_FROM;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc < 0) return rc;
  const cJSON *conv = cJSON_GetObjectItemCaseSensitive(facts, "conversation");
  const cJSON *over = cJSON_GetObjectItemCaseSensitive(facts, "from");
  if (!cJSON_IsBool(conv)) rc = conv ? CHAT_E_FIELD_TYPE : CHAT_E_FIELD_MISSING;
  else if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "user_id"), &user)) >= 0 &&
           (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "sockets"), &sockets)) >= 0 &&
           over && (rc = json_get_uint53(over, &from)) >= 0 && from < 1)
    rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) {
    int j = room_relay_for(cJSON_IsTrue(conv), user, (size_t)sockets, (size_t)from);
    rc = j < 0 ? json_add_null(out, "relay") : json_add_num(out, "relay", j);
  }
  cJSON_Delete(facts);
  return rc;
}
