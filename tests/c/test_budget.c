#include <string.h>

#include "budget.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "social.h"
#include "test_util.h"

static const double T0 = 1.7e12; /* some moment, in ms since the epoch */

static void a_rate_budget_allows_its_limit_in_a_window_then_refuses_until_it_ends(void **state) {
  (void)state;
  budget_counter c = {0, 0};
  double wait = -1;
  for (int i = 0; i < CHAT_SIGNUPS_PER_ADDRESS; i++)
    assert_int_equal(budget_spend(BUDGET_SIGNUPS_PER_ADDRESS, 1, &c, T0 + i, &wait), CHAT_OK);
  assert_int_equal((int)c.count, CHAT_SIGNUPS_PER_ADDRESS);
  budget_counter before = c;
  assert_int_equal(budget_spend(BUDGET_SIGNUPS_PER_ADDRESS, 1, &c, T0 + 1000, &wait), CHAT_E_LIMIT_REACHED);
  assert_memory_equal(&c, &before, sizeof c); /* a refusal changes nothing */
  assert_true(wait == CHAT_BUDGET_WINDOW_MS - 1000);
  /* the window ends: a new one starts with this use */
  assert_int_equal(budget_spend(BUDGET_SIGNUPS_PER_ADDRESS, 1, &c, T0 + CHAT_BUDGET_WINDOW_MS, &wait), CHAT_OK);
  assert_int_equal((int)c.count, 1);
  assert_true(c.window_start == T0 + CHAT_BUDGET_WINDOW_MS);
}

static void a_scale_raises_a_rate_budget_for_tests_and_never_lowers_it(void **state) {
  (void)state;
  budget_counter c = {CHAT_ROOMS_PER_ACCOUNT, T0};
  double wait = -1;
  assert_int_equal(budget_spend(BUDGET_ROOMS_PER_ACCOUNT, 1, &c, T0 + 1, &wait), CHAT_E_LIMIT_REACHED);
  assert_int_equal(budget_spend(BUDGET_ROOMS_PER_ACCOUNT, 2, &c, T0 + 1, &wait), CHAT_OK);
  assert_int_equal(budget_spend(BUDGET_ROOMS_PER_ACCOUNT, 0, &c, T0 + 1, &wait), CHAT_E_FIELD_TYPE);
}

static void a_clock_gone_back_past_the_window_starts_a_new_one(void **state) {
  (void)state;
  budget_counter c = {CHAT_FRIEND_ACTIONS, T0};
  double wait = -1;
  assert_int_equal(budget_spend(BUDGET_FRIEND_ACTIONS, 1, &c, T0 - 5, &wait), CHAT_OK);
  assert_int_equal((int)c.count, 1);
}

/* Socket opens are spread (GCRA): a hoarder's burst is CHAT_SOCKET_OPENS_BURST, not
 * the minute's whole budget at once. */
static void a_spread_budget_lets_its_burst_through_then_one_use_per_interval(void **state) {
  (void)state;
  const double interval = 60000.0 / CHAT_SOCKET_OPENS_PER_MINUTE;
  budget_counter c = {0, 0};
  double wait = -1;
  for (int i = 0; i < CHAT_SOCKET_OPENS_BURST; i++)
    assert_int_equal(budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0, &wait), CHAT_OK);
  budget_counter before = c;
  assert_int_equal(budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0, &wait), CHAT_E_LIMIT_REACHED);
  assert_memory_equal(&c, &before, sizeof c); /* a refusal changes nothing */
  assert_true(wait == interval);
  assert_int_equal((int)c.count, CHAT_SOCKET_OPENS_BURST);
  /* one more fits once the interval has passed, and only one */
  assert_int_equal(budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0 + wait, &wait), CHAT_OK);
  assert_int_equal(budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0 + interval, &wait), CHAT_E_LIMIT_REACHED);
  /* an idle bucket refills to its burst, no more */
  c = (budget_counter){0, 0};
  assert_int_equal(budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0, &wait), CHAT_OK);
  int later = 0;
  while (budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0 + 3600000.0, &wait) == CHAT_OK) later++;
  assert_int_equal(later, CHAT_SOCKET_OPENS_BURST);
}

static void a_spread_budget_keeps_its_rate_over_time_against_a_client_retrying_in_a_loop(void **state) {
  (void)state;
  budget_counter c = {0, 0};
  double wait;
  int used = 0;
  const int minutes = 10;
  for (double t = 0; t < minutes * 60000.0; t += 100) used += budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0 + t, &wait) == CHAT_OK;
  assert_int_equal(used, CHAT_SOCKET_OPENS_BURST - 1 + minutes * CHAT_SOCKET_OPENS_PER_MINUTE);
  /* a test scale multiplies the rate and the burst */
  c = (budget_counter){0, 0};
  used = 0;
  while (budget_spend(BUDGET_SOCKET_OPENS, 3, &c, T0, &wait) == CHAT_OK) used++;
  assert_int_equal(used, 3 * CHAT_SOCKET_OPENS_BURST);
}

