#include "chat_error.h"
#include "room_util.h"
#include "test_util.h"

#define ALICE "{\"id\":1,\"username\":\"alice\",\"role\":\"USER\"}"
#define BOB "{\"id\":2,\"username\":\"bob\",\"role\":\"USER\"}"
#define ADMIN "{\"id\":3,\"username\":\"root\",\"role\":\"ADMIN\"}"
#define NO_ROWS "{\"rows\":[]}"
#define NO_ROW "{\"row\":null}"

static const char *op_of(const cJSON *e) { return cJSON_GetObjectItem(e, "op")->valuestring; }

/* The n-th effect (0-based), asserting its op. */
static cJSON *fx_at(cJSON *fx, int n, const char *op) {
  cJSON *e = cJSON_GetArrayItem(fx, n);
  assert_non_null(e);
  assert_string_equal(op_of(e), op);
  return e;
}

/* The frame of a send effect, parsed (caller deletes). */
static cJSON *frame_of(const cJSON *send) {
  return cJSON_Parse(cJSON_GetObjectItem(send, "frame")->valuestring);
}

static const char *str(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuestring; }
static double num(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valuedouble; }

/* Opens a socket for user and joins with an empty history; returns its conn. */
static int64_t join(room *r, const char *user, double now) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_OPEN, 0, user, now, &fx) > 0);
  int64_t conn = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, conn, "{\"type\":\"join_room\"}", now, NULL) >= 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, now, NULL) >= 0);
  return conn;
}

/* Sends a message: if the room sends at once, through the storage question (no
 * retry) and returns the effects of the answer; if it waits in the outbox, returns
 * the frame's effects. */
static cJSON *say(room *r, int64_t conn, const char *body, const char *cid, double now) {
  char frame[8192];
  cJSON *fx;
  snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"%s\",\"client_id\":\"%s\"}", body, cid);
  assert_true(room_run(r, ROOM_FRAME, conn, frame, now, &fx) >= 0);
  cJSON *q = cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1);
  if (!q || strcmp(op_of(q), "query") != 0) return fx;
  assert_string_equal(str(q, "what"), "dedup");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, now, &fx) >= 0);
  return fx;
}

static void open_attaches_the_user_and_greets_with_connection(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(7, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 1000, &fx) > 0);
  cJSON *a = fx_at(fx, 0, "attach");
  assert_int_equal(num(a, "conn"), 1);
  cJSON *data = cJSON_GetObjectItem(a, "data");
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(data, "joined")));
  assert_string_equal(str(cJSON_GetObjectItem(data, "user"), "username"), "alice");
  cJSON *f = frame_of(fx_at(fx, 1, "send"));
  assert_string_equal(str(f, "type"), "connection");
  assert_int_equal(num(cJSON_GetObjectItem(f, "room"), "id"), 7);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

static void join_asks_for_the_last_page_and_sends_history_oldest_first(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(7, 4, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 1000, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"join_room\",\"ref\":\"j\"}", 1000, &fx) > 0);
  cJSON *q = fx_at(fx, 0, "query");
  assert_string_equal(str(q, "what"), "history");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(q, "after")));
  assert_int_equal(num(q, "limit"), CHAT_HISTORY_PAGE + 1);
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(q, "include_deleted")));
  cJSON_Delete(fx);
  const char *rows =
      "{\"rows\":[{\"seq\":3,\"user_id\":2,\"username\":\"bob\",\"body\":\"third\",\"client_id\":\"c3\","
      "\"created_at\":30,\"deleted_at\":null},{\"seq\":1,\"user_id\":1,\"username\":\"alice\","
      "\"body\":\"first\",\"client_id\":\"c1\",\"created_at\":10,\"deleted_at\":null}]}";
  assert_true(room_run(r, ROOM_ANSWER, 0, rows, 1000, &fx) > 0);
  cJSON *att = fx_at(fx, 0, "attach");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(att, "data"), "joined")));
  cJSON *h = frame_of(fx_at(fx, 1, "send"));
  assert_string_equal(str(h, "type"), "history");
  assert_string_equal(str(h, "ref"), "j");
  cJSON *msgs = cJSON_GetObjectItem(h, "messages");
  assert_int_equal(cJSON_GetArraySize(msgs), 2);
  assert_int_equal(num(cJSON_GetArrayItem(msgs, 0), "seq"), 1);
  assert_int_equal(num(cJSON_GetArrayItem(msgs, 1), "seq"), 3);
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(h, "has_more")));
  cJSON_Delete(h);
  cJSON_Delete(fx);
  room_free(r);
}

