#include <sodium.h>

#include "auth.h"
#include "chat_error.h"
#include "test_util.h"

static const auth_params cheap = {1, 8192}; /* fast argon2id for tests */

static void username_rules_hold_at_their_boundaries(void **state) {
  (void)state;
  char key[CHAT_USERNAME_MAX + 1];
  assert_int_equal(auth_check_username(S("ab"), key), CHAT_E_USERNAME_TOO_SHORT);
  assert_int_equal(auth_check_username(S(""), key), CHAT_E_USERNAME_TOO_SHORT);
  assert_int_equal(auth_check_username(S("abc"), key), CHAT_OK);
  assert_int_equal(auth_check_username(S("abcdefghijklmnopqrstuvwxyz012345"), key), CHAT_OK);
  assert_int_equal(auth_check_username(S("abcdefghijklmnopqrstuvwxyz0123456"), key),
                   CHAT_E_USERNAME_TOO_LONG);
}

static void username_allows_only_letters_digits_underscore_dash_dot(void **state) {
  (void)state;
  char key[CHAT_USERNAME_MAX + 1];
  assert_int_equal(auth_check_username(S("a_b-c.D9"), key), CHAT_OK);
  assert_int_equal(auth_check_username(S("a b"), key), CHAT_E_USERNAME_CHARS);
  assert_int_equal(auth_check_username(S("al@ce"), key), CHAT_E_USERNAME_CHARS);
  assert_int_equal(auth_check_username(S("h\xc3\xa9llo"), key), CHAT_E_USERNAME_CHARS);
  assert_int_equal(auth_check_username("ab\0cd", 5, key), CHAT_E_USERNAME_CHARS);
}

static void username_key_is_lowercase_so_uniqueness_ignores_case(void **state) {
  (void)state;
  char a[CHAT_USERNAME_MAX + 1], b[CHAT_USERNAME_MAX + 1];
  assert_int_equal(auth_check_username(S("Alice.Smith"), a), CHAT_OK);
  assert_int_equal(auth_check_username(S("aLICE.sMITH"), b), CHAT_OK);
  assert_string_equal(a, "alice.smith");
  assert_string_equal(a, b);
}

static void password_rules_count_bytes_and_require_utf8(void **state) {
  (void)state;
  char big[CHAT_PASSWORD_MAX + 1];
  memset(big, 'x', sizeof big);
  assert_int_equal(auth_check_password(S("1234567")), CHAT_E_PASSWORD_TOO_SHORT);
  assert_int_equal(auth_check_password(S("12345678")), CHAT_OK);
  assert_int_equal(auth_check_password(big, CHAT_PASSWORD_MAX), CHAT_OK);
  assert_int_equal(auth_check_password(big, CHAT_PASSWORD_MAX + 1), CHAT_E_PASSWORD_TOO_LONG);
  /* four 2-byte characters are 8 bytes: long enough */
  assert_int_equal(auth_check_password(S("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9")), CHAT_OK);
  assert_int_equal(auth_check_password(S("abcdefg\xff")), CHAT_E_PASSWORD_UTF8);
  assert_int_equal(auth_check_password("abcd\0efgh", 9), CHAT_E_PASSWORD_UTF8);
}

static void hash_then_verify_accepts_the_password_and_rejects_others(void **state) {
  (void)state;
  char h[AUTH_HASH_STR_BYTES];
  int rehash = -1;
  assert_int_equal(auth_hash_password(S("correct horse"), cheap, h), CHAT_OK);
  assert_true(strncmp(h, "$argon2id$", 10) == 0);
  assert_int_equal(auth_verify_password(S("correct horse"), h, cheap, &rehash), CHAT_OK);
  assert_int_equal(rehash, 0);
  assert_int_equal(auth_verify_password(S("correct horsf"), h, cheap, &rehash),
                   CHAT_E_BAD_CREDENTIALS);
}

