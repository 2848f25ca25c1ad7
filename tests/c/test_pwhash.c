/* pwhash.h: argon2id in slices gives libsodium's hashes, and a sliced flow hands
 * each request its own result only. */
#include <sodium.h>

#include "auth.h"
#include "chat_error.h"
#include "pwhash.h"
#include "test_util.h"

static const auth_params cheap = {1, 8192}; /* 1 pass: 4 slices */
static const int cheap_slices = 4;

/* libsodium's own cheap argon2id hash of a string literal's password, into out. */
#define LIBSODIUM_HASH(out, lit)                                                                  \
  assert_int_equal(crypto_pwhash_str_alg((out), S(lit), cheap.opslimit, cheap.memlimit,       \
                                         crypto_pwhash_ALG_ARGON2ID13), 0)

/* Begins (1) or ends (0) a request's sliced flow, as CoreHost.callHashing does. */
static void flow(int sliced) {
  pwhash_reset();
  pwhash_sliced(sliced);
}

/* Runs the sliced job to its end; returns how many steps it took, checking that
 * each answers the slices left. */
static int run_job(void) {
  int steps = 0, rc;
  while ((rc = pwhash_step()) > 0) steps++;
  assert_int_equal(rc, 0);
  return steps + 1;
}

static void a_hash_made_here_verifies_in_libsodium_and_the_reverse(void **state) {
  (void)state;
  char mine[AUTH_HASH_STR_BYTES], theirs[crypto_pwhash_STRBYTES];
  assert_int_equal(pwhash_make(S("correct horse"), auth_default_params(), mine), CHAT_OK);
  assert_int_equal(strncmp(mine, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
  assert_int_equal(crypto_pwhash_str_verify(mine, S("correct horse")), 0);
  assert_int_not_equal(crypto_pwhash_str_verify(mine, S("correct horsf")), 0);
  LIBSODIUM_HASH(theirs, "battery staple");
  assert_int_equal(pwhash_verify(theirs, S("battery staple")), CHAT_OK);
  assert_int_equal(pwhash_verify(theirs, S("battery stapler")), CHAT_E_BAD_CREDENTIALS);
}

static void a_sliced_hash_takes_one_step_per_slice_and_is_libsodiums(void **state) {
  (void)state;
  char out[AUTH_HASH_STR_BYTES];
  flow(1);
  assert_int_equal(pwhash_make(S("correct horse"), auth_default_params(), out), CHAT_E_PWHASH_PENDING);
  assert_int_equal(run_job(), PWHASH_SLICES);
  assert_int_equal(pwhash_make(S("correct horse"), auth_default_params(), out), CHAT_OK);
  flow(0);
  assert_int_equal(crypto_pwhash_str_verify(out, S("correct horse")), 0);
  assert_int_equal(pwhash_verify(out, S("correct horse")), CHAT_OK);
}

static void a_login_that_rehashes_is_two_jobs_and_finds_both_results(void **state) {
  (void)state;
  char stored[crypto_pwhash_STRBYTES], rehash[AUTH_HASH_STR_BYTES], again[AUTH_HASH_STR_BYTES];
  LIBSODIUM_HASH(stored, "pw one two");
  flow(1);
  /* the operation, as the host repeats it */
  assert_int_equal(pwhash_verify(stored, S("pw one two")), CHAT_E_PWHASH_PENDING);
  assert_int_equal(run_job(), cheap_slices);
  assert_int_equal(pwhash_verify(stored, S("pw one two")), CHAT_OK);
  assert_int_equal(pwhash_make(S("pw one two"), cheap, rehash), CHAT_E_PWHASH_PENDING);
  assert_int_equal(run_job(), cheap_slices);
  assert_int_equal(pwhash_verify(stored, S("pw one two")), CHAT_OK);
  assert_int_equal(pwhash_make(S("pw one two"), cheap, rehash), CHAT_OK);
  assert_int_equal(pwhash_make(S("pw one two"), cheap, again), CHAT_OK); /* the same, kept */
  assert_string_equal(rehash, again);
  assert_int_equal(pwhash_step(), CHAT_E_MISUSE); /* nothing left to run */
  flow(0);
  assert_int_equal(crypto_pwhash_str_verify(rehash, S("pw one two")), 0);
}

static void a_result_answers_only_the_request_that_asked_for_it(void **state) {
  (void)state;
  char stored[crypto_pwhash_STRBYTES];
  LIBSODIUM_HASH(stored, "the right one");
  flow(1);
  assert_int_equal(pwhash_verify(stored, S("the wrong one")), CHAT_E_PWHASH_PENDING);
  run_job();
  assert_int_equal(pwhash_verify(stored, S("the wrong one")), CHAT_E_BAD_CREDENTIALS);
  /* another password against the same hash is another hash: never the kept answer */
  assert_int_equal(pwhash_verify(stored, S("the right one")), CHAT_E_PWHASH_PENDING);
  run_job();
  assert_int_equal(pwhash_verify(stored, S("the right one")), CHAT_OK);
  /* a new flow forgets every result */
  flow(1);
  assert_int_equal(pwhash_verify(stored, S("the right one")), CHAT_E_PWHASH_PENDING);
  flow(0);
  assert_int_equal(pwhash_step(), CHAT_E_MISUSE); /* the job went with its flow */
}

static void a_new_job_replaces_one_left_unfinished(void **state) {
  (void)state;
  char stored[crypto_pwhash_STRBYTES], out[AUTH_HASH_STR_BYTES];
  LIBSODIUM_HASH(stored, "abandoned pw");
  flow(1);
  assert_int_equal(pwhash_verify(stored, S("abandoned pw")), CHAT_E_PWHASH_PENDING);
  assert_true(pwhash_step() > 0); /* half done, then another hash is asked for */
  assert_int_equal(pwhash_make(S("next one pw"), cheap, out), CHAT_E_PWHASH_PENDING);
  assert_int_equal(run_job(), cheap_slices); /* the new job, from its start */
  assert_int_equal(pwhash_make(S("next one pw"), cheap, out), CHAT_OK);
  assert_int_equal(pwhash_verify(stored, S("abandoned pw")), CHAT_E_PWHASH_PENDING); /* begun again */
  run_job();
  assert_int_equal(pwhash_verify(stored, S("abandoned pw")), CHAT_OK);
  flow(0);
  assert_int_equal(crypto_pwhash_str_verify(out, S("next one pw")), 0);
}

static void an_inline_hash_meanwhile_leaves_the_sliced_job_alone(void **state) {
  (void)state;
  char stored[crypto_pwhash_STRBYTES], other[AUTH_HASH_STR_BYTES];
  LIBSODIUM_HASH(stored, "sliced one");
  flow(1);
  assert_int_equal(pwhash_verify(stored, S("sliced one")), CHAT_E_PWHASH_PENDING);
  assert_true(pwhash_step() > 0);
  /* another request, hashing in one call while this one waits between slices */
  pwhash_sliced(0);
  assert_int_equal(pwhash_make(S("inline one"), cheap, other), CHAT_OK);
  assert_int_equal(pwhash_verify(other, S("inline one")), CHAT_OK);
  assert_int_equal(pwhash_verify(stored, S("sliced one")), CHAT_OK); /* inline too: its own hash */
  pwhash_sliced(1);
  assert_int_equal(run_job(), cheap_slices - 1); /* the job goes on where it was */
  assert_int_equal(pwhash_verify(stored, S("sliced one")), CHAT_OK);
  flow(0);
}

static void other_hashes_and_unreadable_strings_are_answered_at_once(void **state) {
  (void)state;
  char argon2i[crypto_pwhash_STRBYTES];
  assert_int_equal(crypto_pwhash_str_alg(argon2i, S("older kind"), 3, cheap.memlimit,
                                         crypto_pwhash_ALG_ARGON2I13), 0);
  flow(1);
  /* argon2i: libsodium, in one call, even in a sliced flow */
  assert_int_equal(pwhash_verify(argon2i, S("older kind")), CHAT_OK);
  assert_int_equal(pwhash_verify(argon2i, S("older kinds")), CHAT_E_BAD_CREDENTIALS);
  assert_int_equal(pwhash_verify("$argon2id$v=19$m=19456,t=2,p=1$short", S("anything")), CHAT_E_BAD_CREDENTIALS);
  assert_int_equal(pwhash_verify("$argon2id$v=18$m=19456,t=2,p=1$Co0/HQ4eVmjSwXShXj4dCQ$NAnrzAmGkShXDPFWlrOf1ozWsu4cPvITFJN3q9k+H6Q",
                                 S("anything")), CHAT_E_BAD_CREDENTIALS);
  assert_int_equal(pwhash_verify("", S("anything")), CHAT_E_BAD_CREDENTIALS);
  assert_int_equal(pwhash_step(), CHAT_E_MISUSE); /* none of them began a job */
  flow(0);
}

static void the_login_operation_verifies_the_dummy_hash_in_slices(void **state) {
  (void)state;
  int rehash;
  flow(1);
  assert_int_equal(auth_verify_password(S("no such user"), NULL, auth_default_params(), &rehash),
                   CHAT_E_PWHASH_PENDING);
  assert_int_equal(run_job(), PWHASH_SLICES);
  assert_int_equal(auth_verify_password(S("no such user"), NULL, auth_default_params(), &rehash),
                   CHAT_E_BAD_CREDENTIALS);
  flow(0);
}

static void a_stored_value_that_is_no_hash_costs_a_hash_like_a_wrong_password(void **state) {
  (void)state;
  int rehash;
  /* a deleted account keeps "!deleted": refused only after the dummy hash's work,
   * as an unknown user or a wrong password, so its answer's time tells nothing */
  const char *stored[] = {"!deleted", "", "plain text", "$2b$12$bcryptlookingvalue"};
  for (size_t i = 0; i < sizeof stored / sizeof *stored; i++) {
    flow(1);
    assert_int_equal(auth_verify_password(S("any password"), stored[i], auth_default_params(), &rehash),
                     CHAT_E_PWHASH_PENDING);
    assert_int_equal(run_job(), PWHASH_SLICES);
    assert_int_equal(auth_verify_password(S("any password"), stored[i], auth_default_params(), &rehash),
                     CHAT_E_BAD_CREDENTIALS);
  }
  flow(0);
}

static int setup(void **state) {
  (void)state;
  return auth_init() == CHAT_OK ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_hash_made_here_verifies_in_libsodium_and_the_reverse),
      cmocka_unit_test(a_sliced_hash_takes_one_step_per_slice_and_is_libsodiums),
      cmocka_unit_test(a_login_that_rehashes_is_two_jobs_and_finds_both_results),
      cmocka_unit_test(a_result_answers_only_the_request_that_asked_for_it),
      cmocka_unit_test(a_new_job_replaces_one_left_unfinished),
      cmocka_unit_test(an_inline_hash_meanwhile_leaves_the_sliced_job_alone),
      cmocka_unit_test(other_hashes_and_unreadable_strings_are_answered_at_once),
      cmocka_unit_test(the_login_operation_verifies_the_dummy_hash_in_slices),
      cmocka_unit_test(a_stored_value_that_is_no_hash_costs_a_hash_like_a_wrong_password),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
