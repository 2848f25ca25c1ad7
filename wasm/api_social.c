/* The stateless operations about people (api.h): targets, friendships and blocks,
 * direct-message conversations and notifications. Shared declarations:
 * api_internal.h. */
#include <string.h>

#include "api_internal.h"
#include "auth.h"
#include "budget.h"
#include "chat_alloc.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"
#include "social.h"

int api_op_user_target(const unsigned char *in, size_t len, cJSON *out) {
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

/* A friendship or block decision (social.h) from the shell's facts. */
int api_op_social(const unsigned char *aux, size_t aux_len, cJSON *out) {
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
int api_op_dm_check(const unsigned char *aux, size_t aux_len, cJSON *out) {
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

/* What a conversation between two users is, for its room (room.h ROOM_CONFIG):
 * {"kind":"dm","members":[a,b],"open"}, open while social_dm_open holds for the
 * relation between them (either's view: the rule is symmetric). The one place
 * that decides whether a conversation takes new messages. */
int api_op_dm_config(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL;
  const char *state;
  size_t n;
  int64_t a, b;
  int rc = json_parse_object(aux, aux_len, &f), st = -1;
  if (rc < 0) return rc;
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(f, "members");
  if (cJSON_GetArraySize(m) != 2 || json_get_uint53(cJSON_GetArrayItem(m, 0), &a) < 0 ||
      json_get_uint53(cJSON_GetArrayItem(m, 1), &b) < 0 || a == b)
    rc = CHAT_E_FIELD_TYPE;
  else if ((rc = json_get_string(f, "state", &state, &n)) >= 0 && (st = social_state_parse(state)) < 0)
    rc = CHAT_E_FIELD_TYPE;
  if (rc >= 0) {
    social_facts facts = {(social_state)st, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "i_block")),
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "they_block"))};
    if ((rc = json_add_str(out, "kind", "dm")) >= 0 && (rc = json_add_copy(out, "members", m)) >= 0)
      rc = json_add_bool(out, "open", social_dm_open(&facts));
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
int api_op_dms_page(const unsigned char *aux, size_t aux_len, cJSON *out) {
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
int api_op_notify_check(const unsigned char *in, size_t len, const unsigned char *aux, size_t aux_len,
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
