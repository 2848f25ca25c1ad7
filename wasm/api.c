/* The dispatcher of the stateless operations (api.h) and those of accounts,
 * sockets and the room directory; the others are in api_social.c and
 * api_moderation.c (api_internal.h). */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api_internal.h"
#include "auth.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"
#include "query.h"
#include "ratelimit.h"
#include "room_name.h"
#include "room_rules.h"
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
 * friend and DM notifications. With aux {"bucket", "flood"} (the user's rate and
 * flood buckets over every personal socket of theirs, as the last call left them,
 * or null) the frame first takes a token of the per-user rate (CHAT_RATE_BURST,
 * CHAT_RATE_PER_SECOND, as in rooms); without one it is refused with rate_limited
 * (echoing its ref) and takes a flood token (CHAT_FLOOD_*, as in rooms); without
 * one of those either, the socket is to be closed: the answer is then
 * {"reply", "bucket", "flood", "close": {"code": CHAT_CLOSE_POLICY, "reason"}},
 * else {"reply": frame text, "bucket", "flood"}, for the shell to keep. */
static int op_user_frame(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
                         double now, cJSON *out) {
  if (!aux_len) return user_frame_reply(in, len, 0, out);
  cJSON *f = NULL, *reply = cJSON_CreateObject();
  char *text = NULL;
  int rc = reply ? json_parse_object(aux, aux_len, &f) : CHAT_E_NOMEM;
  if (rc >= 0) {
    ratelimit_bucket b = read_bucket(cJSON_GetObjectItemCaseSensitive(f, "bucket"));
    ratelimit_bucket flood = read_bucket(cJSON_GetObjectItemCaseSensitive(f, "flood"));
    int limited = !ratelimit_take(&b, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, now);
    int evict = limited && !ratelimit_take(&flood, CHAT_FLOOD_BURST, CHAT_FLOOD_PER_SECOND, now);
    if ((rc = user_frame_reply(in, len, limited, reply)) >= 0)
      rc = (text = cJSON_PrintUnformatted(reply)) ? json_add_str(out, "reply", text) : CHAT_E_NOMEM;
    if (rc >= 0) rc = add_bucket(out, "bucket", b);
    if (rc >= 0) rc = add_bucket(out, "flood", flood);
    if (rc >= 0 && evict) {
      cJSON *close = cJSON_CreateObject();
      if (!close || json_add_num(close, "code", CHAT_CLOSE_POLICY) < 0 ||
          json_add_str(close, "reason", "rate limit exceeded") < 0) {
        cJSON_Delete(close);
        rc = CHAT_E_NOMEM;
      } else {
        rc = json_add_item(out, "close", close);
      }
    }
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
  const cJSON *priv = cJSON_GetObjectItemCaseSensitive(body, "private");
  if (rc >= 0 && priv && !cJSON_IsBool(priv)) rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0 && cJSON_IsTrue(priv)) rc = json_add_bool(out, "private", 1); /* members only (issue 15) */
  cJSON_Delete(body);
  return rc;
}

/* The name key of a search prefix (room_name.h's keys: ASCII letters lowercased),
 * percent-decoded ('+' is a space), into key (CHAT_ROOM_SEARCH_MAX + 1 bytes).
 * CHAT_E_QUERY_INVALID for a bad escape, a NUL, or more than CHAT_ROOM_SEARCH_MAX
 * bytes. */
