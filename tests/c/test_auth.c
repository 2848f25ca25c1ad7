#include <sodium.h>
#include <utf8proc.h>

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

/* "Crème-brûlée-9" composed (NFC: è, û, é as one code point each) and decomposed
 * (NFD: e, u, e followed by combining U+0300, U+0302, U+0301). */
#define CREME_NFC "Cr\xc3\xa8me-br\xc3\xbbl\xc3\xa9" "e-9"
#define CREME_NFD "Cre\xcc\x80me-bru\xcc\x82le\xcc\x81" "e-9"

/* The NFKC form of a password as a NUL-terminated string, or NULL on error. */
static const char *nfkc(const char *pw, size_t len) {
  static char out[CHAT_PASSWORD_MAX + 1];
  size_t n = 99;
  if (auth_normalize_password(pw, len, out, &n) < 0) {
    assert_int_equal(n, 0);
    return NULL;
  }
  out[n] = '\0';
  return out;
}

static void nfc_and_nfd_of_one_password_verify_against_one_hash(void **state) {
  (void)state;
  char h[AUTH_HASH_STR_BYTES], a[CHAT_PASSWORD_MAX], b[CHAT_PASSWORD_MAX];
  size_t na, nb;
  int rehash = -1;
  assert_int_not_equal(strlen(CREME_NFC), strlen(CREME_NFD)); /* 17 and 20 bytes */
  assert_int_equal(auth_normalize_password(S(CREME_NFC), a, &na), CHAT_OK);
  assert_int_equal(auth_normalize_password(S(CREME_NFD), b, &nb), CHAT_OK);
  assert_int_equal(na, strlen(CREME_NFC)); /* NFKC composes: the NFC bytes */
  assert_int_equal(nb, na);
  assert_memory_equal(a, b, na);
  assert_int_equal(auth_hash_password(a, na, cheap, h), CHAT_OK);
  assert_int_equal(auth_verify_password(b, nb, h, cheap, &rehash), CHAT_OK);
  assert_int_equal(rehash, 0);
  /* the raw NFD bytes are another password: hence the normalisation */
  assert_int_equal(auth_verify_password(S(CREME_NFD), h, cheap, &rehash), CHAT_E_BAD_CREDENTIALS);
}

static void nfkc_folds_compatibility_characters_and_keeps_the_rest(void **state) {
  (void)state;
  assert_string_equal(nfkc(S("\xef\xbc\xb0\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93")), "Pass"); /* full-width */
  assert_string_equal(nfkc(S("\xef\xac\x81ne")), "fine");              /* U+FB01 ligature fi */
  assert_string_equal(nfkc(S("x\xc2\xb2\xe2\x91\xa0")), "x21");        /* superscript 2, circled 1 */
  assert_string_equal(nfkc(S("\xe2\x84\xab")), "\xc3\x85");            /* ANGSTROM SIGN -> Å */
  assert_string_equal(nfkc(S("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8")), "\xea\xb0\x81"); /* jamo -> 각 */
  assert_string_equal(nfkc(S("correct horse battery staple")), "correct horse battery staple");
  assert_string_equal(nfkc(S("\xf0\x9f\x98\x80 \xe4\xb8\xad")), "\xf0\x9f\x98\x80 \xe4\xb8\xad");
  assert_string_equal(nfkc(S("")), "");
  /* case is kept: NIST SP 800-63B does not fold it, and it is part of the secret */
  assert_string_equal(nfkc(S("CasE")), "CasE");
}

static void normalisation_refuses_what_is_not_utf8(void **state) {
  (void)state;
  char out[CHAT_PASSWORD_MAX];
  size_t n = 7;
  assert_int_equal(auth_normalize_password(S("abcdefg\xff"), out, &n), CHAT_E_PASSWORD_UTF8);
  assert_int_equal(n, 0);
  assert_int_equal(auth_normalize_password("abcd\0efgh", 9, out, &n), CHAT_E_PASSWORD_UTF8);
  assert_int_equal(auth_normalize_password(S("ab\xed\xa0\x80zz"), out, &n), CHAT_E_PASSWORD_UTF8);
}

