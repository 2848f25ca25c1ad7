/* The moderation log's hash chain (audit.h): its canonical form and hashes against
 * vectors computed independently, and verification of intact and tampered logs
 * through the core operations, page by page as the shell runs them. */
#include <stdio.h>
#include <time.h>

#include "api.h"
#include "audit.h"
#include "chat_error.h"
#include "chat_limits.h"
#include "test_util.h"

static const audit_row BAN = {1, S("ban"), 2, 1, 1, 1, S("spam"), 1, 1, S("[\"127.0.0.1\"]"), 1700000000000};
static const audit_row PROMOTE = {2, S("promote"), 3, 0, 0, 1, S("make admin"), 0, 0, NULL, 0, 1700000000001};

/* Computed with Python's hashlib.blake2b(digest_size=32) over 32 zero bytes (then
 * the first hash) followed by the canonical forms below. */
#define BAN_HASH "859f028b7c4ae239c1e4b64ed64efd17243089afce68f22728dd8be0906d05b5"
#define PROMOTE_HASH "36ce26e24eee77f71a1db5bb602e52a473fe76ab3aab441b98f514a8695e6e22"

static void hex_of(char out[AUDIT_HASH_HEX + 1], const unsigned char h[AUDIT_HASH_BYTES]) {
  for (int i = 0; i < AUDIT_HASH_BYTES; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void canonical_form_is_netstrings_in_column_order(void **state) {
  (void)state;
  unsigned char out[256];
  size_t n;
  int len = audit_canonical(&BAN, out, sizeof out, &n);
  static const char want[] = "16:moderation_log/1,1:1,3:ban,1:2,1:1,4:spam,1:1,13:[\"127.0.0.1\"],13:1700000000000,";
  assert_int_equal(len, sizeof want - 1);
  assert_memory_equal(out, want, sizeof want - 1);
  static const char nulls[] = "16:moderation_log/1,1:2,7:promote,1:3,-10:make admin,1:0,-13:1700000000001,";
  assert_int_equal(audit_canonical(&PROMOTE, out, sizeof out, &n), sizeof nulls - 1);
  assert_memory_equal(out, nulls, sizeof nulls - 1);
}

static void canonical_form_reports_the_size_it_needs(void **state) {
  (void)state;
  unsigned char out[16];
  size_t n = 0;
  assert_int_equal(audit_canonical(&BAN, out, sizeof out, &n), CHAT_E_BUFFER_TOO_SMALL);
  assert_int_equal(n, 83);
  assert_int_equal(audit_canonical(&BAN, NULL, 0, &n), CHAT_E_BUFFER_TOO_SMALL);
  assert_int_equal(n, 83);
}

static void an_empty_reason_differs_from_no_reason(void **state) {
  (void)state;
  audit_row a = PROMOTE, b = PROMOTE;
  a.reason_len = 0;
  b.has_reason = 0;
  unsigned char ha[AUDIT_HASH_BYTES], hb[AUDIT_HASH_BYTES];
  assert_int_equal(audit_link(NULL, &a, ha), CHAT_OK);
  assert_int_equal(audit_link(NULL, &b, hb), CHAT_OK);
  assert_memory_not_equal(ha, hb, AUDIT_HASH_BYTES);
}

static void link_is_blake2b_256_of_the_previous_hash_and_the_content(void **state) {
  (void)state;
  unsigned char h1[AUDIT_HASH_BYTES], h2[AUDIT_HASH_BYTES];
  char hex[AUDIT_HASH_HEX + 1];
  assert_int_equal(audit_link(NULL, &BAN, h1), CHAT_OK);
  hex_of(hex, h1);
  assert_string_equal(hex, BAN_HASH);
  assert_int_equal(audit_link(h1, &PROMOTE, h2), CHAT_OK);
  hex_of(hex, h2);
  assert_string_equal(hex, PROMOTE_HASH);
}

/* ---- through the core operations ------------------------------------------- */

static char out[1 << 16];

static int call(int op, const char *aux, size_t aux_len) {
  size_t n;
  int rc = api_call(op, NULL, 0, (const unsigned char *)aux, aux_len, 0, (unsigned char *)out, sizeof out - 1, &n);
  out[rc >= 0 ? n : 0] = 0;
  return rc;
}

static void link_op_gives_the_hash_of_a_new_row(void **state) {
  (void)state;
  static const char first[] = "{\"prev\":null,\"row\":{\"id\":1,\"action\":\"ban\",\"target_id\":2,\"actor_id\":1,"
                              "\"reason\":\"spam\",\"ip\":1,\"ips\":\"[\\\"127.0.0.1\\\"]\",\"created_at\":1700000000000}}";
  assert_true(call(CHAT_OP_AUDIT_LINK, S(first)) > 0);
  assert_string_equal(out, "{\"hash\":\"" BAN_HASH "\"}");
  static const char second[] = "{\"prev\":\"" BAN_HASH "\",\"row\":{\"id\":2,\"action\":\"promote\",\"target_id\":3,"
                               "\"actor_id\":null,\"reason\":\"make admin\",\"ip\":0,\"ips\":null,\"created_at\":1700000000001}}";
  assert_true(call(CHAT_OP_AUDIT_LINK, S(second)) > 0);
  assert_string_equal(out, "{\"hash\":\"" PROMOTE_HASH "\"}");
}

static void link_op_refuses_facts_of_the_wrong_shape(void **state) {
  (void)state;
  assert_int_equal(call(CHAT_OP_AUDIT_LINK, S("{\"prev\":\"ABC\",\"row\":{}}")), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_AUDIT_LINK, S("{\"prev\":null,\"row\":{\"id\":\"1\",\"action\":\"ban\"}}")),
                   CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_AUDIT_LINK, S("{\"prev\":null}")), CHAT_E_FIELD_MISSING);
  /* an uppercase hash is not the canonical spelling */
  static const char upper[] = "{\"prev\":\"859F028B7C4AE239C1E4B64ED64EFD17243089AFCE68F22728DD8BE0906D05B5\",\"row\":{}}";
  assert_int_equal(call(CHAT_OP_AUDIT_LINK, S(upper)), CHAT_E_FIELD_TYPE);
}

