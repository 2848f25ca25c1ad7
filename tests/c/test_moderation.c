#include "chat_error.h"
#include "chat_limits.h"
#include "moderation.h"
#include "throttle.h"
#include "test_util.h"

typedef struct {
  const char *name;
  moderation_action action;
  moderation_facts facts; /* actor_admin, self, target_admin, target_banned */
  int rc;
} rule;

static const rule rules[] = {
    {"a USER cannot ban", MODERATION_BAN, {0, 0, 0, 0}, CHAT_E_ADMIN_ONLY},
    {"a USER cannot unban", MODERATION_UNBAN, {0, 0, 0, 1}, CHAT_E_ADMIN_ONLY},
    {"a USER cannot promote", MODERATION_PROMOTE, {0, 0, 0, 0}, CHAT_E_ADMIN_ONLY},
    {"an ADMIN bans a USER", MODERATION_BAN, {1, 0, 0, 0}, CHAT_OK},
    {"an ADMIN cannot ban an ADMIN", MODERATION_BAN, {1, 0, 1, 0}, CHAT_E_CANNOT_BAN_ADMIN},
    {"an ADMIN cannot ban themselves", MODERATION_BAN, {1, 1, 1, 0}, CHAT_E_SELF},
    {"a ban happens once", MODERATION_BAN, {1, 0, 0, 1}, CHAT_E_ALREADY_BANNED},
    {"an ADMIN unbans a banned user", MODERATION_UNBAN, {1, 0, 0, 1}, CHAT_OK},
    {"unbanning needs a ban", MODERATION_UNBAN, {1, 0, 0, 0}, CHAT_E_NOT_BANNED},
    {"an ADMIN promotes a USER", MODERATION_PROMOTE, {1, 0, 0, 0}, CHAT_OK},
    {"promoting an ADMIN is already_admin", MODERATION_PROMOTE, {1, 0, 1, 0}, CHAT_E_ALREADY_ADMIN},
    {"a banned user is not promoted", MODERATION_PROMOTE, {1, 0, 0, 1}, CHAT_E_BANNED},
    {"a USER cannot see the bans", MODERATION_VIEW, {0, 0, 0, 0}, CHAT_E_ADMIN_ONLY},
    {"an ADMIN sees the bans", MODERATION_VIEW, {1, 0, 0, 0}, CHAT_OK},
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

/* Forty logins that all read the counters before any finished: each reservation
 * is stored before the next is decided (the shell's compare-and-swap), so only
 * ten get to verify a password, whatever the order. */
static void concurrent_attempts_never_pass_the_limit_because_each_is_counted_first(void **state) {
  (void)state;
  throttle_counter user = {0, 0}, ip = {0, 0};
  double wait = -1, t0 = 1e12;
  int allowed = 0;
  for (int i = 0; i < 40; i++) {
    throttle_counter u = user, a = ip;
    if (throttle_reserve(&u, &a, t0 + i, &wait) == CHAT_OK) {
      allowed++;
      user = u, ip = a;
    } else {
      /* refused: nothing to store, and the wait runs to the end of the window */
      assert_true(u.count == user.count && u.window_start == user.window_start);
      assert_true(a.count == ip.count && a.window_start == ip.window_start);
      assert_true(wait == t0 + CHAT_LOGIN_WINDOW_MS - (t0 + i));
    }
  }
  assert_int_equal(allowed, CHAT_LOGIN_FAILS_PER_USER);
  assert_true(user.count == CHAT_LOGIN_FAILS_PER_USER && user.window_start == t0);
  assert_true(ip.count == CHAT_LOGIN_FAILS_PER_USER && ip.window_start == t0);
}

static void a_reservation_after_the_window_starts_a_new_one(void **state) {
  (void)state;
  throttle_counter user = {CHAT_LOGIN_FAILS_PER_USER, 1000}, ip = {3, 1000};
  double wait;
  double later = 1000 + CHAT_LOGIN_WINDOW_MS;
  assert_int_equal(throttle_reserve(&user, &ip, later, &wait), CHAT_OK);
  assert_true(user.count == 1 && user.window_start == later);
  assert_true(ip.count == 1 && ip.window_start == later);
}

static void a_correct_login_resets_the_username_and_gives_the_address_its_attempt_back(void **state) {
  (void)state;
  throttle_counter user = {4, 1000}, ip = {7, 1000};
  double wait;
  assert_int_equal(throttle_reserve(&user, &ip, 2000, &wait), CHAT_OK);
  assert_true(user.count == 5 && ip.count == 8);
  double reserved_in = ip.window_start;
  /* another address's failure lands meanwhile: only this attempt is given back */
  ip.count += 1;
  throttle_succeed(&user, &ip, reserved_in);
  assert_true(user.count == 0 && user.window_start == 0);
  assert_true(ip.count == 8 && ip.window_start == 1000);
}

static void a_success_after_the_window_rolled_over_gives_nothing_back(void **state) {
  (void)state;
  throttle_counter user = {1, 5000}, ip = {1, 5000}; /* a new window since the reservation */
  throttle_succeed(&user, &ip, 1000);
  assert_true(user.count == 0);
  assert_true(ip.count == 1 && ip.window_start == 5000);
  throttle_counter empty = {0, 1000}; /* never below zero */
  throttle_succeed(&user, &empty, 1000);
  assert_true(empty.count == 0);
}

/* Many people behind one NAT: correct logins never lock the address. */
static void an_address_counts_failures_only(void **state) {
  (void)state;
  throttle_counter ip = {0, 0};
  double wait;
  for (int i = 0; i < 3 * CHAT_LOGIN_FAILS_PER_IP; i++) {
    throttle_counter user = {0, 0};
    assert_int_equal(throttle_reserve(&user, &ip, 1e12 + i, &wait), CHAT_OK);
    throttle_succeed(&user, &ip, ip.window_start);
  }
  assert_true(ip.count == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_moderation_rule),
      cmocka_unit_test(ten_failures_lock_a_username_until_the_window_ends),
      cmocka_unit_test(an_address_is_throttled_after_a_hundred_failures),
      cmocka_unit_test(concurrent_attempts_never_pass_the_limit_because_each_is_counted_first),
      cmocka_unit_test(a_reservation_after_the_window_starts_a_new_one),
      cmocka_unit_test(a_correct_login_resets_the_username_and_gives_the_address_its_attempt_back),
      cmocka_unit_test(a_success_after_the_window_rolled_over_gives_nothing_back),
      cmocka_unit_test(an_address_counts_failures_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
