/* Edits, replies, reactions and the change log that a resume replays (issue 16;
 * wasm/room_frames.c, room_history.c, message.c, room_rules.c). */
#include "chat_error.h"
#include "message.h"
#include "room_rules.h"
#include "room_util.h"
#include "test_util.h"

/* Message 4 by alice, as storage holds it and answers the message query. */
#define ALICE_4_ROW                                                                                     \
  "{\"seq\":4,\"user_id\":1,\"username\":\"alice\",\"body\":\"helo\",\"client_id\":\"c\",\"created_at\":1," \
  "\"deleted_at\":null}"
#define ALICES_4 "{\"row\":" ALICE_4_ROW "}"
#define DELETED_4_ROW                                                                                   \
  "{\"seq\":4,\"user_id\":1,\"username\":\"alice\",\"body\":\"helo\",\"client_id\":\"c\",\"created_at\":1," \
  "\"deleted_at\":7}"
#define DELETED_4 "{\"row\":" DELETED_4_ROW "}"

/* Runs a frame that asks storage one question, answers it, and returns the
 * answer's effects (the question is checked to be `what`). */
static cJSON *ask_answer(room *r, int64_t conn, const char *frame, const char *what, const char *answer, double now) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_FRAME, conn, frame, now, &fx) > 0);
  assert_string_equal(str(fx_at(fx, cJSON_GetArraySize(fx) - 1, "query"), "what"), what);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, answer, now, &fx) >= 0);
  return fx;
}

/* The error code a frame gets at once (no question asked), or "" for none. */
static const char *refused_at_once(room *r, int64_t conn, const char *frame, char *code, size_t cap) {
  cJSON *fx;
  assert_true(room_run(r, ROOM_FRAME, conn, frame, 0, &fx) > 0);
  const char *c = error_in(fx, code, cap);
  cJSON_Delete(fx);
  return c ? c : "";
}

static void only_the_author_edits_admins_included(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char code[64];
  assert_int_equal(room_new(1, 5, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0), root = join(r, ADMIN, 0);
  const char *edit = "{\"type\":\"edit_message\",\"seq\":4,\"body\":\"hello\",\"ref\":\"e\"}";
  struct { int64_t conn; const char *answer; const char *code; } refused[] = {
      {b, ALICES_4, "not_author"}, {root, ALICES_4, "not_author"}, {a, NO_ROW, "message_not_found"},
      {a, DELETED_4, "message_not_found"}};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    fx = ask_answer(r, refused[i].conn, edit, "message", refused[i].answer, 10);
    assert_int_equal(cJSON_GetArraySize(fx), 1); /* no edit effect */
    assert_string_equal(error_in(fx, code, sizeof code), refused[i].code);
    cJSON_Delete(fx);
  }
  /* the author: an edit effect (the change numbered 1), then message_edited to everyone */
  fx = ask_answer(r, a, edit, "message", ALICES_4, 20);
  cJSON *e = fx_at(fx, 0, "edit");
  assert_int_equal(num(e, "seq"), 4);
  assert_string_equal(str(e, "body"), "hello");
  assert_int_equal(num(e, "change"), 1);
  assert_int_equal(num(e, "keep"), CHAT_EDIT_HISTORY_MAX);
  cJSON *send = fx_at(fx, 1, "send");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(send, "to")), 3);
  cJSON *f = frame_of(send);
  assert_string_equal(str(f, "type"), "message_edited");
  assert_string_equal(str(f, "body"), "hello");
  assert_int_equal(num(f, "edited_at"), 20);
  assert_int_equal(num(f, "change"), 1);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  /* the same body again changes nothing, and takes no change number */
  fx = ask_answer(r, a, "{\"type\":\"edit_message\",\"seq\":4,\"body\":\"helo\"}", "message", ALICES_4, 40);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  fx = ask_answer(r, a, edit, "message", ALICES_4, 60);
  assert_int_equal(num(fx_at(fx, 0, "edit"), "change"), 2);
  cJSON_Delete(fx);
  /* the body keeps a new message's limits, refused before any lookup */
  static char frame[4 * 4001 + 128];
  int n = snprintf(frame, sizeof frame, "{\"type\":\"edit_message\",\"seq\":4,\"body\":\"");
  for (int i = 0; i < CHAT_MESSAGE_MAX + 1; i++) frame[n++] = 'x';
  snprintf(frame + n, sizeof frame - n, "\"}");
  assert_string_equal(refused_at_once(r, a, frame, code, sizeof code), "body_too_long");
  assert_string_equal(refused_at_once(r, a, "{\"type\":\"edit_message\",\"seq\":4,\"body\":\"  \"}", code, sizeof code),
                      "body_empty");
  assert_string_equal(refused_at_once(r, a, "{\"type\":\"edit_message\",\"seq\":-4,\"body\":\"x\"}", code, sizeof code),
                      "seq_invalid");
  assert_string_equal(refused_at_once(r, a, "{\"type\":\"edit_message\",\"body\":\"x\"}", code, sizeof code),
                      "field_missing");
  room_free(r);
}

