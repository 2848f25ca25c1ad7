/* The room's rules as pure functions (wasm/room_rules.h) and the directory's rule
 * for room names (wasm/room_name.h): each rule at its edges. */
#include "chat_error.h"
#include "chat_limits.h"
#include "room_name.h"
#include "room_rules.h"
#include "test_util.h"

static void roles_are_user_and_admin_only(void **state) {
  (void)state;
  assert_int_equal(room_role_parse(S("USER")), ROOM_ROLE_USER);
  assert_int_equal(room_role_parse(S("ADMIN")), ROOM_ROLE_ADMIN);
  assert_int_equal(room_role_parse(S("admin")), -1);
  assert_int_equal(room_role_parse(S("ADMINS")), -1);
  assert_int_equal(room_role_parse(S("")), -1);
  assert_string_equal(room_role_name(ROOM_ROLE_ADMIN), "ADMIN");
}

static void a_conversation_admits_its_two_members_and_a_room_its_limits(void **state) {
  (void)state;
  room_kind room = {0, {0, 0}, 0, 0}, dm = {1, {4, 9}, 1, 0};
  assert_int_equal(room_may_open(&room, 1, 0, 0), CHAT_OK);
  assert_int_equal(room_may_open(&dm, 4, 0, 0), CHAT_OK);
  assert_int_equal(room_may_open(&dm, 9, 1, 0), CHAT_OK);
  assert_int_equal(room_may_open(&dm, 5, 0, 0), CHAT_E_NOT_MEMBER);
  assert_int_equal(room_may_open(&room, 1, CHAT_ROOM_CONNS_MAX - 1, 0), CHAT_OK);
  assert_int_equal(room_may_open(&room, 1, CHAT_ROOM_CONNS_MAX, 0), CHAT_E_ROOM_FULL);
  assert_int_equal(room_may_open(&room, 1, 5, CHAT_USER_CONNS_MAX - 1), CHAT_OK);
  assert_int_equal(room_may_open(&room, 1, 5, CHAT_USER_CONNS_MAX), CHAT_E_TOO_MANY_CONNECTIONS);
}

static void only_a_joined_socket_posts_and_only_while_a_conversation_is_open(void **state) {
  (void)state;
  room_kind room = {0, {0, 0}, 0, 0}, open = {1, {1, 2}, 1, 0}, closed = {1, {1, 2}, 0, 0};
  assert_int_equal(room_may_post(&room, 1), CHAT_OK);
  assert_int_equal(room_may_post(&room, 0), CHAT_E_NOT_JOINED);
  assert_int_equal(room_may_post(&open, 1), CHAT_OK);
  assert_int_equal(room_may_post(&closed, 1), CHAT_E_DM_CLOSED);
  assert_int_equal(room_may_post(&closed, 0), CHAT_E_NOT_JOINED);
  assert_int_equal(room_may_ask_delete(0), CHAT_E_NOT_JOINED);
  assert_int_equal(room_may_ask_delete(1), CHAT_OK);
}

static void the_author_deletes_their_own_and_an_admin_any(void **state) {
  (void)state;
  assert_int_equal(room_may_delete(1, ROOM_ROLE_USER, 1), CHAT_OK);
  assert_int_equal(room_may_delete(1, ROOM_ROLE_USER, 2), CHAT_E_FORBIDDEN);
  assert_int_equal(room_may_delete(3, ROOM_ROLE_ADMIN, 2), CHAT_OK);
  assert_true(room_may_delete_any(ROOM_ROLE_ADMIN));
  assert_false(room_may_delete_any(ROOM_ROLE_USER));
}

static void frames_past_the_rate_are_refused_then_the_socket_is_evicted(void **state) {
  (void)state;
  ratelimit_bucket rate = {0, 0, 0}, flood = {0, 0, 0};
  for (int i = 0; i < CHAT_RATE_BURST; i++)
    assert_int_equal(room_admit_frame(&rate, &flood, 1, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 0), ROOM_ADMIT);
  for (int i = 0; i < CHAT_FLOOD_BURST; i++)
    assert_int_equal(room_admit_frame(&rate, &flood, 1, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 0), ROOM_REFUSE);
  assert_int_equal(room_admit_frame(&rate, &flood, 1, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 0), ROOM_EVICT);
  /* a second later the rate bucket has CHAT_RATE_PER_SECOND tokens again */
  assert_int_equal(room_admit_frame(&rate, &flood, 1, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 1000), ROOM_ADMIT);
  assert_false(room_limits_refilled(&rate, &flood, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 1000));
  assert_true(room_limits_refilled(&rate, &flood, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND,
                                   1000 + 1000.0 * CHAT_FLOOD_BURST / CHAT_FLOOD_PER_SECOND));
}

