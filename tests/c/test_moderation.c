#include "chat_error.h"
#include "chat_limits.h"
#include "moderation.h"
#include "test_util.h"

typedef struct {
  const char *name;
  mod_action action;
  mod_facts facts; /* actor_admin, self, target_admin, target_banned */
  int rc;
} rule;

static const rule rules[] = {
    {"a USER cannot ban", MOD_BAN, {0, 0, 0, 0}, CHAT_E_ADMIN_ONLY},
    {"a USER cannot unban", MOD_UNBAN, {0, 0, 0, 1}, CHAT_E_ADMIN_ONLY},
    {"a USER cannot promote", MOD_PROMOTE, {0, 0, 0, 0}, CHAT_E_ADMIN_ONLY},
    {"an ADMIN bans a USER", MOD_BAN, {1, 0, 0, 0}, CHAT_OK},
    {"an ADMIN cannot ban an ADMIN", MOD_BAN, {1, 0, 1, 0}, CHAT_E_CANNOT_BAN_ADMIN},
    {"an ADMIN cannot ban themselves", MOD_BAN, {1, 1, 1, 0}, CHAT_E_SELF},
    {"a ban happens once", MOD_BAN, {1, 0, 0, 1}, CHAT_E_ALREADY_BANNED},
    {"an ADMIN unbans a banned user", MOD_UNBAN, {1, 0, 0, 1}, CHAT_OK},
    {"unbanning needs a ban", MOD_UNBAN, {1, 0, 0, 0}, CHAT_E_NOT_BANNED},
    {"an ADMIN promotes a USER", MOD_PROMOTE, {1, 0, 0, 0}, CHAT_OK},
    {"promoting an ADMIN is already_admin", MOD_PROMOTE, {1, 0, 1, 0}, CHAT_E_ALREADY_ADMIN},
    {"a banned user is not promoted", MOD_PROMOTE, {1, 0, 0, 1}, CHAT_E_BANNED},
};

static void every_moderation_rule(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
    int rc = moderation_decide(rules[i].action, &rules[i].facts);
    if (rc != rules[i].rc) fail_msg("%s: got %s", rules[i].name, chat_error_name(rc));
  }
}

static void ten_failures_lock_a_username_until_the_window_ends(void **state) {
  (void)state;
  throttle_counter user = {0, 0}, ip = {0, 0};
  double wait = -1, t0 = 1e12;
  for (int i = 0; i < CHAT_LOGIN_FAILS_PER_USER; i++) {
    assert_int_equal(throttle_check(&user, &ip, t0 + i, &wait), CHAT_OK);
    user = throttle_fail(user, t0 + i);
  }
  assert_int_equal(throttle_check(&user, &ip, t0 + 60000, &wait), CHAT_E_TOO_MANY_ATTEMPTS);
  assert_true(wait > 0 && wait <= CHAT_LOGIN_WINDOW_MS);
  /* not forever: once the window is over, logins are tried again */
  assert_int_equal(throttle_check(&user, &ip, t0 + CHAT_LOGIN_WINDOW_MS, &wait), CHAT_OK);
  user = throttle_fail(user, t0 + CHAT_LOGIN_WINDOW_MS);
  assert_true(user.count == 1 && user.window_start == t0 + CHAT_LOGIN_WINDOW_MS);
}

static void an_address_is_throttled_after_a_hundred_failures(void **state) {
  (void)state;
  throttle_counter user = {0, 0}, ip = {0, 0};
  double wait;
  for (int i = 0; i < CHAT_LOGIN_FAILS_PER_IP - 1; i++) ip = throttle_fail(ip, 1000 + i);
  assert_int_equal(throttle_check(&user, &ip, 5000, &wait), CHAT_OK);
  ip = throttle_fail(ip, 5000);
  assert_int_equal(throttle_check(&user, &ip, 5001, &wait), CHAT_E_TOO_MANY_ATTEMPTS);
  assert_true(wait > CHAT_LOGIN_WINDOW_MS - 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_moderation_rule),
      cmocka_unit_test(ten_failures_lock_a_username_until_the_window_ends),
      cmocka_unit_test(an_address_is_throttled_after_a_hundred_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