static void a_reply_quotes_an_original_of_this_room_as_it_is(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char code[64];
  assert_int_equal(room_new(1, 5, 1, &r), CHAT_OK); /* messages 1..4 stored */
  int64_t a = join(r, ALICE, 0);
  join(r, BOB, 0);
  /* a seq this room has not given: another room's message, or none */
  const char *bad[] = {"{\"type\":\"new_chat_message\",\"body\":\"re\",\"client_id\":\"r1\",\"reply_to\":5}",
                       "{\"type\":\"new_chat_message\",\"body\":\"re\",\"client_id\":\"r1\",\"reply_to\":0}",
                       "{\"type\":\"new_chat_message\",\"body\":\"re\",\"client_id\":\"r1\",\"reply_to\":900}"};
  for (size_t i = 0; i < 3; i++) assert_string_equal(refused_at_once(r, a, bad[i], code, sizeof code), "reply_not_found");
  assert_string_equal(
      refused_at_once(r, a, "{\"type\":\"new_chat_message\",\"body\":\"re\",\"client_id\":\"r1\",\"reply_to\":\"4\"}",
                      code, sizeof code),
      "seq_invalid");
  /* a reply to 4: the flush asks for the original with the retries */
  assert_true(room_run(r, ROOM_FRAME, a,
                       "{\"type\":\"new_chat_message\",\"body\":\"yes\",\"client_id\":\"r2\",\"reply_to\":4}", 100,
                       &fx) > 0);
  cJSON *q = fx_at(fx, cJSON_GetArraySize(fx) - 1, "query");
  assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(q, "replies"), 0)->valuedouble, 4);
  assert_int_equal(num(q, "excerpt"), CHAT_REPLY_EXCERPT_MAX);
  cJSON_Delete(fx);
  /* the original is longer than an excerpt: the quote is cut at a code point */
  static char answer[4096];
  int n = snprintf(answer, sizeof answer, "{\"rows\":[],\"originals\":[{\"seq\":4,\"user_id\":2,\"username\":\"bob\","
                                          "\"client_id\":\"b\",\"created_at\":1,\"deleted_at\":null,\"body\":\"");
  for (int i = 0; i < CHAT_REPLY_EXCERPT_MAX + 5; i++) n += snprintf(answer + n, sizeof answer - n, "\xc3\xa9");
  snprintf(answer + n, sizeof answer - n, "\"}]}");
  assert_true(room_run(r, ROOM_ANSWER, 0, answer, 100, &fx) > 0);
  cJSON *stored = cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message");
  assert_int_equal(num(stored, "reply_to"), 4);
  cJSON *f = frame_of(fx_at(fx, 1, "send"));
  cJSON *quote = cJSON_GetObjectItem(f, "reply_to");
  assert_int_equal(num(quote, "seq"), 4);
  assert_string_equal(str(cJSON_GetObjectItem(quote, "user"), "username"), "bob");
  assert_int_equal(strlen(str(quote, "excerpt")), 2 * CHAT_REPLY_EXCERPT_MAX);
  assert_null(cJSON_GetObjectItem(quote, "deleted"));
  cJSON_Delete(f);
  cJSON_Delete(fx);
  /* a deleted original: the quote says so, with neither its author nor its text */
  assert_true(room_run(r, ROOM_FRAME, a,
                       "{\"type\":\"new_chat_message\",\"body\":\"and?\",\"client_id\":\"r3\",\"reply_to\":4}", 200,
                       NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0,
                       "{\"rows\":[],\"originals\":[{\"seq\":4,\"user_id\":2,\"username\":\"bob\",\"body\":\"x\","
                       "\"client_id\":\"b\",\"created_at\":1,\"deleted_at\":150}]}",
                       200, &fx) > 0);
  f = frame_of(fx_at(fx, 1, "send"));
  quote = cJSON_GetObjectItem(f, "reply_to");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(quote, "deleted")));
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(quote, "user")));
  assert_string_equal(str(quote, "excerpt"), "");
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

