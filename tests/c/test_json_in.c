/* json_in: what RFC 8259 refuses in strings is bad_json, never a shorter string;
 * so is a document past a limit of chat_limits.h (members per object, nesting
 * depth, name length), each tested at its edge. The string cases run through the
 * Wasm build as golden vectors too (tests/golden/core.json). */
#include <stdio.h>

#include "chat_error.h"
#include "chat_limits.h"
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

/* ---- limits (chat_limits.h): each holds at its edge and refuses one past it ---- */

static int parse_rc(const char *text, size_t len) {
  cJSON *o = NULL;
  int rc = json_parse_object((const unsigned char *)text, len, &o);
  if (rc < 0) assert_null(o);
  cJSON_Delete(o);
  return rc;
}

static char doc[1 << 16];

/* {"k0":0,"k1":1,...} with n members, nested as the value of member "o" of an
 * outer object when nested is set. */
static size_t object_of(size_t n, int nested) {
  size_t len = 0;
  len += (size_t)snprintf(doc + len, sizeof doc - len, nested ? "{\"type\":\"ping\",\"o\":{" : "{");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(doc + len, sizeof doc - len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
  len += (size_t)snprintf(doc + len, sizeof doc - len, nested ? "}}" : "}");
  return len;
}

static void an_object_of_32_members_is_read_and_one_of_33_is_bad_json(void **state) {
  (void)state;
  assert_int_equal(CHAT_JSON_MEMBERS_MAX, 32);
  assert_int_equal(parse_rc(doc, object_of(CHAT_JSON_MEMBERS_MAX, 0)), CHAT_OK);
  assert_int_equal(parse_rc(doc, object_of(CHAT_JSON_MEMBERS_MAX + 1, 0)), CHAT_E_BAD_JSON);
}

static void a_nested_object_of_33_members_is_bad_json(void **state) {
  (void)state;
  assert_int_equal(parse_rc(doc, object_of(CHAT_JSON_MEMBERS_MAX, 1)), CHAT_OK);
  assert_int_equal(parse_rc(doc, object_of(CHAT_JSON_MEMBERS_MAX + 1, 1)), CHAT_E_BAD_JSON);
}

static void an_array_of_many_elements_is_not_limited_by_the_member_count(void **state) {
  (void)state;
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"blocks\":[");
  for (int i = 0; i < 1000; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "%s%d", i ? "," : "", i);
  len += (size_t)snprintf(doc + len, sizeof doc - len, "]}");
  assert_int_equal(parse_rc(doc, len), CHAT_OK);
}

/* An object holding `levels` levels in all: {"a":[{"a":[...]}]}, innermost {}. */
static size_t nested_to(size_t levels) {
  size_t len = 0;
  for (size_t i = 1; i < levels; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, i % 2 ? "{\"a\":" : "[");
  len += (size_t)snprintf(doc + len, sizeof doc - len, levels % 2 ? "{}" : "[]");
  for (size_t i = levels - 1; i >= 1; i--) len += (size_t)snprintf(doc + len, sizeof doc - len, i % 2 ? "}" : "]");
  return len;
}

static void sixteen_levels_of_nesting_are_read_and_seventeen_are_bad_json(void **state) {
  (void)state;
  assert_int_equal(CHAT_JSON_DEPTH_MAX, 16);
  assert_int_equal(parse_rc(doc, nested_to(CHAT_JSON_DEPTH_MAX)), CHAT_OK);
  assert_int_equal(parse_rc(doc, nested_to(CHAT_JSON_DEPTH_MAX + 1)), CHAT_E_BAD_JSON);
  assert_int_equal(parse_rc(doc, nested_to(CHAT_JSON_DEPTH_MAX - 1)), CHAT_OK);
}

static void brackets_inside_strings_are_not_nesting(void **state) {
  (void)state;
  READS("{\"s\":\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{\"}", "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{");
}

