#include <stdio.h>

#include "api.h"
#include "auth.h"
#include "chat_error.h"
#include "json_in.h"
#include "test_util.h"

#define GOLDEN "tests/golden/core.json"

static unsigned char out[1 << 16];

/* Conversation rows as worker/dms.ts reads them: the viewer is user 1. */
#define DM_ROWS                                                                                  \
  "\"rows\":[{\"id\":1,\"with_id\":2,\"with_username\":\"bob\",\"last_seq\":4,\"last_at\":50,"          \
  "\"last_user_id\":2,\"last_body\":\"secret\",\"unread\":3},"                                      \
  "{\"id\":2,\"with_id\":3,\"with_username\":\"cy\",\"last_seq\":9,\"last_at\":40,"                 \
  "\"last_user_id\":1,\"last_body\":\"mine\",\"unread\":0},"                                        \
  "{\"id\":3,\"with_id\":4,\"with_username\":\"di\",\"last_seq\":null,\"last_at\":null,"            \
  "\"last_user_id\":null,\"last_body\":null,\"unread\":0}]"

static int call(int op, const char *in, const char *aux, double now, size_t *n) {
  return api_call(op, (const unsigned char *)in, in ? strlen(in) : 0,
                  (const unsigned char *)aux, aux ? strlen(aux) : 0, now, out, sizeof out - 1, n);
}

static int op_number(const cJSON *op) {
  if (cJSON_IsNumber(op)) return op->valueint;
#define O(sym, num, name) if (strcmp(op->valuestring, name) == 0) return num;
  CHAT_OPS(O)
#undef O
  return -1;
}

static size_t unhex(const char *hex, unsigned char *buf) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &buf[i]);
  return n;
}

static void golden_vectors_give_the_same_bytes_natively(void **state) {
  (void)state;
  cJSON *doc = read_json_file(GOLDEN);
  const cJSON *c;
  int count = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    static unsigned char in[1 << 16];
    size_t in_len = 0, n = 0;
    const cJSON *jin = cJSON_GetObjectItem(c, "in"), *jhex = cJSON_GetObjectItem(c, "in_hex");
    const cJSON *jaux = cJSON_GetObjectItem(c, "aux"), *jerr = cJSON_GetObjectItem(c, "error");
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    if (jin) memcpy(in, jin->valuestring, in_len = strlen(jin->valuestring));
    if (jhex) in_len = unhex(jhex->valuestring, in);
    const char *aux = jaux ? jaux->valuestring : "";
    int rc = api_call(op_number(cJSON_GetObjectItem(c, "op")), in, in_len,
                      (const unsigned char *)aux, strlen(aux), 1.7e12, out, sizeof out - 1, &n);
    if (jerr) {
      if (strcmp(chat_error_name(rc), jerr->valuestring) != 0)
        fail_msg("%s: got %s, want %s", name, chat_error_name(rc), jerr->valuestring);
    } else {
      if (rc < 0) fail_msg("%s: got error %s", name, chat_error_name(rc));
      out[n] = 0;
      if (strcmp((char *)out, cJSON_GetObjectItem(c, "out")->valuestring) != 0)
        fail_msg("%s: got %s", name, out);
    }
    count++;
  }
  assert_true(count >= 30);
  cJSON_Delete(doc);
}

