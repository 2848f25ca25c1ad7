/* Room membership (issue 15): the rules (room_rules.h) at their edges, the
 * membership operation (api.h CHAT_OP_MEMBERSHIP), a private room's sockets and
 * history in the state machine, a kick's close code, and the directory's query
 * (mine=1, q=). */
#include <stdio.h>

#include "api.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "room.h"
#include "room_rules.h"
#include "room_util.h"
#include "test_util.h"

static unsigned char out[1 << 16];

static int call(int op, const char *in, const char *aux, size_t *n) {
  int rc = api_call(op, (const unsigned char *)in, in ? strlen(in) : 0, (const unsigned char *)aux,
                    aux ? strlen(aux) : 0, 0, out, sizeof out - 1, n);
  out[rc >= 0 ? *n : 0] = 0;
  return rc;
}

static void anyone_joins_a_public_room_and_only_invitees_a_private_one(void **state) {
  (void)state;
  room_kind pub = {0, {0, 0}, 0, 0}, priv = {0, {0, 0}, 0, 1};
  assert_int_equal(room_may_join(&pub, ROOM_STANDING_NONE, 0), CHAT_OK);
  assert_int_equal(room_may_join(&pub, ROOM_STANDING_NONE, CHAT_ROOM_MEMBERS_MAX - 1), CHAT_OK);
  assert_int_equal(room_may_join(&pub, ROOM_STANDING_NONE, CHAT_ROOM_MEMBERS_MAX), CHAT_E_MEMBERS_FULL);
  assert_int_equal(room_may_join(&pub, ROOM_STANDING_MEMBER, CHAT_ROOM_MEMBERS_MAX), CHAT_OK);
  assert_int_equal(room_may_join(&priv, ROOM_STANDING_NONE, 0), CHAT_E_NOT_INVITED);
  /* an invitation already counts: a full room still takes its invitee */
  assert_int_equal(room_may_join(&priv, ROOM_STANDING_INVITED, CHAT_ROOM_MEMBERS_MAX), CHAT_OK);
  assert_int_equal(room_may_leave(ROOM_STANDING_NONE), CHAT_E_NOT_MEMBER);
  assert_int_equal(room_may_leave(ROOM_STANDING_INVITED), CHAT_OK);
  assert_int_equal(room_may_leave(ROOM_STANDING_MEMBER), CHAT_OK);
}

static void only_members_read_a_private_room(void **state) {
  (void)state;
  room_kind pub = {0, {0, 0}, 0, 0}, priv = {0, {0, 0}, 0, 1};
  assert_int_equal(room_may_read(&pub, 0), CHAT_OK);
  assert_int_equal(room_may_read(&priv, 1), CHAT_OK);
  assert_int_equal(room_may_read(&priv, 0), CHAT_E_NOT_MEMBER);
}

static void the_owner_or_an_admin_invites_and_kicks(void **state) {
  (void)state;
  /* room owned by 1; 2 a user, 3 an ADMIN */
  assert_int_equal(room_may_invite(1, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_NONE, 3), CHAT_OK);
  assert_int_equal(room_may_invite(3, ROOM_ROLE_ADMIN, 1, 5, ROOM_STANDING_NONE, 3), CHAT_OK);
  assert_int_equal(room_may_invite(2, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_NONE, 3), CHAT_E_FORBIDDEN);
  assert_int_equal(room_may_invite(1, ROOM_ROLE_USER, 1, 1, ROOM_STANDING_MEMBER, 3), CHAT_E_SELF);
  assert_int_equal(room_may_invite(1, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_NONE, CHAT_ROOM_MEMBERS_MAX), CHAT_E_MEMBERS_FULL);
  assert_int_equal(room_may_invite(1, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_MEMBER, CHAT_ROOM_MEMBERS_MAX), CHAT_OK);
  assert_int_equal(room_may_kick(1, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_MEMBER), CHAT_OK);
  assert_int_equal(room_may_kick(1, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_INVITED), CHAT_OK);
  assert_int_equal(room_may_kick(3, ROOM_ROLE_ADMIN, 1, 5, ROOM_STANDING_MEMBER), CHAT_OK);
  assert_int_equal(room_may_kick(2, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_MEMBER), CHAT_E_FORBIDDEN);
  assert_int_equal(room_may_kick(3, ROOM_ROLE_ADMIN, 1, 1, ROOM_STANDING_MEMBER), CHAT_E_FORBIDDEN);
  assert_int_equal(room_may_kick(1, ROOM_ROLE_USER, 1, 1, ROOM_STANDING_MEMBER), CHAT_E_SELF);
  assert_int_equal(room_may_kick(1, ROOM_ROLE_USER, 1, 5, ROOM_STANDING_NONE), CHAT_E_NOT_MEMBER);
  assert_int_equal(room_standing_parse("member"), ROOM_STANDING_MEMBER);
  assert_int_equal(room_standing_parse("Member"), -1);
  assert_string_equal(room_standing_name(ROOM_STANDING_INVITED), "invited");
}