static void a_room_sheds_new_messages_past_its_own_rate(void **state) {
  (void)state;
  ratelimit_bucket b = {0, 0, 0};
  for (int i = 0; i < 3; i++) assert_true(room_accepts_message(&b, 3, 1, 0));
  assert_false(room_accepts_message(&b, 3, 1, 0));
  assert_true(room_accepts_message(&b, 3, 1, 1000));
}

static void a_socket_is_overdue_once_the_unjoined_timeout_has_passed(void **state) {
  (void)state;
  assert_true(room_unjoined_overdue_before(CHAT_UNJOINED_TIMEOUT_MS + 10) == 10);
  assert_true(room_unjoined_overdue_before(0) < 0);
}

static void the_message_frame_type_follows_the_kind(void **state) {
  (void)state;
  room_kind room = {0, {0, 0}, 0, 0}, dm = {1, {1, 2}, 1, 0};
  assert_string_equal(room_message_type(&room), "new_chat_message");
  assert_string_equal(room_message_type(&dm), "new_direct_message");
  assert_string_equal(room_id_key(&room), "room_id");
  assert_string_equal(room_id_key(&dm), "conversation_id");
}

static void room_names_follow_the_rules(void **state) {
  (void)state;
  char key[4 * CHAT_ROOM_NAME_MAX + 1], name[512];
  assert_int_equal(room_check_name(S("General"), key), CHAT_OK);
  assert_string_equal(key, "general");
  assert_int_equal(room_check_name(S("Caf\xc3\xa9 Ol\xc3\xa9"), key), CHAT_OK);
  assert_string_equal(key, "caf\xc3\xa9 ol\xc3\xa9");
  assert_int_equal(room_check_name(S(""), key), CHAT_E_ROOM_NAME_EMPTY);
  assert_int_equal(room_check_name(S(" lead"), key), CHAT_E_ROOM_NAME_INVALID);
  assert_int_equal(room_check_name(S("trail "), key), CHAT_E_ROOM_NAME_INVALID);
  assert_int_equal(room_check_name(S("tab\there"), key), CHAT_E_ROOM_NAME_INVALID);
  assert_int_equal(room_check_name(S("c1\xc2\x85"), key), CHAT_E_ROOM_NAME_INVALID);
  assert_int_equal(room_check_name(S("bad\xff"), key), CHAT_E_ROOM_NAME_INVALID);
  for (int i = 0; i < 64; i++) memcpy(name + 3 * i, "\xe2\x82\xac", 3); /* 64 euro signs */
  assert_int_equal(room_check_name(name, 3 * 64, key), CHAT_OK);
  memcpy(name + 3 * 64, "\xe2\x82\xac", 3);
  assert_int_equal(room_check_name(name, 3 * 65, key), CHAT_E_ROOM_NAME_TOO_LONG);
}

static void a_frame_costs_a_rate_token_per_started_4_kib(void **state) {
  (void)state;
  assert_true(room_frame_cost(1) == 1 && room_frame_cost(CHAT_FRAME_TOKEN_BYTES) == 1);
  assert_true(room_frame_cost(CHAT_FRAME_TOKEN_BYTES + 1) == 2);
  assert_true(room_frame_cost(CHAT_FRAME_MAX) == CHAT_FRAME_MAX / CHAT_FRAME_TOKEN_BYTES);
  assert_true(room_frame_cost(CHAT_FRAME_MAX + 1) == 1); /* refused unread */
  /* a sender of 32 KiB frames gets a burst of 2 of them, not 20 */
  ratelimit_bucket rate = {0}, flood = {0};
  double big = room_frame_cost(CHAT_FRAME_MAX);
  int admitted = 0;
  for (int i = 0; i < CHAT_RATE_BURST; i++)
    admitted += room_admit_frame(&rate, &flood, big, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 0) == ROOM_ADMIT;
  assert_int_equal(admitted, CHAT_RATE_BURST / (int)big);
  /* and a small frame still gets through with what is left */
  assert_int_equal(room_admit_frame(&rate, &flood, 1, CHAT_RATE_BURST, CHAT_RATE_PER_SECOND, 0),
                   CHAT_RATE_BURST % (int)big ? ROOM_ADMIT : ROOM_REFUSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_frame_costs_a_rate_token_per_started_4_kib),
      cmocka_unit_test(roles_are_user_and_admin_only),
      cmocka_unit_test(a_conversation_admits_its_two_members_and_a_room_its_limits),
      cmocka_unit_test(only_a_joined_socket_posts_and_only_while_a_conversation_is_open),
      cmocka_unit_test(the_author_deletes_their_own_and_an_admin_any),
      cmocka_unit_test(frames_past_the_rate_are_refused_then_the_socket_is_evicted),
      cmocka_unit_test(a_room_sheds_new_messages_past_its_own_rate),
      cmocka_unit_test(a_socket_is_overdue_once_the_unjoined_timeout_has_passed),
      cmocka_unit_test(the_message_frame_type_follows_the_kind),
      cmocka_unit_test(room_names_follow_the_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
