#include "api.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "budget.h"
#include "chat_alloc.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"
#include "moderation.h"
#include "query.h"
#include "ratelimit.h"
#include "room.h"
#include "social.h"
#include "utf8.h"

int api_init(void) { return auth_init(); }

/* Reads {username, password} from a request body and checks the username. */
typedef struct {
  cJSON *root;
  const char *username, *password;
  size_t username_len, password_len;
  char key[CHAT_USERNAME_MAX + 1];
  char skeleton[AUTH_SKELETON_BYTES];
} credentials;

static int read_credentials(const unsigned char *in, size_t len, credentials *c) {
  int rc = json_parse_object(in, len, &c->root);
  if (rc < 0) return rc;
  if ((rc = json_get_string(c->root, "username", &c->username, &c->username_len)) < 0 ||
      (rc = json_get_string(c->root, "password", &c->password, &c->password_len)) < 0 ||
      (rc = auth_check_username(c->username, c->username_len, c->key)) < 0 ||
      (rc = auth_username_skeleton(c->username, c->username_len, c->skeleton)) < 0) {
    cJSON_Delete(c->root);
    c->root = NULL;
  }
  return rc;
}

/* SIGNUP and SIGNUP_CHECK: the rules apply to the password's NFKC form, which is
 * what is hashed (auth.h). */
static int op_signup(const unsigned char *in, size_t len, int hash_it, cJSON *out) {
  credentials c = {0};
  char hash[AUTH_HASH_STR_BYTES], pw[CHAT_PASSWORD_MAX];
  size_t pw_len = 0;
  int rc = read_credentials(in, len, &c);
  if (rc < 0) return rc;
  if ((rc = auth_normalize_password(c.password, c.password_len, pw, &pw_len)) >= 0 &&
      (rc = auth_check_password(pw, pw_len)) >= 0 && !hash_it) {
    if ((rc = json_add_str(out, "username_key", c.key)) >= 0)
      rc = json_add_str(out, "username_skeleton", c.skeleton);
    goto done;
  }
  if (rc >= 0 && (rc = auth_hash_password(pw, pw_len, auth_default_params(), hash)) >= 0 &&
      (rc = json_add_str(out, "username", c.username)) >= 0 &&
      (rc = json_add_str(out, "username_key", c.key)) >= 0 &&
      (rc = json_add_str(out, "username_skeleton", c.skeleton)) >= 0)
    rc = json_add_str(out, "password_hash", hash);
done:
  sodium_memzero(pw, sizeof pw);
  cJSON_Delete(c.root);
  return rc;
}

static int op_login_begin(const unsigned char *in, size_t len, cJSON *out) {
  credentials c = {0};
  int rc = read_credentials(in, len, &c);
  if (rc < 0) return rc;
  rc = json_add_str(out, "username_key", c.key);
  cJSON_Delete(c.root);
  return rc;
}

/* LOGIN_VERIFY: the stored hash is of the password's NFKC form unless aux says
 * "password_nfkc": false (a legacy hash, of the password as typed: auth.h); a
 * legacy hash that verifies is answered with a rehash of the NFKC form. */
static int op_login_verify(const unsigned char *in, size_t len, const unsigned char *aux,
                           size_t aux_len, cJSON *out) {
  credentials c = {0};
  cJSON *facts = NULL;
  const char *stored = NULL;
  size_t stored_len = 0, pw_len = 0;
  char pw[CHAT_PASSWORD_MAX];
  int rehash = 0, legacy = 0;
  int rc = read_credentials(in, len, &c);
  if (rc < 0) return rc;
  if ((rc = json_parse_object(aux, aux_len, &facts)) < 0) goto done;
  rc = json_get_string(facts, "password_hash", &stored, &stored_len);
  if (rc == CHAT_E_FIELD_MISSING) stored = NULL; /* no such user */
  else if (rc < 0) goto done;
  const cJSON *nfkc = cJSON_GetObjectItemCaseSensitive(facts, "password_nfkc");
  if (nfkc && !cJSON_IsBool(nfkc)) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  legacy = stored && cJSON_IsFalse(nfkc);
  /* Bounds the work before hashing: no password whose NFKC form is over
   * CHAT_PASSWORD_MAX can be stored, and the normalisation is linear. */
  if ((rc = auth_normalize_password(c.password, c.password_len, pw, &pw_len)) < 0) goto done;
  if ((rc = legacy ? auth_verify_password(c.password, c.password_len, stored,
                                          auth_default_params(), &rehash)
                   : auth_verify_password(pw, pw_len, stored, auth_default_params(), &rehash)) < 0)
    goto done;
  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(facts, "banned"))) {
    rc = CHAT_E_BANNED;
    goto done;
  }
  if (rehash || legacy) {
    char hash[AUTH_HASH_STR_BYTES];
    if ((rc = auth_hash_password(pw, pw_len, auth_default_params(), hash)) < 0) goto done;
    rc = json_add_str(out, "rehash", hash);
  } else {
    rc = json_add_null(out, "rehash");
  }
  if (rc >= 0) rc = json_add_str(out, "username_skeleton", c.skeleton);
