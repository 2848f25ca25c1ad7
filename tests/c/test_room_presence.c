/* Presence and typing (issue 15): per user, not per socket; filtered for blockers;
 * typing rate-limited, never back to its author, never stored; both riding in the
 * outbox's batches when a flush is due. */
#include "chat_error.h"
#include "chat_limits.h"
#include "room.h"
#include "room_rules.h"
#include "room_util.h"
#include "test_util.h"

/* Every frame of type `type` each conn gets in fx: "conn:frame-json;" joined. */
static void frames_of(cJSON *fx, const char *type, char *outs, size_t cap) {
  cJSON *d = deliveries(fx), *one, *conn, *f;
  outs[0] = 0;
  cJSON_ArrayForEach(one, d) {
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(one, "frames")) {
      if (strcmp(str(f, "type"), type) != 0) continue;
      char *text = cJSON_PrintUnformatted(f);
      cJSON_ArrayForEach(conn, cJSON_GetObjectItem(one, "to"))
        snprintf(outs + strlen(outs), cap - strlen(outs), "%d:%s;", conn->valueint, text);
      cJSON_free(text);
    }
  }
  cJSON_Delete(d);
}

static cJSON *join_fx(room *r, const char *user, double now, int64_t *conn) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_OPEN, 0, user, now, &fx) > 0);
  *conn = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, *conn, "{\"type\":\"join_room\"}", now, NULL) >= 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, now, &fx) >= 0);
  return fx;
}

static void presence_is_per_user_and_hides_whom_one_blocks(void **state) {
  (void)state;
  room *r;
  char got[2048];
  int64_t a1, a2, b, c;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  cJSON *fx = join_fx(r, ALICE, 0, &a1);
  frames_of(fx, "presence", got, sizeof got);
  assert_string_equal(got, "1:{\"type\":\"presence\",\"room_id\":7,\"online\":[1]};");
  cJSON_Delete(fx);
  fx = join_fx(r, BOB, 0, &b);
  frames_of(fx, "presence_changed", got, sizeof got);
  assert_string_equal(got, "1:{\"type\":\"presence_changed\",\"room_id\":7,\"user_id\":2,\"online\":true};");
  cJSON_Delete(fx);
  /* alice's second tab: she is online already, nobody hears of it again */
  fx = join_fx(r, ALICE, 0, &a2);
  frames_of(fx, "presence_changed", got, sizeof got);
  assert_string_equal(got, "");
  frames_of(fx, "presence", got, sizeof got);
  assert_string_equal(got, "3:{\"type\":\"presence\",\"room_id\":7,\"online\":[1,2]};");
  cJSON_Delete(fx);
  /* carol blocks alice: she does not see her online, nor hear of her coming or going */
  fx = join_fx(r, CAROL_BLOCKS_ALICE, 0, &c);
  frames_of(fx, "presence", got, sizeof got);
  assert_string_equal(got, "4:{\"type\":\"presence\",\"room_id\":7,\"online\":[4,2]};");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_CLOSE, a1, NULL, 5000, &fx) >= 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0); /* one tab of two: still online */
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_CLOSE, a2, NULL, 5000, &fx) >= 0);
  frames_of(fx, "presence_changed", got, sizeof got);
  assert_string_equal(got, "2:{\"type\":\"presence_changed\",\"room_id\":7,\"user_id\":1,\"online\":false};");
  cJSON_Delete(fx);
  room_free(r);
}

