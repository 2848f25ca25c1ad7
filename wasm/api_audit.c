/* The moderation log's hash chain as core operations (api.h CHAT_OP_AUDIT_LINK,
 * CHAT_OP_AUDIT_VERIFY): rows and pages read from JSON, the rules in audit.h.
 * Shared declarations: api_internal.h. */
#include <string.h>

#include "api_internal.h"
#include "audit.h"
#include "chat_error.h"
#include "json_in.h"
#include "json_out.h"

static int read_int(const cJSON *o, const char *key, int nullable, int *has, int64_t *v) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
  if (nullable && cJSON_IsNull(item)) return *has = 0, CHAT_OK;
  if (has) *has = 1;
  return json_get_uint53(item, v);
}

static int read_text(const cJSON *o, const char *key, int nullable, int *has, const char **s, size_t *n) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
  if (nullable && cJSON_IsNull(item)) return *has = 0, CHAT_OK;
  if (has) *has = 1;
  if (!item) return CHAT_E_FIELD_MISSING;
  if (!cJSON_IsString(item)) return CHAT_E_FIELD_TYPE;
  *s = item->valuestring;
  *n = strlen(item->valuestring);
  return CHAT_OK;
}

/* A row's columns from an object {id, action, target_id, actor_id, reason, ip,
 * ips, created_at}: CHAT_OK, or an error when one is missing or of another type. */
static int read_row(const cJSON *o, audit_row *r) {
  int rc;
  memset(r, 0, sizeof *r);
  if ((rc = read_int(o, "id", 0, NULL, &r->id)) < 0) return rc;
  if ((rc = read_text(o, "action", 0, NULL, &r->action, &r->action_len)) < 0) return rc;
  if ((rc = read_int(o, "target_id", 0, NULL, &r->target_id)) < 0) return rc;
  if ((rc = read_int(o, "actor_id", 1, &r->has_actor, &r->actor_id)) < 0) return rc;
  if ((rc = read_text(o, "reason", 1, &r->has_reason, &r->reason, &r->reason_len)) < 0) return rc;
  if ((rc = read_int(o, "ip", 0, NULL, &r->ip)) < 0) return rc;
  if ((rc = read_text(o, "ips", 1, &r->has_ips, &r->ips, &r->ips_len)) < 0) return rc;
  return read_int(o, "created_at", 0, NULL, &r->created_at);
}

/* An optional hash member: CHAT_OK with *has 0 for null (or absent, when allowed). */
static int read_hash(const cJSON *o, const char *key, int *has, unsigned char bin[AUDIT_HASH_BYTES]) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
  *has = 0;
  if (!item || cJSON_IsNull(item)) return CHAT_OK;
  if (!cJSON_IsString(item)) return CHAT_E_FIELD_TYPE;
  *has = 1;
  return audit_unhex(item->valuestring, strlen(item->valuestring), bin);
}

static int add_hex(cJSON *out, const char *key, const unsigned char bin[AUDIT_HASH_BYTES]) {
  char hex[AUDIT_HASH_HEX + 1];
  audit_hex(hex, bin);
  return json_add_str(out, key, hex);
}

int api_op_audit_link(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL;
  audit_row row;
  unsigned char prev[AUDIT_HASH_BYTES], hash[AUDIT_HASH_BYTES];
  int has_prev;
  int rc = json_parse_object(aux, aux_len, &f);
  if (rc < 0) return rc;
  const cJSON *r = cJSON_GetObjectItemCaseSensitive(f, "row");
  if ((rc = read_hash(f, "prev", &has_prev, prev)) >= 0 && (rc = read_row(r, &row)) >= 0 &&
      (rc = audit_link(has_prev ? prev : NULL, &row, hash)) >= 0)
    rc = add_hex(out, "hash", hash);
  cJSON_Delete(f);
  return rc;
}

