/* search.h: what people type into a search box, read into FTS5 MATCH expressions
 * in which nothing is an operator; hostile forms refused or made literal. */
#include "test_util.h"

#include <stdio.h>

#include "api.h"
#include "chat_error.h"
#include "room_util.h"
#include "search.h"

static char out[SEARCH_MATCH_MAX + 1];
static size_t out_len;

/* The expression q gives (asserting it is valid). */
static const char *match(const char *q) {
  int rc = search_match(q, strlen(q), out, sizeof out, &out_len);
  if (rc < 0) fail_msg("refused \"%s\": %d", q, rc);
  assert_int_equal(out_len, strlen(out));
  return out;
}

static int refused(const char *q, size_t len) {
  return search_match(q, len, out, sizeof out, &out_len) == CHAT_E_QUERY_INVALID;
}
#define REFUSED(lit) refused(lit, sizeof(lit) - 1)

static void words_are_quoted_and_anded(void **state) {
  (void)state;
  assert_string_equal(match("hello"), "\"hello\"");
  assert_string_equal(match("  hello \t world\r\n"), "\"hello\" \"world\"");
  assert_int_equal(search_match(S("a b c"), out, sizeof out, &out_len), 3);
}

static void a_quoted_phrase_is_one_term(void **state) {
  (void)state;
  assert_string_equal(match("\"brave new\" world"), "\"brave new\" \"world\"");
  assert_string_equal(match("x\"brave new\"y"), "\"x\" \"brave new\" \"y\"");
  assert_string_equal(match("\"lov\"*"), "\"lov\"*");
}

static void a_trailing_star_is_a_prefix(void **state) {
  (void)state;
  assert_string_equal(match("lov*"), "\"lov\"*");
  assert_string_equal(match("a*b"), "\"a*b\""); /* not trailing: literal, the tokenizer splits it */
  assert_true(REFUSED("a*"));                   /* shorter than CHAT_SEARCH_PREFIX_MIN */
  assert_true(REFUSED("ok x-y*"));              /* the last token, y, is the prefix */
}

static void unbalanced_quotes_are_refused(void **state) {
  (void)state;
  assert_true(REFUSED("\"hello"));
  assert_true(REFUSED("hello\""));
  assert_true(REFUSED("\"a\" \"b"));
  assert_true(REFUSED("\""));
}

static void fts5_operators_are_words(void **state) {
  (void)state;
  assert_string_equal(match("a AND b OR c NOT d"), "\"a\" \"AND\" \"b\" \"OR\" \"c\" \"NOT\" \"d\"");
  assert_string_equal(match("NEAR(one two, 3)"), "\"NEAR(one\" \"two,\" \"3)\"");
  assert_string_equal(match("body:secret"), "\"body:secret\"");
  assert_string_equal(match("{body}:x"), "\"{body}:x\"");
  assert_string_equal(match("^start"), "\"^start\"");
  assert_string_equal(match("(a OR b)"), "\"(a\" \"OR\" \"b)\"");
  assert_string_equal(match("a + b"), "\"a\" \"b\""); /* '+' has no letter: left out */
  assert_string_equal(match("-x"), "\"-x\"");
}

static void terms_without_letters_are_left_out_and_alone_refused(void **state) {
  (void)state;
  assert_true(REFUSED("*"));
  assert_true(REFUSED("^"));
  assert_true(REFUSED("()"));
  assert_true(REFUSED("\"\""));
  assert_true(REFUSED("* ^ ( ) : + -"));
  assert_true(REFUSED("   "));
  assert_true(REFUSED(""));
  assert_string_equal(match("* hello ^"), "\"hello\"");
}

static void every_quote_inside_a_term_ends_it(void **state) {
  (void)state;
  /* a quote can never reach the output inside a term: it opens or closes one */
  assert_string_equal(match("ab\"cd\""), "\"ab\" \"cd\"");
  assert_string_equal(match("\"a \"\" b\""), "\"a \" \" b\"");
  for (size_t i = 1; i + 1 < out_len; i++)
    if (out[i] == '"') assert_true(out[i - 1] == ' ' || out[i + 1] == ' ' || out[i + 1] == '*');
}

