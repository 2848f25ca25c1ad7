/*
 * message.h -- chat messages: the rules of a new one, and a stored one as a row
 * (from the shell) and as wire JSON.
 *
 * A row comes from a room's storage as {seq, user_id, username, body, client_id,
 * created_at, deleted_at, and optionally edited_at, change, reply_to,
 * reply_user_id, reply_username, reply_body, reply_deleted_at, reactions: [{emoji,
 * count, me}]} (the reply_* columns: the original a reply quotes, as it is now;
 * reactions: counted for the viewer, without those of people they block); on the
 * wire a message is {seq, user: {id, username}, body, client_id, created_at,
 * edited_at?, reply_to?: {seq, user: {id, username} | null, excerpt, deleted?},
 * reactions?: [{emoji, count, me}], attachments?: [{id, type, size, name, width?,
 * height?, url}]}. Limits: chat_limits.h.
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
  double edited_at;                        /* ms since the Unix epoch; 0: never edited */
  int64_t change;                          /* the room's number of its last change; 0: none */
  int64_t reply_to;                        /* the seq it replies to; 0: not a reply */
  int64_t reply_user_id;                   /* the original's author; 0: unknown (not found) */
  const char *reply_username, *reply_body; /* the original's (NULL: unknown) */
  int reply_deleted;                       /* the original is deleted */
  const cJSON *reactions;                  /* [{emoji, count, me}] or NULL (in the row's tree) */
  const cJSON *attachments;                /* [{id, type, size, name, width?, height?, url}] or NULL */
} message_row;

/* Checks a body (len bytes of valid UTF-8): 1..CHAT_MESSAGE_MAX code points, not
 * only whitespace. Errors: CHAT_E_BODY_EMPTY, CHAT_E_BODY_TOO_LONG. */
int message_check_body(const char *body, size_t len);

/* Checks a reaction (len bytes of valid UTF-8): 1..CHAT_REACTION_CODEPOINTS_MAX
 * code points in at most CHAT_REACTION_BYTES_MAX bytes, none of them whitespace
 * (Unicode's White_Space property), a control character (Cc), an invisible
 * character (U+200B, U+2060, U+FEFF) or a bidirectional formatting character
 * (UAX #9: U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), which could
 * make two reactions look alike (UTS #39 section 3 lists such characters among
 * the causes of confusables). Error: CHAT_E_REACTION_INVALID. */
int message_check_reaction(const char *s, size_t len);

/* A new message's attachments ("attachments" of its frame; NULL or JSON null for
 * none): an array of at most CHAT_ATTACHMENTS_MAX distinct attachment ids
 * (attachment.h attachment_valid_id). Sets *n to how many. Error:
 * CHAT_E_ATTACHMENT_INVALID. A message with attachments may have no text: its body
 * is then only checked for length. Whose and where the files are is checked when
 * the message is stored (room_outbox.c). */
int message_check_attachments(const cJSON *list, size_t *n);

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

/* Adds the wire fields of a message to object o: a reply's quote is the first
 * CHAT_REPLY_EXCERPT_MAX code points of its original's body, or {deleted: true}
 * with no user or text once the original is deleted or not found. CHAT_OK or
 * CHAT_E_NOMEM. */
int message_add_fields(cJSON *o, const message_row *m);

/* Adds "messages" (at most `page` of `rows`, which come newest first, oldest
 * first on the wire, tombstoned ones left out; those by the n_blocked users of
 * `blocked` marked "blocked": true, for the client to show as a hidden message it
 * may reveal) and "has_more" (there were more rows than `page`) to o. Errors:
 * those of message_read, CHAT_E_NOMEM. */
int message_add_page(cJSON *o, const cJSON *rows, int page, const int64_t *blocked, size_t n_blocked);

#endif