static void join_with_since_asks_after_it_and_reports_a_gap_over_a_page(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char rows[65536];
  assert_int_equal(room_new(1, 200, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"join_room\",\"since\":100}", 0, &fx) > 0);
  assert_int_equal(num(fx_at(fx, 0, "query"), "after"), 100);
  cJSON_Delete(fx);
  /* 51 rows newest first: more than a page is missing */
  size_t n = (size_t)snprintf(rows, sizeof rows, "{\"rows\":[");
  for (int seq = 199; seq >= 149; seq--)
    n += (size_t)snprintf(rows + n, sizeof rows - n,
                          "%s{\"seq\":%d,\"user_id\":2,\"username\":\"bob\",\"body\":\"m\","
                          "\"client_id\":\"c%d\",\"created_at\":1,\"deleted_at\":null}",
                          seq == 199 ? "" : ",", seq, seq);
  snprintf(rows + n, sizeof rows - n, "]}");
  assert_true(room_run(r, ROOM_ANSWER, 0, rows, 0, &fx) > 0);
  cJSON *h = frame_of(fx_at(fx, 1, "send"));
  cJSON *msgs = cJSON_GetObjectItem(h, "messages");
  assert_int_equal(cJSON_GetArraySize(msgs), CHAT_HISTORY_PAGE);
  assert_int_equal(num(cJSON_GetArrayItem(msgs, 0), "seq"), 150);
  assert_int_equal(num(cJSON_GetArrayItem(msgs, CHAT_HISTORY_PAGE - 1), "seq"), 199);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(h, "has_more")));
  assert_int_equal(num(h, "since"), 100);
  assert_int_equal(num(h, "last_seq"), 199);
  cJSON_Delete(h);
  cJSON_Delete(fx);
  room_free(r);
}

static void messages_get_gap_free_seqs_are_stored_before_they_are_sent(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(9, 41, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 6, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 5, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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
  room_free(r);
}

static void a_client_that_slows_down_is_served_again(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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

static void one_user_may_hold_only_so_many_sockets_in_a_room(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  for (int i = 0; i < CHAT_USER_CONNS_MAX; i++) assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL) > 0);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL), CHAT_E_TOO_MANY_CONNECTIONS);
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 0, NULL) > 0);
  room_free(r);
}

static void a_kick_closes_every_socket_of_that_user_only(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int64_t a1 = join(r, ALICE, 0), b = join(r, BOB, 0), a2 = join(r, ALICE, 0);
  assert_true(room_run(r, ROOM_KICK, 0, "{\"user_id\":1,\"reason\":\"banned: spam\"}", 0, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(fx), 2);
  int64_t closed[2] = {(int64_t)num(fx_at(fx, 0, "close"), "conn"), (int64_t)num(fx_at(fx, 1, "close"), "conn")};
  assert_true((closed[0] == a1 && closed[1] == a2) || (closed[0] == a2 && closed[1] == a1));
  assert_int_equal(num(fx_at(fx, 0, "close"), "code"), CHAT_CLOSE_BANNED);
  assert_string_equal(str(fx_at(fx, 0, "close"), "reason"), "banned: spam");
  (void)b;
  cJSON_Delete(fx);
  room_free(r);
}

static void events_out_of_order_are_misuse_and_change_nothing(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_int_equal(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL), CHAT_E_MISUSE);
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, NULL) > 0);
  assert_int_equal(room_run(r, ROOM_FRAME, 99, "{\"type\":\"ping\"}", 0, NULL), CHAT_E_MISUSE);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"join_room\"}", 0, NULL) > 0);
  assert_int_equal(room_run(r, ROOM_FRAME, 1, "{\"type\":\"ping\"}", 0, NULL), CHAT_E_MISUSE);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL) > 0);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, "{\"id\":1}", 0, NULL), CHAT_E_FIELD_MISSING);
  room_free(r);
}

static void restored_connections_keep_their_ids_and_joined_state(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 10, &r), CHAT_OK);
  assert_int_equal(room_run(r, ROOM_RESTORE, 0,
                            "{\"conn\":5,\"user\":" ALICE ",\"joined\":true}", 0, &fx) > 0, 1);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_RESTORE, 0, "{\"conn\":2,\"user\":" BOB ",\"joined\":false}", 0, NULL) > 0);
  assert_int_equal(room_run(r, ROOM_RESTORE, 0, "{\"conn\":2,\"user\":" BOB "}", 0, NULL), CHAT_E_MISUSE);
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 0, &fx) > 0);
  assert_int_equal(num(fx_at(fx, 0, "attach"), "conn"), 6); /* after the largest restored id */
  cJSON_Delete(fx);
  fx = say(r, 5, "after wake", "w", 0);
  cJSON *to = cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to");
  assert_int_equal(cJSON_GetArraySize(to), 1); /* only the joined one */
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 10);
  cJSON_Delete(fx);
  room_free(r);
}

static void history_pages_over_http_validate_their_query(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(3, 1, &r), CHAT_OK);
  const char *bad[] = {"limit=0", "limit=51", "before=0", "before=x", "limit=", "before=1234567890123456"};
  char in[256];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(in, sizeof in, "{\"query\":\"%s\",\"viewer\":{\"id\":1}}", bad[i]);
    assert_int_equal(room_run(r, ROOM_PAGE, 0, in, 0, NULL), CHAT_E_QUERY_INVALID);
  }
  assert_true(room_run(r, ROOM_PAGE, 0, "{\"query\":\"before=10&limit=2&x=y\",\"viewer\":{\"id\":1,\"blocks\":[4,5]}}", 0, &fx) > 0);
  cJSON *q = fx_at(fx, 0, "query");
  assert_int_equal(num(q, "before"), 10);
  assert_int_equal(num(q, "limit"), 3);
  cJSON *ex = cJSON_GetObjectItem(q, "exclude_users");
  assert_int_equal(cJSON_GetArraySize(ex), 2);
  assert_int_equal(cJSON_GetArrayItem(ex, 1)->valuedouble, 5);
  cJSON_Delete(fx);
  const char *rows = "{\"rows\":["
      "{\"seq\":9,\"user_id\":1,\"username\":\"a\",\"body\":\"9\",\"client_id\":\"9\",\"created_at\":1},"
      "{\"seq\":8,\"user_id\":1,\"username\":\"a\",\"body\":\"8\",\"client_id\":\"8\",\"created_at\":1},"
      "{\"seq\":7,\"user_id\":1,\"username\":\"a\",\"body\":\"7\",\"client_id\":\"7\",\"created_at\":1}]}";
  assert_true(room_run(r, ROOM_ANSWER, 0, rows, 0, &fx) > 0);
  cJSON *page = cJSON_Parse(str(fx_at(fx, 0, "reply"), "body"));
  cJSON *msgs = cJSON_GetObjectItem(page, "messages");
  assert_int_equal(cJSON_GetArraySize(msgs), 2);
  assert_int_equal(num(cJSON_GetArrayItem(msgs, 0), "seq"), 8);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(page, "has_more")));
  cJSON_Delete(page);
  cJSON_Delete(fx);
  room_free(r);
}