static void control_characters_are_refused(void **state) {
  (void)state;
  assert_true(REFUSED("a\x01"));
  assert_true(REFUSED("a" SEARCH_MARK_START "b"));
  assert_true(REFUSED("a\x7f"));
  assert_true(REFUSED("a\xc2\x85")); /* U+0085, a C1 control */
  assert_true(refused("a\0b", 3));
  assert_string_equal(match("a\tb"), "\"a\" \"b\"");
}

static void non_ascii_is_literal(void **state) {
  (void)state;
  assert_string_equal(match("cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e"), "\"cr\xc3\xa8me\" \"br\xc3\xbbl\xc3\xa9" "e\"");
  assert_string_equal(match("\xe6\x97\xa5\xe6\x9c\xac*"), "\"\xe6\x97\xa5\xe6\x9c\xac\"*"); /* 日本* */
  assert_true(REFUSED("\xf0\x9f\x8e\x89"));                                              /* an emoji alone: no letter */
  assert_true(REFUSED("\xc3"));                                                          /* not UTF-8 */
  assert_true(REFUSED("\xed\xa0\x80"));                                                  /* a surrogate */
}

static void too_many_terms_or_bytes_are_refused(void **state) {
  (void)state;
  char q[16 * 1024];
  size_t n = 0;
  while (n + 2 <= 10 * 1024) q[n++] = 'x', q[n++] = ' ';
  assert_true(refused(q, n)); /* 10 KiB of terms */
  assert_true(REFUSED("a b c d e f g h i"));
  assert_int_equal(search_match(S("a b c d e f g h"), out, sizeof out, &out_len), CHAT_SEARCH_TERMS_MAX);
  memset(q, 'x', CHAT_SEARCH_QUERY_MAX + 1);
  assert_true(refused(q, CHAT_SEARCH_QUERY_MAX + 1));
  assert_true(search_match(q, CHAT_SEARCH_QUERY_MAX, out, sizeof out, &out_len) == 1);
}

static void the_worst_case_fits_the_documented_bound(void **state) {
  (void)state;
  /* 8 terms of quotes-free text, each with a '*': the most output per byte */
  char q[CHAT_SEARCH_QUERY_MAX];
  size_t n = 0;
  for (int t = 0; t < CHAT_SEARCH_TERMS_MAX; t++) {
    while (n < (size_t)(t + 1) * (CHAT_SEARCH_QUERY_MAX / CHAT_SEARCH_TERMS_MAX) - 2) q[n++] = 'y';
    q[n++] = '*';
    q[n++] = ' ';
  }
  assert_true(search_match(q, n, out, sizeof out, &out_len) == CHAT_SEARCH_TERMS_MAX);
  assert_true(out_len <= SEARCH_MATCH_MAX);
}

static void a_small_buffer_reports_the_size_needed(void **state) {
  (void)state;
  char small[4];
  size_t need;
  assert_int_equal(search_match(S("hello"), small, sizeof small, &need), CHAT_E_BUFFER_TOO_SMALL);
  assert_int_equal(need, 8); /* "hello" in quotes and its NUL */
}

static void reads_the_query_string(void **state) {
  (void)state;
  search_request r;
  assert_int_equal(search_read_request(S("q=%22brave+new%22+w%C3%B6rld*&before=42&limit=5"), &r), CHAT_OK);
  assert_string_equal(r.match, "\"brave new\" \"w\xc3\xb6rld\"*");
  assert_true(r.has_before);
  assert_int_equal(r.before, 42);
  assert_int_equal(r.limit, 5);
  assert_int_equal(search_read_request(S("q=hi"), &r), CHAT_OK);
  assert_false(r.has_before);
  assert_int_equal(r.limit, CHAT_SEARCH_PAGE);
}

static void refuses_bad_query_strings(void **state) {
  (void)state;
  search_request r;
  assert_int_equal(search_read_request(S(""), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q="), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=%2"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=%zz"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=%00"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=a&q=b"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=a&before=0"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=a&before=-1"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=a&limit=0"), &r), CHAT_E_QUERY_INVALID);
  assert_int_equal(search_read_request(S("q=a&limit=51"), &r), CHAT_E_QUERY_INVALID);
  /* more than CHAT_SEARCH_QUERY_MAX bytes once decoded, though each %xx is 3 */
  char q[4 * CHAT_SEARCH_QUERY_MAX];
  size_t n = 0;
  q[n++] = 'q', q[n++] = '=';
  for (int i = 0; i <= CHAT_SEARCH_QUERY_MAX; i++) q[n++] = 'a';
  assert_int_equal(search_read_request(q, n, &r), CHAT_E_QUERY_INVALID);
}