static int search_key(const char *val, size_t vlen, char *key) {
  size_t n = 0;
  for (size_t i = 0; i < vlen; i++) {
    unsigned c = (unsigned char)val[i];
    if (c == '%') {
      unsigned v = 0;
      for (int k = 1; k <= 2; k++) {
        char h = i + (size_t)k < vlen ? val[i + (size_t)k] : 0;
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) return CHAT_E_QUERY_INVALID;
        v = v * 16 + (unsigned)d;
      }
      c = v;
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    if (c == 0 || n == CHAT_ROOM_SEARCH_MAX) return CHAT_E_QUERY_INVALID;
    key[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  key[n] = 0;
  /* percent-decoding can spell any byte: what it spells must be UTF-8 (RFC 3986
   * section 2.5), or the answer that echoes the prefix would not be */
  return utf8_valid((const unsigned char *)key, n) ? CHAT_OK : CHAT_E_QUERY_INVALID;
}

/* "limit=K&cursor=A.I&mine=1&q=P": K rooms (1..CHAT_ROOMS_PAGE_MAX, default
 * CHAT_ROOMS_PAGE), after the room with last activity A and id I (the previous
 * page's last room); mine=1: the rooms I am a member of or invited to, else the
 * directory (public rooms), whose names start with P (search_key) when q is
 * given. Other keys are ignored. */
static int op_rooms_query(const unsigned char *in, size_t len, cJSON *out) {
  query_iter it = {(const char *)in, len, 0};
  const char *key, *val, *dot;
  size_t klen, vlen;
  int64_t limit = CHAT_ROOMS_PAGE, activity = 0, id = 0;
  int has_cursor = 0, mine = 0, has_prefix = 0, rc;
  char prefix[CHAT_ROOM_SEARCH_MAX + 1];
  while (query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "mine")) {
      mine = vlen == 1 && val[0] == '1';
      if (!mine && !(vlen == 1 && val[0] == '0')) return CHAT_E_QUERY_INVALID;
    } else if (query_is(key, klen, "q")) {
      if (search_key(val, vlen, prefix) < 0) return CHAT_E_QUERY_INVALID;
      has_prefix = prefix[0] != 0;
    }
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
  if ((mine || has_prefix) && ((rc = json_add_bool(out, "mine", mine)) < 0 ||
                               (rc = has_prefix ? json_add_str(out, "prefix", prefix) : json_add_null(out, "prefix")) < 0))
    return rc;
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
    /* membership (issue 15): whether the room is private, and my standing in it
     * (rows of GET /rooms?mine=1), when the row has them */
    const cJSON *priv = cJSON_GetObjectItemCaseSensitive(row, "private");
    const cJSON *standing = cJSON_GetObjectItemCaseSensitive(row, "standing");
    if (cJSON_IsNumber(priv) && (rc = json_add_bool(r, "private", priv->valuedouble != 0)) < 0) break;
    if (cJSON_IsString(standing) && room_standing_parse(standing->valuestring) < 0) {
      rc = CHAT_E_FIELD_TYPE;
      break;
    }
    if (cJSON_IsString(standing) && (rc = json_add_str(r, "standing", standing->valuestring)) < 0) break;
    /* and my counts there: the last seq, unread messages and mentions after my
     * read marker */
    static const char *const counts[] = {"last_seq", "unread", "mentions"};
    for (size_t k = 0; rc >= 0 && cJSON_IsString(standing) && k < 3; k++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, counts[k]);
      if (cJSON_IsNumber(v)) rc = json_add_num(r, counts[k], v->valuedouble);
    }
    if (rc < 0) break;
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
    case CHAT_OP_USER_TARGET: rc = api_op_user_target(in, in_len, answer); break;
    case CHAT_OP_SOCIAL: rc = api_op_social(aux, aux_len, answer); break;
    case CHAT_OP_DM_CHECK: rc = api_op_dm_check(aux, aux_len, answer); break;
    case CHAT_OP_DM_CONFIG: rc = api_op_dm_config(aux, aux_len, answer); break;
    case CHAT_OP_MOD_REQUEST: rc = api_op_mod_request(in, in_len, answer); break;
    case CHAT_OP_MODERATE: rc = api_op_moderate(aux, aux_len, answer); break;
    case CHAT_OP_THROTTLE: rc = api_op_throttle(aux, aux_len, now_ms, answer); break;
    case CHAT_OP_DMS_PAGE: rc = api_op_dms_page(aux, aux_len, answer); break;
    case CHAT_OP_NOTIFY_CHECK: rc = api_op_notify_check(in, in_len, aux, aux_len, answer); break;
    case CHAT_OP_BUDGET: rc = api_op_budget(aux, aux_len, now_ms, answer); break;
    case CHAT_OP_AUDIT_LINK: rc = api_op_audit_link(aux, aux_len, answer); break;
    case CHAT_OP_AUDIT_VERIFY: rc = api_op_audit_verify(aux, aux_len, answer); break;
    case CHAT_OP_MEMBERSHIP: rc = api_op_membership(aux, aux_len, answer); break;
    case CHAT_OP_MEMBERS_QUERY: rc = api_op_members_query(in, in_len, answer); break;
    case CHAT_OP_MENTION_CHECK: rc = api_op_mention_check(aux, aux_len, answer); break;
    case CHAT_OP_PROFILE_REACHES: rc = api_op_profile_reaches(aux, aux_len, answer); break;
    case CHAT_OP_RELAY_ROUTE: rc = api_op_relay_route(aux, aux_len, answer); break;
    case CHAT_OP_ROOM_ACTIVITY: rc = api_op_room_activity(aux, aux_len, answer); break;
    case CHAT_OP_PASSWORD_CHANGE: rc = api_op_password_change(in, in_len, aux, aux_len, answer); break;
    case CHAT_OP_CLIENT_DESCRIBE: rc = api_op_client_describe(in, in_len, answer); break;
    case CHAT_OP_PROFILE: rc = api_op_profile(in, in_len, aux, aux_len, answer); break;
    case CHAT_OP_ACCOUNT_DELETE: rc = api_op_account_delete(in, in_len, aux, aux_len, now_ms, answer); break;
    case CHAT_OP_FRIENDS_ONLINE: rc = api_op_friends_online(aux, aux_len, answer); break;
    case CHAT_OP_PRESENCE_TELL: rc = api_op_presence_tell(aux, aux_len, answer); break;
    case CHAT_OP_IDLE: rc = api_op_idle(aux, aux_len, now_ms, answer); break;
    case CHAT_OP_ATTACHMENT_CHECK: rc = api_op_attachment_check(in, in_len, aux, aux_len, answer); break;
    case CHAT_OP_ATTACHMENT_ACCESS: rc = api_op_attachment_access(aux, aux_len, answer); break;
    case CHAT_OP_SEARCH_QUERY: rc = api_op_search_query(in, in_len, answer); break;
    case CHAT_OP_SEARCH_MERGE: rc = api_op_search_merge(aux, aux_len, answer); break;
    default: rc = CHAT_E_UNKNOWN_OP; break;
  }
  if (rc >= 0) rc = json_write(answer, out, cap, out_len);
  cJSON_Delete(answer);
  return rc;
}