/* The walk as the "state" object a page's answer carries to the next page. */
static int add_state(cJSON *out, const audit_walk *w) {
  cJSON *s = cJSON_CreateObject(), *a = NULL;
  int rc = s ? CHAT_OK : CHAT_E_NOMEM;
  if (rc >= 0) rc = w->has_prev ? add_hex(s, "prev", w->prev) : json_add_null(s, "prev");
  if (rc >= 0) rc = json_add_num(s, "prev_id", (double)w->prev_id);
  if (rc >= 0) rc = json_add_num(s, "rows", w->rows);
  if (rc >= 0) rc = json_add_num(s, "unsealed_from", (double)w->unsealed_from);
  if (rc >= 0) rc = json_add_num(s, "unsealed", w->unsealed);
  if (rc >= 0 && w->anchor_id) {
    a = cJSON_CreateObject();
    if (!a) rc = CHAT_E_NOMEM;
    if (rc >= 0) rc = json_add_num(a, "id", (double)w->anchor_id);
    if (rc >= 0) rc = add_hex(a, "hash", w->anchor);
    if (rc >= 0) rc = json_add_bool(a, "seen", w->anchor_seen);
    if (rc >= 0) rc = json_add_item(s, "anchor", a), a = NULL;
  } else if (rc >= 0) {
    rc = json_add_null(s, "anchor");
  }
  cJSON_Delete(a);
  if (rc >= 0) return json_add_item(out, "state", s);
  cJSON_Delete(s);
  return rc;
}

static int read_count(const cJSON *o, const char *key, double *v) {
  int64_t n;
  int rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(o, key), &n);
  if (rc >= 0) *v = (double)n;
  return rc;
}

/* The anchor {"id", "hash"} (with "seen" when it comes back in a state). */
static int read_anchor(const cJSON *a, audit_walk *w, int with_seen) {
  unsigned char bin[AUDIT_HASH_BYTES];
  int64_t id;
  int has, rc;
  if (!a || cJSON_IsNull(a)) return CHAT_OK;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(a, "id"), &id)) < 0) return rc;
  if ((rc = read_hash(a, "hash", &has, bin)) < 0) return rc;
  if (!has || id < 1) return CHAT_E_FIELD_TYPE;
  w->anchor_id = id;
  memcpy(w->anchor, bin, AUDIT_HASH_BYTES);
  if (with_seen) {
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(a, "seen");
    if (!cJSON_IsBool(seen)) return CHAT_E_FIELD_TYPE;
    w->anchor_seen = cJSON_IsTrue(seen);
  }
  return CHAT_OK;
}

static int read_state(const cJSON *s, audit_walk *w) {
  int rc;
  double prev_id, unsealed_from;
  audit_walk_start(w, 0, NULL);
  if ((rc = read_hash(s, "prev", &w->has_prev, w->prev)) < 0) return rc;
  if ((rc = read_count(s, "prev_id", &prev_id)) < 0 || (rc = read_count(s, "rows", &w->rows)) < 0 ||
      (rc = read_count(s, "unsealed_from", &unsealed_from)) < 0 || (rc = read_count(s, "unsealed", &w->unsealed)) < 0)
    return rc;
  w->prev_id = (int64_t)prev_id;
  w->unsealed_from = (int64_t)unsealed_from;
  if (w->has_prev != (w->prev_id > 0)) return CHAT_E_FIELD_TYPE;
  return read_anchor(cJSON_GetObjectItemCaseSensitive(s, "anchor"), w, 1);
}

static int add_break(cJSON *out, int why, int64_t at) {
  static const char *const names[] = {"", "hash", "unsealed", "anchor", "order", "unreadable"};
  int rc = json_add_bool(out, "ok", 0);
  if (rc >= 0) rc = json_add_num(out, "broken_at", (double)at);
  if (rc >= 0) rc = json_add_str(out, "why", names[why]);
  return rc;
}

/* One row of a page, given as its own JSON text. Returns AUDIT_INTACT, a break
 * (with *at), or an error. */
