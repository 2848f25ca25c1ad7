/*
 * chat_error.h -- the one error enum of the chat core.
 *
 * Every fallible function returns an int: >= 0 on success, one of these negative
 * codes otherwise, and leaves its state unchanged on error. chat_error_name() gives
 * the stable wire name (the "code" of {"error":{"code","message"}} and of error
 * frames); chat_error_message() a sentence for people. Codes the shell detects
 * itself (routing, D1 uniqueness, HTTP framing) are listed here too, so the
 * TypeScript side has a single table: worker/errors.ts maps each name to an HTTP
 * status. Numbers are part of the Wasm ABI: append, never renumber.
 *
 * X(symbol, number, wire name, class, message). The class says what a code means
 * for whoever holds the core (nghttp2 tells its fatal errors apart the same way,
 * NGHTTP2_ERR_FATAL); gen_protocol.c prints it into worker/generated/core.ts, and
 * the shell keeps no list of codes of its own:
 * - REFUSAL: what a client sent or asked is refused. The client gets the error (an
 *   error frame, an HTTP status) and nothing else changes: the core, the room and
 *   every other client go on as before. An object never drops its core because of
 *   one client's input.
 * - FATAL: the core itself failed (out of memory, called out of order, a broken
 *   invariant). Its state can no longer be trusted: the shell discards the
 *   instance (or the room) and rebuilds it, as after a trap.
 * Messages that name a limit are built from chat_limits.h's constants.
 */
#ifndef CHAT_ERROR_H
#define CHAT_ERROR_H

#include "chat_limits.h"

/* The classes of the column above. */
typedef enum { CHAT_REFUSAL, CHAT_FATAL } chat_error_class;

