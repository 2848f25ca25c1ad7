/* Tests of a person's own account (account.h, api_account.c): client
 * descriptions and password changes. */
#include <stdio.h>

#include "account.h"
#include "api.h"
#include "auth.h"
#include "chat_error.h"
#include "test_util.h"

static unsigned char out[1 << 16];

static int call(int op, const char *in, const char *aux, size_t *n) {
  int rc = api_call(op, (const unsigned char *)in, in ? strlen(in) : 0, (const unsigned char *)aux,
                    aux ? strlen(aux) : 0, 0, out, sizeof out - 1, n);
  out[rc >= 0 ? *n : 0] = 0;
  return rc;
}

static const char *describe(const char *ua) {
  static char d[ACCOUNT_CLIENT_BYTES];
  size_t n = account_describe_client(ua, strlen(ua), d);
  assert_int_equal(n, strlen(d));
  return d;
}

static void a_client_is_described_by_browser_and_system_only(void **state) {
  (void)state;
  assert_string_equal(describe("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                      "Firefox on Linux");
  assert_string_equal(describe("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                               "Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"),
                      "Edge on Windows");
  assert_string_equal(describe("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
                               "like Gecko) Version/17.5 Safari/605.1.15"),
                      "Safari on macOS");
  assert_string_equal(describe("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                               "Gecko) Chrome/126.0 Mobile Safari/537.36"),
                      "Chrome on Android");
  assert_string_equal(describe("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                               "(KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1"),
                      "Chrome on iOS");
  assert_string_equal(describe("curl/8.5.0"), "curl");
  assert_string_equal(describe("node"), "Node.js");
  assert_string_equal(describe(""), "Unknown client");
  assert_string_equal(describe("my-phone-serial-123456 secret"), "Unknown client");
}

static void a_client_description_reads_only_the_first_bytes_of_the_header(void **state) {
  (void)state;
  char ua[4096];
  memset(ua, 'x', sizeof ua);
  memcpy(ua + CHAT_USER_AGENT_SCAN - 8, "Firefox/", 8); /* ends exactly at the edge */
  char d[ACCOUNT_CLIENT_BYTES];
  account_describe_client(ua, sizeof ua, d);
  assert_string_equal(d, "Firefox");
  memcpy(ua + CHAT_USER_AGENT_SCAN - 7, "Firefox/", 8); /* one byte past it */
  account_describe_client(ua, sizeof ua, d);
  assert_string_equal(d, "Unknown client");
  account_describe_client(NULL, 0, d);
  assert_string_equal(d, "Unknown client");
}

static void client_describe_answers_json(void **state) {
  (void)state;
  size_t n;
  assert_true(call(CHAT_OP_CLIENT_DESCRIBE, "Mozilla/5.0 (X11; CrOS x86_64) Chrome/126", NULL, &n) > 0);
  assert_string_equal((char *)out, "{\"client\":\"Chrome on ChromeOS\"}");
}


/* The display name's check as a string: its normal form, or the error's name. */
static const char *display(const char *name, size_t len) {
  static char out[ACCOUNT_DISPLAY_NAME_BYTES + 1];
  size_t n = 12345;
  int rc = account_check_display_name(name, len, out, &n);
  if (rc < 0) {
    assert_int_equal(n, 0);
    return chat_error_name(rc);
  }
  out[n] = 0;
  return out;
}
#define D(lit) display(S(lit))

static void a_display_name_is_unicode_text_in_nfkc_trimmed(void **state) {
  (void)state;
  assert_string_equal(D("Ada Lovelace"), "Ada Lovelace");
  assert_string_equal(D("  Zo\xc3\xab  "), "Zo\xc3\xab"); /* trimmed */
  assert_string_equal(D("Zoe\xcc\x88"), "Zo\xc3\xab"); /* NFD e + U+0308 composes */
  assert_string_equal(D("\xef\xbc\xaa\xef\xbd\x8f\xef\xbd\x85"), "Joe"); /* full-width */
  assert_string_equal(D("\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99"), "\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99"); /* CJK */
  assert_string_equal(D("\xd9\x85\xd8\xb1\xd9\x8a\xd9\x85"), "\xd9\x85\xd8\xb1\xd9\x8a\xd9\x85"); /* Arabic */
  /* an emoji family (ZWJ sequence) keeps its joiners */
  assert_string_equal(D("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"), "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7");
  /* the same normal form as a password: one spelling, one name */
  char pw[CHAT_PASSWORD_MAX];
  size_t pw_len;
  assert_int_equal(auth_normalize_password(S("\xef\xbc\xaa\xef\xbd\x8f\xef\xbd\x85 Zoe\xcc\x88"), pw, &pw_len), CHAT_OK);
  assert_memory_equal(pw, D("\xef\xbc\xaa\xef\xbd\x8f\xef\xbd\x85 Zoe\xcc\x88"), pw_len);
}

static void a_display_name_refuses_control_and_bidi_characters(void **state) {
  (void)state;
  static const char *refused[] = {
      "a\tb", "a\nb", "a\x7f" "b", "a\xc2\x85" "b",          /* Cc: tab, LF, DEL, NEL (C1) */
      "a\xe2\x80\xae" "b", "a\xe2\x80\xad" "b",               /* RLO, LRO */
      "a\xe2\x80\xaa" "b", "a\xe2\x80\xac" "b",               /* LRE, PDF */
      "a\xe2\x81\xa6" "b", "a\xe2\x81\xa9" "b",               /* LRI, PDI */
      "a\xe2\x80\x8f" "b", "a\xd8\x9c" "b",                   /* RLM, ALM */
      "a\xe2\x80\x8b" "b", "a\xef\xbb\xbf" "b",               /* ZWSP, BOM */
      "a\xe2\x80\xa8" "b", "a\xe2\x80\xa9" "b",               /* LS, PS */
      "a\xee\x80\x80" "b",                                   /* private use */
      "a\xf1\x90\x80\x80" "b",                              /* unassigned in Unicode 15.0 (U+50000) */
      "a\xff" "b", "a\xc0\xaf" "b", "a\xed\xa0\x80" "b",     /* not UTF-8 (overlong, surrogate) */
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    assert_string_equal(display(refused[i], strlen(refused[i])), "display_name_invalid");
  assert_string_equal(display("a\0b", 3), "display_name_invalid"); /* NUL */
  /* U+2474 PARENTHESIZED DIGIT ONE is allowed: its NFKC "(1)" has no control */
  assert_string_equal(D("\xe2\x91\xb4"), "(1)");
}

static void a_display_name_is_bounded_in_characters_at_its_edge(void **state) {
  (void)state;
  char name[4 * CHAT_DISPLAY_NAME_MAX + 8];
  for (int i = 0; i < CHAT_DISPLAY_NAME_MAX; i++) memcpy(name + 3 * i, "\xe6\x9d\x8e", 3);
  assert_string_not_equal(display(name, 3 * CHAT_DISPLAY_NAME_MAX), "display_name_too_long");
  memcpy(name + 3 * CHAT_DISPLAY_NAME_MAX, "\xe6\x9d\x8e", 3);
  assert_string_equal(display(name, 3 * (CHAT_DISPLAY_NAME_MAX + 1)), "display_name_too_long");
  /* trimmed spaces do not count */
  memset(name, ' ', 4);
  memset(name + 4, 'a', CHAT_DISPLAY_NAME_MAX);
  memset(name + 4 + CHAT_DISPLAY_NAME_MAX, ' ', 4);
  assert_int_equal(strlen(display(name, CHAT_DISPLAY_NAME_MAX + 8)), CHAT_DISPLAY_NAME_MAX);
  /* a character whose NFKC form is long: U+FDFA is 18 characters, too many at 4 */
  char lig[16];
  for (int i = 0; i < 4; i++) memcpy(lig + 3 * i, "\xef\xb7\xba", 3);
  assert_string_equal(display(lig, 12), "display_name_too_long");
  /* a huge input is refused in linear time, and a refused character still wins */
  static char huge[100000];
  memset(huge, 'a', sizeof huge);
  assert_string_equal(display(huge, sizeof huge), "display_name_too_long");
  memcpy(huge + sizeof huge - 3, "\xe2\x80\xae", 3);
  assert_string_equal(display(huge, sizeof huge), "display_name_invalid");
}

static void a_display_name_cannot_be_empty_or_only_spaces(void **state) {
  (void)state;
  assert_string_equal(display("", 0), "display_name_empty");
  assert_string_equal(D("   "), "display_name_empty");
  assert_string_equal(D("\xe3\x80\x80\xc2\xa0"), "display_name_empty"); /* ideographic space, NBSP */
}

static void profile_answers_the_normal_form_and_the_frame_for_the_rooms(void **state) {
  (void)state;
  size_t n;
  const char *me = "{\"id\":7,\"username\":\"zoe\"}";
  assert_true(call(CHAT_OP_PROFILE, "{\"display_name\":\" Zoe\\u0308 \"}", me, &n) > 0);
  assert_string_equal((char *)out,
                      "{\"display_name\":\"Zo\xc3\xab\",\"frame\":\"{\\\"type\\\":\\\"user_updated\\\",\\\"user\\\":"
                      "{\\\"id\\\":7,\\\"username\\\":\\\"zoe\\\",\\\"display_name\\\":\\\"Zo\xc3\xab\\\"}}\"}");
  assert_true(call(CHAT_OP_PROFILE, "{\"display_name\":null}", me, &n) > 0);
  assert_non_null(strstr((char *)out, "{\"display_name\":null,"));
  assert_int_equal(call(CHAT_OP_PROFILE, "{\"display_name\":\"a\\u202eb\"}", me, &n), CHAT_E_DISPLAY_NAME_INVALID);
  assert_int_equal(call(CHAT_OP_PROFILE, "{\"display_name\":3}", me, &n), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_PROFILE, "{}", me, &n), CHAT_E_FIELD_MISSING);
  for (long i = 0;; i++) { /* every allocation failure is out of memory, nothing else */
    fail_allocation_after(i);
    int rc = call(CHAT_OP_PROFILE, "{\"display_name\":\"Zoe\"}", me, &n);
    stop_failing_allocations();
    if (rc > 0) break;
    assert_int_equal(rc, CHAT_E_NOMEM);
  }
}

/* A stored hash of "old password 1" (NFKC form), made with cheap parameters. */
static char stored_aux[300];

static void a_new_password_obeys_the_signup_rules_before_anything_is_verified(void **state) {
  (void)state;
  size_t n;
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, "{\"current\":\"old password 1\",\"new\":\"short\"}", stored_aux, &n),
                   CHAT_E_PASSWORD_TOO_SHORT);
  /* the length rule is on the NFKC form: eight circled digits are "12345678" */
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE,
                        "{\"current\":\"x\",\"new\":\"\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa2\xe2\x91\xa3\"}", NULL, &n),
                   CHAT_E_PASSWORD_TOO_SHORT);
  assert_true(call(CHAT_OP_PASSWORD_CHANGE,
                   "{\"current\":\"x\",\"new\":\"\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa2\xe2\x91\xa3\xe2\x91\xa4"
                   "\xe2\x91\xa5\xe2\x91\xa6\xe2\x91\xa7\"}",
                   NULL, &n) > 0);
  assert_string_equal((char *)out, "{\"ok\":true}");
  char big[400] = "{\"current\":\"x\",\"new\":\"";
  memset(big + strlen(big), 'a', CHAT_PASSWORD_MAX + 1);
  strcpy(big + strlen("{\"current\":\"x\",\"new\":\"") + CHAT_PASSWORD_MAX + 1, "\"}");
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, big, NULL, &n), CHAT_E_PASSWORD_TOO_LONG);
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, "{\"current\":\"x\"}", NULL, &n), CHAT_E_FIELD_MISSING);
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, "{\"current\":1,\"new\":\"long enough\"}", NULL, &n),
                   CHAT_E_FIELD_TYPE);
}