static void typing_reaches_the_others_at_most_every_interval_and_not_blockers(void **state) {
  (void)state;
  room *r;
  char got[2048];
  cJSON *fx;
  int64_t a, b, c, stranger;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  cJSON_Delete(join_fx(r, ALICE, 0, &a));
  cJSON_Delete(join_fx(r, BOB, 0, &b));
  cJSON_Delete(join_fx(r, CAROL_BLOCKS_ALICE, 0, &c));
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"typing\"}", 1000, &fx) >= 0);
  frames_of(fx, "typing", got, sizeof got);
  assert_string_equal(got, "2:{\"type\":\"typing\",\"room_id\":7,\"user_id\":1,\"expires_in\":6000};");
  cJSON_Delete(fx);
  /* again within the interval: dropped, not refused */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"typing\"}", 1000 + CHAT_TYPING_INTERVAL_MS - 1, &fx) >= 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"typing\"}", 1000 + CHAT_TYPING_INTERVAL_MS, &fx) >= 0);
  frames_of(fx, "typing", got, sizeof got);
  assert_string_equal(got, "2:{\"type\":\"typing\",\"room_id\":7,\"user_id\":1,\"expires_in\":6000};");
  cJSON_Delete(fx);
  /* carol's typing reaches alice and bob; nothing is stored */
  assert_true(room_run(r, ROOM_FRAME, c, "{\"type\":\"typing\"}", 1000, &fx) >= 0);
  frames_of(fx, "typing", got, sizeof got);
  assert_non_null(strstr(got, "1:"));
  assert_non_null(strstr(got, "2:"));
  cJSON *e;
  cJSON_ArrayForEach(e, fx) assert_string_not_equal(op_of(e), "store");
  cJSON_Delete(fx);
  /* an unjoined socket may not */
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 1000, &fx) > 0);
  stranger = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, stranger, "{\"type\":\"typing\"}", 1000, &fx) > 0);
  assert_non_null(strstr(str(fx_at(fx, 0, "send"), "frame"), "not_joined"));
  cJSON_Delete(fx);
  assert_false(room_typing_due(0, CHAT_TYPING_INTERVAL_MS - 1));
  assert_true(room_typing_due(0, CHAT_TYPING_INTERVAL_MS));
  assert_int_equal(room_may_type(0), CHAT_E_NOT_JOINED);
  room_free(r);
}

static void in_a_busy_room_typing_rides_in_the_batch(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  int64_t a, b;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  cJSON_Delete(join_fx(r, ALICE, 0, &a));
  cJSON_Delete(join_fx(r, BOB, 0, &b));
  cJSON_Delete(say(r, a, "first", "f1", 1000)); /* sent at once: the outbox is busy for 10 ms */
  fx = say(r, a, "second", "f2", 1001);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, b, "{\"type\":\"typing\"}", 1002, &fx) >= 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0); /* waits with the message */
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 1010, &fx) >= 0);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 1010, &fx) >= 0);
  char *text = cJSON_PrintUnformatted(fx);
  assert_non_null(strstr(text, "batch")); /* alice gets message and typing in one frame */
  assert_non_null(strstr(text, "typing"));
  cJSON_free(text);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_ban_or_a_flood_that_closes_their_last_socket_tells_the_others(void **state) {
  (void)state;
  room *r;
  char got[2048];
  cJSON *fx;
  int64_t a, b;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  cJSON_Delete(join_fx(r, ALICE, 0, &a));
  cJSON_Delete(join_fx(r, BOB, 0, &b));
  assert_true(room_run(r, ROOM_KICK, 0, "{\"user_id\":2,\"reason\":\"removed\",\"removed\":true}", 10, &fx) > 0);
  frames_of(fx, "presence_changed", got, sizeof got);
  assert_string_equal(got, "1:{\"type\":\"presence_changed\",\"room_id\":7,\"user_id\":2,\"online\":false};");
  cJSON_Delete(fx);
  /* a kick of someone not here says nothing */
  assert_true(room_run(r, ROOM_KICK, 0, "{\"user_id\":9,\"reason\":\"x\"}", 20, &fx) >= 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  room_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(presence_is_per_user_and_hides_whom_one_blocks),
      cmocka_unit_test(typing_reaches_the_others_at_most_every_interval_and_not_blockers),
      cmocka_unit_test(in_a_busy_room_typing_rides_in_the_batch),
      cmocka_unit_test(a_ban_or_a_flood_that_closes_their_last_socket_tells_the_others),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