static void reactions_are_a_few_visible_code_points(void **state) {
  (void)state;
  struct { const char *s; int ok; } cases[] = {
      {"\xf0\x9f\x91\x8d", 1},                         /* thumbs up */
      {"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 1},         /* with a skin tone */
      {"\xe2\x9d\xa4\xef\xb8\x8f", 1},                 /* heart with VS16 */
      {"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7", 1},         /* a flag: two regional indicators */
      /* a kiss with two skin tones: 10 code points, the longest ZWJ sequence */
      {"\xf0\x9f\x91\xa9\xf0\x9f\x8f\xbb\xe2\x80\x8d\xe2\x9d\xa4\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x92\x8b\xe2\x80\x8d"
       "\xf0\x9f\x91\xa8\xf0\x9f\x8f\xbc",
       1},
      {"+1", 1},
      {"", 0},
      {"abcdefghijk", 0},                              /* 11 code points */
      {"a b", 0},                                      /* whitespace */
      {"\t", 0},
      {"\xc2\xa0", 0},                                 /* NO-BREAK SPACE */
      {"\xe3\x80\x80", 0},                             /* IDEOGRAPHIC SPACE */
      {"x\x01", 0},                                    /* a control character */
      {"\xc2\x85", 0},                                 /* NEXT LINE (C1) */
      {"\xe2\x80\xae\xf0\x9f\x91\x8d", 0},             /* RIGHT-TO-LEFT OVERRIDE */
      {"\xe2\x81\xa6x", 0},                            /* LEFT-TO-RIGHT ISOLATE */
      {"\xe2\x80\x8b", 0},                             /* ZERO WIDTH SPACE */
      {"\xef\xbb\xbf", 0},                             /* BOM */
      /* ten 4-byte emoji: 10 code points in 40 bytes, both at their limits */
      {"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
       "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
       1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int expect = cases[i].ok ? CHAT_OK : CHAT_E_REACTION_INVALID;
    assert_int_equal(message_check_reaction(cases[i].s, strlen(cases[i].s)), expect);
  }
  /* 41 bytes is one too many, whatever the count */
  assert_int_equal(message_check_reaction("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                                          "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                                          "\xf0\x9f\x98\x80\xf0\x9f\x98\x80x",
                                          41),
                   CHAT_E_REACTION_INVALID);
}

static void reaction_limits_and_what_changes_nothing(void **state) {
  (void)state;
  /* add: a new emoji past the distinct limit, or past my own limit, is refused */
  assert_int_equal(room_reaction_decide(1, 0, 0, 0, 0), ROOM_REACT_APPLY);
  assert_int_equal(room_reaction_decide(1, 0, 0, CHAT_REACTIONS_DISTINCT_MAX - 1, 0), ROOM_REACT_APPLY);
  assert_int_equal(room_reaction_decide(1, 0, 0, CHAT_REACTIONS_DISTINCT_MAX, 0), CHAT_E_REACTIONS_FULL);
  assert_int_equal(room_reaction_decide(1, 1, 0, CHAT_REACTIONS_DISTINCT_MAX, 0), ROOM_REACT_APPLY); /* joins one */
  assert_int_equal(room_reaction_decide(1, 1, 0, 3, CHAT_REACTIONS_PER_USER_MAX), CHAT_E_REACTION_LIMIT);
  assert_int_equal(room_reaction_decide(1, 1, 1, 3, 1), ROOM_REACT_NONE); /* mine already */
  /* remove: only mine, never refused */
  assert_int_equal(room_reaction_decide(0, 1, 1, 3, 1), ROOM_REACT_APPLY);
  assert_int_equal(room_reaction_decide(0, 1, 0, 3, 0), ROOM_REACT_NONE);
  assert_int_equal(room_reaction_decide(0, 0, 0, CHAT_REACTIONS_DISTINCT_MAX, CHAT_REACTIONS_PER_USER_MAX),
                   ROOM_REACT_NONE);
}

static void a_reaction_is_stored_and_told_but_not_to_who_blocks_the_reactor(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char code[64];
  assert_int_equal(room_new(1, 5, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0), b = join(r, BOB, 0), carol = join(r, CAROL_BLOCKS_ALICE, 0);
  const char *react = "{\"type\":\"react\",\"seq\":4,\"emoji\":\"\xf0\x9f\x91\x8d\",\"ref\":\"x\"}";
  assert_true(room_run(r, ROOM_FRAME, a, react, 0, &fx) > 0);
  cJSON *q = fx_at(fx, 0, "query");
  assert_string_equal(str(q, "what"), "reaction");
  assert_int_equal(num(q, "seq"), 4);
  assert_int_equal(num(q, "user_id"), 1);
  assert_string_equal(str(q, "emoji"), "\xf0\x9f\x91\x8d");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0,
                       "{\"row\":" ALICE_4_ROW ",\"present\":0,\"mine\":0,\"distinct\":0,\"my_count\":0}", 0, &fx) > 0);
  cJSON *e = fx_at(fx, 0, "react");
  assert_int_equal(num(e, "seq"), 4);
  assert_int_equal(num(e, "user_id"), 1);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "add")));
  assert_int_equal(num(e, "change"), 1);
  cJSON *send = fx_at(fx, 1, "send"), *to = cJSON_GetObjectItem(send, "to");
  assert_int_equal(cJSON_GetArraySize(to), 2); /* alice and bob; not carol, who blocks alice */
  for (int i = 0; i < 2; i++) assert_true(cJSON_GetArrayItem(to, i)->valuedouble != carol);
  cJSON *f = frame_of(send);
  assert_string_equal(str(f, "type"), "reactions_changed");
  assert_int_equal(num(f, "user_id"), 1);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "added")));
  assert_int_equal(num(f, "change"), 1);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  /* refusals from the facts, with the frame's ref */
  struct { const char *answer; const char *code; } refused[] = {
      {"{\"row\":" ALICE_4_ROW ",\"present\":0,\"mine\":0,\"distinct\":" CHAT_STR(CHAT_REACTIONS_DISTINCT_MAX)
       ",\"my_count\":0}", "reactions_full"},
      {"{\"row\":" ALICE_4_ROW ",\"present\":1,\"mine\":0,\"distinct\":2,\"my_count\":"
       CHAT_STR(CHAT_REACTIONS_PER_USER_MAX) "}", "reaction_limit"},
      {"{\"row\":null,\"present\":0,\"mine\":0,\"distinct\":0,\"my_count\":0}", "message_not_found"},
      {"{\"row\":" DELETED_4_ROW ",\"present\":0,\"mine\":0,\"distinct\":0,\"my_count\":0}", "message_not_found"},
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    fx = ask_answer(r, b, react, "reaction", refused[i].answer, 10 + (double)i);
    assert_int_equal(cJSON_GetArraySize(fx), 1);
    assert_string_equal(error_in(fx, code, sizeof code), refused[i].code);
    cJSON_Delete(fx);
  }
  /* removing what is not mine changes nothing */
  fx = ask_answer(r, b, "{\"type\":\"unreact\",\"seq\":4,\"emoji\":\"+1\"}", "reaction",
                  "{\"row\":" ALICE_4_ROW ",\"present\":1,\"mine\":0,\"distinct\":1,\"my_count\":0}", 20);
  assert_int_equal(cJSON_GetArraySize(fx), 0);
  cJSON_Delete(fx);
  /* an unreact that applies: the next change number */
  fx = ask_answer(r, a, "{\"type\":\"unreact\",\"seq\":4,\"emoji\":\"+1\"}", "reaction",
                  "{\"row\":" ALICE_4_ROW ",\"present\":1,\"mine\":1,\"distinct\":1,\"my_count\":1}", 30);
  e = fx_at(fx, 0, "react");
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(e, "add")));
  assert_int_equal(num(e, "change"), 2);
  cJSON_Delete(fx);
  /* a bad emoji is refused before any lookup */
  assert_string_equal(refused_at_once(r, a, "{\"type\":\"react\",\"seq\":4,\"emoji\":\"a b\"}", code, sizeof code),
                      "reaction_invalid");
  assert_string_equal(refused_at_once(r, a, "{\"type\":\"react\",\"seq\":4}", code, sizeof code), "field_missing");
  room_free(r);
}