static void a_wrong_current_password_is_refused_as_wrong_password(void **state) {
  (void)state;
  size_t n;
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, "{\"current\":\"old password 2\",\"new\":\"new password\"}",
                        stored_aux, &n),
                   CHAT_E_WRONG_PASSWORD);
  assert_string_equal(chat_error_name(CHAT_E_WRONG_PASSWORD), "wrong_password");
  assert_int_equal(chat_error_class_of(CHAT_E_WRONG_PASSWORD), CHAT_REFUSAL);
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, "{\"current\":\"old password 1\",\"new\":\"new password\"}",
                        "{\"password_nfkc\":true}", &n),
                   CHAT_E_FIELD_MISSING);
}

static void a_right_current_password_gives_a_hash_of_the_new_one_in_nfkc(void **state) {
  (void)state;
  size_t n;
  /* new typed as NFD; the hash verifies its NFC spelling: one password */
  assert_true(call(CHAT_OP_PASSWORD_CHANGE,
                   "{\"current\":\"old password 1\",\"new\":\"Cre\xcc\x80me-bru\xcc\x82le\xcc\x81" "e-9\"}",
                   stored_aux, &n) > 0);
  cJSON *res = cJSON_Parse((char *)out);
  const char *hash = cJSON_GetObjectItem(res, "password_hash")->valuestring;
  assert_non_null(strstr(hash, "$argon2id$v=19$m=19456,t=2,p=1$"));
  int rehash = 0;
  assert_int_equal(auth_verify_password(S("Cr\xc3\xa8me-br\xc3\xbbl\xc3\xa9" "e-9"), hash, auth_default_params(), &rehash),
                   CHAT_OK);
  cJSON_Delete(res);
}