static void many_sibling_arrays_are_one_level_of_nesting(void **state) {
  (void)state;
  /* depth counts open levels, not brackets seen: many siblings at depth 2 are fine */
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"a\":[");
  for (int i = 0; i < 100; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "%s[]", i ? "," : "");
  len += (size_t)snprintf(doc + len, sizeof doc - len, "]}");
  assert_int_equal(parse_rc(doc, len), CHAT_OK);
}

/* {"<name>":1,"s":"x"} with a name of n bytes: `unit` (its bytes once read: ulen)
 * repeated, written as `spelled`. */
static size_t named(size_t n, const char *spelled, size_t ulen) {
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"");
  for (size_t i = 0; i < n / ulen; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "%s", spelled);
  len += (size_t)snprintf(doc + len, sizeof doc - len, "\":1,\"s\":\"x\"}");
  return len;
}

static void a_member_name_of_64_bytes_is_read_and_one_of_65_is_bad_json(void **state) {
  (void)state;
  assert_int_equal(CHAT_JSON_KEY_MAX, 64);
  assert_int_equal(parse_rc(doc, named(CHAT_JSON_KEY_MAX, "n", 1)), CHAT_OK);
  assert_int_equal(parse_rc(doc, named(CHAT_JSON_KEY_MAX + 1, "n", 1)), CHAT_E_BAD_JSON);
}

static void a_member_name_is_measured_in_bytes_once_its_escapes_are_read(void **state) {
  (void)state;
  /* U+00E9 is 2 bytes of UTF-8 and 6 bytes as an escape: 32 of them are 64 bytes */
  assert_int_equal(parse_rc(doc, named(CHAT_JSON_KEY_MAX, "\\u00e9", 2)), CHAT_OK);
  assert_int_equal(parse_rc(doc, named(CHAT_JSON_KEY_MAX + 2, "\\u00e9", 2)), CHAT_E_BAD_JSON);
  assert_int_equal(parse_rc(doc, named(CHAT_JSON_KEY_MAX, "\xc3\xa9", 2)), CHAT_OK);
  assert_int_equal(parse_rc(doc, named(CHAT_JSON_KEY_MAX + 2, "\xc3\xa9", 2)), CHAT_E_BAD_JSON);
}

static void a_long_name_in_a_nested_object_is_bad_json(void **state) {
  (void)state;
  char name[CHAT_JSON_KEY_MAX + 2];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = 0;
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"s\":\"x\",\"o\":[{\"%s\":1}]}", name);
  assert_int_equal(parse_rc(doc, len), CHAT_E_BAD_JSON);
  name[CHAT_JSON_KEY_MAX] = 0;
  len = (size_t)snprintf(doc, sizeof doc, "{\"s\":\"x\",\"o\":[{\"%s\":1}]}", name);
  assert_int_equal(parse_rc(doc, len), CHAT_OK);
}

static void a_duplicate_name_in_a_nested_object_is_bad_json(void **state) {
  (void)state;
  REFUSED("{\"s\":\"x\",\"s\":\"y\"}");
  REFUSED("{\"s\":\"x\",\"o\":{\"a\":1,\"b\":2,\"a\":3}}");
  REFUSED("{\"s\":\"x\",\"o\":[1,{\"a\":1,\"a\":1}]}");
  REFUSED("{\"s\":\"x\",\"o\":{\"\\u0061\":1,\"a\":2}}"); /* the same name, spelled twice */
  READS("{\"s\":\"x\",\"o\":{\"a\":1},\"p\":{\"a\":1}}", "x"); /* one name in two objects */
}

/* {"s":"x", 30 names of 64 bytes sharing a 63-byte prefix, then `extra`}. */
static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static size_t prefixed_names(const char *extra) {
  char prefix[CHAT_JSON_KEY_MAX];
  memset(prefix, 'p', sizeof prefix - 1);
  prefix[sizeof prefix - 1] = 0;
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"s\":\"x\"");
  for (int i = 0; i < 30; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, ",\"%s%c\":%d", prefix, letters[i], i);
  if (extra) len += (size_t)snprintf(doc + len, sizeof doc - len, ",\"%s%s\":0", prefix, extra);
  return len + (size_t)snprintf(doc + len, sizeof doc - len, "}");
}

