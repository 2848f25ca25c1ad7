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
      cmocka_unit_test(a_new_password_obeys_the_signup_rules_before_anything_is_verified),
      cmocka_unit_test(a_wrong_current_password_is_refused_as_wrong_password),
      cmocka_unit_test(a_right_current_password_gives_a_hash_of_the_new_one_in_nfkc),
      cmocka_unit_test(a_legacy_hash_verifies_the_current_password_as_typed),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