static void a_legacy_hash_verifies_the_current_password_as_typed(void **state) {
  (void)state;
  char legacy[AUTH_HASH_STR_BYTES], aux[300];
  size_t n;
  auth_params cheap = {1, 8192};
  /* a hash of the full-width "ｏｌｄ" as typed (not its NFKC form "old") */
  assert_int_equal(auth_hash_password(S("\xef\xbd\x8f\xef\xbd\x8c\xef\xbd\x84 password"), cheap, legacy), CHAT_OK);
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\",\"password_nfkc\":false}", legacy);
  assert_true(call(CHAT_OP_PASSWORD_CHANGE,
                   "{\"current\":\"\xef\xbd\x8f\xef\xbd\x8c\xef\xbd\x84 password\",\"new\":\"new password\"}", aux, &n) > 0);
  assert_int_equal(call(CHAT_OP_PASSWORD_CHANGE, "{\"current\":\"old password\",\"new\":\"new password\"}", aux, &n),
                   CHAT_E_WRONG_PASSWORD);
}

static void deletion_needs_the_right_password(void **state) {
  (void)state;
  size_t n;
  char aux[400];
  snprintf(aux, sizeof aux, "%.*s,\"user\":{\"id\":9}}", (int)strlen(stored_aux) - 1, stored_aux);
  assert_int_equal(call(CHAT_OP_ACCOUNT_DELETE, "{\"password\":\"old password 2\"}", aux, &n), CHAT_E_WRONG_PASSWORD);
  assert_int_equal(call(CHAT_OP_ACCOUNT_DELETE, "{}", aux, &n), CHAT_E_FIELD_MISSING);
  assert_true(call(CHAT_OP_ACCOUNT_DELETE, "{\"password\":\"anything\"}", NULL, &n) > 0); /* check only */
  assert_string_equal((char *)out, "{\"ok\":true}");
  /* a deleted account's hash (what revoke_sessions stores) verifies nothing */
  assert_int_equal(call(CHAT_OP_ACCOUNT_DELETE, "{\"password\":\"old password 1\"}",
                        "{\"password_hash\":\"!deleted\",\"user\":{\"id\":9}}", &n),
                   CHAT_E_WRONG_PASSWORD);
}

