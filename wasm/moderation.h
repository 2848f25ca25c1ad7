/*
 * moderation.h -- who may ban, unban and promote whom, and who may see the bans.
 *
 * Pure rules over facts the shell looks up (roles, whether a ban exists); no
 * allocation, no I/O. Login throttling, the other half of keeping accounts safe,
 * is throttle.h.
 *
 * Rules (issue #5): only an ADMIN may ban, unban or promote, or see the bans and
 * the audit trail; nobody may do it to themselves; an ADMIN is never banned; a user
 * is banned once and unbanned once; a banned user is not promoted. The actor's role
 * comes in the facts: the shell has no rule of its own about roles.
 */
#ifndef MODERATION_H
#define MODERATION_H

typedef enum { MODERATION_BAN, MODERATION_UNBAN, MODERATION_PROMOTE, MODERATION_VIEW } moderation_action;

typedef struct {
  int actor_admin;   /* the caller is an ADMIN */
  int self;          /* the target is the caller */
  int target_admin;  /* the target is an ADMIN */
  int target_banned; /* the target is banned now */
} moderation_facts;

/* CHAT_OK if the action is allowed, else CHAT_E_ADMIN_ONLY, CHAT_E_SELF,
 * CHAT_E_CANNOT_BAN_ADMIN, CHAT_E_ALREADY_BANNED, CHAT_E_NOT_BANNED,
 * CHAT_E_ALREADY_ADMIN or CHAT_E_BANNED (promoting a banned user). MODERATION_VIEW
 * (the ban list and the audit trail) has no target: only actor_admin counts. */
int moderation_decide(moderation_action action, const moderation_facts *f);

/* The action named `name` ("ban", "unban", "promote", "view"), or -1. */
int moderation_action_parse(const char *name);

#endif
