/* The stateless operations about who is there (api.h): friends' online state
 * (social.h, social_shows_presence) and idle sockets (liveness.h). Shared
 * declarations: api_internal.h. */
#include "api_internal.h"
#include "chat_error.h"
#include "chat_frames.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"
#include "liveness.h"
#include "social.h"

/* One row of the shell's facts about a friend: {"id", "friends", "i_block",
 * "they_block", "online"?}. Whether their presence shows (social_shows_presence),
 * and their id. */
static int read_row(const cJSON *row, int64_t *id, int *shows) {
  if (!cJSON_IsObject(row) || json_get_uint53(cJSON_GetObjectItemCaseSensitive(row, "id"), id) < 0)
    return CHAT_E_FIELD_TYPE;
  social_facts f = {json_truthy(cJSON_GetObjectItemCaseSensitive(row, "friends")) ? SOCIAL_FRIENDS : SOCIAL_NONE,
                    json_truthy(cJSON_GetObjectItemCaseSensitive(row, "i_block")),
                    json_truthy(cJSON_GetObjectItemCaseSensitive(row, "they_block"))};
  *shows = social_shows_presence(&f);
  return CHAT_OK;
}

/* The ids of `rows` whose presence shows (and, with `online_only`, who are
 * online), as the array `key` of out; the array is also returned in *list. */
static int shown_ids(const cJSON *rows, int online_only, cJSON *out, const char *key, cJSON **list) {
  if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) > CHAT_FRIENDS_MAX) return CHAT_E_FIELD_TYPE;
  if (!(*list = cJSON_AddArrayToObject(out, key))) return CHAT_E_NOMEM;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    int64_t id;
    int shows, rc = read_row(row, &id, &shows);
    if (rc < 0) return rc;
    if (!shows || (online_only && !json_truthy(cJSON_GetObjectItemCaseSensitive(row, "online")))) continue;
    if ((rc = json_push(*list, cJSON_CreateNumber((double)id))) < 0) return rc;
  }
  return CHAT_OK;
}

int api_op_friends_online(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL, *online = NULL, *frame = cJSON_CreateObject();
  int rc = frame ? json_parse_object(aux, aux_len, &f) : CHAT_E_NOMEM;
  if (rc >= 0) rc = shown_ids(cJSON_GetObjectItemCaseSensitive(f, "rows"), 1, out, "online", &online);
  if (rc >= 0 && (rc = json_add_str(frame, "type", CHAT_FRAME(friends_presence))) >= 0 &&
      (rc = json_add_copy(frame, "online", online)) >= 0)
    rc = json_add_text(out, "frame", frame);
  cJSON_Delete(frame);
  cJSON_Delete(f);
  return rc;
}

int api_op_presence_tell(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL, *to = NULL, *frame = cJSON_CreateObject();
  int64_t user;
  int rc = frame ? json_parse_object(aux, aux_len, &f) : CHAT_E_NOMEM;
  if (rc < 0) goto done;
  const cJSON *online = cJSON_GetObjectItemCaseSensitive(f, "online");
  if (json_get_uint53(cJSON_GetObjectItemCaseSensitive(f, "user_id"), &user) < 0 || !cJSON_IsBool(online)) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  if ((rc = shown_ids(cJSON_GetObjectItemCaseSensitive(f, "rows"), 0, out, "to", &to)) < 0) goto done;
  if ((rc = json_add_str(frame, "type", CHAT_FRAME(friend_presence))) >= 0 &&
      (rc = json_add_num(frame, "user_id", (double)user)) >= 0 &&
      (rc = json_add_bool(frame, "online", cJSON_IsTrue(online))) >= 0)
    rc = json_add_text(out, "frame", frame);
done:
  cJSON_Delete(frame);
  cJSON_Delete(f);
  return rc;
}

int api_op_idle(const unsigned char *aux, size_t aux_len, double now, cJSON *out) {
  cJSON *f = NULL, *idle = NULL;
  int rc = json_parse_object(aux, aux_len, &f);
  if (rc < 0) return rc;
  const cJSON *heard = cJSON_GetObjectItemCaseSensitive(f, "heard"), *scale = cJSON_GetObjectItemCaseSensitive(f, "scale");
  double s = cJSON_IsNumber(scale) ? scale->valuedouble : 1, next = -1;
  if (!cJSON_IsArray(heard) || (scale && !cJSON_IsNumber(scale))) rc = CHAT_E_FIELD_TYPE;
  else if (!(idle = cJSON_AddArrayToObject(out, "idle"))) rc = CHAT_E_NOMEM;
  int i = 0;
  for (const cJSON *h = rc >= 0 ? heard->child : NULL; h && rc >= 0; h = h->next, i++) {
    if (!cJSON_IsNumber(h)) rc = CHAT_E_FIELD_TYPE;
    else if (liveness_idle(now, h->valuedouble, s)) rc = json_push(idle, cJSON_CreateNumber(i));
    else if (next < 0 || liveness_deadline(h->valuedouble, s) < next) next = liveness_deadline(h->valuedouble, s);
  }
  if (rc >= 0) rc = next < 0 ? json_add_null(out, "check_at") : json_add_num(out, "check_at", next);
  cJSON_Delete(f);
  return rc;
}
