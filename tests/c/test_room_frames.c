/* Frames from clients and the answers that finish them: messages and their
 * seqs, retries, refusals, deletes, rate limits and floods, direct messages
 * (wasm/room_frames.c). */
#include "chat_error.h"
#include "room_util.h"
#include "test_util.h"

static void messages_get_gap_free_seqs_are_stored_before_they_are_sent(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(9, 41, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0);
  for (int i = 0; i < 3; i++) {
    char cid[16];
    snprintf(cid, sizeof cid, "m%d", i);
    /* a quiet room: each message goes out at once (see the coalescing tests) */
    cJSON *fx = say(r, i % 2 ? b : a, "hello", cid, 100 + i * CHAT_FLUSH_INTERVAL_MS);
    cJSON *store = cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message");
    assert_int_equal(num(store, "seq"), 41 + i);
    assert_string_equal(str(store, "client_id"), cid);
    cJSON *send = fx_at(fx, 1, "send");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(send, "to")), 2); /* both, sender too */
    cJSON *f = frame_of(send);
    assert_string_equal(str(f, "type"), "new_chat_message");
    assert_int_equal(num(f, "seq"), 41 + i);
    assert_int_equal(num(f, "room_id"), 9);
    assert_string_equal(str(f, "client_id"), cid);
    cJSON_Delete(f);
    cJSON_Delete(fx);
  }
  room_free(r);
}

static void a_retry_is_acknowledged_with_the_original_and_not_stored(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 6, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  join(r, BOB, 0);
  assert_true(room_run(r, ROOM_FRAME, a,
                       "{\"type\":\"new_chat_message\",\"body\":\"again\",\"client_id\":\"x1\"}", 5,
                       NULL) > 0);
  const char *orig = "{\"rows\":[{\"seq\":5,\"user_id\":1,\"username\":\"alice\",\"body\":\"again\","
                     "\"client_id\":\"x1\",\"created_at\":3,\"deleted_at\":null}]}";
  assert_true(room_run(r, ROOM_ANSWER, 0, orig, 5, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(fx), 1);
  cJSON *send = fx_at(fx, 0, "send");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(send, "to")), 1);
  assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(send, "to"), 0)->valuedouble, a);
  cJSON *f = frame_of(send);
  assert_int_equal(num(f, "seq"), 5);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "duplicate")));
  cJSON_Delete(f);
  cJSON_Delete(fx);
  /* the next new message still gets 6: nothing was taken */
  fx = say(r, a, "new", "x2", 5 + CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 6);
  cJSON_Delete(fx);
  room_free(r);
}

static void bad_messages_get_error_frames_and_nothing_is_stored(void **state) {
  (void)state;
  room *r;
  static char big[5 * 4001 + 128], body[4 * 4001 + 1];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  struct { const char *frame; const char *code; } cases[] = {
      {"{\"type\":\"new_chat_message\",\"body\":\"\",\"client_id\":\"a\"}", "body_empty"},
      {"{\"type\":\"new_chat_message\",\"body\":\" \\n\\t \",\"client_id\":\"a\"}", "body_empty"},
      {"{\"type\":\"new_chat_message\",\"body\":\"hi\",\"client_id\":\"\"}", "client_id_invalid"},
      {"{\"type\":\"new_chat_message\",\"body\":\"hi\",\"client_id\":\"a b\"}", "client_id_invalid"},
      {"{\"type\":\"new_chat_message\",\"body\":\"hi\"}", "field_missing"},
      {"{\"type\":\"new_chat_message\",\"body\":5,\"client_id\":\"a\"}", "field_type"},
      {"{\"type\":\"delete_message\",\"seq\":-1}", "seq_invalid"},
      {"{\"type\":\"delete_message\",\"seq\":1.5}", "seq_invalid"},
      {"{\"type\":\"delete_message\",\"seq\":\"1\"}", "seq_invalid"},
      {"{\"type\":\"join_room\",\"since\":\"x\"}", "seq_invalid"},
      {"{\"type\":\"shout\"}", "unknown_type"},
      {"[1]", "not_object"},
      {"{\"type\":\"ping\",\"ref\":7}", "ref_invalid"},
      {"nonsense", "bad_json"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cJSON *fx;
    assert_true(room_run(r, ROOM_FRAME, a, cases[i].frame, (double)i * 1000, &fx) > 0);
    assert_int_equal(cJSON_GetArraySize(fx), 1);
    cJSON *f = frame_of(fx_at(fx, 0, "send"));
    assert_string_equal(str(f, "type"), "error");
    if (strcmp(str(f, "code"), cases[i].code) != 0) fail_msg("%s: %s", cases[i].frame, str(f, "code"));
    cJSON_Delete(f);
    cJSON_Delete(fx);
  }
  /* 4001 characters of "é" (2 bytes each) is too long; 4000 is fine */
  for (int i = 0; i < 4001; i++) memcpy(body + 2 * i, "\xc3\xa9", 2);
  body[2 * 4001] = 0;
  snprintf(big, sizeof big, "{\"type\":\"new_chat_message\",\"body\":\"%s\",\"client_id\":\"a\"}", body);
  cJSON *fx;
  assert_true(room_run(r, ROOM_FRAME, a, big, 100000, &fx) > 0);
  cJSON *f = frame_of(fx_at(fx, 0, "send"));
  assert_string_equal(str(f, "code"), "body_too_long");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  body[2 * 4000] = 0;
  fx = say(r, a, body, "ok4000", 200000);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 1);
  cJSON_Delete(fx);
  room_free(r);
}

