/* History: the query for a page of stored messages, on join_room and over HTTP
 * (GET .../messages), and the page it answers (room.h; shared state:
 * room_internal.h). */
#include "chat_alloc.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"
#include "message.h"
#include "query.h"
#include "room_internal.h"

cJSON *room_blocks_json(const room *r, int64_t viewer) {
  cJSON *a = cJSON_CreateArray();
  const room_user *u = room_find_user(r, viewer);
  for (size_t k = 0; a && u && k < u->n_blocks; k++)
    if (json_push(a, cJSON_CreateNumber((double)u->blocks[k])) < 0) {
      cJSON_Delete(a);
      a = NULL;
    }
  return a;
}

int room_fill_page(const room *r, cJSON *o, const cJSON *rows, int page, const int64_t *blocked, size_t n_blocked) {
  int rc = json_add_num(o, room_id_key(&r->kind), (double)r->id);
  return rc < 0 ? rc : message_add_page(o, rows, page, blocked, n_blocked);
}

int room_fill_changes(cJSON *o, const cJSON *rows, int page, int64_t latest) {
  int n = cJSON_GetArraySize(rows), rc = CHAT_OK;
  int64_t last = latest;
  cJSON *list = cJSON_CreateArray();
  if (!list) return CHAT_E_NOMEM;
  for (int i = 0; rc >= 0 && i < n && i < page; i++) {
    message_row w;
    if ((rc = message_read(cJSON_GetArrayItem(rows, i), &w)) < 0) break;
    cJSON *m = cJSON_CreateObject();
    if (!m) rc = CHAT_E_NOMEM;
    else if (w.deleted) rc = json_add_num(m, "seq", (double)w.seq) < 0 || json_add_bool(m, "deleted", 1) < 0 ? CHAT_E_NOMEM : CHAT_OK;
    else rc = message_add_fields(m, &w);
    if (rc >= 0) rc = json_add_num(m, "change", (double)w.change);
    if (rc < 0) cJSON_Delete(m);
    else rc = json_push(list, m);
    last = w.change;
  }
  if (rc < 0) {
    cJSON_Delete(list);
    return rc;
  }
  if ((rc = json_add_item(o, "changes", list)) < 0 || (rc = json_add_bool(o, "changes_more", n > page)) < 0) return rc;
  return json_add_num(o, "change", (double)(n > page ? last : latest));
}

cJSON *room_history_query(const int64_t *after, const int64_t *before, int limit, cJSON *exclude, int64_t viewer) {
  cJSON *q = room_query(ROOM_QUERY(history));
  if (!q || json_add_item(q, "after", after ? cJSON_CreateNumber((double)*after) : cJSON_CreateNull()) < 0 ||
      json_add_item(q, "before", before ? cJSON_CreateNumber((double)*before) : cJSON_CreateNull()) < 0 ||
      json_add_num(q, "limit", limit) < 0 || json_add_bool(q, "include_deleted", 0) < 0 ||
      json_add_num(q, "viewer", (double)viewer) < 0 || json_add_num(q, "excerpt", CHAT_REPLY_EXCERPT_MAX) < 0) {
    cJSON_Delete(q);
    cJSON_Delete(exclude);
    return NULL;
  }
  if (json_add_item(q, "exclude_users", exclude) < 0) {
    cJSON_Delete(q);
    return NULL;
  }
  return q;
}

/* A page of history for GET /rooms/:id/messages. The input is
 * {"query": "before=N&limit=K", "viewer": {"id", "blocks": [...]}}: both query
 * keys are optional (others are ignored); the page is at most K (1..
 * CHAT_HISTORY_PAGE, default CHAT_HISTORY_PAGE) messages before seq N, or the
 * latest, without those of users the viewer blocks. */
int room_on_page(const room *r, effects *e, room_change *c, const unsigned char *in, size_t in_len) {
  int64_t before = 0, limit = CHAT_HISTORY_PAGE, *excluded = NULL, viewer = 0;
  int has_before = 0, present, rc;
  size_t len, n_excluded = 0;
  const char *q;
  cJSON *facts = NULL, *exclude;
  if ((rc = json_parse_object(in, in_len, &facts)) < 0 || (rc = json_get_string(facts, "query", &q, &len)) < 0 ||
      (rc = room_read_blocks(cJSON_GetObjectItemCaseSensitive(facts, "viewer"), &excluded, &n_excluded, &present)) < 0)
    goto done;
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(facts, "viewer"), "id");
  if ((rc = json_get_uint53(id, &viewer)) < 0) goto done;
  /* a private room's history is its members' ("member": the room's storage) */
  if ((rc = room_may_read(&r->kind, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                                        cJSON_GetObjectItemCaseSensitive(facts, "viewer"), "member")))) < 0)
    goto done;
  query_iter it = {q, len, 0};
  const char *key, *val;
  size_t klen, vlen;
  while (rc >= 0 && query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "before")) {
      if (query_uint(val, vlen, &before) < 0 || before < 1) rc = CHAT_E_QUERY_INVALID;
      has_before = 1;
    } else if (query_is(key, klen, "limit")) {
      if (query_uint(val, vlen, &limit) < 0 || limit < 1 || limit > CHAT_HISTORY_PAGE) rc = CHAT_E_QUERY_INVALID;
    }
  }
  if (rc < 0) goto done;
  if (!(exclude = cJSON_CreateArray())) rc = CHAT_E_NOMEM;
  for (size_t k = 0; rc >= 0 && k < n_excluded; k++)
    if (json_push(exclude, cJSON_CreateNumber((double)excluded[k])) < 0) rc = CHAT_E_NOMEM;
  if (rc < 0) {
    cJSON_Delete(exclude);
    goto done;
  }
  room_pending p = {0};
  p.kind = ROOM_P_PAGE;
  p.limit = (int)limit + 1;
  p.blocked = excluded, p.n_blocked = n_excluded; /* the question owns them now */
  excluded = NULL;
  rc = room_ask(e, c, room_history_query(NULL, has_before ? &before : NULL, p.limit, exclude, viewer), &p);
  if (rc < 0 && !c->ask) room_pending_free(&p);
done:
  chat_free(excluded);
  cJSON_Delete(facts);
  return rc;
}

/* The page, from storage: the body of the HTTP answer (a reply effect). */
int room_answer_page(room *r, effects *e, const room_pending *p, const cJSON *a) {
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
  if (!cJSON_IsArray(rows)) return CHAT_E_FIELD_TYPE;
  cJSON *page = cJSON_CreateObject(), *o = effects_add(e, ROOM_EFFECT(reply));
  int rc = (!page || !o) ? CHAT_E_NOMEM : room_fill_page(r, page, rows, p->limit - 1, p->blocked, p->n_blocked);
  char *text = rc >= 0 ? cJSON_PrintUnformatted(page) : NULL;
  cJSON_Delete(page);
  if (rc >= 0) rc = text ? json_add_str(o, "body", text) : CHAT_E_NOMEM;
  cJSON_free(text);
  return rc;
}
