#include "message.h"

#include <string.h>

#include "chat_error.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"
#include "attachment.h"
#include "utf8.h"

int message_check_body(const char *s, size_t n) {
  int visible = 0;
  for (size_t i = 0; i < n && !visible; i++)
    visible = !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r');
  if (!visible) return CHAT_E_BODY_EMPTY;
  if (utf8_count((const unsigned char *)s, n) > CHAT_MESSAGE_MAX) return CHAT_E_BODY_TOO_LONG;
  return CHAT_OK;
}

/* Characters a reaction may not hold (message.h message_check_reaction); the
 * joiners U+200C and U+200D stay (emoji ZWJ sequences are made with U+200D). */
static int reaction_refuses(unsigned long c) {
  return c <= 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0x061C || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x200E || c == 0x200F ||
         (c >= 0x2028 && c <= 0x202F) || c == 0x205F || c == 0x2060 || (c >= 0x2066 && c <= 0x2069) ||
         c == 0x3000 || c == 0xFEFF;
}

int message_check_reaction(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, count = 0;
  if (n < 1 || n > CHAT_REACTION_BYTES_MAX) return CHAT_E_REACTION_INVALID;
  while (i < n) {
    if (reaction_refuses(utf8_next(u, n, &i)) || ++count > CHAT_REACTION_CODEPOINTS_MAX) return CHAT_E_REACTION_INVALID;
  }
  return CHAT_OK;
}

int message_check_attachments(const cJSON *list, size_t *n) {
  const cJSON *a;
  *n = 0;
  if (!list || cJSON_IsNull(list)) return CHAT_OK;
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > CHAT_ATTACHMENTS_MAX) return CHAT_E_ATTACHMENT_INVALID;
  cJSON_ArrayForEach(a, list) {
    if (!cJSON_IsString(a) || !attachment_valid_id(a->valuestring, strlen(a->valuestring)))
      return CHAT_E_ATTACHMENT_INVALID;
    for (const cJSON *b = list->child; b != a; b = b->next)
      if (strcmp(a->valuestring, b->valuestring) == 0) return CHAT_E_ATTACHMENT_INVALID;
    (*n)++;
  }
  return CHAT_OK;
}

int message_valid_client_id(const char *s, size_t n) {
  if (n < 1 || n > CHAT_CLIENT_ID_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '_' || ch == '-'))
      return 0;
  }
  return 1;
}

int message_read(const cJSON *o, message_row *w) {
  const cJSON *it;
  size_t n;
  int rc;
  if (!cJSON_IsObject(o)) return CHAT_E_NOT_OBJECT;
  if ((rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(o, "seq"), &w->seq)) < 0 ||
      (rc = json_get_uint53(cJSON_GetObjectItemCaseSensitive(o, "user_id"), &w->user_id)) < 0 ||
      (rc = json_get_string(o, "username", &w->username, &n)) < 0 ||
      (rc = json_get_string(o, "body", &w->body, &n)) < 0 ||
      (rc = json_get_string(o, "client_id", &w->client_id, &n)) < 0)
    return rc;
  it = cJSON_GetObjectItemCaseSensitive(o, "created_at");
  if (!cJSON_IsNumber(it)) return CHAT_E_FIELD_TYPE;
  w->created_at = it->valuedouble;
  it = cJSON_GetObjectItemCaseSensitive(o, "deleted_at");
  w->deleted = it && !cJSON_IsNull(it);
  /* what an edit, a reply and reactions add: optional (a retry's row has none) */
  it = cJSON_GetObjectItemCaseSensitive(o, "edited_at");
  w->edited_at = cJSON_IsNumber(it) ? it->valuedouble : 0;
  w->change = 0, w->reply_to = 0, w->reply_user_id = 0;
  it = cJSON_GetObjectItemCaseSensitive(o, "change");
  if (it && !cJSON_IsNull(it) && (rc = json_get_uint53(it, &w->change)) < 0) return rc;
  it = cJSON_GetObjectItemCaseSensitive(o, "reply_to");
  if (it && !cJSON_IsNull(it) && (rc = json_get_uint53(it, &w->reply_to)) < 0) return rc;
  it = cJSON_GetObjectItemCaseSensitive(o, "reply_user_id");
  if (it && !cJSON_IsNull(it) && (rc = json_get_uint53(it, &w->reply_user_id)) < 0) return rc;
  it = cJSON_GetObjectItemCaseSensitive(o, "reply_username");
  w->reply_username = cJSON_IsString(it) ? it->valuestring : NULL;
  it = cJSON_GetObjectItemCaseSensitive(o, "reply_body");
  w->reply_body = cJSON_IsString(it) ? it->valuestring : NULL;
  it = cJSON_GetObjectItemCaseSensitive(o, "reply_deleted_at");
  w->reply_deleted = it && !cJSON_IsNull(it);
  it = cJSON_GetObjectItemCaseSensitive(o, "reactions");
  if (it && !cJSON_IsNull(it) && !cJSON_IsArray(it)) return CHAT_E_FIELD_TYPE;
  w->reactions = cJSON_IsArray(it) ? it : NULL;
  it = cJSON_GetObjectItemCaseSensitive(o, "attachments");
  if (it && !cJSON_IsNull(it) && !cJSON_IsArray(it)) return CHAT_E_FIELD_TYPE;
  w->attachments = cJSON_GetArraySize(it) > 0 ? it : NULL;
  return CHAT_OK;
}

