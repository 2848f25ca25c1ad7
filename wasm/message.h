/*
 * message.h -- chat messages: the rules of a new one, and a stored one as a row
 * (from the shell) and as wire JSON.
 *
 * A row comes from a room's storage as {seq, user_id, username, body, client_id,
 * created_at, deleted_at}; on the wire a message is {seq, user: {id, username},
 * body, client_id, created_at}. Limits: chat_limits.h.
 */
#ifndef MESSAGE_H
#define MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "chat_limits.h"

#include "cJSON.h"

typedef struct {
  int64_t seq, user_id;
  const char *username, *body, *client_id; /* point into the row's JSON tree */
  double created_at;                       /* ms since the Unix epoch */
  int deleted;                             /* it has a tombstone */
} message_row;

/* Checks a body (len bytes of valid UTF-8): 1..CHAT_MESSAGE_MAX code points, not
 * only whitespace. Errors: CHAT_E_BODY_EMPTY, CHAT_E_BODY_TOO_LONG. */
int message_check_body(const char *body, size_t len);

/* Whether a client_id is 1..CHAT_CLIENT_ID_MAX bytes of [A-Za-z0-9_-]. */
int message_valid_client_id(const char *id, size_t len);

/* The people a body (len bytes of UTF-8) mentions: each "@name" where name is a
 * username (auth.h: CHAT_USERNAME_MIN..CHAT_USERNAME_MAX of [A-Za-z0-9_.-], a
 * trailing '.', '-' or '_' left out as punctuation) and the '@' begins the body or
 * follows a character that cannot be in an e-mail address's local part (so
 * "bob@example.com" mentions nobody). Writes the distinct names' keys (lowercase)
 * into keys, at most CHAT_MENTIONS_MAX, in order of first mention; returns how
 * many. Linear in len. */
int message_mentions(const char *body, size_t len, char keys[][CHAT_USERNAME_MAX + 1]);

/* Reads a stored row. Errors: CHAT_E_NOT_OBJECT, CHAT_E_FIELD_MISSING,
 * CHAT_E_FIELD_TYPE. */
int message_read(const cJSON *row, message_row *out);

/* Adds the wire fields of a message to object o. CHAT_OK or CHAT_E_NOMEM. */
int message_add_fields(cJSON *o, const message_row *m);

/* Adds "messages" (at most `page` of `rows`, which come newest first, oldest
 * first on the wire, tombstoned ones left out) and "has_more" (there were more
 * rows than `page`) to o. Errors: those of message_read, CHAT_E_NOMEM. */
int message_add_page(cJSON *o, const cJSON *rows, int page);

#endif
