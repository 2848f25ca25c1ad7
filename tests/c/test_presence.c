/* Who is there (issue 15's friends' presence, issue 18's idle sockets): the rules
 * (social_shows_presence, liveness_idle) and the operations that apply them
 * (CHAT_OP_FRIENDS_ONLINE, CHAT_OP_PRESENCE_TELL, CHAT_OP_IDLE). */
#include <stdio.h>

#include "api.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "liveness.h"
#include "social.h"
#include "test_util.h"

static unsigned char out[1 << 16];

static int call(int op, const char *aux, double now) {
  size_t n = 0;
  int rc = api_call(op, NULL, 0, (const unsigned char *)aux, strlen(aux), now, out, sizeof out - 1, &n);
  out[rc >= 0 ? n : 0] = 0;
  return rc >= 0 ? CHAT_OK : rc; /* api_call answers the length written */
}

static void presence_shows_between_friends_only_and_never_across_a_block(void **state) {
  (void)state;
  const social_facts friends = {SOCIAL_FRIENDS, 0, 0}, i_block = {SOCIAL_FRIENDS, 1, 0},
                     they_block = {SOCIAL_FRIENDS, 0, 1}, asked = {SOCIAL_OUTGOING, 0, 0},
                     asked_me = {SOCIAL_INCOMING, 0, 0}, strangers = {SOCIAL_NONE, 0, 0},
                     blocked_stranger = {SOCIAL_NONE, 1, 1};
  assert_int_equal(social_shows_presence(&friends), 1);
  assert_int_equal(social_shows_presence(&i_block), 0);
  assert_int_equal(social_shows_presence(&they_block), 0);
  assert_int_equal(social_shows_presence(&asked), 0);
  assert_int_equal(social_shows_presence(&asked_me), 0);
  assert_int_equal(social_shows_presence(&strangers), 0);
  assert_int_equal(social_shows_presence(&blocked_stranger), 0);
}

static void a_block_or_a_removal_ends_what_presence_shows(void **state) {
  (void)state;
  social_facts f = {SOCIAL_FRIENDS, 0, 0}, next;
  social_tell tell;
  assert_int_equal(social_apply(SOCIAL_BLOCK, 0, &f, &next, &tell), CHAT_OK);
  assert_int_equal(social_shows_presence(&next), 0);
  assert_int_equal(social_apply(SOCIAL_REMOVE, 0, &f, &next, &tell), CHAT_OK);
  assert_int_equal(social_shows_presence(&next), 0);
}

static void friends_online_lists_online_friends_whose_presence_shows(void **state) {
  (void)state;
  assert_int_equal(call(CHAT_OP_FRIENDS_ONLINE,
                        "{\"rows\":[{\"id\":2,\"friends\":1,\"i_block\":0,\"they_block\":0,\"online\":1},"
                        "{\"id\":3,\"friends\":1,\"i_block\":0,\"they_block\":0,\"online\":0},"
                        "{\"id\":4,\"friends\":1,\"i_block\":1,\"they_block\":0,\"online\":1},"
                        "{\"id\":5,\"friends\":1,\"i_block\":0,\"they_block\":1,\"online\":1},"
                        "{\"id\":6,\"friends\":0,\"i_block\":0,\"they_block\":0,\"online\":1},"
                        "{\"id\":7,\"friends\":true,\"i_block\":false,\"they_block\":false,\"online\":true}]}",
                        0),
                   CHAT_OK);
  assert_string_equal((char *)out,
                      "{\"online\":[2,7],\"frame\":\"{\\\"type\\\":\\\"friends_presence\\\",\\\"online\\\":[2,7]}\"}");
}

static void friends_online_with_nobody_is_an_empty_list(void **state) {
  (void)state;
  assert_int_equal(call(CHAT_OP_FRIENDS_ONLINE, "{\"rows\":[]}", 0), CHAT_OK);
  assert_string_equal((char *)out, "{\"online\":[],\"frame\":\"{\\\"type\\\":\\\"friends_presence\\\",\\\"online\\\":[]}\"}");
}

static void presence_tell_reaches_friends_but_not_across_a_block(void **state) {
  (void)state;
  assert_int_equal(call(CHAT_OP_PRESENCE_TELL,
                        "{\"user_id\":9,\"online\":false,\"rows\":[{\"id\":2,\"friends\":1,\"i_block\":0,\"they_block\":0},"
                        "{\"id\":4,\"friends\":1,\"i_block\":0,\"they_block\":1},{\"id\":6,\"friends\":0}]}",
                        0),
                   CHAT_OK);
  assert_string_equal((char *)out,
                      "{\"to\":[2],\"frame\":\"{\\\"type\\\":\\\"friend_presence\\\",\\\"user_id\\\":9,\\\"online\\\":false}\"}");
}