done:
  sodium_memzero(pw, sizeof pw);
  cJSON_Delete(facts);
  cJSON_Delete(c.root);
  return rc;
}

static int op_session_new(double now_ms, cJSON *out) {
  char token[AUTH_TOKEN_STR_BYTES], hash[AUTH_TOKEN_HASH_HEX_BYTES];
  int rc = auth_new_token(token, hash);
  if (rc >= 0 && (rc = json_add_str(out, "token", token)) >= 0 &&
      (rc = json_add_str(out, "token_hash", hash)) >= 0)
    rc = json_add_num(out, "expires_at", now_ms + CHAT_SESSION_TTL_MS);
  sodium_memzero(token, sizeof token);
  return rc;
}

static int op_token(int op, const unsigned char *in, size_t len, cJSON *out) {
  char hash[AUTH_TOKEN_HASH_HEX_BYTES];
  int rc = op == CHAT_OP_BEARER ? auth_parse_bearer((const char *)in, len, hash)
                                : auth_parse_ws_protocol((const char *)in, len, hash);
  if (rc < 0) return rc;
  if ((rc = json_add_str(out, "token_hash", hash)) < 0) return rc;
  return op == CHAT_OP_WS_PROTOCOL ? json_add_str(out, "protocol", CHAT_WS_PROTOCOL) : CHAT_OK;
}

/* The greeting on a new socket: {"type":"connection","protocol","user":{id,username,role}}. */
static int op_connection(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *user = NULL;
  const char *s;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &user);
  if (rc < 0) return rc;
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(user, "id");
  if (!cJSON_IsNumber(id) || (rc = json_get_string(user, "username", &s, &n)) < 0 ||
      (rc = json_get_string(user, "role", &s, &n)) < 0) {
    cJSON_Delete(user);
    return rc < 0 ? rc : CHAT_E_FIELD_TYPE;
  }
  if ((rc = json_add_str(out, "type", CHAT_FRAME(connection))) >= 0 &&
      (rc = json_add_str(out, "protocol", CHAT_WS_PROTOCOL)) >= 0) {
    return json_add_item(out, "user", user); /* out owns user now */
  }
  cJSON_Delete(user);
  return rc;
}

/* Fills out with an error frame for code, echoing ref when there is one. */
static int error_frame(cJSON *out, int code, const cJSON *ref) {
  int rc;
  if ((rc = json_add_str(out, "type", CHAT_FRAME(error))) < 0 ||
      (rc = json_add_str(out, "code", chat_error_name(code))) < 0 ||
      (rc = json_add_str(out, "message", chat_error_message(code))) < 0)
    return rc;
  return ref ? json_add_copy(out, "ref", ref) : CHAT_OK;
}

/* Reads {"tokens","last_ms","started"} into a bucket (a new, full one when absent). */
static ratelimit_bucket read_bucket(const cJSON *o) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tokens"), *l = cJSON_GetObjectItemCaseSensitive(o, "last_ms");
  ratelimit_bucket b = {cJSON_IsNumber(t) ? t->valuedouble : 0, cJSON_IsNumber(l) ? l->valuedouble : 0,
                        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "started"))};
  return b;
}

static int add_bucket(cJSON *out, const char *key, ratelimit_bucket b) {
  cJSON *o = cJSON_CreateObject();
  if (!o || json_add_num(o, "tokens", b.tokens) < 0 || json_add_num(o, "last_ms", b.last_ms) < 0 ||
      json_add_bool(o, "started", b.started) < 0) {
    cJSON_Delete(o);
    return CHAT_E_NOMEM;
  }
  return json_add_item(out, key, o);
}

static int user_frame_reply(const unsigned char *in, size_t len, int limited, cJSON *out);

/* A frame on a personal socket: "ping" is answered with "pong"; later issues add
 * friend and DM notifications. With aux {"bucket"} (the socket's rate bucket, as
 * the last call left it, or null) the frame first takes a token of the per-user
 * rate (CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, as in rooms); without one it is
 * refused with rate_limited (echoing its ref), and the answer is
 * {"reply": frame text, "bucket"} for the shell to keep. */
static int op_user_frame(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                         double now, cJSON *out) {
  if (!aux_len) return user_frame_reply(in, len, 0, out);
  cJSON *f = NULL, *reply = cJSON_CreateObject();
  char *text = NULL;
  int rc = reply ? json_parse_object(aux, aux_len, &f) : CHAT_E_NOMEM;
  if (rc >= 0) {
    ratelimit_bucket b = read_bucket(cJSON_GetObjectItemCaseSensitive(f, "bucket"));
    int limited = !ratelimit_take(&b, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, now);
    if ((rc = user_frame_reply(in, len, limited, reply)) >= 0)
      rc = (text = cJSON_PrintUnformatted(reply)) ? json_add_str(out, "reply", text) : CHAT_E_NOMEM;
    if (rc >= 0) rc = add_bucket(out, "bucket", b);
  }
  cJSON_free(text);
  cJSON_Delete(reply);
  cJSON_Delete(f);
  return rc;
}