static void output_too_large_for_the_buffer_is_kept_for_the_next_call(void **state) {
  (void)state;
  room *r;
  unsigned char small[16];
  size_t n = 0;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int rc = room_event(r, ROOM_OPEN, 0, (const unsigned char *)ALICE, strlen(ALICE), 0, small,
                      sizeof small, &n);
  assert_int_equal(rc, CHAT_E_BUFFER_TOO_SMALL);
  assert_true(n > sizeof small);
  size_t need = n;
  /* the event happened once: fetching the output does not open a second socket */
  rc = room_event(r, ROOM_OPEN, 0, NULL, 0, 0, room_out, sizeof room_out, &n);
  assert_int_equal(rc, (int)need);
  cJSON *fx = decode_effects(room_out, n);
  assert_int_equal(num(fx_at(fx, 0, "attach"), "conn"), 1);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_OPEN, 0, BOB, 0, &fx) > 0);
  assert_int_equal(num(fx_at(fx, 0, "attach"), "conn"), 2);
  cJSON_Delete(fx);
  room_free(r);
}

static void out_of_memory_anywhere_in_a_send_leaves_the_room_unchanged(void **state) {
  (void)state;
  room *r;
  int rc, failures = 0;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  join(r, BOB, 0);
  const char *frame = "{\"type\":\"new_chat_message\",\"body\":\"oom\",\"client_id\":\"o\"}";
  /* The frame: each failure must leave no question pending and no token taken
   * (otherwise the rate limit would answer before the 20th attempt). */
  for (long k = 0;; k++, failures++) {
    fail_allocation_after(k);
    rc = room_run(r, ROOM_FRAME, a, frame, 0, NULL);
    stop_failing_allocations();
    if (rc >= 0) break;
    assert_int_equal(rc, CHAT_E_NOMEM);
  }
  /* Its answer: each failure must leave the question pending and no seq taken. */
  for (long k = 0;; k++, failures++) {
    fail_allocation_after(k);
    rc = room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL);
    stop_failing_allocations();
    if (rc >= 0) break;
    assert_int_equal(rc, CHAT_E_NOMEM);
  }
  assert_true(failures > 20);
  cJSON *fx = decode_effects(room_out, (size_t)rc);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 1);
  cJSON_Delete(fx);
  fx = say(r, a, "next", "n", CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 2);
  cJSON_Delete(fx);
  room_free(r);
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

#define CAROL_BLOCKS_ALICE "{\"id\":4,\"username\":\"carol\",\"role\":\"USER\",\"blocks\":[1]}"

static void a_message_is_not_sent_to_those_who_block_its_author(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
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

static void history_leaves_out_authors_the_viewer_blocks(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_OPEN, 0, CAROL_BLOCKS_ALICE, 0, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, 1, "{\"type\":\"join_room\"}", 0, &fx) > 0);
  cJSON *ex = cJSON_GetObjectItem(fx_at(fx, 0, "query"), "exclude_users");
  assert_int_equal(cJSON_GetArraySize(ex), 1);
  assert_int_equal(cJSON_GetArrayItem(ex, 0)->valuedouble, 1);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL) > 0);
  room_free(r);
}