#define CHAT_ERRORS(X)                                                                                 \
  X(CHAT_E_NOMEM, -1, "out_of_memory", FATAL,                                                          \
    "The server ran out of memory for this request.")                                                  \
  X(CHAT_E_BUFFER_TOO_SMALL, -2, "buffer_too_small", FATAL,                                            \
    "Output buffer too small.")                                                                        \
  X(CHAT_E_UNKNOWN_OP, -3, "unknown_op", FATAL,                                                        \
    "Unknown core operation.")                                                                         \
  X(CHAT_E_BAD_JSON, -4, "bad_json", REFUSAL,                                                          \
    "Not valid JSON in UTF-8.")                                                                        \
  X(CHAT_E_NOT_OBJECT, -5, "not_object", REFUSAL,                                                      \
    "Expected a JSON object.")                                                                         \
  X(CHAT_E_FIELD_MISSING, -6, "field_missing", REFUSAL,                                                \
    "A required field is missing.")                                                                    \
  X(CHAT_E_FIELD_TYPE, -7, "field_type", REFUSAL,                                                      \
    "A field has the wrong type.")                                                                     \
  X(CHAT_E_USERNAME_TOO_SHORT, -8, "username_too_short", REFUSAL,                                      \
    "Usernames have at least " CHAT_STR(CHAT_USERNAME_MIN) " characters.")                             \
  X(CHAT_E_USERNAME_TOO_LONG, -9, "username_too_long", REFUSAL,                                        \
    "Usernames have at most " CHAT_STR(CHAT_USERNAME_MAX) " characters.")                              \
  X(CHAT_E_USERNAME_CHARS, -10, "username_invalid_chars", REFUSAL,                                     \
    "Usernames use only ASCII letters, digits, '_', '-' and '.'.")                                     \
  X(CHAT_E_PASSWORD_TOO_SHORT, -11, "password_too_short", REFUSAL,                                     \
    "Passwords have at least " CHAT_STR(CHAT_PASSWORD_MIN) " bytes.")                                  \
  X(CHAT_E_PASSWORD_TOO_LONG, -12, "password_too_long", REFUSAL,                                       \
    "Passwords have at most " CHAT_STR(CHAT_PASSWORD_MAX) " bytes.")                                   \
  X(CHAT_E_PASSWORD_UTF8, -13, "password_invalid_utf8", REFUSAL,                                       \
    "Passwords must be valid UTF-8 without NUL characters.")                                           \
  X(CHAT_E_BAD_CREDENTIALS, -14, "invalid_credentials", REFUSAL,                                       \
    "Wrong username or password.")                                                                     \
  X(CHAT_E_TOKEN_MISSING, -15, "token_missing", REFUSAL,                                               \
    "A session token is required.")                                                                    \
  X(CHAT_E_TOKEN_MALFORMED, -16, "token_malformed", REFUSAL,                                           \
    "The session token is malformed.")                                                                 \
  X(CHAT_E_UNAUTHORIZED, -17, "unauthorized", REFUSAL,                                                 \
    "The session is unknown, expired or revoked.")                                                     \
  X(CHAT_E_CRYPTO, -18, "crypto_failure", FATAL,                                                       \
    "A cryptographic operation failed.")                                                               \
  X(CHAT_E_USERNAME_TAKEN, -19, "username_taken", REFUSAL,                                             \
    "That username is taken.")                                                                         \
  X(CHAT_E_NOT_FOUND, -20, "not_found", REFUSAL,                                                       \
    "No such route.")                                                                                  \
  X(CHAT_E_METHOD, -21, "method_not_allowed", REFUSAL,                                                 \
    "That method is not allowed here.")                                                                \
  X(CHAT_E_CONTENT_TYPE, -22, "unsupported_media_type", REFUSAL,                                       \
    "Send the body as application/json.")                                                              \
  X(CHAT_E_BODY_TOO_LARGE, -23, "payload_too_large", REFUSAL,                                          \
    "The body is larger than " CHAT_STR(CHAT_HTTP_BODY_MAX_KIB) " KiB.")                               \
  X(CHAT_E_INTERNAL, -24, "internal", FATAL,                                                           \
    "Internal error; the request was not carried out.")                                                \
  X(CHAT_E_UPGRADE_REQUIRED, -25, "upgrade_required", REFUSAL,                                         \
    "This endpoint is a WebSocket.")                                                                   \
  X(CHAT_E_FRAME_TOO_LARGE, -26, "frame_too_large", REFUSAL,                                           \
    "Frames are at most " CHAT_STR(CHAT_FRAME_MAX_KIB) " KiB.")                                        \
  X(CHAT_E_UNKNOWN_TYPE, -27, "unknown_type", REFUSAL,                                                 \
    "Unknown frame type.")                                                                             \
  X(CHAT_E_REF_INVALID, -28, "ref_invalid", REFUSAL,                                                   \
    "ref is a string of at most " CHAT_STR(CHAT_REF_MAX) " bytes.")                                    \
  X(CHAT_E_ROOM_NAME_EMPTY, -29, "room_name_empty", REFUSAL,                                           \
    "Room names have at least 1 character.")                                                           \
  X(CHAT_E_ROOM_NAME_TOO_LONG, -30, "room_name_too_long", REFUSAL,                                     \
    "Room names have at most " CHAT_STR(CHAT_ROOM_NAME_MAX) " characters.")                            \
  X(CHAT_E_ROOM_NAME_INVALID, -31, "room_name_invalid", REFUSAL,                                       \
    "Room names may not contain control characters or start or end with a space.")                     \
  X(CHAT_E_ROOM_NAME_TAKEN, -32, "room_name_taken", REFUSAL,                                           \
    "A room with that name exists.")                                                                   \
  X(CHAT_E_ROOM_NOT_FOUND, -33, "room_not_found", REFUSAL,                                             \
    "No such room.")                                                                                   \
  X(CHAT_E_BODY_EMPTY, -34, "body_empty", REFUSAL,                                                     \
    "Messages need at least one visible character.")                                                   \
  X(CHAT_E_BODY_TOO_LONG, -35, "body_too_long", REFUSAL,                                               \
    "Messages have at most " CHAT_STR(CHAT_MESSAGE_MAX) " characters.")                                \
  X(CHAT_E_CLIENT_ID_INVALID, -36, "client_id_invalid", REFUSAL,                                       \
    "client_id is 1 to " CHAT_STR(CHAT_CLIENT_ID_MAX) " characters of letters, digits, '_' and '-'.")  \
  X(CHAT_E_SEQ_INVALID, -37, "seq_invalid", REFUSAL,                                                   \
    "A sequence number is an integer >= 0.")                                                           \
  X(CHAT_E_MESSAGE_NOT_FOUND, -38, "message_not_found", REFUSAL,                                       \
    "No such message.")                                                                                \
  X(CHAT_E_FORBIDDEN, -39, "forbidden", REFUSAL,                                                       \
    "You may not do that.")                                                                            \
  X(CHAT_E_RATE_LIMITED, -40, "rate_limited", REFUSAL,                                                 \
    "Too many frames; slow down.")                                                                     \
  X(CHAT_E_NOT_JOINED, -41, "not_joined", REFUSAL,                                                     \
    "Send join_room first.")                                                                           \
  X(CHAT_E_QUERY_INVALID, -42, "query_invalid", REFUSAL,                                               \
    "Invalid query parameter.")                                                                        \
  X(CHAT_E_ROOM_FULL, -43, "room_full", REFUSAL,                                                       \
    "The room has too many connections.")                                                              \
  X(CHAT_E_MISUSE, -44, "misuse", FATAL,                                                               \
    "The core was called out of order.")                                                               \
  X(CHAT_E_USER_NOT_FOUND, -45, "user_not_found", REFUSAL,                                             \
    "No such user.")                                                                                   \
  X(CHAT_E_SELF, -46, "cannot_target_self", REFUSAL,                                                   \
    "You cannot do that to yourself.")                                                                 \
  X(CHAT_E_ALREADY_FRIENDS, -47, "already_friends", REFUSAL,                                           \
    "You are already friends.")                                                                        \
  X(CHAT_E_ALREADY_REQUESTED, -48, "already_requested", REFUSAL,                                       \
    "You have already sent a request.")                                                                \
  X(CHAT_E_REQUEST_REFUSED, -49, "request_refused", REFUSAL,                                           \
    "This user does not accept your request.")                                                         \
  X(CHAT_E_YOU_BLOCK, -50, "user_blocked", REFUSAL,                                                    \
    "You block this user: unblock them first.")                                                        \
  X(CHAT_E_NO_RELATION, -51, "no_relation", REFUSAL,                                                   \
    "There is no friendship or request to remove.")                                                    \
  X(CHAT_E_ALREADY_BLOCKED, -52, "already_blocked", REFUSAL,                                           \
    "You already block this user.")                                                                    \
  X(CHAT_E_NOT_BLOCKED, -53, "not_blocked", REFUSAL,                                                   \
    "You do not block this user.")                                                                     \
  X(CHAT_E_NOT_FRIENDS, -54, "not_friends", REFUSAL,                                                   \
    "Direct messages are only between friends.")                                                       \
  X(CHAT_E_DM_CLOSED, -55, "dm_closed", REFUSAL,                                                       \
    "This conversation is closed to new messages.")                                                    \
  X(CHAT_E_NOT_MEMBER, -56, "not_member", REFUSAL,                                                     \
    "You are not in this conversation.")                                                               \
  X(CHAT_E_TOO_MANY_CONNECTIONS, -57, "too_many_connections", REFUSAL,                                 \
    "You have too many sockets open in this room.")                                                    \
  X(CHAT_E_ADMIN_ONLY, -58, "admin_only", REFUSAL,                                                     \
    "Only an ADMIN may do that.")                                                                      \
  X(CHAT_E_CANNOT_BAN_ADMIN, -59, "cannot_ban_admin", REFUSAL,                                         \
    "An ADMIN cannot be banned.")                                                                      \
  X(CHAT_E_ALREADY_BANNED, -60, "already_banned", REFUSAL,                                             \
    "This user is already banned.")                                                                    \
  X(CHAT_E_NOT_BANNED, -61, "not_banned", REFUSAL,                                                     \
    "This user is not banned.")                                                                        \
  X(CHAT_E_ALREADY_ADMIN, -62, "already_admin", REFUSAL,                                               \
    "This user is already an ADMIN.")                                                                  \
  X(CHAT_E_BANNED, -63, "banned", REFUSAL,                                                             \
    "This account is banned.")                                                                         \
  X(CHAT_E_IP_BANNED, -64, "ip_banned", REFUSAL,                                                       \
    "Requests from this address are refused.")                                                         \
  X(CHAT_E_TOO_MANY_ATTEMPTS, -65, "too_many_attempts", REFUSAL,                                       \
    "Too many failed logins; try again later.")                                                        \
  X(CHAT_E_REASON_TOO_LONG, -66, "reason_too_long", REFUSAL,                                           \
    "A reason has at most " CHAT_STR(CHAT_REASON_MAX) " characters.")                                  \
  X(CHAT_E_ORIGIN_NOT_ALLOWED, -67, "origin_not_allowed", REFUSAL,                                     \
    "This site may not open sockets here.")                                                            \
  X(CHAT_E_LIMIT_REACHED, -68, "limit_reached", REFUSAL,                                               \
    "You have reached a limit of this service; the answer names it.")                               \
  X(CHAT_E_WRONG_PASSWORD, -69, "wrong_password", REFUSAL,                                             \
    "The current password is not right.")                                                           \
  X(CHAT_E_DISPLAY_NAME_EMPTY, -72, "display_name_empty", REFUSAL,                                     \
    "A display name cannot be empty or only spaces.")                                                \
  X(CHAT_E_DISPLAY_NAME_TOO_LONG, -73, "display_name_too_long", REFUSAL,                               \
    "A display name has at most " CHAT_STR(CHAT_DISPLAY_NAME_MAX) " characters.")                    \
  X(CHAT_E_DISPLAY_NAME_INVALID, -74, "display_name_invalid", REFUSAL,                                 \
    "A display name cannot contain control, formatting or bidirectional-override characters.")                                                           \
  X(CHAT_E_NOT_INVITED, -70, "not_invited", REFUSAL,                                                   \
    "This room is private: only people its owner invited may join it.")                                \
  X(CHAT_E_MEMBERS_FULL, -71, "members_full", REFUSAL,                                                 \
    "This room has as many members as it may hold (" CHAT_STR(CHAT_ROOM_MEMBERS_MAX) ").")                                \
  X(CHAT_E_NOT_AUTHOR, -75, "not_author", REFUSAL,                                                     \
    "Only the author of a message may edit it.")                                                       \
  X(CHAT_E_REACTION_INVALID, -76, "reaction_invalid", REFUSAL,                                         \
    "A reaction is 1 to " CHAT_STR(CHAT_REACTION_CODEPOINTS_MAX) " characters (an emoji), without "    \
    "spaces or control characters.")                                                                   \
  X(CHAT_E_REACTIONS_FULL, -77, "reactions_full", REFUSAL,                                             \
    "This message has as many different reactions as it may hold ("                                    \
    CHAT_STR(CHAT_REACTIONS_DISTINCT_MAX) ").")                                                        \
  X(CHAT_E_REACTION_LIMIT, -78, "reaction_limit", REFUSAL,                                             \
    "You have put as many reactions on this message as you may ("                                      \
    CHAT_STR(CHAT_REACTIONS_PER_USER_MAX) ").")                                                        \
  X(CHAT_E_REPLY_NOT_FOUND, -79, "reply_not_found", REFUSAL,                                           \
    "The message you reply to is not in this conversation.")                                           \
  X(CHAT_E_ATTACHMENT_TOO_LARGE, -80, "attachment_too_large", REFUSAL,                                 \
    "Files have at most " CHAT_STR(CHAT_ATTACHMENT_MIB_MAX) " MiB.")                                  \
  X(CHAT_E_ATTACHMENT_MISMATCH, -81, "attachment_mismatch", REFUSAL,                                   \
    "This file is not the kind of file its name says.")                                                \
  X(CHAT_E_IMAGE_INVALID, -82, "image_invalid", REFUSAL,                                               \
    "This image cannot be read, or holds web page code.")                                              \
  X(CHAT_E_IMAGE_TOO_LARGE, -83, "image_too_large", REFUSAL,                                           \
    "Images have at most " CHAT_STR(CHAT_IMAGE_SIDE_MAX) " pixels a side and 89 million in all.")      \
  X(CHAT_E_ATTACHMENT_INVALID, -84, "attachment_invalid", REFUSAL,                                     \
    "That attachment cannot be sent here: upload it again.")                                           \
  X(CHAT_E_LENGTH_REQUIRED, -85, "length_required", REFUSAL,                                           \
    "Send the file with its Content-Length.")                                                          \
  X(CHAT_E_PWHASH_PENDING, -86, "pwhash_pending", FATAL,                                               \
    "A password hash is being computed: the host runs it (pwhash.h), then asks again.")

typedef enum {
  CHAT_OK = 0,
#define CHAT_ERROR_ENUM(sym, num, name, cls, msg) sym = (num),
  CHAT_ERRORS(CHAT_ERROR_ENUM)
#undef CHAT_ERROR_ENUM
} chat_error;

/* The stable wire name of a code ("bad_json"), or "unknown_error" for a value
 * that is not a code. Never NULL; static storage. */
const char *chat_error_name(int code);

/* A human sentence for a code, or a generic one. Never NULL; static storage. */
const char *chat_error_message(int code);

/* The class of a code; CHAT_FATAL for a value that is not a code. */
chat_error_class chat_error_class_of(int code);

/* "refusal" or "fatal". Static storage. */
const char *chat_error_class_name(chat_error_class c);

#endif