/* A log of n rows as the shell reads it: each row's JSON text (with its hash,
 * sealed or not), made with audit_link. */
typedef struct {
  char **text;
  size_t n;
} log_rows;

/* s (n bytes) as a JSON string, into buf. */
static const char *quoted(char *buf, const char *s, size_t n) {
  char *p = buf;
  *p++ = '"';
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"' || s[i] == '\\') *p++ = '\\';
    *p++ = s[i];
  }
  *p++ = '"';
  *p = 0;
  return buf;
}

static char *row_text(const audit_row *r, const char *hash) {
  char *t = malloc(512);
  char actor[24] = "null", ips[80] = "null", reason[80] = "null", h[80] = "null";
  if (r->has_actor) snprintf(actor, sizeof actor, "%lld", (long long)r->actor_id);
  if (r->has_ips) quoted(ips, r->ips, r->ips_len);
  if (r->has_reason) quoted(reason, r->reason, r->reason_len);
  if (hash) snprintf(h, sizeof h, "\"%s\"", hash);
  snprintf(t, 512, "{\"id\":%lld,\"action\":\"%.*s\",\"target_id\":%lld,\"actor_id\":%s,\"reason\":%s,"
           "\"ip\":%lld,\"ips\":%s,\"created_at\":%lld,\"hash\":%s}",
           (long long)r->id, (int)r->action_len, r->action, (long long)r->target_id, actor, reason,
           (long long)r->ip, ips, (long long)r->created_at, h);
  return t;
}