#define ROOM_FACTS(priv) "\"room\":{\"id\":7,\"name\":\"Den\",\"private\":" priv ",\"owner\":1,\"members\":2}"
#define OWNER "\"actor\":{\"id\":1,\"username\":\"alice\",\"role\":\"USER\",\"standing\":\"member\"}"
#define STRANGER "\"actor\":{\"id\":2,\"username\":\"bob\",\"role\":\"USER\",\"standing\":\"none\"}"

static void the_membership_operation_answers_the_new_standing(void **state) {
  (void)state;
  size_t n;
  /* a public room: a stranger joins */
  assert_true(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"join\"," ROOM_FACTS("false") "," STRANGER "}", &n) > 0);
  assert_string_equal((char *)out, "{\"user_id\":2,\"standing\":\"member\",\"close\":false,\"tell\":null}");
  /* a private room: not without an invitation, and no reading */
  assert_int_equal(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"join\"," ROOM_FACTS("true") "," STRANGER "}", &n),
                   CHAT_E_NOT_INVITED);
  assert_int_equal(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"view\"," ROOM_FACTS("true") "," STRANGER "}", &n),
                   CHAT_E_NOT_MEMBER);
  /* the owner invites: the invitee's personal sockets are told, by whom */
  assert_true(call(CHAT_OP_MEMBERSHIP, NULL,
                   "{\"action\":\"invite\"," ROOM_FACTS("true") "," OWNER ",\"target\":{\"id\":2,\"username\":\"bob\","
                   "\"standing\":\"none\"}}", &n) > 0);
  assert_string_equal((char *)out,
                      "{\"user_id\":2,\"standing\":\"invited\",\"close\":false,\"tell\":\"{\\\"type\\\":\\\"room_invite\\\","
                      "\\\"room\\\":{\\\"id\\\":7,\\\"name\\\":\\\"Den\\\"},\\\"user\\\":{\\\"id\\\":1,\\\"username\\\":\\\"alice\\\"}}\"}");
  /* an unknown target */
  assert_int_equal(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"invite\"," ROOM_FACTS("true") "," OWNER ",\"target\":null}", &n),
                   CHAT_E_USER_NOT_FOUND);
  /* a kick closes the target's sockets; leaving a private room closes one's own */
  assert_true(call(CHAT_OP_MEMBERSHIP, NULL,
                   "{\"action\":\"kick\"," ROOM_FACTS("false") "," OWNER ",\"target\":{\"id\":2,\"username\":\"bob\","
                   "\"standing\":\"member\"}}", &n) > 0);
  assert_string_equal((char *)out, "{\"user_id\":2,\"standing\":\"none\",\"close\":true,\"tell\":null}");
  assert_true(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"leave\"," ROOM_FACTS("true") "," OWNER "}", &n) > 0);
  assert_string_equal((char *)out, "{\"user_id\":1,\"standing\":\"none\",\"close\":true,\"tell\":null}");
  assert_int_equal(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"dance\"," ROOM_FACTS("true") "," OWNER "}", &n),
                   CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_MEMBERSHIP, NULL, "{\"action\":\"join\"," ROOM_FACTS("true") ",\"actor\":{\"id\":1,"
                   "\"username\":\"a\",\"standing\":\"owner\"}}", &n), CHAT_E_FIELD_TYPE);
}

static void a_private_room_opens_its_sockets_and_history_to_members_only(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"private\":true}", 0, NULL) >= 0);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL), CHAT_E_NOT_MEMBER);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, "{\"id\":1,\"username\":\"alice\",\"role\":\"ADMIN\",\"member\":false}", 0, NULL),
                   CHAT_E_NOT_MEMBER);
  assert_true(room_run(r, ROOM_OPEN, 0, "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\",\"member\":true}", 0, &fx) > 0);
  cJSON_Delete(fx);
  assert_int_equal(room_run(r, ROOM_PAGE, 0, "{\"query\":\"\",\"viewer\":{\"id\":2,\"blocks\":[]}}", 0, NULL), CHAT_E_NOT_MEMBER);
  assert_true(room_run(r, ROOM_PAGE, 0, "{\"query\":\"\",\"viewer\":{\"id\":1,\"blocks\":[],\"member\":true}}", 0, &fx) > 0);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL) > 0);
  room_free(r);
  /* a public room needs no membership */
  assert_int_equal(room_new(8, 1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 0, &fx) > 0);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_removal_closes_the_sockets_with_its_own_code(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 0, &fx) > 0);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_KICK, 0, "{\"user_id\":2,\"reason\":\"removed from the room\",\"removed\":true}", 0, &fx) > 0);
  assert_int_equal(num(fx_at(fx, 0, "close"), "code"), CHAT_CLOSE_REMOVED);
  cJSON_Delete(fx);
  room_free(r);
}