static void names_that_differ_only_in_their_last_byte_are_not_duplicates(void **state) {
  (void)state;
  assert_int_equal(parse(doc, prefixed_names(NULL), "x", 1), CHAT_OK);
  assert_int_equal(parse(doc, prefixed_names("z"), "x", 1), CHAT_OK);
  assert_int_equal(parse_rc(doc, prefixed_names("A")), CHAT_E_BAD_JSON); /* the first, again */
  assert_int_equal(parse_rc(doc, prefixed_names("\\u0041")), CHAT_E_BAD_JSON);
}

/* The frame of issue 13: a 32 KiB ping with about 4 100 keys, which took 67 ms to
 * read when duplicates were looked for among every pair of names. */
static void a_32_kib_ping_of_4100_keys_is_bad_json(void **state) {
  (void)state;
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"type\":\"ping\"");
  for (int i = 0; len < CHAT_FRAME_MAX - 16; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, ",\"%d\":0", i);
  len += (size_t)snprintf(doc + len, sizeof doc - len, "}");
  assert_true(len <= CHAT_FRAME_MAX);
  assert_int_equal(parse_rc(doc, len), CHAT_E_BAD_JSON);
}

/* The costliest frame still read: as many objects of 32 members as fit, each in
 * its own level of an array, every name 64 bytes and sharing a 63-byte prefix. */
static void a_32_kib_frame_of_full_objects_with_the_longest_names_is_read(void **state) {
  (void)state;
  char prefix[CHAT_JSON_KEY_MAX];
  memset(prefix, 'p', sizeof prefix - 1);
  prefix[sizeof prefix - 1] = 0;
  size_t len = (size_t)snprintf(doc, sizeof doc, "{\"s\":\"x\",\"o\":[");
  int objects = 0;
  while (len + 2 + CHAT_JSON_MEMBERS_MAX * (CHAT_JSON_KEY_MAX + 6) + 4 < CHAT_FRAME_MAX) {
    len += (size_t)snprintf(doc + len, sizeof doc - len, "%s{", objects++ ? "," : "");
    for (int i = 0; i < CHAT_JSON_MEMBERS_MAX; i++)
      len += (size_t)snprintf(doc + len, sizeof doc - len, "%s\"%s%c\":0", i ? "," : "", prefix, letters[i]);
    len += (size_t)snprintf(doc + len, sizeof doc - len, "}");
  }
  len += (size_t)snprintf(doc + len, sizeof doc - len, "]}");
  assert_true(len <= CHAT_FRAME_MAX);
  assert_true(objects >= 10);
  assert_int_equal(parse(doc, len, "x", 1), CHAT_OK);
}

/* Parses a whole document; the error, or CHAT_OK. */
static int parse_doc(const char *text, size_t len) {
  cJSON *o = NULL;
  int rc = json_parse_object((const unsigned char *)text, len, &o);
  cJSON_Delete(o);
  return rc;
}

static void a_control_byte_outside_strings_is_bad_json_but_json_whitespace_is_read(void **state) {
  (void)state;
  /* cJSON skips every byte up to 0x20 as whitespace, NUL included */
  assert_int_equal(parse_doc(S("{\x01\"s\":\"x\"}")), CHAT_E_BAD_JSON);
  assert_int_equal(parse_doc(S("{\"s\":\"x\"\x00}")), CHAT_E_BAD_JSON);
  assert_int_equal(parse_doc(S("{\"s\":\"x\"}\x0b")), CHAT_E_BAD_JSON);
  assert_int_equal(parse_doc(S("{\"s\"\x1f:\"x\"}")), CHAT_E_BAD_JSON);
  assert_int_equal(parse_doc(S(" \t\r\n{ \t\r\n\"s\" \t\r\n: \"x\" \t\r\n} \n")), CHAT_OK);
}