/* attachments: [{id, type, size, name, width?, height?, url}], as storage keeps
 * them; rows of another shape are left out. */
static int add_attachments(cJSON *o, const cJSON *rows) {
  static const char *const text[] = {"id", "type", "name", "url"}, *const nums[] = {"size", "width", "height"};
  const cJSON *r;
  cJSON *list = cJSON_AddArrayToObject(o, "attachments");
  if (!list) return CHAT_E_NOMEM;
  cJSON_ArrayForEach(r, rows) {
    int ok = 1;
    for (size_t k = 0; k < 4; k++) ok &= cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, text[k]));
    if (!ok) continue;
    cJSON *one = cJSON_CreateObject();
    if (json_push(list, one) < 0) return CHAT_E_NOMEM;
    for (size_t k = 0; k < 4; k++)
      if (json_add_str(one, text[k], cJSON_GetObjectItemCaseSensitive(r, text[k])->valuestring) < 0) return CHAT_E_NOMEM;
    for (size_t k = 0; k < 3; k++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, nums[k]);
      if (cJSON_IsNumber(v) && json_add_num(one, nums[k], v->valuedouble) < 0) return CHAT_E_NOMEM;
    }
  }
  return CHAT_OK;
}

/* reply_to: {seq, user: {id, username} | null, excerpt, deleted?}. */
static int add_quote(cJSON *o, const message_row *w) {
  cJSON *q = cJSON_CreateObject(), *user = NULL;
  int gone = w->reply_deleted || !w->reply_user_id || !w->reply_username || !w->reply_body;
  int rc = q ? json_add_num(q, "seq", (double)w->reply_to) : CHAT_E_NOMEM;
  if (rc >= 0 && !gone) {
    user = cJSON_CreateObject();
    if (!user || json_add_num(user, "id", (double)w->reply_user_id) < 0 ||
        json_add_str(user, "username", w->reply_username) < 0) {
      cJSON_Delete(user);
      user = NULL;
      rc = CHAT_E_NOMEM;
    }
  }
  if (rc >= 0) rc = json_add_item(q, "user", user ? user : cJSON_CreateNull());
  if (rc >= 0) {
    char excerpt[4 * CHAT_REPLY_EXCERPT_MAX + 1]; /* a code point is at most 4 bytes */
    const char *b = gone ? "" : w->reply_body;
    size_t n = utf8_prefix((const unsigned char *)b, strlen(b), CHAT_REPLY_EXCERPT_MAX);
    if (n >= sizeof excerpt) n = 0; /* not UTF-8 as the core wrote it: no text */
    memcpy(excerpt, b, n);
    excerpt[n] = 0;
    rc = json_add_str(q, "excerpt", excerpt);
  }
  if (rc >= 0 && gone) rc = json_add_bool(q, "deleted", 1);
  if (rc < 0) {
    cJSON_Delete(q);
    return rc;
  }
  return json_add_item(o, "reply_to", q);
}

/* reactions: [{emoji, count, me}] as storage counted them for the viewer; rows of
 * another shape are left out. */
static int add_reactions(cJSON *o, const cJSON *rows) {
  const cJSON *r;
  cJSON *list = NULL;
  cJSON_ArrayForEach(r, rows) {
    const cJSON *emoji = cJSON_GetObjectItemCaseSensitive(r, "emoji"), *count = cJSON_GetObjectItemCaseSensitive(r, "count"),
                *me = cJSON_GetObjectItemCaseSensitive(r, "me");
    if (!cJSON_IsString(emoji) || !cJSON_IsNumber(count) || count->valuedouble < 1) continue;
    cJSON *one = cJSON_CreateObject();
    if (!list && !(list = cJSON_AddArrayToObject(o, "reactions"))) {
      cJSON_Delete(one);
      return CHAT_E_NOMEM;
    }
    if (json_push(list, one) < 0 || json_add_str(one, "emoji", emoji->valuestring) < 0 ||
        json_add_num(one, "count", count->valuedouble) < 0 ||
        json_add_bool(one, "me", json_truthy(me)) < 0)
      return CHAT_E_NOMEM;
  }
  return CHAT_OK;
}