static void the_directory_query_reads_mine_and_a_percent_encoded_prefix(void **state) {
  (void)state;
  size_t n;
  assert_true(call(CHAT_OP_ROOMS_QUERY, "mine=1", NULL, &n) > 0);
  assert_string_equal((char *)out, "{\"limit\":50,\"mine\":true,\"prefix\":null,\"cursor\":null}");
  assert_true(call(CHAT_OP_ROOMS_QUERY, "q=Caf%C3%A9+Ol", NULL, &n) > 0);
  assert_string_equal((char *)out, "{\"limit\":50,\"mine\":false,\"prefix\":\"caf\xc3\xa9 ol\",\"cursor\":null}");
  assert_true(call(CHAT_OP_ROOMS_QUERY, "q=&limit=3", NULL, &n) > 0); /* empty: the whole directory */
  assert_string_equal((char *)out, "{\"limit\":3,\"cursor\":null}");
  assert_int_equal(call(CHAT_OP_ROOMS_QUERY, "q=%4", NULL, &n), CHAT_E_QUERY_INVALID);
  assert_int_equal(call(CHAT_OP_ROOMS_QUERY, "q=%00", NULL, &n), CHAT_E_QUERY_INVALID);
  assert_int_equal(call(CHAT_OP_ROOMS_QUERY, "mine=yes", NULL, &n), CHAT_E_QUERY_INVALID);
  char q[8 + 3 * (CHAT_ROOM_SEARCH_MAX + 1)] = "q=";
  for (int i = 0; i < CHAT_ROOM_SEARCH_MAX; i++) strcat(q, "a");
  assert_true(call(CHAT_OP_ROOMS_QUERY, q, NULL, &n) > 0);
  strcat(q, "a");
  assert_int_equal(call(CHAT_OP_ROOMS_QUERY, q, NULL, &n), CHAT_E_QUERY_INVALID);
  /* a page row says whether the room is private, and my standing in it */
  assert_true(call(CHAT_OP_ROOMS_PAGE, NULL,
                   "{\"limit\":5,\"rows\":[{\"id\":1,\"name\":\"a\",\"created_at\":1,\"last_activity_at\":2,"
                   "\"creator_id\":3,\"creator_username\":\"c\",\"private\":1,\"standing\":\"invited\"}]}", &n) > 0);
  assert_non_null(strstr((char *)out, "\"private\":true,\"standing\":\"invited\""));
  assert_int_equal(call(CHAT_OP_ROOMS_PAGE, NULL,
                        "{\"limit\":5,\"rows\":[{\"id\":1,\"name\":\"a\",\"created_at\":1,\"last_activity_at\":2,"
                        "\"creator_id\":3,\"creator_username\":\"c\",\"standing\":\"boss\"}]}", &n), CHAT_E_FIELD_TYPE);
}

static void a_member_page_is_limited_and_starts_after_a_user(void **state) {
  (void)state;
  size_t n;
  assert_true(call(CHAT_OP_MEMBERS_QUERY, "", NULL, &n) > 0);
  assert_string_equal((char *)out, "{\"limit\":100,\"after\":null}");
  assert_true(call(CHAT_OP_MEMBERS_QUERY, "limit=500&after=42", NULL, &n) > 0);
  assert_string_equal((char *)out, "{\"limit\":500,\"after\":42}");
  assert_int_equal(call(CHAT_OP_MEMBERS_QUERY, "limit=501", NULL, &n), CHAT_E_QUERY_INVALID);
  assert_int_equal(call(CHAT_OP_MEMBERS_QUERY, "limit=0", NULL, &n), CHAT_E_QUERY_INVALID);
  assert_int_equal(call(CHAT_OP_MEMBERS_QUERY, "after=x", NULL, &n), CHAT_E_QUERY_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(anyone_joins_a_public_room_and_only_invitees_a_private_one),
      cmocka_unit_test(only_members_read_a_private_room),
      cmocka_unit_test(the_owner_or_an_admin_invites_and_kicks),
      cmocka_unit_test(the_membership_operation_answers_the_new_standing),
      cmocka_unit_test(a_private_room_opens_its_sockets_and_history_to_members_only),
      cmocka_unit_test(a_removal_closes_the_sockets_with_its_own_code),
      cmocka_unit_test(the_directory_query_reads_mine_and_a_percent_encoded_prefix),
      cmocka_unit_test(a_member_page_is_limited_and_starts_after_a_user),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