static void presence_operations_refuse_malformed_facts(void **state) {
  (void)state;
  assert_int_equal(call(CHAT_OP_FRIENDS_ONLINE, "{}", 0), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_FRIENDS_ONLINE, "{\"rows\":[{\"friends\":1}]}", 0), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_PRESENCE_TELL, "{\"online\":true,\"rows\":[]}", 0), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_PRESENCE_TELL, "{\"user_id\":1,\"online\":1,\"rows\":[]}", 0), CHAT_E_FIELD_TYPE);
  /* more rows than anyone may have friends */
  static char big[64 * (CHAT_FRIENDS_MAX + 2)];
  size_t n = (size_t)snprintf(big, sizeof big, "{\"rows\":[");
  for (int i = 0; i <= CHAT_FRIENDS_MAX; i++) n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"id\":%d}", i ? "," : "", i + 1);
  snprintf(big + n, sizeof big - n, "]}");
  assert_int_equal(call(CHAT_OP_FRIENDS_ONLINE, big, 0), CHAT_E_FIELD_TYPE);
}

static void a_socket_silent_for_the_idle_time_is_idle_and_not_a_ms_before(void **state) {
  (void)state;
  const double t = 1.7e12;
  assert_int_equal(liveness_idle(t + CHAT_IDLE_TIMEOUT_MS - 1, t, 1), 0);
  assert_int_equal(liveness_idle(t + CHAT_IDLE_TIMEOUT_MS, t, 1), 1);
  assert_int_equal(liveness_idle(t, t + 5000, 1), 0); /* heard "later" than now */
  /* a client that sends something every CHAT_PING_INTERVAL_MS, recorded up to
   * CHAT_IDLE_RECORD_MS late, is never idle */
  assert_int_equal(liveness_idle(t + CHAT_PING_INTERVAL_MS + CHAT_IDLE_RECORD_MS, t, 1), 0);
  /* tests scale the time down; a scale below 1 is 1 */
  assert_int_equal(liveness_idle(t + CHAT_IDLE_TIMEOUT_MS / 10, t, 10), 1);
  assert_int_equal(liveness_idle(t + CHAT_IDLE_TIMEOUT_MS - 1, t, 0.5), 0);
  assert_true(liveness_deadline(t, 1) == t + CHAT_IDLE_TIMEOUT_MS);
}

static void idle_names_the_idle_sockets_and_when_to_look_again(void **state) {
  (void)state;
  char aux[256];
  const double now = 1e12;
  snprintf(aux, sizeof aux, "{\"heard\":[%.0f,%.0f,%.0f,%.0f]}", now - CHAT_IDLE_TIMEOUT_MS, now - 1000,
           now - CHAT_IDLE_TIMEOUT_MS - 5, now - 20000);
  assert_int_equal(call(CHAT_OP_IDLE, aux, now), CHAT_OK);
  char want[128];
  snprintf(want, sizeof want, "{\"idle\":[0,2],\"check_at\":%.0f}", now - 20000 + CHAT_IDLE_TIMEOUT_MS);
  assert_string_equal((char *)out, want);
  assert_int_equal(call(CHAT_OP_IDLE, "{\"heard\":[]}", now), CHAT_OK);
  assert_string_equal((char *)out, "{\"idle\":[],\"check_at\":null}");
  snprintf(aux, sizeof aux, "{\"heard\":[%.0f],\"scale\":60}", now - 1000);
  assert_int_equal(call(CHAT_OP_IDLE, aux, now), CHAT_OK);
  assert_string_equal((char *)out, "{\"idle\":[0],\"check_at\":null}");
  assert_int_equal(call(CHAT_OP_IDLE, "{\"heard\":[\"x\"]}", now), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_IDLE, "{\"heard\":[1],\"scale\":\"10\"}", now), CHAT_E_FIELD_TYPE);
}

static void presence_operations_survive_every_allocation_failure(void **state) {
  (void)state;
  const char *aux = "{\"rows\":[{\"id\":2,\"friends\":1,\"online\":1},{\"id\":3,\"friends\":1,\"online\":1}]}";
  for (long i = 0; i < 40; i++) {
    fail_allocation_after(i);
    int rc = call(CHAT_OP_FRIENDS_ONLINE, aux, 0);
    stop_failing_allocations();
    assert_true(rc == CHAT_OK || rc == CHAT_E_NOMEM);
    fail_allocation_after(i);
    rc = call(CHAT_OP_PRESENCE_TELL, "{\"user_id\":1,\"online\":true,\"rows\":[{\"id\":2,\"friends\":1}]}", 0);
    stop_failing_allocations();
    assert_true(rc == CHAT_OK || rc == CHAT_E_NOMEM);
    fail_allocation_after(i);
    rc = call(CHAT_OP_IDLE, "{\"heard\":[0,1,2]}", 1e12);
    stop_failing_allocations();
    assert_true(rc == CHAT_OK || rc == CHAT_E_NOMEM);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(presence_shows_between_friends_only_and_never_across_a_block),
      cmocka_unit_test(a_block_or_a_removal_ends_what_presence_shows),
      cmocka_unit_test(friends_online_lists_online_friends_whose_presence_shows),
      cmocka_unit_test(friends_online_with_nobody_is_an_empty_list),
      cmocka_unit_test(presence_tell_reaches_friends_but_not_across_a_block),
      cmocka_unit_test(presence_operations_refuse_malformed_facts),
      cmocka_unit_test(a_socket_silent_for_the_idle_time_is_idle_and_not_a_ms_before),
      cmocka_unit_test(idle_names_the_idle_sockets_and_when_to_look_again),
      cmocka_unit_test(presence_operations_survive_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
