/*
 * social.h -- friendship and block rules.
 *
 * The relation between two users, seen from one of them ("me"), is one of NONE,
 * OUTGOING (I asked them), INCOMING (they asked me) or FRIENDS, plus two
 * independent facts: whether I block them and whether they block me. D1 stores the
 * relation (worker/social.ts); this module decides every change of it and what
 * the other person is told. Pure: no allocation, no I/O.
 *
 * Rules (issue #4):
 * - add: NONE -> OUTGOING (they are told of the request); INCOMING -> FRIENDS
 *   (they are told it was accepted). Refused: myself; a user I block (unblock
 *   first); a user who blocks me (request_refused, which does not say why);
 *   already friends; already requested.
 * - remove: OUTGOING -> NONE (request cancelled), INCOMING -> NONE (declined),
 *   FRIENDS -> NONE (unfriended); the other person is told. NONE: no_relation.
 * - block: ends any friendship or request, silently (the blocked person is never
 *   told); unblock lifts it and restores nothing else.
 * - A direct-message conversation is open while the two are friends and neither
 *   blocks the other; otherwise its history stays readable but nothing new is sent.
 * - A block hides the blocked person's messages from the blocker wherever a message
 *   body or its preview would reach them (social_shows): room and conversation
 *   sockets and history (room.h), the conversation list's last message and unread
 *   count (api.h CHAT_OP_DMS_PAGE) and notifications pushed to the personal socket
 *   (CHAT_OP_NOTIFY_CHECK). Unblocking shows them again; nothing is deleted.
 * - Presence (issue 15): whether someone is online (has a personal socket open)
 *   is shown to their friends only, and not while either blocks the other
 *   (social_shows_presence). Each is told at connect who of their friends is
 *   online (friends_presence) and then each change (friend_presence), per user,
 *   not per socket (CHAT_OP_FRIENDS_ONLINE, CHAT_OP_PRESENCE_TELL in api.h).
 *   Ending a friendship or a block stops it at the next change; nobody is told.
 */
#ifndef SOCIAL_H
#define SOCIAL_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"

typedef enum { SOCIAL_NONE, SOCIAL_OUTGOING, SOCIAL_INCOMING, SOCIAL_FRIENDS } social_state;

typedef enum { SOCIAL_ADD, SOCIAL_REMOVE, SOCIAL_BLOCK, SOCIAL_UNBLOCK } social_action;

/* What the other person is told, as the `type` of a frame on their personal socket. */
typedef enum {
  SOCIAL_TELL_NOTHING,
  SOCIAL_TELL_REQUEST,   /* "friend_request" */
  SOCIAL_TELL_ACCEPTED,  /* "friend_accepted" */
  SOCIAL_TELL_CANCELLED, /* "friend_request_cancelled" */
  SOCIAL_TELL_DECLINED,  /* "friend_request_declined" */
  SOCIAL_TELL_REMOVED    /* "friend_removed" */
} social_tell;

typedef struct {
  social_state state;
  int i_block, they_block;
} social_facts;

/* Applies `action` by me to the relation `f` with another user (self: they are
 * me). On success returns CHAT_OK, writes the new facts to *next and what to tell
 * them to *tell. Errors (f unchanged, *next untouched): CHAT_E_SELF,
 * CHAT_E_YOU_BLOCK, CHAT_E_REQUEST_REFUSED, CHAT_E_ALREADY_FRIENDS,
 * CHAT_E_ALREADY_REQUESTED, CHAT_E_NO_RELATION, CHAT_E_ALREADY_BLOCKED,
 * CHAT_E_NOT_BLOCKED. */
int social_apply(social_action action, int self, const social_facts *f, social_facts *next,
                 social_tell *tell);

/* Which count budget (budget.h) a change from `before` to `after` uses, or -1:
 * a request sent (-> OUTGOING) uses one of my pending requests, a friendship made
 * (-> FRIENDS) one friend of each of us, a block (i_block 0 -> 1) one of my blocks.
 * A change that tells the other person (social_apply's tell) also uses one of my
 * friend actions of the hour (BUDGET_FRIEND_ACTIONS). */
int social_spends(const social_facts *before, const social_facts *after);

/* Whether a direct-message conversation between the two is open: 1 or 0. */
int social_dm_open(const social_facts *f);

/* Whether one user's online state is shown to the other: 1 when they are
 * friends and neither blocks the other, else 0. Symmetric: `f` may be either
 * one's view of the relation. */
int social_shows_presence(const social_facts *f);

/* Whether a viewer who blocks the `n` users in `blocks` (ids, any order) is shown
 * what `author` wrote: 0 if the viewer blocks them, else 1. */
int social_shows(int64_t author, const int64_t *blocks, size_t n);

/* Names for the wire: "none", "outgoing", "incoming", "friends"; and the frame
 * type of a tell (NULL for SOCIAL_TELL_NOTHING). Parsing returns -1 for unknown. */
const char *social_state_name(social_state s);
int social_state_parse(const char *name);
const char *social_tell_type(social_tell t);

#endif