#define FILE_A "0123456789abcdef0123456789abcdef"
#define FILE_B "fedcba9876543210fedcba9876543210"
/* An upload as storage answers it among a flush's files. */
#define UPLOAD(id, user, seq)                                                                            \
  "{\"id\":\"" id "\",\"user_id\":" #user ",\"seq\":" #seq ",\"type\":\"image/png\",\"size\":33,"     \
  "\"name\":\"dot.png\",\"width\":8,\"height\":6,\"url\":\"/rooms/1/attachments/" id "\"}"

/* A message carries files: only its author's uploads to this room, not used by
 * another message; the text may then be empty. */
static void a_message_carries_only_its_authors_unused_uploads(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  char code[64];
  assert_int_equal(room_new(1, 1, 1, &r), CHAT_OK);
  int64_t a = join(r, ALICE, 0);
  join(r, BOB, 0);
  /* refused before any lookup: bad ids, too many, twice the same, no text and no file */
  static char many[2048];
  int n = snprintf(many, sizeof many, "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"m\",\"attachments\":[");
  for (int i = 0; i <= CHAT_ATTACHMENTS_MAX; i++) n += snprintf(many + n, sizeof many - n, "%s\"%032d\"", i ? "," : "", i);
  snprintf(many + n, sizeof many - n, "]}");
  const char *bad[] = {
      many,
      "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"m\",\"attachments\":[\"../x\"]}",
      "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"m\",\"attachments\":[\"" FILE_A "\",\"" FILE_A "\"]}",
      "{\"type\":\"new_chat_message\",\"body\":\"x\",\"client_id\":\"m\",\"attachments\":\"" FILE_A "\"}",
  };
  for (size_t i = 0; i < 4; i++) assert_string_equal(refused_at_once(r, a, bad[i], code, sizeof code), "attachment_invalid");
  assert_string_equal(refused_at_once(r, a, "{\"type\":\"new_chat_message\",\"body\":\" \",\"client_id\":\"m\",\"attachments\":[]}",
                                      code, sizeof code),
                      "body_empty");
  /* a file alone: the flush asks storage for it with the retries */
  assert_true(room_run(r, ROOM_FRAME, a,
                       "{\"type\":\"new_chat_message\",\"body\":\"\",\"client_id\":\"f1\",\"attachments\":[\"" FILE_A "\"]}",
                       100, &fx) > 0);
  cJSON *q = fx_at(fx, cJSON_GetArraySize(fx) - 1, "query");
  assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(q, "attachments"), 0)->valuestring, FILE_A);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, "{\"rows\":[],\"files\":[" UPLOAD(FILE_A, 1, null) "]}", 100, &fx) > 0);
  cJSON *stored = cJSON_GetObjectItem(fx_at(fx, 0, "store"), "message");
  assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(stored, "attachments"), 0)->valuestring, FILE_A);
  cJSON *f = frame_of(fx_at(fx, 1, "send"));
  cJSON *file = cJSON_GetArrayItem(cJSON_GetObjectItem(f, "attachments"), 0);
  assert_string_equal(str(file, "id"), FILE_A);
  assert_string_equal(str(file, "type"), "image/png");
  assert_string_equal(str(file, "url"), "/rooms/1/attachments/" FILE_A);
  assert_int_equal(num(file, "width"), 8);
  assert_null(cJSON_GetObjectItem(file, "user_id")); /* what storage keeps about it stays there */
  cJSON_Delete(f);
  cJSON_Delete(fx);
  /* someone else's upload, one another message uses, one storage did not find here */
  const char *answers[] = {"{\"rows\":[],\"files\":[" UPLOAD(FILE_B, 2, null) "]}",
                           "{\"rows\":[],\"files\":[" UPLOAD(FILE_B, 1, 1) "]}", "{\"rows\":[],\"files\":[]}"};
  for (size_t i = 0; i < 3; i++) {
    double at = 200 + 100 * (double)i;
    assert_true(room_run(r, ROOM_FRAME, a,
                         "{\"type\":\"new_chat_message\",\"body\":\"see\",\"client_id\":\"f2\",\"attachments\":[\"" FILE_B "\"]}",
                         at, NULL) > 0);
    assert_true(room_run(r, ROOM_ANSWER, 0, answers[i], at, &fx) > 0);
    assert_int_equal(cJSON_GetArraySize(fx), 1); /* no store */
    f = frame_of(fx_at(fx, 0, "send"));
    assert_string_equal(str(f, "code"), "attachment_invalid");
    assert_string_equal(str(f, "ref"), "f2");
    cJSON_Delete(f);
    cJSON_Delete(fx);
  }
  room_free(r);
}

