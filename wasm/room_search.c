/* Search (issue 17): a page of the messages whose text matches a query, over HTTP
 * (GET .../search), shaped as history pages are (room_history.c): the viewer and
 * the query string are checked here, storage answers the search query with the
 * room's FTS5 index, and the page becomes the reply (room.h; search.h has the
 * syntax). */
#include "chat_alloc.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"
#include "room_internal.h"
#include "search.h"

/* {"query": "q=...&before=N&limit=K", "viewer": {"id", "blocks": [...], "member"?}}:
 * the K (search.h) newest messages before seq N that match q, without those of
 * users the viewer blocks; a private room's only for its members. */
int room_on_search(const room *r, effects *e, room_change *c, const unsigned char *in, size_t in_len) {
  int64_t *excluded = NULL, viewer_id = 0;
  size_t len, n_excluded = 0;
  int present, rc;
  const char *qs;
  cJSON *facts = NULL, *exclude = NULL, *q = NULL;
  search_request *s = chat_malloc(sizeof *s);
  if (!s) return CHAT_E_NOMEM;
  if ((rc = json_parse_object(in, in_len, &facts)) < 0 || (rc = json_get_string(facts, "query", &qs, &len)) < 0)
    goto done;
  const cJSON *viewer = cJSON_GetObjectItemCaseSensitive(facts, "viewer");
  if ((rc = room_read_blocks(viewer, &excluded, &n_excluded, &present)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(viewer, "id"), &viewer_id)) < 0)
    goto done;
  /* a private room's messages are its members' to search, as to read */
  if ((rc = room_may_read(&r->kind, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(viewer, "member")))) < 0 ||
      (rc = search_read_request(qs, len, s)) < 0)
    goto done;
  rc = CHAT_E_NOMEM;
  if (!(exclude = cJSON_CreateArray())) goto done;
  for (size_t k = 0; k < n_excluded; k++)
    if (json_push(exclude, cJSON_CreateNumber((double)excluded[k])) < 0) goto done;
  if (!(q = room_query(ROOM_QUERY(search))) || json_add_str(q, "match", s->match) < 0 ||
      json_add_item(q, "before", s->has_before ? cJSON_CreateNumber((double)s->before) : cJSON_CreateNull()) < 0 ||
      json_add_num(q, "limit", s->limit + 1) < 0 || json_add_num(q, "tokens", CHAT_SEARCH_SNIPPET_TOKENS) < 0)
    goto done;
  rc = json_add_item(q, "exclude_users", exclude);
  exclude = NULL;
  if (rc < 0) goto done;
  room_pending p = {0};
  p.kind = ROOM_P_SEARCH;
  p.limit = s->limit + 1;
  rc = room_ask(e, c, q, &p);
  q = NULL; /* room_ask took it */
done:
  cJSON_Delete(q);
  cJSON_Delete(exclude);
  chat_free(excluded);
  chat_free(s);
  cJSON_Delete(facts);
  return rc;
}

/* One result on the wire: {seq, user: {id, username}, created_at, edited_at?,
 * snippet}. */
static int add_result(cJSON *list, const cJSON *row) {
  int64_t seq, user_id;
  const char *username, *snippet;
  size_t n;
  int rc;
  const cJSON *created = cJSON_GetObjectItemCaseSensitive(row, "created_at");
  const cJSON *edited = cJSON_GetObjectItemCaseSensitive(row, "edited_at");
  if (!cJSON_IsObject(row)) return CHAT_E_NOT_OBJECT;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(row, "seq"), &seq)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(row, "user_id"), &user_id)) < 0 ||
      (rc = json_get_string(row, "username", &username, &n)) < 0 || (rc = json_get_string(row, "snippet", &snippet, &n)) < 0)
    return rc;
  if (!cJSON_IsNumber(created) || (edited && !cJSON_IsNumber(edited) && !cJSON_IsNull(edited))) return CHAT_E_FIELD_TYPE;
  cJSON *o = cJSON_CreateObject(), *user = cJSON_CreateObject();
  if (!o || !user || json_add_num(o, "seq", (double)seq) < 0 || json_add_num(user, "id", (double)user_id) < 0 ||
      json_add_str(user, "username", username) < 0) {
    cJSON_Delete(o);
    cJSON_Delete(user);
    return CHAT_E_NOMEM;
  }
  if (json_add_item(o, "user", user) < 0 || json_add_num(o, "created_at", created->valuedouble) < 0 ||
      (cJSON_IsNumber(edited) && json_add_num(o, "edited_at", edited->valuedouble) < 0) ||
      json_add_str(o, "snippet", snippet) < 0) {
    cJSON_Delete(o);
    return CHAT_E_NOMEM;
  }
  return json_push(list, o);
}

/* {room_id | conversation_id, results: [newest first], has_more, next_before: the
 * `before` of the next page, or null}. */
int room_answer_search(const room *r, effects *e, const room_pending *p, const cJSON *a) {
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
  if (!cJSON_IsArray(rows)) return CHAT_E_FIELD_TYPE;
  int n = cJSON_GetArraySize(rows), page = p->limit - 1, rc;
  int64_t last = 0;
  cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
  if (!o || !list || json_add_num(o, room_id_key(&r->kind), (double)r->id) < 0) {
    cJSON_Delete(list);
    rc = CHAT_E_NOMEM;
    goto done;
  }
  rc = CHAT_OK;
  for (int i = 0; rc >= 0 && i < n && i < page; i++) {
    const cJSON *row = cJSON_GetArrayItem(rows, i);
    if ((rc = add_result(list, row)) >= 0) json_get_uint53(cJSON_GetObjectItemCaseSensitive(row, "seq"), &last);
  }
  if (rc < 0) {
    cJSON_Delete(list);
    goto done;
  }
  if ((rc = json_add_item(o, "results", list)) < 0 || (rc = json_add_bool(o, "has_more", n > page)) < 0 ||
      (rc = json_add_item(o, "next_before", n > page ? cJSON_CreateNumber((double)last) : cJSON_CreateNull())) < 0)
    goto done;
  cJSON *reply = effects_add(e, ROOM_EFFECT(reply));
  char *text = reply ? cJSON_PrintUnformatted(o) : NULL;
  rc = text ? json_add_str(reply, "body", text) : CHAT_E_NOMEM;
  cJSON_free(text);
done:
  cJSON_Delete(o);
  return rc;
}
