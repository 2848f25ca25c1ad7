/* json_in: what RFC 8259 refuses in strings is bad_json, never a shorter string.
 * The same inputs run through the Wasm build as golden vectors (tests/golden/core.json). */
#include "chat_error.h"
#include "json_in.h"
#include "test_util.h"

/* Parses text (a JSON object) and returns the error, or CHAT_OK after checking that
 * member "s" is the string want (want_len bytes). */
static int parse(const char *text, size_t len, const char *want, size_t want_len) {
  cJSON *o = NULL;
  int rc = json_parse_object((const unsigned char *)text, len, &o);
  if (rc < 0) {
    assert_null(o);
    return rc;
  }
  const char *s;
  size_t n;
  assert_int_equal(json_get_string(o, "s", &s, &n), CHAT_OK);
  assert_int_equal(n, want_len);
  assert_memory_equal(s, want, n);
  cJSON_Delete(o);
  return rc;
}

#define REFUSED(lit) assert_int_equal(parse(S(lit), NULL, 0), CHAT_E_BAD_JSON)
#define READS(lit, want) assert_int_equal(parse(S(lit), S(want)), CHAT_OK)

static void a_u_escape_with_a_non_hex_first_digit_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"Correct-H\\uX000aaaa\"}"); /* cJSON 1.7.15 reads "Correct-H" */
}

static void a_u_escape_with_a_non_hex_third_digit_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"visible\\u00G0hidden\"}");
}

static void a_u_escape_of_no_hex_digit_at_all_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"visible\\uzzzzhidden\"}");
}

static void a_u_escape_with_a_non_hex_second_digit_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"visible\\u0X41hidden\"}");
}

static void a_u_escape_with_fewer_than_four_digits_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"ab\\u41\"}");
  REFUSED("{\"s\":\"ab\\u041\"}");
  REFUSED("{\"s\":\"ab\\u\"}");
  REFUSED("{\"s\":\"ab\\u004");          /* the input ends inside the escape */
  REFUSED("{\"s\":\"ab\\");
}

static void a_u_escape_of_a_sign_or_space_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"a\\u+041b\"}"); /* strtol-style readers would take these */
  REFUSED("{\"s\":\"a\\u-041b\"}");
  REFUSED("{\"s\":\"a\\u 041b\"}");
  REFUSED("{\"s\":\"a\\u0x41b\"}");
}

static void an_escape_rfc_8259_does_not_list_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"a\\qb\"}");
  REFUSED("{\"s\":\"a\\x41b\"}");
  REFUSED("{\"s\":\"a\\U0041b\"}");
  REFUSED("{\"s\":\"a\\'b\"}");
  REFUSED("{\"s\":\"a\\0b\"}");
  REFUSED("{\"s\":\"a\\\xc3\xa9" "b\"}"); /* a backslash before a multibyte character */
}

static void a_u0000_escape_is_bad_json_in_any_spelling(void **state) {
  (void)state;
  REFUSED("{\"s\":\"pass\\u0000x\"}");
  REFUSED("{\"s\":\"pass\\u0000\"}");
}

static void a_lone_low_surrogate_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"a\\udc00b\"}");
  REFUSED("{\"s\":\"a\\uDFFF\"}");
}

static void a_high_surrogate_without_a_low_one_after_it_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"a\\ud800b\"}");
  REFUSED("{\"s\":\"a\\ud800\"}");
  REFUSED("{\"s\":\"a\\ud800\\u0041\"}");
  REFUSED("{\"s\":\"a\\ud800\\ud800\"}");
  REFUSED("{\"s\":\"a\\ud800\\n\"}");
  REFUSED("{\"s\":\"a\\ud800\\udX00\"}");
  REFUSED("{\"s\":\"a\\uDBFF\\u");
}

static void a_malformed_escape_in_a_member_name_or_nested_value_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\\uX000t\":\"x\"}");
  REFUSED("{\"s\":\"ok\",\"deep\":{\"a\":[\"\\u00G0\"]}}");
}

static void every_escape_rfc_8259_lists_is_read(void **state) {
  (void)state;
  READS("{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}", "\" \\ / \b \f \n \r \t");
  READS("{\"s\":\"caf\\u00e9 caf\\u00E9 \\u20AC\"}", "caf\xc3\xa9 caf\xc3\xa9 \xe2\x82\xac");
  READS("{\"s\":\"\\uD83D\\uDE00!\"}", "\xf0\x9f\x98\x80!"); /* a surrogate pair: U+1F600 */
  READS("{\"s\":\"\\udbff\\udfff\"}", "\xf4\x8f\xbf\xbf");   /* U+10FFFF */
  READS("{\"s\":\"\\u0001\\uFFFF\"}", "\x01\xef\xbf\xbf");
}

static void an_escaped_backslash_before_u_is_plain_text(void **state) {
  (void)state;
  READS("{\"s\":\"a\\\\uX000\"}", "a\\uX000");
  READS("{\"s\":\"a\\\\\\u0041\"}", "a\\A");
}

static void escapes_outside_strings_are_left_to_cjson(void **state) {
  (void)state;
  REFUSED("{\"s\":\"x\"}\\u0041");
  REFUSED("{\\u0022s\":\"x\"}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_u_escape_with_a_non_hex_first_digit_is_bad_json),
      cmocka_unit_test(a_u_escape_with_a_non_hex_third_digit_is_bad_json),
      cmocka_unit_test(a_u_escape_of_no_hex_digit_at_all_is_bad_json),
      cmocka_unit_test(a_u_escape_with_a_non_hex_second_digit_is_bad_json),
      cmocka_unit_test(a_u_escape_with_fewer_than_four_digits_is_bad_json),
      cmocka_unit_test(a_u_escape_of_a_sign_or_space_is_bad_json),
      cmocka_unit_test(an_escape_rfc_8259_does_not_list_is_bad_json),
      cmocka_unit_test(a_u0000_escape_is_bad_json_in_any_spelling),
      cmocka_unit_test(a_lone_low_surrogate_is_bad_json),
      cmocka_unit_test(a_high_surrogate_without_a_low_one_after_it_is_bad_json),
      cmocka_unit_test(a_malformed_escape_in_a_member_name_or_nested_value_is_bad_json),
      cmocka_unit_test(every_escape_rfc_8259_lists_is_read),
      cmocka_unit_test(an_escaped_backslash_before_u_is_plain_text),
      cmocka_unit_test(escapes_outside_strings_are_left_to_cjson),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