static void signup_returns_a_hash_that_login_verifies(void **state) {
  (void)state;
  size_t n;
  const char *body = "{\"username\":\"Carol\",\"password\":\"s3cret pass\"}";
  assert_true(call(CHAT_OP_SIGNUP, body, NULL, 0, &n) > 0);
  out[n] = 0;
  cJSON *res = cJSON_Parse((char *)out);
  assert_string_equal(cJSON_GetObjectItem(res, "username")->valuestring, "Carol");
  assert_string_equal(cJSON_GetObjectItem(res, "username_key")->valuestring, "carol");
  assert_string_equal(cJSON_GetObjectItem(res, "username_skeleton")->valuestring, "carol");
  const char *hash = cJSON_GetObjectItem(res, "password_hash")->valuestring;
  assert_non_null(strstr(hash, "$argon2id$v=19$m=19456,t=2,p=1$"));

  char aux[256];
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\"}", hash);
  assert_true(call(CHAT_OP_LOGIN_VERIFY, body, aux, 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, "{\"rehash\":null,\"username_skeleton\":\"carol\"}");
  const char *wrong = "{\"username\":\"Carol\",\"password\":\"s3cret pasS\"}";
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, wrong, aux, 0, &n), CHAT_E_BAD_CREDENTIALS);
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, body, "{\"password_hash\":null}", 0, &n),
                   CHAT_E_BAD_CREDENTIALS);
  /* a banned account learns it is banned only with its right password */
  char banned[256];
  snprintf(banned, sizeof banned, "{\"password_hash\":\"%s\",\"banned\":true}", hash);
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, body, banned, 0, &n), CHAT_E_BANNED);
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, wrong, banned, 0, &n), CHAT_E_BAD_CREDENTIALS);
  cJSON_Delete(res);
}

static void login_with_an_outdated_hash_returns_a_rehash(void **state) {
  (void)state;
  char old[AUTH_HASH_STR_BYTES], aux[256];
  size_t n;
  auth_params cheap = {1, 8192};
  assert_int_equal(auth_hash_password(S("an old password"), cheap, old), CHAT_OK);
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\"}", old);
  assert_true(call(CHAT_OP_LOGIN_VERIFY, "{\"username\":\"dan\",\"password\":\"an old password\"}",
                   aux, 0, &n) > 0);
  out[n] = 0;
  assert_non_null(strstr((char *)out, "{\"rehash\":\"$argon2id$v=19$m=19456,t=2,p=1$"));
}

/* "Crème-brûlée-9" in NFC and in NFD (tests/c/test_auth.c) as signup bodies. */
#define CREME_NFC_BODY "{\"username\":\"creme\",\"password\":\"Cr\xc3\xa8me-br\xc3\xbbl\xc3\xa9" "e-9\"}"
#define CREME_NFD_BODY "{\"username\":\"creme\",\"password\":\"Cre\xcc\x80me-bru\xcc\x82le\xcc\x81" "e-9\"}"

static void an_account_made_with_an_nfc_password_logs_in_with_its_nfd_spelling(void **state) {
  (void)state;
  char aux[256];
  size_t n;
  assert_true(call(CHAT_OP_SIGNUP, CREME_NFC_BODY, NULL, 0, &n) > 0);
  out[n] = 0;
  cJSON *res = cJSON_Parse((char *)out);
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\",\"password_nfkc\":true}",
           cJSON_GetObjectItem(res, "password_hash")->valuestring);
  cJSON_Delete(res);
  assert_true(call(CHAT_OP_LOGIN_VERIFY, CREME_NFD_BODY, aux, 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, "{\"rehash\":null,\"username_skeleton\":\"crerne\"}");
  assert_true(call(CHAT_OP_LOGIN_VERIFY, CREME_NFC_BODY, aux, 0, &n) > 0);
}