static void password_length_rules_apply_to_the_nfkc_form(void **state) {
  (void)state;
  static char raw[AUTH_NFKD_MAX_CODE_POINTS * 4];
  char out[CHAT_PASSWORD_MAX];
  size_t n, len = 0;
  /* seven circled digits are 21 bytes as typed, "1234567" (7 bytes) as hashed */
  const char *seven = nfkc(S("\xe2\x91\xa0\xe2\x91\xa1\xe2\x91\xa2\xe2\x91\xa3\xe2\x91\xa4"
                             "\xe2\x91\xa5\xe2\x91\xa6"));
  assert_string_equal(seven, "1234567");
  assert_int_equal(auth_check_password(seven, strlen(seven)), CHAT_E_PASSWORD_TOO_SHORT);
  /* 128 e + U+0301 are 384 bytes as typed and 256 as hashed (128 é): not too long */
  for (int i = 0; i < 128; i++) len += (size_t)sprintf(raw + len, "e\xcc\x81");
  assert_int_equal(auth_normalize_password(raw, len, out, &n), CHAT_OK);
  assert_int_equal(n, CHAT_PASSWORD_MAX);
  assert_int_equal(auth_check_password(out, n), CHAT_OK);
  len += (size_t)sprintf(raw + len, "e\xcc\x81"); /* 129: 258 bytes */
  assert_int_equal(auth_normalize_password(raw, len, out, &n), CHAT_E_PASSWORD_TOO_LONG);
  /* 256 ASCII bytes are the longest; 257 are too long */
  memset(raw, 'x', CHAT_PASSWORD_MAX + 1);
  assert_int_equal(auth_normalize_password(raw, CHAT_PASSWORD_MAX, out, &n), CHAT_OK);
  assert_int_equal(auth_normalize_password(raw, CHAT_PASSWORD_MAX + 1, out, &n),
                   CHAT_E_PASSWORD_TOO_LONG);
}

static void a_password_that_expands_past_the_work_buffer_is_too_long(void **state) {
  (void)state;
  static char raw[(AUTH_NFKD_MAX_CODE_POINTS + 1) * 3];
  char out[CHAT_PASSWORD_MAX];
  size_t n;
  /* U+FDFA: 3 bytes typed, 18 code points (33 bytes) once decomposed */
  for (size_t i = 0; i < 8; i++) memcpy(raw + 3 * i, "\xef\xb7\xba", 3);
  assert_int_equal(auth_normalize_password(raw, 3 * 7, out, &n), CHAT_OK); /* 7 x 33 bytes */
  assert_int_equal(n, 7 * 33);
  assert_int_equal(auth_normalize_password(raw, 3 * 8, out, &n), CHAT_E_PASSWORD_TOO_LONG);
  /* far past the buffer of AUTH_NFKD_MAX_CODE_POINTS: refused, not written past */
  for (size_t i = 0; i < AUTH_NFKD_MAX_CODE_POINTS + 1; i++) memcpy(raw + 3 * i, "\xef\xb7\xba", 3);
  assert_int_equal(auth_normalize_password(raw, sizeof raw, out, &n), CHAT_E_PASSWORD_TOO_LONG);
  /* as many plain letters as the buffer holds: decomposed in it, then too long */
  memset(raw, 'a', AUTH_NFKD_MAX_CODE_POINTS);
  assert_int_equal(auth_normalize_password(raw, AUTH_NFKD_MAX_CODE_POINTS, out, &n),
                   CHAT_E_PASSWORD_TOO_LONG);
}

static void no_code_point_decomposes_into_more_than_the_bound(void **state) {
  (void)state;
  utf8proc_int32_t dst[64];
  utf8proc_ssize_t longest = 0;
  for (utf8proc_int32_t c = 0; c <= 0x10FFFF; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(c, dst, 64, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, &last);
    assert_true(n >= 1);
    if (n > longest) longest = n;
  }
  assert_int_equal(longest, AUTH_NFKD_MAX_EXPANSION); /* U+FDFA */
}