static int user_frame_reply(const unsigned char *in, size_t len, int limited, cJSON *out) {
  cJSON *frame = NULL;
  const cJSON *ref = NULL;
  const char *type;
  size_t n;
  int rc = len > CHAT_FRAME_MAX ? CHAT_E_FRAME_TOO_LARGE : json_parse_object(in, len, &frame);
  if (rc == CHAT_E_NOMEM) return rc;
  if (rc >= 0) {
    ref = cJSON_GetObjectItemCaseSensitive(frame, "ref");
    if (ref && (!cJSON_IsString(ref) || strlen(ref->valuestring) > CHAT_REF_MAX)) {
      ref = NULL;
      rc = CHAT_E_REF_INVALID;
    }
  }
  if (rc >= 0 && limited) rc = CHAT_E_RATE_LIMITED;
  if (rc >= 0) rc = json_get_string(frame, "type", &type, &n);
  if (rc >= 0) {
    if (strcmp(type, CHAT_FRAME(ping)) == 0) {
      rc = json_add_str(out, "type", CHAT_FRAME(pong));
      if (rc >= 0 && ref) rc = json_add_copy(out, "ref", ref);
      cJSON_Delete(frame);
      return rc;
    }
    rc = CHAT_E_UNKNOWN_TYPE;
  }
  rc = error_frame(out, rc, ref);
  cJSON_Delete(frame);
  return rc;
}

static int op_room_create(const unsigned char *in, size_t len, cJSON *out) {
  cJSON *body = NULL;
  const char *name;
  size_t n;
  char key[4 * CHAT_ROOM_NAME_MAX + 1];
  int rc = json_parse_object(in, len, &body);
  if (rc >= 0 && (rc = json_get_string(body, "name", &name, &n)) >= 0 &&
      (rc = room_check_name(name, n, key)) >= 0 && (rc = json_add_str(out, "name", name)) >= 0)
    rc = json_add_str(out, "name_key", key);
  cJSON_Delete(body);
  return rc;
}

/* "limit=K&cursor=A.I": K rooms (1..CHAT_ROOMS_PAGE_MAX, default CHAT_ROOMS_PAGE),
 * after the room with last activity A and id I (the previous page's last room).
 * Other keys are ignored. */
static int op_rooms_query(const unsigned char *in, size_t len, cJSON *out) {
  query_iter it = {(const char *)in, len, 0};
  const char *key, *val, *dot;
  size_t klen, vlen;
  int64_t limit = CHAT_ROOMS_PAGE, activity = 0, id = 0;
  int has_cursor = 0, rc;
  while (query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "limit")) {
      if (query_uint(val, vlen, &limit) < 0 || limit < 1 || limit > CHAT_ROOMS_PAGE_MAX)
        return CHAT_E_QUERY_INVALID;
    } else if (query_is(key, klen, "cursor")) {
      if (!(dot = memchr(val, '.', vlen)) || query_uint(val, (size_t)(dot - val), &activity) < 0 ||
          query_uint(dot + 1, (size_t)(val + vlen - dot - 1), &id) < 0)
        return CHAT_E_QUERY_INVALID;
      has_cursor = 1;
    }
  }
  if ((rc = json_add_num(out, "limit", (double)limit)) < 0) return rc;
  if (!has_cursor) return json_add_null(out, "cursor");
  cJSON *c = cJSON_AddObjectToObject(out, "cursor");
  if (!c || (rc = json_add_num(c, "activity", (double)activity)) < 0) return CHAT_E_NOMEM;
  return json_add_num(c, "id", (double)id);
}

/* Shapes a page of the room directory; the row after `limit` only says there is a
 * next page, whose cursor is the last room shown. */