static void a_legacy_hash_verifies_the_password_as_typed_and_is_rehashed_in_nfkc(void **state) {
  (void)state;
  char legacy[AUTH_HASH_STR_BYTES], aux[256];
  size_t n;
  auth_params cheap = {1, 8192};
  /* made before normalisation, of the NFD bytes as typed, with today's parameters */
  assert_int_equal(auth_hash_password(S("Cre\xcc\x80me-bru\xcc\x82le\xcc\x81" "e-9"),
                                      auth_default_params(), legacy), CHAT_OK);
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\",\"password_nfkc\":false}", legacy);
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, CREME_NFC_BODY, aux, 0, &n), CHAT_E_BAD_CREDENTIALS);
  assert_true(call(CHAT_OP_LOGIN_VERIFY, CREME_NFD_BODY, aux, 0, &n) > 0);
  out[n] = 0;
  cJSON *res = cJSON_Parse((char *)out);
  const cJSON *rehash = cJSON_GetObjectItem(res, "rehash");
  assert_true(cJSON_IsString(rehash)); /* parameters unchanged, yet rehashed */
  /* the rehash is of the NFKC form: both spellings now verify, with no further rehash */
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\",\"password_nfkc\":true}", rehash->valuestring);
  cJSON_Delete(res);
  assert_true(call(CHAT_OP_LOGIN_VERIFY, CREME_NFC_BODY, aux, 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, "{\"rehash\":null,\"username_skeleton\":\"crerne\"}");
  assert_true(call(CHAT_OP_LOGIN_VERIFY, CREME_NFD_BODY, aux, 0, &n) > 0);
  /* a legacy ASCII password is rehashed too, so that its row is marked NFKC */
  assert_int_equal(auth_hash_password(S("plain ascii"), cheap, legacy), CHAT_OK);
  snprintf(aux, sizeof aux, "{\"password_hash\":\"%s\",\"password_nfkc\":false}", legacy);
  assert_true(call(CHAT_OP_LOGIN_VERIFY, "{\"username\":\"dan\",\"password\":\"plain ascii\"}", aux,
                   0, &n) > 0);
  out[n] = 0;
  assert_non_null(strstr((char *)out, "{\"rehash\":\"$argon2id$v=19$m=19456,t=2,p=1$"));
  /* a wrong password against a legacy hash is a wrong password */
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, "{\"username\":\"dan\",\"password\":\"plain asciI\"}",
                        aux, 0, &n), CHAT_E_BAD_CREDENTIALS);
}

static void login_refuses_an_overlong_password_before_hashing(void **state) {
  (void)state;
  char body[400];
  size_t n;
  snprintf(body, sizeof body, "{\"username\":\"dan\",\"password\":\"%0300d\"}", 0);
  assert_int_equal(call(CHAT_OP_LOGIN_VERIFY, body, "{\"password_hash\":null}", 0, &n),
                   CHAT_E_PASSWORD_TOO_LONG);
}