static void lookalike_usernames_share_a_skeleton(void **state) {
  (void)state;
  char a[AUTH_SKELETON_BYTES], b[AUTH_SKELETON_BYTES];
  assert_int_equal(auth_username_skeleton(S("alice"), a), 5);
  assert_string_equal(a, "allce"); /* i -> l: "aiice" is the name "aIice" */
  const char *alice_like[] = {"aIice", "a1ice", "AL1CE", "ALICE", "aiice", "al1ce", "aLIce"};
  for (size_t i = 0; i < sizeof alice_like / sizeof *alice_like; i++) {
    assert_true(auth_username_skeleton(alice_like[i], strlen(alice_like[i]), b) > 0);
    assert_string_equal(b, a);
  }
  assert_int_equal(auth_username_skeleton(S("amie"), a), 5);
  assert_int_equal(auth_username_skeleton(S("arnie"), b), 5);
  assert_string_equal(a, "arnle");
  assert_string_equal(b, a);
  assert_int_equal(auth_username_skeleton(S("b0b"), a), 3);
  assert_int_equal(auth_username_skeleton(S("BOB"), b), 3);
  assert_string_equal(a, "bob");
  assert_string_equal(b, a);
  assert_int_equal(auth_username_skeleton(S("0scar_1"), a), 7);
  assert_string_equal(a, "oscar_l");
}

static void different_looking_usernames_keep_different_skeletons(void **state) {
  (void)state;
  char a[AUTH_SKELETON_BYTES], b[AUTH_SKELETON_BYTES];
  const char *pairs[][2] = {{"alice", "alise"}, {"bob", "bobby"}, {"bob.s", "bob_s"},
                            {"bob-s", "bob.s"}, {"w1zard", "vvizard"}, /* vv is not w */
                            {"dan", "clan"} /* cl is not d */, {"8ball", "bball"}};
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    assert_true(auth_username_skeleton(pairs[i][0], strlen(pairs[i][0]), a) > 0);
    assert_true(auth_username_skeleton(pairs[i][1], strlen(pairs[i][1]), b) > 0);
    assert_string_not_equal(a, b);
  }
}

static void skeleton_checks_the_name_first_and_fits_its_buffer(void **state) {
  (void)state;
  char s[AUTH_SKELETON_BYTES];
  assert_int_equal(auth_username_skeleton(S("ab"), s), CHAT_E_USERNAME_TOO_SHORT);
  assert_int_equal(auth_username_skeleton(S("abcdefghijklmnopqrstuvwxyz0123456"), s),
                   CHAT_E_USERNAME_TOO_LONG);
  assert_int_equal(auth_username_skeleton(S("al\xc3\xaf" "ce"), s), CHAT_E_USERNAME_CHARS);
  assert_int_equal(auth_username_skeleton(S("a|ice"), s), CHAT_E_USERNAME_CHARS);
  /* 32 m: the longest skeleton, 64 bytes */
  assert_int_equal(auth_username_skeleton(S("mmmmmmmmmmmmmmmmMMMMMMMMMMMMMMMM"), s),
                   AUTH_SKELETON_BYTES - 1);
  assert_int_equal(strlen(s), 2 * CHAT_USERNAME_MAX);
  assert_memory_equal(s, "rnrnrn", 6);
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
      cmocka_unit_test(nfc_and_nfd_of_one_password_verify_against_one_hash),
      cmocka_unit_test(nfkc_folds_compatibility_characters_and_keeps_the_rest),
      cmocka_unit_test(normalisation_refuses_what_is_not_utf8),
      cmocka_unit_test(password_length_rules_apply_to_the_nfkc_form),
      cmocka_unit_test(a_password_that_expands_past_the_work_buffer_is_too_long),
      cmocka_unit_test(no_code_point_decomposes_into_more_than_the_bound),
      cmocka_unit_test(lookalike_usernames_share_a_skeleton),
      cmocka_unit_test(different_looking_usernames_keep_different_skeletons),
      cmocka_unit_test(skeleton_checks_the_name_first_and_fits_its_buffer),
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