static int op_rooms_page(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL, *list;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc < 0) return rc;
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(facts, "rows");
  const cJSON *lim = cJSON_GetObjectItemCaseSensitive(facts, "limit");
  if (!cJSON_IsArray(rows) || !cJSON_IsNumber(lim)) {
    cJSON_Delete(facts);
    return CHAT_E_FIELD_TYPE;
  }
  int limit = lim->valueint, n = cJSON_GetArraySize(rows), i = 0;
  double last_activity = 0, last_id = 0;
  if (!(list = cJSON_AddArrayToObject(out, "rooms"))) rc = CHAT_E_NOMEM;
  for (const cJSON *row = rows->child; rc >= 0 && row && i < limit; row = row->next, i++) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(row, "last_activity_at");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(row, "created_at");
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(row, "creator_id");
    const char *name, *creator;
    size_t len;
    if (!cJSON_IsNumber(id) || !cJSON_IsNumber(act) || !cJSON_IsNumber(created) || !cJSON_IsNumber(cid) ||
        json_get_string(row, "name", &name, &len) < 0 ||
        json_get_string(row, "creator_username", &creator, &len) < 0) {
      rc = CHAT_E_FIELD_TYPE;
      break;
    }
    cJSON *r = cJSON_CreateObject(), *who = cJSON_CreateObject();
    if ((rc = json_push(list, r)) < 0 || (rc = json_add_num(r, "id", id->valuedouble)) < 0 ||
        (rc = json_add_str(r, "name", name)) < 0) {
      cJSON_Delete(who); /* r, if any, belongs to the list */
      break;
    }
    if ((rc = json_add_item(r, "creator", who)) < 0) break;
    if ((rc = json_add_num(who, "id", cid->valuedouble)) < 0 ||
        (rc = json_add_str(who, "username", creator)) < 0 ||
        (rc = json_add_num(r, "created_at", created->valuedouble)) < 0 ||
        (rc = json_add_num(r, "last_activity_at", act->valuedouble)) < 0)
      break;
    last_activity = act->valuedouble;
    last_id = id->valuedouble;
  }
  if (rc >= 0) {
    char cursor[48];
    snprintf(cursor, sizeof cursor, "%.0f.%.0f", last_activity, last_id);
    rc = n > limit ? json_add_str(out, "next_cursor", cursor) : json_add_null(out, "next_cursor");
  }
  cJSON_Delete(facts);
  return rc;
}

static int op_user_target(const unsigned char *in, size_t len, cJSON *out) {
  cJSON *body = NULL;
  const char *name;
  size_t n;
  char key[CHAT_USERNAME_MAX + 1];
  int rc = json_parse_object(in, len, &body);
  if (rc >= 0 && (rc = json_get_string(body, "username", &name, &n)) >= 0)
    rc = auth_check_username(name, n, key) < 0 ? CHAT_E_USER_NOT_FOUND : json_add_str(out, "username_key", key);
  cJSON_Delete(body);
  return rc;
}

/* Reads {"id","username"} into *id and *name (pointing into the tree). */
static int read_user_ref(const cJSON *u, double *id, const char **name) {
  const cJSON *i = cJSON_GetObjectItemCaseSensitive(u, "id");
  size_t n;
  if (!cJSON_IsObject(u) || !cJSON_IsNumber(i)) return CHAT_E_FIELD_TYPE;
  *id = i->valuedouble;
  return json_get_string(u, "username", name, &n);
}

/* A friendship or block decision (social.h) from the shell's facts. */
/* The budgets a social change uses (social_spends), as the shell must check them
 * before storing it: [{"budget", "held"}] for a count budget (how many the user
 * holds now: aux "held": {"friends", "their_friends", "pending_requests",
 * "blocks"}, each 0 when absent; a friendship counts the larger of the two
 * friend lists), [{"budget"}] for the hour's friend actions when someone is told. */
static int add_spends(cJSON *out, const cJSON *f, const social_facts *before, const social_facts *after,
                      social_tell tell) {
  cJSON *list = cJSON_CreateArray();
  if (!list) return CHAT_E_NOMEM;
  int rc = json_add_item(out, "spends", list);
  if (rc < 0) return rc;
  const cJSON *held = cJSON_GetObjectItemCaseSensitive(f, "held");
  int b = social_spends(before, after);
  if (b >= 0) {
    const char *keys[2] = {b == BUDGET_FRIENDS ? "friends" : b == BUDGET_BLOCKS ? "blocks" : "pending_requests",
                           b == BUDGET_FRIENDS ? "their_friends" : NULL};
    double n = 0;
    for (int i = 0; i < 2 && keys[i]; i++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(held, keys[i]);
      if (cJSON_IsNumber(v) && v->valuedouble > n) n = v->valuedouble;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || cJSON_AddItemToArray(list, o) == 0) {
      cJSON_Delete(o);
      return CHAT_E_NOMEM;
    }
    if ((rc = json_add_str(o, "budget", budget_name((budget)b))) < 0 || (rc = json_add_num(o, "held", n)) < 0) return rc;
  }
  if (tell != SOCIAL_TELL_NOTHING) {
    cJSON *o = cJSON_CreateObject();
    if (!o || cJSON_AddItemToArray(list, o) == 0) {
      cJSON_Delete(o);
      return CHAT_E_NOMEM;
    }
    if ((rc = json_add_str(o, "budget", budget_name(BUDGET_FRIEND_ACTIONS))) < 0) return rc;
  }
  return CHAT_OK;
}