static audit_row nth_row(size_t i) {
  static const char *const actions[] = {"ban", "unban", "promote"};
  static char reasons[3][32];
  audit_row r = {0};
  r.id = (int64_t)i + 1;
  r.action = actions[i % 3];
  r.action_len = strlen(r.action);
  r.target_id = 10 + (int64_t)(i % 7);
  r.has_actor = 1;
  r.actor_id = 1;
  r.has_reason = 1;
  snprintf(reasons[i % 3], sizeof reasons[0], "reason %zu", i);
  r.reason = reasons[i % 3];
  r.reason_len = strlen(r.reason);
  r.ip = 0;
  r.created_at = 1700000000000 + (int64_t)i;
  return r;
}

/* n rows, the first `sealed` of them with their hash. */
static log_rows make_log(size_t n, size_t sealed) {
  log_rows log = {calloc(n ? n : 1, sizeof(char *)), n};
  unsigned char prev[AUDIT_HASH_BYTES], h[AUDIT_HASH_BYTES];
  char hex[AUDIT_HASH_HEX + 1];
  for (size_t i = 0; i < n; i++) {
    audit_row r = nth_row(i);
    assert_int_equal(audit_link(i ? prev : NULL, &r, h), CHAT_OK);
    hex_of(hex, h);
    log.text[i] = row_text(&r, i < sealed ? hex : NULL);
    memcpy(prev, h, sizeof h);
  }
  return log;
}

static void free_log(log_rows *log) {
  for (size_t i = 0; i < log->n; i++) free(log->text[i]);
  free(log->text);
}

/* Appends s to the buffer as a JSON string. */
static void put_json_string(char **p, const char *s) {
  *(*p)++ = '"';
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') *(*p)++ = '\\';
    *(*p)++ = *s;
  }
  *(*p)++ = '"';
}

/* Verifies the log as the shell does: pages of `page` rows, the state carried
 * from each answer to the next call; the last answer is left in `out`. An anchor
 * ("{\"id\":..,\"hash\":..}") goes with the first page. Returns the call's rc. */
static int verify(const log_rows *log, size_t page, const char *anchor) {
  static char aux[1 << 22];
  char state[1024] = "null";
  size_t i = 0;
  for (;;) {
    size_t end = i + page < log->n ? i + page : log->n;
    char *p = aux + sprintf(aux, "{\"state\":%s,\"anchor\":%s,\"end\":%s,\"rows\":[", state,
                            i == 0 && anchor ? anchor : "null", end == log->n ? "true" : "false");
    for (size_t k = i; k < end; k++) {
      if (k > i) *p++ = ',';
      put_json_string(&p, log->text[k]);
    }
    p += sprintf(p, "]}");
    int rc = call(CHAT_OP_AUDIT_VERIFY, aux, (size_t)(p - aux));
    if (rc < 0 || end == log->n || strstr(out, "\"ok\":false")) return rc;
    const char *s = strstr(out, "\"state\":");
    assert_non_null(s);
    snprintf(state, sizeof state, "%.*s", (int)(strlen(s + 8) - 1), s + 8); /* drop the answer's closing } */
    i = end;
  }
}

static void an_intact_log_verifies_with_its_row_count_and_head(void **state) {
  (void)state;
  log_rows log = make_log(2, 2);
  free(log.text[0]);
  free(log.text[1]);
  log.text[0] = row_text(&BAN, BAN_HASH);
  log.text[1] = row_text(&PROMOTE, PROMOTE_HASH);
  assert_true(verify(&log, 10, NULL) > 0);
  assert_string_equal(out, "{\"ok\":true,\"rows\":2,\"head\":\"" PROMOTE_HASH "\",\"head_id\":2}");
  free_log(&log);
}

static void an_empty_log_verifies_with_no_head(void **state) {
  (void)state;
  log_rows log = make_log(0, 0);
  assert_true(verify(&log, 10, NULL) > 0);
  assert_string_equal(out, "{\"ok\":true,\"rows\":0,\"head\":null,\"head_id\":null}");
  free_log(&log);
}

