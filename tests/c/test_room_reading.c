/* Read markers, unread counts and mentions (issue 15): mention parsing, the rules
 * (room_rules.h) at their edges, mark_read and the store effect's mentions in the
 * state machine, and the operations that make the personal sockets' frames. */
#include <stdio.h>

#include "api.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "message.h"
#include "room.h"
#include "room_rules.h"
#include "room_util.h"
#include "test_util.h"

static char keys[CHAT_MENTIONS_MAX][CHAT_USERNAME_MAX + 1];

static int mentions(const char *body) { return message_mentions(body, strlen(body), keys); }

static void a_mention_is_an_at_sign_and_a_username_in_any_case(void **state) {
  (void)state;
  assert_int_equal(mentions("@Bob hi"), 1);
  assert_string_equal(keys[0], "bob");
  assert_int_equal(mentions("hi @BOB"), 1); /* at the end of the body */
  assert_string_equal(keys[0], "bob");
  assert_int_equal(mentions("hey @alice, @bob! and @carol_x."), 3); /* punctuation ends a name */
  assert_string_equal(keys[0], "alice");
  assert_string_equal(keys[1], "bob");
  assert_string_equal(keys[2], "carol_x");
  assert_int_equal(mentions("(@bob) \"@alice\""), 2);
  assert_int_equal(mentions("@bob @Bob @BOB"), 1); /* each person once */
  assert_int_equal(mentions("@bob."), 1);
  assert_string_equal(keys[0], "bob");
  assert_int_equal(mentions("@b.o.b"), 1);
  assert_string_equal(keys[0], "b.o.b");
}

static void an_at_sign_inside_an_email_address_or_a_short_name_is_no_mention(void **state) {
  (void)state;
  assert_int_equal(mentions("mail bob@example.com"), 0);
  assert_int_equal(mentions("mail bob+tag@example.com or x_y@bob"), 0);
  assert_int_equal(mentions("@bob@example.com"), 0);
  assert_int_equal(mentions("caf\xc3\xa9@bob"), 0);
  assert_int_equal(mentions("@ab and @ and @@ and a@"), 0); /* shorter than CHAT_USERNAME_MIN */
  char body[64] = "@";
  memset(body + 1, 'a', CHAT_USERNAME_MAX + 1);
  assert_int_equal(mentions(body), 0); /* longer than CHAT_USERNAME_MAX */
  body[CHAT_USERNAME_MAX + 1] = 0;
  assert_int_equal(mentions(body), 1);
  assert_int_equal(mentions(""), 0);
}

static void a_message_mentions_at_most_the_limit(void **state) {
  (void)state;
  char body[2048] = "";
  for (int i = 0; i < CHAT_MENTIONS_MAX + 5; i++) sprintf(body + strlen(body), "@user%02d ", i);
  assert_int_equal(mentions(body), CHAT_MENTIONS_MAX);
  assert_string_equal(keys[CHAT_MENTIONS_MAX - 1], "user19");
}

static void markers_only_move_forward_and_never_past_the_last_message(void **state) {
  (void)state;
  assert_int_equal(room_marker_next(5, 7, 10), 7);
  assert_int_equal(room_marker_next(5, 3, 10), 5);
  assert_int_equal(room_marker_next(5, 5, 10), 5);
  assert_int_equal(room_marker_next(5, 99, 10), 10);
  assert_int_equal(room_marker_next(0, 0, 0), 0);
  assert_int_equal(room_may_mark_read(0), CHAT_E_NOT_MEMBER);
  assert_int_equal(room_may_mark_read(1), CHAT_OK);
}

/* Naming strangers in a public room notifies none of them (a notification spam
 * of 100 a second at the frame rate, each with a room_activity). */
static void a_mention_reaches_members_only_and_never_a_blocker(void **state) {
  (void)state;
  assert_true(room_mention_reaches(2, 1, 1, 0));
  assert_false(room_mention_reaches(2, 1, 0, 0)); /* not a member, public room or not */
  assert_false(room_mention_reaches(2, 1, 1, 1));
  assert_false(room_mention_reaches(1, 1, 1, 0)); /* oneself */
  assert_false(room_activity_due(1000, 1000 + CHAT_ROOM_ACTIVITY_MS - 1));
  assert_true(room_activity_due(1000, 1000 + CHAT_ROOM_ACTIVITY_MS));
}

#define ALICE_MEMBER "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\",\"member\":true,\"read\":1}"

