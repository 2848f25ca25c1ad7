#include "test_util.h"
#include "utf8.h"

static int valid(const char *s, size_t n) { return utf8_valid((const unsigned char *)s, n); }

static void accepts_ascii_and_multibyte_text(void **state) {
  (void)state;
  assert_true(valid(S("")));
  assert_true(valid(S("hello")));
  assert_true(valid(S("h\xc3\xa9llo")));                /* é */
  assert_true(valid(S("\xe2\x82\xac")));                /* € */
  assert_true(valid(S("\xf0\x9f\x98\x80")));            /* 😀 */
  assert_true(valid(S("\xf4\x8f\xbf\xbf")));            /* U+10FFFF */
  assert_true(valid(S("\xed\x9f\xbf")));                /* U+D7FF, last before surrogates */
}

static void rejects_overlong_forms(void **state) {
  (void)state;
  assert_false(valid(S("\xc0\xaf")));
  assert_false(valid(S("\xc1\xbf")));
  assert_false(valid(S("\xe0\x80\xaf")));
  assert_false(valid(S("\xf0\x80\x80\xaf")));
}

static void rejects_surrogates_and_code_points_above_10ffff(void **state) {
  (void)state;
  assert_false(valid(S("\xed\xa0\x80")));     /* U+D800 */
  assert_false(valid(S("\xed\xbf\xbf")));     /* U+DFFF */
  assert_false(valid(S("\xf4\x90\x80\x80"))); /* U+110000 */
  assert_false(valid(S("\xf5\x80\x80\x80")));
  assert_false(valid(S("\xff")));
}

static void rejects_sequences_cut_at_the_end_of_the_buffer(void **state) {
  (void)state;
  const char euro[] = "\xe2\x82\xac";
  assert_false(valid(euro, 1));
  assert_false(valid(euro, 2));
  assert_true(valid(euro, 3));
  assert_false(valid(S("ab\xf0\x9f\x98")));
  assert_false(valid(S("\x80"))); /* lone continuation byte */
}

static void counts_code_points(void **state) {
  (void)state;
  assert_int_equal(utf8_count((const unsigned char *)"h\xc3\xa9\xf0\x9f\x98\x80", 7), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(accepts_ascii_and_multibyte_text),
      cmocka_unit_test(rejects_overlong_forms),
      cmocka_unit_test(rejects_surrogates_and_code_points_above_10ffff),
      cmocka_unit_test(rejects_sequences_cut_at_the_end_of_the_buffer),
      cmocka_unit_test(counts_code_points),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