static int verify_row(audit_walk *w, const char *text, int64_t *at) {
  cJSON *o = NULL;
  audit_row row;
  int rc = json_parse_object((const unsigned char *)text, strlen(text), &o);
  if (rc == CHAT_E_NOMEM) return rc;
  if (rc < 0) {
    /* Refused by the strict reader (a NUL in a column, say): name the row by the
     * id a lenient read still finds; a text without one is the shell's bug. */
    cJSON *loose = cJSON_Parse(text);
    int id_rc = loose ? json_get_uint53(cJSON_GetObjectItemCaseSensitive(loose, "id"), at) : CHAT_E_BAD_JSON;
    cJSON_Delete(loose);
    return id_rc < 0 ? CHAT_E_FIELD_TYPE : AUDIT_BROKEN_UNREADABLE;
  }
  const cJSON *hash = cJSON_GetObjectItemCaseSensitive(o, "hash");
  if (read_row(o, &row) < 0 || !(cJSON_IsNull(hash) || cJSON_IsString(hash))) {
    rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(o, "id"), at) < 0 ? CHAT_E_FIELD_TYPE : AUDIT_BROKEN_UNREADABLE;
  } else {
    const char *stored = cJSON_IsString(hash) ? hash->valuestring : NULL;
    rc = audit_walk_row(w, &row, stored, stored ? strlen(stored) : 0, at);
  }
  cJSON_Delete(o);
  return rc;
}

int api_op_audit_verify(const unsigned char *aux, size_t aux_len, cJSON *out) {
  cJSON *f = NULL;
  audit_walk w;
  int64_t at = 0;
  int rc = json_parse_object(aux, aux_len, &f);
  if (rc < 0) return rc;
  const cJSON *state = cJSON_GetObjectItemCaseSensitive(f, "state");
  const cJSON *anchor = cJSON_GetObjectItemCaseSensitive(f, "anchor");
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(f, "rows");
  const cJSON *end = cJSON_GetObjectItemCaseSensitive(f, "end");
  if (!cJSON_IsArray(rows) || !cJSON_IsBool(end)) {
    rc = CHAT_E_FIELD_TYPE;
  } else if (state && !cJSON_IsNull(state)) {
    rc = anchor && !cJSON_IsNull(anchor) ? CHAT_E_FIELD_TYPE : read_state(state, &w);
  } else {
    audit_walk_start(&w, 0, NULL);
    rc = read_anchor(anchor, &w, 0);
  }
  int verdict = AUDIT_INTACT;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    if (rc < 0 || verdict != AUDIT_INTACT) break;
    if (!cJSON_IsString(row)) rc = CHAT_E_FIELD_TYPE;
    else if ((rc = verify_row(&w, row->valuestring, &at)) > 0) verdict = rc, rc = CHAT_OK;
  }
  if (rc >= 0 && verdict == AUDIT_INTACT && cJSON_IsTrue(end) && (verdict = audit_walk_end(&w)) != AUDIT_INTACT)
    at = w.anchor_id;
  if (rc < 0) {
    /* nothing to add */
  } else if (verdict != AUDIT_INTACT) {
    rc = add_break(out, verdict, at);
  } else if (!cJSON_IsTrue(end)) {
    if ((rc = json_add_bool(out, "ok", 1)) >= 0) rc = add_state(out, &w);
  } else {
    if ((rc = json_add_bool(out, "ok", 1)) >= 0) rc = json_add_num(out, "rows", w.rows);
    if (rc >= 0) rc = w.has_prev ? add_hex(out, "head", w.prev) : json_add_null(out, "head");
    if (rc >= 0) rc = w.has_prev ? json_add_num(out, "head_id", (double)w.prev_id) : json_add_null(out, "head_id");
    if (rc >= 0 && w.unsealed > 0) rc = json_add_num(out, "unsealed", w.unsealed);
  }
  cJSON_Delete(f);
  return rc;
}