static void sending_before_join_is_refused(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"a\",\"ref\":\"r\"}", 0, &fx) > 0);
  cJSON *f = frame_of(fx_at(fx, 0, "send"));
  assert_string_equal(str(f, "code"), "not_joined");
  assert_string_equal(str(f, "ref"), "r");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

static void only_joined_connections_receive_messages(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 0, NULL) > 0); /* bob connected, not joined */
  cJSON *fx = say(r, a, "hi", "c", 0);
  cJSON *to = cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to");
  assert_int_equal(cJSON_GetArraySize(to), 1);
  assert_int_equal(cJSON_GetArrayItem(to, 0)->valuedouble, a);
  cJSON_Delete(fx);
  room_free(r);
}

static void delete_rules_author_and_admin_may_others_may_not(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  const char *alices = "{\"row\":{\"seq\":4,\"user_id\":1,\"username\":\"alice\",\"body\":\"b\","
                       "\"client_id\":\"c\",\"created_at\":1,\"deleted_at\":null}}";
  const char *gone = "{\"row\":{\"seq\":4,\"user_id\":1,\"username\":\"alice\",\"body\":\"b\","
                     "\"client_id\":\"c\",\"created_at\":1,\"deleted_at\":9}}";
  assert_int_equal(room_new(1, 5, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0), root = join(r, ADMIN, 0);
  const char *del = "{\"type\":\"delete_message\",\"seq\":4,\"ref\":\"d\"}";

  struct { int64_t conn; const char *answer; const char *code; } refused[] = {
      {b, alices, "forbidden"}, {a, NO_ROW, "message_not_found"}, {a, gone, "message_not_found"}};
  for (size_t i = 0; i < 3; i++) {
    assert_true(room_run(r, ROOM_FRAME, refused[i].conn, del, 0, &fx) > 0);
    assert_int_equal(num(fx_at(fx, 0, "query"), "seq"), 4);
    cJSON_Delete(fx);
    assert_true(room_run(r, ROOM_ANSWER, 0, refused[i].answer, 0, &fx) > 0);
    assert_int_equal(cJSON_GetArraySize(fx), 1); /* no tombstone */
    cJSON *f = frame_of(fx_at(fx, 0, "send"));
    assert_string_equal(str(f, "code"), refused[i].code);
    assert_string_equal(str(f, "ref"), "d");
    cJSON_Delete(f);
    cJSON_Delete(fx);
  }
  int64_t allowed[] = {a, root};
  for (size_t i = 0; i < 2; i++) {
    double at = 50 + i * CHAT_FLUSH_INTERVAL_MS;
    assert_true(room_run(r, ROOM_FRAME, allowed[i], del, at, NULL) > 0);
    assert_true(room_run(r, ROOM_ANSWER, 0, alices, at, &fx) > 0);
    assert_int_equal(num(fx_at(fx, 0, "tombstone"), "seq"), 4);
    cJSON *send = fx_at(fx, 1, "send");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(send, "to")), 3);
    cJSON *f = frame_of(send);
    assert_string_equal(str(f, "type"), "message_deleted");
    assert_int_equal(num(f, "seq"), 4);
    cJSON_Delete(f);
    cJSON_Delete(fx);
  }
  room_free(r);
}