static int op_social(const unsigned char *aux, size_t aux_len, cJSON *out) {
  static const char *const actions[] = {"add", "remove", "block", "unblock"};
  cJSON *f = NULL;
  const char *action, *state, *my_name, *their_name;
  double my_id, their_id;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &f), act = -1, st;
  if (rc < 0) return rc;
  const cJSON *them = cJSON_GetObjectItemCaseSensitive(f, "them");
  if ((rc = json_get_string(f, "action", &action, &n)) < 0 ||
      (rc = read_user_ref(cJSON_GetObjectItemCaseSensitive(f, "me"), &my_id, &my_name)) < 0)
    goto done;
  for (int i = 0; i < 4; i++)
    if (strcmp(action, actions[i]) == 0) act = i;
  if (act < 0) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  if (!them || cJSON_IsNull(them)) {
    rc = CHAT_E_USER_NOT_FOUND;
    goto done;
  }
  if ((rc = read_user_ref(them, &their_id, &their_name)) < 0 ||
      (rc = json_get_string(f, "state", &state, &n)) < 0)
    goto done;
  if ((st = social_state_parse(state)) < 0) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  social_facts facts = {(social_state)st, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "i_block")),
                        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "they_block"))}, next;
  social_tell tell;
  if ((rc = social_apply((social_action)act, my_id == their_id, &facts, &next, &tell)) < 0) goto done;
  if ((rc = json_add_str(out, "state", social_state_name(next.state))) < 0 ||
      (rc = json_add_bool(out, "i_block", next.i_block)) < 0 ||
      (rc = json_add_bool(out, "they_block", next.they_block)) < 0 ||
      (rc = json_add_bool(out, "dm_open", social_dm_open(&next))) < 0 ||
      /* whom I block changed: the shell pushes the new list to my open sockets */
      (rc = json_add_bool(out, "blocks_changed", next.i_block != facts.i_block)) < 0 ||
      (rc = add_spends(out, f, &facts, &next, tell)) < 0)
    goto done;
  if (tell == SOCIAL_TELL_NOTHING) {
    rc = json_add_null(out, "tell");
    goto done;
  }
  /* The frame for the other person's personal socket: what happened, and by whom. */
  cJSON *frame = cJSON_CreateObject(), *who = cJSON_CreateObject();
  char *text = NULL;
  if (!frame || !who || json_add_num(who, "id", my_id) < 0 || json_add_str(who, "username", my_name) < 0) {
    cJSON_Delete(who);
    rc = CHAT_E_NOMEM;
  } else if (json_add_str(frame, "type", social_tell_type(tell)) < 0 ||
             json_add_item(frame, "user", who) < 0 || !(text = cJSON_PrintUnformatted(frame))) {
    if (!cJSON_GetObjectItemCaseSensitive(frame, "user") && !cJSON_GetObjectItemCaseSensitive(frame, "type"))
      cJSON_Delete(who); /* add_item frees who itself when it fails */
    rc = CHAT_E_NOMEM;
  } else {
    rc = json_add_str(out, "tell", text);
  }
  cJSON_Delete(frame);
  cJSON_free(text);
done:
  cJSON_Delete(f);
  return rc;
}

/* May I start (or write in) a direct-message conversation with them? */
static int op_dm_check(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL;
  const char *state, *name;
  double my_id, their_id;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &f), st;
  if (rc < 0) return rc;
  const cJSON *them = cJSON_GetObjectItemCaseSensitive(f, "them");
  if (!them || cJSON_IsNull(them)) rc = CHAT_E_USER_NOT_FOUND;
  else if ((rc = read_user_ref(cJSON_GetObjectItemCaseSensitive(f, "me"), &my_id, &name)) >= 0 &&
           (rc = read_user_ref(them, &their_id, &name)) >= 0 &&
           (rc = json_get_string(f, "state", &state, &n)) >= 0) {
    social_facts facts = {SOCIAL_NONE, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "i_block")),
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "they_block"))};
    if ((st = social_state_parse(state)) < 0) rc = CHAT_E_FIELD_TYPE;
    else if (my_id == their_id) rc = CHAT_E_SELF;
    else if (facts.state = (social_state)st, !social_dm_open(&facts)) rc = CHAT_E_NOT_FRIENDS;
    else rc = json_add_bool(out, "open", 1);
  }
  cJSON_Delete(f);
  return rc;
}

static int op_mod_request(const unsigned char *in, size_t len, cJSON *out) {
  cJSON *body = NULL;
  const char *name, *reason = NULL;
  size_t n, rlen = 0;
  char key[CHAT_USERNAME_MAX + 1];
  int rc = json_parse_object(in, len, &body);
  if (rc >= 0 && (rc = json_get_string(body, "username", &name, &n)) >= 0 &&
      auth_check_username(name, n, key) < 0)
    rc = CHAT_E_USER_NOT_FOUND;
  const cJSON *ip = rc >= 0 ? cJSON_GetObjectItemCaseSensitive(body, "ip") : NULL;
  if (ip && !cJSON_IsBool(ip) && !cJSON_IsNull(ip)) rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) {
    int r = json_get_string(body, "reason", &reason, &rlen);
    if (r == CHAT_E_FIELD_MISSING) reason = NULL;
    else if (r < 0) rc = r;
    else if (utf8_count((const unsigned char *)reason, rlen) > CHAT_REASON_MAX) rc = CHAT_E_REASON_TOO_LONG;
  }
  if (rc >= 0 && (rc = json_add_str(out, "username_key", key)) >= 0 &&
      (rc = json_add_bool(out, "ip", cJSON_IsTrue(ip))) >= 0)
    rc = reason ? json_add_str(out, "reason", reason) : json_add_null(out, "reason");
  cJSON_Delete(body);
  return rc;
}