static void deletion_stops_new_work_then_open_sockets_then_erases_and_tombstones_last(void **state) {
  (void)state;
  size_t n;
  char aux[400];
  snprintf(aux, sizeof aux, "%.*s,\"user\":{\"id\":9}}", (int)strlen(stored_aux) - 1, stored_aux);
  int rc = api_call(CHAT_OP_ACCOUNT_DELETE, (const unsigned char *)S("{\"password\":\"old password 1\"}"),
                    (const unsigned char *)aux, strlen(aux), 1000, out, sizeof out - 1, &n);
  assert_true(rc > 0);
  out[n] = 0;
  /* The order is the rule (account.h): sessions first (nothing new starts), then
   * sockets (nothing open writes), then the messages (nothing arrives after),
   * relations and presence, and the account's row last. */
  assert_string_equal((char *)out,
                      "{\"steps\":[\"revoke_sessions\",\"close_sockets\",\"erase_messages\",\"remove_relations\","
                      "\"remove_presence\",\"tombstone_account\"],\"tombstone\":\"deleted account\","
                      "\"release_at\":2592001000}");
  /* The username is kept 30 days: as long as a session lives. */
  assert_true(CHAT_USERNAME_RELEASE_MS >= CHAT_SESSION_TTL_MS);
  for (long i = 0;; i++) { /* every allocation failure is out of memory, nothing else */
    fail_allocation_after(i);
    rc = api_call(CHAT_OP_ACCOUNT_DELETE, (const unsigned char *)S("{\"password\":\"old password 1\"}"),
                  (const unsigned char *)aux, strlen(aux), 1000, out, sizeof out - 1, &n);
    stop_failing_allocations();
    if (rc > 0) break;
    assert_int_equal(rc, CHAT_E_NOMEM);
  }
}