static void a_block_takes_effect_on_open_sockets_and_an_unblock_lifts_it(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0);
  assert_true(room_run(r, ROOM_BLOCKS, 0, "{\"user_id\":2,\"blocks\":[1]}", 0, &fx) > 0);
  cJSON *send = fx_at(fx, 0, "send");
  assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(send, "to"), 0)->valuedouble, b);
  cJSON *f = frame_of(send);
  assert_string_equal(str(f, "type"), "blocks_changed");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  fx = say(r, a, "hidden from bob", "x", 0);
  cJSON *to = cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to");
  assert_int_equal(cJSON_GetArraySize(to), 1);
  assert_int_equal(cJSON_GetArrayItem(to, 0)->valuedouble, a);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_BLOCKS, 0, "{\"user_id\":2,\"blocks\":[]}", 0, NULL) > 0);
  fx = say(r, a, "seen again", "y", CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to")), 2);
  cJSON_Delete(fx);
  /* a user with no socket here: nothing to do */
  assert_true(room_run(r, ROOM_BLOCKS, 0, "{\"user_id\":99,\"blocks\":[1]}", 0, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  room_free(r);
}

#define DM_OPEN "{\"kind\":\"dm\",\"members\":[1,2],\"open\":true}"
#define DM_CLOSED "{\"kind\":\"dm\",\"members\":[1,2],\"open\":false}"

static void a_conversation_admits_only_its_two_members(void **state) {
  (void)state;
  room *r;
  assert_int_equal(room_new(5, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, DM_OPEN, 0, NULL) >= 0);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, ADMIN, 0, NULL), CHAT_E_NOT_MEMBER);
  cJSON *fx;
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, &fx) > 0);
  cJSON *f = frame_of(fx_at(fx, 1, "send"));
  assert_int_equal(num(cJSON_GetObjectItem(f, "conversation"), "id"), 5);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_direct_message_reaches_a_member_who_is_not_looking_by_notification(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(5, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(5, 1, &r), CHAT_OK);
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

/* ---- coalescing and load shedding (issue #7) ---- */

/* Each send effect of fx as {to: [conns], frames: [frame objects]}: a batch frame
 * unwrapped, any other frame as a list of one. Caller deletes. */
static cJSON *deliveries(cJSON *fx) {
  cJSON *out = cJSON_CreateArray(), *e;
  cJSON_ArrayForEach(e, fx) {
    if (strcmp(op_of(e), "send") != 0) continue;
    cJSON *d = cJSON_CreateObject(), *f = frame_of(e);
    cJSON_AddItemToObject(d, "to", cJSON_Duplicate(cJSON_GetObjectItem(e, "to"), 1));
    if (strcmp(str(f, "type"), "batch") == 0) {
      cJSON_AddItemToObject(d, "frames", cJSON_DetachItemFromObject(f, "frames"));
      cJSON_Delete(f);
    } else {
      cJSON *one = cJSON_CreateArray();
      cJSON_AddItemToArray(one, f);
      cJSON_AddItemToObject(d, "frames", one);
    }
    cJSON_AddItemToArray(out, d);
  }
  return out;
}

/* The seqs a delivery carries, as "41,42" (frames without a seq: "-"). */
static const char *seqs_of(const cJSON *d, char *text, size_t cap) {
  const cJSON *f;
  text[0] = 0;
  cJSON_ArrayForEach(f, cJSON_GetObjectItem(d, "frames")) {
    const cJSON *seq = cJSON_GetObjectItem(f, "seq");
    size_t n = strlen(text);
    if (seq) snprintf(text + n, cap - n, "%s%d", n ? "," : "", (int)seq->valuedouble);
    else snprintf(text + n, cap - n, "%s-", n ? "," : "");
  }
  return text;
}

/* The seqs of every delivery to conn, in order, as "2,3". */
static const char *all_seqs_to(const cJSON *ds, int64_t conn, char *text, size_t cap) {
  const cJSON *d, *c;
  char one[256];
  text[0] = 0;
  cJSON_ArrayForEach(d, ds) {
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(d, "to")) {
      if ((int64_t)c->valuedouble != conn) continue;
      size_t n = strlen(text);
      snprintf(text + n, cap - n, "%s%s", n ? "," : "", seqs_of(d, one, sizeof one));
    }
  }
  return text;
}

/* The delivery whose recipients include conn (asserting there is one). */
static const cJSON *delivery_to(const cJSON *ds, int64_t conn) {
  const cJSON *d, *c;
  cJSON_ArrayForEach(d, ds) {
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(d, "to")) if ((int64_t)c->valuedouble == conn) return d;
  }
  fail_msg("no delivery to %d", (int)conn);
  return NULL;
}

/* Runs a ROOM_FLUSH (or, with kind ROOM_FRAME, a frame) that asks storage about
 * the waiting messages, answers `rows`, and returns the effects of the answer. */
static cJSON *flush_with(room *r, double now, const char *rows) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, now, &fx) > 0);
  assert_string_equal(str(fx_at(fx, 0, "query"), "what"), "dedup");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, rows, now, &fx) > 0);
  return fx;
}