static void two_hashes_of_one_password_have_different_salts(void **state) {
  (void)state;
  char a[AUTH_HASH_STR_BYTES], b[AUTH_HASH_STR_BYTES];
  assert_int_equal(auth_hash_password(S("same password"), cheap, a), CHAT_OK);
  assert_int_equal(auth_hash_password(S("same password"), cheap, b), CHAT_OK);
  assert_string_not_equal(a, b);
}

static void verify_asks_for_rehash_when_parameters_changed(void **state) {
  (void)state;
  char h[AUTH_HASH_STR_BYTES];
  int rehash = 0;
  assert_int_equal(auth_hash_password(S("old parameters"), cheap, h), CHAT_OK);
  assert_int_equal(auth_verify_password(S("old parameters"), h, auth_default_params(), &rehash),
                   CHAT_OK);
  assert_int_equal(rehash, 1);
}

static void unknown_user_fails_like_a_wrong_password(void **state) {
  (void)state;
  int rehash = 0;
  assert_int_equal(auth_verify_password(S("whatever123"), NULL, cheap, &rehash),
                   CHAT_E_BAD_CREDENTIALS);
  assert_int_equal(auth_verify_password(S("whatever123"), "not a hash", cheap, &rehash),
                   CHAT_E_BAD_CREDENTIALS);
}

static void dummy_hash_uses_the_production_parameters(void **state) {
  (void)state;
  auth_params p = auth_default_params();
  assert_int_equal(crypto_pwhash_str_needs_rehash(auth_dummy_hash(), p.opslimit, p.memlimit), 0);
}

static void production_hash_uses_owasp_argon2id_parameters(void **state) {
  (void)state;
  char h[AUTH_HASH_STR_BYTES];
  int rehash = 1;
  assert_int_equal(auth_hash_password(S("production cost"), auth_default_params(), h), CHAT_OK);
  assert_non_null(strstr(h, "$m=19456,t=2,p=1$"));
  assert_int_equal(auth_verify_password(S("production cost"), h, auth_default_params(), &rehash),
                   CHAT_OK);
  assert_int_equal(rehash, 0);
}

static void tokens_are_random_and_their_hash_is_what_bearer_parsing_yields(void **state) {
  (void)state;
  char t1[AUTH_TOKEN_STR_BYTES], h1[AUTH_TOKEN_HASH_HEX_BYTES];
  char t2[AUTH_TOKEN_STR_BYTES], h2[AUTH_TOKEN_HASH_HEX_BYTES];
  char hdr[64], parsed[AUTH_TOKEN_HASH_HEX_BYTES];
  assert_int_equal(auth_new_token(t1, h1), CHAT_OK);
  assert_int_equal(auth_new_token(t2, h2), CHAT_OK);
  assert_int_equal(strlen(t1), CHAT_SESSION_TOKEN_CHARS);
  assert_int_equal(strlen(h1), 64);
  assert_string_not_equal(t1, t2);
  assert_string_not_equal(h1, h2);
  snprintf(hdr, sizeof hdr, "Bearer %s", t1);
  assert_int_equal(auth_parse_bearer(hdr, strlen(hdr), parsed), CHAT_OK);
  assert_string_equal(parsed, h1);
  snprintf(hdr, sizeof hdr, "bearer %s", t1); /* the scheme is case-insensitive */
  assert_int_equal(auth_parse_bearer(hdr, strlen(hdr), parsed), CHAT_OK);
}