/* A join with changes_since asks for the changes to the messages the client has
 * (up to since), and the history frame carries them with the new cursor. */
static void a_resume_gets_the_changes_after_its_cursor_in_pages(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 11, 31, &r), CHAT_OK); /* messages 1..10, changes 1..30 */
  assert_true(room_run(r, ROOM_OPEN, 0, ALICE, 0, &fx) > 0);
  int64_t a = (int64_t)num(fx_at(fx, 0, "attach"), "conn");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"join_room\",\"since\":8,\"changes_since\":12}", 0, &fx) > 0);
  cJSON *q = fx_at(fx, 0, "query");
  assert_int_equal(num(q, "after"), 8);
  assert_int_equal(num(q, "changes_after"), 12);
  assert_int_equal(num(q, "changes_seq_max"), 8);
  assert_int_equal(num(q, "viewer"), 1);
  cJSON_Delete(fx);
  /* storage's answer: an edited message, a deleted one, and more than a page */
  static char answer[1 << 16];
  int n = snprintf(answer, sizeof answer, "{\"rows\":[],\"changes\":[");
  for (int i = 0; i < CHAT_HISTORY_PAGE + 1; i++) {
    n += snprintf(answer + n, sizeof answer - n,
                  "%s{\"seq\":%d,\"user_id\":2,\"username\":\"bob\",\"body\":\"v%d\",\"client_id\":\"c%d\","
                  "\"created_at\":1,\"deleted_at\":%s,\"edited_at\":%d,\"change\":%d,\"reactions\":"
                  "[{\"emoji\":\"+1\",\"count\":2,\"me\":1}]}",
                  i ? "," : "", 1 + i % 8, i, i, i == 1 ? "5" : "null", 100 + i, 13 + i);
  }
  snprintf(answer + n, sizeof answer - n, "]}");
  assert_true(room_run(r, ROOM_ANSWER, 0, answer, 0, &fx) > 0);
  cJSON *h = frame_of(fx_at(fx, 1, "send"));
  assert_string_equal(str(h, "type"), "history");
  cJSON *changes = cJSON_GetObjectItem(h, "changes");
  assert_int_equal(cJSON_GetArraySize(changes), CHAT_HISTORY_PAGE);
  cJSON *first = cJSON_GetArrayItem(changes, 0), *second = cJSON_GetArrayItem(changes, 1);
  assert_string_equal(str(first, "body"), "v0");
  assert_int_equal(num(first, "edited_at"), 100);
  assert_int_equal(num(first, "change"), 13);
  cJSON *rx = cJSON_GetArrayItem(cJSON_GetObjectItem(first, "reactions"), 0);
  assert_string_equal(str(rx, "emoji"), "+1");
  assert_int_equal(num(rx, "count"), 2);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rx, "me")));
  /* a deleted message is only its seq: its text does not travel */
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(second, "deleted")));
  assert_null(cJSON_GetObjectItem(second, "body"));
  /* more than a page: the cursor is the last change listed, and the client asks again */
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(h, "changes_more")));
  assert_int_equal(num(h, "change"), 13 + CHAT_HISTORY_PAGE - 1);
  cJSON_Delete(h);
  cJSON_Delete(fx);
  /* the last page: the cursor is the room's latest change */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"join_room\",\"since\":10,\"changes_since\":62}", 0, NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, "{\"rows\":[],\"changes\":[]}", 0, &fx) > 0);
  h = frame_of(fx_at(fx, 0, "send"));
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(h, "changes_more")));
  assert_int_equal(num(h, "change"), 30);
  cJSON_Delete(h);
  cJSON_Delete(fx);
  /* without since there is nothing to replay: no changes are asked, the cursor is given */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"join_room\",\"changes_since\":3}", 0, &fx) > 0);
  assert_null(cJSON_GetObjectItem(fx_at(fx, 0, "query"), "changes_after"));
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, &fx) > 0);
  h = frame_of(fx_at(fx, 0, "send"));
  assert_null(cJSON_GetObjectItem(h, "changes"));
  assert_int_equal(num(h, "change"), 30);
  cJSON_Delete(h);
  cJSON_Delete(fx);
  assert_int_equal(room_run(r, ROOM_FRAME, a, "{\"type\":\"join_room\",\"since\":1,\"changes_since\":-1}", 0, &fx) > 0, 1);
  char code[64];
  assert_string_equal(error_in(fx, code, sizeof code), "seq_invalid");
  cJSON_Delete(fx);
  room_free(r);
}