static void a_quiet_room_sends_at_once_and_a_busy_one_in_batches(void **state) {
  (void)state;
  room *r;
  char seqs[256];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0);
  /* quiet: asked about, stored and sent at once, as a plain frame */
  cJSON *fx = say(r, a, "one", "m1", 1000), *ds = deliveries(fx);
  fx_at(fx, 0, "store");
  assert_int_equal(cJSON_GetArraySize(ds), 1);
  assert_string_equal(seqs_of(cJSON_GetArrayItem(ds, 0), seqs, sizeof seqs), "1");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  /* within the interval: neither stored nor sent yet; the room asks to be woken once */
  fx = say(r, b, "two", "m2", 1001);
  assert_int_equal(num(fx_at(fx, 0, "flush_at"), "at"), 1000 + CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(cJSON_GetArraySize(fx), 1);
  cJSON_Delete(fx);
  fx = say(r, a, "three", "m3", 1002);
  assert_int_equal(cJSON_GetArraySize(fx), 0); /* a flush is already due */
  cJSON_Delete(fx);
  /* a retry of a waiting message: nothing (its acknowledgement comes with the flush) */
  fx = say(r, a, "three", "m3", 1003);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  /* a retry of a message stored long ago: storage will say so */
  fx = say(r, b, "old", "b-old", 1004);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  /* the flush: one question for the three, then two stored in seq order (one
   * event: one transaction), the retry acknowledged to bob alone, and one batch
   * frame in seq order, encoded once for both */
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 1000 + CHAT_FLUSH_INTERVAL_MS, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fx_at(fx, 0, "query"), "messages")), 3);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0,
                       "{\"rows\":[{\"seq\":0,\"user_id\":2,\"username\":\"bob\",\"body\":\"old\","
                       "\"client_id\":\"b-old\",\"created_at\":1,\"deleted_at\":null}]}",
                       1000 + CHAT_FLUSH_INTERVAL_MS, &fx) > 0);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 2);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 1, "store"), "message"), "seq"), 3);
  cJSON *dup = frame_of(fx_at(fx, 2, "send"));
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(dup, "duplicate")));
  assert_int_equal(num(dup, "seq"), 0);
  cJSON_Delete(dup);
  ds = deliveries(fx);
  assert_int_equal(cJSON_GetArraySize(ds), 2);
  const cJSON *both = cJSON_GetArrayItem(ds, 1);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(both, "to")), 2);
  assert_string_equal(seqs_of(both, seqs, sizeof seqs), "2,3");
  const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(both, "frames"), 1);
  assert_string_equal(str(f, "type"), "new_chat_message");
  assert_string_equal(str(f, "client_id"), "m3");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  /* nothing waits: a flush sends nothing, and the next message waits for the interval again */
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 1000 + CHAT_FLUSH_INTERVAL_MS, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  fx = say(r, a, "four", "m4", 1001 + CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(num(fx_at(fx, 0, "flush_at"), "at"), 1000 + 2 * CHAT_FLUSH_INTERVAL_MS);
  cJSON_Delete(fx);
  /* and gets the next seq */
  fx = flush_with(r, 1000 + 2 * CHAT_FLUSH_INTERVAL_MS, NO_ROWS);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 4);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_batch_reaches_late_joiners_and_leaves_out_what_a_blocker_hides(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char seqs[256];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0);
  cJSON_Delete(say(r, a, "sent at once", "m1", 100));
  cJSON_Delete(say(r, b, "waits", "m2", 101));
  /* dave joins now: the waiting message is not stored yet, so his history ends
   * at 1 and the flush brings him the rest; carol blocks alice */
  assert_true(room_run(r, ROOM_OPEN, 0, "{\"id\":5,\"username\":\"dave\",\"role\":\"USER\"}", 102, &fx) > 0);
  int64_t d = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, d, "{\"type\":\"join_room\"}", 102, NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 102, &fx) > 0);
  cJSON *h = frame_of(fx_at(fx, 1, "send"));
  assert_string_equal(str(h, "type"), "history");
  assert_int_equal(num(h, "last_seq"), 1);
  cJSON_Delete(h);
  cJSON_Delete(fx);
  int64_t c = join(r, CAROL_BLOCKS_ALICE, 102);
  cJSON_Delete(say(r, b, "from bob", "m3", 103));
  cJSON_Delete(say(r, a, "from alice", "m4", 104));
  /* alice deletes seq 1: the tombstone is written now, its broadcast waits in line */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"delete_message\",\"seq\":1}", 105, NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0,
                       "{\"row\":{\"seq\":1,\"user_id\":1,\"username\":\"alice\",\"body\":\"sent at once\","
                       "\"client_id\":\"m1\",\"created_at\":100,\"deleted_at\":null}}", 105, &fx) > 0);
  fx_at(fx, 0, "tombstone");
  assert_int_equal(cJSON_GetArraySize(fx), 1);
  cJSON_Delete(fx);
  fx = flush_with(r, 110, NO_ROWS);
  cJSON *ds = deliveries(fx);
  /* alice, bob and dave share one batch; carol gets hers frame by frame */
  assert_int_equal(cJSON_GetArraySize(ds), 4);
  assert_ptr_equal(delivery_to(ds, a), delivery_to(ds, b));
  assert_ptr_equal(delivery_to(ds, a), delivery_to(ds, d));
  assert_string_equal(seqs_of(delivery_to(ds, a), seqs, sizeof seqs), "2,3,4,1");
  /* carol: not alice's seq 4; the deletion, which has no author to hide */
  assert_string_equal(all_seqs_to(ds, c, seqs, sizeof seqs), "2,3,1");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_full_outbox_is_sent_at_once(void **state) {
  (void)state;
  room *r;
  char cid[16], seqs[1024];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1000,\"per_second\":1000}}", 0, NULL) >= 0);
  int64_t a = join(r, ALICE, 0);
  cJSON_Delete(say(r, a, "quiet", "q", 0));
  cJSON *fx = NULL;
  for (int i = 0; i < CHAT_BATCH_MAX; i++) {
    cJSON_Delete(fx);
    snprintf(cid, sizeof cid, "b%d", i);
    fx = say(r, a, "busy", cid, 1); /* the last one fills the outbox: asked about and sent */
    cJSON *ds = deliveries(fx);
    assert_int_equal(cJSON_GetArraySize(ds), i < CHAT_BATCH_MAX - 1 ? 0 : 1);
    cJSON_Delete(ds);
  }
  cJSON *ds = deliveries(fx);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(ds, 0), "frames")), CHAT_BATCH_MAX);
  seqs_of(cJSON_GetArrayItem(ds, 0), seqs, sizeof seqs);
  assert_true(strncmp(seqs, "2,3,4,", 6) == 0);
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  /* the flush already asked for finds nothing left */
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 1 + CHAT_FLUSH_INTERVAL_MS, &fx) > 0);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  room_free(r);
}