static void mark_read_moves_a_members_marker_forward_only(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(7, 4, 1, &r), CHAT_OK); /* messages 1..3 stored */
  int64_t a = join(r, ALICE_MEMBER, 0), b = join(r, BOB, 0);
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"mark_read\",\"seq\":2}", 0, &fx) > 0);
  assert_string_equal(op_of(cJSON_GetArrayItem(fx, 0)), "read_marker");
  assert_int_equal(num(cJSON_GetArrayItem(fx, 0), "seq"), 2);
  cJSON_Delete(fx);
  /* backwards, or where it is: nothing */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"mark_read\",\"seq\":1}", 0, &fx) >= 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  /* past the last message: to the last message */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"mark_read\",\"seq\":50}", 0, &fx) > 0);
  assert_int_equal(num(cJSON_GetArrayItem(fx, 0), "seq"), 3);
  cJSON_Delete(fx);
  /* a non-member has no marker; a bad seq is an error frame */
  assert_true(room_run(r, ROOM_FRAME, b, "{\"type\":\"mark_read\",\"seq\":2,\"ref\":\"m\"}", 0, &fx) > 0);
  assert_non_null(strstr(str(fx_at(fx, 0, "send"), "frame"), "not_member"));
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"mark_read\",\"seq\":-1}", 0, &fx) > 0);
  assert_non_null(strstr(str(fx_at(fx, 0, "send"), "frame"), "seq_invalid"));
  cJSON_Delete(fx);
  /* bob joins the room over HTTP: from now on he has a marker */
  assert_true(room_run(r, ROOM_MEMBER, 0, "{\"user_id\":2,\"member\":true}", 0, NULL) >= 0);
  assert_true(room_run(r, ROOM_FRAME, b, "{\"type\":\"mark_read\",\"seq\":3}", 0, &fx) > 0);
  assert_string_equal(op_of(cJSON_GetArrayItem(fx, 0)), "read_marker");
  cJSON_Delete(fx);
  assert_int_equal(room_run(r, ROOM_MEMBER, 0, "{\"user_id\":2,\"member\":1}", 0, NULL), CHAT_E_FIELD_TYPE);
  room_free(r);
}

/* The first effect of fx with this op. */
static cJSON *find_op(cJSON *fx, const char *op) {
  cJSON *e;
  cJSON_ArrayForEach(e, fx) if (strcmp(op_of(e), op) == 0) return e;
  fail_msg("no %s effect", op);
  return NULL;
}

static void a_stored_message_names_whom_it_mentions_but_its_author_and_those_looking(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  join(r, BOB, 0);
  cJSON *fx = say(r, a, "@ALICE @bob @Carol and dave@example.com", "m1", 0);
  cJSON *row = cJSON_GetObjectItem(find_op(fx, "store"), "message");
  cJSON *m = cJSON_GetObjectItem(row, "mentions");
  assert_int_equal(cJSON_GetArraySize(m), 1); /* alice wrote it, bob is looking */
  assert_string_equal(cJSON_GetArrayItem(m, 0)->valuestring, "carol");
  /* the flush tells the shell who is looking, when that changed */
  cJSON *act = find_op(fx, "room_activity");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(act, "looking")), 2);
  cJSON_Delete(fx);
  fx = say(r, a, "no one", "m2", 5000);
  assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(find_op(fx, "store"), "message"), "mentions"));
  cJSON *e;
  cJSON_ArrayForEach(e, fx) assert_string_not_equal(op_of(e), "room_activity"); /* nobody came or went */
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_CLOSE, a, NULL, 6000, NULL) >= 0); /* alice stops looking */
  int64_t b2 = join(r, BOB, 6000);
  fx = say(r, b2, "after", "m3", 9000);
  act = find_op(fx, "room_activity");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(act, "looking")), 1);
  assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(act, "looking"), 0)->valueint, 2);
  cJSON_Delete(fx);
  room_free(r);
}

static unsigned char out[1 << 14];

static int call(int op, const char *aux, size_t *n) {
  int rc = api_call(op, NULL, 0, (const unsigned char *)aux, strlen(aux), 0, out, sizeof out - 1, n);
  out[rc >= 0 ? *n : 0] = 0;
  return rc;
}

static void the_mention_frame_goes_only_where_the_rule_lets_it(void **state) {
  (void)state;
  size_t n;
#define MENTION(member, blocks) \
  "{\"room_id\":7,\"seq\":9,\"person\":2,\"from\":{\"id\":1,\"username\":\"alice\"}" \
  ",\"member\":" member ",\"blocks_author\":" blocks "}"
  assert_true(call(CHAT_OP_MENTION_CHECK, MENTION("true", "false"), &n) > 0);
  assert_string_equal((char *)out,
                      "{\"reaches\":true,\"frame\":\"{\\\"type\\\":\\\"mention\\\",\\\"room_id\\\":7,\\\"seq\\\":9,"
                      "\\\"user\\\":{\\\"id\\\":1,\\\"username\\\":\\\"alice\\\"},\\\"from\\\":{\\\"id\\\":1,"
                      "\\\"username\\\":\\\"alice\\\"}}\"}");
  assert_true(call(CHAT_OP_MENTION_CHECK, MENTION("true", "true"), &n) > 0);
  assert_string_equal((char *)out, "{\"reaches\":false,\"frame\":null}");
  assert_true(call(CHAT_OP_MENTION_CHECK, MENTION("false", "false"), &n) > 0); /* a stranger, public room or not */
  assert_string_equal((char *)out, "{\"reaches\":false,\"frame\":null}");
  assert_int_equal(call(CHAT_OP_MENTION_CHECK, "{\"room_id\":7,\"seq\":9,\"person\":2}", &n), CHAT_E_FIELD_TYPE);
  assert_true(call(CHAT_OP_ROOM_ACTIVITY, "{\"room_id\":7,\"last_seq\":12,\"unread\":3,\"mentions\":1}", &n) > 0);
  assert_string_equal((char *)out, "{\"type\":\"room_activity\",\"room_id\":7,\"last_seq\":12,\"unread\":3,\"mentions\":1}");
  assert_int_equal(call(CHAT_OP_ROOM_ACTIVITY, "{\"room_id\":7,\"last_seq\":12,\"unread\":-3,\"mentions\":1}", &n),
                   CHAT_E_FIELD_TYPE);
}