static int op_moderate(const unsigned char *aux, size_t aux_len, cJSON *out) {
  static const char *const actions[] = {"ban", "unban", "promote"};
  cJSON *f = NULL;
  const char *action, *actor_role, *target_role;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &f), act = -1;
  if (rc < 0) return rc;
  const cJSON *actor = cJSON_GetObjectItemCaseSensitive(f, "actor");
  const cJSON *target = cJSON_GetObjectItemCaseSensitive(f, "target");
  if ((rc = json_get_string(f, "action", &action, &n)) >= 0)
    for (int i = 0; i < 3; i++)
      if (strcmp(action, actions[i]) == 0) act = i;
  if (rc >= 0 && act < 0) rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) rc = json_get_string(actor, "role", &actor_role, &n);
  if (rc >= 0 && strcmp(actor_role, "ADMIN") != 0) rc = CHAT_E_ADMIN_ONLY; /* before revealing users */
  if (rc >= 0 && (!target || cJSON_IsNull(target))) rc = CHAT_E_USER_NOT_FOUND;
  if (rc >= 0 && (rc = json_get_string(target, "role", &target_role, &n)) >= 0) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(actor, "id"), *t = cJSON_GetObjectItemCaseSensitive(target, "id");
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(t)) {
      rc = CHAT_E_FIELD_TYPE;
    } else {
      mod_facts facts = {1, a->valuedouble == t->valuedouble, strcmp(target_role, "ADMIN") == 0,
                         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(target, "banned"))};
      if ((rc = moderation_decide((mod_action)act, &facts)) >= 0) rc = json_add_bool(out, "ok", 1);
    }
  }
  cJSON_Delete(f);
  return rc;
}

static throttle_counter read_counter(const cJSON *o) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "count");
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window_start");
  throttle_counter t = {cJSON_IsNumber(c) ? c->valuedouble : 0, cJSON_IsNumber(w) ? w->valuedouble : 0};
  return t;
}

static int add_counter(cJSON *out, const char *key, throttle_counter c) {
  cJSON *o = cJSON_CreateObject();
  if (!o || json_add_num(o, "count", c.count) < 0 || json_add_num(o, "window_start", c.window_start) < 0) {
    cJSON_Delete(o);
    return CHAT_E_NOMEM;
  }
  return json_add_item(out, key, o);
}

/* CHAT_OP_BUDGET: one use of a rate budget, or whether one more fits a count
 * budget (budget.h). A refusal is an answer ("allowed": false, naming the budget),
 * so that the shell can say which limit was reached. */
static int op_budget(const unsigned char *aux, size_t aux_len, double now, cJSON *out) {
  cJSON *f = NULL;
  const char *name;
  size_t n;
  int64_t held = 0;
  double retry = -1;
  int rc = json_parse_object(aux, aux_len, &f), b;
  if (rc < 0) return rc;
  if ((rc = json_get_string(f, "budget", &name, &n)) < 0) goto done;
  if ((b = budget_parse(name)) < 0) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  budget_counter c = {0, 0};
  if (budget_window_ms((budget)b) > 0) {
    throttle_counter t = read_counter(cJSON_GetObjectItemCaseSensitive(f, "counter"));
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(f, "scale");
    int64_t scale = 1;
    c = (budget_counter){t.count, t.window_start};
    if (!sc || (rc = json_get_uint53(sc, &scale)) >= 0) rc = budget_spend((budget)b, scale, &c, now, &retry);
  } else if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(f, "held"), &held)) >= 0) {
    rc = budget_allows((budget)b, held);
  }
  if (rc == CHAT_E_LIMIT_REACHED) {
    if ((rc = json_add_bool(out, "allowed", 0)) >= 0 && (rc = json_add_str(out, "budget", name)) >= 0 &&
        (rc = json_add_num(out, "limit", (double)budget_limit((budget)b))) >= 0)
      rc = retry >= 0 ? json_add_num(out, "retry_after_ms", retry) : json_add_null(out, "retry_after_ms");
  } else if (rc >= 0 && (rc = json_add_bool(out, "allowed", 1)) >= 0 && budget_window_ms((budget)b) > 0) {
    rc = add_counter(out, "counter", (throttle_counter){c.count, c.window_start});
  }
done:
  cJSON_Delete(f);
  return rc;
}