/* Every change takes the next number: deletions, edits, reactions, and an
 * erasure one per message of the log, so the numbers a client saw stay unique. */
static void changes_are_numbered_in_order_and_an_erasure_reserves_one_per_message(void **state) {
  (void)state;
  room *r;
  cJSON *fx;
  assert_int_equal(room_new(1, 5, 7, &r), CHAT_OK); /* messages 1..4, changes 1..6 */
  int64_t a = join(r, ALICE, 0);
  fx = ask_answer(r, a, "{\"type\":\"delete_message\",\"seq\":4}", "message", ALICES_4, 10);
  assert_int_equal(num(fx_at(fx, 0, "tombstone"), "change"), 7);
  cJSON *f = frame_of(fx_at(fx, 1, "send"));
  assert_int_equal(num(f, "change"), 7);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ERASE, 0, "{\"user_id\":2,\"tombstone\":\"deleted account\"}", 30, &fx) > 0);
  cJSON *e = fx_at(fx, 0, "erase");
  assert_int_equal(num(e, "user_id"), 2);
  assert_int_equal(num(e, "change"), 8); /* message seq gets 8 + seq - 1: 8..11 */
  f = frame_of(fx_at(fx, 1, "send"));
  assert_string_equal(str(f, "type"), "account_deleted");
  assert_int_equal(num(f, "change"), 11);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  fx = ask_answer(r, a, "{\"type\":\"edit_message\",\"seq\":4,\"body\":\"again\"}", "message", ALICES_4, 50);
  assert_int_equal(num(fx_at(fx, 0, "edit"), "change"), 12);
  cJSON_Delete(fx);
  /* a join tells the cursor: the last number given */
  assert_true(room_run(r, ROOM_FRAME, a, "{\"type\":\"join_room\"}", 60, NULL) > 0);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 60, &fx) > 0);
  f = frame_of(fx_at(fx, 0, "send"));
  assert_int_equal(num(f, "change"), 12);
  cJSON_Delete(f);
  cJSON_Delete(fx);
  room_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(only_the_author_edits_admins_included),
      cmocka_unit_test(a_reply_quotes_an_original_of_this_room_as_it_is),
      cmocka_unit_test(reactions_are_a_few_visible_code_points),
      cmocka_unit_test(reaction_limits_and_what_changes_nothing),
      cmocka_unit_test(a_reaction_is_stored_and_told_but_not_to_who_blocks_the_reactor),
      cmocka_unit_test(a_message_carries_only_its_authors_unused_uploads),
      cmocka_unit_test(a_resume_gets_the_changes_after_its_cursor_in_pages),
      cmocka_unit_test(changes_are_numbered_in_order_and_an_erasure_reserves_one_per_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
