/* Coalescing and load shedding (issue #7): the outbox, batches, the flush and
 * its failure paths (wasm/room_outbox.c). */
#include "chat_error.h"
#include "room_rules.h"
#include "room_util.h"
#include "test_util.h"

static void a_quiet_room_sends_at_once_and_a_busy_one_in_batches(void **state) {
  (void)state;
  room *r;
  char seqs[256];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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
  /* alice, bob and dave share one batch; carol gets hers frame by frame (the
   * three below, and dave's and her own presence_changed, which rode along) */
  assert_int_equal(cJSON_GetArraySize(ds), 6);
  assert_ptr_equal(delivery_to(ds, a), delivery_to(ds, b));
  assert_ptr_equal(delivery_to(ds, a), delivery_to(ds, d));
  assert_string_equal(seqs_of(delivery_to(ds, a), seqs, sizeof seqs), "2,-,-,3,4,1"); /* -: presence_changed */
  /* carol: not alice's seq 4; the deletion, which has no author to hide */
  assert_string_equal(all_seqs_to(ds, c, seqs, sizeof seqs), "2,-,-,3,1");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_full_outbox_is_sent_at_once(void **state) {
  (void)state;
  room *r;
  char cid[16], seqs[1024];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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

static void past_its_rate_a_room_sheds_messages_without_punishing_senders(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char frame[128], code[64];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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

static void out_of_memory_in_a_flush_keeps_the_outbox(void **state) {
  (void)state;
  room *r;
  int rc, failures = 0;
  char seqs[256];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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

static void a_flush_writes_at_most_twice_the_outbox_whatever_the_blocks(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char user[160], frame[256];
  enum { N = 40 };
  int64_t author[N];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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

static void a_socket_closed_for_flooding_leaves_its_accepted_messages_to_the_others(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char seqs[64];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
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
  /* and, after them, that alice is gone (-: presence_changed, issue 15) */
  assert_string_equal(seqs_of(delivery_to(ds, b), seqs, sizeof seqs), "2,3,-");
  cJSON_Delete(ds);
  cJSON_Delete(fx);
  room_free(r);
}

/* Cost-aware coalescing (issue 21): the interval between flushes grows with the
 * joined sockets a flush sends to, so sends a second stay under the budget; a
 * small room keeps the 10 ms, and a big one quiet for an interval sends at once. */
static void a_big_room_spaces_its_flushes_by_what_they_cost(void **state) {
  (void)state;
  assert_int_equal(room_flush_interval(1), CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(room_flush_interval(200), CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(room_flush_interval(1000), 1000 * 1000 / CHAT_SEND_BUDGET_PER_SECOND);
  assert_int_equal(room_flush_interval(5000), CHAT_FLUSH_INTERVAL_MAX_MS); /* the latency bound */
  for (int big = 0; big < 2; big++) {
    room *r;
    cJSON *fx;
    size_t members = big ? 1000 : 100;
    assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
    int64_t a = 0;
    size_t told = 0; /* deliveries of others' arrivals (presence_changed) during the storm */
    for (size_t i = 0; i < members; i++) {
      char user[96];
      snprintf(user, sizeof user, "{\"id\":%zu,\"username\":\"u%zu\",\"role\":\"USER\"}", i + 1, i + 1);
      assert_true(room_run(r, ROOM_OPEN, 0, user, 0, &fx) > 0);
      int64_t c = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
      cJSON_Delete(fx);
      assert_true(room_run(r, ROOM_FRAME, c, "{\"type\":\"join_room\"}", 0, NULL) >= 0);
      assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, &fx) >= 0);
      const cJSON *e;
      cJSON_ArrayForEach(e, fx) {
        const cJSON *to = cJSON_GetObjectItem(e, "to");
        if (strcmp(op_of(e), "send") == 0 && !(cJSON_GetArraySize(to) == 1 && to->child->valuedouble == c))
          told += (size_t)cJSON_GetArraySize(to);
      }
      cJSON_Delete(fx);
      if (!i) a = c;
    }
    /* a storm of joins into a small room tells each arrival at once (n^2 / 2
     * deliveries); past 200 joined sockets (the interval above its floor) the
     * arrivals are batched (here all at one instant: a flush per full outbox of
     * 64), a tenth of that and less */
    if (big) assert_true(told < members * (members - 1) / 2 / 10);
    else assert_int_equal(told, members * (members - 1) / 2);
    /* what waits goes out; then the room is quiet */
    assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 500, NULL) >= 0);
    /* quiet: at once, to every joined socket */
    fx = say(r, a, "one", "c1", 1000);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to")), (int)members);
    cJSON_Delete(fx);
    /* 20 ms later: the small room is quiet again; the big one waits to 50 ms */
    assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"new_chat_message\",\"body\":\"two\",\"client_id\":\"c2\"}",
                         1020, &fx) > 0);
    cJSON *last = cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1);
    if (big) {
      assert_string_equal(op_of(last), "flush_at");
      assert_int_equal(num(last, "at"), 1000 + room_flush_interval(members));
    } else {
      assert_string_equal(op_of(last), "query"); /* the dedup question of a flush now */
    }
    cJSON_Delete(fx);
    room_free(r);
  }
}