int message_add_fields(cJSON *o, const message_row *w) {
  cJSON *user = cJSON_CreateObject();
  int rc;
  if (!user || json_add_num(user, "id", (double)w->user_id) < 0 ||
      json_add_str(user, "username", w->username) < 0) {
    cJSON_Delete(user);
    return CHAT_E_NOMEM;
  }
  if ((rc = json_add_num(o, "seq", (double)w->seq)) < 0) {
    cJSON_Delete(user);
    return rc;
  }
  if ((rc = json_add_item(o, "user", user)) < 0 || (rc = json_add_str(o, "body", w->body)) < 0 ||
      (rc = json_add_str(o, "client_id", w->client_id)) < 0 || (rc = json_add_num(o, "created_at", w->created_at)) < 0)
    return rc;
  if (w->edited_at > 0 && (rc = json_add_num(o, "edited_at", w->edited_at)) < 0) return rc;
  if (w->reply_to && (rc = add_quote(o, w)) < 0) return rc;
  if (w->attachments && (rc = add_attachments(o, w->attachments)) < 0) return rc;
  return w->reactions ? add_reactions(o, w->reactions) : CHAT_OK;
}

int message_add_page(cJSON *o, const cJSON *rows, int page, const int64_t *blocked, size_t n_blocked) {
  int n = cJSON_GetArraySize(rows), rc = CHAT_OK;
  cJSON *list = cJSON_CreateArray();
  if (!list) return CHAT_E_NOMEM;
  for (int i = (n < page ? n : page) - 1; rc >= 0 && i >= 0; i--) {
    message_row w;
    if ((rc = message_read(cJSON_GetArrayItem(rows, i), &w)) < 0 || w.deleted) continue;
    cJSON *m = cJSON_CreateObject();
    int by_blocked = 0;
    for (size_t b = 0; b < n_blocked && !by_blocked; b++) by_blocked = blocked[b] == w.user_id;
    if (!m) rc = CHAT_E_NOMEM;
    else if ((rc = message_add_fields(m, &w)) < 0 || (by_blocked && (rc = json_add_bool(m, "blocked", 1)) < 0))
      cJSON_Delete(m);
    else rc = json_push(list, m);
  }
  if (rc < 0) {
    cJSON_Delete(list);
    return rc;
  }
  if ((rc = json_add_item(o, "messages", list)) < 0) return rc;
  return json_add_bool(o, "has_more", n > page);
}

/* A character of a username (auth.h). */
static int name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* A character that may come right before the '@' of an e-mail address (its local
 * part: letters, digits and RFC 5322's atext symbols), or any byte of a non-ASCII
 * character: after one of these an '@' is not a mention. */
static int address_char(unsigned char c) {
  return name_char(c) || c >= 0x80 || (c && strchr("!#$%&'*+/=?^`{|}~", c));
}

int message_mentions(const char *body, size_t len, char keys[][CHAT_USERNAME_MAX + 1]) {
  int n = 0;
  for (size_t i = 0; i < len && n < CHAT_MENTIONS_MAX; i++) {
    if (body[i] != '@' || (i > 0 && address_char((unsigned char)body[i - 1]))) continue;
    size_t start = i + 1, end = start;
    while (end < len && name_char((unsigned char)body[end])) end++;
    if (end > start) i = end - 1;
    size_t stop = end; /* a name ends before trailing punctuation: "@bob." is bob */
    while (stop > start && (body[stop - 1] == '.' || body[stop - 1] == '-' || body[stop - 1] == '_')) stop--;
    if (end < len && body[end] == '@') continue; /* "@a@b": an address, not a name */
    size_t k = stop - start;
    if (k < CHAT_USERNAME_MIN || k > CHAT_USERNAME_MAX) continue;
    char key[CHAT_USERNAME_MAX + 1];
    for (size_t j = 0; j < k; j++) {
      char c = body[start + j];
      key[j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    key[k] = 0;
    int seen = 0;
    for (int j = 0; j < n && !seen; j++) seen = strcmp(keys[j], key) == 0;
    if (!seen) memcpy(keys[n++], key, k + 1);
  }
  return n;
}
