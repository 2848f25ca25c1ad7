#include "social.h"

#include <string.h>

#include "chat_error.h"
#include "chat_frames.h"

static const char *const state_names[] = {"none", "outgoing", "incoming", "friends"};

int social_apply(social_action action, int self, const social_facts *f, social_facts *next,
                 social_tell *tell) {
  social_facts n = *f;
  social_tell t = SOCIAL_TELL_NOTHING;
  if (self) return action == SOCIAL_REMOVE ? CHAT_E_NO_RELATION : CHAT_E_SELF;
  switch (action) {
    case SOCIAL_ADD:
      if (f->i_block) return CHAT_E_YOU_BLOCK;
      if (f->they_block) return CHAT_E_REQUEST_REFUSED;
      if (f->state == SOCIAL_FRIENDS) return CHAT_E_ALREADY_FRIENDS;
      if (f->state == SOCIAL_OUTGOING) return CHAT_E_ALREADY_REQUESTED;
      n.state = f->state == SOCIAL_INCOMING ? SOCIAL_FRIENDS : SOCIAL_OUTGOING;
      t = f->state == SOCIAL_INCOMING ? SOCIAL_TELL_ACCEPTED : SOCIAL_TELL_REQUEST;
      break;
    case SOCIAL_REMOVE:
      if (f->state == SOCIAL_NONE) return CHAT_E_NO_RELATION;
      t = f->state == SOCIAL_OUTGOING   ? SOCIAL_TELL_CANCELLED
          : f->state == SOCIAL_INCOMING ? SOCIAL_TELL_DECLINED
                                        : SOCIAL_TELL_REMOVED;
      n.state = SOCIAL_NONE;
      break;
    case SOCIAL_BLOCK:
      if (f->i_block) return CHAT_E_ALREADY_BLOCKED;
      n.i_block = 1;
      n.state = SOCIAL_NONE; /* ends friendship and requests; nobody is told */
      break;
    case SOCIAL_UNBLOCK:
      if (!f->i_block) return CHAT_E_NOT_BLOCKED;
      n.i_block = 0;
      break;
  }
  *next = n;
  *tell = t;
  return CHAT_OK;
}

int social_spends(const social_facts *before, const social_facts *after) {
  if (after->i_block && !before->i_block) return BUDGET_BLOCKS;
  if (after->state == SOCIAL_FRIENDS && before->state != SOCIAL_FRIENDS) return BUDGET_FRIENDS;
  if (after->state == SOCIAL_OUTGOING && before->state != SOCIAL_OUTGOING) return BUDGET_PENDING_REQUESTS;
  return -1;
}

int social_dm_open(const social_facts *f) {
  return f->state == SOCIAL_FRIENDS && !f->i_block && !f->they_block;
}

int social_shows_presence(const social_facts *f) {
  return f->state == SOCIAL_FRIENDS && !f->i_block && !f->they_block;
}

int social_shows(int64_t author, const int64_t *blocks, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (blocks[i] == author) return 0;
  return 1;
}

const char *social_state_name(social_state s) { return state_names[s]; }

int social_state_parse(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, state_names[i]) == 0) return i;
  return -1;
}

const char *social_tell_type(social_tell t) {
  switch (t) {
    case SOCIAL_TELL_REQUEST: return CHAT_FRAME(friend_request);
    case SOCIAL_TELL_ACCEPTED: return CHAT_FRAME(friend_accepted);
    case SOCIAL_TELL_CANCELLED: return CHAT_FRAME(friend_request_cancelled);
    case SOCIAL_TELL_DECLINED: return CHAT_FRAME(friend_request_declined);
    case SOCIAL_TELL_REMOVED: return CHAT_FRAME(friend_removed);
    case SOCIAL_TELL_NOTHING: break;
  }
  return NULL;
}