static void a_flood_is_rate_limited_then_disconnected(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0); /* join took one token */
  int limited = 0, closed = 0;
  for (int i = 0; i < 200 && !closed; i++) {
    assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"ping\"}", 0, &fx) > 0);
    cJSON *e = cJSON_GetArrayItem(fx, 0);
    if (strcmp(op_of(e), "close") == 0) {
      assert_int_equal(num(e, "code"), CHAT_CLOSE_POLICY);
      closed = i + 1;
    } else {
      cJSON *f = frame_of(e);
      if (strcmp(str(f, "type"), "error") == 0) {
        assert_string_equal(str(f, "code"), "rate_limited");
        limited++;
      }
      cJSON_Delete(f);
    }
    cJSON_Delete(fx);
  }
  assert_int_equal(limited, CHAT_FLOOD_BURST);
  assert_int_equal(closed, CHAT_RATE_BURST - 1 + CHAT_FLOOD_BURST + 1);
  /* closed and forgotten in one event */
  assert_int_equal(room_run(r, ROOM_FRAME, a, "{\"type\":\"ping\"}", 0, NULL), CHAT_E_MISUSE);
  room_free(r);
}

/* Issue 13 (4): the web client matches refusals by ref; a rate_limited refusal
 * without it left a message "Sending..." until the next reconnect. */
static void a_rate_limited_refusal_echoes_the_frames_ref(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char frame[128];
  int refused = 0;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  for (int i = 0; i < CHAT_RATE_BURST + 5; i++) {
    snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"c%d\",\"ref\":\"c%d\"}", i, i);
    assert_true(room_run(r, ROOM_FRAME, a, frame, 0, &fx) >= 0);
    const cJSON *e;
    cJSON_ArrayForEach(e, fx) {
      if (strcmp(op_of(e), "send") != 0) continue;
      cJSON *f = frame_of(e);
      if (strcmp(str(f, "type"), "error") == 0) {
        char want[16];
        snprintf(want, sizeof want, "c%d", i);
        assert_string_equal(str(f, "code"), "rate_limited");
        assert_non_null(cJSON_GetObjectItem(f, "ref"));
        assert_string_equal(str(f, "ref"), want);
        refused++;
      }
      cJSON_Delete(f);
    }
    if (cJSON_GetArraySize(fx) && strcmp(op_of(cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1)), "query") == 0) {
      cJSON_Delete(fx);
      assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, &fx) >= 0);
    }
    cJSON_Delete(fx);
  }
  assert_int_equal(refused, 6); /* join_room took one of the CHAT_RATE_BURST tokens */
  room_free(r);
}

/* The last limits effect of fx (asserting there is one), as the user's facts'
 * "flood" to give back: {"tokens","last_ms"}. */
static void last_flood(const cJSON *fx, char *facts, size_t cap) {
  const cJSON *e, *limits = NULL;
  cJSON_ArrayForEach(e, fx) if (strcmp(op_of(e), "limits") == 0) limits = e;
  assert_non_null(limits);
  assert_int_equal(num(limits, "user_id"), 1);
  char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(limits, "flood"));
  snprintf(facts, cap, "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\",\"flood\":%s}", text);
  free(text);
}

/* Floods socket conn with pings at time `now` until it is closed; returns how many
 * were refused before, and the last limits effect's facts in `facts`. */
static int flood_until_closed(room *r, int64_t conn, double now, char *facts, size_t cap) {
  int refused = 0;
  for (int i = 0; i < 200; i++) {
    cJSON *fx;
    assert_true(room_run(r, ROOM_FRAME, conn, "{\"type\":\"ping\"}", now, &fx) > 0);
    int closed = strcmp(op_of(cJSON_GetArrayItem(fx, 0)), "close") == 0;
    if (!closed) {
      cJSON *f = frame_of(cJSON_GetArrayItem(fx, 0));
      refused += strcmp(str(f, "type"), "error") == 0;
      cJSON_Delete(f);
    }
    if (strcmp(op_of(cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1)), "limits") == 0) last_flood(fx, facts, cap);
    cJSON_Delete(fx);
    if (closed) return refused;
  }
  fail_msg("never closed");
  return refused;
}