static void malformed_bearer_headers_are_rejected(void **state) {
  (void)state;
  char t[AUTH_TOKEN_STR_BYTES], h[AUTH_TOKEN_HASH_HEX_BYTES], hdr[80];
  assert_int_equal(auth_new_token(t, h), CHAT_OK);
  assert_int_equal(auth_parse_bearer(S(""), h), CHAT_E_TOKEN_MISSING);
  assert_int_equal(auth_parse_bearer(S("Bearer"), h), CHAT_E_TOKEN_MALFORMED);
  assert_int_equal(auth_parse_bearer(S("Bearer "), h), CHAT_E_TOKEN_MALFORMED);
  snprintf(hdr, sizeof hdr, "Basic %s", t);
  assert_int_equal(auth_parse_bearer(hdr, strlen(hdr), h), CHAT_E_TOKEN_MALFORMED);
  snprintf(hdr, sizeof hdr, "Bearer %s=", t); /* padding, too long */
  assert_int_equal(auth_parse_bearer(hdr, strlen(hdr), h), CHAT_E_TOKEN_MALFORMED);
  snprintf(hdr, sizeof hdr, "Bearer %.42s", t); /* one character short */
  assert_int_equal(auth_parse_bearer(hdr, strlen(hdr), h), CHAT_E_TOKEN_MALFORMED);
  snprintf(hdr, sizeof hdr, "Bearer %.42s+", t); /* '+' is not base64url */
  assert_int_equal(auth_parse_bearer(hdr, strlen(hdr), h), CHAT_E_TOKEN_MALFORMED);
}

static void websocket_protocol_header_carries_the_token(void **state) {
  (void)state;
  char t[AUTH_TOKEN_STR_BYTES], h[AUTH_TOKEN_HASH_HEX_BYTES], got[AUTH_TOKEN_HASH_HEX_BYTES];
  char hdr[120];
  assert_int_equal(auth_new_token(t, h), CHAT_OK);
  snprintf(hdr, sizeof hdr, "chat.v1, bearer.%s", t);
  assert_int_equal(auth_parse_ws_protocol(hdr, strlen(hdr), got), CHAT_OK);
  assert_string_equal(got, h);
  snprintf(hdr, sizeof hdr, "bearer.%s,chat.v1", t);
  assert_int_equal(auth_parse_ws_protocol(hdr, strlen(hdr), got), CHAT_OK);
  assert_int_equal(auth_parse_ws_protocol(S("chat.v1"), got), CHAT_E_TOKEN_MISSING);
  assert_int_equal(auth_parse_ws_protocol(S(""), got), CHAT_E_TOKEN_MISSING);
  snprintf(hdr, sizeof hdr, "bearer.%s", t); /* our protocol is not offered */
  assert_int_equal(auth_parse_ws_protocol(hdr, strlen(hdr), got), CHAT_E_TOKEN_MALFORMED);
  snprintf(hdr, sizeof hdr, "chat.v1, bearer.%s, bearer.%s", t, t);
  assert_int_equal(auth_parse_ws_protocol(hdr, strlen(hdr), got), CHAT_E_TOKEN_MALFORMED);
  assert_int_equal(auth_parse_ws_protocol(S("chat.v1, bearer.short"), got),
                   CHAT_E_TOKEN_MALFORMED);
}

static int setup(void **state) {
  (void)state;
  return auth_init() == CHAT_OK ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(username_rules_hold_at_their_boundaries),
      cmocka_unit_test(username_allows_only_letters_digits_underscore_dash_dot),
      cmocka_unit_test(username_key_is_lowercase_so_uniqueness_ignores_case),
      cmocka_unit_test(password_rules_count_bytes_and_require_utf8),
      cmocka_unit_test(hash_then_verify_accepts_the_password_and_rejects_others),
      cmocka_unit_test(two_hashes_of_one_password_have_different_salts),
      cmocka_unit_test(verify_asks_for_rehash_when_parameters_changed),
      cmocka_unit_test(unknown_user_fails_like_a_wrong_password),
      cmocka_unit_test(dummy_hash_uses_the_production_parameters),
      cmocka_unit_test(production_hash_uses_owasp_argon2id_parameters),
      cmocka_unit_test(tokens_are_random_and_their_hash_is_what_bearer_parsing_yields),
      cmocka_unit_test(malformed_bearer_headers_are_rejected),
      cmocka_unit_test(websocket_protocol_header_carries_the_token),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