/* ---- the room's search (ROOM_SEARCH): the viewer and the query, then storage ---- */

static room *new_room(void) {
  room *r = NULL;
  assert_int_equal(room_new(7, 1, 1, &r), CHAT_OK);
  return r;
}

static void a_room_asks_storage_with_the_safe_expression_and_the_viewers_blocks(void **state) {
  (void)state;
  room *r = new_room();
  cJSON *fx;
  assert_true(room_run(r, ROOM_SEARCH, 0,
                       "{\"query\":\"q=NEAR(x+body:yy*&before=9&limit=2\",\"viewer\":{\"id\":1,\"blocks\":[4,5]}}", 0, &fx) > 0);
  cJSON *q = fx_at(fx, 0, "query");
  assert_string_equal(str(q, "what"), "search");
  assert_string_equal(str(q, "match"), "\"NEAR(x\" \"body:yy\"*");
  assert_int_equal((int)num(q, "before"), 9);
  assert_int_equal((int)num(q, "limit"), 3); /* one more than the page: has_more */
  assert_int_equal((int)num(q, "tokens"), CHAT_SEARCH_SNIPPET_TOKENS);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(q, "exclude_users")), 2);
  cJSON_Delete(fx);
  const char *rows = "{\"rows\":[{\"seq\":8,\"user_id\":2,\"username\":\"bob\",\"created_at\":5,\"edited_at\":null,"
                     "\"snippet\":\"\\u0002x\\u0003\"},{\"seq\":6,\"user_id\":1,\"username\":\"alice\",\"created_at\":4,"
                     "\"edited_at\":9,\"snippet\":\"a\"},{\"seq\":3,\"user_id\":1,\"username\":\"alice\",\"created_at\":3,"
                     "\"snippet\":\"b\"}]}";
  assert_true(room_run(r, ROOM_ANSWER, 0, rows, 0, &fx) > 0);
  cJSON *page = cJSON_Parse(str(fx_at(fx, 0, "reply"), "body"));
  assert_int_equal((int)num(page, "room_id"), 7);
  cJSON *results = cJSON_GetObjectItem(page, "results");
  assert_int_equal(cJSON_GetArraySize(results), 2);
  assert_string_equal(str(cJSON_GetArrayItem(results, 0), "snippet"), SEARCH_MARK_START "x" SEARCH_MARK_END);
  assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(results, 0), "edited_at"));
  assert_int_equal((int)num(cJSON_GetArrayItem(results, 1), "edited_at"), 9);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(page, "has_more")));
  assert_int_equal((int)num(page, "next_before"), 6);
  cJSON_Delete(page);
  cJSON_Delete(fx);
  room_free(r);
}

static void a_private_rooms_search_is_its_members_and_a_bad_query_asks_nothing(void **state) {
  (void)state;
  room *r = new_room();
  assert_true(room_run(r, ROOM_CONFIG, 0, "{\"kind\":\"room\",\"private\":true}", 0, NULL) >= 0);
  assert_int_equal(room_run(r, ROOM_SEARCH, 0, "{\"query\":\"q=x\",\"viewer\":{\"id\":1,\"blocks\":[]}}", 0, NULL),
                   CHAT_E_NOT_MEMBER);
  const char *bad[] = {"q=%22open", "q=*", "q=", "before=3", "q=x&limit=99", "q=a*"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char in[256];
    snprintf(in, sizeof in, "{\"query\":\"%s\",\"viewer\":{\"id\":1,\"blocks\":[],\"member\":true}}", bad[i]);
    assert_int_equal(room_run(r, ROOM_SEARCH, 0, in, 0, NULL), CHAT_E_QUERY_INVALID);
  }
  /* nothing is pending after a refusal: the next event is served */
  cJSON *fx;
  assert_true(room_run(r, ROOM_SEARCH, 0, "{\"query\":\"q=x\",\"viewer\":{\"id\":1,\"blocks\":[],\"member\":true}}", 0, &fx) > 0);
  fx_at(fx, 0, "query");
  cJSON_Delete(fx);
  assert_true(room_run(r, ROOM_ANSWER, 0, NO_ROWS, 0, NULL) > 0);
  room_free(r);
}