/* Issue 13 (5): a socket closed with 1008 let the room hibernate (about 10 s) and
 * came back with a full flood allowance, 30 refusals instead of about 10. The core
 * hands the flood bucket to the shell (a limits effect), which gives it back with
 * the user's facts when the room is rebuilt: at open and at restore. */
static void the_flood_penalty_outlives_the_room_in_memory(void **state) {
  (void)state;
  room *r;
  char facts[256], restore[512];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  assert_int_equal(flood_until_closed(r, a, 1000, facts, sizeof facts), CHAT_FLOOD_BURST);
  room_free(r); /* hibernation: the core's memory is gone */

  /* 10 s later, a new socket in the rebuilt room: the flood bucket holds the 10
   * tokens 10 s gave back, not 30 */
  const double later = 1000 + 10000;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t again = join(r, facts, later);
  int refused = flood_until_closed(r, again, later, facts, sizeof facts);
  assert_int_equal(refused, 10 * CHAT_FLOOD_PER_SECOND);
  room_free(r);

  /* the same through a restored socket of the user */
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  snprintf(restore, sizeof restore, "{\"conn\":3,\"user\":%s,\"joined\":true}", facts);
  assert_true(room_run(r, ROOM_RESTORE, 0, restore, later + 5000, NULL) >= 0);
  assert_int_equal(flood_until_closed(r, 3, later + 5000, facts, sizeof facts), 5 * CHAT_FLOOD_PER_SECOND);
  /* facts the core did not write are refused */
  assert_int_equal(room_run(r, ROOM_OPEN, 0, "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\",\"flood\":{\"tokens\":99}}",
                            later, NULL), CHAT_E_FIELD_TYPE);
  room_free(r);
}

static void a_client_that_slows_down_is_served_again(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  for (int i = 0; i < CHAT_RATE_BURST + 5; i++) {
    assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"ping\"}", 0, NULL) > 0);
  }
  /* one second later there are CHAT_RATE_PER_SECOND tokens again */
  for (int i = 0; i < CHAT_RATE_PER_SECOND; i++) {
    assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"ping\"}", 1000, &fx) > 0);
    cJSON *f = frame_of(fx_at(fx, 0, "send"));
    assert_string_equal(str(f, "type"), "pong");
    cJSON_Delete(f);
    cJSON_Delete(fx);
  }
  room_free(r);
}

static void reconnecting_does_not_refill_the_rate_limit(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  for (int i = 0; i < CHAT_RATE_BURST; i++) assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"ping\"}", 0, NULL) > 0);
  assert_true(room_run(r, ROOM_CLOSE, a, NULL, 0, NULL) >= 0);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 100, &fx) > 0);
  int64_t again = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, again, "{\"type\":\"ping\"}", 100, &fx) > 0);
  cJSON *f = frame_of(fx_at(fx, 0, "send"));
  assert_string_equal(str(f, "code"), "rate_limited");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  /* once the buckets would be full again the departed user is forgotten */
  assert_true(room_run(r, ROOM_CLOSE, again, NULL, 100, NULL) >= 0);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 100000, &fx) > 0);
  again = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, again, "{\"type\":\"ping\"}", 100000, &fx) > 0);
  f = frame_of(fx_at(fx, 0, "send"));
  assert_string_equal(str(f, "type"), "pong");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_message_is_not_sent_to_those_who_block_its_author(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0), c = join(r, CAROL_BLOCKS_ALICE, 0);
  cJSON *fx = say(r, a, "hello", "h", 0);
  cJSON *to = cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to");
  assert_int_equal(cJSON_GetArraySize(to), 2);
  for (int i = 0; i < 2; i++) assert_true(cJSON_GetArrayItem(to, i)->valuedouble != c);
  cJSON_Delete(fx);
  fx = say(r, b, "from bob", "b", CHAT_FLUSH_INTERVAL_MS); /* carol blocks alice only */
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to")), 3);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_direct_message_reaches_a_member_who_is_not_looking_by_notification(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(5, 1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, DM_OPEN, 0, NULL) >= 0);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"join_room\"}", 0, NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, &fx) > 0);
  assert_int_equal(num(fx_at(fx, 1, "dm_read"), "user_id"), 1);
  cJSON_Delete(fx);
  /* a room's message type is unknown here */
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"c\"}", 0, &fx) > 0);
  cJSON *f = frame_of(fx_at(fx, 0, "send"));
  assert_string_equal(str(f, "code"), "unknown_type");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"new_direct_message\",\"body\":\"psst\",\"client_id\":\"d1\"}", 10, NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 10, &fx) > 0);
  fx_at(fx, 0, "store");
  cJSON *sent = frame_of(fx_at(fx, 1, "send"));
  assert_string_equal(str(sent, "type"), "new_direct_message");
  assert_int_equal(num(sent, "conversation_id"), 5);
  cJSON *dm = fx_at(fx, 2, "dm_message");
  assert_int_equal(num(dm, "unread_for"), 2);
  cJSON *note = fx_at(fx, 3, "notify");
  assert_int_equal(num(note, "user_id"), 2);
  /* the notification carries the very same frame bytes */
  cJSON *range1 = cJSON_GetObjectItem(fx_at(fx, 1, "send"), "frame");
  assert_string_equal(cJSON_GetObjectItem(note, "frame")->valuestring, range1->valuestring);
  cJSON_Delete(sent);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_closed_conversation_refuses_new_messages(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(5, 1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, DM_CLOSED, 0, NULL) >= 0);
  int64_t a = join(r, ALICE, 0);
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"new_direct_message\",\"body\":\"hi\",\"client_id\":\"c\"}", 0, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(fx), 1); /* no query, nothing stored */
  cJSON *f = frame_of(fx_at(fx, 0, "send"));
  assert_string_equal(str(f, "code"), "dm_closed");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