static void pages_of_any_size_give_the_answer_of_one_page(void **state) {
  (void)state;
  log_rows log = make_log(23, 23);
  char whole[512];
  assert_true(verify(&log, 100, NULL) > 0);
  strcpy(whole, out);
  assert_non_null(strstr(whole, "\"rows\":23"));
  for (size_t page = 1; page <= 23; page++) {
    assert_true(verify(&log, page, NULL) > 0);
    assert_string_equal(out, whole);
  }
  free_log(&log);
}

/* Replaces row i's text with the same row where `from` is replaced by `to`. */
static void rewrite(log_rows *log, size_t i, const char *from, const char *to) {
  char *t = malloc(600), *at = strstr(log->text[i], from);
  assert_non_null(at);
  sprintf(t, "%.*s%s%s", (int)(at - log->text[i]), log->text[i], to, at + strlen(from));
  free(log->text[i]);
  log->text[i] = t;
}

static void an_edited_row_breaks_the_chain_at_that_row(void **state) {
  (void)state;
  for (size_t page = 1; page <= 20; page += 19) {
    log_rows log = make_log(20, 20);
    rewrite(&log, 11, "reason 11", "reason 12"); /* row id 12 */
    assert_true(verify(&log, page, NULL) > 0);
    assert_string_equal(out, "{\"ok\":false,\"broken_at\":12,\"why\":\"hash\"}");
    free_log(&log);
  }
  log_rows log = make_log(20, 20);
  rewrite(&log, 4, "\"actor_id\":1", "\"actor_id\":null");
  assert_true(verify(&log, 7, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":5,\"why\":\"hash\"}");
  free_log(&log);
}

static void a_deleted_row_breaks_the_chain_at_the_row_after_it(void **state) {
  (void)state;
  log_rows log = make_log(10, 10);
  free(log.text[6]); /* row id 7 */
  memmove(&log.text[6], &log.text[7], 3 * sizeof(char *));
  log.n--;
  assert_true(verify(&log, 4, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":8,\"why\":\"hash\"}");
  free_log(&log);
}

static void swapped_contents_break_the_chain_at_the_first_of_them(void **state) {
  (void)state;
  log_rows log = make_log(10, 10);
  rewrite(&log, 3, "\"id\":4,", "\"id\":5,");
  rewrite(&log, 4, "\"id\":5,", "\"id\":4,");
  char *t = log.text[3];
  log.text[3] = log.text[4];
  log.text[4] = t;
  assert_true(verify(&log, 10, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":4,\"why\":\"hash\"}");
  free_log(&log);
}

static void a_rehashed_edit_breaks_the_chain_at_the_next_row(void **state) {
  (void)state;
  /* The operator edits row 3 and stores the hash its new content gives: row 4 was
   * linked to the old hash. */
  log_rows log = make_log(6, 6);
  audit_row r = nth_row(2);
  r.reason = "nothing happened";
  r.reason_len = strlen(r.reason);
  unsigned char prev[AUDIT_HASH_BYTES], h[AUDIT_HASH_BYTES];
  char hex[AUDIT_HASH_HEX + 1];
  audit_row r1 = nth_row(0), r2 = nth_row(1);
  audit_link(NULL, &r1, prev);
  audit_link(prev, &r2, prev);
  audit_link(prev, &r, h);
  hex_of(hex, h);
  free(log.text[2]);
  log.text[2] = row_text(&r, hex);
  assert_true(verify(&log, 2, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":4,\"why\":\"hash\"}");
  free_log(&log);
}

static void an_unsealed_tail_verifies_and_is_counted(void **state) {
  (void)state;
  log_rows all = make_log(8, 8), tail = make_log(8, 5);
  char sealed[512];
  assert_true(verify(&all, 3, NULL) > 0);
  strcpy(sealed, out);
  assert_true(verify(&tail, 3, NULL) > 0);
  /* same head: an unsealed row's hash is the one sealing will store */
  sealed[strlen(sealed) - 1] = 0;
  assert_string_equal(out, strcat(sealed, ",\"unsealed\":3}"));
  free_log(&all);
  free_log(&tail);
}

static void a_cleared_hash_before_a_sealed_row_breaks_the_chain_there(void **state) {
  (void)state;
  log_rows log = make_log(8, 8);
  char *at = strstr(log.text[2], "\"hash\":\"");
  strcpy(at, "\"hash\":null}"); /* row id 3 */
  assert_true(verify(&log, 2, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":3,\"why\":\"unsealed\"}");
  free_log(&log);
}

static void an_anchor_detects_a_cut_tail_and_a_rewritten_history(void **state) {
  (void)state;
  log_rows log = make_log(12, 12);
  assert_true(verify(&log, 5, NULL) > 0);
  const char *head = strstr(out, "\"head\":\"") + 8;
  char anchor[160];
  snprintf(anchor, sizeof anchor, "{\"id\":12,\"hash\":\"%.64s\"}", head);
  /* the log as it was, and as it grew */
  assert_true(verify(&log, 5, anchor) > 0);
  assert_non_null(strstr(out, "\"ok\":true"));
  log_rows longer = make_log(15, 15);
  assert_true(verify(&longer, 5, anchor) > 0);
  assert_non_null(strstr(out, "\"rows\":15"));
  /* cut after row 10: intact as a chain, but the anchored row is gone */
  log.n = 10;
  assert_true(verify(&log, 5, NULL) > 0);
  assert_non_null(strstr(out, "\"ok\":true"));
  assert_true(verify(&log, 5, anchor) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":12,\"why\":\"anchor\"}");
  log.n = 12;
  /* every row re-made from row 1 on (each hash recomputed): only the anchor tells */
  log_rows forged = make_log(12, 12);
  audit_row r = nth_row(0);
  unsigned char prev[AUDIT_HASH_BYTES];
  char hex[AUDIT_HASH_HEX + 1];
  r.reason = "reason 0!";
  r.reason_len = strlen(r.reason);
  for (size_t i = 0; i < 12; i++) {
    audit_row ri = i ? nth_row(i) : r;
    audit_link(i ? prev : NULL, &ri, prev);
    hex_of(hex, prev);
    free(forged.text[i]);
    forged.text[i] = row_text(&ri, hex);
  }
  assert_true(verify(&forged, 5, NULL) > 0);
  assert_non_null(strstr(out, "\"ok\":true"));
  assert_true(verify(&forged, 5, anchor) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":12,\"why\":\"anchor\"}");
  /* the anchored row itself deleted */
  free(log.text[11]);
  log.n = 11;
  assert_true(verify(&log, 5, anchor) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":12,\"why\":\"anchor\"}");
  free_log(&log);
  free_log(&longer);
  free_log(&forged);
}

static void a_row_the_strict_reader_refuses_is_broken_at_its_id(void **state) {
  (void)state;
  log_rows log = make_log(5, 5);
  rewrite(&log, 1, "reason 1", "reason\\u00001"); /* a NUL in the column */
  assert_true(verify(&log, 5, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":2,\"why\":\"unreadable\"}");
  free_log(&log);
  log = make_log(5, 5);
  rewrite(&log, 3, "\"target_id\":13", "\"target_id\":\"13\""); /* a column of another type */
  assert_true(verify(&log, 5, NULL) > 0);
  assert_string_equal(out, "{\"ok\":false,\"broken_at\":4,\"why\":\"unreadable\"}");
  free_log(&log);
}

static void verify_refuses_pages_of_the_wrong_shape(void **state) {
  (void)state;
  assert_int_equal(call(CHAT_OP_AUDIT_VERIFY, S("{\"state\":null,\"rows\":{},\"end\":true}")), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_AUDIT_VERIFY, S("{\"state\":null,\"rows\":[1],\"end\":true}")), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_AUDIT_VERIFY, S("{\"state\":null,\"rows\":[\"[]\"],\"end\":true}")), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_AUDIT_VERIFY, S("{\"state\":null,\"rows\":[]}")), CHAT_E_FIELD_TYPE);
  assert_int_equal(call(CHAT_OP_AUDIT_VERIFY, S("{\"state\":{\"prev\":null},\"rows\":[],\"end\":true}")),
                   CHAT_E_FIELD_MISSING);
}

static void verify_survives_allocation_failure(void **state) {
  (void)state;
  log_rows log = make_log(6, 6);
  for (long k = 0; k < 40; k++) {
    fail_allocation_after(k);
    int rc = verify(&log, 3, NULL);
    stop_failing_allocations();
    assert_true(rc == CHAT_E_NOMEM || (rc > 0 && strstr(out, "\"rows\":6")));
  }
  free_log(&log);
}

/* Seconds to verify the log, the best of a few runs (a shared machine is noisy). */
static double best_time(const log_rows *log) {
  double best = 1e9;
  for (int run = 0; run < 3; run++) {
    struct timespec a, b;
    timespec_get(&a, TIME_UTC);
    assert_true(verify(log, CHAT_AUDIT_PAGE_ROWS, NULL) > 0);
    timespec_get(&b, TIME_UTC);
    double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (t < best) best = t;
  }
  return best;
}

static void verification_is_linear_in_the_log_length(void **state) {
  (void)state;
  /* 8 times the rows should take about 8 times as long; a quadratic walk would
   * take 64 times. The bound leaves room for a noisy machine. */
  log_rows small = make_log(2000, 2000), big = make_log(16000, 16000);
  double t1 = best_time(&small), t8 = best_time(&big);
  assert_non_null(strstr(out, "\"rows\":16000"));
  print_message("verify: 2000 rows in %.1f ms, 16000 rows in %.1f ms (x%.1f)\n", t1 * 1e3, t8 * 1e3, t8 / t1);
  assert_true(t8 / t1 < 20);
  free_log(&small);
  free_log(&big);
}

int main(void) {
  assert_int_equal(api_init(), CHAT_OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(canonical_form_is_netstrings_in_column_order),
      cmocka_unit_test(canonical_form_reports_the_size_it_needs),
      cmocka_unit_test(an_empty_reason_differs_from_no_reason),
      cmocka_unit_test(link_is_blake2b_256_of_the_previous_hash_and_the_content),
      cmocka_unit_test(link_op_gives_the_hash_of_a_new_row),
      cmocka_unit_test(link_op_refuses_facts_of_the_wrong_shape),
      cmocka_unit_test(an_intact_log_verifies_with_its_row_count_and_head),
      cmocka_unit_test(an_empty_log_verifies_with_no_head),
      cmocka_unit_test(pages_of_any_size_give_the_answer_of_one_page),
      cmocka_unit_test(an_edited_row_breaks_the_chain_at_that_row),
      cmocka_unit_test(a_deleted_row_breaks_the_chain_at_the_row_after_it),
      cmocka_unit_test(swapped_contents_break_the_chain_at_the_first_of_them),
      cmocka_unit_test(a_rehashed_edit_breaks_the_chain_at_the_next_row),
      cmocka_unit_test(an_unsealed_tail_verifies_and_is_counted),
      cmocka_unit_test(a_cleared_hash_before_a_sealed_row_breaks_the_chain_there),
      cmocka_unit_test(an_anchor_detects_a_cut_tail_and_a_rewritten_history),
      cmocka_unit_test(a_row_the_strict_reader_refuses_is_broken_at_its_id),
      cmocka_unit_test(verify_refuses_pages_of_the_wrong_shape),
      cmocka_unit_test(verify_survives_allocation_failure),
      cmocka_unit_test(verification_is_linear_in_the_log_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