/* Relays (chat_limits.h): a flush costs the busiest object it passes through, the
 * room (its own sockets and one RPC per relay) or a relay (its share), so a room
 * whose sockets relays hold spaces its flushes by that, not by every socket. */
static const char *relay_user(int relay) {
  static char user[96];
  snprintf(user, sizeof user, "{\"id\":1,\"username\":\"u1\",\"role\":\"USER\",\"relay\":%d}", relay);
  return user;
}

static void a_room_whose_sockets_relays_hold_spaces_its_flushes_by_the_busiest_object(void **state) {
  (void)state;
  size_t none[CHAT_RELAYS] = {0}, even[CHAT_RELAYS], one[CHAT_RELAYS] = {0};
  for (size_t j = 0; j < CHAT_RELAYS; j++) even[j] = 400;
  one[3] = 900;
  assert_int_equal(room_fanout_sends(5000, none), 5000);
  assert_int_equal(room_fanout_sends(1000 + 400 * CHAT_RELAYS, even), 1000 + CHAT_RELAYS);
  assert_int_equal(room_fanout_sends(1000, one), 900); /* the relay is the busiest */
  assert_int_equal(room_fanout_sends(0, none), 0);
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  /* a relay that is not one of the room's is refused */
  assert_int_equal(room_run(r, ROOM_OPEN, 0, relay_user(CHAT_RELAYS), 0, NULL), CHAT_E_FIELD_TYPE);
  assert_int_equal(room_run(r, ROOM_OPEN, 0, "{\"id\":1,\"username\":\"u1\",\"role\":\"USER\",\"relay\":-1}", 0, NULL),
                   CHAT_E_FIELD_TYPE);
  /* 1 000 joined, 900 of them through the relays: 100 + 10 sends a flush for the
   * room, 90 for each relay, so a message 20 ms after the last is sent at once */
  int64_t a = 0;
  for (size_t i = 0; i < 1000; i++) {
    char user[128];
    if (i < 100) snprintf(user, sizeof user, "{\"id\":%zu,\"username\":\"u%zu\",\"role\":\"USER\"}", i + 1, i + 1);
    else snprintf(user, sizeof user, "{\"id\":%zu,\"username\":\"u%zu\",\"role\":\"USER\",\"relay\":%zu}", i + 1, i + 1,
                  (i + 1) % CHAT_RELAYS);
    assert_true(room_run(r, ROOM_OPEN, 0, user, 0, &fx) > 0);
    int64_t c = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
    cJSON_Delete(fx);
    assert_true(room_run(r, ROOM_FRAME, c, "{\"type\":\"join_room\"}", 0, NULL) >= 0);
    assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL) >= 0);
    if (!i) a = c;
  }
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 500, NULL) >= 0);
  fx = say(r, a, "one", "c1", 1000);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fx_at(fx, 1, "send"), "to")), 1000); /* everyone */
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"new_chat_message\",\"body\":\"two\",\"client_id\":\"c2\"}",
                       1020, &fx) > 0);
  cJSON *last = cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1);
  assert_string_equal(op_of(last), "query"); /* a flush now: 1 000 sockets held by the room would wait to 1 050 */
  cJSON_Delete(fx);
  room_free(r);
}

/* The flush_at effects of fx: the earliest `at` asked for, or `pending` if none
 * is earlier (the shell keeps one timer, the earliest). */
static double earliest_flush(cJSON *fx, double pending) {
  const cJSON *e;
  cJSON_ArrayForEach(e, fx) if (strcmp(op_of(e), "flush_at") == 0 && num(e, "at") < pending) pending = num(e, "at");
  return pending;
}

/* Sends of fx to at least `many` sockets: the fan-outs to a big room. */
static int fan_outs(cJSON *fx, int many) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, fx) n += strcmp(op_of(e), "send") == 0 && cJSON_GetArraySize(cJSON_GetObjectItem(e, "to")) >= many;
  return n;
}