static void a_spread_budget_whose_clock_went_back_starts_afresh(void **state) {
  (void)state;
  budget_counter c = {CHAT_SOCKET_OPENS_BURST, T0 + 3600000.0}; /* due an hour ahead */
  double wait;
  assert_int_equal(budget_spend(BUDGET_SOCKET_OPENS, 1, &c, T0, &wait), CHAT_OK);
  assert_int_equal((int)c.count, 1);
}

/* A script with the right password cannot hash without end: correct passwords
 * (logins, password changes) are a spread budget of their own, a burst then one
 * every 2 minutes, 30 an hour over time. */
static void a_login_script_with_the_right_password_gets_a_burst_then_one_login_per_interval(void **state) {
  (void)state;
  const double interval = CHAT_BUDGET_WINDOW_MS / CHAT_PASSWORD_CHECKS_PER_ACCOUNT;
  assert_true(budget_parse("password_checks_per_account") == BUDGET_PASSWORD_CHECKS);
  budget_counter c = {0, 0};
  double wait = -1;
  int used = 0;
  while (budget_spend(BUDGET_PASSWORD_CHECKS, 1, &c, T0, &wait) == CHAT_OK) used++;
  assert_int_equal(used, CHAT_PASSWORD_CHECKS_BURST);
  assert_true(wait == interval);
  used = 0;
  for (double t = 0; t < CHAT_BUDGET_WINDOW_MS; t += 1000) used += budget_spend(BUDGET_PASSWORD_CHECKS, 1, &c, T0 + t, &wait) == CHAT_OK;
  assert_int_equal(used, CHAT_PASSWORD_CHECKS_PER_ACCOUNT - 1);
}

static void a_count_budget_allows_one_more_below_its_limit_only(void **state) {
  (void)state;
  assert_int_equal(budget_allows(BUDGET_FRIENDS, CHAT_FRIENDS_MAX - 1), CHAT_OK);
  assert_int_equal(budget_allows(BUDGET_FRIENDS, CHAT_FRIENDS_MAX), CHAT_E_LIMIT_REACHED);
  assert_int_equal(budget_allows(BUDGET_BLOCKS, CHAT_BLOCKS_MAX), CHAT_E_LIMIT_REACHED);
  assert_int_equal(budget_allows(BUDGET_SOCKETS, CHAT_USER_SOCKETS_MAX - 1), CHAT_OK);
  assert_int_equal(budget_allows(BUDGET_SOCKETS, CHAT_USER_SOCKETS_MAX), CHAT_E_LIMIT_REACHED);
  /* the two kinds are not mixed up */
  double wait;
  budget_counter c = {0, 0};
  assert_int_equal(budget_allows(BUDGET_SIGNUPS_PER_ADDRESS, 0), CHAT_E_FIELD_TYPE);
  assert_int_equal(budget_spend(BUDGET_FRIENDS, 1, &c, T0, &wait), CHAT_E_FIELD_TYPE);
}

static void every_budget_has_a_unique_name_that_parses_back(void **state) {
  (void)state;
  for (int b = 0; b < BUDGET_COUNT; b++) {
    assert_int_equal(budget_parse(budget_name((budget)b)), b);
    assert_true(budget_limit((budget)b) > 0);
  }
  assert_int_equal(budget_parse("no_such_budget"), -1);
}

static void a_social_change_uses_the_budget_of_what_it_adds(void **state) {
  (void)state;
  social_facts none = {SOCIAL_NONE, 0, 0}, out = {SOCIAL_OUTGOING, 0, 0}, in = {SOCIAL_INCOMING, 0, 0},
               friends = {SOCIAL_FRIENDS, 0, 0}, blocked = {SOCIAL_NONE, 1, 0};
  assert_int_equal(social_spends(&none, &out), BUDGET_PENDING_REQUESTS);
  assert_int_equal(social_spends(&in, &friends), BUDGET_FRIENDS);
  assert_int_equal(social_spends(&friends, &blocked), BUDGET_BLOCKS);
  assert_int_equal(social_spends(&out, &none), -1);     /* cancelling frees, uses nothing */
  assert_int_equal(social_spends(&friends, &none), -1); /* unfriending */
  assert_int_equal(social_spends(&blocked, &none), -1); /* unblocking */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_rate_budget_allows_its_limit_in_a_window_then_refuses_until_it_ends),
      cmocka_unit_test(a_scale_raises_a_rate_budget_for_tests_and_never_lowers_it),
      cmocka_unit_test(a_clock_gone_back_past_the_window_starts_a_new_one),
      cmocka_unit_test(a_spread_budget_lets_its_burst_through_then_one_use_per_interval),
      cmocka_unit_test(a_spread_budget_keeps_its_rate_over_time_against_a_client_retrying_in_a_loop),
      cmocka_unit_test(a_spread_budget_whose_clock_went_back_starts_afresh),
      cmocka_unit_test(a_login_script_with_the_right_password_gets_a_burst_then_one_login_per_interval),
      cmocka_unit_test(a_count_budget_allows_one_more_below_its_limit_only),
      cmocka_unit_test(every_budget_has_a_unique_name_that_parses_back),
      cmocka_unit_test(a_social_change_uses_the_budget_of_what_it_adds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