static void a_number_outside_rfc_8259s_grammar_is_bad_json(void **state) {
  (void)state;
  static const char *const bad[] = {"01", "-01", "1.", "-", "1e", "1e+", "1.5.2", ".5", "+1", "00", "1x",
                                    "0x10", "1E", "-.5", "1..2", "2-1", "Infinity", "NaN"};
  static const char *const good[] = {"0", "-0", "1", "10", "-12", "1.5", "0.5", "1e5", "1E+2", "1e-2",
                                     "-0.0e-1", "123456789012345"};
  char doc[64];
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int n = snprintf(doc, sizeof doc, "{\"n\":%s}", bad[i]);
    if (parse_doc(doc, (size_t)n) != CHAT_E_BAD_JSON) fail_msg("%s was read", bad[i]);
  }
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    int n = snprintf(doc, sizeof doc, "{\"n\":[%s, %s ],\"m\":%s}", good[i], good[i], good[i]);
    if (parse_doc(doc, (size_t)n) != CHAT_OK) fail_msg("%s was refused", good[i]);
  }
  /* digits inside strings are text */
  assert_int_equal(parse_doc(S("{\"01\":\"1.\"}")), CHAT_OK);
}


/* wasm/deps/cjson-print-integers.patch prints integers with "%lld": the text must be
 * what cJSON 1.7.15 printed unpatched ("%1.15g", kept when it reads back within
 * cJSON's epsilon), on both sides of the patch's bounds: -0, 1e15 and the largest
 * safe integer, which cJSON itself rounds. */
static void numbers_print_as_cjson_printed_them_before_the_integer_patch(void **state) {
  (void)state;
  const struct { double d; const char *text; } cases[] = {
      {0, "0"}, {-0.0, "-0"}, {1, "1"}, {-1, "-1"}, {42, "42"}, {1789000000123.0, "1789000000123"},
      {999999999999999.0, "999999999999999"}, {-999999999999999.0, "-999999999999999"},
      {1e15, "1e+15"}, {9007199254740991.0, "9.00719925474099e+15"}, {0.5, "0.5"}, {-2.25, "-2.25"},
      {0.1, "0.1"}, {123456.789, "123456.789"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cJSON *n = cJSON_CreateNumber(cases[i].d);
    char *text = cJSON_PrintUnformatted(n);
    assert_string_equal(text, cases[i].text);
    cJSON_free(text);
    cJSON_Delete(n);
  }
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
      cmocka_unit_test(a_control_byte_outside_strings_is_bad_json_but_json_whitespace_is_read),
      cmocka_unit_test(a_number_outside_rfc_8259s_grammar_is_bad_json),
      cmocka_unit_test(an_escaped_backslash_before_u_is_plain_text),
      cmocka_unit_test(escapes_outside_strings_are_left_to_cjson),
      cmocka_unit_test(an_object_of_32_members_is_read_and_one_of_33_is_bad_json),
      cmocka_unit_test(a_nested_object_of_33_members_is_bad_json),
      cmocka_unit_test(an_array_of_many_elements_is_not_limited_by_the_member_count),
      cmocka_unit_test(sixteen_levels_of_nesting_are_read_and_seventeen_are_bad_json),
      cmocka_unit_test(brackets_inside_strings_are_not_nesting),
      cmocka_unit_test(many_sibling_arrays_are_one_level_of_nesting),
      cmocka_unit_test(a_member_name_of_64_bytes_is_read_and_one_of_65_is_bad_json),
      cmocka_unit_test(a_member_name_is_measured_in_bytes_once_its_escapes_are_read),
      cmocka_unit_test(a_long_name_in_a_nested_object_is_bad_json),
      cmocka_unit_test(a_duplicate_name_in_a_nested_object_is_bad_json),
      cmocka_unit_test(names_that_differ_only_in_their_last_byte_are_not_duplicates),
      cmocka_unit_test(a_32_kib_ping_of_4100_keys_is_bad_json),
      cmocka_unit_test(a_32_kib_frame_of_full_objects_with_the_longest_names_is_read),
      cmocka_unit_test(numbers_print_as_cjson_printed_them_before_the_integer_patch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