static int op_throttle(const unsigned char *aux, size_t aux_len, double now, cJSON *out) {
  cJSON *f = NULL;
  const char *step;
  size_t n;
  int rc = json_parse_object(aux, aux_len, &f);
  if (rc < 0) return rc;
  throttle_counter user = read_counter(cJSON_GetObjectItemCaseSensitive(f, "user"));
  throttle_counter ip = read_counter(cJSON_GetObjectItemCaseSensitive(f, "ip"));
  if ((rc = json_get_string(f, "step", &step, &n)) >= 0) {
    if (strcmp(step, "check") == 0) {
      double wait;
      int allowed = throttle_check(&user, &ip, now, &wait) == CHAT_OK;
      if ((rc = json_add_bool(out, "allowed", allowed)) >= 0) rc = json_add_num(out, "retry_after_ms", wait);
    } else if (strcmp(step, "fail") == 0) {
      if ((rc = add_counter(out, "user", throttle_fail(user, now))) >= 0)
        rc = add_counter(out, "ip", throttle_fail(ip, now));
    } else if (strcmp(step, "reserve") == 0) {
      double wait;
      int allowed = throttle_reserve(&user, &ip, now, &wait) == CHAT_OK;
      if ((rc = json_add_bool(out, "allowed", allowed)) >= 0 && (rc = json_add_num(out, "retry_after_ms", wait)) >= 0 &&
          (rc = add_counter(out, "user", user)) >= 0)
        rc = add_counter(out, "ip", ip);
    } else if (strcmp(step, "success") == 0) {
      const cJSON *w = cJSON_GetObjectItemCaseSensitive(f, "ip_window");
      if (!cJSON_IsNumber(w)) {
        rc = CHAT_E_FIELD_TYPE;
      } else {
        throttle_succeed(&user, &ip, w->valuedouble);
        if ((rc = add_counter(out, "user", user)) >= 0) rc = add_counter(out, "ip", ip);
      }
    } else {
      rc = CHAT_E_FIELD_TYPE;
    }
  }
  cJSON_Delete(f);
  return rc;
}

/* Reads {"blocks": [user ids]} (at most CHAT_BLOCKS_MAX) into a new array that the
 * caller releases with chat_free (*ids NULL when there are none). */
static int read_blocks(const cJSON *o, int64_t **ids, size_t *n) {
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "blocks"), *it;
  *ids = NULL;
  *n = 0;
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > CHAT_BLOCKS_MAX) return CHAT_E_FIELD_TYPE;
  if (cJSON_GetArraySize(list) == 0) return CHAT_OK;
  if (!(*ids = chat_malloc((size_t)cJSON_GetArraySize(list) * sizeof **ids))) return CHAT_E_NOMEM;
  cJSON_ArrayForEach(it, list) {
    if (json_get_uint53(it, &(*ids)[*n]) < 0) {
      chat_free(*ids);
      *ids = NULL;
      *n = 0;
      return CHAT_E_FIELD_TYPE;
    }
    (*n)++;
  }
  return CHAT_OK;
}

/* One row of the conversation list, as the viewer (who blocks `blocks`) sees it. */
static int dms_row(const cJSON *row, const int64_t *blocks, size_t n_blocks, cJSON *list) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
  const cJSON *seq = cJSON_GetObjectItemCaseSensitive(row, "last_seq");
  const cJSON *unread = cJSON_GetObjectItemCaseSensitive(row, "unread");
  const char *with_name, *body;
  size_t len;
  int64_t with_id, author;
  int rc;
  if (!cJSON_IsNumber(id) || !cJSON_IsNumber(unread) ||
      json_get_uint53(cJSON_GetObjectItemCaseSensitive(row, "with_id"), &with_id) < 0 ||
      json_get_string(row, "with_username", &with_name, &len) < 0)
    return CHAT_E_FIELD_TYPE;
  int has_last = cJSON_IsNumber(seq) && seq->valuedouble > 0;
  if (has_last) {
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(row, "last_at");
    if (!cJSON_IsNumber(at) || json_get_uint53(cJSON_GetObjectItemCaseSensitive(row, "last_user_id"), &author) < 0 ||
        json_get_string(row, "last_body", &body, &len) < 0)
      return CHAT_E_FIELD_TYPE;
    has_last = social_shows(author, blocks, n_blocks);
  }
  cJSON *r = cJSON_CreateObject(), *with = cJSON_CreateObject();
  if ((rc = json_push(list, r)) < 0 || (rc = json_add_num(r, "id", id->valuedouble)) < 0) {
    cJSON_Delete(with); /* r, if any, belongs to the list */
    return rc;
  }
  if ((rc = json_add_item(r, "with", with)) < 0 || (rc = json_add_num(with, "id", (double)with_id)) < 0 ||
      (rc = json_add_str(with, "username", with_name)) < 0)
    return rc;
  if (has_last) {
    cJSON *m = cJSON_CreateObject();
    if ((rc = json_add_item(r, "last_message", m)) < 0 || (rc = json_add_num(m, "seq", seq->valuedouble)) < 0 ||
        (rc = json_add_num(m, "at", cJSON_GetObjectItemCaseSensitive(row, "last_at")->valuedouble)) < 0 ||
        (rc = json_add_num(m, "user_id", (double)author)) < 0 || (rc = json_add_str(m, "body", body)) < 0)
      return rc;
  } else if ((rc = json_add_null(r, "last_message")) < 0) {
    return rc;
  }
  /* Every unread message of a conversation is the other person's. */
  return json_add_num(r, "unread", social_shows(with_id, blocks, n_blocks) ? unread->valuedouble : 0);
}