static void a_join_storm_into_a_big_room_tells_the_others_once_a_presence_interval(void **state) {
  (void)state;
  assert_int_equal(room_presence_interval(20), CHAT_FLUSH_INTERVAL_MS);
  assert_int_equal(room_presence_interval(1000), 1000 * 1000 / CHAT_PRESENCE_SENDS_PER_SECOND);
  assert_int_equal(room_presence_interval(5000), 5000 * 1000 / CHAT_PRESENCE_SENDS_PER_SECOND);
  assert_int_equal(room_presence_interval(100000), CHAT_PRESENCE_INTERVAL_MAX_MS);
  room *r;
  cJSON *fx;
  const int members = 1000, arrivals = 100;
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t first = 0;
  for (int i = 0; i < members; i++) {
    char user[96];
    snprintf(user, sizeof user, "{\"id\":%d,\"username\":\"u%d\",\"role\":\"USER\"}", i + 1, i + 1);
    int64_t c = join(r, user, 0);
    if (!i) first = c;
  }
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, 500, NULL) >= 0); /* what waited went out */
  /* 100 arrivals 10 ms apart (a second), the shell's one timer firing ROOM_FLUSH */
  double pending = 1e300, t = 1000;
  int told = 0;
  for (int i = 0; i < arrivals; i++, t += 10) {
    if (pending <= t) {
      assert_true(room_run(r, ROOM_FLUSH, 0, NULL, pending, &fx) >= 0);
      told += fan_outs(fx, members / 2);
      cJSON_Delete(fx);
      pending = 1e300;
    }
    char user[96];
    snprintf(user, sizeof user, "{\"id\":%d,\"username\":\"u%d\",\"role\":\"USER\"}", members + i + 1, members + i + 1);
    assert_true(room_run(r, ROOM_OPEN, 0, user, t, &fx) > 0);
    int64_t c = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
    cJSON_Delete(fx);
    assert_true(room_run(r, ROOM_FRAME, c, "{\"type\":\"join_room\"}", t, NULL) >= 0);
    assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, t, &fx) >= 0);
    told += fan_outs(fx, members / 2);
    pending = earliest_flush(fx, pending);
    cJSON_Delete(fx);
  }
  /* the first at once, then one flush per presence interval (~550 ms here): 2 or 3
   * fan-outs over the second, where the message interval (~55 ms) made 19 */
  assert_true(told >= 2 && told <= 1 + (int)(1000 / room_presence_interval(members)) + 1);
  /* presence waits for its interval, a message does not: its flush_at comes forward
   * and takes the waiting arrival along */
  const double last = pending;
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, last, NULL) >= 0);
  int64_t late = join(r, "{\"id\":9999,\"username\":\"late\",\"role\":\"USER\"}", last + 5);
  (void)late;
  pending = last + room_presence_interval(members + arrivals + 1);
  fx = say(r, first, "now", "m1", last + 10);
  double due = earliest_flush(fx, pending);
  assert_true(due == last + room_flush_interval(members + arrivals + 1));
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FLUSH, 0, NULL, due, &fx) > 0);
  assert_string_equal(str(cJSON_GetArrayItem(fx, cJSON_GetArraySize(fx) - 1), "what"), "dedup");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, due, &fx) > 0);
  cJSON *d = deliveries(fx), *one;
  int presences = 0, messages = 0;
  cJSON_ArrayForEach(one, d) {
    const cJSON *f;
    if (cJSON_GetArraySize(cJSON_GetObjectItem(one, "to")) < members / 2) continue;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(one, "frames")) {
      presences += strcmp(str(f, "type"), "presence_changed") == 0;
      messages += strcmp(str(f, "type"), "new_chat_message") == 0;
    }
  }
  assert_int_equal(messages, 1);
  assert_true(presences > 0);
  cJSON_Delete(d);
  cJSON_Delete(fx);
  room_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_quiet_room_sends_at_once_and_a_busy_one_in_batches),
      cmocka_unit_test(a_batch_reaches_late_joiners_and_leaves_out_what_a_blocker_hides),
      cmocka_unit_test(a_full_outbox_is_sent_at_once),
      cmocka_unit_test(past_its_rate_a_room_sheds_messages_without_punishing_senders),
      cmocka_unit_test(out_of_memory_in_a_flush_keeps_the_outbox),
      cmocka_unit_test(a_flush_writes_at_most_twice_the_outbox_whatever_the_blocks),
      cmocka_unit_test(a_batch_of_escaped_bodies_stays_well_under_one_mebibyte),
      cmocka_unit_test(a_resend_of_a_waiting_message_takes_nothing_from_the_room),
      cmocka_unit_test(a_socket_closed_for_flooding_leaves_its_accepted_messages_to_the_others),
      cmocka_unit_test(a_big_room_spaces_its_flushes_by_what_they_cost),
      cmocka_unit_test(a_room_whose_sockets_relays_hold_spaces_its_flushes_by_the_busiest_object),
      cmocka_unit_test(a_join_storm_into_a_big_room_tells_the_others_once_a_presence_interval),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