static void session_new_expires_thirty_days_after_now(void **state) {
  (void)state;
  size_t n;
  assert_true(call(CHAT_OP_SESSION_NEW, NULL, NULL, 1.7e12, &n) > 0);
  out[n] = 0;
  cJSON *res = cJSON_Parse((char *)out);
  assert_true(cJSON_GetObjectItem(res, "expires_at")->valuedouble == 1.7e12 + CHAT_SESSION_TTL_MS);
  char hdr[80], want[128];
  snprintf(hdr, sizeof hdr, "Bearer %s", cJSON_GetObjectItem(res, "token")->valuestring);
  snprintf(want, sizeof want, "{\"token_hash\":\"%s\"}",
           cJSON_GetObjectItem(res, "token_hash")->valuestring);
  assert_true(call(CHAT_OP_BEARER, hdr, NULL, 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, want);
  cJSON_Delete(res);
}

static void a_small_buffer_reports_the_size_needed(void **state) {
  (void)state;
  unsigned char small[8];
  size_t n = 0;
  const char *in = "{\"username\":\"Alice\",\"password\":\"x\"}";
  int rc = api_call(CHAT_OP_LOGIN_BEGIN, (const unsigned char *)in, strlen(in), NULL, 0, 0, small,
                    sizeof small, &n);
  assert_int_equal(rc, CHAT_E_BUFFER_TOO_SMALL);
  assert_int_equal(n, strlen("{\"username_key\":\"alice\"}"));
  /* exactly the size needed is enough */
  unsigned char exact[24];
  rc = api_call(CHAT_OP_LOGIN_BEGIN, (const unsigned char *)in, strlen(in), NULL, 0, 0, exact,
                sizeof exact, &n);
  assert_int_equal(rc, 24);
  assert_memory_equal(exact, "{\"username_key\":\"alice\"}", 24);
}

/* Fails the k-th allocation of one call, for k = 0, 1, ... until the call
 * succeeds: each failure must be CHAT_E_NOMEM (never bad input, never a leak,
 * which ASan's leak check catches) and the call must then succeed unchanged. */
static int fail_each_allocation(int op, const char *in, const char *aux) {
  size_t n;
  int failures = 0;
  for (long k = 0;; k++, failures++) {
    fail_allocation_after(k);
    int rc = call(op, in, aux, 0, &n);
    stop_failing_allocations();
    if (rc >= 0) return failures;
    assert_int_equal(rc, CHAT_E_NOMEM);
  }
}

static void every_allocation_failure_is_out_of_memory_and_harmless(void **state) {
  (void)state;
  const char *rows =
      "{\"limit\":1,\"rows\":[{\"id\":5,\"name\":\"B\",\"created_at\":10,\"last_activity_at\":11,"
      "\"creator_id\":1,\"creator_username\":\"alice\"},{\"id\":4,\"name\":\"A\",\"created_at\":9,"
      "\"last_activity_at\":9,\"creator_id\":1,\"creator_username\":\"alice\"}]}";
  assert_true(fail_each_allocation(CHAT_OP_CONNECTION, NULL, "{\"id\":1,\"username\":\"Alice\",\"role\":\"ADMIN\"}") >= 3);
  assert_true(fail_each_allocation(CHAT_OP_LOGIN_BEGIN, "{\"username\":\"abc\",\"password\":\"x\"}", NULL) >= 3);
  assert_true(fail_each_allocation(CHAT_OP_ROOMS_PAGE, NULL, rows) >= 10);
  assert_true(fail_each_allocation(CHAT_OP_ROOMS_QUERY, "limit=3&cursor=1.2", NULL) >= 3);
  assert_true(fail_each_allocation(CHAT_OP_ROOM_CREATE, "{\"name\":\"Room\"}", NULL) >= 3);
  assert_true(fail_each_allocation(CHAT_OP_USER_FRAME, "{\"type\":\"nope\",\"ref\":\"r\"}", NULL) >= 3);
  assert_true(fail_each_allocation(CHAT_OP_USER_FRAME, "{\"type\":\"ping\",\"ref\":\"r\"}", NULL) >= 3);
  assert_true(fail_each_allocation(CHAT_OP_SOCIAL, NULL,
                                   "{\"action\":\"add\",\"me\":{\"id\":1,\"username\":\"a\"},"
                                   "\"them\":{\"id\":2,\"username\":\"b\"},\"state\":\"none\"}") >= 10);
  assert_true(fail_each_allocation(CHAT_OP_USER_TARGET, "{\"username\":\"bob\"}", NULL) >= 3);
  assert_true(fail_each_allocation(CHAT_OP_DMS_PAGE, NULL, "{\"viewer\":{\"id\":1,\"blocks\":[2]}," DM_ROWS "}") >= 10);
  assert_true(fail_each_allocation(CHAT_OP_NOTIFY_CHECK, "{\"user\":{\"id\":2}}", "{\"blocks\":[2]}") >= 3);
  assert_true(fail_each_allocation(CHAT_OP_THROTTLE, NULL,
                                   "{\"step\":\"reserve\",\"user\":{\"count\":1,\"window_start\":1},"
                                   "\"ip\":{\"count\":1,\"window_start\":1}}") >= 3);
}

static void the_conversation_list_hides_what_blocked_people_wrote(void **state) {
  (void)state;
  size_t n;
  /* the viewer (1) blocks bob (2): bob's last message and unread count are hidden */
  assert_true(call(CHAT_OP_DMS_PAGE, NULL, "{\"viewer\":{\"id\":1,\"blocks\":[2]}," DM_ROWS "}", 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out,
                      "{\"conversations\":["
                      "{\"id\":1,\"with\":{\"id\":2,\"username\":\"bob\"},\"last_message\":null,\"unread\":0},"
                      "{\"id\":2,\"with\":{\"id\":3,\"username\":\"cy\"},\"last_message\":{\"seq\":9,\"at\":40,"
                      "\"user_id\":1,\"body\":\"mine\"},\"unread\":0},"
                      "{\"id\":3,\"with\":{\"id\":4,\"username\":\"di\"},\"last_message\":null,\"unread\":0}]}");
  /* unblocked, all of it shows again */
  assert_true(call(CHAT_OP_DMS_PAGE, NULL, "{\"viewer\":{\"id\":1,\"blocks\":[]}," DM_ROWS "}", 0, &n) > 0);
  out[n] = 0;
  assert_non_null(strstr((char *)out, "\"last_message\":{\"seq\":4,\"at\":50,\"user_id\":2,\"body\":\"secret\"},\"unread\":3}"));
  /* facts of the wrong shape are refused */
  assert_int_equal(call(CHAT_OP_DMS_PAGE, NULL, "{\"viewer\":{\"id\":1}," DM_ROWS "}", 0, &n), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_DMS_PAGE, NULL, "{\"viewer\":{\"id\":1,\"blocks\":[]},\"rows\":{}}", 0, &n),
                   CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_DMS_PAGE, NULL, "{\"viewer\":{\"id\":1,\"blocks\":[\"2\"]},\"rows\":[]}", 0, &n),
                   CHAT_E_FIELD_TYPE);
}