/* A profile change of someone a room removed (or who never belonged) reaches
 * nobody there: a kicked user cannot keep pushing user_updated into the room. */
static void a_profile_change_reaches_only_rooms_the_person_belongs_to(void **state) {
  (void)state;
  assert_true(room_profile_reaches(0, 1, 0));  /* a member, no socket now */
  assert_true(room_profile_reaches(0, 0, 2));  /* a reader of a public room, here now */
  assert_false(room_profile_reaches(0, 0, 0)); /* removed, or only visited once */
  assert_true(room_profile_reaches(1, 0, 0));  /* a conversation's two people */
  size_t n;
  assert_true(call(CHAT_OP_PROFILE_REACHES, "{\"conversation\":false,\"member\":false,\"sockets\":0}", &n) > 0);
  assert_string_equal((char *)out, "{\"reaches\":false}");
  assert_true(call(CHAT_OP_PROFILE_REACHES, "{\"conversation\":false,\"member\":true,\"sockets\":0}", &n) > 0);
  assert_string_equal((char *)out, "{\"reaches\":true}");
  assert_int_equal(call(CHAT_OP_PROFILE_REACHES, "{\"conversation\":false,\"member\":1,\"sockets\":0}", &n), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_PROFILE_REACHES, "{\"conversation\":false,\"member\":true,\"sockets\":-1}", &n), CHAT_E_FIELD_TYPE);
}

/* Relays (chat_limits.h): a room holds its sockets itself below CHAT_RELAY_FROM
 * open sockets; from there each new socket goes to relay user id mod CHAT_RELAYS,
 * the same relay for all of one user's sockets; a conversation never relays. */
static void a_big_room_takes_new_sockets_through_the_users_relay(void **state) {
  (void)state;
  assert_int_equal(room_relay_for(0, 7, CHAT_RELAY_FROM - 1, CHAT_RELAY_FROM), -1);
  assert_int_equal(room_relay_for(0, 7, CHAT_RELAY_FROM, CHAT_RELAY_FROM), 7 % CHAT_RELAYS);
  assert_int_equal(room_relay_for(0, 7 + CHAT_RELAYS, CHAT_RELAY_FROM + 5, CHAT_RELAY_FROM), 7 % CHAT_RELAYS);
  assert_int_equal(room_relay_for(1, 7, CHAT_RELAY_FROM, CHAT_RELAY_FROM), -1);
  assert_int_equal(room_relay_for(0, 3, 2, 2), 3 % CHAT_RELAYS);
  size_t n;
  assert_true(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":false,\"user_id\":13,\"sockets\":3}", &n) > 0);
  assert_string_equal((char *)out, "{\"relay\":null}");
  assert_true(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":false,\"user_id\":13,\"sockets\":3,\"from\":3}", &n) > 0);
  char want[32];
  snprintf(want, sizeof want, "{\"relay\":%d}", 13 % CHAT_RELAYS);
  assert_string_equal((char *)out, want);
  assert_true(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":true,\"user_id\":13,\"sockets\":3,\"from\":3}", &n) > 0);
  assert_string_equal((char *)out, "{\"relay\":null}");
  assert_int_equal(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":false,\"user_id\":13,\"sockets\":3,\"from\":0}", &n), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":false,\"user_id\":13}", &n), CHAT_E_FIELD_MISSING);
  assert_int_equal(call(CHAT_OP_RELAY_ROUTE, "{\"user_id\":13,\"sockets\":3}", &n), CHAT_E_FIELD_MISSING);
  assert_int_equal(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":0,\"user_id\":13,\"sockets\":3}", &n), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_RELAY_ROUTE, "{\"conversation\":false,\"user_id\":-1,\"sockets\":3}", &n), CHAT_E_FIELD_TYPE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_profile_change_reaches_only_rooms_the_person_belongs_to),
      cmocka_unit_test(a_big_room_takes_new_sockets_through_the_users_relay),
      cmocka_unit_test(a_mention_is_an_at_sign_and_a_username_in_any_case),
      cmocka_unit_test(an_at_sign_inside_an_email_address_or_a_short_name_is_no_mention),
      cmocka_unit_test(a_message_mentions_at_most_the_limit),
      cmocka_unit_test(markers_only_move_forward_and_never_past_the_last_message),
      cmocka_unit_test(a_mention_reaches_members_only_and_never_a_blocker),
      cmocka_unit_test(mark_read_moves_a_members_marker_forward_only),
      cmocka_unit_test(a_stored_message_names_whom_it_mentions_but_its_author_and_those_looking),
      cmocka_unit_test(the_mention_frame_goes_only_where_the_rule_lets_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
