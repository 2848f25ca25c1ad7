/*
 * account.h -- rules of what a person controls about their own account (issue
 * 20): how a session's client is described, display names, and the order of
 * an account's deletion.
 *
 * Pure functions over bytes and facts; no allocation, no clock. Limits are in
 * chat_limits.h. Password changes reuse auth.h's rules (api.h, PASSWORD_CHANGE).
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stddef.h>

#include "chat_limits.h"

/* Capacity of a client description, including its NUL ("Firefox on Android"). */
#define ACCOUNT_CLIENT_BYTES 48

/* A coarse description of the client behind a User-Agent header value (len bytes,
 * untrusted, any bytes): "<browser> on <system>", "<browser>", "<system>" or
 * "Unknown client", from a fixed list of names (so the description never repeats
 * what the client sent: no version, no device model, nothing that identifies a
 * person). Browsers, first match wins: Edge ("Edg/"), Opera ("OPR/"), Firefox,
 * Chrome ("Chrome/", "CriOS/", "Chromium/"), Safari ("Safari/"), curl, Node.js
 * ("node"); systems: Windows, Android, iOS ("iPhone", "iPad"), ChromeOS ("CrOS"),
 * macOS ("Mac OS X", "Macintosh"), Linux. Only the first CHAT_USER_AGENT_SCAN bytes
 * are read (linear time). Writes a NUL-terminated string into out and returns its
 * length. Never fails. */
size_t account_describe_client(const char *ua, size_t len, char out[ACCOUNT_CLIENT_BYTES]);

/* Display names (issue 20): how a person appears beside their username, which
 * stays their identity (unique, what others type to add or ban them). A display
 * name is Unicode text, normalised to NFKC as passwords are (auth.h: utf8proc,
 * UTF8PROC_STABLE, Unicode 15.0), so that "Ｊｏｅ" and "Joe", or "é" typed
 * either way, are one name; white space (category Zs) at either end is trimmed
 * from that form. The rules apply to the result:
 *   - 1 to CHAT_DISPLAY_NAME_MAX characters (code points), so at most
 *     4 * CHAT_DISPLAY_NAME_MAX bytes of UTF-8 (ACCOUNT_DISPLAY_NAME_BYTES);
 *   - no control character (Cc: C0, DEL, C1; tabs and newlines included), no line
 *     or paragraph separator (Zl, Zp), no format character (Cf: the bidirectional
 *     controls U+061C, U+200E, U+200F, U+202A-U+202E embeddings and overrides,
 *     U+2066-U+2069 isolates, and zero-width and invisible characters that could
 *     make two names look alike or reorder the text around the name: "Trojan
 *     Source", CVE-2021-42574) except U+200D ZERO WIDTH JOINER, which emoji
 *     sequences need; no surrogate, private-use or unassigned code point (Cs, Co,
 *     Cn), whose look no reader can know.
 * Errors, in this order: CHAT_E_DISPLAY_NAME_INVALID (not valid UTF-8, a NUL, or a
 * refused character), CHAT_E_DISPLAY_NAME_TOO_LONG, CHAT_E_DISPLAY_NAME_EMPTY
 * (nothing left after trimming). No allocation: the work buffer is on the stack
 * (ACCOUNT_NFKD_MAX_CODE_POINTS + 1 code points, about 4.5 KiB), and the time is
 * linear in len: an input whose decomposition is longer than any name's can be is
 * too long before it is composed. On success writes the normalised name into out
 * (not NUL-terminated) and its length into *out_len. */
#define ACCOUNT_DISPLAY_NAME_BYTES (4 * CHAT_DISPLAY_NAME_MAX)
#define ACCOUNT_NFKD_MAX_CODE_POINTS (CHAT_DISPLAY_NAME_MAX * 18) /* AUTH_NFKD_MAX_EXPANSION */
int account_check_display_name(const char *name, size_t len, char out[ACCOUNT_DISPLAY_NAME_BYTES],
                               size_t *out_len);

/* Whether one code point may appear in a display name (the rules above). */
int account_display_char_allowed(int cp);

/* The deletion of an account (DELETE /account {password}, api.h ACCOUNT_DELETE):
 * its effects, in the order the shell carries them out, X(name, what it does).
 * The order is the rule:
 *   1. Nothing new can start: every session is revoked and the password hash
 *      replaced by one no password verifies (a login, a request or a new socket
 *      made during the rest is refused), and the account is marked deleted.
 *   2. Nothing open can write: every socket of the user closes (4001, "account
 *      deleted"), in their hub and every room and conversation.
 *   3. Then the user's messages are erased, in each room's and conversation's own
 *      storage (a room's waiting outbox is flushed first, so no message of theirs
 *      is stored after): body emptied, marked deleted, as a deletion is stored;
 *      the room's sockets are told (account_deleted), and no route, history page,
 *      resume or export gives them again. After 2, so nothing arrives after it.
 *   4. Relations go: friendships, requests and blocks in both directions, the
 *      addresses recorded for the account, conversation previews of their
 *      messages. After 3, which finds the conversations through them.
 *   5. Presence goes: the hub's register of rooms and its counters.
 *   6. Last, the account's row becomes a tombstone: its name shown as
 *      ACCOUNT_TOMBSTONE, no display name; its username stays taken until
 *      release_at (CHAT_USERNAME_RELEASE_MS later), then any signup may take it.
 *      The row itself stays, as does moderation_log, whose rows name it by id.
 * Each effect is idempotent, so a deletion cut short is finished by running the
 * list again from the start. */
#define ACCOUNT_DELETION_STEPS(X)                                                         \
  X(revoke_sessions, "revoke every session, make the password unusable, mark deleted") \
  X(close_sockets, "close every socket of the user (4001)")                            \
  X(erase_messages, "tombstone the user's messages in every room and conversation")     \
  X(remove_relations, "friendships, requests, blocks (both ways), addresses, previews") \
  X(remove_presence, "the hub's presence register and counters")                       \
  X(tombstone_account, "the account row: shown as deleted, the name kept until release")

/* What others see in place of a deleted account's name and messages. */
#define ACCOUNT_TOMBSTONE "deleted account"

#endif