/* The error code of the first error frame among fx's sends, or NULL. */
static const char *error_in(const cJSON *fx, char *code, size_t cap) {
  const cJSON *e;
  cJSON_ArrayForEach(e, fx) {
    if (strcmp(op_of(e), "send") != 0) continue;
    cJSON *f = frame_of(e);
    int is_error = strcmp(str(f, "type"), "error") == 0;
    if (is_error) snprintf(code, cap, "%s", str(f, "code"));
    cJSON_Delete(f);
    if (is_error) return code;
  }
  return NULL;
}

static void past_its_rate_a_room_sheds_messages_without_punishing_senders(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char frame[128], code[64];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  /* the per-user limit lifted, as for a load test; the room's own limit stays */
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1000000,\"per_second\":1000000}}", 0, NULL) >= 0);
  int64_t a = join(r, ALICE, 0);
  int refused = 0;
  for (int i = 0; i < CHAT_ROOM_RATE_BURST + 50; i++) {
    snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"c%d\",\"ref\":\"r\"}", i);
    assert_true(room_run(r, ROOM_FRAME, a, frame, 1000, &fx) >= 0);
    const char *err = error_in(fx, code, sizeof code);
    if (err) {
      assert_string_equal(err, "rate_limited");
      refused++;
    }
    if (cJSON_GetArraySize(fx) && strcmp(op_of(cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1)), "query") == 0) {
      cJSON_Delete(fx);
      assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 1000, &fx) > 0);
    }
    assert_null(cJSON_GetArrayItem(fx, 0) && strcmp(op_of(cJSON_GetArrayItem(fx, 0)), "close") == 0 ? fx : NULL);
    cJSON_Delete(fx);
  }
  assert_int_equal(refused, 50); /* and never closed for flooding */
  /* everything accepted is stored and sent, in one seq run */
  fx = flush_with(r, 1000 + CHAT_FLUSH_INTERVAL_MS, NO_ROWS);
  cJSON *last = cJSON_GetArrayItem(fx, 0), *e;
  cJSON_ArrayForEach(e, fx) if (strcmp(op_of(e), "store") == 0) last = e;
  assert_int_equal(num(cJSON_GetObjectItem(last, "message"), "seq"), CHAT_ROOM_RATE_BURST);
  cJSON_Delete(fx);
  /* the bucket refills at the room's rate */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"later\"}",
                       1000 + 1000.0 / CHAT_ROOM_RATE_PER_SECOND, &fx) >= 0);
  assert_null(error_in(fx, code, sizeof code));
  cJSON_Delete(fx);
  room_free(r);
}

static void a_socket_closed_for_flooding_leaves_its_accepted_messages_to_the_others(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char seqs[64];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":6,\"per_second\":0.001}}", 0, NULL) >= 0);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0); /* join_room takes a token too */
  cJSON_Delete(say(r, a, "at once", "m1", 1));
  cJSON_Delete(say(r, a, "waits", "m2", 2));
  cJSON_Delete(say(r, a, "waits too", "m3", 3));
  const char *more = "{\"type\":\"ping\"}";
  assert_true(room_run(r, ROOM_FRAME, a, more, 3, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, a, more, 3, NULL) > 0); /* the last token */
  for (int i = 0; i < CHAT_FLOOD_BURST; i++) assert_true(room_run(r, ROOM_FRAME, a, more, 4, NULL) > 0);
  assert_true(room_run(r, ROOM_FRAME, a, more, 4, &fx) > 0);
  assert_int_equal(num(fx_at(fx, 0, "close"), "code"), CHAT_CLOSE_POLICY);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_CLOSE, a, NULL, 4, NULL) >= 0);
  fx = flush_with(r, 1 + CHAT_FLUSH_INTERVAL_MS, NO_ROWS);
  cJSON *ds = deliveries(fx);
  assert_int_equal(cJSON_GetArraySize(ds), 1);
  assert_string_equal(seqs_of(delivery_to(ds, b), seqs, sizeof seqs), "2,3");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_flush_writes_at_most_twice_the_outbox_whatever_the_blocks(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char user[160], frame[256];
  enum { N = 40 };
  int64_t author[N];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1000,\"per_second\":1000}}", 0, NULL) >= 0);
  /* N authors, and N listeners each blocking a different author */
  for (int i = 0; i < N; i++) {
    snprintf(user, sizeof user, "{\"id\":%d,\"username\":\"author%d\",\"role\":\"USER\"}", 100 + i, i);
    author[i] = join(r, user, 0);
    snprintf(user, sizeof user, "{\"id\":%d,\"username\":\"listener%d\",\"role\":\"USER\",\"blocks\":[%d]}", 200 + i, i, 100 + i);
    join(r, user, 0);
  }
  cJSON_Delete(say(r, author[0], "quiet", "q", 1));
  size_t frames = 0;
  for (int i = 0; i < N; i++) {
    snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"%0100d\",\"client_id\":\"b%d\"}", i, i);
    assert_true(room_run(r, ROOM_FRAME, author[i], frame, 2, NULL) >= 0);
  }
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 1 + CHAT_FLUSH_INTERVAL_MS, NULL) > 0);
  size_t n = 0;
  assert_true(room_event(r, ROOM_ANSWER, 0, (const unsigned char *)NO_ROWS, strlen(NO_ROWS), 1 + CHAT_FLUSH_INTERVAL_MS,
                         room_out, sizeof room_out, &n) > 0);
  fx = decode_effects(room_out, n);
  cJSON *e;
  cJSON_ArrayForEach(e, fx) if (strcmp(op_of(e), "send") == 0) frames += strlen(cJSON_GetObjectItem(e, "frame")->valuestring);
  /* each message's frame is about 250 bytes: the batch for the authors, and each frame
   * once more for the listeners (who each miss one), not one batch per listener */
  assert_true(frames < 2 * N * 300);
  assert_true(frames > N * 200);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_batch_of_escaped_bodies_stays_well_under_one_mebibyte(void **state) {
  (void)state;
  room *r;
  static char body[6 * 4000 + 1], frame[6 * 4000 + 128];
  size_t n = 0, largest = 0;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1000,\"per_second\":1000}}", 0, NULL) >= 0);
  int64_t a = join(r, ALICE, 0);
  cJSON_Delete(say(r, a, "quiet", "q", 1));
  /* 4000 characters, 3999 of them control characters: \u0001, 6 bytes each in a frame */
  for (int i = 0; i < 3999; i++) memcpy(body + 6 * i, "\\u0001", 6);
  for (int i = 0; i < 60; i++) {
    snprintf(frame, sizeof frame, "{\"type\":\"new_chat_message\",\"body\":\"x%s\",\"client_id\":\"e%d\"}", body, i);
    assert_true(room_event(r, ROOM_FRAME, a, (const unsigned char *)frame, strlen(frame), 2, room_out, sizeof room_out, &n) >= 0);
    cJSON *fx = decode_effects(room_out, n);
    if (cJSON_GetArraySize(fx) && strcmp(op_of(cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1)), "query") == 0) {
      cJSON_Delete(fx);
      assert_true(room_event(r, ROOM_ANSWER, 0, (const unsigned char *)NO_ROWS, strlen(NO_ROWS), 2, room_out,
                             sizeof room_out, &n) > 0);
      fx = decode_effects(room_out, n);
    }
    cJSON *e;
    cJSON_ArrayForEach(e, fx) {
      if (strcmp(op_of(e), "send") != 0) continue;
      size_t len = strlen(cJSON_GetObjectItem(e, "frame")->valuestring);
      if (len > largest) largest = len;
    }
    cJSON_Delete(fx);
  }
  assert_true(largest > 100000);           /* batches happened */
  assert_true(largest < 512 * 1024);       /* and stayed far below 1 MiB */
  room_free(r);
}

