#include "chat_error.h"
#include "social.h"
#include "test_util.h"

#define N SOCIAL_NONE
#define O SOCIAL_OUTGOING
#define I SOCIAL_INCOMING
#define F SOCIAL_FRIENDS

typedef struct {
  const char *name;
  social_action action;
  social_facts from;
  int rc;               /* expected result */
  social_facts to;      /* expected new facts when rc == CHAT_OK */
  social_tell tell;
} transition;

static const transition table[] = {
    {"add to nobody sends a request", SOCIAL_ADD, {N, 0, 0}, CHAT_OK, {O, 0, 0}, SOCIAL_TELL_REQUEST},
    {"add to an incoming request accepts it", SOCIAL_ADD, {I, 0, 0}, CHAT_OK, {F, 0, 0}, SOCIAL_TELL_ACCEPTED},
    {"add twice is already_requested", SOCIAL_ADD, {O, 0, 0}, CHAT_E_ALREADY_REQUESTED, {0}, 0},
    {"add to a friend is already_friends", SOCIAL_ADD, {F, 0, 0}, CHAT_E_ALREADY_FRIENDS, {0}, 0},
    {"add to someone I block asks to unblock", SOCIAL_ADD, {N, 1, 0}, CHAT_E_YOU_BLOCK, {0}, 0},
    {"add to someone who blocks me is refused without saying why", SOCIAL_ADD, {N, 0, 1}, CHAT_E_REQUEST_REFUSED, {0}, 0},
    {"accepting is refused too when they block me", SOCIAL_ADD, {I, 0, 1}, CHAT_E_REQUEST_REFUSED, {0}, 0},
    {"remove an outgoing request cancels it", SOCIAL_REMOVE, {O, 0, 0}, CHAT_OK, {N, 0, 0}, SOCIAL_TELL_CANCELLED},
    {"remove an incoming request declines it", SOCIAL_REMOVE, {I, 0, 0}, CHAT_OK, {N, 0, 0}, SOCIAL_TELL_DECLINED},
    {"remove a friend unfriends", SOCIAL_REMOVE, {F, 0, 0}, CHAT_OK, {N, 0, 0}, SOCIAL_TELL_REMOVED},
    {"remove with nothing is no_relation", SOCIAL_REMOVE, {N, 0, 0}, CHAT_E_NO_RELATION, {0}, 0},
    {"block a friend ends the friendship silently", SOCIAL_BLOCK, {F, 0, 0}, CHAT_OK, {N, 1, 0}, SOCIAL_TELL_NOTHING},
    {"block ends a pending request silently", SOCIAL_BLOCK, {I, 0, 0}, CHAT_OK, {N, 1, 0}, SOCIAL_TELL_NOTHING},
    {"block someone who blocks me is allowed", SOCIAL_BLOCK, {N, 0, 1}, CHAT_OK, {N, 1, 1}, SOCIAL_TELL_NOTHING},
    {"block twice is already_blocked", SOCIAL_BLOCK, {N, 1, 0}, CHAT_E_ALREADY_BLOCKED, {0}, 0},
    {"unblock lifts the block only", SOCIAL_UNBLOCK, {N, 1, 1}, CHAT_OK, {N, 0, 1}, SOCIAL_TELL_NOTHING},
    {"unblock without a block is not_blocked", SOCIAL_UNBLOCK, {N, 0, 0}, CHAT_E_NOT_BLOCKED, {0}, 0},
};

static void every_transition_of_the_friendship_machine(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    const transition *t = &table[i];
    social_facts next = {N, 7, 7};
    social_tell tell = SOCIAL_TELL_NOTHING;
    int rc = social_apply(t->action, 0, &t->from, &next, &tell);
    if (rc != t->rc) fail_msg("%s: got %s", t->name, chat_error_name(rc));
    if (rc != CHAT_OK) {
      if (next.i_block != 7) fail_msg("%s: facts changed on error", t->name);
      continue;
    }
    if (next.state != t->to.state || next.i_block != t->to.i_block || next.they_block != t->to.they_block ||
        tell != t->tell)
      fail_msg("%s: got state %s i_block %d they_block %d tell %d", t->name, social_state_name(next.state),
               next.i_block, next.they_block, (int)tell);
  }
}

static void nothing_can_be_done_to_oneself(void **state) {
  (void)state;
  social_facts f = {N, 0, 0}, next;
  social_tell tell;
  assert_int_equal(social_apply(SOCIAL_ADD, 1, &f, &next, &tell), CHAT_E_SELF);
  assert_int_equal(social_apply(SOCIAL_BLOCK, 1, &f, &next, &tell), CHAT_E_SELF);
  assert_int_equal(social_apply(SOCIAL_UNBLOCK, 1, &f, &next, &tell), CHAT_E_SELF);
  assert_int_equal(social_apply(SOCIAL_REMOVE, 1, &f, &next, &tell), CHAT_E_NO_RELATION);
}

static void a_dm_is_open_only_between_friends_without_blocks(void **state) {
  (void)state;
  social_facts open = {F, 0, 0}, mine = {F, 1, 0}, theirs = {F, 0, 1}, req = {O, 0, 0};
  assert_int_equal(social_dm_open(&open), 1);
  assert_int_equal(social_dm_open(&mine), 0);
  assert_int_equal(social_dm_open(&theirs), 0);
  assert_int_equal(social_dm_open(&req), 0);
}

static void a_block_hides_what_the_blocked_person_wrote_and_nothing_else(void **state) {
  (void)state;
  const int64_t blocks[] = {7, 3, 9007199254740991};
  assert_int_equal(social_shows(3, blocks, 3), 0);
  assert_int_equal(social_shows(9007199254740991, blocks, 3), 0);
  assert_int_equal(social_shows(4, blocks, 3), 1);
  assert_int_equal(social_shows(3, blocks, 1), 1); /* only the first n count */
  assert_int_equal(social_shows(3, NULL, 0), 1);
}

static void names_round_trip(void **state) {
  (void)state;
  for (int s = N; s <= F; s++) assert_int_equal(social_state_parse(social_state_name((social_state)s)), s);
  assert_int_equal(social_state_parse("enemies"), -1);
  assert_string_equal(social_tell_type(SOCIAL_TELL_REQUEST), "friend_request");
  assert_null(social_tell_type(SOCIAL_TELL_NOTHING));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_transition_of_the_friendship_machine),
      cmocka_unit_test(nothing_can_be_done_to_oneself),
      cmocka_unit_test(a_dm_is_open_only_between_friends_without_blocks),
      cmocka_unit_test(a_block_hides_what_the_blocked_person_wrote_and_nothing_else),
      cmocka_unit_test(names_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
