/* Searching across my rooms (issue 17, GET /search): the query read once before
 * the Worker asks each room, and the rooms' pages merged newest first (api.h
 * CHAT_OP_SEARCH_QUERY, CHAT_OP_SEARCH_MERGE; the syntax: search.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "chat_alloc.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"
#include "utf8.h"
#include "query.h"
#include "search.h"

/* "q=...&limit=K": checked as a room would (search_read_request; `before` is a
 * room's seq, meaningless across rooms, so refused), and the query string each
 * room is asked with: {"limit": K, "query": "q=<q as sent>&limit=K"}. */
int api_op_search_query(const unsigned char *in, size_t len, cJSON *out) {
  search_request *s = chat_malloc(sizeof *s);
  if (!s) return CHAT_E_NOMEM;
  int rc = search_read_request((const char *)in, len, s);
  const char *key, *val, *q = NULL;
  size_t klen, vlen, qlen = 0;
  query_iter it = {(const char *)in, len, 0};
  while (rc >= 0 && query_next(&it, &key, &klen, &val, &vlen)) {
    if (query_is(key, klen, "before")) rc = CHAT_E_QUERY_INVALID;
    if (query_is(key, klen, "q")) q = val, qlen = vlen;
  }
  if (rc >= 0) {
    /* q as sent is at most 3 * CHAT_SEARCH_QUERY_MAX bytes (each byte an escape) */
    char text[3 * CHAT_SEARCH_QUERY_MAX + 32];
    /* echoed as sent: it must be UTF-8 as sent, not only once decoded */
    if (qlen > 3 * CHAT_SEARCH_QUERY_MAX || !utf8_valid((const unsigned char *)q, qlen)) {
      rc = CHAT_E_QUERY_INVALID;
    } else {
      memcpy(text, "q=", 2);
      memcpy(text + 2, q, qlen);
      snprintf(text + 2 + qlen, sizeof text - 2 - qlen, "&limit=%d", s->limit);
      if ((rc = json_add_num(out, "limit", s->limit)) >= 0) rc = json_add_str(out, "query", text);
    }
  }
  chat_free(s);
  return rc;
}

/* A result and the room it came from. */
typedef struct {
  const cJSON *result;
  const char *room_key; /* "room_id" or "conversation_id" */
  double room_id, created_at, seq;
} hit;

/* Newest first; a tie by room, then seq, newest first: the same order every time. */
static int newest_first(const void *a, const void *b) {
  const hit *x = a, *y = b;
  if (x->created_at != y->created_at) return x->created_at < y->created_at ? 1 : -1;
  if (x->room_id != y->room_id) return x->room_id < y->room_id ? 1 : -1;
  return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* {"limit": K, "pages": [a room's search page (room.h ROOM_SEARCH)...], "skipped":
 * [{"room_id"} | {"conversation_id"}...]}: {"results": the K newest of all, each
 * with its room_id or conversation_id, "has_more", "skipped"}. */
int api_op_search_merge(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *facts = NULL;
  hit *hits = NULL;
  int rc = json_parse_object(aux, aux_len, &facts);
  if (rc < 0) return rc;
  const cJSON *pages = cJSON_GetObjectItemCaseSensitive(facts, "pages");
  const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(facts, "skipped"), *page;
  int64_t limit;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(facts, "limit"), &limit)) < 0) goto done;
  if (!cJSON_IsArray(pages) || !cJSON_IsArray(skipped) || limit < 1 || limit > CHAT_SEARCH_PAGE_MAX) {
    rc = CHAT_E_FIELD_TYPE;
    goto done;
  }
  size_t n = 0, cap = 0;
  int more = 0;
  cJSON_ArrayForEach(page, pages) {
    const char *key = cJSON_GetObjectItemCaseSensitive(page, "room_id") ? "room_id" : "conversation_id";
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(page, key), *results = cJSON_GetObjectItemCaseSensitive(page, "results"), *r;
    if (!cJSON_IsNumber(id) || !cJSON_IsArray(results)) {
      rc = CHAT_E_FIELD_TYPE;
      goto done;
    }
    more |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(page, "has_more"));
    cJSON_ArrayForEach(r, results) {
      const cJSON *at = cJSON_GetObjectItemCaseSensitive(r, "created_at"), *seq = cJSON_GetObjectItemCaseSensitive(r, "seq");
      if (!cJSON_IsNumber(at) || !cJSON_IsNumber(seq)) {
        rc = CHAT_E_FIELD_TYPE;
        goto done;
      }
      if (n == cap) {
        hit *more_hits = chat_malloc((cap = cap ? 2 * cap : 64) * sizeof *hits);
        if (!more_hits) {
          rc = CHAT_E_NOMEM;
          goto done;
        }
        if (n) memcpy(more_hits, hits, n * sizeof *hits);
        chat_free(hits);
        hits = more_hits;
      }
      hits[n++] = (hit){r, key, id->valuedouble, at->valuedouble, seq->valuedouble};
    }
  }
  qsort(hits, n, sizeof *hits, newest_first);
  cJSON *list = cJSON_CreateArray();
  if (!list) {
    rc = CHAT_E_NOMEM;
    goto done;
  }
  for (size_t i = 0; rc >= 0 && i < n && i < (size_t)limit; i++) {
    cJSON *r = cJSON_Duplicate(hits[i].result, 1);
    if (!r) rc = CHAT_E_NOMEM;
    else if ((rc = json_add_num(r, hits[i].room_key, hits[i].room_id)) < 0) cJSON_Delete(r);
    else rc = json_push(list, r);
  }
  if (rc < 0) {
    cJSON_Delete(list);
    goto done;
  }
  if ((rc = json_add_item(out, "results", list)) >= 0 && (rc = json_add_bool(out, "has_more", more || n > (size_t)limit)) >= 0)
    rc = json_add_copy(out, "skipped", skipped);
done:
  chat_free(hits);
  cJSON_Delete(facts);
  return rc;
}