static void a_resend_of_a_waiting_message_takes_nothing_from_the_room(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"rate\":{\"burst\":1000,\"per_second\":1000},"
                       "\"room_rate\":{\"burst\":2,\"per_second\":0.001}}", 0, NULL) >= 0);
  int64_t a = join(r, ALICE, 0);
  cJSON_Delete(say(r, a, "at once", "m1", 1));
  cJSON_Delete(say(r, a, "waits", "m2", 2)); /* the room's last token */
  for (int i = 0; i < 3; i++) {
    fx = say(r, a, "waits", "m2", 3);
    assert_int_equal(cJSON_GetArraySize(fx), 0); /* no rate_limited: nothing new */
    cJSON_Delete(fx);
  }
  room_free(r);
}

static void out_of_memory_in_a_flush_keeps_the_outbox(void **state) {
  (void)state;
  room *r;
  int rc, failures = 0;
  char seqs[256];
  assert_int_equal(room_new(1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0);
  join(r, CAROL_BLOCKS_ALICE, 0);
  cJSON_Delete(say(r, a, "at once", "m1", 0));
  cJSON_Delete(say(r, b, "waits", "m2", 1));
  cJSON_Delete(say(r, a, "waits too", "m3", 2));
  for (int event = 0; event < 2; event++) { /* the flush, then the answer to its question */
    for (long k = 0;; k++, failures++) {
      fail_allocation_after(k);
      rc = event ? room_run(r, ROOM_ANSWER, 0, NO_ROWS, CHAT_FLUSH_INTERVAL_MS, NULL)
                 : room_run(r, ROOM_FLUSH, 0, NULL, CHAT_FLUSH_INTERVAL_MS, NULL);
      stop_failing_allocations();
      if (rc >= 0) break;
      assert_int_equal(rc, CHAT_E_NOMEM);
    }
  }
  assert_true(failures > 10);
  cJSON *fx = decode_effects(room_out, (size_t)rc), *ds = deliveries(fx);
  assert_int_equal(num(cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message"), "seq"), 2);
  assert_string_equal(seqs_of(delivery_to(ds, a), seqs, sizeof seqs), "2,3");
  assert_string_equal(seqs_of(delivery_to(ds, 3), seqs, sizeof seqs), "2");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  room_free(r);
}

/* Golden scripts (tests/golden/room.json): every step's effects, or error, must
 * equal the recorded ones. With GOLDEN_RECORD=1 in the environment the outputs are
 * written into the file instead, to be reviewed by eye before committing. */
static int event_kind(const char *name) {
  static const struct { const char *name; int kind; } kinds[] = {
      {"open", ROOM_OPEN}, {"restore", ROOM_RESTORE}, {"frame", ROOM_FRAME},
      {"close", ROOM_CLOSE}, {"answer", ROOM_ANSWER}, {"page", ROOM_PAGE},
      {"blocks", ROOM_BLOCKS}, {"config", ROOM_CONFIG}, {"kick", ROOM_KICK}, {"flush", ROOM_FLUSH}};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (strcmp(kinds[i].name, name) == 0) return kinds[i].kind;
  return -1;
}

static void golden_scripts_give_the_recorded_effects(void **state) {
  (void)state;
  const char *path = "tests/golden/room.json";
  int record = getenv("GOLDEN_RECORD") != NULL;
  cJSON *doc = read_json_file(path);
  int steps = 0;
  cJSON *script;
  cJSON_ArrayForEach(script, cJSON_GetObjectItem(doc, "scripts")) {
    room *r;
    assert_int_equal(room_new((int64_t)num(script, "room_id"), (int64_t)num(script, "next_seq"), &r), CHAT_OK);
    cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItem(script, "steps")) {
      const cJSON *conn = cJSON_GetObjectItem(step, "conn"), *in = cJSON_GetObjectItem(step, "in");
      cJSON *fx = NULL;
      int rc = room_run(r, event_kind(str(step, "event")), conn ? (int64_t)conn->valuedouble : 0,
                        in ? in->valuestring : NULL, num(step, "now"), &fx);
      cJSON *got = rc >= 0 ? fx : cJSON_CreateString(chat_error_name(rc));
      if (record) {
        cJSON_DeleteItemFromObject(step, "effects");
        cJSON_DeleteItemFromObject(step, "error");
        cJSON_AddItemToObject(step, rc >= 0 ? "effects" : "error", got);
      } else {
        cJSON *want = cJSON_GetObjectItem(step, rc >= 0 ? "effects" : "error");
        if (!want || !cJSON_Compare(want, got, 1)) {
          char *g = cJSON_PrintUnformatted(got);
          fail_msg("%s, step %d: got %s", str(script, "name"), steps, g);
        }
        cJSON_Delete(got);
      }
      steps++;
    }
    room_free(r);
  }
  if (record) {
    char *out = cJSON_Print(doc);
    FILE *f = fopen(path, "wb");
    fputs(out, f);
    fputc('\n', f);
    fclose(f);
    free(out);
  }
  assert_true(steps >= 30);
  cJSON_Delete(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(open_attaches_the_user_and_greets_with_connection),
      cmocka_unit_test(join_asks_for_the_last_page_and_sends_history_oldest_first),
      cmocka_unit_test(join_with_since_asks_after_it_and_reports_a_gap_over_a_page),
      cmocka_unit_test(messages_get_gap_free_seqs_are_stored_before_they_are_sent),
      cmocka_unit_test(a_retry_is_acknowledged_with_the_original_and_not_stored),
      cmocka_unit_test(bad_messages_get_error_frames_and_nothing_is_stored),
      cmocka_unit_test(sending_before_join_is_refused),
      cmocka_unit_test(only_joined_connections_receive_messages),
      cmocka_unit_test(delete_rules_author_and_admin_may_others_may_not),
      cmocka_unit_test(a_flood_is_rate_limited_then_disconnected),
      cmocka_unit_test(a_client_that_slows_down_is_served_again),
      cmocka_unit_test(reconnecting_does_not_refill_the_rate_limit),
      cmocka_unit_test(one_user_may_hold_only_so_many_sockets_in_a_room),
      cmocka_unit_test(a_kick_closes_every_socket_of_that_user_only),
      cmocka_unit_test(events_out_of_order_are_misuse_and_change_nothing),
      cmocka_unit_test(restored_connections_keep_their_ids_and_joined_state),
      cmocka_unit_test(history_pages_over_http_validate_their_query),
      cmocka_unit_test(output_too_large_for_the_buffer_is_kept_for_the_next_call),
      cmocka_unit_test(out_of_memory_anywhere_in_a_send_leaves_the_room_unchanged),
      cmocka_unit_test(room_names_follow_the_rules),
      cmocka_unit_test(a_message_is_not_sent_to_those_who_block_its_author),
      cmocka_unit_test(history_leaves_out_authors_the_viewer_blocks),
      cmocka_unit_test(a_block_takes_effect_on_open_sockets_and_an_unblock_lifts_it),
      cmocka_unit_test(a_conversation_admits_only_its_two_members),
      cmocka_unit_test(a_direct_message_reaches_a_member_who_is_not_looking_by_notification),
      cmocka_unit_test(a_closed_conversation_refuses_new_messages),
      cmocka_unit_test(a_quiet_room_sends_at_once_and_a_busy_one_in_batches),
      cmocka_unit_test(a_batch_reaches_late_joiners_and_leaves_out_what_a_blocker_hides),
      cmocka_unit_test(a_full_outbox_is_sent_at_once),
      cmocka_unit_test(past_its_rate_a_room_sheds_messages_without_punishing_senders),
      cmocka_unit_test(out_of_memory_in_a_flush_keeps_the_outbox),
      cmocka_unit_test(a_flush_writes_at_most_twice_the_outbox_whatever_the_blocks),
      cmocka_unit_test(a_batch_of_escaped_bodies_stays_well_under_one_mebibyte),
      cmocka_unit_test(a_resend_of_a_waiting_message_takes_nothing_from_the_room),
      cmocka_unit_test(a_socket_closed_for_flooding_leaves_its_accepted_messages_to_the_others),
      cmocka_unit_test(golden_scripts_give_the_recorded_effects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