/* Shapes the viewer's conversation list (rows in the order given). */
static int op_dms_page(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL, *list = NULL;
  int64_t *blocks = NULL;
  size_t n_blocks = 0;
  int rc = json_parse_object(aux, aux_len, &f);
  if (rc < 0) return rc;
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(f, "rows");
  if (!cJSON_IsArray(rows)) rc = CHAT_E_FIELD_TYPE;
  else if ((rc = read_blocks(cJSON_GetObjectItemCaseSensitive(f, "viewer"), &blocks, &n_blocks)) >= 0 &&
           !(list = cJSON_AddArrayToObject(out, "conversations")))
    rc = CHAT_E_NOMEM;
  for (const cJSON *row = rc >= 0 ? rows->child : NULL; row && rc >= 0; row = row->next)
    rc = dms_row(row, blocks, n_blocks, list);
  chat_free(blocks);
  cJSON_Delete(f);
  return rc;
}

/* Whether a frame the core made for a personal socket reaches a user who blocks
 * `blocks`: not when its author ("user": {"id"}) is one of them. */
static int op_notify_check(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                           cJSON *out) {
  cJSON *frame = NULL, *f = NULL;
  int64_t *blocks = NULL, author = 0;
  size_t n_blocks = 0;
  int rc = json_parse_object(in, len, &frame);
  if (rc >= 0 && (rc = json_parse_object(aux, aux_len, &f)) >= 0 &&
      (rc = read_blocks(f, &blocks, &n_blocks)) >= 0) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(frame, "user"), "id");
    int anonymous = id == NULL; /* no author: nobody's block hides it */
    if (!anonymous && json_get_uint53(id, &author) < 0) rc = CHAT_E_FIELD_TYPE;
    else rc = json_add_bool(out, "deliver", anonymous || social_shows(author, blocks, n_blocks));
  }
  chat_free(blocks);
  cJSON_Delete(f);
  cJSON_Delete(frame);
  return rc;
}

int api_call(int op, const unsigned char *in, size_t in_len, const unsigned char *aux,
             size_t aux_len, double now_ms, unsigned char *out, size_t cap, size_t *out_len) {
  static const unsigned char empty[1] = {0};
  if (!in) in = empty, in_len = 0;
  if (!aux) aux = empty, aux_len = 0;
  *out_len = 0;
  cJSON *answer = cJSON_CreateObject();
  if (!answer) return CHAT_E_NOMEM;
  int rc;
  switch (op) {
    case CHAT_OP_SIGNUP: rc = op_signup(in, in_len, 1, answer); break;
    case CHAT_OP_SIGNUP_CHECK: rc = op_signup(in, in_len, 0, answer); break;
    case CHAT_OP_LOGIN_BEGIN: rc = op_login_begin(in, in_len, answer); break;
    case CHAT_OP_LOGIN_VERIFY: rc = op_login_verify(in, in_len, aux, aux_len, answer); break;
    case CHAT_OP_SESSION_NEW: rc = op_session_new(now_ms, answer); break;
    case CHAT_OP_BEARER:
    case CHAT_OP_WS_PROTOCOL: rc = op_token(op, in, in_len, answer); break;
    case CHAT_OP_CONNECTION: rc = op_connection(aux, aux_len, answer); break;
    case CHAT_OP_USER_FRAME: rc = op_user_frame(in, in_len, aux, aux_len, now_ms, answer); break;
    case CHAT_OP_ROOM_CREATE: rc = op_room_create(in, in_len, answer); break;
    case CHAT_OP_ROOMS_QUERY: rc = op_rooms_query(in, in_len, answer); break;
    case CHAT_OP_ROOMS_PAGE: rc = op_rooms_page(aux, aux_len, answer); break;
    case CHAT_OP_USER_TARGET: rc = op_user_target(in, in_len, answer); break;
    case CHAT_OP_SOCIAL: rc = op_social(aux, aux_len, answer); break;
    case CHAT_OP_DM_CHECK: rc = op_dm_check(aux, aux_len, answer); break;
    case CHAT_OP_MOD_REQUEST: rc = op_mod_request(in, in_len, answer); break;
    case CHAT_OP_MODERATE: rc = op_moderate(aux, aux_len, answer); break;
    case CHAT_OP_THROTTLE: rc = op_throttle(aux, aux_len, now_ms, answer); break;
    case CHAT_OP_DMS_PAGE: rc = op_dms_page(aux, aux_len, answer); break;
    case CHAT_OP_NOTIFY_CHECK: rc = op_notify_check(in, in_len, aux, aux_len, answer); break;
    case CHAT_OP_BUDGET: rc = op_budget(aux, aux_len, now_ms, answer); break;
    default: rc = CHAT_E_UNKNOWN_OP; break;
  }
  if (rc >= 0) rc = json_write(answer, out, cap, out_len);
  cJSON_Delete(answer);
  return rc;
}