/* ---- across rooms (api.h CHAT_OP_SEARCH_QUERY, CHAT_OP_SEARCH_MERGE) ---- */

static cJSON *call(int op, const char *in, const char *aux, int *rc) {
  static unsigned char buf[1 << 16];
  size_t n = 0;
  *rc = api_call(op, (const unsigned char *)in, in ? strlen(in) : 0, (const unsigned char *)aux, aux ? strlen(aux) : 0,
                 0, buf, sizeof buf, &n);
  return *rc >= 0 ? cJSON_ParseWithLength((const char *)buf, n) : NULL;
}

static void the_search_across_rooms_reads_q_once_and_refuses_before(void **state) {
  (void)state;
  int rc;
  cJSON *a = call(CHAT_OP_SEARCH_QUERY, "limit=5&q=%22a+b%22&x=1", NULL, &rc);
  assert_non_null(a);
  assert_int_equal((int)num(a, "limit"), 5);
  assert_string_equal(str(a, "query"), "q=%22a+b%22&limit=5");
  cJSON_Delete(a);
  assert_null(call(CHAT_OP_SEARCH_QUERY, "q=a&before=3", NULL, &rc));
  assert_int_equal(rc, CHAT_E_QUERY_INVALID);
  assert_null(call(CHAT_OP_SEARCH_QUERY, "q=%22a", NULL, &rc));
  assert_int_equal(rc, CHAT_E_QUERY_INVALID);
}

static void the_rooms_pages_merge_newest_first(void **state) {
  (void)state;
  int rc;
  const char *aux = "{\"limit\":3,\"skipped\":[{\"room_id\":9}],\"pages\":["
                    "{\"room_id\":1,\"results\":[{\"seq\":5,\"created_at\":50},{\"seq\":2,\"created_at\":20}],\"has_more\":false},"
                    "{\"conversation_id\":4,\"results\":[{\"seq\":9,\"created_at\":40},{\"seq\":8,\"created_at\":20}],\"has_more\":false}]}";
  cJSON *a = call(CHAT_OP_SEARCH_MERGE, NULL, aux, &rc);
  assert_non_null(a);
  cJSON *r = cJSON_GetObjectItem(a, "results");
  assert_int_equal(cJSON_GetArraySize(r), 3);
  assert_int_equal((int)num(cJSON_GetArrayItem(r, 0), "seq"), 5);
  assert_int_equal((int)num(cJSON_GetArrayItem(r, 0), "room_id"), 1);
  assert_int_equal((int)num(cJSON_GetArrayItem(r, 1), "conversation_id"), 4);
  /* a tie in time: the larger room id first, the same order every time */
  assert_int_equal((int)num(cJSON_GetArrayItem(r, 2), "conversation_id"), 4);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "has_more")));
  assert_int_equal((int)num(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "skipped"), 0), "room_id"), 9);
  cJSON_Delete(a);
  assert_null(call(CHAT_OP_SEARCH_MERGE, NULL, "{\"limit\":0,\"pages\":[],\"skipped\":[]}", &rc));
  assert_int_equal(rc, CHAT_E_FIELD_TYPE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(words_are_quoted_and_anded),
      cmocka_unit_test(a_quoted_phrase_is_one_term),
      cmocka_unit_test(a_trailing_star_is_a_prefix),
      cmocka_unit_test(unbalanced_quotes_are_refused),
      cmocka_unit_test(fts5_operators_are_words),
      cmocka_unit_test(terms_without_letters_are_left_out_and_alone_refused),
      cmocka_unit_test(every_quote_inside_a_term_ends_it),
      cmocka_unit_test(control_characters_are_refused),
      cmocka_unit_test(non_ascii_is_literal),
      cmocka_unit_test(too_many_terms_or_bytes_are_refused),
      cmocka_unit_test(the_worst_case_fits_the_documented_bound),
      cmocka_unit_test(a_small_buffer_reports_the_size_needed),
      cmocka_unit_test(reads_the_query_string),
      cmocka_unit_test(refuses_bad_query_strings),
      cmocka_unit_test(a_room_asks_storage_with_the_safe_expression_and_the_viewers_blocks),
      cmocka_unit_test(a_private_rooms_search_is_its_members_and_a_bad_query_asks_nothing),
      cmocka_unit_test(the_search_across_rooms_reads_q_once_and_refuses_before),
      cmocka_unit_test(the_rooms_pages_merge_newest_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