static int setup(void **state) {
  (void)state;
  if (api_init() != CHAT_OK) return -1;
  char hash[AUTH_HASH_STR_BYTES];
  auth_params cheap = {1, 8192};
  if (auth_hash_password(S("old password 1"), cheap, hash) != CHAT_OK) return -1;
  snprintf(stored_aux, sizeof stored_aux, "{\"password_hash\":\"%s\",\"password_nfkc\":true}", hash);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_client_is_described_by_browser_and_system_only),
      cmocka_unit_test(a_client_description_reads_only_the_first_bytes_of_the_header),
      cmocka_unit_test(client_describe_answers_json),
      cmocka_unit_test(a_display_name_is_unicode_text_in_nfkc_trimmed),
      cmocka_unit_test(a_display_name_refuses_control_and_bidi_characters),
      cmocka_unit_test(a_display_name_is_bounded_in_characters_at_its_edge),
      cmocka_unit_test(a_display_name_cannot_be_empty_or_only_spaces),
      cmocka_unit_test(profile_answers_the_normal_form_and_the_frame_for_the_rooms),
      cmocka_unit_test(deletion_needs_the_right_password),
      cmocka_unit_test(deletion_stops_new_work_then_open_sockets_then_erases_and_tombstones_last),
      cmocka_unit_test(a_new_password_obeys_the_signup_rules_before_anything_is_verified),
      cmocka_unit_test(a_wrong_current_password_is_refused_as_wrong_password),
      cmocka_unit_test(a_right_current_password_gives_a_hash_of_the_new_one_in_nfkc),
      cmocka_unit_test(a_legacy_hash_verifies_the_current_password_as_typed),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