/* ROOM_OPEN_CHECK says whether an open would be admitted, changing nothing: the
 * shell refuses a hoarder's socket before the user's hub counts it (issue 13). */
static void an_open_check_refuses_what_an_open_would_and_changes_nothing(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  for (int i = 0; i < CHAT_USER_CONNS_MAX; i++) assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL) > 0);
  const char *with_blocks = "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\",\"blocks\":[2]}";
  assert_int_equal(room_run(r, ROOM_OPEN_CHECK, 0, with_blocks, 0, NULL), CHAT_E_TOO_MANY_CONNECTIONS);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL), CHAT_E_TOO_MANY_CONNECTIONS);
  /* someone else may: no effect, nothing added */
  assert_true(room_run(r, ROOM_OPEN_CHECK, 0, BOB, 0, &fx) >= 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  assert_true(join(r, BOB, 0) > 0);
  /* once alice's sockets are overdue unjoined, the check counts them as leaving */
  assert_true(room_run(r, ROOM_OPEN_CHECK, 0, ALICE, CHAT_UNJOINED_TIMEOUT_MS + 1, NULL) >= 0);
  assert_int_equal(room_run(r, ROOM_OPEN_CHECK, 0, "{\"id\":1}", 0, NULL) < 0, 1); /* bad facts */
  room_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(messages_get_gap_free_seqs_are_stored_before_they_are_sent),
      cmocka_unit_test(a_retry_is_acknowledged_with_the_original_and_not_stored),
      cmocka_unit_test(bad_messages_get_error_frames_and_nothing_is_stored),
      cmocka_unit_test(sending_before_join_is_refused),
      cmocka_unit_test(only_joined_connections_receive_messages),
      cmocka_unit_test(delete_rules_author_and_admin_may_others_may_not),
      cmocka_unit_test(an_open_check_refuses_what_an_open_would_and_changes_nothing),
      cmocka_unit_test(a_flood_is_rate_limited_then_disconnected),
      cmocka_unit_test(a_rate_limited_refusal_echoes_the_frames_ref),
      cmocka_unit_test(the_flood_penalty_outlives_the_room_in_memory),
      cmocka_unit_test(a_client_that_slows_down_is_served_again),
      cmocka_unit_test(reconnecting_does_not_refill_the_rate_limit),
      cmocka_unit_test(a_message_is_not_sent_to_those_who_block_its_author),
      cmocka_unit_test(a_direct_message_reaches_a_member_who_is_not_looking_by_notification),
      cmocka_unit_test(a_closed_conversation_refuses_new_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