static void a_notification_by_someone_the_user_blocks_is_not_delivered(void **state) {
  (void)state;
  size_t n;
  const char *dm = "{\"type\":\"new_direct_message\",\"conversation_id\":1,\"seq\":4,\"body\":\"hi\","
                   "\"user\":{\"id\":2,\"username\":\"bob\"}}";
  assert_true(call(CHAT_OP_NOTIFY_CHECK, dm, "{\"blocks\":[5,2]}", 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, "{\"deliver\":false}");
  assert_true(call(CHAT_OP_NOTIFY_CHECK, dm, "{\"blocks\":[5]}", 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, "{\"deliver\":true}");
  /* a frame with nobody as its author is nobody's to hide */
  assert_true(call(CHAT_OP_NOTIFY_CHECK, "{\"type\":\"pong\"}", "{\"blocks\":[2]}", 0, &n) > 0);
  out[n] = 0;
  assert_string_equal((char *)out, "{\"deliver\":true}");
  assert_int_equal(call(CHAT_OP_NOTIFY_CHECK, "{\"user\":{\"id\":-1}}", "{\"blocks\":[]}", 0, &n), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_NOTIFY_CHECK, "nope", "{\"blocks\":[]}", 0, &n), CHAT_E_BAD_JSON);
}

static void every_error_code_has_a_name_and_a_message(void **state) {
  (void)state;
#define E(sym, num, name, cls, msg)                      \
  assert_string_equal(chat_error_name(num), name);       \
  assert_string_equal(chat_error_message(num), msg);
  CHAT_ERRORS(E)
#undef E
  assert_string_equal(chat_error_name(-9999), "unknown_error");
}

static int setup(void **state) {
  (void)state;
  return api_init() == CHAT_OK ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_vectors_give_the_same_bytes_natively),
      cmocka_unit_test(signup_returns_a_hash_that_login_verifies),
      cmocka_unit_test(login_with_an_outdated_hash_returns_a_rehash),
      cmocka_unit_test(login_refuses_an_overlong_password_before_hashing),
      cmocka_unit_test(an_account_made_with_an_nfc_password_logs_in_with_its_nfd_spelling),
      cmocka_unit_test(a_legacy_hash_verifies_the_password_as_typed_and_is_rehashed_in_nfkc),
      cmocka_unit_test(session_new_expires_thirty_days_after_now),
      cmocka_unit_test(a_small_buffer_reports_the_size_needed),
      cmocka_unit_test(every_allocation_failure_is_out_of_memory_and_harmless),
      cmocka_unit_test(the_conversation_list_hides_what_blocked_people_wrote),
      cmocka_unit_test(a_notification_by_someone_the_user_blocks_is_not_delivered),
      cmocka_unit_test(every_error_code_has_a_name_and_a_message),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
