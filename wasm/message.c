#include "message.h"

#include <string.h>

#include "chat_error.h"
#include "chat_limits.h"
#include "json_in.h"
#include "json_out.h"
#include "utf8.h"

int message_check_body(const char *s, size_t n) {
  int visible = 0;
  for (size_t i = 0; i < n && !visible; i++)
    visible = !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r');
  if (!visible) return CHAT_E_BODY_EMPTY;
  if (utf8_count((const unsigned char *)s, n) > CHAT_MESSAGE_MAX) return CHAT_E_BODY_TOO_LONG;
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
      (rc = json_add_str(o, "client_id", w->client_id)) < 0)
    return rc;
  return json_add_num(o, "created_at", w->created_at);
}

int message_add_page(cJSON *o, const cJSON *rows, int page) {
  int n = cJSON_GetArraySize(rows), rc = CHAT_OK;
  cJSON *list = cJSON_CreateArray();
  if (!list) return CHAT_E_NOMEM;
  for (int i = (n < page ? n : page) - 1; rc >= 0 && i >= 0; i--) {
    message_row w;
    if ((rc = message_read(cJSON_GetArrayItem(rows, i), &w)) < 0 || w.deleted) continue;
    cJSON *m = cJSON_CreateObject();
    if (!m) rc = CHAT_E_NOMEM;
    else if ((rc = message_add_fields(m, &w)) < 0) cJSON_Delete(m);
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
