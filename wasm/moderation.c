#include "moderation.h"

#include <string.h>

#include "chat_error.h"

int moderation_decide(moderation_action action, const moderation_facts *f) {
  if (!f->actor_admin) return CHAT_E_ADMIN_ONLY;
  if (action == MODERATION_VIEW) return CHAT_OK;
  if (f->self) return CHAT_E_SELF;
  switch (action) {
    case MODERATION_BAN:
      if (f->target_admin) return CHAT_E_CANNOT_BAN_ADMIN;
      return f->target_banned ? CHAT_E_ALREADY_BANNED : CHAT_OK;
    case MODERATION_UNBAN:
      return f->target_banned ? CHAT_OK : CHAT_E_NOT_BANNED;
    case MODERATION_PROMOTE:
      if (f->target_admin) return CHAT_E_ALREADY_ADMIN;
      return f->target_banned ? CHAT_E_BANNED : CHAT_OK;
    case MODERATION_VIEW:
      break;
  }
  return CHAT_E_FIELD_TYPE;
}

int moderation_action_parse(const char *name) {
  static const char *const names[] = {"ban", "unban", "promote", "view"};
  for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}
